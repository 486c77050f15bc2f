"""The chapter-10 CNNs: torchvision's parameter counts and layouts, the course's variants,
BatchNorm in training and evaluation, mixed precision, and clear errors."""

import functools

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import losses, models
from jaxnets.models import blocks, resnet, torch_names
from jaxnets.params import count_params
from jaxnets.train import steps
from jaxnets.train.state import TrainState

# torchvision's counts (3x224x224 input, 1000 classes); the _bn ones as its vgg*_bn.
TORCHVISION_PARAMS = {
  "resnet18": 11_689_512,
  "resnet34": 21_797_672,
  "resnet50": 25_557_032,
  "vgg11": 132_863_336,
  "vgg16": 138_357_544,
  "vgg11_bn": 132_868_840,
  "vgg16_bn": 138_365_992,
  "alexnet": 61_100_840,
  "googlenet": 6_624_904,
}
# The course's networks: 1-channel Fashion-MNIST resized as the course does, 10 classes.
COURSE_INPUTS = {
  "alexnet_course": (224, 46_764_746),
  "vgg11": (224, 128_806_154),
  "nin": (224, 1_992_166),
  "googlenet_course": (96, 5_977_530),
  "resnet18": (96, 11_175_370),
}


def _shapes(model, shape):
  """Abstract variables and output of a model on zeros of ``shape`` (nothing computed)."""
  x = jnp.zeros(shape)
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  return variables, jax.eval_shape(functools.partial(model.apply, train=False), variables, x)


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_imagenet_configuration_has_torchvisions_parameter_count(name):
  variables, out = _shapes(models.get_model(name), (1, 224, 224, 3))
  assert count_params(variables["params"]) == TORCHVISION_PARAMS[name]
  assert out.shape == (1, 1000)


@pytest.mark.parametrize("name", sorted(COURSE_INPUTS))
def test_course_configuration_builds_on_one_channel_input(name):
  size, num_params = COURSE_INPUTS[name]
  variables, out = _shapes(models.get_model(name, num_classes=10), (2, size, size, 1))
  assert out.shape == (2, 10)
  assert count_params(variables["params"]) == num_params


def test_variants_are_partials_of_one_class():
  for name, cls in (
    ("resnet18", resnet.ResNet),
    ("resnet50", resnet.ResNet),
    ("vgg16", models.vgg.VGG),
    ("googlenet_course", models.googlenet.GoogLeNet),
    ("alexnet_course", models.alexnet.AlexNet),
  ):
    assert type(models.get_model(name)) is cls, name


def test_resnet_stages_halve_resolution_and_double_width():
  model = models.get_model("resnet18")
  x = jnp.zeros((1, 224, 224, 3))
  variables = jax.eval_shape(model.init, jax.random.key(0), x)
  _, state = jax.eval_shape(
    lambda v: model.apply(v, x, capture_intermediates=True, mutable=["intermediates"]), variables
  )
  shapes = {k: v["__call__"][0].shape for k, v in state["intermediates"].items() if "layer" in k}
  assert shapes["layer1_1"] == (1, 56, 56, 64)
  assert shapes["layer2_0"] == (1, 28, 28, 128)
  assert shapes["layer3_1"] == (1, 14, 14, 256)
  assert shapes["layer4_1"] == (1, 7, 7, 512)


def test_small_input_stem_keeps_32x32_resolution():
  model = models.get_model("resnet18", num_classes=10, small_input=True, width_multiplier=0.25)
  variables, out = _shapes(model, (2, 32, 32, 3))
  assert variables["params"]["conv1"]["kernel"].shape == (3, 3, 3, 16)
  assert out.shape == (2, 10)


def test_strided_convolutions_pad_symmetrically_as_torchvision():
  """A 3x3 stride-2 convolution with padding 1 on both sides, not Flax's "SAME" (0, 1)."""
  conv = blocks.Layers().conv(4, 3, 2, 1, use_bias=False)
  x = jax.random.normal(jax.random.key(0), (1, 8, 8, 2))
  variables = conv.init(jax.random.key(1), x)
  kernel = variables["params"]["kernel"]
  dims = ("NHWC", "HWIO", "NHWC")
  symmetric = jax.lax.conv_general_dilated(
    x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=dims
  )
  same = jax.lax.conv_general_dilated(x, kernel, (2, 2), "SAME", dimension_numbers=dims)
  np.testing.assert_allclose(conv.apply(variables, x), symmetric, rtol=1e-6, atol=1e-6)
  assert not np.allclose(symmetric, same, atol=1e-3)


def _tiny_resnet(**kw):
  """Two stages of one basic block, 4 and 8 channels: BatchNorm everywhere, quick to compile."""
  fields = {"num_classes": 3, "small_input": True, "num_filters": 4, "stage_sizes": (1, 1), **kw}
  return models.get_model("resnet18", **fields)


def _variables(model, x):
  """The engine's initialization (compiled quickly on CPU)."""
  state = TrainState.create(
    model=model, tx=optax.sgd(0.1), loss_fn=losses.softmax_cross_entropy, seed=1, sample_x=x[:1]
  )
  return state.variables()


