"""The deep MLP of the stability chapter: structure, options, and a hand-written forward pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.models import get_model
from jaxnets.models.deep import DeepMLP


def _normal(shape, seed=0, loc=0.0, scale=1.0):
  """Test data from numpy (no per-shape JAX compile)."""
  return np.random.default_rng(seed).normal(loc, scale, size=shape).astype(np.float32)


def _manual_forward(params, x, act, residual):
  """The network written out with numpy: Dense → act (→ + skip) per layer, then the head."""
  h = np.asarray(x, np.float64).reshape(len(x), -1)
  depth = sum(k.startswith("layer_") for k in params)
  for i in range(depth):
    p = params[f"layer_{i}"]
    z = act(h @ np.asarray(p["kernel"]) + np.asarray(p["bias"]))
    h = h + z if (residual and i > 0) else z
  return h @ np.asarray(params["head"]["kernel"]) + np.asarray(params["head"]["bias"])


@pytest.mark.parametrize("residual", [False, True])
def test_forward_matches_manual_computation(residual):
  model = get_model(
    "deep_mlp",
    depth=3,
    width=8,
    num_classes=3,
    activation="tanh",
    kernel_init="xavier_normal",
    residual=residual,
  )
  x = _normal((4, 2, 4))  # Non-batch dims are flattened.
  variables = model.init(jax.random.key(1), x)
  assert sorted(variables["params"]) == ["head", "layer_0", "layer_1", "layer_2"]
  np.testing.assert_allclose(
    model.apply(variables, x),
    _manual_forward(variables["params"], x, np.tanh, residual),
    rtol=1e-5,
    atol=1e-6,
  )


def test_kernel_inits_set_the_weight_scale():
  x = jnp.ones((1, 128))  # Every kernel is 128 x 128: one random kernel compile per law.
  std = lambda **kw: float(
    DeepMLP(depth=1, width=128, num_classes=128, **kw)
    .init(jax.random.key(0), x)["params"]["layer_0"]["kernel"]
    .std()
  )
  assert std(kernel_init="normal", init_std=0.01) == pytest.approx(0.01, rel=0.03)
  assert std(kernel_init="kaiming_normal") == pytest.approx((2 / 128) ** 0.5, rel=0.03)
  assert std(kernel_init="xavier_uniform") == pytest.approx((1 / 128) ** 0.5, rel=0.03)


def test_batch_norm_train_and_eval_modes():
  model = DeepMLP(depth=2, width=8, num_classes=3, batch_norm=True)
  x = _normal((16, 8), loc=2.0, scale=3.0)
  variables = model.init(jax.random.key(1), x)
  assert set(variables["batch_stats"]) == {"bn_0", "bn_1"}
  y_train, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  moved = updates["batch_stats"]["bn_0"]["mean"]
  assert np.all(np.abs(moved) > 0)  # Running statistics were updated.
  variables = {"params": variables["params"], **updates}
  y_eval = model.apply(variables, x, train=False)  # Running averages, nothing mutated.
  assert y_train.shape == y_eval.shape == (16, 3)
  assert not np.allclose(y_train, y_eval)


def test_dropout_only_in_training():
  model = DeepMLP(depth=2, width=8, num_classes=3, dropout_rate=0.5)
  x = _normal((16, 8))
  variables = model.init(jax.random.key(1), x)
  np.testing.assert_array_equal(model.apply(variables, x), model.apply(variables, x))
  a = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
  b = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(3)})
  assert not np.allclose(a, b)


def test_trains_under_jit():
  model = DeepMLP(depth=4, width=8, num_classes=3, batch_norm=True, residual=True)
  x = _normal((32, 8))
  y = (x[:, 0] > 0).astype(np.int32)
  variables = model.init(jax.random.key(1), x)

  def loss_fn(params, stats):
    logits, new = model.apply(
      {"params": params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"]
    )
    loss = -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(32), y])
    return loss, new["batch_stats"]

  @jax.jit
  def step(params, stats):
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats)
    return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads), stats, loss

  params, stats = variables["params"], variables["batch_stats"]
  losses = []
  for _ in range(30):
    params, stats, loss = step(params, stats)
    losses.append(float(loss))
  assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
  "kwargs",
  [
    dict(depth=0),
    dict(width=-1),
    dict(kernel_init="orthogonal"),
    dict(activation="gelu"),
    dict(kernel_init="normal", init_std=0.0),
  ],
)
def test_bad_arguments_raise(kwargs):
  with pytest.raises(ValueError):
    DeepMLP(**kwargs).init(jax.random.key(0), jnp.ones((1, 8)))
