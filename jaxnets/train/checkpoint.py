"""Orbax checkpoints of a run under ``workdir/checkpoints/<step>/``: atomic, ``max_to_keep``.

The same Orbax code as :func:`jaxnets.params.save_params` / ``load_params``: the pytree goes
through :func:`jaxnets.params.to_storable` (typed PRNG keys as raw key data), is written with
``ocp.args.StandardSave`` and read back with ``StandardRestore`` into a target's structure,
after the stored names and shapes are checked against it
(:func:`jaxnets.params.check_matches`), so a mismatch is one clear message.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxnets.params import check_matches, from_storable, to_storable


class Checkpointer:
  """Saves and restores pytrees (a run's state, its epoch, ...) by step under ``directory``.

  Orbax writes each step to a temporary folder and renames it when complete, so an
  interrupted save never looks like a checkpoint. Saves are asynchronous; every public
  method waits for them where needed, and :meth:`close` waits before returning.

  Example:
    >>> import tempfile, jax.numpy as jnp
    >>> ckpt = Checkpointer(tempfile.mkdtemp(), max_to_keep=2)
    >>> ckpt.save(5, {"w": jnp.ones(3), "epoch": 1})
    >>> ckpt.latest_step(), ckpt.restore({"w": jnp.zeros(3), "epoch": 0})["epoch"]
    (5, 1)
    >>> ckpt.close()
  """

  def __init__(self, directory: str, max_to_keep: int = 3):
    if max_to_keep is not None and max_to_keep <= 0:
      raise ValueError(f"max_to_keep must be positive, got {max_to_keep}.")
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    self._manager = ocp.CheckpointManager(
      self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
    )

  def latest_step(self) -> int | None:
    """The newest complete checkpoint's step, or None."""
    self._manager.wait_until_finished()
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    """Every complete checkpoint's step, oldest first."""
    self._manager.wait_until_finished()
    return sorted(self._manager.all_steps())

  def save(self, step: int, tree: Any) -> None:
    """Starts an asynchronous save of ``tree`` as checkpoint ``step``."""
    self._manager.save(int(step), args=ocp.args.StandardSave(to_storable(tree)))

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores ``step`` (default: latest) into ``target``'s structure, dtypes and shardings.

    Args:
      target: a pytree of arrays or ``jax.ShapeDtypeStruct`` (e.g. a freshly built state's
        items, or their ``jax.eval_shape``).
      step: the checkpoint to read (default: the latest).

    Raises:
      FileNotFoundError: there is no checkpoint.
      ValueError: the checkpoint's names or shapes differ from ``target``'s.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"No checkpoint in {self.directory}.")
    storable = to_storable(target)
    stored = self._manager.item_metadata(step)
    check_matches(os.path.join(self.directory, str(step)), _tree_of(stored), storable)
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, storable)
    restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    return from_storable(restored, target)

  def close(self) -> None:
    """Waits for pending saves and releases the manager."""
    self._manager.wait_until_finished()
    self._manager.close()


def _tree_of(metadata: Any) -> Any:
  """The stored tree's metadata (Orbax wraps it differently across versions)."""
  return getattr(metadata, "tree", metadata)
