"""The chapter-10 CNNs compute exactly what torchvision's networks compute, weight for weight.

The references (tests/models/torch_reference.py) are plain-PyTorch networks with
torchvision's module names and layouts. Their ``state_dict`` is loaded into the Flax model
through :mod:`jaxnets.models.torch_names`; the outputs must agree to float32 rounding. PyTorch
is an optional test dependency; without it these tests skip.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from jaxnets import models  # noqa: E402
from jaxnets.models import torch_names  # noqa: E402
from tests.models import torch_reference  # noqa: E402

# (jaxnets name, reference constructor, input side: odd sizes exercise ceil-mode pooling and
# adaptive pooling that upsamples).
CASES = [
  ("resnet18", torch_reference.resnet18, 64),
  ("resnet50", torch_reference.resnet50, 64),
  ("alexnet", torch_reference.alexnet, 96),
  ("vgg11_bn", torch_reference.vgg11_bn, 32),
  ("googlenet", torch_reference.googlenet, 75),
]


def _randomize_batchnorm(net):
  """Non-trivial running statistics and affine parameters, so evaluation mode is tested."""
  gen = torch.Generator().manual_seed(0)
  with torch.no_grad():
    for module in net.modules():
      if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.5, 0.5, generator=gen)
        module.running_var.uniform_(0.5, 2.0, generator=gen)
        module.weight.uniform_(0.5, 1.5, generator=gen)
        module.bias.uniform_(-0.5, 0.5, generator=gen)


def _pair(name, make_reference, side, batch=2):
  torch.manual_seed(0)
  net = make_reference(num_classes=10).eval()
  _randomize_batchnorm(net)
  model = models.get_model(name, num_classes=10)
  x = np.random.default_rng(0).normal(size=(batch, side, side, 3)).astype(np.float32)
  template = jax.eval_shape(model.init, jax.random.key(0), jnp.asarray(x))
  variables = torch_names.from_torch_state_dict(net.state_dict(), template)
  return net, model, variables, x


def _torch(net, x):
  with torch.no_grad():
    return net(torch.tensor(x).permute(0, 3, 1, 2)).numpy()


@pytest.mark.parametrize("name, make_reference, side", CASES, ids=[c[0] for c in CASES])
def test_outputs_equal_torchvision_layout_with_the_same_weights(name, make_reference, side):
  net, model, variables, x = _pair(name, make_reference, side)
  expected = _torch(net, x)
  got = np.asarray(jax.jit(model.apply)(variables, x))
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
  "name, make_reference, side", CASES[:1] + CASES[-1:], ids=["resnet18", "googlenet"]
)
def test_state_dict_round_trips_key_for_key(name, make_reference, side):
  net, _, variables, _ = _pair(name, make_reference, side)
  exported = torch_names.to_torch_state_dict(variables)
  reference = {k: v.numpy() for k, v in net.state_dict().items() if "num_batches" not in k}
  assert sorted(exported) == sorted(reference)
  for key, value in reference.items():
    np.testing.assert_array_equal(exported[key], value, err_msg=key)


def test_training_mode_batchnorm_matches_torch_and_its_unbiased_running_variance():
  # Batch statistics over 4 examples: layer4 sees 4 x 2 x 2 values per channel.
  net, model, variables, x = _pair("resnet18", torch_reference.resnet18, 64, batch=4)
  net.train()
  expected = net(torch.tensor(x).permute(0, 3, 1, 2)).detach().numpy()
  got, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
  # Both move the running mean by 0.1 of the batch mean; PyTorch's running variance uses the
  # unbiased batch variance (n / (n - 1)), Flax the biased one it also normalizes with.
  n = 4 * 32 * 32  # Examples x positions reduced by bn1 (the 7x7/2 stem halves 64 to 32).
  old = variables["batch_stats"]["bn1"]["var"]
  flax_var = np.asarray(updates["batch_stats"]["bn1"]["var"])
  torch_var = net.bn1.running_var.numpy()
  np.testing.assert_allclose(
    (torch_var - 0.9 * old) / 0.1, (flax_var - 0.9 * old) / 0.1 * n / (n - 1), rtol=1e-4
  )


def test_mismatched_state_dict_names_what_is_missing_and_unexpected():
  net = torch_reference.resnet18(num_classes=10)
  model = models.get_model("resnet34", num_classes=10)
  template = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
  with pytest.raises(ValueError, match=r"missing \['layer1.2.bn1.bias'"):
    torch_names.from_torch_state_dict(net.state_dict(), template)
