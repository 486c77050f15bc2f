"""Named datasets: embedded ones generated or shipped by installed packages, plus any TFDS name.

Every loader returns a dict of numpy arrays: ``"x"`` (float32; images NHWC in [0, 1]) and
``"y"`` (int32 class labels, or float32 regression targets of shape ``(n, 1)``).

Embedded datasets (no download ever):
  * ``synthetic_linear``: y = X w + b + ε with w = [2, −3.4], b = 4.2, X ~ N(0, 1), ε ~ N(0, 0.01²);
    1000 train / 1000 test examples.
  * ``polynomial``: the course's cubic y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + ε (ε ~ N(0, 0.1²)) with
    20 features xⁱ/i! (i = 0…19); 100 train / 100 test.
  * ``digits``: the 8×8 handwritten digits scikit-learn ships (1797 images, pixel values 0–16
    scaled to [0, 1]). Fixed split: a permutation drawn with ``numpy.random.default_rng(0)``,
    the first 1437 examples (80 %) for training, the remaining 360 for test.
  * ``mnist1d``: MNIST-1D regenerated offline by ``mnist1d.data.make_dataset`` with the
    package's default arguments — the published 4000 train / 1000 test split. Generating it
    takes ~5 s on one core, so the arrays are kept in ``$JAXNETS_CACHE_DIR`` (default
    ``~/.cache/jaxnets``) under a name with the mnist1d version and the arguments' hash, and
    read from there afterwards (a cache that cannot be written is skipped).
  * ``cluttered_digits``: a harder image set made from ``digits``: 32×32 canvases, 6000 train
    drawn only from the 1437 train digits, 2000 test only from the 360 test digits (600 / 200
    per class, each class cycling through its digits). Each canvas holds one digit upscaled
    bilinearly by U(2, 3), rotated by U(−30°, 30°) and placed at random with its unrotated box
    inside the canvas; 2–4 clutter fragments (8×8 crops of other canvases' digits, intensity ×
    U(0.3, 0.7)) pasted at random positions (pixelwise max); N(0, 0.1²) noise; clipped to
    [0, 1]. Seeds ``default_rng(1)`` (train) and ``default_rng(2)`` (test); ~1 s to generate.

Any other name is read from TFDS through ``tfds.data_source`` (array_record files in
``data_dir``), so no TensorFlow is imported.
"""

from __future__ import annotations

import functools
import math
import os
import zipfile
from typing import Any, Callable, Mapping

import numpy as np

Dataset = dict[str, np.ndarray]

TRUE_W = np.array([2.0, -3.4], np.float32)
TRUE_B = 4.2
POLY_TRUE_W = np.array([5.0, 1.2, -3.4, 5.6], np.float32)
POLY_DEGREE = 20
CLUTTER_CANVAS = 32  # cluttered_digits: canvas side,
CLUTTER_FRAGMENT = 8  # clutter fragment side,
CLUTTER_NOISE = 0.1  # and the standard deviation of the Gaussian pixel noise.


def _check_split(name: str, split: str, valid=("train", "test")) -> None:
  if split not in valid:
    raise ValueError(f"Dataset {name!r} has splits {list(valid)}; got split={split!r}.")


@functools.lru_cache(maxsize=None)
def _synthetic_linear() -> dict[str, Dataset]:
  rng = np.random.default_rng(42)
  out = {}
  for split in ("train", "test"):
    x = rng.normal(size=(1000, 2)).astype(np.float32)
    y = x @ TRUE_W + TRUE_B + rng.normal(scale=0.01, size=1000)
    out[split] = {"x": x, "y": y.astype(np.float32)[:, None]}
  return out


