"""Human and machine output of a run: the per-epoch table, a progress bar, JSON-lines metrics.

TensorBoard event files are written too when ``tensorboardX`` is installed (the
``[tensorboard]`` extra); nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Mapping

import numpy as np
import tqdm
from absl import logging

TABLE_COLUMNS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "examples/s")


def say(line: str) -> None:
  """Logs ``line`` (a message about the run, not a result) at INFO through absl, on stderr.

  When absl would not show INFO (no absl handler, or a lower verbosity) it is written to
  stderr directly.
  """
  logging.info(line)
  if logging.get_verbosity() < logging.INFO or not logging.get_absl_handler().python_handler:
    print(line, file=sys.stderr, flush=True)


def result(line: str) -> None:
  """Prints ``line`` (a table row, a final metric) on stdout, where ``> log`` captures it.

  Example:
    >>> result("Final test accuracy: 0.9900")
    Final test accuracy: 0.9900
  """
  if _active_bar is not None:
    _active_bar.write(line)
  else:
    print(line, flush=True)


CELL_WIDTH = 10


def format_cell(value: Any, width: int = CELL_WIDTH) -> str:
  """A number in at most ``width`` characters: fixed point, or scientific when it would not fit.

  Integers and rates (``examples/s``) are passed as ints; None is ``-``.

  Example:
    >>> [format_cell(v) for v in (None, 3, 0.25, 2.5e26, 5.3e-05, float("nan"), -1.5e-7)]
    ['-', '3', '0.2500', '2.500e+26', '5.300e-05', 'nan', '-1.500e-07']
  """
  if value is None:
    return "-"
  if isinstance(value, (int, np.integer)):
    text = str(int(value))
    return text if len(text) <= width else _scientific(float(value), width)
  value = float(value)
  if not math.isfinite(value):
    return str(value)
  text = f"{value:.4f}"
  if len(text) > width or (value != 0 and abs(value) < 1e-3):
    text = _scientific(value, width)
  return text


def _scientific(value: float, width: int) -> str:
  for digits in (3, 2, 1, 0):
    text = f"{value:.{digits}e}"
    if len(text) <= width:
      break
  return text


def table_header() -> str:
  return " | ".join(f"{c:>{CELL_WIDTH}}" for c in TABLE_COLUMNS)


def table_row(epoch: int, record: Mapping[str, Any]) -> str:
  """One row of the per-epoch table; every column :data:`CELL_WIDTH` wide.

  Example:
    >>> print(table_header())
         epoch | train_loss |  train_acc |  test_loss |   test_acc | examples/s
    >>> print(table_row(1, {"train_loss": 2.5e26, "examples_per_sec": 81408.7}))
             1 |  2.500e+26 |          - |          - |          - |      81409
  """
  keys = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
  rate = record.get("examples_per_sec")
  cells = [epoch, *[record.get(k) for k in keys], None if rate is None else round(rate)]
  return " | ".join(f"{format_cell(v):>{CELL_WIDTH}}" for v in cells)


def linear_parameters(params: Mapping[str, Any]) -> str:
  """The learned weights and bias of a ``linear`` model, as linear regression reports them.

  Example:
    >>> import numpy as np
    >>> dense = {"kernel": np.array([[2.0], [-3.4]]), "bias": np.array([4.2])}
    >>> linear_parameters({"Dense_0": dense})
    'Learned w = [2.0000, -3.4000], b = 4.2000'
  """
  dense = params["Dense_0"]
  kernel, bias = np.asarray(dense["kernel"]), np.asarray(dense["bias"])
  values = lambda a: "[" + ", ".join(f"{v:.4f}" for v in np.ravel(a)) + "]"
  w = values(kernel[:, 0]) if kernel.shape[-1] == 1 else values(kernel)
  b = f"{float(bias[0]):.4f}" if bias.size == 1 else values(bias)
  return f"Learned w = {w}, b = {b}"


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


_active_bar: ProgressBar | None = None


class ProgressBar:
  """A tqdm progress bar on stderr with steps/s and ETA, drawn only when stderr is a terminal.

  Redirected to a file (``2> log``) nothing is drawn, so logs hold no ``\\r`` or escape codes.
  While it is open, :func:`result` lines are written above it (``tqdm.write``).

  Args:
    total: steps to run.
    enabled: False draws nothing (``config.progress_bar``).

  Example:
    >>> bar = ProgressBar(total=10, enabled=False)
    >>> bar.update(5); bar.close()
    >>> bar.done
    5
  """

  def __init__(self, total: int, enabled: bool = True):
    global _active_bar
    self.total, self.done = total, 0
    self.enabled = enabled and total > 0 and _is_terminal(sys.stderr)
    self._bar = None
    if self.enabled:
      self._bar = tqdm.tqdm(
        total=total, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False
      )
      _active_bar = self

  def update(self, steps: int, extra: str = "") -> None:
    self.done = min(self.total, self.done + steps)
    if self._bar is not None:
      self._bar.update(steps)
      if extra:
        self._bar.set_postfix_str(extra, refresh=False)

  def write(self, line: str) -> None:
    """Prints ``line`` on stdout above the bar."""
    if self._bar is not None:
      tqdm.tqdm.write(line, file=sys.stdout)
      sys.stdout.flush()
    else:
      print(line, flush=True)

  def clear_line(self) -> None:
    """Kept for callers that print around the bar; :meth:`write` already clears it."""

  def close(self) -> None:
    global _active_bar
    if self._bar is not None:
      self._bar.close()
      self._bar = None
    if _active_bar is self:
      _active_bar = None


def _is_terminal(stream: Any) -> bool:
  try:
    return stream.isatty()
  except (AttributeError, ValueError):
    return False
