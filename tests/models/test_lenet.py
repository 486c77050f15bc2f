"""LeNet-5: the course's architecture, parameter counts, both variants, and training on digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.models import get_model
from jaxnets.models.lenet import LeNet, LeNetClassic, LeNetModern
from jaxnets.nn import ops
from jaxnets.params import count_params, named_parameters

COURSE_TABLE = [  # (layer, output shape for one 28x28x1 image, parameters)
  ("conv1", (1, 28, 28, 6), 6 * 25 + 6),
  ("pool1", (1, 14, 14, 6), 0),
  ("conv2", (1, 10, 10, 16), 16 * 6 * 25 + 16),
  ("pool2", (1, 5, 5, 16), 0),
  ("fc1", (1, 120), 400 * 120 + 120),
  ("fc2", (1, 84), 120 * 84 + 84),
  ("fc3", (1, 10), 84 * 10 + 10),
]


@pytest.fixture(scope="module")
def params():
  return jax.jit(LeNetClassic().init)(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))["params"]


def test_classic_has_61706_parameters_layer_by_layer(params):
  assert count_params(params) == 61_706 == sum(row[2] for row in COURSE_TABLE)
  s = ops.summary(LeNetClassic(), (1, 28, 28, 1))
  assert [(r.name, r.output_shape, r.num_params) for r in s.layers] == COURSE_TABLE
  for name, _, n in COURSE_TABLE:
    if n:
      assert count_params(params[name]) == n
  assert s.total_params == 61_706
  assert "conv1/kernel" in named_parameters(params)
  assert named_parameters(params)["conv1/kernel"].shape == (5, 5, 1, 6)


def test_registry_variants():
  classic, modern = get_model("lenet"), get_model("lenet_modern", num_classes=3)
  assert (classic.activation, classic.pool) == ("sigmoid", "avg")
  assert (modern.activation, modern.pool, modern.num_classes) == ("relu", "max", 3)
  assert isinstance(classic, LeNet) and isinstance(modern, LeNet)


def _by_hand(params, x, act, pool):
  """LeNet written out with the from-scratch ops, as a reference for both variants."""
  p = params
  x = pool(act(ops.conv2d(x, p["conv1"]["kernel"], p["conv1"]["bias"], padding=2)))
  x = pool(act(ops.conv2d(x, p["conv2"]["kernel"], p["conv2"]["bias"])))
  x = x.reshape(x.shape[0], -1)
  x = act(x @ p["fc1"]["kernel"] + p["fc1"]["bias"])
  x = act(x @ p["fc2"]["kernel"] + p["fc2"]["bias"])
  return x @ p["fc3"]["kernel"] + p["fc3"]["bias"]


@pytest.mark.parametrize(
  "variant, act, mode", [(LeNetClassic, jax.nn.sigmoid, "avg"), (LeNetModern, jax.nn.relu, "max")]
)
def test_forward_pass_matches_hand_written_net(params, variant, act, mode):
  x = jax.random.uniform(jax.random.key(1), (3, 28, 28, 1))
  want = _by_hand(params, x, act, lambda v: ops.pool2d(v, 2, 2, mode=mode))
  variables = {"params": params}
  for conv_impl in ("flax", "scratch"):
    for pool_impl in ("flax", "scratch"):
      got = variant(conv_impl=conv_impl, pool_impl=pool_impl).apply(variables, x)
      np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("hw", [(12, 12), (12, 15), (13, 12)])
def test_smallest_input_is_12x12(hw):
  """12×12 is the smallest image every stage fits: conv1 12, pool1 6, conv2 2, pool2 1."""
  model = LeNetClassic()
  variables = model.init(jax.random.key(0), jnp.zeros((1, *hw, 1)))
  out = model.apply(variables, jnp.ones((2, *hw, 1)))
  assert out.shape == (2, 10) and bool(jnp.all(jnp.isfinite(out)))
  assert ops.summary(model, (1, *hw, 1)).layers[3].output_shape == (1, 1, 1, 16)


def test_other_input_sizes_and_channels():
  s = ops.summary(LeNetModern(num_classes=100), (2, 32, 32, 3))
  assert s.output_shape == (2, 100)
  assert s.layers[3].output_shape == (2, 6, 6, 16)
  assert s.layers[4].num_params == 16 * 6 * 6 * 120 + 120


@pytest.mark.parametrize(
  "shape, kwargs, message",
  [
    ((1, 8, 8, 1), {}, "at least 12×12"),
    ((1, 10, 10, 1), {}, "at least 12×12"),  # The minimum once stated; pool2 sees 1×1.
    ((1, 11, 11, 1), {}, "at least 12×12"),
    ((1, 12, 11, 1), {}, "at least 12×12"),
    ((1, 28, 28), {}, "NHWC"),
    ((1, 28, 28, 1), {"pool": "median"}, "valid pools"),
    ((1, 28, 28, 1), {"activation": "gelu"}, "valid activations"),
    ((1, 28, 28, 1), {"conv_impl": "cudnn"}, "valid: \\['flax', 'scratch'\\]"),
  ],
)
def test_bad_inputs_raise_clear_errors(shape, kwargs, message):
  with pytest.raises(ValueError, match=message):
    LeNet(**kwargs).init(jax.random.key(0), jnp.zeros(shape))
