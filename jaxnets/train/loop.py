"""The epoch loop every training path shares: one run, or N stacked runs under ``vmap``.

:class:`EpochRunner` compiles the pure steps of :mod:`jaxnets.train.steps` once, ahead of
time, for one state (or a stacked state of N members, the same functions ``vmap``-ed) and
runs epochs: either one ``lax.scan`` per epoch over a device-resident index array (fastest
for convolution-free models) or a Python loop of one compiled step per batch (faster for
convolutions on XLA:CPU, where convolutions inside loop bodies were measured ~3.4x slower;
and the only way for streamed data). Metrics stay on the device and are fetched once per
``log_every_steps``. :class:`Trainer` runs the epochs and the evaluations between them.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Mapping

import jax
import numpy as np
from jax.sharding import Mesh

from jaxnets.train import compile_cache, sharding, steps
from jaxnets.train.evaluation import Evaluator
from jaxnets.train.preemption import Interrupted
from jaxnets.train.sources import TrainData
from jaxnets.train.state import TrainState

Progress = Callable[[int, str], None]  # (steps done since the last call, status text)
ShouldStop = Callable[[], bool]  # Checked after every step of per-step epochs.


def has_convolutions(params: Any, stacked: bool = False) -> bool:
  """Whether any parameter has 3 or more dimensions (a convolution kernel).

  With ``stacked`` the parameters have a leading member axis (a sweep's), not counted.
  """
  extra = 1 if stacked else 0
  return any(np.ndim(leaf) >= 3 + extra for leaf in jax.tree_util.tree_leaves(params))


def default_scan(params: Any, stacked: bool = False) -> bool:
  """Scan epochs everywhere but convolutional models on XLA:CPU (see benchmarks/RESULTS.md)."""
  return jax.default_backend() != "cpu" or not has_convolutions(params, stacked)


def _no_progress(done: int, text: str) -> None:
  del done, text


class EpochRunner:
  """Compiled epochs of one model, or of N models whose states are stacked.

  Args:
    state: a state with the shapes to compile for (single, or stacked with ``members``).
    data: the training split (:class:`~jaxnets.train.sources.InMemoryData` or streaming).
    mesh: the device mesh.
    scan: run each epoch as one ``lax.scan`` (resident data only).
    members: N for a stacked state of N members (the steps are vmapped), None for one run.
    log_every_steps: steps between fetches of the metrics from the device.
    check_finite: raise ``FloatingPointError`` at the first non-finite loss (single runs; a
      sweep keeps going and reports NaN for a diverged member).
    augment: optional augmentation of every training batch's inputs, inside the compiled
      step (:func:`jaxnets.train.steps.train_step`); evaluation never augments.
  """

  def __init__(
    self,
    state: TrainState,
    data: TrainData,
    mesh: Mesh,
    *,
    scan: bool,
    members: int | None = None,
    log_every_steps: int = 50,
    check_finite: bool = True,
    augment: steps.Augment | None = None,
  ):
    if scan and not data.resident:
      raise ValueError("Scanned epochs need device-resident data; streamed data runs per step.")
    if members is not None and not data.resident:
      raise ValueError("Sweeps train N models on device-resident data; streaming is single-run.")
    self.data, self.scan, self.members = data, scan, members
    self.log_every_steps, self.check_finite = log_every_steps, check_finite
    # One run shards each batch over the mesh; a sweep's members each see a whole batch.
    batch_sharding = sharding.batch_sharding(mesh) if members is None else None
    start = time.perf_counter()
    self._epoch = self._step = None
    if data.resident:
      idx = data.indices(0, np.zeros(members, np.int64) if members else 0)
      if scan:
        epoch_fn = functools.partial(
          steps.train_epoch, batch_sharding=batch_sharding, augment=augment
        )
        self._epoch = self._compile(epoch_fn, state, data.arrays, idx)
        self._epoch_fn = epoch_fn
      else:
        step_fn = functools.partial(
          steps.train_step_on_rows, batch_sharding=batch_sharding, augment=augment
        )
        self._step = self._compile(step_fn, state, data.arrays, idx[..., 0, :])
    else:
      local = data.batch_size // jax.process_count()
      example = {k: np.repeat(v, local, axis=0) for k, v in data.example.items()}
      batch = sharding.host_local_to_global(example, sharding.batch_sharding(mesh))
      step_fn = functools.partial(steps.train_step, augment=augment)
      self._step = self._compile(step_fn, state, batch)
    self.compile_seconds = time.perf_counter() - start

  def _compile(self, fn: Callable, state: TrainState, *inputs: Any):
    """``fn(state, *inputs)`` jitted (vmapped over members), state donated, compiled now."""
    if self.members is not None:
      # The dataset is shared; the state and the indices have a leading member axis.
      fn = jax.vmap(fn, in_axes=(0, None, 0))
    # Shared across runs and sweeps: the same program compiles once per process.
    return compile_cache.compile_shared(fn, state, *inputs, donate_argnums=0)

  def run(
    self,
    state: TrainState,
    epoch: int,
    seed: Any,
    progress: Progress = _no_progress,
    start: int = 0,
    should_stop: ShouldStop | None = None,
  ) -> tuple[TrainState, dict[str, np.ndarray]]:
    """Trains one epoch in the order of ``seed`` (one per member in a sweep).

    Args:
      state: the state to train from.
      epoch: the 0-based epoch (it picks the data order).
      seed: the run's seed (one per member in a sweep).
      progress: called with the steps done and a status text after each fetch.
      start: the first step of the epoch to run (a run resumed mid-epoch).
      should_stop: checked after every step of per-step epochs; when it returns True before
        the epoch's last step, :class:`~jaxnets.train.preemption.Interrupted` is raised
        with the state reached (scanned epochs cannot stop inside).

    Returns:
      The new state and the per-step metrics (``f32[steps]``, or ``f32[N, steps]``) of the
      steps run.
    """
    first_step = int(np.max(jax.device_get(state.step)))
    pending: list[dict[str, jax.Array]] = []
    fetched: list[dict[str, np.ndarray]] = []

    def flush():
      if pending:
        # Steps last: a scanned epoch gives [(N,) steps], a step [(N,)].
        host = [
          {k: np.asarray(v) if self.scan else np.asarray(v)[..., None] for k, v in m.items()}
          for m in jax.device_get(pending)
        ]
        new_losses = np.concatenate([m["loss"] for m in host], axis=-1)
        if self.check_finite:
          self._raise_if_not_finite(
            new_losses, first_step + sum(m["loss"].shape[-1] for m in fetched)
          )
        fetched.extend(host)
        last = new_losses[..., -1]
        progress(new_losses.shape[-1], f"loss {float(np.nanmean(last)):.4f}")
        pending.clear()

    collect = lambda: {k: np.concatenate([m[k] for m in fetched], axis=-1) for k in fetched[0]}
    if self.scan:
      indices = self.data.indices(epoch, seed)[..., start:, :]
      epoch_fn = self._epoch
      if start:  # The rest of an epoch resumed mid-way: a shorter scan, compiled once here.
        epoch_fn = self._compile(self._epoch_fn, state, self.data.arrays, indices)
      state, metrics = epoch_fn(state, self.data.arrays, indices)
      pending.append(metrics)
    else:
      last = self.data.steps_per_epoch - start - 1
      for i, args in enumerate(self._epoch_inputs(epoch, seed, start)):
        state, metrics = self._step(state, *args)
        pending.append(metrics)
        if (i + 1) % self.log_every_steps == 0:
          flush()
        if should_stop is not None and i < last and should_stop():
          flush()
          raise Interrupted(state, epoch, collect())
    flush()
    return state, collect()

  def _epoch_inputs(self, epoch: int, seed: Any, start: int = 0):
    if self.data.resident:
      indices = self.data.indices(epoch, seed)
      for s in range(start, self.data.steps_per_epoch):
        yield self.data.arrays, indices[..., s, :]
    else:
      for i, batch in enumerate(self.data.batches(epoch, seed)):
        if i >= start:  # Resumed mid-epoch: the stream's earlier batches are skipped.
          yield (batch,)

  @staticmethod
  def _raise_if_not_finite(step_losses: np.ndarray, first_step: int) -> None:
    bad = np.flatnonzero(~np.isfinite(step_losses))
    if bad.size:
      raise FloatingPointError(
        f"Training diverged: the loss became {step_losses[bad[0]]} at step "
        f"{first_step + int(bad[0]) + 1}"
      )


class Trainer:
  """Epochs of training with evaluations between them: an :class:`EpochRunner` and an evaluator.

  Args:
    runner: the compiled epochs (one run, or N stacked members).
    evaluator: evaluates the state on the prepared splits.
    eval_splits: host splits to evaluate, by name (each prepared on the devices once).
    eval_every: evaluate after every ``eval_every``-th epoch (and after the last).
  """

  def __init__(
    self, runner: EpochRunner, evaluator: Evaluator, eval_splits: Mapping[str, Any], eval_every=1
  ):
    self.runner, self.evaluator, self.eval_every = runner, evaluator, eval_every
    # One batch size for every split: one compiled evaluation step.
    size = min(evaluator.batch_size, max([len(s["y"]) for s in eval_splits.values()], default=1))
    self.eval_sets = {name: evaluator.prepare(split, size) for name, split in eval_splits.items()}

  def fit(
    self,
    state: TrainState,
    epochs: range,
    seed: Any,
    on_epoch: Callable[[int, TrainState, dict[str, Any], dict[str, np.ndarray]], None],
    progress: Progress = _no_progress,
    start: int = 0,
    carried: Mapping[str, np.ndarray] | None = None,
    should_stop: ShouldStop | None = None,
  ) -> TrainState:
    """Trains ``epochs`` (0-based), evaluating after every ``eval_every``-th and the last.

    A run resumed mid-epoch passes ``start`` (the first epoch's first step to run) and
    ``carried`` (that epoch's per-step metrics before it), so the epoch's record is the
    one an uninterrupted run logs; ``should_stop`` goes to :meth:`EpochRunner.run`.

    After epoch ``e`` (1-based) calls ``on_epoch(e, state, record, step_metrics)``, where
    ``record`` holds the epoch's mean training metrics (``train_loss``, ``train_accuracy``),
    ``examples_per_sec`` and ``epoch_seconds``, and — after evaluated epochs — one
    ``{split}_loss`` / ``{split}_accuracy`` per split (floats for one run, ``[N]`` arrays for
    a sweep); ``step_metrics`` are the per-step training metrics.
    """
    data = self.runner.data
    for epoch in epochs:
      first = start if epoch == epochs.start else 0
      t0 = time.perf_counter()
      state, per_step = self.runner.run(state, epoch, seed, progress, first, should_stop)
      seconds = time.perf_counter() - t0
      if first and carried:
        per_step = {k: np.concatenate([np.asarray(carried[k]), v], -1) for k, v in per_step.items()}
      record: dict[str, Any] = {f"train_{k}": _mean(v) for k, v in per_step.items()}
      if (epoch + 1) % self.eval_every == 0 or epoch + 1 == epochs.stop:
        for name, prepared in self.eval_sets.items():
          record.update({f"{name}_{k}": v for k, v in self.evaluator(state, prepared).items()})
      record["examples_per_sec"] = (data.steps_per_epoch - first) * data.batch_size / seconds
      record["epoch_seconds"] = seconds
      on_epoch(epoch + 1, state, record, per_step)
    return state


def _mean(values: np.ndarray) -> Any:
  mean = np.mean(values, axis=-1)
  return float(mean) if mean.ndim == 0 else mean
