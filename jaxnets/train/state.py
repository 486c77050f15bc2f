"""The training state: everything a step reads and writes, as one pytree."""

from __future__ import annotations

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxnets.types import Params, PRNGKey


class TrainState(struct.PyTreeNode):
  """Parameters, BatchNorm statistics, optimizer state, step counter and PRNG key.

  ``apply_fn``, ``tx`` and ``loss_fn`` are static (not pytree leaves): they identify the
  computation, so a jitted step compiles once per model/optimizer/loss.

  Attributes:
    step: ``i32[]`` number of optimizer updates applied so far.
    params: the model parameters.
    batch_stats: BatchNorm running statistics (``{}`` for models without BatchNorm).
    opt_state: the optimizer's state.
    rng: ``u32[2]`` base key; step ``t`` uses ``fold_in(rng, t)``, so resumed runs repeat.
    apply_fn: the model's ``apply``.
    tx: the optimizer.
    loss_fn: ``loss_fn(outputs, targets) -> scalar``.
  """

  step: jax.Array
  params: Params
  batch_stats: Any
  opt_state: optax.OptState
  rng: PRNGKey
  apply_fn: Callable[..., Any] = struct.field(pytree_node=False)
  tx: optax.GradientTransformation = struct.field(pytree_node=False)
  loss_fn: Callable[[jax.Array, jax.Array], jax.Array] = struct.field(pytree_node=False)

  @classmethod
  def create(
    cls,
    *,
    model: flax.linen.Module,
    tx: optax.GradientTransformation,
    loss_fn: Callable[[jax.Array, jax.Array], jax.Array],
    rng: PRNGKey,
    sample_x: jax.Array,
  ) -> "TrainState":
    """Initializes a model on ``sample_x`` (one example batch) and the optimizer on its params.

    Example:
      >>> import optax, jax.numpy as jnp
      >>> from jaxnets import losses, models
      >>> state = TrainState.create(model=models.MLP(hidden=(8,)), tx=optax.sgd(0.1),
      ...     loss_fn=losses.softmax_cross_entropy, rng=jax.random.PRNGKey(0),
      ...     sample_x=jnp.zeros((1, 4)))
      >>> int(state.step), sorted(state.params)
      (0, ['Dense_0', 'Dense_1'])
    """
    init_key, dropout_key, state_key = jax.random.split(rng, 3)
    variables = model.init({"params": init_key, "dropout": dropout_key}, sample_x, train=False)
    params = variables["params"]
    return cls(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=variables.get("batch_stats", {}),
      opt_state=tx.init(params),
      rng=state_key,
      apply_fn=model.apply,
      tx=tx,
      loss_fn=loss_fn,
    )

  def variables(self) -> dict[str, Any]:
    """The Flax variables dict for ``apply`` (params plus batch_stats when present)."""
    if self.batch_stats:
      return {"params": self.params, "batch_stats": self.batch_stats}
    return {"params": self.params}

  def checkpoint_items(self) -> dict[str, Any]:
    """The pytree that checkpoints save and restore (everything but the static fields)."""
    return {
      "step": self.step,
      "params": self.params,
      "batch_stats": self.batch_stats,
      "opt_state": self.opt_state,
      "rng": self.rng,
    }

  def replace_items(self, items: dict[str, Any]) -> "TrainState":
    """Returns this state with the fields of a restored :meth:`checkpoint_items` pytree."""
    return self.replace(**items)
