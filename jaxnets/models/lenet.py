"""LeNet-5 (course chapter 9.3): the classic sigmoid/average-pool net and its modern variant.

Layers (28×28×1 input, 10 classes; the classic variant has 61,706 parameters)::

  conv1  5×5, 6 channels, padding 2   -> 28×28×6      156 params
  pool1  2×2, stride 2                -> 14×14×6
  conv2  5×5, 16 channels             -> 10×10×16   2,416 params
  pool2  2×2, stride 2                ->  5×5×16
  fc1    400 -> 120                                48,120 params
  fc2    120 -> 84                                 10,164 params
  fc3     84 -> num_classes                           850 params

with the activation after conv1, conv2, fc1 and fc2. The pooling outputs are sown into the
``"intermediates"`` collection so :func:`jaxnets.nn.ops.summary` lists them.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets.params import count_params
  >>> model = LeNetClassic()
  >>> variables = model.init(jax.random.key(0), jnp.ones((1, 28, 28, 1)))
  >>> count_params(variables["params"]), model.apply(variables, jnp.ones((4, 28, 28, 1))).shape
  (61706, (4, 10))
"""

import functools

import flax.linen as nn
import jax

from jaxnets.models.linear import flatten
from jaxnets.models.mlp import get_activation
from jaxnets.nn import ops

POOLS = ("avg", "max")
IMPLS = ("flax", "scratch")


def _check_input_size(hw) -> None:
  """Every stage must fit: LeNet needs images of at least 12×12.

  12 → conv1 (padding 2) 12 → pool1 6 → conv2 2 → pool2 1; an 11×11 image reaches pool2 as
  1×1, which a 2×2 window does not fit.
  """
  try:
    for n in hw:
      n = ops.conv_output_size(n, 5, 2, 1)  # conv1
      n = ops.conv_output_size(n, 2, 0, 2)  # pool1
      n = ops.conv_output_size(n, 5, 0, 1)  # conv2
      ops.conv_output_size(n, 2, 0, 2)  # pool2
  except ValueError as err:
    raise ValueError(f"LeNet needs images of at least 12×12 pixels, got {tuple(hw)}.") from err


class LeNet(nn.Module):
  """LeNet-5: two conv/pool stages and three dense layers.

  Attributes:
    num_classes: output width.
    activation: ``sigmoid`` (classic), ``relu`` (modern) or ``tanh``.
    pool: ``avg`` (classic) or ``max`` (modern), 2×2 windows with stride 2.
    conv_impl: ``flax`` (``flax.linen.Conv``, XLA's convolution) or ``scratch``
      (:class:`jaxnets.nn.ops.Conv2D`); the parameters are the same.
    pool_impl: ``scratch`` (:func:`jaxnets.nn.ops.pool2d`: strided slices, then max/mean) or
      ``flax`` (``flax.linen.max_pool``/``avg_pool``: ``lax.reduce_window``). Equal outputs;
      the default is ``scratch`` because XLA:CPU differentiates max ``reduce_window`` slowly
      (``benchmarks/lenet.py``).
  """

  num_classes: int = 10
  activation: str = "sigmoid"
  pool: str = "avg"
  conv_impl: str = "flax"
  pool_impl: str = "scratch"

  def _pool(self, x: jax.Array) -> jax.Array:
    if self.pool_impl == "scratch":
      return ops.pool2d(x, 2, 2, mode=self.pool)
    pool_fn = nn.avg_pool if self.pool == "avg" else nn.max_pool
    return pool_fn(x, (2, 2), strides=(2, 2))

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No train-only behaviour.
    act = get_activation(self.activation)
    if self.pool not in POOLS:
      raise ValueError(f"Unknown LeNet pool {self.pool!r}; valid pools: {list(POOLS)}.")
    for field in ("conv_impl", "pool_impl"):
      if getattr(self, field) not in IMPLS:
        raise ValueError(f"Unknown LeNet {field} {getattr(self, field)!r}; valid: {list(IMPLS)}.")
    if x.ndim != 4:
      raise ValueError(
        f"LeNet needs NHWC images [batch, height, width, channels], got shape "
        f"{x.shape}; add a channel axis (x[..., None]) to grayscale images."
      )
    _check_input_size(x.shape[1:3])
    conv = ops.Conv2D if self.conv_impl == "scratch" else nn.Conv
    x = act(conv(6, (5, 5), padding=2, name="conv1")(x))
    x = self._pool(x)
    self.sow("intermediates", "pool1", x)
    x = act(conv(16, (5, 5), padding=0, name="conv2")(x))
    x = self._pool(x)
    self.sow("intermediates", "pool2", x)
    x = flatten(x)
    x = act(nn.Dense(120, name="fc1")(x))
    x = act(nn.Dense(84, name="fc2")(x))
    return nn.Dense(self.num_classes, name="fc3")(x)


# The course's LeNet-5 (sigmoid, average pooling) and the modern one (ReLU, max pooling).
LeNetClassic = functools.partial(LeNet, activation="sigmoid", pool="avg")
LeNetModern = functools.partial(LeNet, activation="relu", pool="max")
