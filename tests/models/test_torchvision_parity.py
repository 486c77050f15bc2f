"""Training-mode BatchNorm of the chapter-10 CNNs against PyTorch's, weight for weight.

The reference (tests/models/torch_reference.py) is a plain-PyTorch network with torchvision's
module names and layouts; its ``state_dict`` is loaded through
:mod:`jaxnets.models.torch_names`. Evaluation-mode outputs, in float64, and the conversions
both ways are tested with :mod:`jaxnets.interop` (tests/interop/test_convert.py). PyTorch is
an optional test dependency; without it these tests skip.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from jaxnets import models  # noqa: E402
from jaxnets.models import torch_names  # noqa: E402
from tests.models import torch_reference  # noqa: E402


def _pair(name, make_reference, side, batch=2):
  torch.manual_seed(0)
  net = make_reference(num_classes=10).eval()
  torch_reference.randomize_batchnorm(net)
  model = models.get_model(name, num_classes=10)
  x = np.random.default_rng(0).normal(size=(batch, side, side, 3)).astype(np.float32)
  template = jax.eval_shape(model.init, jax.random.key(0), jnp.asarray(x))
  variables = torch_names.from_torch_state_dict(net.state_dict(), template)
  return net, model, variables, x


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
