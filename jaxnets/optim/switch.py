"""One of several optimizers, chosen by an index that lives in the optimizer state.

:func:`switch` holds the states of all its optimizers and applies the one its index names,
with ``lax.switch``. The index is an injected hyperparameter (``optimizer_index``), so it is
set by name like a learning rate (:func:`jaxnets.optim.set_hyperparameters`). Under
``jax.vmap`` over a stack of states whose indices differ, ``lax.switch`` computes every
optimizer's update and keeps each member's own: models trained with Adam, momentum and
RMSProp run in one compiled program (:func:`jaxnets.train.train_sweep` with members that set
``"optimizer.name"``). For one model, only the chosen optimizer runs.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import optax

INDEX = "optimizer_index"  # The injected hyperparameter that picks the optimizer.


class SwitchState(NamedTuple):
  """The chosen optimizer's index (``hyperparams[INDEX]``) and every optimizer's state."""

  hyperparams: dict[str, jax.Array]
  inner_states: tuple[optax.OptState, ...]


def switch(
  transforms: Mapping[str, optax.GradientTransformation],
) -> optax.GradientTransformationExtraArgs:
  """The transformation ``transforms[names[i]]``, where ``i`` is the state's ``optimizer_index``.

  The index starts at 0 (the first name); set it with
  ``set_hyperparameters(state, optimizer_index=i)`` (``[N]`` indices for N stacked states).
  Every optimizer's state is kept, and only the chosen one's advances. The inner states'
  own hyperparameters stay readable by name: a name several optimizers share
  (``learning_rate``) is set in all of them at once.

  Args:
    transforms: the optimizers by name (at least one); their order gives the indices.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose updates are those of the chosen
    optimizer: the same arithmetic, which XLA may fuse (and round in the last bit)
    differently.

  Example:
    >>> import jax.numpy as jnp, optax
    >>> from jaxnets.optim import set_hyperparameters
    >>> tx = switch({"sgd": optax.sgd(0.1), "sign": optax.sign_sgd(1.0)})
    >>> params = {"w": jnp.array([2.0, -3.0])}
    >>> state = set_hyperparameters(tx.init(params), optimizer_index=1)
    >>> tx.update(params, state)[0]["w"].tolist()
    [-1.0, 1.0]
  """
  if not transforms:
    raise ValueError("switch needs at least one optimizer.")
  inner = tuple(optax.with_extra_args_support(t) for t in transforms.values())

  def init(params: Any) -> SwitchState:
    return SwitchState({INDEX: jnp.zeros([], jnp.int32)}, tuple(t.init(params) for t in inner))

  def update(updates: Any, state: SwitchState, params: Any = None, **extra: Any):
    def branch(i: int):
      def apply(operands):
        grads, states = operands
        new_updates, new_state = inner[i].update(grads, states[i], params, **extra)
        return new_updates, states[:i] + (new_state,) + states[i + 1 :]

      return apply

    index = jnp.clip(state.hyperparams[INDEX], 0, len(inner) - 1)
    branches = [branch(i) for i in range(len(inner))]
    new_updates, states = jax.lax.switch(index, branches, (updates, state.inner_states))
    return new_updates, state._replace(inner_states=states)

  return optax.GradientTransformationExtraArgs(init, update)
