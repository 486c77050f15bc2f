"""ResNet (course chapter 10.5): residual blocks with BatchNorm, ResNet-18/34/50.

Laid out as torchvision's (3×224×224 input, 1000 classes)::

  conv1 7×7/2, padding 3, 64, no bias; bn1; ReLU          -> 112×112×64
  max pool 3×3/2, padding 1                               ->  56×56×64
  layer1 … layer4: stages of blocks, 64/128/256/512 channels (× 4 for bottlenecks); the
    first block of layers 2-4 halves the resolution (stride 2 on its 3×3 convolution)
  global average pooling; fc                              -> classes

A :class:`BasicBlock` is two 3×3 convolutions with BatchNorm; a :class:`Bottleneck` is 1×1
(reduce), 3×3, 1×1 (expand ×4). Where a block changes shape, the shortcut is a 1×1
convolution and BatchNorm (``downsample_0``, ``downsample_1``). ResNet-18, -34 and -50 have
11,689,512, 21,797,672 and 25,557,032 parameters, as in torchvision. ``small_input=True``
replaces the stem by a 3×3 stride-1 convolution without max pooling, for 32×32 images.
Padding is explicit and symmetric everywhere (torchvision's; Flax's ``"SAME"`` would pad a
stride-2 3×3 convolution only at the bottom/right).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets.params import count_params
  >>> shapes = jax.eval_shape(ResNet18().init, jax.random.key(0), jnp.ones((1, 224, 224, 3)))
  >>> count_params(shapes["params"]), sorted(shapes["batch_stats"])[:3]
  (11689512, ['bn1', 'layer1_0', 'layer1_1'])
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax

from jaxnets.models import blocks


class BasicBlock(nn.Module):
  """3×3 conv, BN, ReLU, 3×3 conv, BN, plus the shortcut, ReLU (ResNet-18/34).

  Attributes:
    features: output channels.
    stride: stride of the first convolution (2 halves the resolution).
    layers: layer factories in the model's precision.
  """

  features: int
  stride: int
  layers: blocks.Layers

  expansion = 1  # Output channels per `features`.

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    conv, norm = self.layers.conv, self.layers.norm
    y = conv(self.features, 3, self.stride, 1, use_bias=False, name="conv1")(x)
    y = nn.relu(norm(train, name="bn1")(y))
    y = conv(self.features, 3, 1, 1, use_bias=False, name="conv2")(y)
    y = norm(train, name="bn2")(y)
    return nn.relu(y + shortcut(x, self.features, self.stride, self.layers, train))


class Bottleneck(nn.Module):
  """1×1 reduce, 3×3 (with the stride), 1×1 expand ×4, each with BN, plus the shortcut.

  The stride sits on the 3×3 convolution (torchvision's "ResNet v1.5").

  Attributes:
    features: channels of the 1×1 reduction and the 3×3 convolution (output: 4×).
    stride: stride of the 3×3 convolution.
    layers: layer factories in the model's precision.
  """

  features: int
  stride: int
  layers: blocks.Layers

  expansion = 4

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    conv, norm = self.layers.conv, self.layers.norm
    y = nn.relu(norm(train, name="bn1")(conv(self.features, 1, use_bias=False, name="conv1")(x)))
    y = conv(self.features, 3, self.stride, 1, use_bias=False, name="conv2")(y)
    y = nn.relu(norm(train, name="bn2")(y))
    out = self.features * self.expansion
    y = norm(train, name="bn3")(conv(out, 1, use_bias=False, name="conv3")(y))
    return nn.relu(y + shortcut(x, out, self.stride, self.layers, train))


def shortcut(x: jax.Array, out: int, stride: int, layers: blocks.Layers, train: bool):
  """The identity, or a 1×1 convolution + BN where the block changes shape.

  Called inside a block's compact ``__call__``, so its layers belong to that block.
  """
  if stride == 1 and x.shape[-1] == out:
    return x
  x = layers.conv(out, 1, stride, use_bias=False, name="downsample_0")(x)
  return layers.norm(train, name="downsample_1")(x)


class ResNet(blocks.ImageClassifier):
  """A ResNet: stem, four stages of residual blocks, global average pooling, fc.

  Attributes:
    stage_sizes: blocks per stage (``(2, 2, 2, 2)`` is ResNet-18).
    block: :class:`BasicBlock` or :class:`Bottleneck`.
    num_filters: channels of the stem and the first stage (doubled at every stage).
    small_input: 3×3 stride-1 stem and no max pooling (for 32×32 images).
  """

  stage_sizes: Sequence[int] = (2, 2, 2, 2)
  block: type = BasicBlock
  num_filters: int = 64
  small_input: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self.check_fields(x)
    if self.block not in (BasicBlock, Bottleneck):
      raise ValueError(f"ResNet block must be BasicBlock or Bottleneck, got {self.block!r}.")
    width = self.channels(self.num_filters)
    if self.small_input:
      x = self.layers.conv(width, 3, 1, 1, use_bias=False, name="conv1")(x)
    else:
      x = self.layers.conv(width, 7, 2, 3, use_bias=False, name="conv1")(x)
    x = nn.relu(self.layers.norm(train, name="bn1")(x))
    if not self.small_input:
      x = blocks.max_pool(x, 3, 2, ((1, 1), (1, 1)))
    for stage, size in enumerate(self.stage_sizes):
      for i in range(size):
        stride = 2 if stage > 0 and i == 0 else 1
        x = self.block(width * 2**stage, stride, self.layers, name=f"layer{stage + 1}_{i}")(
          x, train
        )
    x = blocks.global_avg_pool(x)
    return self.layers.dense(self.num_classes, name="fc")(x)


ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), block=BasicBlock)
ResNet34 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block=BasicBlock)
ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block=Bottleneck)
