"""Per-layer tables of a model (course chapter 10.1: "print the shape after each block").

Built on Flax's ``nn.tabulate``: one row per sub-module with its inputs, outputs,
``batch_stats`` and ``params``, traced abstractly (nothing is computed). The footer separates
what torchvision calls parameters (``params``) from BatchNorm's running statistics.

Example:
  >>> from jaxnets import models
  >>> table = layer_table(models.get_model("resnet18"), (1, 224, 224, 3))
  >>> table.splitlines()[-1]
  'params: 11,689,512 (torchvision counts these); batch_stats: 9,600 (BatchNorm running statistics)'
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxnets.params import count_params


def layer_table(
  model: nn.Module,
  input_shape: Sequence[int],
  *,
  depth: int | None = 1,
  width: int = 120,
  color: bool = False,
  **call_kwargs: Any,
) -> str:
  """A torchinfo-style table of a linen model: each layer's output shape and parameters.

  Args:
    model: an unbound linen module whose ``__call__`` takes the input first (and ``train``).
    input_shape: one input batch's shape, e.g. ``(1, 224, 224, 3)``.
    depth: rows down to this nesting depth (1: the model's direct sub-modules, e.g. ResNet's
      blocks; ``None``: every layer).
    width: the table's width in characters.
    color: ANSI colours (for a terminal).
    **call_kwargs: ``__call__`` arguments (default ``train=False``).

  Returns:
    The table and a last line with the ``params`` and ``batch_stats`` totals.

  Raises:
    ValueError: a bad ``input_shape``, or an input the model rejects (its own message).
  """
  input_shape = tuple(input_shape)
  if not input_shape or not all(isinstance(d, int) and d > 0 for d in input_shape):
    raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
  call_kwargs.setdefault("train", False)
  x = jnp.zeros(input_shape, jnp.float32)
  console = {"force_terminal": color, "force_jupyter": False, "width": width}
  table = nn.tabulate(model, jax.random.key(0), depth=depth, console_kwargs=console)(
    x, **call_kwargs
  )
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x, **call_kwargs))
  params = count_params(variables.get("params", {}))
  stats = count_params(variables.get("batch_stats", {}))
  footer = f"params: {params:,} (torchvision counts these)"
  if stats:
    footer += f"; batch_stats: {stats:,} (BatchNorm running statistics)"
  return table.rstrip() + "\n" + footer
