"""Pure training and evaluation steps, and a whole epoch as one ``lax.scan``.

Each step is a pure function of its inputs; the loop jits them once with the state donated.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxnets.train.state import TrainState
from jaxnets.types import Batch, Metrics


def _is_classification(outputs: jax.Array, targets: jax.Array) -> bool:
  return jnp.issubdtype(targets.dtype, jnp.integer) and outputs.ndim == targets.ndim + 1


def _batch_metrics(outputs: jax.Array, targets: jax.Array, loss: jax.Array) -> Metrics:
  metrics = {"loss": loss}
  if _is_classification(outputs, targets):
    metrics["accuracy"] = jnp.mean(jnp.argmax(outputs, -1) == targets)
  return metrics


def train_step(state: TrainState, batch: Batch, key: jax.Array) -> tuple[TrainState, Metrics]:
  """One optimizer update on one batch.

  Forward pass, loss, gradient, update and (for BatchNorm models) the new running
  statistics, all in one function. Dropout uses ``fold_in(key, state.step)``, a fresh
  mask every step that a resumed run reproduces.

  Args:
    state: the current :class:`TrainState`.
    batch: ``{"x": f32[B, ...], "y": i32[B] or f32[B, ...]}``.
    key: the run's base PRNG key (usually ``state.rng``).

  Returns:
    The new state and ``{"loss", "accuracy"?}`` scalars (still on device).

  Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> from jaxnets import losses, models
    >>> state = TrainState.create(model=models.SoftmaxRegression(3), tx=optax.sgd(0.1),
    ...     loss_fn=losses.softmax_cross_entropy, rng=jax.random.PRNGKey(0),
    ...     sample_x=jnp.zeros((1, 2)))
    >>> batch = {"x": jnp.ones((4, 2)), "y": jnp.array([0, 1, 2, 0])}
    >>> state, metrics = jax.jit(train_step)(state, batch, state.rng)
    >>> int(state.step), sorted(metrics)
    (1, ['accuracy', 'loss'])
  """
  dropout_key = jax.random.fold_in(key, state.step)
  mutable = ["batch_stats"] if state.batch_stats else False

  def loss_of(params):
    variables = {"params": params}
    if state.batch_stats:
      variables["batch_stats"] = state.batch_stats
    result = state.apply_fn(
      variables, batch["x"], train=True, rngs={"dropout": dropout_key}, mutable=mutable
    )
    outputs, updates = result if mutable else (result, {})
    return state.loss_fn(outputs, batch["y"]), (outputs, updates)

  (loss, (outputs, updates)), grads = jax.value_and_grad(loss_of, has_aux=True)(state.params)
  param_updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  params = jax.tree_util.tree_map(jnp.add, state.params, param_updates)
  new_state = state.replace(
    step=state.step + 1,
    params=params,
    opt_state=opt_state,
    batch_stats=updates.get("batch_stats", state.batch_stats),
  )
  return new_state, _batch_metrics(outputs, batch["y"], loss)


def eval_step(state: TrainState, batch: Batch) -> Metrics:
  """Sums of loss and correct predictions over a batch, in evaluation mode.

  Returns sums (not means) plus the number of real examples, so a padded last batch
  (``batch["mask"]`` is 0 on padding rows) is averaged exactly by the caller.

  Args:
    state: the state to evaluate.
    batch: ``{"x", "y"}`` and optionally ``"mask": f32[B]``.

  Returns:
    ``{"loss_sum", "count", "correct"?}`` scalars.
  """
  outputs = state.apply_fn(state.variables(), batch["x"], train=False)
  y = batch["y"]
  mask = batch.get("mask", jnp.ones(y.shape[0], outputs.dtype))
  per_example = jax.vmap(lambda o, t: state.loss_fn(o[None], t[None]))(outputs, y)
  sums = {"loss_sum": jnp.sum(per_example * mask), "count": jnp.sum(mask)}
  if _is_classification(outputs, y):
    sums["correct"] = jnp.sum((jnp.argmax(outputs, -1) == y) * mask)
  return sums


def train_epoch_scan(
  state: TrainState, data: Batch, indices: jax.Array, batch_sharding: Any = None
) -> tuple[TrainState, Metrics]:
  """A whole epoch as one ``lax.scan`` over a device-resident index array.

  Args:
    state: the state at the start of the epoch.
    data: the full device-resident dataset ``{"x": [N, ...], "y": [N, ...]}``.
    indices: ``i32[steps, batch_size]`` shuffled example indices (see
      :func:`jaxnets.data.epoch_permutation`).
    batch_sharding: optional sharding each gathered batch is constrained to.

  Returns:
    The final state and per-step metrics stacked along a leading ``steps`` axis.
  """

  def body(state, idx):
    batch = gather_batch(data, idx, batch_sharding)
    return train_step(state, batch, state.rng)

  return jax.lax.scan(body, state, indices)


def gather_batch(data: Batch, idx: jax.Array, sharding: Any = None) -> Batch:
  """Rows ``idx`` of every array in ``data``, optionally constrained to a sharding."""
  batch = {k: jnp.take(v, idx, axis=0) for k, v in data.items()}
  if sharding is not None:
    batch = jax.lax.with_sharding_constraint(batch, sharding)
  return batch


def train_step_indexed(
  state: TrainState, data: Batch, idx: jax.Array, batch_sharding: Any = None
) -> tuple[TrainState, Metrics]:
  """:func:`train_step` on rows ``idx`` of a device-resident dataset (no host transfer)."""
  return train_step(state, gather_batch(data, idx, batch_sharding), state.rng)
