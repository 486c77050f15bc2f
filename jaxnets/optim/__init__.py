"""Optimizers as Optax gradient transformations and the ``get_optimizer`` registry.

The course's optimizers are written from scratch in :mod:`jaxnets.optim.transforms`;
:mod:`jaxnets.optim.hyperparams` reads and sets their injected hyperparameters by name.
"""

from jaxnets.optim.hyperparams import (  # noqa: F401
  get_hyperparameter,
  hyperparameter_names,
  set_hyperparameters,
)
from jaxnets.optim.registry import (  # noqa: F401
  IMPLS,
  OPTAX_OPTIMIZERS,
  SCRATCH_OPTIMIZERS,
  get_optimizer,
)
from jaxnets.optim.transforms import (  # noqa: F401
  adadelta,
  adagrad,
  adam,
  momentum,
  rmsprop,
  sgd,
)
