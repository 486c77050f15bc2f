"""Loss functions written from scratch (each tested against its Optax twin).

As Optax's losses, they return one value per example (the leading axis); the caller reduces
them: the training step takes their mean over a batch, evaluation sums them over a masked
(padded) batch.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import losses
  >>> losses.squared_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0])).tolist()
  [0.0, 2.0]
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def squared_loss(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
  """½(ŷ − y)² per example, averaged over each example's outputs (the course's loss).

  .. math:: \\ell_i = \\frac{1}{k} \\sum_{j=1}^{k} \\tfrac12 (\\hat y_{ij} - y_{ij})^2

  The mean of :math:`\\ell_i` over a batch is the course's mean of ½(ŷ − y)² over all
  elements (``optax.l2_loss(ŷ, y).mean()``, half of PyTorch's ``MSELoss``).

  Args:
    predictions: predictions ŷ, ``f32[batch, ...]`` (a 1-D array is one output per example).
    targets: targets y, the same shape as ``predictions``.

  Returns:
    ``f32[batch]`` per-example losses.

  Example:
    >>> squared_loss(jnp.array([[1.0, 3.0]]), jnp.array([[1.0, 1.0]])).tolist()
    [1.0]
  """
  predictions, targets = jnp.asarray(predictions), jnp.asarray(targets)
  if predictions.shape != targets.shape:
    raise ValueError(
      f"squared_loss: predictions have shape {predictions.shape} but targets have shape "
      f"{targets.shape}; they must match (reshape targets to {predictions.shape})."
    )
  per_element = 0.5 * jnp.square(predictions - targets)
  return jnp.mean(per_element, axis=tuple(range(1, per_element.ndim)))


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
  """Cross-entropy of logits against integer labels per example, via log-sum-exp.

  Equal to ``optax.softmax_cross_entropy_with_integer_labels``; its mean is PyTorch's
  ``nn.CrossEntropyLoss`` on logits and integer labels.

  .. math:: \\ell_i = \\log\\sum_k e^{z_{ik}} - z_{i y_i}

  Args:
    logits: ``f32[batch, num_classes]`` unnormalized scores.
    labels: ``i32[batch]`` class indices in ``[0, num_classes)``.

  Returns:
    ``f32[batch]`` per-example losses.

  Example:
    >>> [round(v, 4) for v in softmax_cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3])).tolist()]
    [1.3863, 1.3863]
  """
  logits, labels = jnp.asarray(logits), jnp.asarray(labels)
  if logits.ndim != labels.ndim + 1 or logits.shape[:-1] != labels.shape:
    raise ValueError(
      f"softmax_cross_entropy: logits of shape {logits.shape} need labels of shape "
      f"{logits.shape[:-1]}, got {labels.shape}."
    )
  logp = log_softmax(logits)
  picked = jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
  return -picked


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
# The task each loss serves, and the default loss of each task.
LOSS_TASKS: dict[str, str] = {"cross_entropy": "classification", "squared": "regression"}
DEFAULT_LOSS: dict[str, str] = {task: loss for loss, task in LOSS_TASKS.items()}


def get_loss(name: str):
  """A per-example loss function by name (``"cross_entropy"`` or ``"squared"``).

  Example:
    >>> get_loss("squared") is squared_loss
    True
  """
  if name not in _LOSSES:
    raise ValueError(f"Unknown loss {name!r}; valid losses: {sorted(_LOSSES)}.")
  return _LOSSES[name]
