"""Human and machine output of a run: the per-epoch table, a progress bar, JSON-lines metrics.

TensorBoard event files are written too when ``tensorboardX`` is installed (the
``[tensorboard]`` extra); nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any, Mapping

from absl import logging

TABLE_COLUMNS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "examples/s")


def say(line: str) -> None:
  """Logs ``line`` at INFO through absl, and prints it when absl would not show INFO."""
  logging.info(line)
  if logging.get_verbosity() < logging.INFO or not logging.get_absl_handler().python_handler:
    print(line, flush=True)


def _cell(value: Any) -> str:
  if value is None:
    return "-"
  if isinstance(value, int):
    return str(value)
  return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.0f}"


def table_header() -> str:
  return " | ".join(f"{c:>10}" for c in TABLE_COLUMNS)


def table_row(epoch: int, record: Mapping[str, Any]) -> str:
  keys = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "examples_per_sec")
  return " | ".join(f"{_cell(v):>10}" for v in [epoch, *[record.get(k) for k in keys]])


class MetricWriter:
  """Appends one JSON object per record to ``workdir/metrics.jsonl`` (and TensorBoard).

  ``purge_step``: a resumed run's first step after the restored one; TensorBoard then hides
  the events an earlier, interrupted run wrote from that step on (tensorboardX's
  ``purge_step``), as ``metrics.jsonl`` drops its rows past the restored step.
  """

  def __init__(self, workdir: str, use_tensorboard: bool = True, purge_step: int | None = None):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if use_tensorboard:
      try:
        from tensorboardX import SummaryWriter
      except ImportError:
        SummaryWriter = None
      if SummaryWriter is not None:
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=purge_step)

  def write(self, step: int, record: Mapping[str, Any]) -> None:
    clean = {k: (float(v) if not isinstance(v, (int, str)) else v) for k, v in record.items()}
    with open(self.path, "a") as f:
      f.write(json.dumps({"step": step, **clean}) + "\n")
    if self._tb is not None:
      for k, v in clean.items():
        if isinstance(v, float) and math.isfinite(v):
          self._tb.add_scalar(k, v, step)

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


class ProgressBar:
  """A one-line progress bar on stderr with steps/s and ETA (no dependencies).

  Example:
    >>> bar = ProgressBar(total=10, enabled=False)
    >>> bar.update(5); bar.close()
  """

  def __init__(self, total: int, enabled: bool = True, width: int = 30):
    self.total, self.enabled, self.width = total, enabled and total > 0, width
    self.done, self.start = 0, time.perf_counter()

  def update(self, steps: int, extra: str = "") -> None:
    self.done = min(self.total, self.done + steps)
    if not self.enabled:
      return
    elapsed = time.perf_counter() - self.start
    rate = self.done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - self.done) / rate if rate > 0 else float("inf")
    filled = int(self.width * self.done / self.total)
    bar = "#" * filled + "." * (self.width - filled)
    eta_text = f"{eta:5.0f}s" if math.isfinite(eta) else "    ?"
    sys.stderr.write(
      f"\r[{bar}] {self.done}/{self.total} {rate:7.1f} steps/s ETA {eta_text} {extra}"
    )
    sys.stderr.flush()

  def clear_line(self) -> None:
    """Erases the bar so a table row can be printed; the next update redraws it."""
    if self.enabled:
      sys.stderr.write("\r\033[K")
      sys.stderr.flush()

  def close(self) -> None:
    self.clear_line()
