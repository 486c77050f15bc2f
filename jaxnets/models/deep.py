"""A deep MLP for numerical-stability experiments (course chapter 7.5–7.6).

Depth, activation and initialization are configurable, and the two remedies for deep
networks can be switched on: batch normalization (from scratch, between each affine map and
its activation) and residual connections (``x + f(x)`` around every hidden block after the
first). Layers are named ``layer_0 … layer_{depth-1}`` and ``head``, so per-layer gradient
norms read straight off the parameter tree.

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = DeepMLP(depth=4, width=16, num_classes=3, batch_norm=True)
  >>> variables = model.init(jax.random.key(0), jnp.ones((2, 8)))
  >>> sorted(variables["params"])
  ['bn_0', 'bn_1', 'bn_2', 'bn_3', 'head', 'layer_0', 'layer_1', 'layer_2', 'layer_3']
  >>> logits, _ = model.apply(variables, jnp.ones((2, 8)), train=True, mutable=["batch_stats"])
  >>> logits.shape
  (2, 3)
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax

from jaxnets.models.linear import flatten
from jaxnets.models.mlp import get_activation
from jaxnets.nn import init as jinit
from jaxnets.nn.layers import BatchNorm, Dropout

# Kernel initializers by name. "normal" draws N(0, init_std²): the too-small/too-large
# baselines of the vanishing/exploding-gradient experiment.
KERNEL_INITS: dict[str, Callable[[float], jinit.Initializer]] = {
  "xavier_uniform": lambda std: jinit.xavier_uniform(),
  "xavier_normal": lambda std: jinit.xavier_normal(),
  "kaiming_uniform": lambda std: jinit.kaiming_uniform(),
  "kaiming_normal": lambda std: jinit.kaiming_normal(),
  "lecun_normal": lambda std: nn.initializers.lecun_normal(),  # Flax's Dense default.
  "normal": lambda std: nn.initializers.normal(std),
}


def get_kernel_init(name: str, init_std: float = 0.01) -> jinit.Initializer:
  """A kernel initializer of :data:`KERNEL_INITS` (``init_std`` is used by ``"normal"``)."""
  if name not in KERNEL_INITS:
    raise ValueError(f"Unknown kernel_init {name!r}; valid: {sorted(KERNEL_INITS)}.")
  if name == "normal" and not init_std > 0:
    raise ValueError(f"init_std must be positive for kernel_init='normal', got {init_std}.")
  return KERNEL_INITS[name](init_std)


class DeepMLP(nn.Module):
  """Flatten → [Dense → (BatchNorm) → activation → (Dropout)] × depth → Dense(num_classes).

  With ``residual=True`` hidden blocks 1…depth−1 compute ``x + block(x)`` (block 0 changes the
  width, so it stays plain).

  Attributes:
    depth: number of hidden Dense layers (positive).
    width: width of every hidden layer (positive).
    num_classes: output width.
    activation: ``relu``, ``sigmoid`` or ``tanh``.
    kernel_init: a key of :data:`KERNEL_INITS` (hidden and output kernels).
    init_std: standard deviation for ``kernel_init="normal"``.
    batch_norm: insert :class:`jaxnets.nn.layers.BatchNorm` before each hidden activation.
    residual: add identity skip connections around hidden blocks.
    dropout_rate: :class:`jaxnets.nn.layers.Dropout` rate after each hidden block (train only).
  """

  depth: int = 20
  width: int = 64
  num_classes: int = 10
  activation: str = "relu"
  kernel_init: str = "kaiming_normal"
  init_std: float = 0.01
  batch_norm: bool = False
  residual: bool = False
  dropout_rate: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if self.depth <= 0 or self.width <= 0:
      raise ValueError(
        f"DeepMLP depth and width must be positive, got depth={self.depth}, width={self.width}."
      )
    act = get_activation(self.activation)
    kernel_init = get_kernel_init(self.kernel_init, self.init_std)
    x = flatten(x)
    for i in range(self.depth):
      h = nn.Dense(self.width, kernel_init=kernel_init, name=f"layer_{i}")(x)
      if self.batch_norm:
        h = BatchNorm(name=f"bn_{i}")(h, train)
      h = act(h)
      if self.dropout_rate > 0:
        h = Dropout(self.dropout_rate)(h, train)
      x = x + h if (self.residual and i > 0) else h
    return nn.Dense(self.num_classes, kernel_init=kernel_init, name="head")(x)
