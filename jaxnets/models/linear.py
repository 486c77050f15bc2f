"""Linear models: linear regression and softmax regression (course chapter 4).

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = SoftmaxRegression(num_classes=3)
  >>> variables = model.init(jax.random.key(0), jnp.ones((2, 4)))
  >>> model.apply(variables, jnp.ones((2, 4))).shape
  (2, 3)
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def flatten(x: jax.Array) -> jax.Array:
  """Flattens every dimension but the leading batch one: ``[B, ...] -> [B, prod(...)]``."""
  return x.reshape((x.shape[0], -1))


def _affine(x: jax.Array, features: int, init_std: float, name: str) -> jax.Array:
  """``flatten(x) W + b`` with ``W ~ N(0, init_std²)``, ``b = 0`` (inside a compact module)."""
  if features <= 0:
    raise ValueError(f"{name} must be positive, got {features}.")
  return nn.Dense(features, kernel_init=nn.initializers.normal(init_std))(flatten(x))


class LinearRegression(nn.Module):
  """ŷ = x w + b, one Dense layer on flattened input.

  Attributes:
    features: output dimension (1 for scalar regression).
    init_std: the kernel starts ~ N(0, init_std²) (the course: 0.01; its weight-decay
      chapter: 1); the bias at 0.
  """

  features: int = 1
  init_std: float = 0.01

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No train-only behaviour.
    return _affine(x, self.features, self.init_std, "features")


class SoftmaxRegression(nn.Module):
  """Logits z = x W + b of a linear classifier (softmax is applied by the loss).

  Attributes:
    num_classes: number of output classes.
  """

  num_classes: int = 10

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    return _affine(x, self.num_classes, 0.01, "num_classes")


def least_squares(x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Closed-form least squares ``(w, b)`` minimizing ‖x w + b − y‖² (the reference solution).

  Example:
    >>> x = jnp.array([[0.0], [1.0], [2.0]]); y = 3 * x + 1
    >>> w, b = least_squares(x, y)
    >>> [round(float(w[0, 0]), 4), round(float(b[0]), 4)]
    [3.0, 1.0]
  """
  x, y = jnp.asarray(x), jnp.asarray(y)
  design = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
  solution, *_ = jnp.linalg.lstsq(design, y)
  return solution[:-1], solution[-1]
