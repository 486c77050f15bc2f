"""What the modern CNNs of course chapter 10 share: precision, widths, initializers, layouts.

Every model of :mod:`jaxnets.models.alexnet`, :mod:`~jaxnets.models.vgg`,
:mod:`~jaxnets.models.nin`, :mod:`~jaxnets.models.googlenet` and
:mod:`~jaxnets.models.resnet` subclasses :class:`ImageClassifier`, so they all take
``num_classes``, ``width_multiplier`` (scales every channel count, for the small CPU variants)
and mixed precision the Flax way: ``dtype`` is the computation dtype (``"bfloat16"``, or
``"float16"`` on GPU) and ``param_dtype`` the storage dtype of the parameters (float32).
BatchNorm keeps float32 statistics whatever ``dtype`` is (Flax reduces in float32), and the
training engine computes the loss in float32.

Layers are named after torchvision's modules, a numeric index joined by ``_`` where
torchvision has ``.`` (``layer1_0/downsample_0`` is ``layer1.0.downsample.0``), so
:func:`jaxnets.models.torch_names.torch_key` maps every parameter onto its ``state_dict`` key.

Example:
  >>> ImageClassifier(width_multiplier=0.25).channels(64)
  16
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

DTYPES = ("float32", "bfloat16", "float16", "float64")  # float64 needs jax.enable_x64.

# torchvision's convolution initializer for ReLU networks: kaiming_normal_(mode="fan_out").
conv_kernel_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def flatten_chw(x: jax.Array) -> jax.Array:
  """``[n, h, w, c]`` → ``[n, c·h·w]`` in PyTorch's (channel-major) order.

  ``torch.flatten`` of an NCHW tensor orders features channel first; flattening in the same
  order keeps the first dense layer's weights identical to torchvision's (up to a transpose).
  """
  return jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)


def global_avg_pool(x: jax.Array) -> jax.Array:
  """``[n, h, w, c]`` → ``[n, c]``: the mean over all positions (``AdaptiveAvgPool2d(1)``)."""
  return jnp.mean(x, axis=(1, 2))


@dataclasses.dataclass(frozen=True)
class Layers:
  """Layer factories in one precision; a hashable value, so blocks take it as a field.

  Attributes:
    dtype: computation dtype.
    param_dtype: parameter dtype.
  """

  dtype: Any = "float32"
  param_dtype: Any = "float32"

  def conv(self, features: int, kernel: int, stride: int = 1, padding: int = 0, **kw: Any):
    """A square ``nn.Conv`` with symmetric explicit padding (as torchvision pads)."""
    kw.setdefault("kernel_init", conv_kernel_init)
    return nn.Conv(
      features,
      (kernel, kernel),
      strides=stride,
      padding=((padding, padding), (padding, padding)),
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      **kw,
    )

  def dense(self, features: int, **kw: Any):
    """An ``nn.Dense`` in this precision."""
    return nn.Dense(features, dtype=self.dtype, param_dtype=self.param_dtype, **kw)

  def norm(self, train: bool, epsilon: float = 1e-5, **kw: Any):
    """``nn.BatchNorm`` as PyTorch's ``BatchNorm2d`` (momentum 0.1 there is 0.9 here).

    The batch variance is the two-pass ``mean((x − mean)²)``, as PyTorch computes it, not
    Flax's default ``E[x²] − E[x]²``, which cancels catastrophically when the variance is
    small against the mean (e.g. few positions in the last stage).
    """
    return nn.BatchNorm(
      use_running_average=not train,
      momentum=0.9,
      epsilon=epsilon,
      use_fast_variance=False,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      **kw,
    )


class ImageClassifier(nn.Module):
  """Fields shared by the modern CNNs (a base class, not a model).

  Attributes:
    num_classes: output width.
    width_multiplier: every channel count (and hidden width) is scaled by it and rounded,
      at least 1; 1.0 is the published architecture. The classes are never scaled.
    dtype: computation dtype: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
    param_dtype: parameter dtype (keep float32 for mixed precision).
  """

  num_classes: int = 1000
  width_multiplier: float = 1.0
  dtype: Any = "float32"
  param_dtype: Any = "float32"

  @property
  def layers(self) -> Layers:
    """Layer factories in the model's precision."""
    return Layers(self.dtype, self.param_dtype)

  def check_fields(self, x: jax.Array) -> None:
    """Raises ``ValueError`` on bad fields or non-image input."""
    for field in ("dtype", "param_dtype"):
      value = getattr(self, field)
      try:
        valid = jnp.dtype(value).name in DTYPES
      except TypeError:
        valid = False
      if not valid:
        raise ValueError(
          f"{type(self).__name__} {field} must be one of {list(DTYPES)}, got {value!r}."
        )
    if not self.width_multiplier > 0:
      raise ValueError(f"width_multiplier must be positive, got {self.width_multiplier}.")
    if not isinstance(self.num_classes, int) or self.num_classes <= 0:
      raise ValueError(f"num_classes must be a positive int, got {self.num_classes!r}.")
    if x.ndim != 4:
      raise ValueError(
        f"{type(self).__name__} needs NHWC images [batch, height, width, channels], got shape "
        f"{x.shape}; add a channel axis (x[..., None]) to grayscale images."
      )

  def channels(self, c: int) -> int:
    """``c`` scaled by ``width_multiplier`` (at least 1)."""
    return max(1, round(c * self.width_multiplier))

  def conv(self, features: int, kernel: int, stride: int = 1, padding: int = 0, **kw: Any):
    """:meth:`Layers.conv` with ``features`` scaled by ``width_multiplier``."""
    return self.layers.conv(self.channels(features), kernel, stride, padding, **kw)


def max_pool(x: jax.Array, window: int, stride: int, padding: tuple = ((0, 0), (0, 0))):
  """Max pooling (``flax.linen.max_pool``; padding with −∞ as PyTorch pads)."""
  return nn.max_pool(x, (window, window), (stride, stride), padding)
