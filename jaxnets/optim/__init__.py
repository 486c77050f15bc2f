"""Optimizers as Optax gradient transformations and the ``get_optimizer`` registry.

The course's optimizers are written from scratch in :mod:`jaxnets.optim.transforms` as
``scale_by_*`` transformations chained with :func:`scale_by_learning_rate`;
:mod:`jaxnets.optim.sweep` trains many models at once with ``jax.vmap``.
"""

from jaxnets.optim.registry import (  # noqa: F401
  CONVENTIONS,
  DEFAULTS,
  IMPLS,
  OPTAX_OPTIMIZERS,
  SCRATCH_OPTIMIZERS,
  VALID_COMBINATIONS,
  get_optimizer,
)
from jaxnets.optim.transforms import (  # noqa: F401
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
