"""The optimizer registry: explicit dicts from names to Optax gradient transformations."""

from typing import Any, Callable

import optax

# Optax's built-ins, named as the course names them.
OPTAX_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "sgd": optax.sgd,
    "momentum": lambda learning_rate, momentum=0.9, **kw: optax.sgd(
        learning_rate, momentum=momentum, **kw),
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
    "adadelta": optax.adadelta,
    "adam": optax.adam,
    "adamw": optax.adamw,
}


def _check_learning_rate(learning_rate: Any) -> None:
  if callable(learning_rate):  # A schedule.
    return
  if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
    raise ValueError(f"learning_rate must be a positive number or a schedule, got "
                     f"{learning_rate!r}.")


def get_optimizer(name: str, learning_rate: Any, **kwargs: Any) -> optax.GradientTransformation:
  """Builds an optimizer whose hyperparameters live in its state.

  The transformation is wrapped in ``optax.inject_hyperparams``, so
  ``opt_state.hyperparams["learning_rate"]`` can be read and changed between jitted steps
  without recompiling.

  Args:
    name: a key of :data:`OPTAX_OPTIMIZERS`.
    learning_rate: a positive float or an Optax schedule.
    **kwargs: the optimizer's other hyperparameters (``momentum=0.9``, ``b1=0.9``, ...).

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = get_optimizer("adam", 1e-3)
    >>> state = opt.init({"w": jnp.zeros(3)})
    >>> float(state.hyperparams["learning_rate"])
    0.001
  """
  if name not in OPTAX_OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {name!r}; valid optimizers: {sorted(OPTAX_OPTIMIZERS)}.")
  _check_learning_rate(learning_rate)
  factory = OPTAX_OPTIMIZERS[name]
  try:
    return optax.inject_hyperparams(factory)(learning_rate=learning_rate, **kwargs)
  except TypeError as err:
    raise ValueError(f"Bad hyperparameters {sorted(kwargs)} for optimizer {name!r}: {err}") from err
