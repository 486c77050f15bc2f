"""Xavier/Glorot and Kaiming/He initializers written from scratch (course chapter 7.6).

Each factory returns a ``jax.nn.initializers``-style function ``init(key, shape, dtype)``, so it
plugs into any Flax layer: ``nn.Dense(64, kernel_init=kaiming_normal())``. Fans follow the
``jax.nn.initializers`` convention: the input axis is ``-2``, the output axis ``-1`` and every
other axis is the receptive field, so a Dense kernel ``[in, out]`` and a Conv kernel
``[kh, kw, in, out]`` (HWIO) both work.

Scales (the variance the initializer aims for):

.. math::
  \\text{Xavier: } \\operatorname{Var}(w) = \\frac{2\\,g^2}{n_{in} + n_{out}}, \\qquad
  \\text{Kaiming: } \\operatorname{Var}(w) = \\frac{2}{(1 + a^2)\\, n_{mode}}

A uniform law ``U(-l, l)`` has variance ``l²/3``, so its limit is ``l = √(3 Var)``. The normal
laws are plain normals (as in the course) or, with ``truncated=True``, normals cut at ±2 standard
deviations and rescaled to keep the variance — the default of ``jax.nn.initializers.glorot_normal``
and ``he_normal``.

Example:
  >>> import jax, flax.linen as nn
  >>> w = kaiming_normal()(jax.random.key(0), (256, 128))
  >>> w.shape, w.dtype
  ((256, 128), dtype('float32'))
  >>> layer = nn.Dense(4, kernel_init=xavier_uniform())
  >>> layer.init(jax.random.key(0), jax.numpy.ones((1, 3)))["params"]["kernel"].shape
  (3, 4)
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

Initializer = Callable[..., jax.Array]  # init(key, shape, dtype=float32) -> jax.Array

MODES = ("fan_in", "fan_out")
_TRUNCATION = 2.0  # Truncated normals are cut at ±2 standard deviations.


def compute_fans(shape: Sequence[int], in_axis: int = -2, out_axis: int = -1) -> tuple[int, int]:
  """``(fan_in, fan_out)`` of a kernel: in/out sizes times the receptive-field size.

  Args:
    shape: kernel shape with at least two axes (``[in, out]`` or ``[kh, kw, in, out]``).
    in_axis: the input-feature axis.
    out_axis: the output-feature axis.

  Returns:
    The pair ``(fan_in, fan_out)``.

  Example:
    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
  """
  shape = tuple(int(s) for s in shape)
  if len(shape) < 2:
    raise ValueError(
      f"Fan-based initializers need a kernel with at least 2 axes ([in, out] or "
      f"[kh, kw, in, out]); got shape {shape}. Initialize biases with zeros instead."
    )
  if any(s <= 0 for s in shape):
    raise ValueError(f"Kernel shape must have positive sizes, got {shape}.")
  in_size, out_size = shape[in_axis], shape[out_axis]
  receptive_field = math.prod(shape) // (in_size * out_size)
  return in_size * receptive_field, out_size * receptive_field


def _check_positive(name: str, value: float) -> None:
  if not value > 0 or not math.isfinite(value):
    raise ValueError(f"{name} must be a positive finite number, got {value!r}.")


def _check_mode(mode: str) -> None:
  if mode not in MODES:
    raise ValueError(f"Unknown fan mode {mode!r}; valid modes: {list(MODES)}.")


def truncated_normal_std() -> float:
  """Standard deviation of N(0, 1) truncated to [-c, c] (c = 2): ≈ 0.87962566."""
  c = _TRUNCATION
  mass = math.erf(c / math.sqrt(2.0))  # P(|z| <= c)
  density = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
  return math.sqrt(1.0 - 2.0 * c * density / mass)


def _standard_truncated_normal(key: jax.Array, shape: Sequence[int], dtype: DTypeLike) -> jax.Array:
  """Samples N(0, 1) restricted to [-2, 2] by inverting the CDF of a uniform draw.

  .. math:: u \\sim U(\\Phi(-c), \\Phi(c)), \\quad z = \\sqrt2\\,\\operatorname{erf}^{-1}(2u - 1)
  """
  half_width = math.erf(_TRUNCATION / math.sqrt(2.0))  # 2Φ(c) − 1
  v = jax.random.uniform(key, shape, jnp.float32, -half_width, half_width)  # v = 2u − 1
  z = math.sqrt(2.0) * jax.scipy.special.erfinv(v)
  return jnp.clip(z, -_TRUNCATION, _TRUNCATION).astype(dtype)


def _sampler(
  variance_fn: Callable[[int, int], float], distribution: str, in_axis: int, out_axis: int
) -> Initializer:
  """Builds ``init(key, shape, dtype)`` drawing zero-mean weights with the given variance."""

  def init(key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
    fan_in, fan_out = compute_fans(shape, in_axis, out_axis)
    std = math.sqrt(variance_fn(fan_in, fan_out))
    shape = tuple(shape)
    if distribution == "uniform":
      limit = math.sqrt(3.0) * std
      return jax.random.uniform(key, shape, jnp.float32, -limit, limit).astype(dtype)
    if distribution == "normal":
      return (std * jax.random.normal(key, shape, jnp.float32)).astype(dtype)
    # Truncated normal: rescale so that the variance is still std².
    z = _standard_truncated_normal(key, shape, jnp.float32)
    return (z * (std / truncated_normal_std())).astype(dtype)

  return init


def xavier_uniform(gain: float = 1.0, *, in_axis: int = -2, out_axis: int = -1) -> Initializer:
  """Xavier/Glorot uniform: ``U(-l, l)`` with ``l = g·√(6 / (fan_in + fan_out))``.

  Keeps the variance of activations (forward) and gradients (backward) about constant for
  layers followed by tanh-like activations. Equal in distribution to
  ``jax.nn.initializers.glorot_uniform()`` for ``gain=1``.

  Args:
    gain: multiplies the standard deviation (positive).
    in_axis: the kernel's input axis.
    out_axis: the kernel's output axis.

  Returns:
    ``init(key, shape, dtype=float32) -> jax.Array`` drawing from ``U(-l, l)``.

  Example:
    >>> w = xavier_uniform()(jax.random.key(0), (100, 200))
    >>> bool(abs(w).max() <= (6 / 300) ** 0.5)
    True
  """
  _check_positive("gain", gain)
  return _sampler(lambda fi, fo: gain**2 * 2.0 / (fi + fo), "uniform", in_axis, out_axis)


def xavier_normal(
  gain: float = 1.0, *, truncated: bool = False, in_axis: int = -2, out_axis: int = -1
) -> Initializer:
  """Xavier/Glorot normal: zero mean, standard deviation ``g·√(2 / (fan_in + fan_out))``.

  ``truncated=False`` is the course's (and PyTorch's) plain normal, equal in distribution to
  ``jax.nn.initializers.variance_scaling(1, "fan_avg", "normal")``; ``truncated=True`` equals
  ``jax.nn.initializers.glorot_normal()``.

  Args:
    gain: multiplies the standard deviation (positive).
    truncated: cut the normal at ±2 standard deviations (variance kept).
    in_axis: the kernel's input axis.
    out_axis: the kernel's output axis.

  Returns:
    ``init(key, shape, dtype=float32) -> jax.Array`` drawing from the (truncated) normal.

  Example:
    >>> w = xavier_normal()(jax.random.key(0), (500, 500))
    >>> round(float(w.std()) * 500 ** 0.5, 1)
    1.0
  """
  _check_positive("gain", gain)
  dist = "truncated_normal" if truncated else "normal"
  return _sampler(lambda fi, fo: gain**2 * 2.0 / (fi + fo), dist, in_axis, out_axis)


def _kaiming_variance(mode: str, negative_slope: float) -> Callable[[int, int], float]:
  _check_mode(mode)
  if negative_slope < 0 or not math.isfinite(negative_slope):
    raise ValueError(f"negative_slope must be >= 0 (0 for ReLU), got {negative_slope!r}.")
  gain2 = 2.0 / (1.0 + negative_slope**2)
  return lambda fi, fo: gain2 / (fi if mode == "fan_in" else fo)


def kaiming_uniform(
  mode: str = "fan_in", negative_slope: float = 0.0, *, in_axis: int = -2, out_axis: int = -1
) -> Initializer:
  """Kaiming/He uniform for (leaky) ReLU: ``U(-l, l)``, ``l = √(6 / ((1 + a²) · fan))``.

  ``mode="fan_in"`` keeps the forward activation variance constant through ReLU layers,
  ``"fan_out"`` the backward gradient variance. For ``negative_slope=0`` it equals
  ``jax.nn.initializers.variance_scaling(2, mode, "uniform")`` (``he_uniform`` for fan_in).

  Args:
    mode: ``"fan_in"`` or ``"fan_out"``.
    negative_slope: the leaky-ReLU slope ``a`` (0 for ReLU).
    in_axis: the kernel's input axis.
    out_axis: the kernel's output axis.

  Returns:
    ``init(key, shape, dtype=float32) -> jax.Array`` drawing from He's ``U(-l, l)``.

  Example:
    >>> w = kaiming_uniform()(jax.random.key(0), (96, 10))
    >>> bool(abs(w).max() <= 0.25)
    True
  """
  return _sampler(_kaiming_variance(mode, negative_slope), "uniform", in_axis, out_axis)


def kaiming_normal(
  mode: str = "fan_in",
  negative_slope: float = 0.0,
  *,
  truncated: bool = False,
  in_axis: int = -2,
  out_axis: int = -1,
) -> Initializer:
  """Kaiming/He normal for (leaky) ReLU: standard deviation ``√(2 / ((1 + a²) · fan))``.

  ``truncated=False`` (the course's plain normal) equals
  ``jax.nn.initializers.variance_scaling(2, mode, "normal")``; ``truncated=True`` with
  ``mode="fan_in"`` equals ``jax.nn.initializers.he_normal()``.

  Args:
    mode: ``"fan_in"`` or ``"fan_out"``.
    negative_slope: the leaky-ReLU slope ``a`` (0 for ReLU).
    truncated: cut the normal at ±2 standard deviations (variance kept).
    in_axis: the kernel's input axis.
    out_axis: the kernel's output axis.

  Returns:
    ``init(key, shape, dtype=float32) -> jax.Array`` drawing from He's (truncated) normal.

  Example:
    >>> w = kaiming_normal(mode="fan_out")(jax.random.key(0), (100, 800))
    >>> round(float(w.std()) ** 2 * 800, 1)
    2.0
  """
  dist = "truncated_normal" if truncated else "normal"
  return _sampler(_kaiming_variance(mode, negative_slope), dist, in_axis, out_axis)


INITIALIZERS: dict[str, Callable[..., Initializer]] = {
  "xavier_uniform": xavier_uniform,
  "xavier_normal": xavier_normal,
  "kaiming_uniform": kaiming_uniform,
  "kaiming_normal": kaiming_normal,
}


def get_initializer(name: str, **kwargs) -> Initializer:
  """Builds one of :data:`INITIALIZERS` by name, e.g. ``get_initializer("kaiming_normal")``.

  Example:
    >>> get_initializer("xavier_normal", gain=2.0)(jax.random.key(0), (4, 4)).shape
    (4, 4)
  """
  if name not in INITIALIZERS:
    raise ValueError(f"Unknown initializer {name!r}; valid initializers: {sorted(INITIALIZERS)}.")
  return INITIALIZERS[name](**kwargs)