def _jit_apply(model, **kw):
  return jax.jit(functools.partial(model.apply, **kw))


def test_batchnorm_statistics_move_in_training_and_are_used_in_evaluation():
  model = _tiny_resnet()
  x = jax.random.normal(jax.random.key(0), (8, 16, 16, 3)) * 2.0 + 1.0
  variables = _variables(model, x)
  train = _jit_apply(model, train=True, mutable=["batch_stats"])
  evaluate = _jit_apply(model)
  _, updates = train(variables, x)
  before = variables["batch_stats"]["bn1"]
  after = updates["batch_stats"]["bn1"]
  assert not np.allclose(before["mean"], after["mean"])
  assert not np.allclose(before["var"], after["var"])
  # Momentum 0.9 (PyTorch's 0.1): one step moves the running mean a tenth of the way.
  _, inter = _jit_apply(model, mutable=["intermediates"], capture_intermediates=True)(variables, x)
  conv1 = inter["intermediates"]["conv1"]["__call__"][0]
  np.testing.assert_allclose(after["mean"], 0.1 * conv1.mean((0, 1, 2)), rtol=1e-4, atol=1e-6)
  # Evaluation normalizes with the running statistics, so it depends on them; training does not.
  moved = {"params": variables["params"], "batch_stats": updates["batch_stats"]}
  assert not np.allclose(evaluate(variables, x), evaluate(moved, x), atol=1e-4)
  np.testing.assert_allclose(train(variables, x)[0], train(moved, x)[0], rtol=1e-5, atol=1e-6)


def test_mixed_precision_keeps_parameters_statistics_and_loss_in_float32():
  model = _tiny_resnet(dtype="bfloat16")
  x = jax.random.normal(jax.random.key(0), (8, 16, 16, 3))
  y = jnp.arange(8) % 3
  state = TrainState.create(
    model=model,
    tx=optax.adam(1e-3),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=x[:1],
  )
  dtypes = {a.dtype for a in jax.tree_util.tree_leaves((state.params, state.batch_stats))}
  assert dtypes == {jnp.dtype("float32")}
  half = _jit_apply(model)(state.variables(), x)
  assert half.dtype == jnp.bfloat16  # Computed in bfloat16.
  new, metrics = jax.jit(steps.train_step)(state, {"x": x, "y": y})
  assert metrics["loss"].dtype == jnp.float32 and np.isfinite(metrics["loss"])
  dtypes = {a.dtype for a in jax.tree_util.tree_leaves((new.params, new.batch_stats))}
  assert dtypes == {jnp.dtype("float32")}
  # bfloat16 has 8 significant bits: the logits agree with float32 to about 1e-2.
  full = _jit_apply(_tiny_resnet())(state.variables(), x)
  np.testing.assert_allclose(
    half.astype(jnp.float32), full, atol=0.05 * float(jnp.abs(full).max()) + 1e-3
  )


@pytest.mark.parametrize(
  "kwargs, message",
  [
    ({"dtype": "int8"}, "dtype must be one of"),
    ({"width_multiplier": 0.0}, "width_multiplier must be positive"),
    ({"num_classes": 0}, "num_classes must be a positive int"),
  ],
)
def test_bad_fields_are_named(kwargs, message):
  with pytest.raises(ValueError, match=message):
    _tiny_resnet(**kwargs).init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))


def test_grayscale_images_without_channel_axis_are_rejected_clearly():
  with pytest.raises(ValueError, match=r"NHWC images.*x\[\.\.\., None\]"):
    models.get_model("nin", num_classes=10).init(jax.random.key(0), jnp.zeros((1, 224, 224)))


@pytest.mark.parametrize(
  "name, kwargs, message",
  [
    ("alexnet", {"widths": (8, 8)}, "five convolutions"),
    ("vgg11", {"arch": ()}, "non-empty list"),
    ("nin", {"widths": (8,)}, "three feature blocks"),
    ("googlenet", {"third_kernel": 7}, "third_kernel must be 3 or 5"),
  ],
)
def test_bad_architecture_fields_are_named(name, kwargs, message):
  with pytest.raises(ValueError, match=message):
    models.get_model(name, **kwargs).init(jax.random.key(0), jnp.zeros((1, 224, 224, 3)))


def test_layer_names_map_one_to_one_onto_torchvision_keys():
  variables, _ = _shapes(models.get_model("resnet50"), (1, 224, 224, 3))
  flat = flax.traverse_util.flatten_dict(variables)
  keys = [torch_names.torch_key(path) for path in flat]
  assert len(set(keys)) == len(keys) == 267  # torchvision's 320 keys less 53 num_batches_tracked.
  assert "layer2.0.downsample.1.running_var" in keys and "fc.weight" in keys
  variables, _ = _shapes(models.get_model("googlenet"), (1, 224, 224, 3))
  keys = {torch_names.torch_key(p) for p in flax.traverse_util.flatten_dict(variables)}
  assert {"conv1.conv.weight", "inception3a.branch4.1.bn.running_mean", "fc.bias"} <= keys
