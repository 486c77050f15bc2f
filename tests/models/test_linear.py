"""Linear and softmax regression models and closed-form least squares."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets import data, losses
from jaxnets.models import LinearRegression, SoftmaxRegression, least_squares
from jaxnets.params import count_params, named_parameters

RNG = np.random.default_rng(0)


def _shapes(model, x):
  """Parameter shapes without running anything (jax.eval_shape only traces)."""
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  return {k: v.shape for k, v in named_parameters(variables["params"]).items()}


def test_linear_regression_shapes_and_count():
  model = LinearRegression()
  assert _shapes(model, jnp.ones((4, 2))) == {"Dense_0/bias": (1,), "Dense_0/kernel": (2, 1)}
  variables = jax.jit(model.init)(jax.random.key(0), jnp.ones((1, 2)))
  assert count_params(variables["params"]) == 3
  x = jnp.asarray(RNG.normal(size=(5, 2)), jnp.float32)
  p = variables["params"]["Dense_0"]
  np.testing.assert_allclose(model.apply(variables, x), x @ p["kernel"] + p["bias"], rtol=1e-6)
  # The course initializes w ~ N(0, 0.01²) and b = 0.
  assert float(jnp.max(jnp.abs(p["kernel"]))) < 0.05 and float(jnp.abs(p["bias"][0])) == 0.0
  # Non-batch dimensions are flattened; `features` sets the output width.
  assert _shapes(LinearRegression(features=3), jnp.ones((2, 4, 5))) == {
    "Dense_0/bias": (3,),
    "Dense_0/kernel": (20, 3),
  }


def test_softmax_regression_shapes_and_probabilities():
  model = SoftmaxRegression(num_classes=10)
  images = jnp.asarray(data.load("digits", split="test")["x"][:16])
  assert _shapes(model, images) == {"Dense_0/bias": (10,), "Dense_0/kernel": (64, 10)}
  variables = jax.eval_shape(model.init, jax.random.key(0), images)
  assert count_params(variables["params"]) == 64 * 10 + 10
  rng = np.random.default_rng(1)
  variables = jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), s.dtype), variables)
  logits = model.apply(variables, images)
  assert logits.shape == (16, 10)
  np.testing.assert_allclose(jnp.sum(losses.softmax(logits), axis=-1), 1.0, rtol=1e-6)
  # train=True changes nothing for a linear model.
  np.testing.assert_array_equal(model.apply(variables, images, train=True), logits)


def test_least_squares_matches_numpy_lstsq():
  x = RNG.normal(size=(50, 3)).astype(np.float32)
  y = RNG.normal(size=(50, 2)).astype(np.float32)
  w, b = least_squares(x, y)
  design = np.concatenate([x, np.ones((50, 1), np.float32)], axis=1).astype(np.float64)
  reference, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
  np.testing.assert_allclose(w, reference[:-1], rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(b, reference[-1], rtol=1e-4, atol=1e-5)
  assert w.shape == (3, 2) and b.shape == (2,)


def test_least_squares_recovers_synthetic_truth():
  d = data.load("synthetic_linear")
  w, b = least_squares(d["x"], d["y"])
  np.testing.assert_allclose(w[:, 0], data.datasets.TRUE_W, atol=0.05)
  assert abs(float(b[0]) - data.datasets.TRUE_B) < 0.05


@pytest.mark.parametrize("model", [LinearRegression(), SoftmaxRegression(num_classes=3)])
def test_linear_models_accept_any_batch_size(model):
  variables = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 4)))
  for n in (1, 7):
    assert jax.eval_shape(model.apply, variables, jnp.ones((n, 4))).shape[0] == n
