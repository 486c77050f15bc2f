"""GoogLeNet (course chapter 10.4): Inception blocks, four parallel paths on channels.

An :class:`Inception` block runs four paths on the same input and concatenates their
channels: a 1×1 convolution; 1×1 then 3×3; 1×1 then 3×3 (5×5 in the paper and the course);
3×3 max pooling then 1×1. :class:`GoogLeNet` (the defaults) is torchvision's (3×224×224,
1000 classes, no auxiliary heads, 6,624,904 parameters)::

  conv1 7×7/2, padding 3, 64          -> 112×112×64,  maxpool1 3×3/2 (ceil) -> 56×56
  conv2 1×1, 64; conv3 3×3, 192       ->  56×56×192,  maxpool2              -> 28×28
  inception3a, 3b                     ->  28×28×480,  maxpool3              -> 14×14
  inception4a … 4e                    ->  14×14×832,  maxpool4 2×2/2 (ceil) ->  7×7
  inception5a, 5b                     ->   7×7×1024,  global average pooling, dropout 0.2, fc

Every convolution is a ``BasicConv2d``: convolution without bias, BatchNorm (ε = 1e-3), ReLU
(named ``{layer}/conv`` and ``{layer}/bn``). Max pooling rounds its output size up as PyTorch's
``ceil_mode=True`` does. :data:`GoogLeNetCourse` is the course's network: no BatchNorm
(convolutions with bias), 5×5 third paths, max pooling with padding 1, no dropout.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets.params import count_params
  >>> shapes = jax.eval_shape(GoogLeNet().init, jax.random.key(0), jnp.ones((1, 224, 224, 3)))
  >>> count_params(shapes["params"])
  6624904
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxnets.models import blocks
from jaxnets.nn import ops

# (name, 1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection) per Inception block, in three
# stages with a max pooling between them (maxpool3, maxpool4).
INCEPTION_STAGES: tuple = (
  (
    ("inception3a", 64, 96, 128, 16, 32, 32),
    ("inception3b", 128, 128, 192, 32, 96, 64),
  ),
  (
    ("inception4a", 192, 96, 208, 16, 48, 64),
    ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64),
    ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128),
  ),
  (
    ("inception5a", 256, 160, 320, 32, 128, 128),
    ("inception5b", 384, 192, 384, 48, 128, 128),
  ),
)


class BasicConv2d(nn.Module):
  """Convolution, BatchNorm (ε = 1e-3), ReLU; or convolution with bias, ReLU without BN.

  Attributes:
    features: output channels.
    kernel: kernel size (square), with ``padding`` on every side.
    stride: stride.
    padding: symmetric padding.
    batch_norm: whether to normalize (torchvision) or not (the course).
    layers: layer factories in the model's precision.
  """

  features: int
  kernel: int
  stride: int
  padding: int
  batch_norm: bool
  layers: blocks.Layers

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    x = self.layers.conv(
      self.features,
      self.kernel,
      self.stride,
      self.padding,
      use_bias=not self.batch_norm,
      name="conv",
    )(x)
    if self.batch_norm:
      x = self.layers.norm(train, epsilon=1e-3, name="bn")(x)
    return nn.relu(x)


def _max_pool(x: jax.Array, window: int, stride: int, padding: int, ceil_mode: bool):
  """PyTorch's ``MaxPool2d(window, stride, padding, ceil_mode)`` on NHWC ``x``."""
  if ceil_mode:
    pads = tuple(ops.ceil_mode_padding(n, window, stride, padding) for n in x.shape[1:3])
  else:
    pads = ((padding, padding), (padding, padding))
  return blocks.max_pool(x, window, stride, pads)


class Inception(nn.Module):
  """Four parallel paths, concatenated on channels.

  Attributes:
    widths: ``(1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection)`` channels.
    third_kernel: kernel of the third path's second convolution (3 torchvision, 5 paper).
    batch_norm: ``BasicConv2d`` with BatchNorm.
    ceil_mode: the pooling path's rounding (torchvision: ceil, the course: floor).
    layers: layer factories in the model's precision.
  """

  widths: Sequence[int]
  third_kernel: int
  batch_norm: bool
  ceil_mode: bool
  layers: blocks.Layers

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    c1, c2_reduce, c2, c3_reduce, c3, c4 = self.widths
    conv = functools.partial(BasicConv2d, batch_norm=self.batch_norm, layers=self.layers)
    p3 = self.third_kernel // 2
    path1 = conv(c1, 1, 1, 0, name="branch1")(x, train)
    path2 = conv(c2_reduce, 1, 1, 0, name="branch2_0")(x, train)
    path2 = conv(c2, 3, 1, 1, name="branch2_1")(path2, train)
    path3 = conv(c3_reduce, 1, 1, 0, name="branch3_0")(x, train)
    path3 = conv(c3, self.third_kernel, 1, p3, name="branch3_1")(path3, train)
    path4 = _max_pool(x, 3, 1, 1, self.ceil_mode)
    path4 = conv(c4, 1, 1, 0, name="branch4_1")(path4, train)
    return jnp.concatenate([path1, path2, path3, path4], axis=-1)


class GoogLeNet(blocks.ImageClassifier):
  """GoogLeNet (see the module docstring for the layers).

  Attributes:
    batch_norm: ``BasicConv2d`` with BatchNorm (torchvision) or convolutions with bias.
    third_kernel: 3 (torchvision) or 5 (the paper and the course).
    ceil_mode: PyTorch's ``ceil_mode=True`` max pooling (torchvision) or floor rounding with
      padding 1 (the course).
    dropout_rate: dropout before the classifier (training only).
  """

  batch_norm: bool = True
  third_kernel: int = 3
  ceil_mode: bool = True
  dropout_rate: float = 0.2

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self.check_fields(x)
    if self.third_kernel not in (3, 5):
      raise ValueError(f"GoogLeNet third_kernel must be 3 or 5, got {self.third_kernel!r}.")
    conv = functools.partial(BasicConv2d, batch_norm=self.batch_norm, layers=self.layers)
    ch = self.channels
    # torchvision pools with ceil_mode and no padding; the course with padding 1 and floor.
    pool = functools.partial(
      _max_pool, padding=0 if self.ceil_mode else 1, ceil_mode=self.ceil_mode
    )
    x = conv(ch(64), 7, 2, 3, name="conv1")(x, train)
    x = pool(x, 3, 2)
    x = conv(ch(64), 1, 1, 0, name="conv2")(x, train)
    x = conv(ch(192), 3, 1, 1, name="conv3")(x, train)
    x = pool(x, 3, 2)
    # maxpool3 is 3×3/2; maxpool4 is torchvision's 2×2/2, the course's 3×3/2.
    between = ((3, 2), (2, 2) if self.ceil_mode else (3, 2))
    for stage, specs in enumerate(INCEPTION_STAGES):
      if stage:
        x = pool(x, *between[stage - 1])
      for name, *widths in specs:
        x = Inception(
          tuple(ch(w) for w in widths),
          self.third_kernel,
          self.batch_norm,
          self.ceil_mode,
          self.layers,
          name=name,
        )(x, train)
    x = blocks.global_avg_pool(x)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return self.layers.dense(self.num_classes, name="fc")(x)


GoogLeNetCourse = functools.partial(
  GoogLeNet, batch_norm=False, third_kernel=5, ceil_mode=False, dropout_rate=0.0
)
