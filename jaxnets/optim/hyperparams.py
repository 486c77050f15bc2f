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
import numpy as np
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
  values = [v for _, v in optax.tree_utils.tree_get_all_with_path(opt_state, name)]
  if any(not np.array_equal(values[0], v) for v in values[1:]):
    raise ValueError(
      f"The optimizers of this state hold different values of {name!r}: "
      f"{[np.asarray(v).tolist() for v in values]}."
    )
  return values[0]


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
  cast = {}
  for name, value in values.items():
    old = optax.tree_utils.tree_get_all_with_path(opt_state, name)[0][1]  # All alike.
    try:
      cast[name] = jnp.broadcast_to(jnp.asarray(value, old.dtype), old.shape)
    except ValueError as err:
      raise ValueError(
        f"Hyperparameter {name!r} is stored with shape {old.shape}; a value of shape "
        f"{jnp.shape(value)} does not fit it."
      ) from err
  return _own_buffers(optax.tree_utils.tree_set(opt_state, **cast))


def _own_buffers(tree: Any) -> Any:
  """``tree`` with a copy wherever a leaf is an array that an earlier leaf already is.

  ``tree_set`` puts one array into every place a name occurs; a jitted step that donates the
  state needs every leaf in its own buffer.
  """
  seen: set[int] = set()

  def own(leaf: Any) -> Any:
    if id(leaf) in seen:
      return jnp.array(leaf, copy=True)
    seen.add(id(leaf))
    return leaf

  return jax.tree_util.tree_map(own, tree)


def _check_names(opt_state: Any, names: list[str]) -> None:
  valid = hyperparameter_names(opt_state)
  unknown = [n for n in names if n not in valid]
  if unknown:
    raise ValueError(
      f"The optimizer state has no injected hyperparameter {unknown[0]!r}; its "
      f"hyperparameters are {valid} (optimizers from jaxnets.optim.get_optimizer inject all "
      "of theirs)."
    )
