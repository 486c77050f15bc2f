"""The model registry: an explicit dict from names to linen module classes (or partials)."""

from typing import Any, Callable

import flax.linen as nn

from jaxnets.models.alexnet import AlexNet, AlexNetCourse
from jaxnets.models.deep import DeepMLP
from jaxnets.models.googlenet import GoogLeNet, GoogLeNetCourse
from jaxnets.models.lenet import LeNetClassic, LeNetModern
from jaxnets.models.linear import LinearRegression, SoftmaxRegression
from jaxnets.models.mlp import MLP
from jaxnets.models.mnist1d import MNIST1DCNN, MNIST1DMLP, MNIST1DLogistic
from jaxnets.models.nin import NiN
from jaxnets.models.resnet import ResNet18, ResNet34, ResNet50
from jaxnets.models.vgg import VGG11, VGG11BN, VGG16, VGG16BN

MODELS: dict[str, Callable[..., nn.Module]] = {
  "linear": LinearRegression,
  "softmax": SoftmaxRegression,
  "mlp": MLP,
  "mnist1d_logistic": MNIST1DLogistic,
  "mnist1d_mlp": MNIST1DMLP,
  "mnist1d_cnn": MNIST1DCNN,
  "deep_mlp": DeepMLP,
  "lenet": LeNetClassic,
  "lenet_modern": LeNetModern,
  # Course chapter 10: torchvision's layouts, and the course's where it differs.
  "alexnet": AlexNet,
  "alexnet_course": AlexNetCourse,
  "vgg11": VGG11,
  "vgg16": VGG16,
  "vgg11_bn": VGG11BN,
  "vgg16_bn": VGG16BN,
  "nin": NiN,
  "googlenet": GoogLeNet,
  "googlenet_course": GoogLeNetCourse,
  "resnet18": ResNet18,
  "resnet34": ResNet34,
  "resnet50": ResNet50,
}


def get_model(name: str, **kwargs: Any) -> nn.Module:
  """Builds a registered model.

  Args:
    name: a key of :data:`MODELS`.
    **kwargs: the module's attributes (e.g. ``num_classes=10``).

  Returns:
    An unbound linen module.

  Example:
    >>> get_model("mlp", hidden=(64,), num_classes=10).hidden
    (64,)
  """
  if name not in MODELS:
    raise ValueError(f"Unknown model {name!r}; valid models: {sorted(MODELS)}.")
  try:
    return MODELS[name](**kwargs)
  except TypeError as err:
    raise ValueError(f"Bad arguments {sorted(kwargs)} for model {name!r}: {err}") from err