@functools.lru_cache(maxsize=None)
def _polynomial() -> dict[str, Dataset]:
  rng = np.random.default_rng(0)
  true_w = np.zeros(POLY_DEGREE, np.float64)
  true_w[:4] = POLY_TRUE_W
  factorials = np.array([math.factorial(i) for i in range(POLY_DEGREE)], np.float64)
  out = {}
  for split in ("train", "test"):
    x = rng.normal(size=(100, 1))
    features = np.power(x, np.arange(POLY_DEGREE)) / factorials
    y = features @ true_w + rng.normal(scale=0.1, size=100)
    out[split] = {"x": features.astype(np.float32), "y": y.astype(np.float32)[:, None]}
  return out


@functools.lru_cache(maxsize=None)
def _digits() -> dict[str, Dataset]:
  from sklearn.datasets import load_digits  # The data file ships inside scikit-learn.

  bunch = load_digits()
  x = (bunch.images / 16.0).astype(np.float32)[..., None]
  y = bunch.target.astype(np.int32)
  order = np.random.default_rng(0).permutation(len(y))
  n_train = 1437
  train, test = order[:n_train], order[n_train:]
  return {"train": {"x": x[train], "y": y[train]}, "test": {"x": x[test], "y": y[test]}}


def _warp(
  images: np.ndarray, scale: np.ndarray, angle: np.ndarray, center: np.ndarray
) -> np.ndarray:
  """Bilinear inverse warp of ``(n, h, w)`` images onto ``(n, 32, 32)`` canvases.

  Image i is scaled by ``scale[i]``, rotated by ``angle[i]`` radians about its centre and
  centred at ``center[i]`` (row, col) in canvas pixels; the canvas is 0 outside the image.
  """
  n, h, w = images.shape
  padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # A zero border: outside reads as 0.
  grid = np.arange(CLUTTER_CANVAS, dtype=np.float32) + 0.5  # Pixel centres.
  dr = grid[None, :, None] - center[:, 0, None, None]  # (n, 32, 1)
  dc = grid[None, None, :] - center[:, 1, None, None]  # (n, 1, 32)
  cos = (np.cos(angle) / scale)[:, None, None]
  sin = (np.sin(angle) / scale)[:, None, None]
  # Canvas offsets -> source pixel coordinates in the padded image, clipped into its border.
  r = np.clip(cos * dr + sin * dc + h / 2 + 0.5, 0, h + 1)
  c = np.clip(cos * dc - sin * dr + w / 2 + 0.5, 0, w + 1)
  r0, c0 = np.minimum(r.astype(np.int32), h), np.minimum(c.astype(np.int32), w)
  fr, fc = r - r0, c - c0
  # Flat indices of the top-left neighbours: one take per neighbour is fast.
  flat, stride = padded.ravel(), w + 2
  at = (np.arange(n, dtype=np.int32) * ((h + 2) * stride))[:, None, None] + r0 * stride + c0
  top = flat.take(at) * (1 - fc) + flat.take(at + 1) * fc
  bottom = flat.take(at + stride) * (1 - fc) + flat.take(at + stride + 1) * fc
  return (top * (1 - fr) + bottom * fr).astype(np.float32)


