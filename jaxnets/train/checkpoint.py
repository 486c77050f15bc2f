"""Orbax checkpoints of a :class:`TrainState`: atomic saves, ``max_to_keep``, resume."""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxnets.train.state import TrainState


class Checkpointer:
  """Saves and restores the pytree part of a :class:`TrainState` under ``directory``.

  Orbax writes each step to a temporary folder and renames it when complete, so an
  interrupted save never looks like a checkpoint. Saves are asynchronous; every public
  method waits for them where needed, and :meth:`close` waits before returning.

  Example:
    >>> import tempfile
    >>> ckpt = Checkpointer(tempfile.mkdtemp(), max_to_keep=2)
    >>> ckpt.latest_step() is None
    True
    >>> ckpt.close()
  """

  def __init__(self, directory: str, max_to_keep: int = 3):
    if max_to_keep is not None and max_to_keep <= 0:
      raise ValueError(f"max_to_keep must be positive, got {max_to_keep}.")
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    """The newest complete checkpoint's step, or None."""
    self._manager.wait_until_finished()
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    self._manager.wait_until_finished()
    return sorted(self._manager.all_steps())

  def save(self, state: TrainState, epoch: int) -> None:
    """Starts an asynchronous save of ``state`` labelled by ``epoch``."""
    items = dict(state.checkpoint_items(), epoch=epoch)
    self._manager.save(int(jax.device_get(state.step)), args=ocp.args.StandardSave(items))

  def restore(self, state: TrainState, step: int | None = None) -> tuple[TrainState, int]:
    """Restores ``step`` (default: latest) into ``state``'s structure and shardings.

    Returns:
      The restored state and the number of epochs it had completed.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"No checkpoint in {self.directory}.")
    target = dict(state.checkpoint_items(), epoch=0)
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
    items: dict[str, Any] = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    epoch = int(items.pop("epoch"))
    return state.replace_items(items), epoch

  def close(self) -> None:
    """Waits for pending saves and releases the manager."""
    self._manager.wait_until_finished()
    self._manager.close()
