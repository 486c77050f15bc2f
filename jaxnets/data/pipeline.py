"""Minibatch pipelines: shuffle first, then cut fixed-shape batches.

Every path visits the data in one order, :func:`epoch_order` of ``(seed, epoch)``:
  * in memory: :func:`batches` (numpy batches on the host) and :func:`epoch_indices` (an
    index array for a whole epoch, which the engine gathers from device-resident data);
  * streaming: :func:`stream_batches` reads a random-access source (e.g.
    ``tfds.data_source``) in that order through grain, for data that does not fit in memory.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

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


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
  """The order in which epoch ``epoch`` of a run seeded ``seed`` visits ``n`` examples.

  The one data order of jaxnets: the in-memory pipeline (:func:`batches`,
  :func:`epoch_indices`), streaming (:func:`stream_batches`), the training engine, its
  vmapped sweeps and the chapter experiments all take their shuffles from here. It is a
  function of ``(seed, epoch)`` alone: numpy's ``default_rng`` seeded with the pair, whose
  ``SeedSequence`` hashes both words, so distinct pairs never share a stream (seed 0 / epoch
  1 is not seed 1 / epoch 0). It is drawn on the host, where a permutation costs microseconds
  (XLA:CPU sorts slowly), and reaches the device as a small index array.

  Args:
    seed: the run's seed (a non-negative integer).
    epoch: the 0-based epoch.
    n: the number of examples.

  Returns:
    ``int64[n]``, a permutation of ``range(n)``.

  Example:
    >>> a, b = epoch_order(0, 0, 5), epoch_order(0, 1, 5)
    >>> sorted(a.tolist()), bool((a == epoch_order(0, 0, 5)).all()), bool((a == b).all())
    ([0, 1, 2, 3, 4], True, False)
  """
  _check_seed(seed, "seed")
  _check_seed(epoch, "epoch")
  return np.random.default_rng([seed, epoch]).permutation(n)


def _check_seed(value: Any, name: str) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
    raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")


def epoch_indices(seed: int, epoch: int, n: int, batch_size: int) -> np.ndarray:
  """``i32[n // batch_size, batch_size]``: :func:`epoch_order` cut into batches.

  The remainder is dropped, so every batch has the same shape.

  Example:
    >>> idx = epoch_indices(0, 0, 10, 3)
    >>> idx.shape, bool((idx.ravel() == epoch_order(0, 0, 10)[:9]).all())
    ((3, 3), True)
  """
  steps = num_batches(n, batch_size)
  return (
    epoch_order(seed, epoch, n)[: steps * batch_size].reshape(steps, batch_size).astype(np.int32)
  )


def run_indices(seed: int, num_epochs: int, n: int, batch_size: int) -> np.ndarray:
  """``i32[num_epochs, n // batch_size, batch_size]``: :func:`epoch_indices` of every epoch.

  The batches a whole run of ``num_epochs`` visits, for code that scans over them itself
  (the from-scratch demonstrations); the engine draws each epoch's as it goes.

  Example:
    >>> run_indices(0, 2, 10, 5).shape
    (2, 2, 5)
  """
  return np.stack([epoch_indices(seed, e, n, batch_size) for e in range(num_epochs)])


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

  The order is :func:`epoch_order` of ``(seed, epoch)``, so an epoch can be replayed exactly
  and matches the engine's. With ``drop_remainder=False`` the last batch is padded to full
  size by repeating its first rows and carries a ``"mask"`` (1 for real rows, 0 for padding),
  so shapes stay fixed.

  Args:
    data: dict of arrays sharing a leading dimension.
    batch_size: examples per batch (positive).
    seed: base seed of the shuffle.
    epoch: epoch number.
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
  order = epoch_order(seed, epoch, n) if shuffle else np.arange(n)
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


class _Reordered:
  """Random access to ``source`` in the order ``indices`` (picklable, for grain workers)."""

  def __init__(self, source: Any, indices: np.ndarray):
    self.source, self.indices = source, indices

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, i: int) -> Any:
    return self.source[int(self.indices[i])]


def stream_batches(
  source: Any,
  batch_size: int,
  *,
  seed: int = 0,
  epoch: int = 0,
  transform: Callable[[Any], dict] | None = None,
  worker_count: int = 0,
  shard_index: int = 0,
  shard_count: int = 1,
) -> Iterator[dict[str, np.ndarray]]:
  """Streams one epoch of fixed-shape batches from a random-access source with grain.

  The global batches are exactly those of the in-memory pipeline: :func:`epoch_indices` of
  ``(seed, epoch)`` (remainder dropped). In multi-host runs each of ``shard_count`` hosts
  reads only its ``batch_size / shard_count`` rows of every global batch (host ``h`` the
  ``h``-th block), so the hosts together feed the same global batch one host would.

  Args:
    source: anything with ``__len__`` and ``__getitem__`` (``tfds.data_source``, a list).
    batch_size: examples per global batch (divisible by ``shard_count``).
    seed: the run's seed.
    epoch: the epoch to stream.
    transform: per-record function returning a dict of numpy arrays (default: identity).
    worker_count: grain worker processes (0 = read in this process). Worker processes
      need absl flags parsed, which the launcher does.
    shard_index: this host's index among ``shard_count`` readers.
    shard_count: number of hosts reading disjoint rows of each batch.

  Yields:
    Dicts of stacked numpy arrays with leading dimension ``batch_size // shard_count``.

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
  if batch_size % shard_count:
    raise ValueError(
      f"batch_size={batch_size} must be divisible by the number of hosts ({shard_count})."
    )
  local = batch_size // shard_count
  rows = epoch_indices(seed, epoch, n, batch_size)[
    :, shard_index * local : (shard_index + 1) * local
  ]
  ds = grain.MapDataset.source(_Reordered(source, rows.reshape(-1)))
  if transform is not None:
    ds = ds.map(transform)
  ds = ds.batch(local, drop_remainder=True)
  if worker_count > 0:
    ds = ds.to_iter_dataset().mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))
  yield from ds
