"""Flax linen models and the ``get_model`` registry.

The chapter-10 CNNs (torchvision's layouts) are in :mod:`~jaxnets.models.alexnet`,
:mod:`~jaxnets.models.vgg`, :mod:`~jaxnets.models.nin`, :mod:`~jaxnets.models.googlenet` and
:mod:`~jaxnets.models.resnet`; :mod:`~jaxnets.models.torch_names` maps their variables onto
torchvision's ``state_dict`` and :func:`layer_table` prints any model's per-layer table.
"""

from jaxnets.models.alexnet import AlexNet
from jaxnets.models.googlenet import GoogLeNet
from jaxnets.models.linear import LinearRegression, SoftmaxRegression, least_squares
from jaxnets.models.mlp import MLP
from jaxnets.models.nin import NiN
from jaxnets.models.registry import MODELS, get_model
from jaxnets.models.resnet import ResNet, ResNet18, ResNet34, ResNet50
from jaxnets.models.tables import layer_table
from jaxnets.models.vgg import VGG, VGG11, VGG16

__all__ = [
  "AlexNet",
  "GoogLeNet",
  "LinearRegression",
  "MLP",
  "MODELS",
  "NiN",
  "ResNet",
  "ResNet18",
  "ResNet34",
  "ResNet50",
  "SoftmaxRegression",
  "VGG",
  "VGG11",
  "VGG16",
  "get_model",
  "layer_table",
  "least_squares",
]
