"""torchvision state dicts in and out: the same outputs as PyTorch, exact round trips, errors.

The references (tests/models/torch_reference.py) are plain-PyTorch networks with
torchvision's module names and layouts (torchvision itself has no CPU build here). PyTorch is
optional: the tests that need it skip without it; the others build state dicts from
:func:`jaxnets.interop.torch_shapes`.
"""

import functools
import warnings

import jax
import numpy as np
import pytest

from jaxnets import interop, models

# (model, input side, hidden width of VGG's/AlexNet's classifier or None for the published
# one). The convolutions are full width; the classifiers' 4096-wide hidden layers are narrowed
# (their flatten order is unchanged) to keep float64 copies of VGG at megabytes, not
# gigabytes. Odd sides exercise ceil-mode and upsampling adaptive pooling.
CASES = {
  "resnet18": (64, None),
  "resnet50": (64, None),
  "vgg11": (32, 64),
  "vgg11_bn": (32, 64),
  "alexnet": (96, 64),
  "googlenet": (75, None),
}
CLASSES = 10


def _random_state_dict(model, seed=0, **model_kwargs):
  rng = np.random.default_rng(seed)
  shapes = interop.torch_shapes(model, **model_kwargs)
  return {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}


def _narrow_classifier(torch, net, hidden):
  """Replaces the classifier's linear layers by ``in -> hidden -> hidden -> classes`` ones."""
  linears = [i for i, m in enumerate(net.classifier) if isinstance(m, torch.nn.Linear)]
  sizes = [net.classifier[linears[0]].in_features, hidden, hidden, CLASSES]
  for i, n_in, n_out in zip(linears, sizes[:-1], sizes[1:], strict=True):
    net.classifier[i] = torch.nn.Linear(n_in, n_out)


@functools.cache
def _reference(name):
  """A float64 reference network in eval mode with random weights and BatchNorm statistics."""
  torch = pytest.importorskip("torch")
  from tests.models import torch_reference

  side, hidden = CASES[name]
  torch.manual_seed(0)
  net = getattr(torch_reference, name)(num_classes=CLASSES)
  if hidden is not None:
    _narrow_classifier(torch, net, hidden)
  torch_reference.randomize_batchnorm(net)
  net = net.double().eval()
  x = np.random.default_rng(0).normal(size=(2, side, side, 3))
  with torch.no_grad():
    expected = net(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
  return net, x, expected


def _kwargs(name):
  hidden = CASES[name][1]
  return {"dtype": "float64", "param_dtype": "float64", **({"hidden": hidden} if hidden else {})}


@pytest.mark.parametrize("name", list(CASES))
def test_same_outputs_as_pytorch_in_float64(name):
  net, x, expected = _reference(name)
  with jax.enable_x64(True):
    variables = interop.from_torch(net.state_dict(), name, **_kwargs(name))
    model = models.get_model(name, num_classes=CLASSES, **_kwargs(name))
    got = np.asarray(jax.jit(model.apply)(variables, x))
  leaves = jax.tree_util.tree_leaves(variables)
  assert got.dtype == np.float64 and {a.dtype for a in leaves} == {np.dtype("float64")}
  np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)  # Every logit, relative.


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn", "googlenet"])
def test_to_torch_of_from_torch_returns_the_state_dict(name):
  net, _, _ = _reference(name)
  # In float32, as torchvision's weights are (Flax keeps BatchNorm statistics in float32).
  state_dict = {k: v.float() for k, v in net.state_dict().items() if "num_batches" not in k}
  hidden = {"hidden": CASES[name][1]} if CASES[name][1] else {}
  back = interop.to_torch(interop.from_torch(state_dict, name, **hidden), name, **hidden)
  assert list(back) == list(state_dict)  # torchvision's keys in torchvision's order.
  for key, value in state_dict.items():
    assert back[key].dtype == np.float32, key
    np.testing.assert_array_equal(back[key], value.numpy(), err_msg=key)


