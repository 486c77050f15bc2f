"""The MNIST-1D paper's baseline models (Greydanus, 2020) as linen modules.

The paper benchmarks three small models on 40-sample 1-D signals: logistic regression
(40 → 10), an MLP (40 → 100 → 100 → 10, ReLU) and a 1-D CNN (three convolutions with 25
channels and stride 2, ReLU, then one dense layer). The paper trains them with Adam
(learning rate 1e-2, batch 100, about 6000 steps) and reports test accuracies of 32 %, 68 %
and 94 %; ``experiments/mnist1d_table.py`` reproduces that table.

Differences from the reference PyTorch code, on purpose:

* Flax's default initializers (LeCun-normal kernels, zero biases) replace PyTorch's
  uniform ones (``init_style="torch"`` selects a PyTorch-like uniform ±1/√fan_in scheme).
* The CNN flattens its features in (width, channel) order instead of (channel, width);
  the dense layer sees the same 125 numbers in another order, which changes nothing.
* The reference notebook's MLP adds a skip connection around its second hidden layer;
  ``residual=True`` turns it on (the paper's text describes the plain MLP, the default).

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = MNIST1DCNN()
  >>> variables = model.init(jax.random.key(0), jnp.ones((2, 40)))
  >>> model.apply(variables, jnp.ones((2, 40))).shape
  (2, 10)
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxnets.models.linear import flatten

Initializer = Callable[..., jax.Array]


def torch_uniform(fan_in_axes: tuple[int, ...]) -> Initializer:
  """PyTorch's default ``Linear``/``Conv`` initializer: U(−1/√fan_in, 1/√fan_in).

  Args:
    fan_in_axes: the axes of the kernel whose product is the fan-in (``(0,)`` for a Dense
      kernel ``[in, out]``, ``(0, 1)`` for a 1-D conv kernel ``[width, in, out]``).

  Returns:
    A Flax initializer ``(key, shape, dtype) -> array``.
  """

  def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
    fan_in = 1
    for axis in fan_in_axes:
      fan_in *= shape[axis]
    bound = 1.0 / jnp.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def torch_bias(fan_in: int) -> Initializer:
  """PyTorch's default bias initializer: U(−1/√fan_in, 1/√fan_in)."""

  def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
    bound = 1.0 / fan_in**0.5
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


INIT_STYLES = ("flax", "torch")


def _check_init(init_style: str, **sizes: int) -> None:
  """Raises ValueError for an unknown init style or a size (width, channels) below 1."""
  if init_style not in INIT_STYLES:
    raise ValueError(f"Unknown init_style {init_style!r}; valid init styles: {list(INIT_STYLES)}.")
  for name, size in sizes.items():
    if size <= 0:
      raise ValueError(f"{name.replace('_', ' ')} must be positive, got {size}.")


def _dense(features: int, fan_in: int, init_style: str, name: str | None = None) -> nn.Dense:
  """A Dense layer with Flax's or PyTorch's default initialization."""
  if init_style == "flax":
    return nn.Dense(features, name=name)
  return nn.Dense(
    features, kernel_init=torch_uniform((0,)), bias_init=torch_bias(fan_in), name=name
  )


def _signal(x: jax.Array) -> jax.Array:
  """``f32[B, 40]`` (or ``[B, 40, 1]``) signals as ``f32[B, W, 1]`` for 1-D convolution."""
  if x.ndim == 2:
    return x[..., None]
  if x.ndim == 3 and x.shape[-1] == 1:
    return x
  raise ValueError(
    f"MNIST-1D models take signals of shape [batch, width] or [batch, width, 1], got {x.shape}."
  )


class MNIST1DLogistic(nn.Module):
  """Logistic (softmax) regression, 40 → ``num_classes`` (the paper's 32 % baseline).

  Attributes:
    num_classes: number of output classes.
    init_style: ``"flax"`` (LeCun-normal kernel, zero bias) or ``"torch"`` (uniform ±1/√fan_in).
  """

  num_classes: int = 10
  init_style: str = "flax"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    _check_init(self.init_style)
    x = flatten(x)
    return _dense(self.num_classes, x.shape[-1], self.init_style)(x)


