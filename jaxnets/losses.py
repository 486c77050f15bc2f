"""Loss functions written from scratch (each tested against its Optax twin).

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import losses
  >>> float(losses.squared_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0])))
  1.0
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def squared_loss(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
  """Mean of ½(ŷ − y)² over all elements (the course's linear-regression loss).

  .. math:: L = \\frac{1}{n} \\sum_i \\tfrac12 (\\hat y_i - y_i)^2

  Args:
    predictions: predictions ŷ, any shape.
    targets: targets y, the same shape as ``predictions``.

  Returns:
    The scalar mean loss.
  """
  predictions, targets = jnp.asarray(predictions), jnp.asarray(targets)
  if predictions.shape != targets.shape:
    raise ValueError(
      f"squared_loss: predictions have shape {predictions.shape} but targets have shape "
      f"{targets.shape}; they must match (reshape targets to {predictions.shape})."
    )
  return jnp.mean(0.5 * jnp.square(predictions - targets))


def one_hot(labels: ArrayLike, num_classes: int) -> jax.Array:
  """One-hot encoding of integer labels: ``i32[...] -> f32[..., num_classes]``.

  Example:
    >>> one_hot(jnp.array([0, 2]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
  """
  labels = jnp.asarray(labels)
  return (labels[..., None] == jnp.arange(num_classes)).astype(jnp.float32)


def log_softmax(logits: ArrayLike, axis: int = -1) -> jax.Array:
  """Numerically stable log-softmax: subtract the max before log-sum-exp."""
  logits = jnp.asarray(logits)
  shifted = logits - jax.lax.stop_gradient(jnp.max(logits, axis=axis, keepdims=True))
  return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


def softmax(logits: ArrayLike, axis: int = -1) -> jax.Array:
  """Softmax probabilities (non-negative, summing to one along ``axis``)."""
  return jnp.exp(log_softmax(logits, axis=axis))


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
  """Mean cross-entropy of logits against integer labels, via log-sum-exp.

  The analogue of PyTorch's ``nn.CrossEntropyLoss`` on logits and integer labels,
  equal to ``optax.softmax_cross_entropy_with_integer_labels(...).mean()``.

  .. math:: L = \\frac1n\\sum_i \\Big(\\log\\sum_k e^{z_{ik}} - z_{i y_i}\\Big)

  Args:
    logits: ``f32[batch, num_classes]`` unnormalized scores.
    labels: ``i32[batch]`` class indices in ``[0, num_classes)``.

  Returns:
    The scalar mean loss.
  """
  logits, labels = jnp.asarray(logits), jnp.asarray(labels)
  if logits.ndim != labels.ndim + 1 or logits.shape[:-1] != labels.shape:
    raise ValueError(
      f"softmax_cross_entropy: logits of shape {logits.shape} need labels of shape "
      f"{logits.shape[:-1]}, got {labels.shape}."
    )
  logp = log_softmax(logits)
  picked = jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
  return -jnp.mean(picked)


def l2_penalty(params) -> jax.Array:
  """½ Σ w² over every leaf of a parameter pytree (weight decay as a loss term).

  Adding ``λ · l2_penalty(params)`` to the loss gives the gradient term ``λ w``, which is
  what ``optax.add_decayed_weights(λ)`` adds directly.
  """
  leaves = jax.tree_util.tree_leaves(params)
  return 0.5 * sum(jnp.sum(jnp.square(p)) for p in leaves)


def accuracy(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
  """Fraction of rows whose arg-max equals the label."""
  return jnp.mean(jnp.argmax(logits, axis=-1) == jnp.asarray(labels))


_LOSSES = {
  "cross_entropy": softmax_cross_entropy,
  "squared": squared_loss,
}


def get_loss(name: str):
  """Returns a loss function by name (``"cross_entropy"`` or ``"squared"``)."""
  if name not in _LOSSES:
    raise ValueError(f"Unknown loss {name!r}; valid losses: {sorted(_LOSSES)}.")
  return _LOSSES[name]
