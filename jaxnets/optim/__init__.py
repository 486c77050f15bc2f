"""Optimizers as Optax gradient transformations and the ``get_optimizer`` registry.

The course's optimizers are written from scratch in :mod:`jaxnets.optim.transforms` as
``scale_by_*`` transformations chained with :func:`scale_by_learning_rate`;
:mod:`jaxnets.optim.hyperparams` reads and sets their injected hyperparameters by name.
"""

from jaxnets.optim.hyperparams import (
  get_hyperparameter,
  hyperparameter_names,
  map_hyperparameter,
  set_hyperparameters,
)
from jaxnets.optim.registry import (
  CONVENTIONS,
  DEFAULTS,
  IMPLS,
  OPTAX_OPTIMIZERS,
  SCRATCH_OPTIMIZERS,
  VALID_COMBINATIONS,
  get_optimizer,
)
from jaxnets.optim.switch import switch
from jaxnets.optim.transforms import (
  adadelta,
  adagrad,
  adam,
  momentum,
  rmsprop,
  scale_by_adadelta,
  scale_by_adam,
  scale_by_learning_rate,
  scale_by_momentum,
  scale_by_rms,
  scale_by_rss,
  sgd,
)

__all__ = [
  "CONVENTIONS",
  "DEFAULTS",
  "IMPLS",
  "OPTAX_OPTIMIZERS",
  "SCRATCH_OPTIMIZERS",
  "VALID_COMBINATIONS",
  "adadelta",
  "adagrad",
  "adam",
  "get_hyperparameter",
  "get_optimizer",
  "hyperparameter_names",
  "map_hyperparameter",
  "momentum",
  "rmsprop",
  "scale_by_adadelta",
  "scale_by_adam",
  "scale_by_learning_rate",
  "scale_by_momentum",
  "scale_by_rms",
  "scale_by_rss",
  "set_hyperparameters",
  "sgd",
  "switch",
]
