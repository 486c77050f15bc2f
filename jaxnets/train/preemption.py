"""A clean stop on ``SIGTERM`` / ``SIGINT``: finish the step, checkpoint it, exit.

Colab and preemptible TPU/GPU VMs send ``SIGTERM`` shortly before taking the machine; a
user presses Ctrl-C (``SIGINT``). While :class:`StopOnSignal` is active, either signal only
sets a flag. The engine checks it after every step of per-step epochs, and at the end of
every epoch of scanned epochs (one ``lax.scan`` per epoch cannot stop inside), saves a
checkpoint at the step it reached and raises :class:`Preempted`; the rerun resumes from that
step, mid-epoch included, and ends exactly where an uninterrupted run ends. In a
multi-process run every process must stop at the same step, so the flag is combined across
processes at epoch ends only. A second signal while stopping restores the default
behaviour (a second Ctrl-C interrupts at once).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

import jax
import numpy as np

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(SystemExit):
  """A run stopped cleanly on a signal after checkpointing; exit status ``128 + signum``.

  A ``SystemExit``, so the launcher exits with that status without a traceback; library
  callers can catch it (``except train.Preempted``).

  Attributes:
    step: the step the checkpoint was saved at (None: checkpointing is off).
    signum: the signal received.
  """

  def __init__(self, message: str, step: int | None, signum: int):
    super().__init__(128 + signum)
    self.message, self.step, self.signum = message, step, signum

  def __str__(self) -> str:
    return self.message


class Interrupted(Exception):
  """Raised inside the epoch loop when a stop was requested mid-epoch (after a whole step).

  Attributes:
    state: the state after the last finished step.
    epoch: the 0-based epoch that was in progress.
    per_step: the per-step metrics of that epoch so far (host arrays).
  """

  def __init__(self, state: Any, epoch: int, per_step: dict[str, np.ndarray]):
    super().__init__(f"stopped during epoch {epoch + 1}")
    self.state, self.epoch, self.per_step = state, epoch, per_step


class StopOnSignal:
  """While active (``with``), ``SIGTERM``/``SIGINT`` set :attr:`signum` instead of killing.

  Outside the main thread (where Python cannot install handlers) it does nothing.

  Example:
    >>> import signal
    >>> with StopOnSignal() as stop:
    ...   signal.raise_signal(signal.SIGTERM)
    ...   stop.requested()
    True
  """

  def __init__(self):
    self.signum: int | None = None
    self._previous: dict[int, Any] = {}

  def _handle(self, signum: int, frame: Any) -> None:
    del frame
    if self.signum is not None:  # A second signal: the default behaviour, now.
      self._restore()
      signal.raise_signal(signum)
      return
    self.signum = signum

  def __enter__(self) -> "StopOnSignal":
    if threading.current_thread() is threading.main_thread():
      for s in SIGNALS:
        self._previous[s] = signal.signal(s, self._handle)
    return self

  def __exit__(self, *exc: Any) -> None:
    self._restore()

  def _restore(self) -> None:
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    self._previous.clear()

  def requested(self) -> bool:
    """Whether a stop signal arrived (this process only: checked after every step)."""
    return self.signum is not None

  def requested_everywhere(self) -> bool:
    """Whether any process received a stop signal (a collective when there are several)."""
    if jax.process_count() == 1:
      return self.requested()
    from jax.experimental import multihost_utils

    signums = multihost_utils.process_allgather(np.int32(self.signum or 0))
    first = int(np.max(signums))
    if first and self.signum is None:
      self.signum = first
    return bool(first)

  def mid_epoch_check(self) -> bool:
    """The per-step check: a stop inside an epoch (single-process runs only)."""
    return jax.process_count() == 1 and self.requested()


PARTIAL_NAME = "partial_epoch.json"


def save_partial(workdir: str, step: int, per_step: dict[str, np.ndarray]) -> None:
  """Writes the interrupted epoch's per-step metrics beside its checkpoint (atomically)."""
  path = os.path.join(workdir, PARTIAL_NAME)
  record = {
    "step": int(step),
    "metrics": {k: {"dtype": str(v.dtype), "values": v.tolist()} for k, v in per_step.items()},
  }
  tmp = f"{path}.tmp-{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(record, f)
  os.replace(tmp, path)


def load_partial(workdir: str, step: int) -> dict[str, np.ndarray] | None:
  """The per-step metrics :func:`save_partial` wrote at ``step`` (None: none, or another step)."""
  path = os.path.join(workdir, PARTIAL_NAME)
  try:
    with open(path) as f:
      record = json.load(f)
  except (OSError, json.JSONDecodeError):
    return None
  if record.get("step") != int(step):
    return None
  return {k: np.asarray(m["values"], m["dtype"]) for k, m in record["metrics"].items()}
