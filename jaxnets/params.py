"""Parameter pytrees the way the course used ``nn.Module.parameters()``: listing, naming, counting.

Also saving/loading them with Orbax (``torch.save`` / ``load_state_dict``) and placing them on
devices (``.to(device)``).

Example:
  >>> import jax, jax.numpy as jnp, flax.linen as nn
  >>> params = nn.Dense(3).init(jax.random.key(0), jnp.ones((1, 2)))["params"]
  >>> count_params(params)
  9
  >>> sorted(named_parameters(params))
  ['bias', 'kernel']
"""

import os
import uuid
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath


def _key_name(entry: Any) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(entry, attr):
      return str(getattr(entry, attr))
  return str(entry)


def named_parameters(params: Any) -> dict[str, jax.Array]:
  """Flattens a parameter pytree into ``{"Dense_0/kernel": array, ...}`` (path order)."""
  flat, _ = jax.tree_util.tree_flatten_with_path(params)
  return {"/".join(_key_name(k) for k in path): leaf for path, leaf in flat}


def count_params(params: Any) -> int:
  """Total number of scalars in a pytree of arrays."""
  return int(
    sum(np.prod(np.shape(leaf), dtype=np.int64) for leaf in jax.tree_util.tree_leaves(params))
  )


def parameters(params: Any) -> list[jax.Array]:
  """All parameter arrays in path order: the analogue of ``module.parameters()``.

  Example:
    >>> import jax.numpy as jnp
    >>> [p.shape for p in parameters({"b": jnp.zeros(2), "a": jnp.zeros((3, 2))})]
    [(3, 2), (2,)]
  """
  return list(named_parameters(params).values())


# ----------------------------------------------------------------------------------------------
# Saving and loading (the torch.save / load_state_dict analogues), with Orbax.


def _checkpoint_path(path: Any) -> epath.Path:
  """An absolute path (Orbax needs one); remote paths such as ``gs://...`` are kept as is."""
  text = os.fspath(path)
  if not text:
    raise ValueError("path must be a non-empty directory name.")
  return epath.Path(text if "://" in text else os.path.abspath(text))


def _is_typed_key(leaf: Any) -> bool:
  return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def to_storable(tree: Any) -> Any:
  """``tree`` with typed PRNG keys (``jax.random.key``) as their raw ``uint32`` data.

  What every jaxnets checkpoint stores (Orbax stores arrays, not typed keys); parameters
  (:func:`save_params`) and whole training states (``jaxnets.train.Checkpointer``) alike.
  """

  def raw(leaf):
    if not _is_typed_key(leaf):
      return leaf
    if isinstance(leaf, jax.ShapeDtypeStruct):
      return jax.eval_shape(jax.random.key_data, leaf)
    return jax.random.key_data(leaf)

  return jax.tree_util.tree_map(raw, tree)


def from_storable(restored: Any, target: Any) -> Any:
  """Undoes :func:`to_storable`: re-wraps raw key data wherever ``target`` holds a typed key."""

  def wrap(value, like):
    if not _is_typed_key(like):
      return value
    impl = None if isinstance(like, jax.ShapeDtypeStruct) else jax.random.key_impl(like)
    return jax.random.wrap_key_data(value, impl=impl)

  return jax.tree_util.tree_map(wrap, restored, target)


