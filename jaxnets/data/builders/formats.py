"""Readers for the original distribution formats, in numpy only (no TensorFlow).

* IDX (MNIST, Fashion-MNIST): a big-endian header — two zero bytes, a type code (0x08 for
  uint8), the number of dimensions, then one uint32 per dimension — followed by the data;
  usually gzip-compressed (``train-images-idx3-ubyte.gz``).
* CIFAR-10 python batches: pickled dicts with ``b"data"`` (``uint8[n, 3072]``, each row the
  1024 red, then green, then blue pixels of a 32×32 image) and ``b"labels"`` (a list of ints),
  inside ``cifar-10-python.tar.gz`` under ``cifar-10-batches-py/``.

Example:
  >>> import gzip, io, struct, numpy as np
  >>> raw = struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([7, 8, 9])
  >>> parse_idx(gzip.compress(raw)).tolist()
  [7, 8, 9]
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
from typing import Any

import numpy as np

# IDX type codes -> numpy dtypes (all big-endian).
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCHES = ("test_batch",)


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
  """Decodes an IDX file's bytes (gzip-compressed or not) into a numpy array.

  Args:
    raw: the file contents.
    source: a file name for error messages.

  Returns:
    An array of the header's shape and type (native byte order).

  Raises:
    ValueError: not an IDX file, an unknown type code, or a size that disagrees with the header.
  """
  if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
    raise ValueError(
      f"{source} is not an IDX file: it must start with two zero bytes, a type "
      f"code and a rank; got {raw[:4]!r}."
    )
  code, ndim = raw[2], raw[3]
  if code not in _IDX_DTYPES:
    raise ValueError(
      f"{source}: unknown IDX type code {code:#04x}; valid codes: {[hex(c) for c in _IDX_DTYPES]}."
    )
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise ValueError(f"{source}: truncated IDX header ({len(raw)} bytes, need {header}).")
  dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
  dtype = np.dtype(_IDX_DTYPES[code])
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  if len(raw) - header != expected:
    raise ValueError(
      f"{source}: the header says shape {dims} ({expected} data bytes) but the "
      f"file holds {len(raw) - header}; the file is truncated or corrupt."
    )
  data = np.frombuffer(raw, dtype, offset=header).reshape(dims)
  return data.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads an IDX file (``.gz`` or uncompressed) from disk; see :func:`parse_idx`."""
  with open(path, "rb") as f:
    return parse_idx(f.read(), source=os.fspath(path))


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Unpickles only plain containers and numpy arrays: a pickle cannot run other code."""

  _ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
  }

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) not in self._ALLOWED:
      raise pickle.UnpicklingError(
        f"CIFAR batch refers to {module}.{name}; only numpy arrays and plain Python "
        f"containers are accepted."
      )
    if module == "numpy.core.multiarray":  # numpy 2 moved numpy.core to numpy._core.
      module = "numpy._core.multiarray" if hasattr(np, "_core") else module
    return super().find_class(module, name)


def parse_cifar_batch(raw: bytes, source: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
  """Decodes one CIFAR-10 python batch into ``(uint8[n, 32, 32, 3] images, int64[n] labels)``.

  Raises:
    ValueError: not a CIFAR-10 batch (missing keys, wrong sizes, or foreign pickled objects).
  """
  try:
    batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
  except Exception as err:  # Unpickling raises many types for a foreign file.
    raise ValueError(f"{source} is not a CIFAR-10 python batch: {err}") from err
  if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
    keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
    raise ValueError(
      f"{source}: a CIFAR-10 batch is a dict with b'data' and b'labels'; got {keys}."
    )
  data = np.asarray(batch[b"data"], np.uint8)
  labels = np.asarray(batch[b"labels"], np.int64)
  if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
    raise ValueError(
      f"{source}: expected data uint8[n, 3072] and n labels, got data "
      f"{data.shape} and {labels.shape[0]} labels."
    )
  if labels.size and (labels.min() < 0 or labels.max() > 9):
    raise ValueError(
      f"{source}: CIFAR-10 labels must be in 0..9, got {labels.min()}..{labels.max()}."
    )
  images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # Channel-major rows -> NHWC.
  return np.ascontiguousarray(images), labels


def read_cifar_batches(
  path: str | os.PathLike, names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
  """Reads and concatenates CIFAR-10 batches from the ``.tar.gz`` or an extracted directory.

  Args:
    path: ``cifar-10-python.tar.gz``, or the extracted ``cifar-10-batches-py`` directory.
    names: batch file names, e.g. :data:`CIFAR_TRAIN_BATCHES`.

  Returns:
    ``(uint8[n, 32, 32, 3], int64[n])``.
  """
  path = os.fspath(path)
  parts = []
  if os.path.isdir(path):
    for name in names:
      with open(os.path.join(path, name), "rb") as f:
        parts.append(parse_cifar_batch(f.read(), source=os.path.join(path, name)))
  else:
    with tarfile.open(path, "r:*") as tar:
      for name in names:
        member = f"{CIFAR_DIR}/{name}"
        try:
          fileobj = tar.extractfile(member)
        except KeyError:
          fileobj = None
        if fileobj is None:
          raise ValueError(f"{path} has no file {member}; is it cifar-10-python.tar.gz?")
        raw = fileobj.read()
        parts.append(parse_cifar_batch(raw, source=f"{path}:{member}"))
  return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
