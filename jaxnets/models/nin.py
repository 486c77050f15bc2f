"""Network in Network (course chapter 10.3): NiN blocks and global average pooling.

A NiN block is one k×k convolution followed by two 1×1 convolutions (each with ReLU): the
1×1 convolutions act as a small MLP at every pixel. The course's network (1×224×224 input)::

  block1  11×11/4, 96 + two 1×1   -> 54×54×96,   max pool 3×3/2 -> 26×26×96
  block2  5×5, padding 2, 256     -> 26×26×256,  max pool 3×3/2 -> 12×12×256
  block3  3×3, padding 1, 384     -> 12×12×384,  max pool 3×3/2 ->  5×5×384
          dropout 0.5
  block4  3×3, padding 1, classes -> 5×5×classes, global average pooling -> classes

There are no dense layers: the last block has one channel per class and its spatial mean is
the logit. Layers are named ``block{i}/conv``, ``block{i}/mlp1``, ``block{i}/mlp2``.

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = NiN(num_classes=10)
  >>> jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 224, 224, 1)))["params"].keys()
  dict_keys(['block1', 'block2', 'block3', 'block4'])
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from jaxnets.models import blocks


class NiNBlock(nn.Module):
  """k×k convolution, then two 1×1 convolutions, ReLU after each.

  Attributes:
    features: output channels of all three convolutions.
    kernel: the first convolution's size.
    stride: its stride.
    padding: its (symmetric) padding.
    layers: layer factories in the model's precision.
  """

  features: int
  kernel: int
  stride: int
  padding: int
  layers: blocks.Layers

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    conv = self.layers.conv
    x = nn.relu(conv(self.features, self.kernel, self.stride, self.padding, name="conv")(x))
    x = nn.relu(conv(self.features, 1, name="mlp1")(x))
    return nn.relu(conv(self.features, 1, name="mlp2")(x))


class NiN(blocks.ImageClassifier):
  """The course's NiN: three NiN blocks with max pooling, dropout, a class block, the mean.

  Attributes:
    widths: channels of the first three blocks (the last has ``num_classes``).
    dropout_rate: dropout before the last block (training only).
  """

  widths: Sequence[int] = (96, 256, 384)
  dropout_rate: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self.check_fields(x)
    if len(self.widths) != 3:
      raise ValueError(f"NiN has three feature blocks; got widths={tuple(self.widths)}.")
    specs = ((11, 4, 0), (5, 1, 2), (3, 1, 1))  # (kernel, stride, padding) of blocks 1-3.
    for i, (width, spec) in enumerate(zip(self.widths, specs, strict=True), 1):
      x = NiNBlock(self.channels(width), *spec, self.layers, name=f"block{i}")(x)
      x = blocks.max_pool(x, 3, 2)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = NiNBlock(self.num_classes, 3, 1, 1, self.layers, name="block4")(x)
    return blocks.global_avg_pool(x)
