"""Data augmentation: pure, jittable functions of ``(key, image)``, composed into policies.

An *op* maps one PRNG key and one ``f32[H, W, C]`` image (jaxnets images are NHWC float32
in [0, 1], :func:`jaxnets.data.to_example`) to an image of the same shape and dtype. The
flips, the padded crop and the colour changes are dm-pix's (``dm_pix``); written here is
only what dm-pix lacks: the random resized crop (:func:`crop_and_resize` of a random box)
and the policy combinator (:func:`compose`, :func:`get_policy`). :func:`apply_batch` vmaps
an op over a batch with one key per example, so a whole batch is augmented on the device,
inside the jitted train step (a batch sharded over devices stays sharded).

Ranges: the geometric ops only move, copy or interpolate pixels (a padded crop also shows
the zero padding), so values stay within the input's range; the colour ops clip their
result to [0, 1], the range of jaxnets images.

Example:
  >>> import jax, jax.numpy as jnp
  >>> policy = get_policy("flip_crop", crop_padding=2)
  >>> images = jnp.ones((4, 8, 8, 1))
  >>> out = jax.jit(apply_batch, static_argnums=0)(policy, jax.random.key(0), images)
  >>> out.shape, out.dtype
  ((4, 8, 8, 1), dtype('float32'))
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import dm_pix as pix
import jax
import jax.numpy as jnp

from jaxnets.types import PRNGKey

Op = Callable[[PRNGKey, jax.Array], jax.Array]  # (key, f32[H, W, C]) -> f32[H, W, C]

# Policy name -> the ops it chains, in order (see get_policy for each op's strength).
POLICIES: dict[str, tuple[str, ...]] = {
  "none": (),
  "flip": ("flip",),
  "crop": ("crop",),
  "flip_crop": ("flip", "crop"),
  "resized_crop": ("resized_crop",),
  "flip_resized_crop": ("flip", "resized_crop"),
  "color": ("color",),
  "flip_crop_color": ("flip", "crop", "color"),
}
VALUE_RANGE = (0.0, 1.0)  # The range of jaxnets images; the colour ops clip to it.


def _check_image(image: jax.Array, op: str) -> None:
  if image.ndim != 3:
    raise ValueError(f"{op} takes one HWC image (vmap it over a batch), got shape {image.shape}.")


def _clip(image: jax.Array) -> jax.Array:
  return jnp.clip(image, *VALUE_RANGE).astype(image.dtype)


def flip_left_right(key: PRNGKey, image: jax.Array, probability: float = 0.5) -> jax.Array:
  """Mirrors the image left-right with ``probability`` (dm-pix's ``random_flip_left_right``).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.arange(3.0).reshape(1, 3, 1)
    >>> flip_left_right(jax.random.key(0), image, probability=1.0)[0, :, 0]
    Array([2., 1., 0.], dtype=float32)
  """
  _check_image(image, "flip_left_right")
  return pix.random_flip_left_right(key, image, probability=probability)


def flip_up_down(key: PRNGKey, image: jax.Array, probability: float = 0.5) -> jax.Array:
  """Mirrors the image upside down with ``probability`` (dm-pix's ``random_flip_up_down``).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.arange(3.0).reshape(3, 1, 1)
    >>> flip_up_down(jax.random.key(0), image, probability=1.0)[:, 0, 0]
    Array([2., 1., 0.], dtype=float32)
  """
  _check_image(image, "flip_up_down")
  return pix.random_flip_up_down(key, image, probability=probability)


def random_crop(key: PRNGKey, image: jax.Array, padding: int = 4) -> jax.Array:
  """Pads ``padding`` zero pixels on every side, then crops back to ``H×W`` at random.

  The image moves by up to ``padding`` pixels in each direction (the classic CIFAR crop);
  the crop (dm-pix's ``random_crop``) stays inside the padded image.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> random_crop(jax.random.key(0), jnp.ones((8, 8, 3)), padding=2).shape
    (8, 8, 3)
  """
  _check_image(image, "random_crop")
  if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
    raise ValueError(f"padding must be an integer >= 0, got {padding!r}.")
  if padding == 0:
    return image
  padded = jnp.pad(image, ((padding, padding), (padding, padding), (0, 0)))
  return pix.random_crop(key, padded, image.shape)


def _interpolation_matrix(start: jax.Array, length: jax.Array, size: int) -> jax.Array:
  """``f32[size, size]``: row ``i`` linearly interpolates output pixel ``i`` of the window.

  Output pixel ``i`` (centre ``i + 0.5``) samples the source coordinate ``start + (i + 0.5) ·
  length / size - 0.5`` in pixel-index units, clamped to the centres of the window's first
  and last pixels (as resizing the cropped window would) and to the image: every weight
  falls on a pixel of the window, none outside the image.
  """
  coord = start + (jnp.arange(size, dtype=jnp.float32) + 0.5) * (length / size) - 0.5
  first = jnp.clip(start, 0.0, size - 1.0)
  coord = jnp.clip(coord, first, jnp.clip(start + length - 1.0, first, size - 1.0))
  low = jnp.floor(coord)
  frac = coord - low
  low = low.astype(jnp.int32)
  high = jnp.minimum(low + 1, size - 1)
  pixels = jnp.arange(size)
  return (pixels == low[:, None]) * (1 - frac)[:, None] + (pixels == high[:, None]) * frac[:, None]


def crop_and_resize(image: jax.Array, box: jax.Array) -> jax.Array:
  """The window ``box = (top, left, height, width)`` (pixels, real-valued) resized to ``H×W``.

  Bilinear with pixel centres aligned and the window's edge pixels repeated: for a window
  on whole pixels, ``jax.image.resize`` of the cropped window. It never reads outside the
  image. Separable: two small matrix products per image.

  Args:
    image: ``f32[H, W, C]``.
    box: ``f32[4]`` top, left, height, width of the window, inside the image.

  Returns:
    ``f32[H, W, C]``.

  Example:
    >>> import jax.numpy as jnp
    >>> image = jnp.arange(16.0).reshape(4, 4, 1)
    >>> crop_and_resize(image, jnp.array([0.0, 0.0, 4.0, 4.0]))[..., 0].tolist() == (
    ...     image[..., 0].tolist())
    True
  """
  _check_image(image, "crop_and_resize")
  height, width = image.shape[:2]
  box = jnp.asarray(box, jnp.float32)
  rows = _interpolation_matrix(box[0], box[2], height)
  cols = _interpolation_matrix(box[1], box[3], width)
  out = jnp.einsum("iy,yxc,jx->ijc", rows, image.astype(jnp.float32), cols)
  return out.astype(image.dtype)


def random_box(
  key: PRNGKey,
  height: int,
  width: int,
  scale: Sequence[float] = (0.08, 1.0),
  ratio: Sequence[float] = (3 / 4, 4 / 3),
) -> jax.Array:
  """``f32[4]`` (top, left, height, width) of a random window inside an ``height×width`` image.

  The window's area is a fraction ``U(scale)`` of the image's and its aspect ratio
  (width / height) is log-uniform in ``ratio`` (torchvision's ``RandomResizedCrop``
  distribution); a window that would not fit is shrunk to fit (instead of torchvision's
  rejection sampling, which has no fixed cost); its position is uniform.

  Example:
    >>> import jax
    >>> top, left, h, w = random_box(jax.random.key(0), 32, 32).tolist()
    >>> 0 <= top and top + h <= 32 and 0 <= left and left + w <= 32
    True
  """
  k_area, k_ratio, k_top, k_left = jax.random.split(key, 4)
  area = jax.random.uniform(k_area, (), minval=scale[0], maxval=scale[1]) * (height * width)
  log_ratio = jax.random.uniform(k_ratio, (), minval=math.log(ratio[0]), maxval=math.log(ratio[1]))
  aspect = jnp.exp(log_ratio)
  h = jnp.clip(jnp.sqrt(area / aspect), 1.0, height)
  w = jnp.clip(jnp.sqrt(area * aspect), 1.0, width)
  top = jax.random.uniform(k_top, ()) * (height - h)
  left = jax.random.uniform(k_left, ()) * (width - w)
  return jnp.stack([top, left, h, w])


def random_resized_crop(
  key: PRNGKey,
  image: jax.Array,
  scale: Sequence[float] = (0.08, 1.0),
  ratio: Sequence[float] = (3 / 4, 4 / 3),
) -> jax.Array:
  """A random window (:func:`random_box`) of the image, resized back to its size.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> out = random_resized_crop(jax.random.key(0), jnp.ones((8, 8, 3)), scale=(0.5, 1.0))
    >>> out.shape, float(out.min())
    ((8, 8, 3), 1.0)
  """
  _check_image(image, "random_resized_crop")
  _check_range("scale", scale, 0.0, 1.0, open_low=True)
  _check_range("ratio", ratio, 0.0, math.inf, open_low=True)
  box = random_box(key, image.shape[0], image.shape[1], scale, ratio)
  return crop_and_resize(image, box)


def random_brightness(key: PRNGKey, image: jax.Array, max_delta: float) -> jax.Array:
  """Adds ``U(-max_delta, max_delta)`` to every pixel (dm-pix), clipped to [0, 1].

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.full((2, 2, 1), 0.5)
    >>> bool(jnp.all(random_brightness(jax.random.key(0), image, 0.0) == image))
    True
  """
  _check_image(image, "random_brightness")
  return _clip(pix.random_brightness(key, image, max_delta))


def random_contrast(key: PRNGKey, image: jax.Array, strength: float) -> jax.Array:
  """Scales each channel's deviation from its mean by ``U(1 - s, 1 + s)`` (dm-pix), clipped.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.linspace(0, 1, 12).reshape(2, 2, 3)
    >>> bool(jnp.allclose(random_contrast(jax.random.key(0), image, 0.0), image))
    True
  """
  _check_image(image, "random_contrast")
  return _clip(pix.random_contrast(key, image, 1.0 - strength, 1.0 + strength))


def _check_rgb(image: jax.Array, op: str, field: str) -> None:
  if image.shape[-1] != 3:
    raise ValueError(
      f"{op} needs RGB images (3 channels), got {image.shape[-1]} channel(s); "
      f"set {field}=0 for other images."
    )


def random_saturation(key: PRNGKey, image: jax.Array, strength: float) -> jax.Array:
  """Scales the saturation of an RGB image by ``U(1 - s, 1 + s)`` (dm-pix), clipped.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.linspace(0, 1, 12).reshape(2, 2, 3)
    >>> bool(jnp.allclose(random_saturation(jax.random.key(0), image, 0.0), image, atol=1e-6))
    True
  """
  _check_image(image, "random_saturation")
  _check_rgb(image, "random_saturation", "saturation")
  return _clip(pix.random_saturation(key, image, 1.0 - strength, 1.0 + strength))


def random_hue(key: PRNGKey, image: jax.Array, max_delta: float) -> jax.Array:
  """Rotates the hue of an RGB image by ``U(-max_delta, max_delta)`` turns (dm-pix), clipped.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> image = jnp.linspace(0, 1, 12).reshape(2, 2, 3)
    >>> bool(jnp.allclose(random_hue(jax.random.key(0), image, 0.0), image, atol=1e-6))
    True
  """
  _check_image(image, "random_hue")
  _check_rgb(image, "random_hue", "hue")
  return _clip(pix.random_hue(key, image, max_delta))


def compose(*ops: Op) -> Op:
  """One op that applies ``ops`` in order, each with its own key split from the given one.

  Example:
    >>> import functools, jax, jax.numpy as jnp
    >>> op = compose(functools.partial(flip_left_right, probability=1.0),
    ...              functools.partial(flip_up_down, probability=1.0))
    >>> op(jax.random.key(0), jnp.arange(4.0).reshape(2, 2, 1))[..., 0].tolist()
    [[3.0, 2.0], [1.0, 0.0]]
  """
  if not ops:
    return lambda key, image: image

  def op(key: PRNGKey, image: jax.Array) -> jax.Array:
    for sub_op, sub_key in zip(ops, jax.random.split(key, len(ops)), strict=True):
      image = sub_op(sub_key, image)
    return image

  return op


def apply_batch(op: Op, key: PRNGKey, images: jax.Array) -> jax.Array:
  """``op`` on every image of an ``[B, H, W, C]`` batch, one key per example, under ``vmap``.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> apply_batch(random_crop, jax.random.key(0), jnp.ones((5, 8, 8, 1))).shape
    (5, 8, 8, 1)
  """
  if images.ndim != 4:
    raise ValueError(f"Augmentation needs NHWC image batches, got shape {images.shape}.")
  return jax.vmap(op)(jax.random.split(key, images.shape[0]), images)


def _check_range(name, value, low, high, open_low=False) -> None:
  ok = isinstance(value, (tuple, list)) and len(value) == 2
  ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
  ok = ok and (low < value[0] if open_low else low <= value[0]) and value[0] <= value[1] <= high
  if not ok:
    bounds = f"{'(' if open_low else '['}{low}, {high}]"
    raise ValueError(
      f"{name} must be a pair (low, high) with low <= high in {bounds}, got {value!r}."
    )


def _check_strength(name: str, value, high: float) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
    raise ValueError(f"{name} must be a number in [0, {high}], got {value!r}.")


def get_policy(
  name: str,
  *,
  crop_padding: int = 4,
  scale: Sequence[float] = (0.08, 1.0),
  ratio: Sequence[float] = (3 / 4, 4 / 3),
  brightness: float = 0.2,
  contrast: float = 0.2,
  saturation: float = 0.0,
  hue: float = 0.0,
) -> Op | None:
  """The named policy (:data:`POLICIES`) as one op, or None for ``"none"``.

  Args:
    name: one of :data:`POLICIES`.
    crop_padding: pixels of zero padding of ``crop`` (the image moves by up to this much).
    scale: ``resized_crop``'s range of the window's area, as a fraction of the image's.
    ratio: ``resized_crop``'s range of the window's aspect ratio (width / height).
    brightness: ``color``'s largest brightness change (added).
    contrast: ``color``'s contrast factor range ``1 ± contrast``.
    saturation: ``color``'s saturation factor range ``1 ± saturation`` (RGB only).
    hue: ``color``'s largest hue rotation in turns, at most 0.5 (RGB only).

  ``flip`` is a left-right flip with probability 1/2; ``color`` chains brightness, contrast,
  saturation and hue, leaving out those of strength 0 (a zero-strength ``color`` is the
  identity).

  Raises:
    ValueError: an unknown name (the message lists the valid ones) or a strength out of range.

  Example:
    >>> get_policy("none") is None
    True
    >>> callable(get_policy("flip_crop"))
    True
  """
  if name not in POLICIES:
    raise ValueError(f"policy must be one of {list(POLICIES)}, got {name!r}.")
  if isinstance(crop_padding, bool) or not isinstance(crop_padding, int) or crop_padding < 0:
    raise ValueError(f"crop_padding must be an integer >= 0, got {crop_padding!r}.")
  _check_range("scale", scale, 0.0, 1.0, open_low=True)
  _check_range("ratio", ratio, 0.0, math.inf, open_low=True)
  _check_strength("brightness", brightness, 1.0)
  _check_strength("contrast", contrast, 1.0)
  _check_strength("saturation", saturation, 1.0)
  _check_strength("hue", hue, 0.5)
  scale, ratio = tuple(float(v) for v in scale), tuple(float(v) for v in ratio)
  colour = [
    functools.partial(fn, **{arg: value})
    for fn, arg, value in (
      (random_brightness, "max_delta", brightness),
      (random_contrast, "strength", contrast),
      (random_saturation, "strength", saturation),
      (random_hue, "max_delta", hue),
    )
    if value > 0
  ]
  ops = {
    "flip": [flip_left_right],
    "crop": [functools.partial(random_crop, padding=crop_padding)],
    "resized_crop": [functools.partial(random_resized_crop, scale=scale, ratio=ratio)],
    "color": colour,
  }
  chain = [op for part in POLICIES[name] for op in ops[part]]
  return compose(*chain) if name != "none" else None
