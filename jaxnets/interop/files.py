"""PyTorch weight files: ``.safetensors`` without torch, ``.pth``/``.pt``/``.bin`` with it.

A ``.safetensors`` file is read and written with the ``safetensors`` package's numpy API, so
converting torchvision weights needs no PyTorch where they are used; pickled ``torch.save``
files need PyTorch (``pip install "jaxnets[torch]"``) and are read with
``torch.load(..., weights_only=True)``, which runs no code from the file.

Example:
  >>> import os, tempfile
  >>> import numpy as np
  >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
  >>> save_safetensors({"fc.weight": np.ones((10, 512), np.float32)}, path)
  >>> {k: v.shape for k, v in load_state_dict(path).items()}
  {'fc.weight': (10, 512)}
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping

import numpy as np
import safetensors
import safetensors.numpy

from jaxnets.interop import convert

SAFETENSORS_SUFFIX = ".safetensors"
TORCH_SUFFIXES = (".pth", ".pt", ".bin")


def _import_torch() -> Any:
  try:
    import torch
  except ImportError as err:
    raise ImportError(
      'Reading PyTorch .pth/.pt/.bin files needs PyTorch: pip install "jaxnets[torch]". '
      "Or, where torch is installed, convert the file once to .safetensors "
      "(jaxnets.interop.save_safetensors), which loads without it."
    ) from err
  return torch


def _suffix(path: str) -> str:
  suffix = os.path.splitext(path)[1].lower()
  if suffix != SAFETENSORS_SUFFIX and suffix not in TORCH_SUFFIXES:
    raise ValueError(
      f"{path}: unknown weight-file type {suffix or '(no suffix)'!r}; valid: "
      f"{[SAFETENSORS_SUFFIX, *TORCH_SUFFIXES]}."
    )
  return suffix


def _contiguous(array: np.ndarray) -> np.ndarray:
  """``array`` in C order (``np.ascontiguousarray`` would turn a 0-d array into 1-d)."""
  return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """Reads a ``state_dict`` from a ``.safetensors`` file, or a ``torch.save`` file.

  Args:
    path: a ``.safetensors`` file (no torch needed) or a ``.pth``/``.pt``/``.bin`` file
      holding a ``state_dict`` (needs torch).

  Returns:
    ``{key: numpy array}`` (bfloat16 tensors as ``jnp.bfloat16`` arrays), in the file's order
    (a safetensors file stores its keys sorted).

  Raises:
    FileNotFoundError: no file at ``path``.
    ValueError: an unknown suffix, or a file that is not what its suffix says.
    TypeError: a torch file that holds something other than a ``state_dict``.
    ImportError: a torch file without torch installed (naming the extra to install).

  Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "bn.safetensors")
    >>> save_safetensors({"bn1.running_var": np.ones(4, np.float32)}, path)
    >>> load_state_dict(path)["bn1.running_var"].tolist()
    [1.0, 1.0, 1.0, 1.0]
  """
  path = os.fspath(path)
  suffix = _suffix(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"No weight file at {path}.")
  if suffix == SAFETENSORS_SUFFIX:
    try:
      return dict(safetensors.numpy.load_file(path))
    except safetensors.SafetensorError as err:
      raise ValueError(f"{path} is not a readable safetensors file: {err}") from err
  torch = _import_torch()
  try:
    loaded = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as err:  # Unpickling raises many types (UnpicklingError, RuntimeError, ...).
    raise ValueError(f"{path} is not a readable torch.save file of tensors: {err}") from err
  if not isinstance(loaded, Mapping):
    raise TypeError(
      f"{path} holds a {type(loaded).__name__}, not a state_dict; save net.state_dict()."
    )
  others = [k for k, v in loaded.items() if not isinstance(v, torch.Tensor)]
  if others:
    raise TypeError(
      f"{path} is not a state_dict: the entries {others[:10]} are not tensors (a training "
      f"checkpoint? save its model's state_dict() alone, e.g. checkpoint['state_dict'])."
    )
  return {str(k): convert.as_numpy(k, v) for k, v in loaded.items()}


def save_safetensors(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
  """Writes a ``state_dict`` (torch tensors or numpy arrays) as a ``.safetensors`` file.

  The file is written beside ``path`` and renamed into place when complete, so ``path``
  holds either the whole file or what it held before. An existing file is replaced.

  Args:
    state_dict: ``{key: tensor or array}``, e.g. ``net.state_dict()`` or
      :func:`jaxnets.interop.to_torch`'s.
    path: the file to write; it must end in ``.safetensors``.

  Raises:
    ValueError: ``path`` does not end in ``.safetensors``.
    TypeError: a value that is not a tensor or array.

  Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> save_safetensors({"conv1.weight": np.zeros((64, 3, 7, 7), np.float32)}, path)
    >>> os.listdir(os.path.dirname(path))
    ['w.safetensors']
  """
  path = os.fspath(path)
  if os.path.splitext(path)[1].lower() != SAFETENSORS_SUFFIX:
    raise ValueError(f"{path}: a safetensors file must end in {SAFETENSORS_SUFFIX!r}.")
  if not isinstance(state_dict, Mapping):
    raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}.")
  arrays = {str(k): _contiguous(convert.as_numpy(k, v)) for k, v in state_dict.items()}
  folder = os.path.dirname(os.path.abspath(path))
  handle, partial = tempfile.mkstemp(prefix=".partial-", suffix=SAFETENSORS_SUFFIX, dir=folder)
  os.close(handle)
  try:
    safetensors.numpy.save_file(arrays, partial)
    os.replace(partial, path)
  except BaseException:
    os.remove(partial)
    raise


def load_variables(path: str | os.PathLike, model: str, **model_kwargs: Any) -> dict[str, Any]:
  """Flax variables of a jaxnets model from a torchvision weight file.

  :func:`load_state_dict` then :func:`jaxnets.interop.from_torch`.

  Args:
    path: a ``.safetensors`` (no torch needed) or ``.pth``/``.pt``/``.bin`` file.
    model: a name in :data:`jaxnets.interop.TORCHVISION_MODELS`.
    **model_kwargs: fields of the jaxnets model (see :func:`jaxnets.interop.from_torch`).

  Returns:
    ``{"params": ..., "batch_stats": ...}`` (numpy arrays in Flax's layout).

  Raises:
    As :func:`load_state_dict` and :func:`jaxnets.interop.from_torch`.

  Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from jaxnets.interop import torch_shapes
    >>> shapes = torch_shapes("resnet18", num_classes=5)
    >>> sd = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
    >>> path = os.path.join(tempfile.mkdtemp(), "resnet18.safetensors")
    >>> save_safetensors(sd, path)
    >>> load_variables(path, "resnet18")["params"]["fc"]["kernel"].shape
    (512, 5)
  """
  return convert.from_torch(load_state_dict(path), model, **model_kwargs)
