"""The MLP: depth, width, activations, dropout."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.models import MLP
from jaxnets.models.mlp import ACTIVATIONS, get_activation
from jaxnets.params import count_params, named_parameters

X = jnp.asarray(np.random.default_rng(0).normal(size=(8, 4, 4, 1)), jnp.float32)


def _random_params(model, x=X, seed=0):
  """Parameters with the model's structure, drawn with numpy (no init to compile)."""
  shapes = jax.eval_shape(model.init, jax.random.key(0), x)["params"]
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape) * 0.5, s.dtype), shapes)


def _shapes(model, x=X):
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  return {k: v.shape for k, v in named_parameters(variables["params"]).items()}


def test_depth_width_and_parameter_count():
  shapes = _shapes(MLP(hidden=(32, 16, 8), num_classes=5))
  assert shapes == {
    "Dense_0/bias": (32,),
    "Dense_0/kernel": (16, 32),
    "Dense_1/bias": (16,),
    "Dense_1/kernel": (32, 16),
    "Dense_2/bias": (8,),
    "Dense_2/kernel": (16, 8),
    "Dense_3/bias": (5,),
    "Dense_3/kernel": (8, 5),
  }
  variables = jax.eval_shape(MLP(hidden=(32, 16, 8), num_classes=5).init, jax.random.key(0), X)
  assert count_params(variables["params"]) == (16 * 32 + 32) + (32 * 16 + 16) + (16 * 8 + 8) + (
    8 * 5 + 5
  )
  # No hidden layer: softmax regression.
  assert _shapes(MLP(hidden=(), num_classes=10)) == {
    "Dense_0/bias": (10,),
    "Dense_0/kernel": (16, 10),
  }


@pytest.mark.parametrize(
  "name, fn", [("relu", jax.nn.relu), ("sigmoid", jax.nn.sigmoid), ("tanh", jnp.tanh)]
)
def test_activation_is_applied_between_layers(name, fn):
  model = MLP(hidden=(6,), num_classes=3, activation=name)
  p = _random_params(model)
  variables = {"params": p}
  flat = X.reshape(8, -1)
  expected = fn(flat @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"]) @ p["Dense_1"]["kernel"]
  np.testing.assert_allclose(
    jax.jit(model.apply)(variables, X), expected + p["Dense_1"]["bias"], rtol=1e-5, atol=1e-6
  )
  assert get_activation(name) is ACTIVATIONS[name]


def test_unknown_activation_lists_valid_ones():
  with pytest.raises(ValueError, match="valid activations: \\['relu', 'sigmoid', 'tanh'\\]"):
    get_activation("gelu")
  with pytest.raises(ValueError, match="Unknown activation 'swish'"):
    jax.eval_shape(MLP(activation="swish").init, jax.random.key(0), X)


def test_non_positive_width_is_rejected():
  with pytest.raises(ValueError, match="hidden widths must be positive"):
    jax.eval_shape(MLP(hidden=(8, 0)).init, jax.random.key(0), X)


@pytest.fixture(scope="module")
def dropout_model():
  model = MLP(hidden=(64,), num_classes=4, dropout_rate=0.5)
  return model, {"params": _random_params(model)}


def test_dropout_only_in_train_mode(dropout_model):
  model, variables = dropout_model
  apply = jax.jit(model.apply, static_argnames="train")
  evals = apply(variables, X)
  np.testing.assert_array_equal(evals, apply(variables, X, train=False))
  # Eval mode equals the same network without dropout.
  plain = MLP(hidden=(64,), num_classes=4)
  np.testing.assert_allclose(evals, plain.apply(variables, X), rtol=1e-6)
  trained = apply(variables, X, train=True, rngs={"dropout": jax.random.key(1)})
  assert not np.allclose(trained, evals)
  with pytest.raises(Exception, match="dropout"):  # Flax: train mode needs a "dropout" rng.
    model.apply(variables, X, train=True)


def test_fresh_rng_fresh_mask(dropout_model):
  model, variables = dropout_model

  @jax.jit
  def hidden_after_dropout(key):
    _, state = model.apply(
      variables,
      X,
      train=True,
      rngs={"dropout": key},
      capture_intermediates=lambda m, _: isinstance(m, nn.Dropout),
      mutable=["intermediates"],
    )
    return state["intermediates"]["Dropout_0"]["__call__"][0]

  a, a_again, b = (hidden_after_dropout(jax.random.key(k)) for k in (1, 1, 2))
  np.testing.assert_array_equal(a, a_again)  # Same rng: same mask.
  mask_a, mask_b = np.asarray(a) == 0, np.asarray(b) == 0
  assert not np.array_equal(mask_a, mask_b)  # Fresh rng: a fresh mask.
  # Of the units that are active (ReLU > 0), about half are dropped; the kept ones are
  # scaled by 1 / (1 - 0.5).
  p = variables["params"]["Dense_0"]
  hidden = np.asarray(jax.nn.relu(X.reshape(8, -1) @ p["kernel"] + p["bias"]))
  active = hidden != 0
  assert active.sum() > 100 and 0.35 < mask_a[active].mean() < 0.65
  kept = active & ~mask_a
  np.testing.assert_allclose(np.asarray(a)[kept], 2 * hidden[kept], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
  "kwargs,match",
  [
    ({"activation": "gelu"}, "valid activations"),
    ({"dropout_rate": 1.5}, r"dropout_rate must be in \[0, 1\)"),
    ({"dropout_rate": -0.5}, r"dropout_rate must be in \[0, 1\)"),
    ({"num_classes": 0}, "num_classes must be positive"),
    ({"hidden": (16, 0)}, "hidden widths must be positive"),
  ],
)
def test_bad_arguments_fail_at_construction(kwargs, match):
  with pytest.raises(ValueError, match=match):
    MLP(**kwargs)
