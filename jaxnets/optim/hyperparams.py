"""Reading and changing an optimizer's hyperparameters by name, inside its state.

``jaxnets.optim.get_optimizer`` wraps every optimizer in ``optax.inject_hyperparams``, so its
hyperparameters (learning rate, momentum, ...) are leaves of the optimizer state. Code that
changes one finds it by name (an entry of a ``hyperparams`` dict), never by its position in
the state, and gets a new state back (states are never mutated in place). A stacked state (the
states of N models trained together, every leaf with a leading axis N) takes one value per
model.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike


def _name_at(path: tuple) -> str | None:
  """The hyperparameter a leaf at ``path`` is (an entry of a ``hyperparams`` dict), or None."""
  for parent, entry in zip(path[:-1], path[1:], strict=True):
    if getattr(parent, "name", None) == "hyperparams" and hasattr(entry, "key"):
      return str(entry.key)
  return None


def _places(opt_state: optax.OptState, name: str) -> list[jax.Array]:
  """Every value stored for hyperparameter ``name`` (one per optimizer that has it)."""
  leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
  return [leaf for path, leaf in leaves if _name_at(path) == name]


def hyperparameter_names(opt_state: optax.OptState) -> list[str]:
  """The names of the injected hyperparameters found anywhere in ``opt_state`` (sorted).

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("momentum", 0.1).init({"w": jnp.zeros(2)})
    >>> hyperparameter_names(state)
    ['learning_rate', 'momentum']
  """
  paths = [path for path, _ in jax.tree_util.tree_flatten_with_path(opt_state)[0]]
  return sorted({n for n in map(_name_at, paths) if n is not None})


def get_hyperparameter(opt_state: optax.OptState, name: str) -> jax.Array:
  """The value of the injected hyperparameter ``name`` (raises a clear error when absent).

  The optimizers of a :func:`jaxnets.optim.switch` may each hold one of that name; their
  common value is returned (a ValueError if they differ).

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("adam", 1e-3).init({"w": jnp.zeros(2)})
    >>> round(float(get_hyperparameter(state, "learning_rate")), 6)
    0.001
  """
  _check_names(opt_state, [name])
  values = _places(opt_state, name)
  if any(not np.array_equal(values[0], v) for v in values[1:]):
    raise ValueError(
      f"The optimizers of this state hold different values of {name!r}: "
      f"{[np.asarray(v).tolist() for v in values]}."
    )
  return values[0]


def map_hyperparameter(
  opt_state: optax.OptState, name: str, fn: Callable[[jax.Array], ArrayLike]
) -> optax.OptState:
  """A copy of ``opt_state`` with every stored value ``v`` of ``name`` replaced by ``fn(v)``.

  ``fn`` sees each place on its own (the optimizers of a switch may store different values)
  and its result is stored in the place's dtype, in an array of its own (a state whose leaves
  shared an array could not be donated to a jitted step).

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_optimizer
    >>> state = get_optimizer("sgd", 0.1).init({"w": jnp.zeros(2)})
    >>> float(get_hyperparameter(map_hyperparameter(state, "learning_rate", lambda v: v * 3),
    ...                          "learning_rate"))
    0.3...
  """
  _check_names(opt_state, [name])

  def replace(path: tuple, leaf: Any) -> Any:
    return jnp.array(fn(leaf), leaf.dtype) if _name_at(path) == name else leaf

  return jax.tree_util.tree_map_with_path(replace, opt_state)


def set_hyperparameters(opt_state: optax.OptState, **values: ArrayLike) -> optax.OptState:
  """A copy of ``opt_state`` with the named injected hyperparameters set to ``values``.

  Each value keeps the stored dtype (float32) and is broadcast to the stored shape: a scalar
  for one model, or ``[N]`` values for the stacked states of N models. A name that several
  optimizers of a :func:`jaxnets.optim.switch` hold is set in all of them.

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
  for name, value in values.items():

    def fit(old: jax.Array, name: str = name, value: ArrayLike = value) -> jax.Array:
      try:
        return jnp.broadcast_to(jnp.asarray(value, old.dtype), old.shape)
      except ValueError as err:
        raise ValueError(
          f"Hyperparameter {name!r} is stored with shape {old.shape}; a value of shape "
          f"{jnp.shape(value)} does not fit it."
        ) from err

    opt_state = map_hyperparameter(opt_state, name, fit)
  return opt_state


def _check_names(opt_state: Any, names: list[str]) -> None:
  valid = hyperparameter_names(opt_state)
  unknown = [n for n in names if n not in valid]
  if unknown:
    raise ValueError(
      f"The optimizer state has no injected hyperparameter {unknown[0]!r}; its "
      f"hyperparameters are {valid} (optimizers from jaxnets.optim.get_optimizer inject all "
      "of theirs)."
    )
