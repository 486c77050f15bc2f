"""``train_and_evaluate`` and ``evaluate``: one run in a workdir, as the launcher calls it."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any, Mapping

import jax
import ml_collections
import numpy as np

from jaxnets.train import (
  build,
  guards,
  lock,
  preemption,
  recovery,
  reporting,
  resume,
  setup,
  sharding,
)
from jaxnets.train.checkpoint import Checkpointer
from jaxnets.train.config import validate_config
from jaxnets.train.evaluation import Evaluator
from jaxnets.train.state import TrainState
from jaxnets.types import Batch


def _write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  resume.write_config(config, workdir)


def _checkpoint_items(state: TrainState, epoch: int, stats: dict | None) -> dict[str, Any]:
  items = dict(state.checkpoint_items(), epoch=epoch)
  if stats is not None:
    items["input_stats"] = stats
  return items


def train_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, *, data: Mapping[str, Batch] | None = None
) -> TrainState:
  """Trains and evaluates a model as ``config`` describes, resuming from ``workdir``.

  Writes ``workdir/config.json``, ``workdir/metrics.jsonl`` (one JSON object per epoch),
  Orbax checkpoints under ``workdir/checkpoints/<step>/`` and, with tensorboardX installed,
  TensorBoard events. Prints a per-epoch table and the final test metric. With
  ``config.eval_only`` it only restores the latest checkpoint and evaluates it.

  A resumed run continues the saved optimizer state exactly. Its config must match the one
  recorded in ``workdir/config.json`` but for the fields that are safe to change
  (:data:`jaxnets.train.resume.SAFE_FIELDS`: more epochs, the evaluation and checkpoint
  cadence, ...) and a constant learning rate, which is written into the restored optimizer
  state (and logged, and appended to ``workdir/config_changes.jsonl``). A run already trained
  to ``num_epochs`` only evaluates its final checkpoint and reports the result.

  Args:
    config: a config with the fields of :func:`jaxnets.train.default_config`.
    workdir: directory for outputs; a run finding checkpoints there resumes from the latest.
    data: optional host arrays ``{"train": {"x", "y"}, "test": {...}, ...}`` to train on
      instead of ``config.dataset`` (set ``config.task``); every split but ``"train"`` is
      evaluated after each epoch.

  Returns:
    The final :class:`TrainState` (with ``eval_only``: the restored one).

  Raises:
    ValueError: bad config values, unknown names, mismatched shapes.
    FloatingPointError: the loss became NaN/inf, or (with ``config.divergence_factor``) grew
      past that multiple of the first step's loss; the message names the step.
    FileNotFoundError: missing data files, or ``eval_only`` without a checkpoint.
    jaxnets.train.lock.WorkdirInUse: another run is training in ``workdir``.
    jaxnets.train.checkpoint.CheckpointSaveError: a checkpoint could not be written (disk
      full, read-only); the earlier checkpoints are intact.
    Preempted: ``SIGTERM``/``SIGINT`` arrived; the run stopped after a whole step (after the
      epoch with scanned epochs) and saved a checkpoint there, which a rerun resumes from.
      A ``SystemExit`` with status ``128 + signum``.

  An unreadable latest checkpoint is moved aside (``<step>.corrupt-<n>``) with a warning and
  the previous one is restored; a workdir holding another model's run is refused; rows of
  ``metrics.jsonl`` logged after the restored step are dropped.

  Example:
    >>> import tempfile
    >>> from jaxnets import train
    >>> config = train.default_config(); config.num_epochs = 1
    >>> state = train_and_evaluate(config, tempfile.mkdtemp())  # doctest: +SKIP
  """
  validate_config(config)
  if config.eval_only:
    return _restore_and_evaluate(config, workdir, data)[0]
  # Issue 15: one run per workdir (the chief's lock), and a clean stop on SIGTERM/SIGINT.
  workdir_lock = lock.workdir_lock if jax.process_index() == 0 else _no_lock
  with workdir_lock(workdir), preemption.StopOnSignal() as stop:
    return _train(config, workdir, data, stop)


@contextlib.contextmanager
def _no_lock(workdir: str):
  del workdir
  yield


def _train(
  config: ml_collections.ConfigDict,
  workdir: str,
  data: Mapping[str, Batch] | None,
  stop: preemption.StopOnSignal,
) -> TrainState:
  p = setup.parts(config, data)
  os.makedirs(workdir, exist_ok=True)
  state = setup.initial_state(
    config, p.model, p.task, p.train.example["x"], p.train.steps_per_epoch
  )
  state = setup.replicate(state, p.mesh)
  checkpointer = (
    Checkpointer(os.path.join(workdir, "checkpoints"), config.max_to_keep)
    if config.checkpoint_every_epochs
    else None
  )
  start_epoch = start = 0  # The first epoch to run, and its first step (resumed mid-epoch).
  carried = None  # That epoch's per-step metrics before `start`.
  changes: dict = {}
  resumed = None
  if checkpointer is not None:
    target = _checkpoint_items(state, 0, p.input_stats)
    try:
      if checkpointer.latest_step() is not None:
        # Refuse config changes the checkpoint cannot continue (before restoring it).
        recovery.check_same_model(config, workdir)  # Another model: its own message.
        changes = resume.check_resume(resume.read_config(workdir), config, workdir)
      resumed = recovery.resume(config, workdir, checkpointer, target, reporting.say)
    except BaseException:
      checkpointer.close()
      raise
  if resumed is not None:
    items = resumed[0]
    start_epoch = int(items.pop("epoch"))
    items.pop("input_stats", None)
    state = state.replace_items(items)
    state = state.replace(opt_state=resume.apply_changes(state.opt_state, changes))
    start = int(state.step) - start_epoch * p.train.steps_per_epoch
    if not 0 <= start < p.train.steps_per_epoch:
      checkpointer.close()
      raise ValueError(
        f"The checkpoint in {checkpointer.directory} is at step {int(state.step)} after "
        f"{start_epoch} epoch(s), which does not fit {p.train.steps_per_epoch} steps per epoch "
        "(was config.batch_size changed?); resume with the run's own config, or use a new "
        "--workdir."
      )
    if start_epoch >= config.num_epochs:
      checkpointer.close()
      _report_finished(config, p, state, start_epoch, workdir)
      return state
    carried = preemption.load_partial(workdir, int(state.step)) if start else None
    reporting.say(
      f"Resumed from {checkpointer.directory} at step {int(state.step)} (epoch {start_epoch}"
      + (f", step {start} of epoch {start_epoch + 1})." if start else ").")
    )
    if changes:
      reporting.say(resume.describe(changes))
      resume.record_changes(workdir, int(state.step), start_epoch, changes)
  trainer = setup.trainer(config, p, state)
  is_chief = jax.process_index() == 0
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  if is_chief:
    _write_config(config, workdir)
    recovery.truncate_metrics(metrics_path, int(state.step))  # Rows past the resume point.
  writer = reporting.MetricWriter(workdir, purge_step=int(state.step) + 1) if is_chief else None
  guard = guards.DivergenceGuard(
    config.divergence_factor, recovery.first_step_loss(metrics_path) if int(state.step) else None
  )
  name = config.dataset if data is None else "the given arrays"
  reporting.say(
    f"Training {config.model.name} on {name} ({p.train.num_examples} examples, "
    f"{p.train.steps_per_epoch} steps/epoch, {jax.device_count()} device(s), "
    f"{'scan' if trainer.runner.scan else 'per-step'} epochs)."
  )
  reporting.result(reporting.table_header())
  bar = reporting.ProgressBar(
    p.train.steps_per_epoch * (config.num_epochs - start_epoch) - start,
    enabled=config.progress_bar,
  )
  last: dict[str, Any] = {}

  def on_epoch(epoch: int, state: TrainState, record: dict, per_step: dict) -> None:
    last.clear()
    last.update(record)
    step = int(state.step)
    guard.check(epoch, per_step["loss"], step)  # Before the diverged state is saved.
    if writer:
      first = {"first_step_loss": float(per_step["loss"][0])} if epoch == 1 else {}
      writer.write(step, dict(record, epoch=epoch, **first))  # first: the guard's reference.
    bar.clear_line()
    reporting.result(reporting.table_row(epoch, record))
    saved = checkpointer and (
      epoch % config.checkpoint_every_epochs == 0 or epoch == config.num_epochs
    )
    if saved:
      checkpointer.save(step, _checkpoint_items(state, epoch, p.input_stats))
    if epoch < config.num_epochs and stop.requested_everywhere():
      if checkpointer and not saved:
        checkpointer.save(step, _checkpoint_items(state, epoch, p.input_stats))
      raise _preempted(stop, checkpointer, step, f"after epoch {epoch}")

  try:
    epochs = range(start_epoch, config.num_epochs)
    state = trainer.fit(
      state, epochs, config.seed, on_epoch, bar.update, start, carried, stop.mid_epoch_check
    )
  except preemption.Interrupted as stopped:  # Mid-epoch, after a whole step.
    step = int(stopped.state.step)
    if checkpointer:
      checkpointer.save(step, _checkpoint_items(stopped.state, stopped.epoch, p.input_stats))
      if is_chief:
        preemption.save_partial(workdir, step, stopped.per_step)
    where = f"in epoch {stopped.epoch + 1}"
    raise _preempted(stop, checkpointer, step, where) from None
  except FloatingPointError as err:
    latest = checkpointer.latest_step() if checkpointer else None
    kept = (
      f"the last good checkpoint (step {latest}) in {workdir} is intact"
      if latest is not None
      else "no checkpoint was written"
    )
    raise FloatingPointError(
      f"{err}; {kept}. Try a smaller learning rate or standardized inputs."
    ) from None
  finally:
    bar.close()
    if writer:
      writer.close()
    if checkpointer is not None:
      checkpointer.close()
  _report_final(last)
  return state


def _preempted(
  stop: preemption.StopOnSignal, checkpointer: Checkpointer | None, step: int, where: str
) -> preemption.Preempted:
  """The clean stop's report, once the checkpoint is complete."""
  name = signal.Signals(stop.signum).name
  if checkpointer is None:
    kept = "checkpointing is off (config.checkpoint_every_epochs=0), so nothing was saved"
  else:
    checkpointer.latest_step()  # Waits for the save (a failed one raises here).
    kept = (
      f"saved a checkpoint at step {step} in {checkpointer.directory}; rerun the same "
      "command to resume from it"
    )
  message = f"Stopped cleanly on {name} at step {step} ({where}): {kept}."
  reporting.say(message)
  return preemption.Preempted(message, step if checkpointer else None, stop.signum)


