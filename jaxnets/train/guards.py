"""Stopping a run that diverges while its loss stays finite (the NaN check's sibling).

With ``config.divergence_factor = F`` a run stops at the first step whose training loss
exceeds ``F`` times the loss of the run's first step (the loss at initialization, logged in
epoch 1's ``metrics.jsonl`` row as ``first_step_loss`` so that a resumed run has it).
Softmax regression on digits at learning rate 1e6 logged a finite mean training loss of
about 1.1e6 in its first epoch, and trained on without a warning. The first epoch's mean is
no reference for the same reason: a run diverging in its first epoch has a huge one.
``None`` (the default) turns the guard off: a loss may legitimately rise for a while (warm
restarts, a noisy start), so the multiple is the user's call.
"""

from __future__ import annotations

import math

import numpy as np


def check_factor(factor: object) -> None:
  """``divergence_factor`` must be None or a finite number > 1.

  Raises:
    ValueError: anything else, naming the valid values.
  """
  if factor is None:
    return
  if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor):
    raise ValueError(
      f"config.divergence_factor must be None (off) or a finite number > 1, got {factor!r}."
    )
  if factor <= 1:
    raise ValueError(
      f"config.divergence_factor must be > 1 (a multiple of the first step's loss), got "
      f"{factor!r}; use None to turn the guard off."
    )


class DivergenceGuard:
  """Raises ``FloatingPointError`` naming the step whose loss exceeds ``factor`` × a reference.

  Args:
    factor: the multiple of the reference loss that counts as diverged (None: off).
    reference: the loss of the run's first step (None: taken from epoch 1's first step
      when it is checked; a run resumed without it checks nothing).

  Example:
    >>> import numpy as np
    >>> guard = DivergenceGuard(10.0, reference=2.0)
    >>> guard.check(2, np.array([1.5, 30.0], np.float32), last_step=8)
    Traceback (most recent call last):
    ...
    FloatingPointError: Training diverged: the loss 30 at step 8 exceeds ...
  """

  def __init__(self, factor: float | None, reference: float | None = None):
    self.factor, self.reference = factor, reference

  def check(self, epoch: int, losses: np.ndarray, last_step: int) -> None:
    """Checks one epoch's per-step losses (``last_step``: the step of the last of them)."""
    if self.factor is None:
      return
    if self.reference is None and epoch == 1 and len(losses) == last_step:
      self.reference = float(losses[0])
    if self.reference is None:
      return
    limit = self.factor * self.reference
    bad = np.flatnonzero(np.asarray(losses) > limit)
    if bad.size:
      step = last_step - len(losses) + int(bad[0]) + 1
      raise FloatingPointError(
        f"Training diverged: the loss {float(losses[bad[0]]):.4g} at step {step} exceeds "
        f"config.divergence_factor={self.factor:g} x the loss at step 1 ({self.reference:.4g})"
      )