class MNIST1DMLP(nn.Module):
  """MLP 40 → 100 → 100 → ``num_classes`` with ReLU (the paper's 68 % baseline).

  Attributes:
    hidden: width of both hidden layers.
    num_classes: number of output classes.
    residual: add the second hidden layer's input to its output (the reference notebook).
    init_style: ``"flax"`` or ``"torch"``.
  """

  hidden: int = 100
  num_classes: int = 10
  residual: bool = False
  init_style: str = "flax"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    _check_init(self.init_style, hidden_width=self.hidden)
    x = flatten(x)
    h = nn.relu(_dense(self.hidden, x.shape[-1], self.init_style)(x))
    h2 = nn.relu(_dense(self.hidden, self.hidden, self.init_style)(h))
    h = h + h2 if self.residual else h2
    return _dense(self.num_classes, self.hidden, self.init_style)(h)


CONV_IMPLS = ("patches", "lax")
LAYOUTS = ("NWC", "CWN")


def _patches(x: jax.Array, width: int, stride: int, axis: int) -> tuple[jax.Array, int]:
  """Receptive fields of the (already padded) ``axis`` of ``x``, stacked on a new ``axis``.

  Returns the stack (``x``'s shape with ``width`` inserted before ``axis`` and ``axis`` cut to
  the output width) and the output width.
  """
  out_width = (x.shape[axis] - width) // stride + 1
  last = stride * (out_width - 1) + 1
  taps = [jax.lax.slice_in_dim(x, k, k + last, stride, axis) for k in range(width)]
  return jnp.stack(taps, axis=axis), out_width


class Conv1D(nn.Module):
  r"""1-D convolution with a ``[width, C, features]`` kernel, two ways and two layouts.

  ``impl="lax"`` calls ``lax.conv_general_dilated`` (through ``nn.Conv``'s math);
  ``impl="patches"`` gathers the receptive fields with strided slices and contracts them
  with the kernel in one matrix product (im2col). Both compute

  .. math:: y_{b,i,f} = \sum_{k,c} x_{b,\,s i + k - p,\,c}\, K_{k,c,f} + b_f

  with zero padding ``p``, and share parameters. Under ``jax.vmap`` over models the patch
  form becomes a batched matrix product, which XLA:CPU runs several times faster than the
  grouped convolution that a vmapped ``lax`` convolution turns into, especially inside
  ``lax.scan`` (``benchmarks/sweep.py`` measures it).

  ``layout="NWC"`` takes and returns ``[batch, width, channels]``; ``layout="CWN"`` (patches
  only) takes ``[channels, width, batch]`` and returns ``[features, width, batch]``. In CWN
  the product is ``K[f, (c, k)] @ P[(c, k), (i, b)]``, whose long output dimension
  (positions × batch) XLA:CPU's small matrix products run 1.5x faster than NWC's
  ``P[(b, i), (k, c)] @ K[(k, c), f]`` with its 25-wide output (``benchmarks/RESULTS.md``).

  Attributes:
    features: output channels.
    width: kernel width.
    stride: stride s.
    padding: zeros p added on each side.
    impl: ``"patches"`` or ``"lax"``.
    layout: ``"NWC"`` or ``"CWN"``.
    kernel_init: kernel initializer.
    bias_init: bias initializer.
  """

  features: int
  width: int
  stride: int = 1
  padding: int = 0
  impl: str = "patches"
  layout: str = "NWC"
  kernel_init: Initializer = nn.initializers.lecun_normal()
  bias_init: Initializer = nn.initializers.zeros

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if self.impl not in CONV_IMPLS:
      raise ValueError(f"Unknown conv impl {self.impl!r}; valid impls: {list(CONV_IMPLS)}.")
    if self.layout not in LAYOUTS:
      raise ValueError(f"Unknown conv layout {self.layout!r}; valid layouts: {list(LAYOUTS)}.")
    if self.layout == "CWN" and self.impl != "patches":
      raise ValueError("Conv1D's CWN layout needs impl='patches'.")
    if min(self.features, self.width, self.stride) <= 0 or self.padding < 0:
      raise ValueError(
        f"Conv1D needs positive features/width/stride and padding >= 0, got "
        f"{(self.features, self.width, self.stride, self.padding)}."
      )
    if x.ndim != 3:
      raise ValueError(f"Conv1D takes 3-D ({self.layout}) inputs, got shape {x.shape}.")
    channel_axis = -1 if self.layout == "NWC" else 0
    kernel = self.param(
      "kernel", self.kernel_init, (self.width, x.shape[channel_axis], self.features)
    )
    bias = self.param("bias", self.bias_init, (self.features,))
    if self.impl == "lax":
      y = jax.lax.conv_general_dilated(
        x, kernel, (self.stride,), [(self.padding,) * 2], dimension_numbers=("NWC", "WIO", "NWC")
      )
      return y + bias
    if x.shape[1] + 2 * self.padding < self.width:
      raise ValueError(
        f"Input width {x.shape[1]} is too short for a kernel "
        f"of width {self.width} with padding {self.padding}."
      )
    x = jnp.pad(x, [(0, 0), (self.padding, self.padding), (0, 0)])
    patches, out_width = _patches(x, self.width, self.stride, axis=1)
    if self.layout == "NWC":  # patches [B, k, W_out, C]
      return jnp.einsum("bkwc,kcf->bwf", patches, kernel) + bias
    channels, _, batch = x.shape  # patches [C, k, W_out, B]
    rows = patches.reshape(channels * self.width, out_width * batch)
    y = jnp.transpose(kernel, (2, 1, 0)).reshape(self.features, -1) @ rows
    return y.reshape(self.features, out_width, batch) + bias[:, None, None]