def save_params(path: Any, pytree: Any, *, force: bool = False) -> str:
  """Saves a pytree of arrays (parameters, batch stats, optimizer state) to a directory.

  The analogue of ``torch.save(model.state_dict(), path)``. Orbax writes into a temporary
  directory and renames it when complete, and this function waits for the (asynchronous)
  write to finish before returning, so ``path`` either holds a whole checkpoint or nothing.
  With ``force=True`` an existing checkpoint is replaced only after the new one is complete.

  Args:
    path: the checkpoint directory to create (local, or ``gs://...``).
    pytree: nested dicts/lists/tuples/namedtuples of ``jax.Array``, numpy arrays or scalars.
      Typed PRNG keys are stored as their raw ``uint32`` key data.
    force: replace an existing ``path`` instead of refusing.

  Returns:
    The absolute path written.

  Raises:
    FileExistsError: ``path`` exists and ``force`` is False.
    ValueError: a leaf is not an array or number.

  Example:
    >>> import tempfile, os, jax.numpy as jnp
    >>> d = os.path.join(tempfile.mkdtemp(), "params")
    >>> _ = save_params(d, {"Dense_0": {"kernel": jnp.ones((2, 3))}})
    >>> load_params(d)["Dense_0"]["kernel"].shape
    (2, 3)
  """
  target = _checkpoint_path(path)
  for name, leaf in named_parameters(pytree).items():
    if not isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, bool)):
      raise ValueError(
        f"save_params: leaf {name!r} is a {type(leaf).__name__}; leaves must be "
        f"arrays or numbers (jax.Array, numpy array, int, float)."
      )
  if target.exists() and not force:
    raise FileExistsError(
      f"{target} already exists; pass force=True to replace it, or choose a new path."
    )
  pytree = to_storable(pytree)
  checkpointer = ocp.StandardCheckpointer()
  try:
    if target.exists():  # force=True: write beside it, then swap, so a failure keeps the old one.
      fresh = target.parent / f"{target.name}.new-{uuid.uuid4().hex[:8]}"
      checkpointer.save(fresh, pytree)
      checkpointer.wait_until_finished()
      old = target.parent / f"{target.name}.old-{uuid.uuid4().hex[:8]}"
      target.rename(old)
      fresh.rename(target)
      if old.is_dir():
        old.rmtree()
      else:
        old.unlink()
    else:
      checkpointer.save(target, pytree)
      checkpointer.wait_until_finished()
  finally:
    checkpointer.close()
  return str(target)


def load_params(path: Any, target: Any = None) -> Any:
  """Loads a pytree saved by :func:`save_params`: the ``load_state_dict`` analogue.

  Without ``target`` the saved tree comes back as nested dicts/lists of arrays. With
  ``target`` (a pytree of arrays or ``jax.ShapeDtypeStruct`` of the wanted structure, e.g.
  freshly initialized parameters or an optimizer state), the result has ``target``'s
  structure (namedtuples included), dtypes and shardings — so loading can also place the
  arrays on devices, like ``torch.load(..., map_location=...)``. As PyTorch's strict
  ``load_state_dict``, the names and shapes must match exactly. Typed PRNG keys in ``target``
  come back as typed keys (without a target, as their raw ``uint32`` data).

  Args:
    path: a directory written by :func:`save_params`.
    target: optional pytree giving the structure, dtypes and placement to restore into.

  Returns:
    The loaded pytree.

  Raises:
    FileNotFoundError: nothing is saved at ``path``.
    ValueError: ``target`` does not match the saved names or shapes (all differences listed).

  Example:
    >>> import tempfile, os, jax, jax.numpy as jnp
    >>> d = os.path.join(tempfile.mkdtemp(), "w")
    >>> _ = save_params(d, {"w": jnp.arange(3.0)})
    >>> load_params(d, target={"w": jax.ShapeDtypeStruct((3,), jnp.float32)})["w"].tolist()
    [0.0, 1.0, 2.0]
  """
  source = _checkpoint_path(path)
  if not source.exists():
    raise FileNotFoundError(
      f"No saved parameters at {source}: the path does not exist. "
      f"Save them first with save_params({str(source)!r}, params)."
    )
  checkpointer = ocp.StandardCheckpointer()
  try:
    try:
      stored = checkpointer.metadata(source).item_metadata
    except Exception as err:  # Orbax raises several types for a non-checkpoint directory.
      raise FileNotFoundError(
        f"{source} holds no checkpoint written by save_params: {err}"
      ) from err
    if stored is None:
      raise FileNotFoundError(
        f"{source} exists but holds no checkpoint written by save_params (no Orbax metadata found)."
      )
    if target is None:
      return checkpointer.restore(source)
    raw_target = to_storable(target)
    check_matches(source, stored.tree, raw_target)
    return from_storable(checkpointer.restore(source, raw_target), target)
  finally:
    checkpointer.close()


