"""get_model: every course model by name, and clear errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from jaxnets.models import MLP, MODELS, LinearRegression, SoftmaxRegression, get_model

X = jnp.ones((3, 8, 8, 1))


@pytest.mark.parametrize(
  "name, kwargs, cls, out_shape",
  [
    ("linear", {}, LinearRegression, (3, 1)),
    ("linear", {"features": 2}, LinearRegression, (3, 2)),
    ("softmax", {"num_classes": 10}, SoftmaxRegression, (3, 10)),
    ("mlp", {"hidden": (16, 8), "num_classes": 4, "activation": "tanh"}, MLP, (3, 4)),
    ("mlp", {}, MLP, (3, 10)),
  ],
)
def test_get_model_builds_each_model(name, kwargs, cls, out_shape):
  model = get_model(name, **kwargs)
  assert isinstance(model, cls)
  for key, value in kwargs.items():
    assert getattr(model, key) == value
  out = jax.eval_shape(lambda x: model.init_with_output(jax.random.key(0), x)[0], X)
  assert out.shape == out_shape


def test_registry_is_an_explicit_dict_of_module_factories():
  assert isinstance(MODELS, dict)
  for name in ("linear", "softmax", "mlp"):
    assert name in MODELS
  for name, factory in MODELS.items():
    assert callable(factory), name


def test_unknown_name_lists_valid_names():
  with pytest.raises(ValueError) as err:
    get_model("transformer")
  message = str(err.value)
  assert "'transformer'" in message and str(sorted(MODELS)) in message


def test_bad_keyword_is_a_clear_error():
  with pytest.raises(ValueError, match="Bad arguments \\['depth'\\] for model 'mlp'"):
    get_model("mlp", depth=3)


def test_models_are_linen_modules():
  assert all(isinstance(get_model(n), nn.Module) for n in ("linear", "softmax", "mlp"))
