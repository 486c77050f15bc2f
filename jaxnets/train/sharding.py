"""Data parallelism with ``jax.sharding``: one mesh axis ``"data"`` over every device.

The batch is sharded along its leading axis, parameters and optimizer state are replicated,
and plain ``jax.jit`` inserts the gradient all-reduce. The same code runs on one CPU, 8
simulated CPU devices, a GPU host, or a multi-host TPU slice (after
``jax.distributed.initialize()`` the mesh spans every host's devices; each host feeds its
own rows of every batch through :func:`host_local_to_global`).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def make_mesh(devices: list | None = None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all devices of all hosts)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split across the ``"data"`` axis."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  """Every device holds the whole array."""
  return NamedSharding(mesh, PartitionSpec())


def host_local_to_global(local: Any, sharding: NamedSharding) -> Any:
  """Assembles global arrays from each host's local rows (one host: a sharded device_put).

  For a replicated sharding every host passes the same full array.
  """
  return jax.tree_util.tree_map(
    lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local
  )
