"""Pure training and evaluation steps, and a whole epoch as one ``lax.scan``.

Every function here is a pure function of its inputs. The engine jits them once (with the
state donated), and vmaps the very same functions over a stacked state to train N models at
once (:mod:`jaxnets.train.sweep`).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxnets.train.state import TrainState
from jaxnets.types import Batch, Metrics, PRNGKey

# (key, f32[B, H, W, C]) -> augmented images: a policy under jaxnets.data.augment.apply_batch.
Augment = Callable[[PRNGKey, jax.Array], jax.Array]
AUGMENT_TAG = 1  # Step t augments with fold_in(fold_in(rng, t), AUGMENT_TAG): not dropout's key.


def _correct(outputs: jax.Array, labels: jax.Array) -> jax.Array:
  """``f32[batch]``: 1 where the arg-max of the outputs is the label."""
  return (jnp.argmax(outputs, -1) == labels).astype(jnp.float32)


def _loss_precision(outputs: jax.Array) -> jax.Array:
  """Outputs of a mixed-precision model (bfloat16/float16) in float32 for the loss."""
  return outputs.astype(jnp.promote_types(outputs.dtype, jnp.float32))


def train_step(
  state: TrainState, batch: Batch, augment: Augment | None = None
) -> tuple[TrainState, Metrics]:
  """One optimizer update on one batch.

  Forward pass, per-example losses and their mean, gradient, update and (for BatchNorm
  models) the new running statistics, all in one function. The loss is computed in float32
  (at least) whatever precision the model computes in. Dropout uses
  ``fold_in(state.rng, state.step)``: a fresh mask every step that a resumed run reproduces;
  so does the augmentation, keyed ``fold_in(fold_in(state.rng, state.step), AUGMENT_TAG)``.

  Args:
    state: the current :class:`TrainState`.
    batch: ``{"x": f32[B, ...], "y": i32[B] or f32[B, ...]}``.
    augment: optional ``(key, x) -> x`` applied to the batch's inputs first (on the device).

  Returns:
    The new state and the batch's mean ``{"loss", "accuracy"?}`` (still on device).

  Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> from jaxnets import losses, models
    >>> state = TrainState.create(model=models.SoftmaxRegression(3), tx=optax.sgd(0.1),
    ...     loss_fn=losses.softmax_cross_entropy, seed=0, sample_x=jnp.zeros((1, 2)))
    >>> batch = {"x": jnp.ones((4, 2)), "y": jnp.array([0, 1, 2, 0])}
    >>> state, metrics = jax.jit(train_step)(state, batch)
    >>> int(state.step), sorted(metrics)
    (1, ['accuracy', 'loss'])
  """
  dropout_key = jax.random.fold_in(state.rng, state.step)
  if augment is not None:
    batch = {**batch, "x": augment(jax.random.fold_in(dropout_key, AUGMENT_TAG), batch["x"])}
  mutable = ["batch_stats"] if state.batch_stats else False

  def loss_of(params):
    variables = {"params": params}
    if state.batch_stats:
      variables["batch_stats"] = state.batch_stats
    result = state.apply_fn(
      variables, batch["x"], train=True, rngs={"dropout": dropout_key}, mutable=mutable
    )
    outputs, updates = result if mutable else (result, {})
    outputs = _loss_precision(outputs)
    return jnp.mean(state.loss_fn(outputs, batch["y"])), (outputs, updates)

  (loss, (outputs, updates)), grads = jax.value_and_grad(loss_of, has_aux=True)(state.params)
  param_updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  params = jax.tree_util.tree_map(jnp.add, state.params, param_updates)
  new_state = state.replace(
    step=state.step + 1,
    params=params,
    opt_state=opt_state,
    batch_stats=updates.get("batch_stats", state.batch_stats),
  )
  metrics = {"loss": loss}
  if state.task == "classification":
    metrics["accuracy"] = jnp.mean(_correct(outputs, batch["y"]))
  return new_state, metrics


def eval_step(state: TrainState, batch: Batch) -> Metrics:
  """Sums of per-example losses (and correct predictions) over a batch, in evaluation mode.

  Returns sums (not means) plus the number of real examples, so a padded last batch
  (``batch["mask"]`` is 0 on padding rows) is averaged exactly by the caller.

  Args:
    state: the state to evaluate.
    batch: ``{"x", "y"}`` and optionally ``"mask": f32[B]``.

  Returns:
    ``{"loss_sum", "count", "correct"?}`` scalars.
  """
  outputs = _loss_precision(state.apply_fn(state.variables(), batch["x"], train=False))
  y = batch["y"]
  mask = batch["mask"] if "mask" in batch else jnp.ones(y.shape[0], jnp.float32)
  sums = {"loss_sum": jnp.sum(state.loss_fn(outputs, y) * mask), "count": jnp.sum(mask)}
  if state.task == "classification":
    sums["correct"] = jnp.sum(_correct(outputs, y) * mask)
  return sums


def gather_batch(data: Batch, idx: jax.Array, sharding: Any = None) -> Batch:
  """Rows ``idx`` of every array in ``data``, optionally constrained to a sharding."""
  batch = {k: jnp.take(v, idx, axis=0) for k, v in data.items()}
  if sharding is not None:
    batch = jax.lax.with_sharding_constraint(batch, sharding)
  return batch


def train_step_on_rows(
  state: TrainState,
  data: Batch,
  idx: jax.Array,
  batch_sharding: Any = None,
  augment: Augment | None = None,
) -> tuple[TrainState, Metrics]:
  """:func:`train_step` on rows ``idx`` of a device-resident dataset (no host transfer)."""
  return train_step(state, gather_batch(data, idx, batch_sharding), augment)


def train_epoch(
  state: TrainState,
  data: Batch,
  indices: jax.Array,
  batch_sharding: Any = None,
  augment: Augment | None = None,
) -> tuple[TrainState, Metrics]:
  """A whole epoch as one ``lax.scan`` over a device-resident index array.

  Args:
    state: the state at the start of the epoch.
    data: the full device-resident dataset ``{"x": [N, ...], "y": [N, ...]}``.
    indices: ``i32[steps, batch_size]`` example indices (:func:`jaxnets.data.epoch_indices`).
    batch_sharding: optional sharding each gathered batch is constrained to.
    augment: optional augmentation of every batch's inputs (see :func:`train_step`).

  Returns:
    The final state and per-step metrics stacked along a leading ``steps`` axis.
  """

  def body(state, idx):
    return train_step_on_rows(state, data, idx, batch_sharding, augment)

  return jax.lax.scan(body, state, indices)
