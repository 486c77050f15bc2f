"""Minibatch pipelines: shuffle first, then cut fixed-shape batches.

Two paths share one contract (dict batches of fixed shape, reproducible from a seed):
  * in memory: :func:`batches` (numpy, host) and :func:`epoch_permutation` (a device-resident
    index array for a whole epoch, consumed by ``lax.scan`` or by per-step gathers);
  * streaming: :func:`stream_batches` wraps a random-access source (e.g. ``tfds.data_source``)
    in a ``grain.MapDataset`` for data that does not fit in memory.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

import jax
import jax.numpy as jnp
import numpy as np


def _check_batch_size(batch_size: int, n: int, drop_remainder: bool) -> None:
  if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
    raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
  if drop_remainder and batch_size > n:
    raise ValueError(
      f"batch_size={batch_size} is larger than the dataset ({n} examples): with "
      f"drop_remainder=True no batch could be formed. Use batch_size <= {n}."
    )


def num_batches(n: int, batch_size: int, drop_remainder: bool = True) -> int:
  """Batches per epoch for ``n`` examples."""
  _check_batch_size(batch_size, n, drop_remainder)
  return n // batch_size if drop_remainder else -(-n // batch_size)


def _num_examples(data: Mapping[str, np.ndarray]) -> int:
  sizes = {k: len(v) for k, v in data.items()}
  if len(set(sizes.values())) != 1:
    raise ValueError(f"All arrays of a dataset need the same leading size, got {sizes}.")
  return next(iter(sizes.values()))


def batches(
  data: Mapping[str, np.ndarray],
  batch_size: int,
  *,
  seed: int = 0,
  epoch: int = 0,
  shuffle: bool = True,
  drop_remainder: bool = True,
) -> Iterator[dict[str, np.ndarray]]:
  """Yields one epoch of minibatches, shuffled before batching.

  The order depends only on ``(seed, epoch)``, so an epoch can be replayed exactly. With
  ``drop_remainder=False`` the last batch is padded to full size by repeating its first
  rows and carries a ``"mask"`` (1 for real rows, 0 for padding), so shapes stay fixed.

  Args:
    data: dict of arrays sharing a leading dimension.
    batch_size: examples per batch (positive).
    seed: base seed of the shuffle.
    epoch: epoch number, folded into the seed.
    shuffle: whether to permute the examples first.
    drop_remainder: drop (True) or pad (False) the last partial batch.

  Yields:
    Dicts with the same keys as ``data`` (plus ``"mask"`` when padding is possible).

  Example:
    >>> d = {"x": np.arange(10.0)[:, None], "y": np.arange(10)}
    >>> [b["y"].shape for b in batches(d, 4, seed=0)]
    [(4,), (4,)]
  """
  n = _num_examples(data)
  _check_batch_size(batch_size, n, drop_remainder)
  order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
  for start in range(0, n, batch_size):
    idx = order[start : start + batch_size]
    if len(idx) < batch_size:
      if drop_remainder:
        return
      pad = batch_size - len(idx)
      mask = np.concatenate([np.ones(len(idx), np.float32), np.zeros(pad, np.float32)])
      idx = np.concatenate([idx, np.resize(idx, pad)])
    else:
      mask = np.ones(batch_size, np.float32)
    batch = {k: v[idx] for k, v in data.items()}
    if not drop_remainder:
      batch["mask"] = mask
    yield batch


def epoch_permutation(key: jax.Array, n: int, batch_size: int) -> jax.Array:
  """A device-resident shuffled index array ``i32[num_batches, batch_size]`` for one epoch.

  The remainder is dropped, so every batch has the same shape. Pure and jittable
  (``n`` and ``batch_size`` static).

  Example:
    >>> idx = epoch_permutation(jax.random.key(0), 10, 3)
    >>> idx.shape
    (3, 3)
  """
  steps = num_batches(n, batch_size)
  perm = jax.random.permutation(key, n)
  return perm[: steps * batch_size].reshape(steps, batch_size)


def stream_batches(
  source: Any,
  batch_size: int,
  *,
  seed: int = 0,
  num_epochs: int = 1,
  transform: Callable[[Any], dict] | None = None,
  worker_count: int = 0,
  shard_index: int = 0,
  shard_count: int = 1,
) -> Iterator[dict[str, np.ndarray]]:
  """Streams shuffled fixed-shape batches from a random-access source with grain.

  Each epoch is shuffled with a different seed before batching; the remainder is dropped.
  In multi-host runs each host passes its ``shard_index``/``shard_count`` and reads only
  its share of every epoch.

  Args:
    source: anything with ``__len__`` and ``__getitem__`` (``tfds.data_source``, a list).
    batch_size: examples per batch.
    seed: shuffle seed.
    num_epochs: number of passes.
    transform: per-record function returning a dict of numpy arrays (default: identity).
    worker_count: grain worker processes (0 = read in this process). Worker processes
      need absl flags parsed, which the launcher does.
    shard_index: this host's index among ``shard_count`` readers.
    shard_count: number of hosts reading disjoint shards.

  Yields:
    Dicts of stacked numpy arrays with leading dimension ``batch_size``.

  Example:
    >>> src = [{"x": np.float32(i), "y": np.int32(i % 2)} for i in range(10)]
    >>> [b["x"].shape for b in stream_batches(src, 4)]
    [(4,), (4,)]
  """
  import grain

  n = len(source)
  _check_batch_size(batch_size, n, True)
  if not 0 <= shard_index < shard_count:
    raise ValueError(f"shard_index must be in [0, {shard_count}), got {shard_index}.")
  ds = grain.MapDataset.source(source)
  if shard_count > 1:
    ds = ds[shard_index::shard_count]
  ds = ds.shuffle(seed=seed).repeat(num_epochs)  # grain reshuffles each repetition.
  if transform is not None:
    ds = ds.map(transform)
  ds = ds.batch(batch_size, drop_remainder=True)
  if worker_count > 0:
    ds = ds.to_iter_dataset().mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))
  yield from ds


def to_device(batch: Mapping[str, np.ndarray], sharding=None) -> dict[str, jax.Array]:
  """Moves a host batch to the device(s) (``jax.device_put``), optionally sharded."""
  return {k: jax.device_put(jnp.asarray(v), sharding) for k, v in batch.items()}
