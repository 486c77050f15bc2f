"""Multilayer perceptrons with configurable depth, width and activation (course chapter 5).

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = MLP(hidden=(32, 32), num_classes=10, activation="tanh")
  >>> variables = model.init(jax.random.key(0), jnp.ones((1, 8, 8, 1)))
  >>> model.apply(variables, jnp.ones((4, 8, 8, 1))).shape
  (4, 10)
"""

from typing import Callable, Sequence

import flax.linen as nn
import jax

from jaxnets.models.linear import flatten

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
  "relu": nn.relu,
  "sigmoid": nn.sigmoid,
  "tanh": nn.tanh,
}


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
  """Activation function by name (``relu``, ``sigmoid``, ``tanh``)."""
  if name not in ACTIVATIONS:
    raise ValueError(f"Unknown activation {name!r}; valid activations: {sorted(ACTIVATIONS)}.")
  return ACTIVATIONS[name]


class MLP(nn.Module):
  """Flatten → [Dense → activation → Dropout] × len(hidden) → Dense(num_classes).

  Attributes:
    hidden: widths of the hidden layers (empty: softmax regression).
    num_classes: output width.
    activation: ``relu``, ``sigmoid`` or ``tanh``.
    dropout_rate: dropout probability after each hidden activation (training only).
  """

  hidden: Sequence[int] = (256,)
  num_classes: int = 10
  activation: str = "relu"
  dropout_rate: float = 0.0

  def __post_init__(self):
    get_activation(self.activation)  # Unknown names fail at construction, not at init.
    widths = self.hidden if isinstance(self.hidden, (list, tuple)) else None
    if widths is None or any(isinstance(w, bool) or not isinstance(w, int) for w in widths):
      raise ValueError(
        f"MLP hidden must be a tuple of positive integer widths, got {self.hidden!r}."
      )
    if any(w <= 0 for w in self.hidden):
      raise ValueError(f"MLP hidden widths must be positive, got {tuple(self.hidden)}.")
    if self.num_classes <= 0:
      raise ValueError(f"MLP num_classes must be positive, got {self.num_classes}.")
    if not 0.0 <= self.dropout_rate < 1.0:
      raise ValueError(f"MLP dropout_rate must be in [0, 1), got {self.dropout_rate}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    act = get_activation(self.activation)
    x = flatten(x)
    for width in self.hidden:
      x = act(nn.Dense(width)(x))
      if self.dropout_rate > 0:
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes)(x)
