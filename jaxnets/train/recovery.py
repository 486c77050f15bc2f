"""What a resumed run puts in order first: a readable checkpoint, the same model, clean logs.

* :func:`restore_readable`: the newest checkpoint that restores; an unreadable one (truncated
  or garbled files, a deleted manifest or ``_METADATA``) is moved aside as
  ``<step>.corrupt-<n>`` with a one-line warning, never deleted, and the previous one is tried.
* :func:`check_same_model`: a workdir holding another model's run is refused, naming both.
* :func:`truncate_metrics`: ``metrics.jsonl`` rows logged after the restored step (an epoch
  logged before its checkpoint was committed) are dropped, atomically, so a resumed run
  does not log an epoch twice.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping

import ml_collections

from jaxnets.train.checkpoint import Checkpointer, UnreadableCheckpoint


def restore_readable(
  checkpointer: Checkpointer, target: Any, warn: Callable[[str], None]
) -> tuple[Any, int] | None:
  """Restores the newest readable checkpoint into ``target``; unreadable ones are set aside.

  Args:
    checkpointer: the run's checkpoints.
    target: the structure to restore into (see :meth:`Checkpointer.restore`).
    warn: called with one line per unreadable checkpoint (its step, why, where it went).

  Returns:
    ``(items, step)``, or None when there is no checkpoint.

  Raises:
    ValueError: a checkpoint holds another structure (another model or optimizer).
    FileNotFoundError: there were checkpoints but none restores (all are set aside).

  Example:
    >>> import tempfile, jax.numpy as jnp
    >>> ckpt = Checkpointer(tempfile.mkdtemp())
    >>> ckpt.save(1, {"w": jnp.ones(2)}); ckpt.save(2, {"w": jnp.full(2, 2.0)})
    >>> ckpt.latest_step()  # Waits for the asynchronous saves.
    2
    >>> import os; os.remove(os.path.join(ckpt.directory, "2", "default", "_METADATA"))
    >>> items, step = restore_readable(ckpt, {"w": jnp.zeros(2)}, warn=lambda line: None)
    >>> step, items["w"].tolist(), ckpt.all_steps()
    (1, [1.0, 1.0], [1])
    >>> ckpt.close()
  """
  steps = checkpointer.all_steps()
  moved = []
  for step in reversed(steps):
    try:
      return checkpointer.restore(target, step), step
    except UnreadableCheckpoint as err:
      path = checkpointer.set_aside(step)
      moved.append(path)
      warn(
        f"Warning: checkpoint step {step} in {checkpointer.directory} is unreadable "
        f"({err.reason}); moved it to {path} and falling back to the previous one."
      )
  if moved:
    raise FileNotFoundError(
      f"None of the {len(moved)} checkpoint(s) in {checkpointer.directory} restores; they "
      f"are kept in {moved}. Rerun to train from step 0 in this workdir, or use a new one."
    )
  return None


def _model_of(config: Mapping[str, Any]) -> dict[str, Any]:
  """A config's ``model`` part as plain JSON values (tuples as lists), for comparison."""
  model = config["model"]
  if isinstance(model, ml_collections.ConfigDict):
    model = model.to_dict()
  return json.loads(json.dumps(dict(model), sort_keys=True, default=repr))


def stored_config(workdir: str) -> dict[str, Any] | None:
  """The config a previous run wrote to ``workdir/config.json``, or None."""
  path = os.path.join(workdir, "config.json")
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, json.JSONDecodeError):
    return None


def check_same_model(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Refuses to resume another model's checkpoints: names the stored and configured models.

  Args:
    config: the run's config.
    workdir: a workdir that may hold an earlier run (its ``config.json``).

  Raises:
    ValueError: ``workdir/config.json`` describes another model than ``config.model``.

  Example:
    >>> import tempfile, json, os
    >>> from jaxnets.train import default_config
    >>> workdir = tempfile.mkdtemp()
    >>> with open(os.path.join(workdir, "config.json"), "w") as f:
    ...   json.dump({"model": {"name": "cnn"}}, f)
    >>> check_same_model(default_config(), workdir)
    Traceback (most recent call last):
    ...
    ValueError: The workdir ... holds a run of model {"name": "cnn"} ...
  """
  stored = stored_config(workdir)
  if stored is None or "model" not in stored:
    return
  before, now = _model_of(stored), _model_of(config)
  if before != now:
    raise ValueError(mismatch_message(workdir, before, now))


def mismatch_message(workdir: str, stored: Any, configured: Any) -> str:
  """The one message for a workdir whose checkpoints belong to another model."""
  text = lambda m: json.dumps(m, sort_keys=True) if isinstance(m, dict) else str(m)
  return (
    f"The workdir {workdir} holds a run of model {text(stored)} (see its config.json), but "
    f"the config asks for model {text(configured)}; one model's checkpoints cannot resume "
    "another. Train it in a new --workdir (or delete this one to start over)."
  )


def truncate_metrics(path: str, step: int) -> int:
  """Drops the rows of a ``metrics.jsonl`` logged after ``step``, atomically.

  The file is rewritten to a temporary file and renamed over the old one, so an
  interruption leaves either the old or the new file. Unparseable lines (a row cut by a
  crash) are dropped too.

  Args:
    path: the ``metrics.jsonl`` file (nothing happens if it does not exist).
    step: the restored step; rows with a larger ``"step"`` are dropped.

  Returns:
    The number of rows dropped.

  Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
    >>> _ = path.write_text('{"step": 10}\\n{"step": 20}\\n{"step": 20}\\n')
    >>> truncate_metrics(str(path), 10), path.read_text()
    (2, '{"step": 10}\\n')
  """
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    lines = f.readlines()
  kept = []
  for line in lines:
    try:
      row = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(row, dict) and int(row.get("step", 0)) <= step:
      kept.append(line if line.endswith("\n") else line + "\n")
  dropped = len(lines) - len(kept)
  if dropped:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
      f.writelines(kept)
    os.replace(tmp, path)
  return dropped


def first_step_loss(path: str) -> float | None:
  """The run's first training loss, logged in epoch 1's ``metrics.jsonl`` row (or None)."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    for line in f:
      try:
        row = json.loads(line)
      except json.JSONDecodeError:
        continue
      if row.get("epoch") == 1 and "first_step_loss" in row:
        return float(row["first_step_loss"])
  return None


def resume(
  config: ml_collections.ConfigDict,
  workdir: str,
  checkpointer: Checkpointer,
  target: Any,
  warn: Callable[[str], None],
) -> tuple[Any, int] | None:
  """A run's resume point: the same model's newest readable checkpoint, or None.

  :func:`check_same_model`, then :func:`restore_readable`; a structure mismatch without a
  stored config (another optimizer, a hand-copied checkpoint) gets the same message.
  """
  if not checkpointer.all_steps():
    return None
  check_same_model(config, workdir)
  try:
    return restore_readable(checkpointer, target, warn)
  except ValueError as err:
    stored = (stored_config(workdir) or {}).get("model", "unknown (no config.json)")
    raise ValueError(f"{mismatch_message(workdir, stored, _model_of(config))} ({err})") from None
