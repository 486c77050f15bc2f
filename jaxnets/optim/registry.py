"""The optimizer registry: explicit dicts from names to Optax gradient transformations.

Two implementations share the names: ``impl="optax"`` (Optax's built-ins) and
``impl="scratch"`` (the from-scratch transforms of :mod:`jaxnets.optim.transforms`, with the
course's default hyperparameters).
"""

from typing import Any, Callable

import optax

from jaxnets.optim import transforms

# Optax's built-ins, named as the course names them.
OPTAX_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
  "sgd": optax.sgd,
  # No **kwargs here: inject_hyperparams would pass them on as a keyword named "kw".
  "momentum": lambda learning_rate, momentum=0.9, nesterov=False: optax.sgd(
    learning_rate, momentum=momentum, nesterov=nesterov
  ),
  "adagrad": optax.adagrad,
  "rmsprop": optax.rmsprop,
  "adadelta": optax.adadelta,
  "adam": optax.adam,
  "adamw": optax.adamw,
}

# The from-scratch implementations (jaxnets.optim.transforms).
SCRATCH_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = dict(
  transforms.SCRATCH_OPTIMIZERS
)

IMPLS: dict[str, dict[str, Callable[..., optax.GradientTransformation]]] = {
  "optax": OPTAX_OPTIMIZERS,
  "scratch": SCRATCH_OPTIMIZERS,
}

# Hyperparameters validated by name for both implementations.
_DECAYS = ("momentum", "b1", "b2", "decay", "rho")
_EPSILONS = ("eps",)


def _check_learning_rate(learning_rate: Any) -> None:
  if callable(learning_rate):  # A schedule.
    return
  if (
    isinstance(learning_rate, bool)
    or not isinstance(learning_rate, (int, float))
    or not learning_rate > 0
    or learning_rate == float("inf")
  ):
    raise ValueError(
      f"learning_rate must be a positive number or a schedule, got {learning_rate!r}."
    )


def _check_hyperparameters(kwargs: dict[str, Any]) -> None:
  for key in _DECAYS:
    if kwargs.get(key) is not None and not callable(kwargs[key]):
      transforms.check_decay(kwargs[key], key)
  for key in _EPSILONS:
    if kwargs.get(key) is not None and not callable(kwargs[key]):
      transforms.check_positive(kwargs[key], key)


def get_optimizer(
  name: str, learning_rate: Any, *, impl: str = "optax", **kwargs: Any
) -> optax.GradientTransformation:
  """Builds an optimizer whose hyperparameters live in its state.

  The transformation is wrapped in ``optax.inject_hyperparams``, so
  ``opt_state.hyperparams["learning_rate"]`` can be read and changed between jitted steps
  without recompiling.

  Args:
    name: a key of :data:`OPTAX_OPTIMIZERS` (``impl="optax"``) or of
      :data:`SCRATCH_OPTIMIZERS` (``impl="scratch"``).
    learning_rate: a positive float or an Optax schedule.
    impl: ``"optax"`` (Optax's built-ins) or ``"scratch"`` (jaxnets' from-scratch
      transforms, whose defaults follow the course; see ``docs/optimizers.md``).
    **kwargs: the optimizer's other hyperparameters (``momentum=0.9``, ``b1=0.9``, ...).
      Decay rates (``momentum``, ``b1``, ``b2``, ``decay``, ``rho``) must lie in [0, 1) and
      ``eps`` must be positive.

  Returns:
    An ``optax.GradientTransformation``.

  Raises:
    ValueError: unknown name or impl, a non-positive learning rate, or bad hyperparameters.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = get_optimizer("adam", 1e-3)
    >>> state = opt.init({"w": jnp.zeros(3)})
    >>> round(float(state.hyperparams["learning_rate"]), 6)
    0.001
    >>> opt = get_optimizer("adagrad", 0.1, impl="scratch")
    >>> float(opt.init({"w": jnp.zeros(3)}).hyperparams["initial_accumulator_value"])
    0.0
  """
  if impl not in IMPLS:
    raise ValueError(f"Unknown optimizer impl {impl!r}; valid impls: {sorted(IMPLS)}.")
  table = IMPLS[impl]
  if name not in table:
    raise ValueError(
      f"Unknown optimizer {name!r}; valid optimizers: {sorted(table)} (impl={impl!r})."
    )
  _check_learning_rate(learning_rate)
  _check_hyperparameters(kwargs)
  factory = table[name]
  try:
    return optax.inject_hyperparams(factory)(learning_rate=learning_rate, **kwargs)
  except TypeError as err:
    raise ValueError(
      f"Bad hyperparameters {sorted(kwargs)} for optimizer {name!r} (impl={impl!r}): {err}"
    ) from err
