"""Dropout and batch normalization written from scratch as linen modules (course 7.3, 7.6).

Both take the mode as a call argument (``train: bool``), never as a mutated attribute, and
keep their randomness and state where Flax expects them: dropout draws its mask from the
``"dropout"`` rng, batch normalization keeps its running averages in the ``"batch_stats"``
collection, which ``apply(..., mutable=["batch_stats"])`` returns.

Example:
  >>> import jax, jax.numpy as jnp
  >>> bn = BatchNorm()
  >>> x = jnp.arange(12.0).reshape(4, 3)
  >>> variables = bn.init(jax.random.key(0), x, train=False)
  >>> y, updates = bn.apply(variables, x, train=True, mutable=["batch_stats"])
  >>> [round(float(v), 4) for v in y.mean(axis=0)]
  [0.0, 0.0, 0.0]
  >>> drop = Dropout(0.5)
  >>> drop.apply({}, jnp.ones((2, 4)), train=True, rngs={"dropout": jax.random.key(1)}).shape
  (2, 4)
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


class Dropout(nn.Module):
  """Inverted dropout: zero each unit with probability ``rate``, scale survivors by 1/(1−rate).

  .. math:: h' = \\frac{m \\odot h}{1 - p}, \\quad m_i \\sim \\operatorname{Bernoulli}(1 - p)

  so that ``E[h'] = h`` and evaluation needs no rescaling: at evaluation (``train=False``) the
  layer is the identity. Every call draws a fresh mask from the ``"dropout"`` rng stream
  (``make_rng`` advances it), so two dropout layers, or two steps with different keys, never
  share a mask. ``rate=0`` is the identity and ``rate=1`` returns zeros, without drawing.

  Attributes:
    rate: the probability ``p`` of dropping a unit, in ``[0, 1]``.

  Example:
    >>> y = Dropout(0.25).apply({}, jnp.ones((1000,)), train=True,
    ...                         rngs={"dropout": jax.random.key(0)})
    >>> sorted({round(float(v), 4) for v in y})
    [0.0, 1.3333]
  """

  rate: float

  def __post_init__(self):
    if not 0.0 <= self.rate <= 1.0:
      raise ValueError(f"Dropout rate must be in [0, 1] (the drop probability), got {self.rate}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: ArrayLike, train: bool) -> jax.Array:
    """Applies dropout when ``train`` is True, the identity otherwise."""
    x = jnp.asarray(x)
    if not train or self.rate == 0.0:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)  # Everything dropped; avoids the 0/0 of the rescaling.
    keep_prob = 1.0 - self.rate
    key = self.make_rng("dropout")
    keep = jax.random.uniform(key, x.shape) < keep_prob  # P(keep) = 1 − p.
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))


class BatchNorm(nn.Module):
  """Batch normalization over every axis but the feature axis.

  For dense inputs ``[batch, features]`` the statistics are per feature (reduced over the
  batch); for NHWC images ``[batch, height, width, channels]`` they are per channel (reduced
  over batch, height and width). In training the batch statistics normalize the input and
  update the running averages; at evaluation the running averages are used:

  .. math::
    \\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\quad
    y = \\gamma \\hat x + \\beta, \\qquad
    \\bar\\mu \\leftarrow m\\,\\bar\\mu + (1 - m)\\,\\mu_B, \\quad
    \\bar\\sigma^2 \\leftarrow m\\,\\bar\\sigma^2 + (1 - m)\\,\\sigma_B^2

  with the biased batch variance σ²_B (the convention of ``flax.linen.BatchNorm``, whose
  ``momentum`` is this ``m``; PyTorch's ``momentum=0.1`` is ``m = 0.9``). Parameters
  ``scale`` (γ, ones) and ``bias`` (β, zeros) live in ``"params"``; the running ``mean``
  (zeros) and ``var`` (ones) in ``"batch_stats"``. As in Flax, ``init`` does not move the
  running averages.

  Attributes:
    momentum: decay ``m`` of the running averages, in ``[0, 1)``.
    epsilon: added to the variance before the square root (positive).
    axis: the feature axis (``-1`` for dense and NHWC inputs).

  Example:
    >>> x = jax.random.normal(jax.random.key(0), (8, 5, 5, 3)) * 4.0 + 2.0
    >>> v = BatchNorm().init(jax.random.key(1), x, train=False)
    >>> y, new = BatchNorm().apply(v, x, train=True, mutable=["batch_stats"])
    >>> new["batch_stats"]["mean"].shape, round(float(y[..., 0].std()), 2)
    ((3,), 1.0)
  """

  momentum: float = 0.9
  epsilon: float = 1e-5
  axis: int = -1

  def __post_init__(self):
    if not 0.0 <= self.momentum < 1.0:
      raise ValueError(f"BatchNorm momentum must be in [0, 1), got {self.momentum}.")
    if not self.epsilon > 0.0:
      raise ValueError(f"BatchNorm epsilon must be positive, got {self.epsilon}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: ArrayLike, train: bool) -> jax.Array:
    """Normalizes ``x`` with batch statistics (``train=True``) or running averages."""
    x = jnp.asarray(x)
    if x.ndim < 2:
      raise ValueError(
        f"BatchNorm needs a batch axis and a feature axis (dense [B, F] or NHWC "
        f"[B, H, W, C]); got an input of shape {x.shape}."
      )
    feature_axis = self.axis % x.ndim
    reduce_axes = tuple(a for a in range(x.ndim) if a != feature_axis)
    features = x.shape[feature_axis]
    stat_shape = [1] * x.ndim  # Broadcasts per-feature vectors against x.
    stat_shape[feature_axis] = features

    scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
    running_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
    running_var = self.variable("batch_stats", "var", jnp.ones, (features,), jnp.float32)

    x32 = x.astype(jnp.promote_types(x.dtype, jnp.float32))  # Statistics in >= float32.
    if train:
      mean = jnp.mean(x32, axis=reduce_axes)
      var = jnp.mean(jnp.square(x32 - mean.reshape(stat_shape)), axis=reduce_axes)
      if not self.is_initializing():
        m = self.momentum
        running_mean.value = m * running_mean.value + (1.0 - m) * mean
        running_var.value = m * running_var.value + (1.0 - m) * var
    else:
      mean, var = running_mean.value, running_var.value

    inv_std = jax.lax.rsqrt(var + self.epsilon)
    x_hat = (x32 - mean.reshape(stat_shape)) * inv_std.reshape(stat_shape)
    return x_hat * scale.reshape(stat_shape) + bias.reshape(stat_shape)
