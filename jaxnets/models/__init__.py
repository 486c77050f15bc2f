"""Flax linen models and the ``get_model`` registry."""

from jaxnets.models.linear import LinearRegression, SoftmaxRegression, least_squares
from jaxnets.models.mlp import MLP
from jaxnets.models.registry import MODELS, get_model

__all__ = [
  "LinearRegression",
  "MLP",
  "MODELS",
  "SoftmaxRegression",
  "get_model",
  "least_squares",
]