class MNIST1DCNN(nn.Module):
  """1-D CNN: three stride-2 convolutions with ReLU, then a dense classifier (paper: 94 %).

  Kernel widths 5, 3, 3 with one zero of padding per side, as in the paper's code: a
  40-sample input gives feature widths 19 → 10 → 5, so the classifier sees 5 × 25 = 125
  features.

  Attributes:
    channels: channels of every convolution.
    kernel_sizes: kernel width of each of the three convolutions.
    num_classes: number of output classes.
    conv_impl: ``"patches"`` (im2col + matrix product in the CWN layout: the signals are
      transposed once to ``[channels, width, batch]``; fast under vmap on CPU) or ``"lax"``
      (``lax.conv_general_dilated`` in NWC); both give the same function of the same
      parameters.
    init_style: ``"flax"`` or ``"torch"``.
  """

  channels: int = 25
  kernel_sizes: tuple[int, int, int] = (5, 3, 3)
  num_classes: int = 10
  conv_impl: str = "patches"
  init_style: str = "flax"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    _check_init(self.init_style, channels=self.channels)
    h = _signal(x)
    layout = "CWN" if self.conv_impl == "patches" else "NWC"
    if layout == "CWN":
      h = jnp.transpose(h, (2, 1, 0))
    for i, width in enumerate(self.kernel_sizes):
      inits = {}
      if self.init_style == "torch":
        fan_in = width * h.shape[-1 if layout == "NWC" else 0]
        inits = {"kernel_init": torch_uniform((0, 1)), "bias_init": torch_bias(fan_in)}
      h = Conv1D(
        self.channels,
        width,
        stride=2,
        padding=1,
        impl=self.conv_impl,
        layout=layout,
        name=f"conv{i + 1}",
        **inits,
      )(h)
      h = nn.relu(h)
    if layout == "CWN":  # Back to [batch, width, channels]: the dense kernel's row order.
      h = jnp.transpose(h, (2, 1, 0))
    h = flatten(h)
    return _dense(self.num_classes, h.shape[-1], self.init_style, name="dense")(h)
