"""Orbax checkpoints of a run under ``workdir/checkpoints/<step>/``: atomic, ``max_to_keep``.

The same Orbax code as :func:`jaxnets.params.save_params` / ``load_params``: the pytree goes
through :func:`jaxnets.params.to_storable` (typed PRNG keys as raw key data), is written with
``ocp.args.StandardSave`` and read back with ``StandardRestore`` into a target's structure,
after the stored names and shapes are checked against it
(:func:`jaxnets.params.check_matches`), so a mismatch is one clear message.
"""

from __future__ import annotations

import os
import shutil
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
    self._max_to_keep = max_to_keep
    self._pending: int | None = None  # The step of a save not yet known to be complete.
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    # Leftover temporary folders of an interrupted or failed save are removed when the
    # manager opens (by the chief: the other processes' saves only ever go through it).
    self._remove_tmp()
    options = ocp.CheckpointManagerOptions(
      max_to_keep=self._max_to_keep, create=True, cleanup_tmp_directories=True
    )
    return ocp.CheckpointManager(
      self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
    )

  def _remove_tmp(self) -> None:
    if jax.process_index() == 0 and os.path.isdir(self.directory):
      for name in os.listdir(self.directory):
        if ".orbax-checkpoint-tmp" in name:
          shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

  def _wait(self) -> None:
    """Waits for a pending save; a failed one raises :class:`CheckpointSaveError`."""
    try:
      self._manager.wait_until_finished()
    except Exception as err:
      step, self._pending = self._pending, None
      raise self._save_error(step, err) from err
    self._pending = None

  def _save_error(self, step: int | None, err: BaseException) -> "CheckpointSaveError":
    self._remove_tmp()  # Nothing half-written stays behind.
    try:
      kept = sorted(self._manager.all_steps())
    except Exception:  # The directory itself may be unreadable.
      kept = []
    previous = [s for s in kept if step is None or s < step]
    intact = (
      f"the previous checkpoint (step {previous[-1]}) is intact and a rerun resumes from it"
      if previous
      else "no earlier checkpoint exists"
    )
    return CheckpointSaveError(
      f"Saving checkpoint step {step} to {self.directory} failed ({one_line(err)}); {intact}. "
      "Free disk space or make the directory writable, then rerun."
    )

  def latest_step(self) -> int | None:
    """The newest complete checkpoint's step, or None."""
    self._wait()
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    """Every complete checkpoint's step, oldest first."""
    self._wait()
    return sorted(self._manager.all_steps())

  def save(self, step: int, tree: Any) -> None:
    """Starts an asynchronous save of ``tree`` as checkpoint ``step``.

    Raises:
      CheckpointSaveError: this save (or the previous, asynchronous one) could not be
        written, e.g. the disk is full or read-only; the checkpoints before it are intact.
    """
    self._wait()
    self._pending = int(step)
    try:
      self._manager.save(int(step), args=ocp.args.StandardSave(to_storable(tree)))
    except Exception as err:
      self._pending = None
      raise self._save_error(int(step), err) from err

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores ``step`` (default: latest) into ``target``'s structure, dtypes and shardings.

    Args:
      target: a pytree of arrays or ``jax.ShapeDtypeStruct`` (e.g. a freshly built state's
        items, or their ``jax.eval_shape``).
      step: the checkpoint to read (default: the latest).

    Raises:
      FileNotFoundError: there is no checkpoint.
      ValueError: the checkpoint's names or shapes differ from ``target``'s.
      UnreadableCheckpoint: the checkpoint's files are truncated, garbled or missing.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"No checkpoint in {self.directory}.")
    storable = to_storable(target)
    try:
      stored = _tree_of(self._manager.item_metadata(step))
      if stored is None:
        raise FileNotFoundError("its metadata is missing")
    except Exception as err:
      raise UnreadableCheckpoint(step, f"unreadable metadata: {one_line(err)}") from err
    check_matches(os.path.join(self.directory, str(step)), stored, storable)
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, storable)
    try:
      restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as err:
      raise UnreadableCheckpoint(step, f"unreadable arrays: {one_line(err)}") from err
    return from_storable(restored, target)

  def set_aside(self, step: int) -> str:
    """Moves checkpoint ``step`` to ``<step>.corrupt-<n>`` beside it (kept, no longer listed).

    Returns:
      The new path of the checkpoint folder.
    """
    self._wait()
    source = os.path.join(self.directory, str(int(step)))
    n = 1
    while os.path.exists(f"{source}.corrupt-{n}"):
      n += 1
    target = f"{source}.corrupt-{n}"
    if jax.process_index() == 0:  # One mover; the other processes wait for it.
      shutil.move(source, target)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils

      multihost_utils.sync_global_devices(f"jaxnets set_aside {step}")
    self._manager.close()
    self._manager = self._open()
    return target

  def close(self) -> None:
    """Waits for pending saves and releases the manager.

    Raises:
      CheckpointSaveError: the last save failed (the manager is released all the same).
    """
    try:
      self._wait()
    finally:
      self._manager.close()


class UnreadableCheckpoint(Exception):
  """A checkpoint whose files cannot be read (truncated, garbled, or missing)."""

  def __init__(self, step: int, reason: str):
    super().__init__(f"checkpoint step {step} is unreadable ({reason})")
    self.step, self.reason = step, reason


class CheckpointSaveError(OSError):
  """A checkpoint could not be written; the earlier checkpoints are untouched."""


def one_line(err: BaseException, limit: int = 160) -> str:
  """``err`` as one short line: its type and the first line of its message."""
  text = str(err).strip().splitlines()
  first = text[0].strip() if text else ""
  if len(first) > limit:
    first = first[: limit - 3] + "..."
  return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _tree_of(metadata: Any) -> Any:
  """The stored tree's metadata (Orbax wraps it differently across versions)."""
  return getattr(metadata, "tree", metadata)
