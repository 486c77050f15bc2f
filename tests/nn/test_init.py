"""From-scratch Xavier/Kaiming initializers vs jax.nn.initializers, on large samples."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxnets.nn import init

VS = jax.nn.initializers.variance_scaling
DENSE = (512, 256)  # fan_in 512, fan_out 256: the modes give different scales.
CONV = (3, 3, 32, 64)  # HWIO: fan_in 288, fan_out 576.

# (ours, the jax.nn.initializers twin) — equal in distribution.
PAIRS = {
  "xavier_uniform": (init.xavier_uniform(), jax.nn.initializers.glorot_uniform()),
  "xavier_normal": (init.xavier_normal(), VS(1.0, "fan_avg", "normal")),
  "xavier_normal_trunc": (init.xavier_normal(truncated=True), jax.nn.initializers.glorot_normal()),
  "kaiming_uniform_in": (init.kaiming_uniform(), jax.nn.initializers.he_uniform()),
  "kaiming_uniform_out": (init.kaiming_uniform("fan_out"), VS(2.0, "fan_out", "uniform")),
  "kaiming_normal_in": (init.kaiming_normal(), VS(2.0, "fan_in", "normal")),
  "kaiming_normal_out": (init.kaiming_normal("fan_out"), VS(2.0, "fan_out", "normal")),
  "kaiming_normal_trunc": (init.kaiming_normal(truncated=True), jax.nn.initializers.he_normal()),
  "kaiming_leaky": (
    init.kaiming_normal(negative_slope=0.2),
    VS(2.0 / (1 + 0.2**2), "fan_in", "normal"),
  ),
}


def _samples(fn, shape, seed):
  return np.asarray(fn(jax.random.key(seed), shape, jnp.float32)).ravel()


# Every pair on a Dense kernel; the fan logic of conv kernels on one pair per law.
CASES = [(name, DENSE) for name in sorted(PAIRS)] + [
  (name, CONV) for name in ("xavier_uniform", "kaiming_normal_out")
]


@pytest.mark.parametrize("name,shape", CASES, ids=[f"{n}-{len(s)}d" for n, s in CASES])
def test_matches_jax_initializer_in_distribution(name, shape):
  ours_fn, ref_fn = PAIRS[name]
  ours, ref = _samples(ours_fn, shape, 0), _samples(ref_fn, shape, 1)
  assert ours.shape == ref.shape
  # Two-sample Kolmogorov–Smirnov on >= 100k draws each: the laws are the same.
  assert stats.ks_2samp(ours, ref).pvalue > 1e-3
  np.testing.assert_allclose(ours.std(), ref.std(), rtol=0.02)
  assert abs(ours.mean()) < 5 * ref.std() / math.sqrt(ours.size)
  if "uniform" in name or "trunc" in name:  # Bounded laws share their bound.
    np.testing.assert_allclose(np.abs(ours).max(), np.abs(ref).max(), rtol=0.01)


def test_the_statistical_test_has_power():
  """The same KS check rejects the wrong fan mode and the wrong (untruncated) law."""
  x_in = _samples(init.kaiming_normal("fan_in"), DENSE, 0)
  x_out = _samples(VS(2.0, "fan_out", "normal"), DENSE, 1)
  assert stats.ks_2samp(x_in, x_out).pvalue < 1e-6
  plain = _samples(init.xavier_normal(), DENSE, 0)
  trunc = _samples(jax.nn.initializers.glorot_normal(), DENSE, 1)
  assert stats.ks_2samp(plain, trunc).pvalue < 1e-6


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_variances_and_bounds_follow_the_formulas(shape):
  fan_in, fan_out = init.compute_fans(shape)
  xu = _samples(init.xavier_uniform(), shape, 2)
  limit = math.sqrt(6.0 / (fan_in + fan_out))
  assert xu.max() <= limit and xu.min() >= -limit and xu.max() > 0.99 * limit
  np.testing.assert_allclose(xu.var(), 2.0 / (fan_in + fan_out), rtol=0.02)
  ku = _samples(init.kaiming_uniform("fan_out"), shape, 3)
  assert np.abs(ku).max() <= math.sqrt(6.0 / fan_out)
  kn = _samples(init.kaiming_normal(), shape, 4)
  np.testing.assert_allclose(kn.var(), 2.0 / fan_in, rtol=0.02)
  kt = _samples(init.kaiming_normal(truncated=True), shape, 5)
  np.testing.assert_allclose(kt.var(), 2.0 / fan_in, rtol=0.02)
  assert np.abs(kt).max() <= 2.0 * math.sqrt(2.0 / fan_in) / 0.8796256610342398 * (1 + 1e-5)
  xg = _samples(init.xavier_normal(gain=3.0), shape, 6)
  np.testing.assert_allclose(xg.var(), 9.0 * 2.0 / (fan_in + fan_out), rtol=0.02)


def test_truncated_normal_constant():
  assert init.truncated_normal_std() == pytest.approx(0.87962566103423978, abs=1e-12)


def test_compute_fans():
  assert init.compute_fans((10, 20)) == (10, 20)
  assert init.compute_fans((3, 3, 16, 32)) == (144, 288)
  assert init.compute_fans((5, 7, 2), in_axis=0, out_axis=1) == (10, 14)


def test_dtype_and_determinism():
  fn = init.kaiming_uniform()
  key = jax.random.key(0)
  assert fn(key, (4, 5), jnp.bfloat16).dtype == jnp.bfloat16
  assert fn(key, (4, 5)).dtype == jnp.float32
  np.testing.assert_array_equal(fn(key, (4, 5)), fn(key, (4, 5)))
  assert not np.array_equal(fn(key, (4, 5)), fn(jax.random.key(1), (4, 5)))


def test_usable_in_flax_layers_and_models():
  conv = nn.Conv(CONV[-1], CONV[:2], kernel_init=init.kaiming_normal())
  kernel = conv.init(jax.random.key(0), jnp.ones((1, 3, 3, CONV[2])))["params"]["kernel"]
  assert kernel.shape == CONV
  np.testing.assert_allclose(float(kernel.std()), math.sqrt(2.0 / 288), rtol=0.03)
  dense = nn.Dense(4, kernel_init=init.xavier_normal(truncated=True))
  assert dense.init(jax.random.key(0), jnp.ones((1, 3)))["params"]["kernel"].shape == (3, 4)
  w = jax.jit(lambda k: init.xavier_uniform()(k, (3, 4)))(jax.random.key(0))  # Jittable.
  assert w.shape == (3, 4)
  assert init.get_initializer("kaiming_normal", mode="fan_out")(jax.random.key(0), (2, 2)).shape


@pytest.mark.parametrize(
  "make",
  [
    lambda: init.kaiming_normal(mode="fan_avg"),
    lambda: init.kaiming_uniform(negative_slope=-1.0),
    lambda: init.xavier_uniform(gain=0.0),
    lambda: init.xavier_normal(gain=float("nan")),
    lambda: init.get_initializer("orthogonal"),
    lambda: init.xavier_uniform()(jax.random.key(0), (5,)),
    lambda: init.kaiming_normal()(jax.random.key(0), (0, 4)),
  ],
)
def test_bad_arguments_raise(make):
  with pytest.raises(ValueError):
    make()
