"""Reading and changing an optimizer's hyperparameters by name, inside its state.

``jaxnets.optim.get_optimizer`` wraps every optimizer in ``optax.inject_hyperparams``, so its
hyperparameters (learning rate, momentum, ...) are leaves of the optimizer state. Code that
changes one finds it by name with ``optax.tree_utils.tree_set``, never by its position in the
state, and gets a new state back (states are never mutated in place). A stacked state (the
states of N models trained together, every leaf with a leading axis N) takes one value per
model.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike


def hyperparameter_names(opt_state: optax.OptState) -> list[str]:
  """The names of the injected hyperparameters found anywhere in ``opt_state`` (sorted).

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("momentum", 0.1).init({"w": jnp.zeros(2)})
    >>> hyperparameter_names(state)
    ['learning_rate', 'momentum']
  """
  names = set()
  for path, _ in jax.tree_util.tree_flatten_with_path(opt_state)[0]:
    for parent, entry in zip(path[:-1], path[1:], strict=True):
      if getattr(parent, "name", None) == "hyperparams" and hasattr(entry, "key"):
        names.add(str(entry.key))
  return sorted(names)


def get_hyperparameter(opt_state: optax.OptState, name: str) -> jax.Array:
  """The value of the injected hyperparameter ``name`` (raises a clear error when absent).

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("adam", 1e-3).init({"w": jnp.zeros(2)})
    >>> round(float(get_hyperparameter(state, "learning_rate")), 6)
    0.001
  """
  _check_names(opt_state, [name])
  return optax.tree_utils.tree_get(opt_state, name)


def set_hyperparameters(opt_state: optax.OptState, **values: ArrayLike) -> optax.OptState:
  """A copy of ``opt_state`` with the named injected hyperparameters set to ``values``.

  Each value keeps the stored dtype (float32) and is broadcast to the stored shape: a scalar
  for one model, or ``[N]`` values for the stacked states of N models.

  Raises:
    ValueError: a name that is not an injected hyperparameter of this state (the valid names
      are listed), or a value that does not fit the stored shape.

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("sgd", 0.1).init({"w": jnp.zeros(2)})
    >>> state = set_hyperparameters(state, learning_rate=0.5)
    >>> float(get_hyperparameter(state, "learning_rate"))
    0.5
  """
  _check_names(opt_state, list(values))
  cast = {}
  for name, value in values.items():
    old = optax.tree_utils.tree_get(opt_state, name)
    try:
      cast[name] = jnp.broadcast_to(jnp.asarray(value, old.dtype), old.shape)
    except ValueError as err:
      raise ValueError(
        f"Hyperparameter {name!r} is stored with shape {old.shape}; a value of shape "
        f"{jnp.shape(value)} does not fit it."
      ) from err
  return optax.tree_utils.tree_set(opt_state, **cast)


def _check_names(opt_state: Any, names: list[str]) -> None:
  valid = hyperparameter_names(opt_state)
  unknown = [n for n in names if n not in valid]
  if unknown:
    raise ValueError(
      f"The optimizer state has no injected hyperparameter {unknown[0]!r}; its "
      f"hyperparameters are {valid} (optimizers from jaxnets.optim.get_optimizer inject all "
      "of theirs)."
    )