def make_cluttered_digits(source: Dataset, n: int, seed: int) -> Dataset:
  """``n`` cluttered 32×32 canvases drawn only from the 8×8 digits of ``source``.

  The generator of the embedded ``cluttered_digits`` (see the module docstring), e.g. for
  more canvases or other seeds. Classes are balanced (``n / 10`` canvases each, ``n`` a
  multiple of 10): each class cycles through its source digits, so every digit is used about
  equally often, with new draws.

  Args:
    source: ``{"x": f32[m, 8, 8, 1], "y": i32[m]}`` digits holding all 10 classes.
    n: number of canvases, a positive multiple of 10.
    seed: seed of ``numpy.random.default_rng``.

  Returns:
    ``{"x": f32[n, 32, 32, 1] in [0, 1], "y": i32[n]}``.

  Example:
    >>> from jaxnets import data
    >>> make_cluttered_digits(data.load("digits", "test"), 20, seed=0)["x"].shape
    (20, 32, 32, 1)
  """
  if n <= 0 or n % 10:
    raise ValueError(f"n must be a positive multiple of 10 (balanced classes), got {n}.")
  if source["x"].shape[1:] != (8, 8, 1) or set(np.unique(source["y"])) != set(range(10)):
    raise ValueError("source must be 8×8×1 digits holding all 10 classes (data.load('digits')).")
  rng = np.random.default_rng(seed)
  per_class = [rng.permutation(np.flatnonzero(source["y"] == c)) for c in range(10)]
  src = rng.permutation(np.concatenate([np.resize(i, n // 10) for i in per_class]))
  scale = rng.uniform(2.0, 3.0, n).astype(np.float32)
  angle = np.deg2rad(rng.uniform(-30.0, 30.0, n)).astype(np.float32)
  half = 4 * scale[:, None]  # Half the side of the scaled digit: its unrotated box fits.
  center = rng.uniform(half, CLUTTER_CANVAS - half, (n, 2)).astype(np.float32)
  digit = _warp(source["x"][src, ..., 0], scale, angle, center)
  canvas = digit.copy()
  # Clutter: 2-4 fragments, 8×8 crops near the centre of other canvases' digits, dimmed.
  size, hi = CLUTTER_FRAGMENT, CLUTTER_CANVAS - CLUTTER_FRAGMENT
  count = rng.integers(2, 5, n)
  offsets = np.arange(size)
  rows = np.arange(n)[:, None, None]
  for k in range(4):
    other = (np.arange(n) + rng.integers(1, n, n)) % n  # Never the canvas itself.
    jitter = rng.uniform(-6, 6, (n, 2))
    crop = np.clip(np.rint(center[other] + jitter - size / 2), 0, hi).astype(np.int64)
    paste = rng.integers(0, hi + 1, (n, 2))
    gain = rng.uniform(0.3, 0.7, n) * (k < count)  # Unused fragments get gain 0.
    fragment = digit[
      other[:, None, None],
      crop[:, 0, None, None] + offsets[:, None],
      crop[:, 1, None, None] + offsets,
    ]
    r, c = paste[:, 0, None, None] + offsets[:, None], paste[:, 1, None, None] + offsets
    canvas[rows, r, c] = np.maximum(canvas[rows, r, c], gain[:, None, None] * fragment)
  canvas += CLUTTER_NOISE * rng.standard_normal(canvas.shape, dtype=np.float32)
  x = np.clip(canvas, 0.0, 1.0).astype(np.float32)[..., None]
  return {"x": x, "y": source["y"][src].astype(np.int32)}


@functools.lru_cache(maxsize=None)
def _cluttered_digits() -> dict[str, Dataset]:
  digits = _digits()  # Train canvases from train digits only, test from test digits only.
  return {
    split: make_cluttered_digits(digits[split], n, seed)
    for split, n, seed in (("train", 6000, 1), ("test", 2000, 2))
  }


CACHE_ENV = "JAXNETS_CACHE_DIR"  # Where generated datasets are kept (default ~/.cache/jaxnets).


def cache_dir() -> str:
  """Where generated datasets are kept: ``$JAXNETS_CACHE_DIR``, else ``~/.cache/jaxnets``."""
  return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "jaxnets")


def cached_splits(name: str, make: Callable[[], dict[str, Dataset]]) -> dict[str, Dataset]:
  """``make()``, kept as ``<cache_dir>/<name>.npz`` and read from there when present.

  The file is written to a temporary name and renamed, so a crash never leaves half of one;
  an unwritable cache directory only costs the generation next time.
  """
  path = os.path.join(cache_dir(), name + ".npz")
  try:
    with np.load(path) as stored:
      splits: dict[str, Dataset] = {}
      for key in stored.files:
        split, field = key.split("/")
        splits.setdefault(split, {})[field] = stored[key]
      return splits
  except (OSError, ValueError, EOFError, zipfile.BadZipFile):
    pass  # Not there yet (or unreadable): generate it.
  splits = make()
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "wb") as f:
      np.savez(f, **{f"{s}/{k}": v for s, split in splits.items() for k, v in split.items()})
    os.replace(partial, path)
  except OSError:
    pass
  return splits


@functools.lru_cache(maxsize=None)
def _mnist1d() -> dict[str, Dataset]:
  import importlib.metadata
  import zlib

  from mnist1d.data import get_dataset_args, make_dataset  # Generates offline; no download.

  args = get_dataset_args()
  key = zlib.crc32(repr(sorted(vars(args).items())).encode())
  version = importlib.metadata.version("mnist1d")

  def make() -> dict[str, Dataset]:
    raw = make_dataset(args)
    return {
      "train": {"x": raw["x"].astype(np.float32), "y": raw["y"].astype(np.int32)},
      "test": {"x": raw["x_test"].astype(np.float32), "y": raw["y_test"].astype(np.int32)},
    }

  return cached_splits(f"mnist1d-{version}-{key:08x}", make)


_EMBEDDED: dict[str, tuple[Callable[[], dict[str, Dataset]], int | None]] = {
  # name: (loader, number of classes, or None for regression)
  "synthetic_linear": (_synthetic_linear, None),
  "polynomial": (_polynomial, None),
  "digits": (_digits, 10),
  "mnist1d": (_mnist1d, 10),
  "cluttered_digits": (_cluttered_digits, 10),
}
DATASETS: tuple[str, ...] = tuple(_EMBEDDED)
TASKS: tuple[str, ...] = ("classification", "regression")

# TFDS names jaxnets knows the class count of without reading dataset_info.
_TFDS_CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "kmnist": 10, "cifar100": 100}


def num_classes(name: str, data_dir: str | None = None) -> int | None:
  """Number of classes of a dataset (None for regression data)."""
  if name in _EMBEDDED:
    return _EMBEDDED[name][1]
  if name in _TFDS_CLASSES:
    return _TFDS_CLASSES[name]
  import tensorflow_datasets as tfds

  info = tfds.builder(name, data_dir=data_dir).info
  return info.features["label"].num_classes


def task(name: str) -> str:
  """The task a dataset declares: ``"classification"`` (integer labels) or ``"regression"``.

  Embedded datasets declare it in their table; TFDS datasets read here are image
  classification sets (``{"image", "label"}`` records).

  Example:
    >>> task("digits"), task("synthetic_linear"), task("mnist")
    ('classification', 'regression', 'classification')
  """
  if name in _EMBEDDED:
    return "classification" if _EMBEDDED[name][1] is not None else "regression"
  return "classification"


def is_embedded(name: str) -> bool:
  """Whether ``name`` is one of the embedded datasets (generated, no files, fits in memory)."""
  return name in _EMBEDDED


def to_example(record: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """One TFDS ``{"image", "label"}`` record (or a stacked batch of them) as ``{"x", "y"}``.

  The one normalisation of image data: ``uint8`` pixels become ``float32`` in [0, 1]; other
  dtypes are cast to ``float32`` unchanged. Used for whole splits (:func:`load`) and for every
  streamed record alike.

  Example:
    >>> ex = to_example({"image": np.full((2, 2, 1), 255, np.uint8), "label": 3})
    >>> float(ex["x"].max()), int(ex["y"])
    (1.0, 3)
  """
  image = np.asarray(record["image"])
  x = image.astype(np.float32)
  if image.dtype == np.uint8:
    x /= 255.0
  return {"x": x, "y": np.asarray(record["label"], np.int32)}


def _resize_images(x: np.ndarray, image_size: int) -> np.ndarray:
  """Bilinear resize of NHWC images to ``image_size × image_size``."""
  if x.ndim != 4:
    raise ValueError(f"image_size needs NHWC image data, got x of shape {x.shape}.")
  if (
    isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size <= 0
  ):
    raise ValueError(f"image_size must be a positive integer, got {image_size!r}.")
  import jax

  n, _, _, c = x.shape
  resized = jax.image.resize(x, (n, image_size, image_size, c), method="bilinear")
  return np.asarray(resized, np.float32)


def _tfds_source(name: str, split: str, data_dir: str | None):
  """A random-access TFDS data source, with a clear error when the data is absent."""
  import tensorflow_datasets as tfds

  from jaxnets.data import builders  # TensorFlow-free builders: mnist, fashion_mnist, cifar10.

  if name in builders.BUILDERS:  # Prepared on first use; a clear error says which files to add.
    return builders.data_source(name, split, data_dir=data_dir)
  if name.split(":")[0].split("/")[0] not in tfds.list_builders(with_community_datasets=False):
    raise ValueError(
      f"Unknown dataset {name!r}. Embedded datasets: {list(DATASETS)}; or any TFDS dataset "
      "name such as 'mnist', 'fashion_mnist', 'cifar10' (tfds.list_builders() lists them)."
    )
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as err:  # TFDS raises several types here; all mean "not available".
    where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    raise FileNotFoundError(
      f"Dataset {name!r} (split {split!r}) is not prepared in {where}. Embedded datasets "
      f"that need no files: {list(DATASETS)}. To use {name!r}, prepare it once where it "
      f"can be downloaded (see BUILD.md, 'Datasets') and pass --config.data_dir. "
      f"TFDS said: {err}"
    ) from err


def _tfds_arrays(name: str, split: str, data_dir: str | None) -> Dataset:
  source = _tfds_source(name, split, data_dir)
  keys = list(range(len(source)))
  try:
    records = source.__getitems__(keys)  # One batched read: ~6x faster than one at a time.
  except TypeError:  # tfds.testing.mock_data's sources only read one record at a time.
    records = [source[i] for i in keys]
  return to_example(
    {"image": np.stack([r["image"] for r in records]), "label": [r["label"] for r in records]}
  )


def load(
  name: str, split: str = "train", *, data_dir: str | None = None, image_size: int | None = None
) -> Dataset:
  """Loads a dataset split into memory as numpy arrays.

  Args:
    name: an embedded dataset (``synthetic_linear``, ``polynomial``, ``digits``,
      ``mnist1d``, ``cluttered_digits``) or a TFDS name (``mnist``, ``fashion_mnist``,
      ``cifar10``, ...).
    split: ``"train"`` or ``"test"`` (TFDS names accept any TFDS split string).
    data_dir: TFDS data directory (TFDS names only).
    image_size: if given, images are bilinearly resized to ``image_size × image_size``
      (e.g. 28 to feed 8×8 digits to LeNet).

  Returns:
    ``{"x": float32 array, "y": int32 labels or float32 (n, 1) targets}``; a fresh copy
    that the caller may modify.

  Raises:
    ValueError: unknown split or bad ``image_size``.
    FileNotFoundError: a TFDS dataset that is not prepared in ``data_dir``.

  Example:
    >>> d = load("synthetic_linear")
    >>> d["x"].shape, d["y"].shape
    ((1000, 2), (1000, 1))
  """
  if not isinstance(name, str) or not name:
    raise ValueError(f"Dataset name must be a non-empty string; embedded: {list(DATASETS)}.")
  if name in _EMBEDDED:
    _check_split(name, split)
    data = {k: v.copy() for k, v in _EMBEDDED[name][0]()[split].items()}
  else:
    data = _tfds_arrays(name, split, data_dir)
  if image_size is not None:
    data["x"] = _resize_images(data["x"], image_size)
  return data


def tfds_source(name: str, split: str = "train", *, data_dir: str | None = None):
  """The random-access ``tfds.data_source`` of a TFDS dataset, for streaming with grain."""
  if name in _EMBEDDED:
    raise ValueError(f"{name!r} is embedded and fits in memory: use load({name!r}).")
  return _tfds_source(name, split, data_dir)
