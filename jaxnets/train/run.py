"""``train_and_evaluate`` and ``evaluate``: one run in a workdir, as the launcher calls it."""

from __future__ import annotations

import os
from typing import Any, Mapping

import jax
import ml_collections
import numpy as np

from jaxnets.train import build, reporting, setup, sharding
from jaxnets.train.checkpoint import Checkpointer
from jaxnets.train.config import validate_config
from jaxnets.train.evaluation import Evaluator
from jaxnets.train.state import TrainState
from jaxnets.types import Batch


def _write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  path = os.path.join(workdir, "config.json")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
  os.replace(tmp, path)


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

  A resumed run continues the saved optimizer state exactly, including the hyperparameters
  stored in it by ``optax.inject_hyperparams``; to train with another learning rate, start a
  new workdir.

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
    FloatingPointError: the loss became NaN/inf (the message names the step).
    FileNotFoundError: missing data files, or ``eval_only`` without a checkpoint.

  Example:
    >>> import tempfile
    >>> from jaxnets import train
    >>> config = train.default_config(); config.num_epochs = 1
    >>> state = train_and_evaluate(config, tempfile.mkdtemp())  # doctest: +SKIP
  """
  validate_config(config)
  if config.eval_only:
    return _restore_and_evaluate(config, workdir, data)[0]
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
  start_epoch = 0
  if checkpointer is not None and checkpointer.latest_step() is not None:
    items = checkpointer.restore(_checkpoint_items(state, 0, p.input_stats))
    start_epoch = int(items.pop("epoch"))
    items.pop("input_stats", None)
    state = state.replace_items(items)
    reporting.say(
      f"Resumed from {checkpointer.directory} at step {int(state.step)} (epoch {start_epoch})."
    )
  trainer = setup.trainer(config, p, state)
  is_chief = jax.process_index() == 0
  if is_chief:
    _write_config(config, workdir)
  writer = reporting.MetricWriter(workdir) if is_chief else None
  name = config.dataset if data is None else "the given arrays"
  reporting.say(
    f"Training {config.model.name} on {name} ({p.train.num_examples} examples, "
    f"{p.train.steps_per_epoch} steps/epoch, {jax.device_count()} device(s), "
    f"{'scan' if trainer.runner.scan else 'per-step'} epochs)."
  )
  reporting.say(reporting.table_header())
  bar = reporting.ProgressBar(
    p.train.steps_per_epoch * (config.num_epochs - start_epoch), enabled=config.progress_bar
  )
  last: dict[str, Any] = {}

  def on_epoch(epoch: int, state: TrainState, record: dict, per_step: dict) -> None:
    del per_step
    last.clear()
    last.update(record)
    step = int(state.step)
    if writer:
      writer.write(step, dict(record, epoch=epoch))
    bar.clear_line()
    reporting.say(reporting.table_row(epoch, record))
    if checkpointer and (epoch % config.checkpoint_every_epochs == 0 or epoch == config.num_epochs):
      checkpointer.save(step, _checkpoint_items(state, epoch, p.input_stats))

  try:
    epochs = range(start_epoch, config.num_epochs)
    state = trainer.fit(state, epochs, config.seed, on_epoch, progress=bar.update)
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


def _report_final(record: Mapping[str, Any]) -> None:
  if "test_accuracy" in record:
    reporting.say(f"Final test accuracy: {record['test_accuracy']:.4f}")
  elif "test_loss" in record:
    reporting.say(f"Final test loss: {record['test_loss']:.6f}")


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
  evaluator = Evaluator(mesh, config.eval_batch_size)
  result = {}
  for name, split in splits.items():
    metrics = evaluator(state, evaluator.prepare(split))
    result.update({f"{name}_{k}": v for k, v in metrics.items()})
  reporting.say("Evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in result.items()))
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
