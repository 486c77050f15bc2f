"""Exact evaluation of a state (or of N stacked states) on a whole split.

A split is cut into fixed-shape batches once (the last one padded and masked, so nothing
recompiles and the mean is exact) and kept on the device; every evaluation then runs
:func:`jaxnets.train.steps.eval_step` on those batches and sums on the host.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from jaxnets import data
from jaxnets.train import compile_cache, sharding, steps
from jaxnets.train.state import TrainState
from jaxnets.types import Batch


class Evaluator:
  """Mean loss (and accuracy) over whole splits, for one model or N stacked ones.

  Args:
    mesh: the device mesh (batches are sharded over it).
    batch_size: examples per evaluation step (rounded to a multiple of the devices).
    members: N for stacked states (the step is vmapped), None for one model.

  Example:
    >>> import jax.numpy as jnp, numpy as np, optax
    >>> from jaxnets import losses, models
    >>> state = TrainState.create(model=models.SoftmaxRegression(2), tx=optax.sgd(0.1),
    ...     loss_fn=losses.softmax_cross_entropy, seed=0, sample_x=jnp.zeros((1, 3)))
    >>> evaluator = Evaluator(sharding.make_mesh(), batch_size=4)
    >>> split = evaluator.prepare({"x": np.zeros((10, 3), np.float32), "y": np.zeros(10, np.int32)})
    >>> result = evaluator(state, split)
    >>> sorted(result), round(result["loss"], 4)
    (['accuracy', 'loss'], 0.6931)
  """

  def __init__(self, mesh: Mesh, batch_size: int, members: int | None = None):
    self.mesh, self.batch_size, self.members = mesh, batch_size, members
    self._sharding = sharding.batch_sharding(mesh)
    step = jax.vmap(steps.eval_step, in_axes=(0, None)) if members else steps.eval_step
    self._fn = step
    self._compiled: dict[Any, Any] = {}

  def _step(self, state: TrainState, batch: Batch) -> Any:
    """The compiled step for these shapes, shared across evaluators (see compile_cache).

    Evaluation reads the parameters and BatchNorm statistics only, so the program is compiled
    without the optimizer state: runs of one model with different optimizers share it.
    """
    state = state.replace(opt_state=None, step=None, rng=None)
    leaves, treedef = jax.tree_util.tree_flatten((state, batch))
    key = (treedef, tuple((np.shape(a), _dtype(a), getattr(a, "sharding", None)) for a in leaves))
    if key not in self._compiled:
      self._compiled[key] = compile_cache.compile_shared(self._fn, state, batch)
    return self._compiled[key](state, batch)

  def prepare(self, split: Batch, batch_size: int | None = None) -> list[Batch]:
    """``split`` as padded, masked device batches (do it once per split).

    Args:
      split: ``{"x", "y"}`` host arrays.
      batch_size: examples per batch (default: ``min(self.batch_size, len(split))``); splits
        prepared with one size share one compiled evaluation step.
    """
    devices = self.mesh.devices.size
    size = min(self.batch_size, len(split["y"])) if batch_size is None else batch_size
    size = max(size - size % devices, devices)
    out = []
    # Each process feeds its block of rows of every (global) batch.
    rows, first = size // jax.process_count(), size // jax.process_count() * jax.process_index()
    for batch in data.batches(split, size, shuffle=False, drop_remainder=False):
      local = {k: v[first : first + rows] for k, v in batch.items()}
      out.append(sharding.host_local_to_global(local, self._sharding))
    return out

  def __call__(self, state: TrainState, prepared: list[Batch]) -> dict[str, Any]:
    """``{"loss", "accuracy"?}``: floats for one model, ``f32[N]`` arrays for N models."""
    sums = jax.device_get([self._step(state, batch) for batch in prepared])
    total = {k: np.sum([s[k] for s in sums], axis=0, dtype=np.float64) for k in sums[0]}
    out = {"loss": total["loss_sum"] / total["count"]}
    if "correct" in total:
      out["accuracy"] = total["correct"] / total["count"]
    return {k: float(v) if np.ndim(v) == 0 else v.astype(np.float32) for k, v in out.items()}


def _dtype(leaf: Any) -> Any:
  return getattr(leaf, "dtype", type(leaf))
