"""Tests for the pure steps: equal to a hand-written Optax update, fresh dropout masks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnets import losses, models
from jaxnets.train import TrainState, eval_step, run_keys, train_epoch, train_step


def _state(model, tx=None, *, seed=0, features=6, **kwargs):
  kwargs.setdefault("loss_fn", losses.softmax_cross_entropy)
  return TrainState.create(
    model=model, tx=tx or optax.sgd(0.1), seed=seed, sample_x=jnp.zeros((1, features)), **kwargs
  )


def _batch(n=8):
  x = jax.random.normal(jax.random.key(1), (n, 6))
  return {"x": x, "y": jnp.arange(n) % 3}


def test_train_step_equals_manual_optax_update():
  model = models.MLP(hidden=(5,), num_classes=3)
  tx = optax.adam(1e-2)
  state, batch = _state(model, tx), _batch()

  def loss(params):
    return optax.softmax_cross_entropy_with_integer_labels(
      model.apply({"params": params}, batch["x"]), batch["y"]
    ).mean()

  grads = jax.grad(loss)(state.params)
  updates, _ = tx.update(grads, tx.init(state.params), state.params)
  expected = optax.apply_updates(state.params, updates)
  new_state, metrics = jax.jit(train_step)(state, batch)
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), new_state.params, expected
  )
  np.testing.assert_allclose(metrics["loss"], loss(state.params), rtol=1e-6)
  assert int(new_state.step) == 1


def test_dropout_mask_changes_every_step():
  model = models.MLP(hidden=(64,), num_classes=3, dropout_rate=0.5)
  # Zero learning rate: params stay fixed, so loss differences come from the masks alone.
  state, batch = _state(model, optax.sgd(0.0)), _batch()
  step = jax.jit(train_step)
  losses_seen = []
  for _ in range(3):
    state, metrics = step(state, batch)
    losses_seen.append(float(metrics["loss"]))
  assert len(set(losses_seen)) == 3
  # And the same step with the same key repeats exactly (resumability).
  s0 = _state(model, optax.sgd(0.0))
  a = step(s0, batch)[1]["loss"]
  b = step(_state(model, optax.sgd(0.0)), batch)[1]["loss"]
  assert float(a) == float(b)


def test_eval_step_masks_padding_exactly():
  model = models.MLP(hidden=(5,), num_classes=3)
  state, batch = _state(model), _batch(8)
  full = eval_step(state, batch)
  padded = {k: jnp.concatenate([v, v[:2]]) for k, v in batch.items()}
  padded["mask"] = jnp.array([1.0] * 8 + [0.0] * 2)
  masked = eval_step(state, padded)
  np.testing.assert_allclose(masked["loss_sum"], full["loss_sum"], rtol=1e-6)
  assert float(masked["count"]) == 8 and float(masked["correct"]) == float(full["correct"])


def test_scan_epoch_equals_python_loop_of_steps():
  model = models.MLP(hidden=(5,), num_classes=3, dropout_rate=0.2)
  data = _batch(12)
  indices = jnp.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
  scanned, metrics = jax.jit(train_epoch)(_state(model), data, indices)
  state = _state(model)
  for idx in indices:
    state, _ = train_step(state, {k: v[idx] for k, v in data.items()})
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
    scanned.params,
    state.params,
  )
  assert metrics["loss"].shape == (3,)


def test_losses_are_reduced_per_example_in_train_and_eval_steps():
  """The step means the per-example losses; evaluation sums them: the two agree."""
  model = models.MLP(hidden=(5,), num_classes=3)
  state, batch = _state(model, optax.sgd(0.0)), _batch(8)
  _, metrics = jax.jit(train_step)(state, batch)
  sums = eval_step(state, batch)
  np.testing.assert_allclose(metrics["loss"], sums["loss_sum"] / 8, rtol=1e-6)
  np.testing.assert_allclose(metrics["accuracy"], sums["correct"] / 8)


def test_regression_task_reports_no_accuracy():
  state = _state(
    models.LinearRegression(), features=2, loss_fn=losses.squared_loss, task="regression"
  )
  batch = {"x": jnp.ones((4, 2)), "y": jnp.zeros((4, 1))}
  _, metrics = train_step(state, batch)
  assert sorted(metrics) == ["loss"] and sorted(eval_step(state, batch)) == ["count", "loss_sum"]


def test_run_keys_are_the_state_keys():
  """A state's dropout key is the step key of its seed; the parameters come from the init key."""
  model = models.MLP(hidden=(4,), num_classes=3)
  init_key, step_key = run_keys(7)
  state = _state(model, seed=7)
  expected = model.init({"params": init_key}, jnp.zeros((1, 6)))["params"]
  jax.tree_util.tree_map(np.testing.assert_array_equal, state.params, expected)
  np.testing.assert_array_equal(jax.random.key_data(state.rng), jax.random.key_data(step_key))


def test_state_initialization_equals_a_plain_jitted_init():
  """The init program compiles at LLVM O1 on CPU (faster); the parameters are bit-identical."""
  model = models.get_model("lenet_modern")
  x = jnp.zeros((1, 28, 28, 1))
  state = TrainState.create(
    model=model, tx=optax.sgd(0.1), loss_fn=losses.softmax_cross_entropy, seed=3, sample_x=x
  )
  init_key = run_keys(3)[0]
  expected = jax.jit(lambda k, x: model.init({"params": k}, x, train=False))(init_key, x)
  leaves = zip(
    jax.tree_util.tree_leaves(state.params), jax.tree_util.tree_leaves(expected), strict=True
  )
  for a, b in leaves:
    np.testing.assert_array_equal(a, b)
