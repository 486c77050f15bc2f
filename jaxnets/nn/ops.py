"""Convolution and pooling written from scratch (course chapter 9), each equal to its built-in.

Layouts follow Flax: images are ``NHWC`` (batch, height, width, channels) and kernels are
``HWIO`` (kernel height, kernel width, input channels, output channels).

* :func:`corr2d` is the course's 2-D cross-correlation of one matrix with one kernel,
  written as its definition ``Y[i, j] = Σ X[i:i+kh, j:j+kw] ⊙ K``.
* :func:`conv2d` adds padding, stride, several input and output channels and a batch
  (im2col: gather every kernel offset, then one matrix product); :func:`conv1x1` is the
  1×1 convolution as a per-pixel dense layer; :class:`Conv2D` wraps :func:`conv2d` as a
  linen module with the same parameters as ``flax.linen.Conv``.
* :func:`pool2d` (:func:`max_pool2d`, :func:`avg_pool2d`) pools with window, stride, padding;
  :func:`ceil_mode_padding` gives PyTorch's ``ceil_mode`` and :func:`adaptive_avg_pool2d` its
  adaptive pooling (any input size to a fixed output size).
* :func:`conv_output_size`, :func:`count_params` and :func:`summary` (a layer-by-layer table of
  output shapes and parameter counts of any linen model).

Example:
  >>> import jax.numpy as jnp
  >>> x = jnp.ones((6, 8)).at[:, 2:6].set(0.0)
  >>> corr2d(x, jnp.array([[1.0, -1.0]]))[0].tolist()
  [0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]
  >>> conv_output_size(8, 3, 1, 2)
  4
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxnets.params import count_params  # noqa: F401  (re-exported: the course's counter)

# An int p (p on every side), a pair (p_h, p_w), explicit ((top, bottom), (left, right)),
# or the strings "VALID" (no padding) / "SAME" (output size ⌈n / s⌉, as in Flax and lax).
Padding = Union[int, Sequence[int], Sequence[Sequence[int]], str]
Size = Union[int, Sequence[int]]  # One size for both spatial dimensions, or (height, width).
Pair = tuple[int, int]  # (height, width), resolved.
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right)), resolved.
POOL_MODES = ("max", "avg")


def _is_int(v: Any) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _pair(value: int | Sequence[int], name: str, minimum: int = 1) -> Pair:
  """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``; checks each entry is an int ≥ ``minimum``."""
  pair = (value, value) if _is_int(value) else tuple(value)
  if len(pair) != 2 or not all(_is_int(v) for v in pair):
    raise ValueError(f"{name} must be an int or a pair of ints (height, width), got {value!r}.")
  if any(v < minimum for v in pair):
    raise ValueError(f"{name} must be >= {minimum} in every dimension, got {value!r}.")
  return pair


def conv_output_size(n: int, k: int, p: int = 0, s: int = 1) -> int:
  """Output length of a convolution or pooling along one dimension.

  .. math:: n_\\text{out} = \\left\\lfloor \\frac{n + 2p - k + s}{s} \\right\\rfloor

  Args:
    n: input length (positive).
    k: kernel or window length (positive, at most ``n + 2p``).
    p: padding added on each side (non-negative).
    s: stride (positive).

  Returns:
    The output length (at least 1).

  Raises:
    ValueError: a non-positive size or stride, negative padding, or a kernel larger than
      the padded input.

  Example:
    >>> conv_output_size(8, 3, 1, 1), conv_output_size(8, 3, 1, 2)
    (8, 4)
  """
  return _output_size(n, k, p, p, s, "dimension")


def _output_size(n: int, k: int, lo: int, hi: int, s: int, dim: str) -> int:
  for name, v, least in (
    ("input size n", n, 1),
    ("kernel size k", k, 1),
    ("stride s", s, 1),
    ("padding p", lo, 0),
    ("padding p", hi, 0),
  ):
    if not _is_int(v) or v < least:
      raise ValueError(f"{name} must be an integer >= {least} along {dim}, got {v!r}.")
  if k > n + lo + hi:
    raise ValueError(
      f"Kernel/window size {k} is larger than the padded input along {dim}: input {n} + "
      f"padding {lo} + {hi} = {n + lo + hi}. Use a kernel of at most {n + lo + hi} or more "
      f"padding."
    )
  return (n + lo + hi - k + s) // s


def _resolve_padding(
  padding: Padding, in_hw: Sequence[int], k_hw: Sequence[int], strides: Sequence[int]
) -> Pads:
  """Explicit ``((top, bottom), (left, right))`` padding from any :data:`Padding` form."""
  if isinstance(padding, str):
    mode = padding.upper()
    if mode == "VALID":
      return ((0, 0), (0, 0))
    if mode == "SAME":  # Output ⌈n / s⌉; the odd extra pixel goes to the bottom/right.
      pads = []
      for n, k, s in zip(in_hw, k_hw, strides, strict=True):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
      return tuple(pads)
    raise ValueError(f"padding string must be 'SAME' or 'VALID', got {padding!r}.")
  if _is_int(padding) or (len(padding) == 2 and all(_is_int(p) for p in padding)):
    ph, pw = _pair(padding, "padding", minimum=0)
    return ((ph, ph), (pw, pw))
  pads = tuple(tuple(p) for p in padding)
  if len(pads) != 2 or any(len(p) != 2 or not all(_is_int(v) and v >= 0 for v in p) for p in pads):
    raise ValueError(
      "padding must be an int, a pair (p_h, p_w), ((top, bottom), (left, right)) with "
      f"non-negative ints, or 'SAME'/'VALID'; got {padding!r}."
    )
  return pads


def _check_ndim(x: jax.Array, ndim: int, what: str, layout: str) -> None:
  if x.ndim != ndim:
    raise ValueError(f"{what} must be a {ndim}-D array {layout}, got shape {x.shape}.")


def corr2d(x: ArrayLike, k: ArrayLike) -> jax.Array:
  """The course's 2-D cross-correlation of a matrix with a kernel (no padding, stride 1).

  .. math:: Y_{ij} = \\sum_{a=0}^{k_h-1} \\sum_{b=0}^{k_w-1} X_{i+a,\\, j+b}\\, K_{ab}

  Written as the definition: every output element is the sum of the window
  ``X[i:i+kh, j:j+kw]`` times ``K``, vectorized over ``(i, j)`` with ``jax.vmap``.

  Args:
    x: input matrix ``[h, w]``.
    k: kernel ``[kh, kw]`` with ``kh <= h`` and ``kw <= w``.

  Returns:
    ``[h - kh + 1, w - kw + 1]``.

  Example:
    >>> x = jnp.arange(9.0).reshape(3, 3)
    >>> corr2d(x, jnp.array([[0.0, 1.0], [2.0, 3.0]])).tolist()
    [[19.0, 25.0], [37.0, 43.0]]
  """
  x, k = jnp.asarray(x), jnp.asarray(k)
  _check_ndim(x, 2, "corr2d input x", "[height, width]")
  _check_ndim(k, 2, "corr2d kernel k", "[kh, kw]")
  (h, w), (kh, kw) = x.shape, k.shape
  _output_size(h, kh, 0, 0, 1, "height")
  _output_size(w, kw, 0, 0, 1, "width")
  return _corr2d(x, k)


@jax.jit
def _corr2d(x: jax.Array, k: jax.Array) -> jax.Array:
  (h, w), (kh, kw) = x.shape, k.shape

  def at(i, j):
    return jnp.sum(lax.dynamic_slice(x, (i, j), (kh, kw)) * k)

  rows, cols = jnp.arange(h - kh + 1), jnp.arange(w - kw + 1)
  return jax.vmap(lambda i: jax.vmap(lambda j: at(i, j))(cols))(rows)


def corr2d_multi_in(x: ArrayLike, k: ArrayLike) -> jax.Array:
  """Several input channels: cross-correlate each channel with its kernel slice and sum.

  Args:
    x: ``[h, w, c_in]``.
    k: ``[kh, kw, c_in]``.

  Returns:
    ``[h - kh + 1, w - kw + 1]``.

  Example:
    >>> x = jnp.stack([jnp.arange(9.0).reshape(3, 3), jnp.arange(1.0, 10.0).reshape(3, 3)], -1)
    >>> k = jnp.stack([jnp.array([[0.0, 1.0], [2.0, 3.0]]),
    ...                jnp.array([[1.0, 2.0], [3.0, 4.0]])], -1)
    >>> corr2d_multi_in(x, k).tolist()
    [[56.0, 72.0], [104.0, 120.0]]
  """
  x, k = jnp.asarray(x), jnp.asarray(k)
  _check_ndim(x, 3, "corr2d_multi_in input x", "[h, w, c_in]")
  _check_ndim(k, 3, "corr2d_multi_in kernel k", "[kh, kw, c_in]")
  if x.shape[-1] != k.shape[-1]:
    raise ValueError(f"Input has {x.shape[-1]} channels but the kernel has {k.shape[-1]}.")
  return sum(corr2d(x[..., c], k[..., c]) for c in range(x.shape[-1]))


def corr2d_multi_in_out(x: ArrayLike, k: ArrayLike) -> jax.Array:
  """Several output channels: one multi-input cross-correlation per output kernel, stacked.

  Args:
    x: ``[h, w, c_in]``.
    k: ``[kh, kw, c_in, c_out]`` (HWIO).

  Returns:
    ``[h - kh + 1, w - kw + 1, c_out]``.

  Example:
    >>> corr2d_multi_in_out(jnp.ones((3, 3, 2)), jnp.ones((2, 2, 2, 3))).shape
    (2, 2, 3)
  """
  k = jnp.asarray(k)
  _check_ndim(k, 4, "corr2d_multi_in_out kernel k", "[kh, kw, c_in, c_out]")
  return jnp.stack([corr2d_multi_in(x, k[..., o]) for o in range(k.shape[-1])], axis=-1)


def _windows(x: jax.Array, window: Pair, strides: Pair, pads: Pads, fill: Any) -> jax.Array:
  """Every window position of NHWC ``x``: ``[n, oh, ow, kh * kw, c]`` (im2col)."""
  n, h, w, c = x.shape
  (kh, kw), (sh, sw) = window, strides
  oh = _output_size(h, kh, *pads[0], sh, "height")
  ow = _output_size(w, kw, *pads[1], sw, "width")
  x = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
  # The slice starting at kernel offset (a, b), stepping by the stride, holds x[i*s + a, ...].
  taps = [
    x[:, a : a + sh * (oh - 1) + 1 : sh, b : b + sw * (ow - 1) + 1 : sw, :]
    for a in range(kh)
    for b in range(kw)
  ]
  return jnp.stack(taps, axis=3)


def conv2d(
  x: ArrayLike,
  kernel: ArrayLike,
  bias: ArrayLike | None = None,
  *,
  stride: int | Sequence[int] = 1,
  padding: Padding = 0,
) -> jax.Array:
  """2-D convolution (cross-correlation) of a batch with padding, stride and channels.

  .. math:: Y_{n,i,j,o} = b_o + \\sum_{a,b,c} X^{pad}_{n,\\, i s_h + a,\\, j s_w + b,\\, c}\\,
            K_{a,b,c,o}

  Computed from scratch by im2col: the ``kh·kw`` strided slices of the padded input are
  stacked into patches ``[n, oh, ow, kh·kw·c_in]`` and multiplied by the kernel reshaped to
  ``[kh·kw·c_in, c_out]``. Equal to ``lax.conv_general_dilated`` with
  ``("NHWC", "HWIO", "NHWC")`` dimension numbers.

  Args:
    x: images ``[n, h, w, c_in]``.
    kernel: ``[kh, kw, c_in, c_out]``.
    bias: optional ``[c_out]``.
    stride: int or ``(s_h, s_w)``, positive.
    padding: zero padding, see :data:`Padding`.

  Returns:
    ``[n, oh, ow, c_out]`` with ``oh = ⌊(h + p_top + p_bottom − kh + s_h) / s_h⌋`` etc.

  Raises:
    ValueError: wrong ranks, mismatched channels, non-positive stride, negative padding,
      or a kernel larger than the padded input.

  Example:
    >>> conv2d(jnp.ones((1, 8, 8, 2)), jnp.ones((3, 3, 2, 4)), stride=2, padding=1).shape
    (1, 4, 4, 4)
  """
  x, kernel = jnp.asarray(x), jnp.asarray(kernel)
  _check_ndim(x, 4, "conv2d input x", "NHWC [batch, height, width, channels]")
  _check_ndim(kernel, 4, "conv2d kernel", "HWIO [kh, kw, c_in, c_out]")
  kh, kw, c_in, c_out = kernel.shape
  if x.shape[-1] != c_in:
    raise ValueError(
      f"conv2d: input has {x.shape[-1]} channels but the kernel expects "
      f"{c_in} (kernel shape {kernel.shape}, HWIO)."
    )
  strides = _pair(stride, "stride")
  pads = _resolve_padding(padding, x.shape[1:3], (kh, kw), strides)
  for i, dim in enumerate(("height", "width")):  # Clear errors before tracing.
    _output_size(x.shape[1 + i], kernel.shape[i], *pads[i], strides[i], dim)
  if bias is not None:
    bias = jnp.asarray(bias)
    if bias.shape != (c_out,):
      raise ValueError(f"conv2d: bias must have shape ({c_out},), got {bias.shape}.")
  return _conv2d(x, kernel, bias, strides, pads)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _conv2d(
  x: jax.Array,
  kernel: jax.Array,
  bias: jax.Array | None,
  strides: tuple[int, int],
  pads: Pads,
) -> jax.Array:
  kh, kw, c_in, c_out = kernel.shape
  patches = _windows(x, (kh, kw), strides, pads, 0)  # [n, oh, ow, kh*kw, c_in]
  n, oh, ow = patches.shape[:3]
  patches = patches.reshape(n, oh, ow, kh * kw * c_in)
  y = jnp.dot(patches, kernel.reshape(kh * kw * c_in, c_out))
  return y if bias is None else y + bias


def conv1x1(x: ArrayLike, kernel: ArrayLike, bias: ArrayLike | None = None) -> jax.Array:
  """1×1 convolution as a dense layer applied to every pixel: ``y[n,i,j] = x[n,i,j] W + b``.

  Args:
    x: ``[n, h, w, c_in]``.
    kernel: ``[c_in, c_out]`` or ``[1, 1, c_in, c_out]``.
    bias: optional ``[c_out]``.

  Returns:
    ``[n, h, w, c_out]``.

  Example:
    >>> conv1x1(jnp.ones((2, 3, 3, 4)), jnp.ones((4, 5))).shape
    (2, 3, 3, 5)
  """
  x, kernel = jnp.asarray(x), jnp.asarray(kernel)
  _check_ndim(x, 4, "conv1x1 input x", "NHWC")
  if kernel.ndim == 4 and kernel.shape[:2] == (1, 1):
    kernel = kernel[0, 0]
  _check_ndim(kernel, 2, "conv1x1 kernel", "[c_in, c_out] (or [1, 1, c_in, c_out])")
  if x.shape[-1] != kernel.shape[0]:
    raise ValueError(
      f"conv1x1: input has {x.shape[-1]} channels but the kernel expects {kernel.shape[0]}."
    )
  n, h, w, c_in = x.shape
  y = (x.reshape(n * h * w, c_in) @ kernel).reshape(n, h, w, -1)
  return y if bias is None else y + jnp.asarray(bias)


def pool2d(
  x: ArrayLike,
  window: int | Sequence[int],
  stride: int | Sequence[int] | None = None,
  padding: Padding = 0,
  mode: str = "max",
) -> jax.Array:
  """Max or average pooling over each channel separately.

  .. math:: Y_{n,i,j,c} = \\operatorname{max\\ or\\ mean}_{a<k_h,\\, b<k_w}
            X^{pad}_{n,\\, i s_h + a,\\, j s_w + b,\\, c}

  Like the course (and PyTorch), ``stride`` defaults to the window, so windows do not overlap
  (``flax.linen.max_pool`` defaults to stride 1). Max pooling pads with −∞, average pooling with
  zeros that count in the mean (PyTorch's ``count_include_pad=True``, Flax's default). As in
  PyTorch, padding may be at most half the window on each side (``"SAME"`` always is), so that
  every window holds at least one input pixel.

  Args:
    x: ``[n, h, w, c]``, or a matrix ``[h, w]`` as in the course's first examples.
    window: int or ``(kh, kw)``, positive.
    stride: int or ``(s_h, s_w)``, positive (default: ``window``).
    padding: see :data:`Padding`; at most ``window // 2`` on each side.
    mode: ``"max"`` or ``"avg"``.

  Returns:
    ``[n, oh, ow, c]`` (or ``[oh, ow]`` for matrix input).

  Raises:
    ValueError: an unknown mode, a bad window, stride or padding (more than half the window),
      or a window larger than the padded input.

  Example:
    >>> x = jnp.arange(9.0).reshape(3, 3)
    >>> pool2d(x, 2, stride=1).tolist(), pool2d(x, 2, stride=1, mode="avg").tolist()
    ([[4.0, 5.0], [7.0, 8.0]], [[2.0, 3.0], [5.0, 6.0]])
  """
  x = jnp.asarray(x)
  if mode not in POOL_MODES:
    raise ValueError(f"Unknown pooling mode {mode!r}; valid modes: {list(POOL_MODES)}.")
  if x.ndim == 2:
    return pool2d(x[None, :, :, None], window, stride, padding, mode)[0, :, :, 0]
  _check_ndim(x, 4, "pool2d input x", "NHWC (or a [height, width] matrix)")
  window = _pair(window, "window")
  strides = window if stride is None else _pair(stride, "stride")
  pads = _resolve_padding(padding, x.shape[1:3], window, strides)
  for i, dim in enumerate(("height", "width")):
    if max(pads[i]) > window[i] // 2:  # A window could then hold padding only (−∞ for max).
      raise ValueError(
        f"pool2d: padding {pads[i]} along {dim} exceeds half the window {window[i]}; "
        f"padding must be at most window // 2 = {window[i] // 2} on each side (as in PyTorch)."
      )
    _output_size(x.shape[1 + i], window[i], *pads[i], strides[i], dim)
  return _pool2d(x, window, strides, pads, mode)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _pool2d(x: jax.Array, window: Pair, strides: Pair, pads: Pads, mode: str) -> jax.Array:
  if mode == "max":
    fill = -jnp.inf if jnp.issubdtype(x.dtype, jnp.floating) else jnp.iinfo(x.dtype).min
    return jnp.max(_windows(x, window, strides, pads, fill), axis=3)
  return jnp.mean(_windows(x, window, strides, pads, 0), axis=3)


def max_pool2d(
  x: ArrayLike, window: Size, stride: Size | None = None, padding: Padding = 0
) -> jax.Array:
  """Max pooling: :func:`pool2d` with ``mode="max"``.

  Example:
    >>> max_pool2d(jnp.arange(16.0).reshape(1, 4, 4, 1), 3, stride=2, padding=1)[0, ..., 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
  """
  return pool2d(x, window, stride, padding, "max")


def avg_pool2d(
  x: ArrayLike, window: Size, stride: Size | None = None, padding: Padding = 0
) -> jax.Array:
  """Average pooling: :func:`pool2d` with ``mode="avg"``.

  Example:
    >>> avg_pool2d(jnp.arange(16.0).reshape(1, 4, 4, 1), 2)[0, ..., 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
  """
  return pool2d(x, window, stride, padding, "avg")


def ceil_mode_padding(n: int, window: int, stride: int, padding: int = 0) -> tuple[int, int]:
  """The ``(low, high)`` padding that makes a floor-mode pooling compute PyTorch's ``ceil_mode``.

  PyTorch's ``ceil_mode=True`` rounds the output size up, ``⌈(n + 2p − k) / s⌉ + 1``, but drops
  a last window that would start in the right padding. The extra window reads past the input;
  padding the high side just enough for it (with −∞ for max pooling) reproduces it.

  Args:
    n: input size along one dimension.
    window: window size ``k``.
    stride: stride ``s``.
    padding: PyTorch's symmetric padding ``p``.

  Returns:
    ``(p, p + extra)``.

  Example:
    >>> ceil_mode_padding(112, 3, 2), ceil_mode_padding(14, 2, 2)
    ((0, 1), (0, 0))
  """
  conv_output_size(n, window, padding, stride)  # Checks the arguments.
  ceil_out = -(-(n + 2 * padding - window) // stride) + 1
  if (ceil_out - 1) * stride >= n + padding:  # The last window would start in the padding.
    ceil_out -= 1
  extra = (ceil_out - 1) * stride + window - (n + 2 * padding)  # What the last window lacks.
  return padding, padding + max(extra, 0)


def adaptive_avg_pool2d(x: ArrayLike, output_size: Size) -> jax.Array:
  """PyTorch's adaptive average pooling: an ``oh × ow`` output from any input size.

  Output cell ``i`` averages input rows ``⌊i h / oh⌋ … ⌈(i + 1) h / oh⌉ − 1`` (and likewise for
  columns), so windows may overlap or differ in size. Because the mean over a rectangle is a
  row average of column averages, the pooling is two small averaging matrices,
  ``Y = P_h X P_wᵀ`` per channel: one ``einsum``, no Python loop over cells.

  Args:
    x: ``[n, h, w, c]`` images.
    output_size: int or ``(oh, ow)``, positive.

  Returns:
    ``[n, oh, ow, c]``, in the dtype of ``x``.

  Example:
    >>> adaptive_avg_pool2d(jnp.arange(9.0).reshape(1, 3, 3, 1), 2)[0, ..., 0].tolist()
    [[2.0, 3.0], [5.0, 6.0]]
  """
  x = jnp.asarray(x)
  _check_ndim(x, 4, "adaptive_avg_pool2d input x", "NHWC")
  oh, ow = _pair(output_size, "output_size")

  def averaging(n: int, out: int) -> jax.Array:
    rows = [[0.0] * n for _ in range(out)]
    for i in range(out):
      start, end = (i * n) // out, -(-((i + 1) * n) // out)
      rows[i][start:end] = [1.0 / (end - start)] * (end - start)
    return jnp.asarray(rows, x.dtype)

  return jnp.einsum("ih,jw,nhwc->nijc", averaging(x.shape[1], oh), averaging(x.shape[2], ow), x)


class Conv2D(nn.Module):
  """A convolution layer computed by the from-scratch :func:`conv2d`.

  Same attributes, parameter names and shapes (``kernel`` HWIO, ``bias``) and initializers as
  ``flax.linen.Conv``, so the two are interchangeable and give the same output for the same
  parameters.

  Attributes:
    features: output channels.
    kernel_size: int or ``(kh, kw)``.
    strides: int or ``(s_h, s_w)``.
    padding: see :data:`Padding` (default ``"SAME"``, as in Flax).
    use_bias: whether to add a bias.
    kernel_init: kernel initializer.
    bias_init: bias initializer.

  Example:
    >>> layer = Conv2D(4, (3, 3), padding=1)
    >>> variables = layer.init(jax.random.key(0), jnp.ones((1, 8, 8, 2)))
    >>> layer.apply(variables, jnp.ones((1, 8, 8, 2))).shape
    (1, 8, 8, 4)
  """

  features: int
  kernel_size: int | Sequence[int]
  strides: int | Sequence[int] = 1
  padding: Padding = "SAME"
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if not _is_int(self.features) or self.features <= 0:
      raise ValueError(f"Conv2D features must be a positive int, got {self.features!r}.")
    kh, kw = _pair(self.kernel_size, "kernel_size")
    kernel = self.param("kernel", self.kernel_init, (kh, kw, x.shape[-1], self.features))
    bias = self.param("bias", self.bias_init, (self.features,)) if self.use_bias else None
    return conv2d(x, kernel, bias, stride=self.strides, padding=self.padding)


class LayerSummary(NamedTuple):
  """One row of :func:`summary`: a sub-module (or a value the model sows) and what it produced."""

  name: str  # "conv1", "block1/conv" (nested modules joined by "/").
  output_shape: tuple  # Shape of the output; a tuple of shapes for several outputs.
  num_params: int  # Parameters of this module and its children (0 for sown values).


@dataclasses.dataclass(frozen=True)
class Summary:
  """A layer-by-layer model summary; ``str()`` formats it as a table."""

  layers: tuple[LayerSummary, ...]
  input_shape: tuple[int, ...]
  output_shape: tuple
  total_params: int

  def __str__(self) -> str:
    rows = [("layer", "output shape", "params")]
    rows += [(r.name, str(r.output_shape), f"{r.num_params:,}") for r in self.layers]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    fmt = lambda r: f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]:>{width[2]}}"
    rule = "-" * (sum(width) + 4)
    lines = [
      fmt(rows[0]),
      rule,
      *map(fmt, rows[1:]),
      rule,
      f"input {self.input_shape} -> output {self.output_shape}; total params {self.total_params:,}",
    ]
    return "\n".join(lines)


def _shapes(value: Any) -> tuple:
  shapes = tuple(tuple(leaf.shape) for leaf in jax.tree_util.tree_leaves(value))
  return shapes[0] if len(shapes) == 1 else shapes


def _subtree(tree: Any, path: Sequence[str]) -> Any:
  for key in path:
    if not isinstance(tree, dict) or key not in tree:
      return {}
    tree = tree[key]
  return tree


def summary(
  model: nn.Module, input_shape: Sequence[int], *, dtype: Any = jnp.float32, **call_kwargs: Any
) -> Summary:
  """Layer-by-layer output shapes and parameter counts of a linen model, without computing.

  The model is initialized abstractly (``jax.eval_shape``) with
  ``capture_intermediates=True``; each sub-module's output, and every value the model sows
  into the ``"intermediates"`` collection (e.g. pooling outputs), becomes one row, in the order
  the model produced them. A parent module's row precedes its children's.

  Args:
    model: an unbound linen module whose ``__call__`` takes the input first.
    input_shape: shape of one input batch, e.g. ``(1, 28, 28, 1)``.
    dtype: input dtype.
    **call_kwargs: extra ``__call__`` arguments (e.g. ``train=False``).

  Returns:
    A :class:`Summary`; ``print`` it for the table.

  Example:
    >>> s = summary(nn.Sequential([nn.Conv(3, (3, 3)), nn.Dense(2)]), (1, 8, 8, 2))
    >>> [(r.name, r.output_shape, r.num_params) for r in s.layers]
    [('layers_0', (1, 8, 8, 3), 57), ('layers_1', (1, 8, 8, 2), 8)]
  """
  input_shape = tuple(input_shape)
  if not input_shape or not all(_is_int(d) and d > 0 for d in input_shape):
    raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
  found: dict[str, Any] = {}

  def walk(tree: dict, params: dict, path: tuple[str, ...], rows: list) -> None:
    for key, value in tree.items():
      if key == "__call__":
        continue  # The module's own output: its row was added by the caller.
      name = "/".join(path + (key,))
      if isinstance(value, dict):  # A sub-module.
        out = value.get("__call__")
        rows.append(
          LayerSummary(
            name,
            _shapes(out) if out is not None else (),
            count_params(_subtree(params, path + (key,))),
          )
        )
        walk(value, params, path + (key,), rows)
      else:  # A value sown by the module at `path`.
        rows.append(LayerSummary(name, _shapes(value), 0))

  def init(x):
    variables = model.init(jax.random.key(0), x, capture_intermediates=True, **call_kwargs)
    # Read the row order here, on the traced (ordered) dicts; eval_shape's output is sorted.
    rows: list[LayerSummary] = []
    inter = variables.get("intermediates", {})
    walk(inter, variables.get("params", {}), (), rows)
    found["rows"] = tuple(rows)
    found["output"] = _shapes(inter.get("__call__", ()))
    found["total"] = count_params(variables.get("params", {}))
    return None

  jax.eval_shape(init, jax.ShapeDtypeStruct(input_shape, dtype))
  return Summary(found["rows"], input_shape, found["output"], found["total"])
