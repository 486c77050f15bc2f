"""Training data behind one small protocol: device-resident arrays, or a stream.

Both visit the examples of epoch ``e`` of a run seeded ``s`` in the one order
:func:`jaxnets.data.epoch_order` gives, cut into fixed-shape global batches (the remainder
dropped), so a run gives the same batches whichever source feeds it.

* :class:`InMemoryData` keeps the whole split on the device(s); an epoch is an index array
  that the compiled step (or a ``lax.scan`` over the epoch) gathers from. It also serves the
  N members of a sweep, each in the order of its own seed.
* :class:`StreamingData` reads a random-access source (``tfds.data_source``) through grain,
  each host its rows of every global batch, already normalised by
  :func:`jaxnets.data.to_example`.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Protocol

import jax
import numpy as np
from jax.sharding import Mesh

from jaxnets import data
from jaxnets.train import sharding
from jaxnets.types import Batch


class TrainData(Protocol):
  """What the engine needs of a training split."""

  resident: bool  # True: arrays on the device and index batches; False: streamed batches.
  num_examples: int
  batch_size: int  # The global batch.
  steps_per_epoch: int
  example: Batch  # One example as a host batch of size 1 (for shapes and dtypes).


def _check_fits(n: int, batch_size: int) -> None:
  if batch_size > n:
    raise ValueError(
      f"config.batch_size={batch_size} is larger than the training set ({n} examples): no "
      f"full batch could be formed. Use a batch size <= {n}."
    )


class InMemoryData:
  """A training split resident on every device of ``mesh``; batches are gathered on device.

  Args:
    arrays: ``{"x": [n, ...], "y": [n, ...]}`` host arrays (each host passes the whole split).
    batch_size: the global batch size.
    mesh: the device mesh (the arrays are replicated over it).

  Example:
    >>> import numpy as np
    >>> train = InMemoryData({"x": np.zeros((10, 2), np.float32), "y": np.arange(10)}, 4,
    ...                      sharding.make_mesh())
    >>> train.steps_per_epoch, train.indices(0, seed=3).shape, train.indices(0, [1, 2]).shape
    (2, (2, 4), (2, 2, 4))
  """

  resident = True

  def __init__(self, arrays: Mapping[str, np.ndarray], batch_size: int, mesh: Mesh):
    self.num_examples = len(arrays["y"])
    _check_fits(self.num_examples, batch_size)
    self.batch_size = batch_size
    self.steps_per_epoch = data.num_batches(self.num_examples, batch_size)
    self.example = {k: np.asarray(v[:1]) for k, v in arrays.items()}
    self.arrays = sharding.host_local_to_global(dict(arrays), sharding.replicated(mesh))

  def indices(self, epoch: int, seed: int | np.ndarray | list) -> np.ndarray:
    """``i32[steps, batch]`` for one seed, or ``i32[N, steps, batch]`` for N members' seeds."""
    if np.ndim(seed) == 0:
      return data.epoch_indices(int(seed), epoch, self.num_examples, self.batch_size)
    return np.stack([self.indices(epoch, int(s)) for s in np.asarray(seed)])


class StreamingData:
  """A training split streamed from a random-access source, each host reading its rows.

  Args:
    source: ``__len__``/``__getitem__`` records ``{"image", "label"}`` (``tfds.data_source``).
    batch_size: the global batch size.
    mesh: the device mesh (batches are sharded over its ``"data"`` axis).
    worker_count: grain worker processes (0: read in this process).
  """

  resident = False

  def __init__(self, source: Any, batch_size: int, mesh: Mesh, worker_count: int = 0):
    self.source, self.worker_count = source, worker_count
    self.num_examples = len(source)
    _check_fits(self.num_examples, batch_size)
    self.batch_size = batch_size
    self.steps_per_epoch = data.num_batches(self.num_examples, batch_size)
    self.example = {k: np.asarray(v)[None] for k, v in data.to_example(source[0]).items()}
    self._sharding = sharding.batch_sharding(mesh)

  def batches(self, epoch: int, seed: int) -> Iterator[Batch]:
    """The epoch's global batches, assembled on the devices from every host's rows."""
    for local in data.stream_batches(
      self.source,
      self.batch_size,
      seed=seed,
      epoch=epoch,
      transform=data.to_example,
      worker_count=self.worker_count,
      shard_index=jax.process_index(),
      shard_count=jax.process_count(),
    ):
      yield sharding.host_local_to_global(local, self._sharding)
