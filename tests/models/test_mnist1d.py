"""The MNIST-1D paper's models: shapes, parameter counts, and the convolution vs lax/Flax."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.models import get_model
from jaxnets.models.mnist1d import MNIST1DCNN, MNIST1DMLP, Conv1D, MNIST1DLogistic
from jaxnets.params import count_params

X = np.random.default_rng(0).normal(size=(4, 40)).astype(np.float32)


def _random_variables(model, x, seed):
  """Variables of ``model``'s shapes filled from numpy (cheaper than compiling its init)."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(model.init, jax.random.key(0), x)
  return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape) * 0.3, s.dtype), shapes)


@pytest.mark.parametrize(
  "name,params",
  [
    ("mnist1d_logistic", 40 * 10 + 10),
    ("mnist1d_mlp", (40 * 100 + 100) + (100 * 100 + 100) + (100 * 10 + 10)),
    # conv 1->25 (w5), 25->25 (w3) twice, dense 5*25 -> 10: the paper's 5210 parameters.
    ("mnist1d_cnn", (5 * 25 + 25) + 2 * (3 * 25 * 25 + 25) + (125 * 10 + 10)),
  ],
)
def test_registered_models_have_the_papers_sizes(name, params):
  model = get_model(name)
  variables = jax.eval_shape(model.init, jax.random.key(1), X)  # Shapes only: no compute.
  assert count_params(variables["params"]) == params
  assert jax.eval_shape(model.apply, variables, X).shape == (4, 10)
  assert jax.eval_shape(model.apply, variables, X[..., None]).shape == (4, 10)  # [B, W, 1].


@pytest.mark.parametrize("impl,order", [("lax", (0, 1, 2)), ("patches", (2, 1, 0))])
def test_cnn_feature_widths_follow_the_stride_arithmetic(impl, order):
  model = MNIST1DCNN(conv_impl=impl)  # patches run in CWN: [channels, width, batch].
  variables = jax.eval_shape(model.init, jax.random.key(0), X)
  _, inter = jax.eval_shape(lambda v: model.apply(v, X, capture_intermediates=True), variables)
  shapes = [inter["intermediates"][f"conv{i}"]["__call__"][0].shape for i in (1, 2, 3)]
  assert shapes == [tuple((4, w, 25)[j] for j in order) for w in (19, 10, 5)]


@pytest.mark.parametrize(
  "width,stride,padding,length", [(5, 2, 1, 40), (3, 2, 1, 19), (3, 1, 0, 11), (4, 3, 2, 17)]
)
def test_conv1d_patches_equal_lax_and_flax(width, stride, padding, length):
  x = np.random.default_rng(width + length).normal(size=(3, length, 4)).astype(np.float32)
  conv = {
    impl: Conv1D(6, width, stride=stride, padding=padding, impl=impl) for impl in ("patches", "lax")
  }
  cwn = Conv1D(6, width, stride=stride, padding=padding, layout="CWN")  # [C, W, N] in and out.
  to_cwn = lambda a: jnp.transpose(a, (2, 1, 0))  # noqa: E731 (its own inverse)
  flax_conv = nn.Conv(6, (width,), strides=(stride,), padding=[(padding, padding)])

  @jax.jit
  def outputs(variables):
    apply = {impl: lambda v, m=m: m.apply(v, x) for impl, m in conv.items()}
    apply["cwn"] = lambda v: to_cwn(cwn.apply(v, to_cwn(x)))
    outs = {impl: f(variables) for impl, f in apply.items()}
    outs["flax"] = flax_conv.apply(variables, x)
    # Gradients too (the patch form is differentiated through slices and an einsum).
    grads = {
      impl: jax.grad(lambda v, f=f: jnp.sum(jnp.sin(f(v))))(variables) for impl, f in apply.items()
    }
    return outs, grads

  outs, grads = outputs(_random_variables(conv["patches"], x, width))
  for impl in ("patches", "lax", "cwn"):
    np.testing.assert_allclose(outs[impl], outs["flax"], rtol=1e-5, atol=1e-5)
  for impl in ("patches", "cwn"):
    for a, b in zip(jax.tree.leaves(grads[impl]), jax.tree.leaves(grads["lax"]), strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_cnn_conv_impls_compute_the_same_function():
  variables = _random_variables(MNIST1DCNN(conv_impl="lax"), X, 4)
  both = jax.jit(lambda v: (MNIST1DCNN().apply(v, X), MNIST1DCNN(conv_impl="lax").apply(v, X)))
  patches, lax_conv = both(variables)
  np.testing.assert_allclose(patches, lax_conv, rtol=1e-5, atol=1e-5)


def test_torch_init_style_is_uniform_within_the_fan_in_bound():
  params = jax.jit(MNIST1DCNN(init_style="torch").init)(jax.random.key(5), X)["params"]
  for name, fan_in in [("conv1", 5), ("conv2", 75), ("dense", 125)]:
    for leaf in params[name].values():
      bound = 1 / np.sqrt(fan_in)
      assert np.all(np.abs(leaf) <= bound) and np.max(np.abs(leaf)) > 0.8 * bound


def test_residual_mlp_differs_and_logistic_is_linear():
  @jax.jit
  def outputs(variables, v):
    mlp = MNIST1DMLP().apply(variables, X), MNIST1DMLP(residual=True).apply(variables, X)
    return mlp, [MNIST1DLogistic().apply(v, c * X) for c in (0.0, 1.0, 2.0)]

  (plain, residual), (z0, z1, z2) = outputs(
    _random_variables(MNIST1DMLP(), X, 6), _random_variables(MNIST1DLogistic(), X, 7)
  )
  assert np.max(np.abs(residual - plain)) > 1e-3
  np.testing.assert_allclose(z2 - z1, z1 - z0, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
  "module,x,message",
  [
    (MNIST1DCNN(), jnp.ones((2, 40, 3)), r"shape \[batch, width\]"),
    (MNIST1DCNN(conv_impl="fft"), X, "Unknown conv impl 'fft'"),
    (MNIST1DCNN(init_style="keras"), X, "Unknown init_style 'keras'"),
    (MNIST1DCNN(channels=0), X, "channels must be positive"),
    (MNIST1DMLP(hidden=-1), X, "hidden width must be positive"),
    (Conv1D(4, 9), jnp.ones((1, 5, 1)), "too short"),
    (Conv1D(4, 3, layout="NCW"), jnp.ones((1, 5, 1)), "Unknown conv layout 'NCW'"),
    (Conv1D(4, 3, impl="lax", layout="CWN"), jnp.ones((1, 5, 1)), "CWN layout needs impl"),
  ],
)
def test_bad_configurations_raise(module, x, message):
  with pytest.raises(ValueError, match=message):
    jax.eval_shape(module.init, jax.random.key(0), x)
