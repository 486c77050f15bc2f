"""The model registry: an explicit dict from names to linen module classes (or partials)."""

from typing import Any, Callable

import flax.linen as nn

from jaxnets.models.deep import DeepMLP
from jaxnets.models.lenet import LeNetClassic, LeNetModern
from jaxnets.models.linear import LinearRegression, SoftmaxRegression
from jaxnets.models.mlp import MLP
from jaxnets.models.mnist1d import MNIST1DCNN, MNIST1DMLP, MNIST1DLogistic

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
