"""Vmapped sweeps: N models in one program equal N separate, plainly written runs."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import losses
from jaxnets.data import batches
from jaxnets.models import MLP, SoftmaxRegression
from jaxnets.optim import get_optimizer
from jaxnets.optim.sweep import Sweep, best_member, evaluate, grid, split_seed, train_sweep

BATCH = 16
EPOCHS = 3


@pytest.fixture(scope="module")
def data():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(72, 5)).astype(np.float32)  # 72 = 4 batches of 16 + a dropped 8.
  y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)
  return {"x": x, "y": y}


MODEL = MLP(hidden=(8,), num_classes=3, activation="tanh")


@functools.lru_cache(maxsize=None)
def _plain_step(model, optimizer, impl):
  """A jitted single-model step; each run puts its own learning rate into its state."""
  tx = get_optimizer(optimizer, 1.0, impl=impl)

  @jax.jit
  def init(key, x):
    params = model.init(key, x)["params"]
    return params, tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_of(p):
      return losses.softmax_cross_entropy(model.apply({"params": p}, x), y)

    loss, grads = jax.value_and_grad(loss_of)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return init, step


def _separate_run(model, data, lr, seed, optimizer, impl):
  """One model trained alone: the standard batch pipeline and a jitted step, no vmap."""
  init_key, _ = split_seed(seed)
  init, step = _plain_step(model, optimizer, impl)
  params, opt_state = init(init_key, data["x"][:1])
  opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)
  curve = []
  for epoch in range(EPOCHS):
    for batch in batches(data, BATCH, seed=seed, epoch=epoch):
      params, opt_state, loss = step(params, opt_state, batch["x"], batch["y"])
      curve.append(float(loss))
  return params, np.array(curve)


def test_vmapped_sweep_equals_separate_runs(data):
  optimizer, impl = "adam", "scratch"
  lrs, seeds = grid([0.003, 0.01, 0.03, 0.1], [0, 1, 2, 3])  # N = 16 models.
  result = train_sweep(
    MODEL,
    data,
    learning_rates=lrs,
    seeds=seeds,
    num_epochs=EPOCHS,
    batch_size=BATCH,
    optimizer=optimizer,
    impl=impl,
  )
  assert result.train_loss.shape == (16, EPOCHS * 4)
  for i in range(16):
    params, curve = _separate_run(MODEL, data, float(lrs[i]), int(seeds[i]), optimizer, impl)
    np.testing.assert_allclose(result.train_loss[i], curve, rtol=1e-5, atol=1e-6)
    member = jax.tree.map(lambda leaf, i=i: leaf[i], result.params)
    for a, b in zip(jax.tree.leaves(member), jax.tree.leaves(params), strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # The members really differ: learning rates and seeds both change the result.
  final = result.train_loss[:, -4:].mean(1).reshape(4, 4)
  assert np.ptp(final.mean(1)) > 1e-2 and np.ptp(final[0]) > 1e-4
  assert result.wall_times.shape == (1,) and result.call_steps.tolist() == [EPOCHS * 4]


def test_loops_and_chunking_give_the_same_training(data):
  sweep = Sweep(MODEL, data, optimizer="rmsprop", batch_size=BATCH, impl="optax")
  lrs, seeds = [0.01, 0.05], [3, 4]
  _, per_epoch = sweep.run(sweep.init(lrs, seeds), EPOCHS, epochs_per_call=1)
  _, stepped = sweep.run(sweep.init(lrs, seeds), EPOCHS, loop="step")
  np.testing.assert_allclose(stepped, per_epoch, rtol=1e-5, atol=1e-6)
  assert np.ptp(per_epoch[:, -1]) > 1e-4  # Two different members.
  # Continuing a run from epoch 1 equals running it straight through.
  state, first = sweep.run(sweep.init(lrs, seeds), 1, epochs_per_call=1)
  _, rest = sweep.run(state, EPOCHS - 1, epochs_per_call=1, epoch0=1)
  np.testing.assert_allclose(np.concatenate([first, rest], 1), per_epoch, rtol=1e-6)


def test_learning_rates_live_in_the_state_and_schedules_scale_them(data):
  sweep = Sweep(
    SoftmaxRegression(3),
    data,
    optimizer="sgd",
    batch_size=BATCH,
    lr_schedule=lambda step: 0.5**step,
    weight_decay=0.1,
  )
  state = sweep.init([0.1, 0.2, 0.4], 0)
  np.testing.assert_allclose(state.opt_state[1].hyperparams["learning_rate"], [0.1, 0.2, 0.4])
  assert np.all(np.asarray(state.step) == 0)
  # Epoch orders are jaxnets.data.batches' orders for each member's seed.
  idx = sweep.order([0, 5], epoch0=2, num_epochs=1)
  first = next(batches(data, BATCH, seed=5, epoch=2))
  np.testing.assert_array_equal(data["x"][idx[1, 0, 0]], first["x"])
  assert idx.shape == (2, 1, 4, BATCH)
  # Same seed, same first batch: the first SGD step (with λw added) is proportional to η.
  step = sweep.compile(state, loop="step")["step"]
  after, _ = step(state, jnp.tile(jnp.arange(BATCH)[None], (3, 1)), sweep.x, sweep.y)
  assert np.all(np.asarray(after.step) == 1)
  delta = np.asarray(after.params["Dense_0"]["kernel"] - state.params["Dense_0"]["kernel"])
  np.testing.assert_allclose(delta[1], 2 * delta[0], rtol=1e-4, atol=1e-7)
  np.testing.assert_allclose(delta[2], 4 * delta[0], rtol=1e-4, atol=1e-7)


def test_evaluate_matches_direct_application(data):
  model = SoftmaxRegression(3)
  shapes = jax.eval_shape(model.init, jax.random.key(0), data["x"][:1])["params"]
  rng = np.random.default_rng(0)
  params = jax.tree.map(lambda s: jnp.asarray(rng.normal(size=(2,) + s.shape), s.dtype), shapes)
  metrics = evaluate(model, params, data)
  chunked = evaluate(model, params, data, batch_size=24)
  for i in range(2):
    p = jax.tree.map(lambda leaf, i=i: leaf[i], params)
    logits = SoftmaxRegression(3).apply({"params": p}, data["x"])
    assert metrics["accuracy"][i] == pytest.approx(float(losses.accuracy(logits, data["y"])))
    assert metrics["loss"][i] == pytest.approx(
      float(losses.softmax_cross_entropy(logits, data["y"])), rel=1e-5
    )
  np.testing.assert_allclose(chunked["loss"], metrics["loss"], rtol=1e-5)
  np.testing.assert_allclose(chunked["accuracy"], metrics["accuracy"])


def test_best_member_and_grid():
  lrs, seeds = grid([0.1, 1.0], [0, 1])
  assert lrs.tolist() == pytest.approx([0.1, 0.1, 1.0, 1.0]) and seeds.tolist() == [0, 1, 0, 1]
  best, means = best_member([0.2, 0.4, np.nan, 0.9], lrs)
  assert best == pytest.approx(0.1) and np.isnan(means[1])
  assert best_member([3.0, 1.0, 0.5, 0.7], lrs, mode="min")[0] == pytest.approx(1.0)


class _WithBatchNorm(nn.Module):
  @nn.compact
  def __call__(self, x, train=False):
    return nn.BatchNorm(use_running_average=not train)(nn.Dense(3)(x))


@pytest.mark.parametrize(
  "kwargs,message",
  [
    ({"learning_rates": [0.1, -0.1], "seeds": [0, 1]}, "learning rates must be positive"),
    ({"learning_rates": [0.1, 0.2], "seeds": [0, 1, 2]}, "must have the same length"),
    ({"learning_rates": [0.1], "seeds": [0.5]}, "seeds must be integers"),
    ({"learning_rates": [0.1], "seeds": [0], "num_epochs": 0}, "num_epochs must be a positive"),
    ({"learning_rates": [0.1], "seeds": [0], "batch_size": 0}, "batch_size must be a positive"),
    ({"learning_rates": [0.1], "seeds": [0], "loop": "while"}, "Unknown loop 'while'"),
    (
      {"learning_rates": [0.1], "seeds": [0], "num_epochs": 3, "epochs_per_call": 2},
      "must divide num_epochs",
    ),
    ({"learning_rates": [0.1], "seeds": [0], "optimizer": "lion"}, "Unknown optimizer 'lion'"),
    ({"learning_rates": [0.1], "seeds": [0], "optimizer_kwargs": {"b1": 1.0}}, "b1 must lie"),
  ],
)
def test_bad_sweeps_raise_clear_errors(data, kwargs, message):
  settings = {"num_epochs": 1, "batch_size": BATCH, **kwargs}
  with pytest.raises(ValueError, match=message):
    train_sweep(SoftmaxRegression(3), data, **settings)


def test_models_with_batch_stats_are_refused(data):
  with pytest.raises(ValueError, match="only variables are 'params'.*batch_stats"):
    Sweep(_WithBatchNorm(), data, batch_size=BATCH)
