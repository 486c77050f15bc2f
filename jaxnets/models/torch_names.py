"""One-to-one names and layouts between jaxnets' CNNs and torchvision's ``state_dict``.

The modern CNNs name their layers after torchvision's modules, with ``_`` before a numeric
index where torchvision has ``.`` (``layer1_0/downsample_0`` is ``layer1.0.downsample.0``).
Leaves map as::

  params/…/kernel     ->  ….weight        (conv HWIO -> OIHW, dense [in, out] -> [out, in])
  params/…/bias       ->  ….bias
  params/…/scale      ->  ….weight        (BatchNorm γ)
  batch_stats/…/mean  ->  ….running_mean
  batch_stats/…/var   ->  ….running_var

torchvision's ``num_batches_tracked`` counters have no counterpart (Flax's BatchNorm uses a
fixed momentum) and are skipped on the way in.

Example:
  >>> torch_key(("params", "layer1_0", "downsample_0", "kernel"))
  'layer1.0.downsample.0.weight'
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import flax
import numpy as np

_LEAVES = {
  ("params", "kernel"): "weight",
  ("params", "bias"): "bias",
  ("params", "scale"): "weight",
  ("batch_stats", "mean"): "running_mean",
  ("batch_stats", "var"): "running_var",
}
_INDEXED = re.compile(r"^(.+)_(\d+)$")


def torch_key(path: tuple[str, ...]) -> str:
  """The torchvision ``state_dict`` key of a Flax variable path ``(collection, *modules, leaf)``.

  Raises:
    ValueError: a collection or leaf name without a torchvision counterpart.
  """
  collection, *modules, leaf = path
  if (collection, leaf) not in _LEAVES:
    raise ValueError(
      f"No torchvision name for {'/'.join(path)}: valid leaves are "
      f"{sorted('/'.join(k) for k in _LEAVES)}."
    )
  parts = []
  for module in modules:
    match = _INDEXED.match(module)
    parts += [match.group(1), match.group(2)] if match else [module]
  return ".".join(parts + [_LEAVES[(collection, leaf)]])


def torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
  """The shape of a Flax variable in PyTorch's layout (conv HWIO -> OIHW, dense transposed).

  Example:
    >>> torch_shape((3, 3, 8, 16)), torch_shape((512, 10)), torch_shape((16,))
    ((16, 8, 3, 3), (10, 512), (16,))
  """
  shape = tuple(shape)
  if len(shape) == 4:
    return (shape[3], shape[2], shape[0], shape[1])
  if len(shape) == 2:
    return shape[::-1]
  return shape


def torch_shapes(variables: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
  """``{torch key: shape in PyTorch's layout}`` of Flax variables (arrays or shape structs).

  Keys come module by module in the order of ``variables``' modules, each module's as
  torchvision orders them (``weight``, ``bias``, ``running_mean``, ``running_var``), so
  variables in the order the model created its layers give torchvision's order (Flax keeps
  ``params`` and ``batch_stats`` apart; ``jax.eval_shape`` sorts the names).

  Example:
    >>> import numpy as np
    >>> variables = {
    ...     "params": {"conv1": {"kernel": np.zeros((7, 7, 3, 64))},
    ...                "bn1": {"scale": np.ones(64), "bias": np.zeros(64)}},
    ...     "batch_stats": {"bn1": {"mean": np.zeros(64), "var": np.ones(64)}}}
    >>> torch_shapes(variables)
    {'conv1.weight': (64, 3, 7, 7), 'bn1.weight': (64,), 'bn1.bias': (64,), \
'bn1.running_mean': (64,), 'bn1.running_var': (64,)}
  """
  flat = flax.traverse_util.flatten_dict(
    {k: variables[k] for k in ("params", "batch_stats") if k in variables}
  )
  modules: dict[tuple[str, ...], int] = {}
  for path in flat:  # Modules in the order the model created them (params come first).
    modules.setdefault(tuple(path[1:-1]), len(modules))
  rank = {leaf: i for i, leaf in enumerate(("kernel", "scale", "bias", "mean", "var"))}
  order = sorted(flat, key=lambda path: (modules[tuple(path[1:-1])], rank.get(path[-1], 5)))
  out = {}
  for path in order:
    key = torch_key(path)
    if key in out:
      raise ValueError(f"Two variables map onto the torch key {key!r}.")
    out[key] = torch_shape(np.shape(flat[path]))
  return out


def _to_torch_layout(array: np.ndarray) -> np.ndarray:
  if array.ndim == 4:  # Conv kernel HWIO -> OIHW.
    return np.transpose(array, (3, 2, 0, 1))
  if array.ndim == 2:  # Dense kernel [in, out] -> [out, in].
    return array.T
  return array


def _from_torch_layout(array: np.ndarray) -> np.ndarray:
  if array.ndim == 4:
    return np.transpose(array, (2, 3, 1, 0))
  if array.ndim == 2:
    return array.T
  return array


def to_torch_state_dict(variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """Flax variables (``params`` and ``batch_stats``) as a torchvision-style ``state_dict``.

  Args:
    variables: ``{"params": ..., "batch_stats": ...}`` of a jaxnets CNN.

  Returns:
    ``{torch key: numpy array in PyTorch's layout}``.

  Example:
    >>> import numpy as np
    >>> variables = {
    ...     "params": {"layer1_0": {"conv1": {"kernel": np.zeros((3, 3, 8, 16))}}},
    ...     "batch_stats": {"bn1": {"mean": np.zeros(16), "var": np.ones(16)}}}
    >>> {key: a.shape for key, a in to_torch_state_dict(variables).items()}
    {'layer1.0.conv1.weight': (16, 8, 3, 3), 'bn1.running_mean': (16,), 'bn1.running_var': (16,)}
  """
  flat = flax.traverse_util.flatten_dict(
    {k: variables[k] for k in ("params", "batch_stats") if k in variables}
  )
  out = {}
  for path, value in flat.items():
    key = torch_key(path)
    if key in out:
      raise ValueError(f"Two variables map onto the torch key {key!r}.")
    out[key] = _to_torch_layout(np.asarray(value))
  return out


def from_torch_state_dict(
  state_dict: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Any]:
  """Variables shaped like ``variables``, filled from a torchvision-style ``state_dict``.

  Args:
    state_dict: ``{torch key: array or tensor}`` (``num_batches_tracked`` entries are ignored).
    variables: variables of the target model (e.g. from ``jax.eval_shape(model.init, ...)``),
      for the tree structure, shapes and dtypes.

  Returns:
    ``{"params": ..., "batch_stats": ...}`` as numpy arrays in Flax's layout.

  Raises:
    ValueError: naming the keys that are missing or unexpected, or a shape that differs.
  """
  arrays = {
    k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)
    for k, v in state_dict.items()
    if not k.endswith("num_batches_tracked")
  }
  flat = flax.traverse_util.flatten_dict(
    {k: variables[k] for k in ("params", "batch_stats") if k in variables}
  )
  keys = {path: torch_key(path) for path in flat}
  missing = sorted(set(keys.values()) - set(arrays))
  unexpected = sorted(set(arrays) - set(keys.values()))
  if missing or unexpected:
    raise ValueError(
      f"state_dict does not match the model: missing {missing[:5]}"
      f"{' …' if len(missing) > 5 else ''} ({len(missing)}), unexpected {unexpected[:5]}"
      f"{' …' if len(unexpected) > 5 else ''} ({len(unexpected)})."
    )
  out = {}
  for path, template in flat.items():
    value = _from_torch_layout(arrays[keys[path]])
    if value.shape != tuple(template.shape):
      raise ValueError(
        f"{keys[path]}: torch shape {arrays[keys[path]].shape} gives {value.shape} in Flax's "
        f"layout, but the model's {'/'.join(path)} has shape {tuple(template.shape)}."
      )
    out[path] = value.astype(template.dtype)
  return flax.traverse_util.unflatten_dict(out)