def key_differences(
  got: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]
) -> tuple[list[str], list[str], list[str]]:
  """Names in ``expected`` not in ``got``, in ``got`` not in ``expected``, and shared names
  whose shapes differ (each list in its dict's order).

  Example:
    >>> key_differences({"a": (2,), "b": (1,)}, {"a": (3,), "c": (1,)})
    (['c'], ['b'], ['a'])
  """
  missing = [k for k in expected if k not in got]
  unexpected = [k for k in got if k not in expected]
  mismatched = [k for k in expected if k in got and tuple(got[k]) != tuple(expected[k])]
  return missing, unexpected, mismatched


def check_matches(source: Any, stored: Any, wanted: Any) -> None:
  """Raises a ValueError listing missing names, unexpected names and shape mismatches.

  Args:
    source: where the stored tree comes from (for the message).
    stored: the stored tree (arrays or metadata with ``.shape``).
    wanted: the tree to restore into (arrays or ``jax.ShapeDtypeStruct``).
  """
  stored = {k: tuple(v.shape) for k, v in named_parameters(stored).items()}
  wanted = {k: tuple(np.shape(v)) for k, v in named_parameters(wanted).items()}
  missing, unexpected, mismatched = key_differences(stored, wanted)
  shapes = [f"{k}: saved {stored[k]}, target {wanted[k]}" for k in mismatched]
  if missing or unexpected or shapes:
    parts = [
      f"missing from the checkpoint: {missing}" if missing else "",
      f"in the checkpoint but not in target: {unexpected}" if unexpected else "",
      f"shape mismatches: {shapes}" if shapes else "",
    ]
    raise ValueError(
      f"The checkpoint at {source} does not match the structure to restore into; "
      + "; ".join(p for p in parts if p)
      + "."
    )


# ----------------------------------------------------------------------------------------------
# Placement (the .to(device) analogue).


def _resolve_placement(device: Any) -> Any:
  if device is None:
    return jax.devices()[0]
  if isinstance(device, (jax.Device, jax.sharding.Sharding)):
    return device
  if isinstance(device, jax.sharding.Mesh):  # Replicated over every device of the mesh.
    return jax.sharding.NamedSharding(device, jax.sharding.PartitionSpec())
  if isinstance(device, str):
    platform, _, index = device.partition(":")
    platform = {"cuda": "gpu", "rocm": "gpu"}.get(platform.lower(), platform.lower())
    try:
      devices = jax.devices(platform)
    except RuntimeError as err:
      available = sorted({d.platform for d in jax.devices()} | {"cpu"})
      raise ValueError(
        f"No {platform!r} devices here ({err}); available platforms: {available}."
      ) from err
    if not index:
      return devices[0]
    if not index.isdigit() or int(index) >= len(devices):
      raise ValueError(
        f"Device {device!r}: index must be 0..{len(devices) - 1} for the "
        f"{len(devices)} {platform} device(s)."
      )
    return devices[int(index)]
  raise ValueError(
    f"device must be None, a platform string ('cpu', 'gpu', 'tpu', 'cuda:1'), "
    f"a jax.Device, a Sharding or a Mesh; got {type(device).__name__}."
  )


def device_put_params(pytree: Any, device: Any = None) -> Any:
  """Places every array of a pytree on a device or sharding: ``model.to(device)`` in JAX.

  Args:
    pytree: parameters (or any pytree of arrays).
    device: ``None`` (the default device), a platform string like ``"cpu"``, ``"gpu"``,
      ``"cuda:1"`` or ``"tpu:0"``, a ``jax.Device``, a ``jax.sharding.Sharding``, or a
      ``jax.sharding.Mesh`` (replicate on all its devices, as data parallelism needs).

  Returns:
    The same pytree with ``jax.Array`` leaves committed to that placement.

  Example:
    >>> import jax.numpy as jnp
    >>> placed = device_put_params({"w": jnp.ones(2)}, "cpu")
    >>> placed["w"].devices() == {jax.devices("cpu")[0]}
    True
  """
  return jax.device_put(pytree, _resolve_placement(device))
