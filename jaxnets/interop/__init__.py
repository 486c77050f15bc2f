"""PyTorch weights in and out: torchvision ``state_dict`` ⇄ Flax variables, and weight files.

:func:`from_torch` / :func:`to_torch` convert between a torchvision-layout ``state_dict`` and
``{"params", "batch_stats"}`` of the jaxnets model of the same name
(:data:`TORCHVISION_MODELS`: AlexNet, VGG-11/16 with and without BatchNorm, GoogLeNet,
ResNet-18/34/50); :func:`load_state_dict` reads ``.safetensors`` files without torch and
``.pth``/``.pt`` files with it; :func:`load_variables` does both. ``python -m
experiments.convert_torch`` turns a weight file into a jaxnets checkpoint. See docs/interop.md.
"""

from jaxnets.interop.convert import TORCHVISION_MODELS, from_torch, to_torch, torch_shapes
from jaxnets.interop.files import load_state_dict, load_variables, save_safetensors

__all__ = [
  "TORCHVISION_MODELS",
  "from_torch",
  "load_state_dict",
  "load_variables",
  "save_safetensors",
  "to_torch",
  "torch_shapes",
]
