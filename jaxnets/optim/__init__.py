"""Optimizers as Optax gradient transformations and the ``get_optimizer`` registry."""

from jaxnets.optim.registry import OPTAX_OPTIMIZERS, get_optimizer  # noqa: F401
