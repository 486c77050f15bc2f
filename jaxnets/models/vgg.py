"""VGG (course chapter 10.2): networks built from a list of VGG blocks.

A VGG block is ``num_convs`` 3×3 convolutions (padding 1, ReLU; BatchNorm before the ReLU in
the ``_bn`` variants) followed by a 2×2 max pooling that halves the resolution. The network is
the blocks, an adaptive average pooling to 7×7 (torchvision's; identity for 224×224 input),
a channel-major flatten and three dense layers (4096, 4096, classes) with dropout after the
hidden ones. ``arch`` lists ``(num_convs, channels)`` per block, as the course writes it::

  VGG-11: ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))    132,863,336 parameters
  VGG-16: ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))    138,357,544 parameters

(3×224×224 input, 1000 classes, torchvision's counts). Layer names follow torchvision's
``features``/``classifier`` indices (``features_0`` is ``features.0``).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets.params import count_params
  >>> shapes = jax.eval_shape(VGG11().init, jax.random.key(0), jnp.ones((1, 224, 224, 3)))
  >>> count_params(shapes["params"])
  132863336
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax

from jaxnets.models import blocks
from jaxnets.nn import ops

VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
VGG16_ARCH = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


class VGG(blocks.ImageClassifier):
  """A VGG network from a list of VGG blocks.

  Attributes:
    arch: ``(num_convs, channels)`` per block.
    batch_norm: BatchNorm after every convolution (torchvision's ``vgg*_bn``).
    pool_size: adaptive average pooling before the classifier, or ``None`` to flatten the
      last block's output as it is (e.g. for small inputs).
    hidden: width of the two hidden dense layers (scaled by ``width_multiplier``).
    dropout_rate: dropout after each hidden dense layer (training only).
  """

  arch: Sequence[tuple[int, int]] = VGG11_ARCH
  batch_norm: bool = False
  pool_size: tuple[int, int] | None = (7, 7)
  hidden: int = 4096
  dropout_rate: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self.check_fields(x)
    if not self.arch or any(len(b) != 2 or b[0] < 1 for b in self.arch):
      raise ValueError(
        f"VGG arch must be a non-empty list of (num_convs >= 1, channels); got {self.arch!r}."
      )
    index = 0  # torchvision's index in `features`: conv, [bn], relu per layer; a pool per block.
    for num_convs, channels in self.arch:
      for _ in range(num_convs):
        x = self.conv(channels, 3, 1, 1, name=f"features_{index}")(x)
        if self.batch_norm:
          x = self.layers.norm(train, name=f"features_{index + 1}")(x)
        x = nn.relu(x)
        index += 3 if self.batch_norm else 2
      x = blocks.max_pool(x, 2, 2)
      index += 1
    if self.pool_size is not None:
      x = ops.adaptive_avg_pool2d(x, self.pool_size)
    x = blocks.flatten_chw(x)
    for layer in (0, 3):
      x = nn.relu(self.layers.dense(self.channels(self.hidden), name=f"classifier_{layer}")(x))
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return self.layers.dense(self.num_classes, name="classifier_6")(x)


VGG11 = functools.partial(VGG, arch=VGG11_ARCH)
VGG16 = functools.partial(VGG, arch=VGG16_ARCH)
VGG11BN = functools.partial(VGG, arch=VGG11_ARCH, batch_norm=True)
VGG16BN = functools.partial(VGG, arch=VGG16_ARCH, batch_norm=True)