def _report_final(record: Mapping[str, Any]) -> None:
  if "test_accuracy" in record:
    reporting.result(f"Final test accuracy: {record['test_accuracy']:.4f}")
  elif "test_loss" in record:
    reporting.result(f"Final test loss: {record['test_loss']:.6g}")


def _evaluate_splits(
  state: TrainState, mesh: Any, batch_size: int, splits: Mapping[str, Batch]
) -> dict[str, float]:
  """``{"<split>_<metric>": value}`` of ``state`` on every split."""
  evaluator = Evaluator(mesh, batch_size)
  record: dict[str, float] = {}
  for name, split in splits.items():
    metrics = evaluator(state, evaluator.prepare(split))
    record.update({f"{name}_{k}": v for k, v in metrics.items()})
  return record


def _report_finished(config, p: setup.Parts, state: TrainState, epoch: int, workdir: str) -> None:
  """A rerun of a finished run: its final checkpoint evaluated and reported (nothing trained)."""
  reporting.say(
    f"{workdir} is already trained: its checkpoint is at epoch {epoch} and "
    f"config.num_epochs={config.num_epochs}. Evaluating it; raise --config.num_epochs to "
    "train further."
  )
  record = _evaluate_splits(state, p.mesh, config.eval_batch_size, p.eval_splits)
  reporting.result(
    f"Already trained (epoch {epoch}): " + ", ".join(f"{k}={v:.4g}" for k, v in record.items())
  )
  _report_final(record)


