"""Tests for the pure steps: equal to a hand-written Optax update, fresh dropout masks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnets import losses, models
from jaxnets.train import TrainState, eval_step, train_epoch_scan, train_step


def _state(model, tx=None):
  return TrainState.create(
    model=model,
    tx=tx or optax.sgd(0.1),
    loss_fn=losses.softmax_cross_entropy,
    rng=jax.random.PRNGKey(0),
    sample_x=jnp.zeros((1, 6)),
  )


def _batch(n=8):
  x = jax.random.normal(jax.random.PRNGKey(1), (n, 6))
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
  new_state, metrics = jax.jit(train_step)(state, batch, state.rng)
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
    state, metrics = step(state, batch, state.rng)
    losses_seen.append(float(metrics["loss"]))
  assert len(set(losses_seen)) == 3
  # And the same step with the same key repeats exactly (resumability).
  s0 = _state(model, optax.sgd(0.0))
  a = step(s0, batch, s0.rng)[1]["loss"]
  b = step(_state(model, optax.sgd(0.0)), batch, s0.rng)[1]["loss"]
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
  scanned, metrics = jax.jit(train_epoch_scan)(_state(model), data, indices)
  state = _state(model)
  for idx in indices:
    state, _ = train_step(state, {k: v[idx] for k, v in data.items()}, state.rng)
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
    scanned.params,
    state.params,
  )
  assert metrics["loss"].shape == (3,)
