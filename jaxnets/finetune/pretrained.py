"""Pretrained variables from disk: a jaxnets run, saved parameters, or PyTorch weights."""

from __future__ import annotations

import importlib
import os
from typing import Any

import jax
import numpy as np

from jaxnets.params import load_params

TORCH_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


def _latest_step(directory: str) -> str | None:
  """The newest complete step folder of an Orbax ``CheckpointManager`` directory, or None.

  Orbax writes a step under a temporary name and renames it to the bare step number when
  complete, so only all-digit names are finished checkpoints.
  """
  steps = [int(n) for n in os.listdir(directory) if n.isdigit()]
  return os.path.join(directory, str(max(steps))) if steps else None


def _orbax_item(path: str) -> str:
  """The folder holding the saved tree, for each layout a jaxnets checkpoint can be given in."""
  if os.path.isdir(os.path.join(path, "checkpoints")):  # A run's workdir: its latest step.
    path = os.path.join(path, "checkpoints")
  if not os.path.isdir(os.path.join(path, "default")):  # Not a step folder itself.
    step = _latest_step(path)
    if step is not None:
      path = step
  if os.path.isdir(os.path.join(path, "default")):  # A CheckpointManager step: its one item.
    path = os.path.join(path, "default")
  return path


def load_pretrained(path: str, model: str | None = None) -> dict[str, Any]:
  """``{"params", "batch_stats"}`` to fine-tune from, as host numpy arrays.

  Args:
    path: one of
      * a jaxnets run's workdir, its ``checkpoints/`` folder, or one ``checkpoints/<step>/``
        (the latest step where none is named); only its params and batch_stats are read;
      * a :func:`jaxnets.params.save_params` directory of ``{"params", "batch_stats"?}``
        (or of the params alone);
      * a PyTorch file of torchvision layout (``.safetensors``, ``.pth``, ``.pt``, ``.bin``),
        converted by :func:`jaxnets.interop.load_variables` (``.pth`` needs torch).
    model: the jaxnets model name (``"resnet18"``, ...); needed for PyTorch files.

  Raises:
    FileNotFoundError: nothing to load at ``path``.
    ValueError: a PyTorch file without ``model``, or a checkpoint without parameters.

  Example:
    >>> import tempfile, os, jax.numpy as jnp
    >>> from jaxnets.params import save_params
    >>> d = os.path.join(tempfile.mkdtemp(), "w")
    >>> _ = save_params(d, {"params": {"fc": {"bias": jnp.zeros(3)}}})
    >>> sorted(load_pretrained(d)), load_pretrained(d)["params"]["fc"]["bias"].shape
    (['batch_stats', 'params'], (3,))
  """
  path = os.path.expanduser(os.fspath(path))
  if not os.path.exists(path):
    raise FileNotFoundError(
      f"No pretrained weights at {path}: give a jaxnets run's workdir (or its checkpoints/<step>), "
      f"a save_params directory, or a PyTorch file ({', '.join(TORCH_SUFFIXES)})."
    )
  if path.endswith(TORCH_SUFFIXES):
    if model is None:
      raise ValueError(f"Loading the PyTorch file {path} needs the model name (e.g. 'resnet18').")
    interop = importlib.import_module("jaxnets.interop")  # Imported only for PyTorch files.
    variables = interop.load_variables(path, model)
  else:
    tree = load_params(_orbax_item(path))
    if not isinstance(tree, dict) or not tree:
      raise ValueError(f"The checkpoint at {path} holds no parameters.")
    variables = tree if "params" in tree else {"params": tree}
  params = variables.get("params")
  if not params:
    raise ValueError(f"The checkpoint at {path} holds no 'params'.")
  return jax.tree_util.tree_map(
    np.asarray, {"params": params, "batch_stats": variables.get("batch_stats") or {}}
  )