def _restore_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, data: Mapping[str, Batch] | None
) -> tuple[TrainState, dict[str, float]]:
  """The latest checkpoint of ``workdir``, evaluated; only the model and the state are built."""
  mesh, task, model, splits = setup.eval_parts(config, data)
  directory = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(directory):
    raise FileNotFoundError(
      f"No checkpoint in {directory} to evaluate; train first (without eval_only) or point "
      "--workdir at a trained run."
    )
  example_x = next(iter(splits.values()))["x"][:1]
  replicated = sharding.replicated(mesh)
  init = lambda x: setup.initial_state(config, model, task, x, 1, load_pretrained=False)
  abstract = jax.eval_shape(init, example_x)
  stats = None
  if config.standardize:
    feature = jax.ShapeDtypeStruct(example_x.shape[1:], np.float32, sharding=replicated)
    stats = {"mean": feature, "std": feature}
  place = lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=replicated)
  target = _checkpoint_items(jax.tree_util.tree_map(place, abstract), 0, stats)
  checkpointer = Checkpointer(directory, config.max_to_keep)
  try:
    if checkpointer.latest_step() is None:
      raise FileNotFoundError(
        f"No checkpoint in {directory} to evaluate; train first (without eval_only) or point "
        "--workdir at a trained run."
      )
    items = checkpointer.restore(target)
  finally:
    checkpointer.close()
  items.pop("epoch")
  stats = items.pop("input_stats", None)
  if stats is not None:
    splits = build.standardize(splits, jax.device_get(stats))
  state = abstract.replace_items(items)
  result = _evaluate_splits(state, mesh, config.eval_batch_size, splits)
  reporting.result("Evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in result.items()))
  return state, result


def evaluate(
  config: ml_collections.ConfigDict, workdir: str, *, data: Mapping[str, Batch] | None = None
) -> dict[str, float]:
  """Restores the latest checkpoint in ``workdir/checkpoints`` and evaluates it.

  Only the model and its state are built (from the checkpoint); the training split is not
  loaded. With ``config.standardize`` the training statistics come from the checkpoint.

  Returns:
    ``{"test_loss", "test_accuracy"?}`` (one pair per evaluated split).

  Raises:
    FileNotFoundError: there is no checkpoint to evaluate.
    ValueError: the checkpoint holds another model than ``config`` describes.
  """
  validate_config(config)
  return _restore_and_evaluate(config, workdir, data)[1]
