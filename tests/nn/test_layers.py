"""From-scratch Dropout and BatchNorm vs flax.linen.Dropout / flax.linen.BatchNorm."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.nn.layers import BatchNorm, Dropout


def _normal(shape, seed=0, loc=0.0, scale=1.0):
  """Test data from numpy (no per-shape JAX compile)."""
  return np.random.default_rng(seed).normal(loc, scale, size=shape).astype(np.float32)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _drop_apply(rate, x, key, train=True):
  return Dropout(rate).apply({}, x, train=train, rngs={"dropout": key})


def _drop(rate, x, train=True, seed=0):
  return _drop_apply(rate, jnp.asarray(x), jax.random.key(seed), train)


@functools.partial(jax.jit, static_argnums=0)
def _bn_train(module, variables, x):
  return module.apply(variables, x, train=True, mutable=["batch_stats"])


@functools.partial(jax.jit, static_argnums=0)
def _bn_eval(module, variables, x):
  return module.apply(variables, x, train=False)


# ----------------------------------------------------------------------------- Dropout


def test_dropout_is_identity_at_evaluation_and_needs_no_rng():
  x = _normal((64, 32))
  np.testing.assert_array_equal(Dropout(0.5).apply({}, x, train=False), x)


def test_dropout_inverted_scaling_statistics():
  rate, n = 0.35, 200_000
  y = np.asarray(_drop(rate, jnp.ones((n,))))
  dropped = y == 0
  assert abs(dropped.mean() - rate) < 0.005
  np.testing.assert_allclose(y[~dropped], 1.0 / (1.0 - rate), rtol=1e-6)
  assert abs(y.mean() - 1.0) < 0.01  # E[h'] = h.


def test_dropout_edge_rates():
  x = _normal((64, 32))
  np.testing.assert_array_equal(Dropout(0.0).apply({}, x, train=True), x)  # No rng needed.
  np.testing.assert_array_equal(Dropout(1.0).apply({}, x, train=True), jnp.zeros_like(x))
  grad = jax.grad(lambda v: Dropout(1.0).apply({}, v, train=True).sum())(x)
  assert np.all(np.isfinite(grad)) and np.all(grad == 0)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_dropout_bad_rate_raises(rate):
  with pytest.raises(ValueError, match="rate"):
    Dropout(rate)


def test_dropout_fresh_mask_per_call_and_per_key():
  x = jnp.ones((64, 32))

  class Twice(nn.Module):
    @nn.compact
    def __call__(self, v):
      drop = Dropout(0.5)
      return drop(v, True), drop(v, True)

  a, b = Twice().apply({}, x, rngs={"dropout": jax.random.key(0)})
  assert not np.array_equal(a, b)  # Same layer, two calls: two masks.
  assert not np.array_equal(_drop(0.5, x, seed=0), _drop(0.5, x, seed=1))
  np.testing.assert_array_equal(_drop(0.5, x, seed=3), _drop(0.5, x, seed=3))


def test_dropout_gradient_is_mask_over_keep_prob():
  x = _normal((64, 32))
  f = lambda v: Dropout(0.4).apply({}, v, train=True, rngs={"dropout": jax.random.key(7)})
  y, grad = jax.jit(lambda v: (f(v), jax.grad(lambda u: f(u).sum())(v)))(x)
  kept = np.asarray(y != 0)
  np.testing.assert_allclose(grad, kept / 0.6, rtol=1e-6)


def test_dropout_matches_flax_dropout():
  x = _normal((64, 32))
  ref_apply = jax.jit(
    lambda v, k: nn.Dropout(0.35).apply({}, v, deterministic=False, rngs={"dropout": k})
  )
  for seed in range(3):
    ours, ref = _drop(0.35, x, seed=seed), ref_apply(x, jax.random.key(seed))
    np.testing.assert_allclose(ours, ref, rtol=1e-6)  # Same key -> the same mask.
  # And in distribution: the survivor fraction of a large draw under other keys.
  big = jnp.ones((200_000,))
  ours_frac = (_drop(0.35, big, seed=5) != 0).mean()
  ref_frac = (ref_apply(big, jax.random.key(6)) != 0).mean()
  assert abs(ours_frac - ref_frac) < 0.004 and abs(ours_frac - 0.65) < 0.003


# --------------------------------------------------------------------------- BatchNorm


def _set_affine(variables, seed):
  """Random scale/bias so the affine part is exercised, not just the ones/zeros init."""
  params = dict(variables["params"])
  shape = params["scale"].shape
  params["scale"] = jnp.asarray(1.0 + _normal(shape, seed, scale=0.5))
  params["bias"] = jnp.asarray(_normal(shape, seed + 1))
  return {"params": params, "batch_stats": variables["batch_stats"]}


DENSE, NHWC = (16, 6), (4, 5, 3, 6)


@pytest.mark.parametrize(
  "shape,fast_variance",
  [(DENSE, False), (NHWC, False), (NHWC, True)],
  ids=["dense", "nhwc", "nhwc-flax-default-variance"],
)
def test_batchnorm_matches_flax_over_steps(shape, fast_variance):
  momentum, eps = 0.8, 1e-3
  ours_mod = BatchNorm(momentum=momentum, epsilon=eps)
  ref_mod = nn.BatchNorm(momentum=momentum, epsilon=eps, use_fast_variance=fast_variance)
  x0 = jnp.zeros(shape)
  ours = _set_affine(ours_mod.init(jax.random.key(0), x0, train=False), 9)
  ref_stats = ref_mod.init(jax.random.key(0), x0, use_running_average=True)["batch_stats"]
  ref = {"params": ours["params"], "batch_stats": ref_stats}
  ref_step = jax.jit(
    lambda v, x: ref_mod.apply(v, x, use_running_average=False, mutable=["batch_stats"])
  )
  tol = dict(rtol=1e-4, atol=1e-4) if fast_variance else dict(rtol=1e-5, atol=1e-5)
  for step in range(5):  # Each batch has its own location and scale.
    x = _normal(shape, step + 1, loc=step - 1.0, scale=3.0)
    y, new = _bn_train(ours_mod, ours, x)
    y_ref, new_ref = ref_step(ref, x)
    np.testing.assert_allclose(y, y_ref, **tol)
    for name in ("mean", "var"):
      np.testing.assert_allclose(new["batch_stats"][name], new_ref["batch_stats"][name], **tol)
    ours = {"params": ours["params"], "batch_stats": new["batch_stats"]}
    ref = {"params": ref["params"], "batch_stats": new_ref["batch_stats"]}
  x = _normal(shape, 99)
  np.testing.assert_allclose(
    _bn_eval(ours_mod, ours, x), ref_mod.apply(ref, x, use_running_average=True), **tol
  )


def test_batchnorm_gradients_match_flax():
  shape = NHWC
  ours_mod, ref_mod = BatchNorm(), nn.BatchNorm(use_fast_variance=False)
  variables = _set_affine(ours_mod.init(jax.random.key(0), jnp.zeros(shape), train=False), 1)
  x = _normal(shape, 2, loc=1.0, scale=2.0)
  w = _normal(shape, 3)  # A non-symmetric downstream loss.

  def loss(mod, params, x, **kw):
    y, _ = mod.apply(
      {"params": params, "batch_stats": variables["batch_stats"]}, x, **kw, mutable=["batch_stats"]
    )
    return jnp.sum(w * y**2)

  grads = jax.jit(
    lambda p, v: (
      jax.grad(lambda p, v: loss(ours_mod, p, v, train=True), argnums=(0, 1))(p, v),
      jax.grad(lambda p, v: loss(ref_mod, p, v, use_running_average=False), argnums=(0, 1))(p, v),
    )
  )
  g, g_ref = grads(variables["params"], x)
  for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g_ref), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _assert_per_channel_normalized(y, channel_axis=-1):
  """Every channel of ``y`` has mean 0 and variance 1 over all the other axes."""
  y = np.moveaxis(np.asarray(y, np.float64), channel_axis, -1)
  flat = y.reshape(-1, y.shape[-1])
  np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-4)
  np.testing.assert_allclose(flat.var(axis=0), 1.0, atol=1e-3)


def _wrong_normalize(x, axes):
  x = np.asarray(x, np.float64)
  mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
  return (x - mu) / np.sqrt(var + 1e-5)


@pytest.mark.parametrize("shape", [DENSE, NHWC], ids=["dense", "nhwc"])
def test_batchnorm_reduction_axes_are_pinned(shape):
  """Statistics are per feature/channel over (batch[, H, W]); per-row or NCHW ones must fail."""
  channel = np.arange(shape[-1], dtype=np.float32)
  row = np.arange(shape[0], dtype=np.float32).reshape((-1,) + (1,) * (len(shape) - 1))
  # Channels differ strongly in location and scale, and so do rows.
  x = _normal(shape, 0) * (1.0 + channel) + 3.0 * channel + 0.7 * row
  bn = BatchNorm(momentum=0.9)
  variables = bn.init(jax.random.key(0), jnp.zeros(shape), train=False)
  y, new = _bn_train(bn, variables, x)
  _assert_per_channel_normalized(y)

  xn = np.asarray(x, np.float64).reshape(-1, shape[-1])  # Per-channel truth, by hand.
  np.testing.assert_allclose(new["batch_stats"]["mean"], 0.1 * xn.mean(0), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(new["batch_stats"]["var"], 0.9 + 0.1 * xn.var(0), rtol=1e-5)

  # The check has teeth: a per-row statistic and (for images) an NCHW reading fail it.
  per_row = _wrong_normalize(x, tuple(range(1, len(shape))))
  with pytest.raises(AssertionError):
    _assert_per_channel_normalized(per_row)
  if len(shape) == 4:
    nchw = _wrong_normalize(x, (0, 2, 3))  # Treats axis 1 (height) as the channel.
    with pytest.raises(AssertionError):
      _assert_per_channel_normalized(nchw)


def test_batchnorm_eval_uses_running_statistics_by_formula():
  bn = BatchNorm(momentum=0.5, epsilon=1e-5)
  x = _normal(DENSE, 0, loc=5.0, scale=2.0)
  variables = bn.init(jax.random.key(0), x, train=False)
  np.testing.assert_array_equal(variables["batch_stats"]["mean"], 0.0)  # init moves nothing.
  np.testing.assert_array_equal(variables["batch_stats"]["var"], 1.0)
  _, new = _bn_train(bn, variables, x)
  variables = {"params": variables["params"], **new}
  x_eval = _normal(DENSE, 1)
  rm, rv = np.asarray(new["batch_stats"]["mean"]), np.asarray(new["batch_stats"]["var"])
  np.testing.assert_allclose(
    _bn_eval(bn, variables, x_eval), (x_eval - rm) / np.sqrt(rv + 1e-5), rtol=1e-5, atol=1e-6
  )
  # Eval mode does not depend on the other examples of the batch.
  x_shuffled = x_eval[::-1]
  np.testing.assert_allclose(
    _bn_eval(bn, variables, x_shuffled)[::-1], _bn_eval(bn, variables, x_eval), rtol=1e-6
  )


@pytest.mark.parametrize(
  "make",
  [
    lambda: BatchNorm(momentum=1.0),
    lambda: BatchNorm(momentum=-0.1),
    lambda: BatchNorm(epsilon=0.0),
    lambda: BatchNorm().init(jax.random.key(0), jnp.ones((5,)), train=False),
  ],
)
def test_batchnorm_bad_arguments_raise(make):
  with pytest.raises(ValueError):
    make()
