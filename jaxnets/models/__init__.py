"""Flax linen models and the ``get_model`` registry."""

from jaxnets.models.linear import LinearRegression, SoftmaxRegression, least_squares  # noqa: F401
from jaxnets.models.mlp import MLP  # noqa: F401
from jaxnets.models.registry import MODELS, get_model  # noqa: F401
