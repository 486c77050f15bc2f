"""AlexNet (course chapter 10.1): five convolutions, max pooling, ReLU and dropout.

Two layouts of one class. :class:`AlexNet` (the defaults) is torchvision's (the single-GPU
variant of the paper, 3×224×224 input, 61,100,840 parameters with 1000 classes)::

  features_0   conv 11×11/4, padding 2, 64    -> 55×55×64
               max pool 3×3/2                 -> 27×27×64
  features_3   conv 5×5, padding 2, 192       -> 27×27×192
               max pool 3×3/2                 -> 13×13×192
  features_6   conv 3×3, padding 1, 384       -> 13×13×384
  features_8   conv 3×3, padding 1, 256       -> 13×13×256
  features_10  conv 3×3, padding 1, 256       -> 13×13×256
               max pool 3×3/2                 ->  6×6×256
               adaptive average pool to 6×6, flatten (channel-major) -> 9216
  classifier_1 dropout, dense 4096; classifier_4 dropout, dense 4096; classifier_6 dense

with ReLU after every convolution and hidden dense layer. :data:`AlexNetCourse` is the
course's (the paper's widths 96-256-384-384-256, padding 1 in the first layer, no adaptive
pooling: a 224×224 input reaches the classifier as 5×5×256 = 6400 features).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets.params import count_params
  >>> shapes = jax.eval_shape(AlexNet().init, jax.random.key(0), jnp.ones((1, 224, 224, 3)))
  >>> count_params(shapes["params"])
  61100840
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax

from jaxnets.models import blocks
from jaxnets.nn import ops


class AlexNet(blocks.ImageClassifier):
  """AlexNet with configurable widths (see the module docstring for the layers).

  Attributes:
    widths: output channels of the five convolutions.
    first_padding: padding of the 11×11 stride-4 convolution.
    pool_size: adaptive average pooling before the classifier (torchvision's ``(6, 6)``), or
      ``None`` to flatten the last pooling's output as it is.
    hidden: width of the two hidden dense layers (scaled by ``width_multiplier``).
    dropout_rate: dropout before each hidden dense layer (training only).
  """

  widths: Sequence[int] = (64, 192, 384, 256, 256)
  first_padding: int = 2
  pool_size: tuple[int, int] | None = (6, 6)
  hidden: int = 4096
  dropout_rate: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self.check_fields(x)
    if len(self.widths) != 5:
      raise ValueError(f"AlexNet has five convolutions; got widths={tuple(self.widths)}.")
    c1, c2, c3, c4, c5 = self.widths
    x = nn.relu(self.conv(c1, 11, 4, self.first_padding, name="features_0")(x))
    x = blocks.max_pool(x, 3, 2)
    x = nn.relu(self.conv(c2, 5, 1, 2, name="features_3")(x))
    x = blocks.max_pool(x, 3, 2)
    x = nn.relu(self.conv(c3, 3, 1, 1, name="features_6")(x))
    x = nn.relu(self.conv(c4, 3, 1, 1, name="features_8")(x))
    x = nn.relu(self.conv(c5, 3, 1, 1, name="features_10")(x))
    x = blocks.max_pool(x, 3, 2)
    if self.pool_size is not None:
      x = ops.adaptive_avg_pool2d(x, self.pool_size)
    x = blocks.flatten_chw(x)
    for index in (1, 4):
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
      x = nn.relu(self.layers.dense(self.channels(self.hidden), name=f"classifier_{index}")(x))
    return self.layers.dense(self.num_classes, name="classifier_6")(x)


AlexNetCourse = functools.partial(
  AlexNet, widths=(96, 256, 384, 384, 256), first_padding=1, pool_size=None
)