def test_pytorch_loads_to_torch_strictly_and_computes_the_same():
  torch = pytest.importorskip("torch")
  from tests.models import torch_reference

  net, x, expected = _reference("resnet18")
  with jax.enable_x64(True):
    variables = interop.from_torch(net.state_dict(), "resnet18", **_kwargs("resnet18"))
    exported = interop.to_torch(variables, "resnet18", **_kwargs("resnet18"))
  fresh = torch_reference.resnet18(num_classes=CLASSES).double().eval()
  fresh.load_state_dict({k: torch.from_numpy(v) for k, v in exported.items()}, strict=True)
  with torch.no_grad():
    got = fresh(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
  np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", interop.TORCHVISION_MODELS)
def test_keys_and_shapes_are_torchvisions_at_full_size(name):
  torch = pytest.importorskip("torch")
  from tests.models import torch_reference

  with torch.device("meta"):  # Shapes only: VGG-16's 138M parameters take no memory.
    net = getattr(torch_reference, name)()
  expected = {k: tuple(v.shape) for k, v in net.state_dict().items() if "num_batches" not in k}
  shapes = interop.torch_shapes(name)
  assert list(shapes) == list(expected)
  assert shapes == expected


def test_round_trip_without_torch_keeps_keys_values_and_dtypes():
  state_dict = _random_state_dict("resnet18", num_classes=CLASSES)
  state_dict["bn1.num_batches_tracked"] = np.array(7, np.int64)  # Skipped on the way in.
  variables = interop.from_torch(state_dict, "resnet18")
  assert variables["params"]["fc"]["kernel"].shape == (512, CLASSES)
  np.testing.assert_array_equal(
    variables["params"]["conv1"]["kernel"],
    np.transpose(state_dict["conv1.weight"], (2, 3, 1, 0)),
  )
  np.testing.assert_array_equal(
    variables["batch_stats"]["bn1"]["var"], state_dict["bn1.running_var"]
  )
  back = interop.to_torch(variables, "resnet18")
  del state_dict["bn1.num_batches_tracked"]
  assert list(back) == list(state_dict)
  for key, value in state_dict.items():
    assert back[key].dtype == value.dtype
    np.testing.assert_array_equal(back[key], value, err_msg=key)


def test_classes_and_input_channels_are_read_from_the_state_dict():
  state_dict = _random_state_dict("vgg11", num_classes=7, in_channels=1, hidden=16)
  variables = interop.from_torch(state_dict, "vgg11", hidden=16)
  assert variables["params"]["features_0"]["kernel"].shape == (3, 3, 1, 64)
  assert variables["params"]["classifier_0"]["kernel"].shape == (512 * 7 * 7, 16)
  assert variables["params"]["classifier_6"]["kernel"].shape == (16, 7)
  assert variables["batch_stats"] == {}  # VGG-11 has no BatchNorm.


def test_param_dtype_sets_the_dtype_of_the_variables():
  state_dict = _random_state_dict("resnet18", num_classes=CLASSES)
  variables = interop.from_torch(state_dict, "resnet18", param_dtype="bfloat16")
  dtypes = {leaf.dtype for leaf in jax.tree_util.tree_leaves(variables["params"])}
  assert dtypes == {np.dtype("bfloat16")}
  assert variables["batch_stats"]["bn1"]["mean"].dtype == np.float32  # As Flax keeps them.
  # float64 only under x64 (as JAX gives), whichever came first (templates are cached).
  for x64, expected in ((True, "float64"), (False, "float32"), (True, "float64")):
    with jax.enable_x64(x64), warnings.catch_warnings():
      warnings.filterwarnings("ignore", "Explicitly requested dtype float64")  # JAX's, no x64.
      variables = interop.from_torch(state_dict, "resnet18", param_dtype="float64")
    dtypes = {leaf.dtype for leaf in jax.tree_util.tree_leaves(variables)}
    assert dtypes == {np.dtype(expected)}


@pytest.fixture(scope="module")
def resnet18_state_dict():
  return _random_state_dict("resnet18", num_classes=CLASSES)


def test_missing_and_unexpected_keys_are_named(resnet18_state_dict):
  state_dict = dict(resnet18_state_dict)
  del state_dict["layer3.1.bn2.running_var"]
  state_dict["fc.extra"] = np.zeros(3, np.float32)
  with pytest.raises(ValueError) as err:
    interop.from_torch(state_dict, "resnet18")
  message = str(err.value)
  assert "missing keys ['layer3.1.bn2.running_var']" in message
  assert "unexpected keys ['fc.extra']" in message and "resnet18 (10 classes" in message


def test_a_shape_mismatch_names_the_key_and_both_shapes(resnet18_state_dict):
  state_dict = dict(resnet18_state_dict, **{"conv1.weight": np.zeros((64, 3, 3, 3), np.float32)})
  with pytest.raises(
    ValueError, match=r"conv1.weight: state_dict \(64, 3, 3, 3\), model \(64, 3, 7, 7\)"
  ):
    interop.from_torch(state_dict, "resnet18")
  # The 3x3 stem is jaxnets' small-input ResNet: named as a field, it loads.
  variables = interop.from_torch(state_dict, "resnet18", small_input=True)
  assert variables["params"]["conv1"]["kernel"].shape == (3, 3, 3, 64)


def test_another_models_state_dict_is_refused_naming_its_keys(resnet18_state_dict):
  with pytest.raises(ValueError, match=r"missing keys \['layer1.2.conv1.weight', .* and \d+ more"):
    interop.from_torch(resnet18_state_dict, "resnet34")
  variables = interop.from_torch(resnet18_state_dict, "resnet18")
  with pytest.raises(
    ValueError,
    match=r"The variables and torchvision's resnet50 \(10 classes.*\) differ: missing keys",
  ):
    interop.to_torch(variables, "resnet50")


def test_bad_arguments_say_what_is_valid(resnet18_state_dict):
  with pytest.raises(
    ValueError, match=r"No torchvision layout for model 'nin'; valid models: \['alexnet'"
  ):
    interop.from_torch(resnet18_state_dict, "nin")
  with pytest.raises(TypeError, match=r"state_dict\['fc.bias'\] is a list"):
    interop.from_torch(dict(resnet18_state_dict, **{"fc.bias": [0.0] * 10}), "resnet18")
  with pytest.raises(TypeError, match="must be a mapping"):
    interop.from_torch(list(resnet18_state_dict.values()), "resnet18")
  with pytest.raises(TypeError, match=r"with 'params'.*got \['fc'\]"):
    interop.to_torch({"fc": {}}, "resnet18")
