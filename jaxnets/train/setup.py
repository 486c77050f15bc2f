"""Everything a run needs before its first step, built from a validated config.

Shared by one run (:mod:`jaxnets.train.run`) and by sweeps (:mod:`jaxnets.train.sweep`), so
a sweep member is set up exactly as the launcher sets up the same config.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import flax.linen as nn
import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh

from jaxnets import data as data_lib
from jaxnets.train import build, finetuning, sharding
from jaxnets.train.evaluation import Evaluator
from jaxnets.train.loop import EpochRunner, Trainer, default_scan
from jaxnets.train.sources import InMemoryData, StreamingData, TrainData
from jaxnets.train.state import TrainState
from jaxnets.types import Batch


@dataclasses.dataclass
class Parts:
  """The data, model and task of a run (no state yet)."""

  mesh: Mesh
  task: str
  model: nn.Module
  train: TrainData
  eval_splits: dict[str, Batch]  # Host arrays: name -> {"x", "y"}; "train_eval" = train split.
  input_stats: dict[str, np.ndarray] | None  # Standardization statistics, when used.


def check_data(splits: Mapping[str, Batch]) -> None:
  """Arrays passed directly need a ``"train"`` split of ``{"x", "y"}`` arrays of equal length."""
  if "train" not in splits:
    raise ValueError(f"data needs a 'train' split; got splits {sorted(splits)}.")
  for name, split in splits.items():
    if not {"x", "y"} <= set(split) or len(split["x"]) != len(split["y"]):
      raise ValueError(f"data[{name!r}] must hold 'x' and 'y' arrays of equal length.")


def parts(config: ml_collections.ConfigDict, data: Mapping[str, Batch] | None = None) -> Parts:
  """Loads (or takes) the data, builds the model, and checks that the two fit.

  Args:
    config: a validated config.
    data: optional ``{"train": {"x", "y"}, <eval split>: {...}}`` host arrays to use instead
      of ``config.dataset`` (``config.task`` must then say what the targets are).
  """
  mesh = sharding.make_mesh()
  task = build.task(config)
  model = build.model(config)
  stats = None
  if data is not None:
    if config.task is None:
      raise ValueError(
        "With arrays passed as `data`, set config.task to 'classification' or 'regression'."
      )
    check_data(data)
    splits = {k: {"x": np.asarray(v["x"]), "y": np.asarray(v["y"])} for k, v in data.items()}
  elif config.streaming:
    splits = build.load_splits(config, ("test",))
  else:
    splits = build.load_splits(config, ("train", "test"))
  if config.streaming:
    source = data_lib.tfds_source(config.dataset, "train", data_dir=config.data_dir)
    train: TrainData = StreamingData(source, config.batch_size, mesh, config.worker_count)
  else:
    if config.standardize:
      stats = build.input_statistics(splits["train"]["x"])
      splits = build.standardize(splits, stats)
    train = InMemoryData(splits["train"], config.batch_size, mesh)
  eval_splits = {k: v for k, v in splits.items() if k != "train"}
  if config.eval_train:
    eval_splits["train_eval"] = splits["train"]
  targets = splits["train"]["y"] if "train" in splits else next(iter(splits.values()))["y"]
  build.check_model_fits_data(model, train.example["x"], targets, task, config.model.name)
  return Parts(mesh, task, model, train, eval_splits, stats)


def eval_parts(
  config: ml_collections.ConfigDict, data: Mapping[str, Batch] | None = None
) -> tuple[Mesh, str, nn.Module, dict[str, Batch]]:
  """The model and evaluation splits only: no training data is loaded or placed."""
  mesh = sharding.make_mesh()
  if data is not None:
    check_data(data)
    splits = {k: dict(v) for k, v in data.items() if k != "train"}
  else:
    splits = build.load_splits(config, ("test",))
  return mesh, build.task(config), build.model(config), splits


def replicate(tree: Any, mesh: Mesh) -> Any:
  """``tree`` placed whole on every device of ``mesh`` (of every process).

  With several processes ``device_put`` cannot target other processes' devices; every
  process holds the same values (the same seed), so each fills its own devices.
  """
  target = sharding.replicated(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, target)

  def put(x: Any) -> jax.Array:
    if jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(x)), impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, target, lambda index: host[index])

  return jax.tree_util.tree_map(put, tree)


def initial_state(
  config: ml_collections.ConfigDict,
  model: nn.Module,
  task: str,
  example_x: Any,
  steps_per_epoch: int,
  *,
  load_pretrained: bool = True,
) -> TrainState:
  """A run's state at step 0: the model initialized from ``config.seed``, the optimizer chain.

  With ``config.finetune.pretrained`` set, the fine-tuning state instead
  (:func:`jaxnets.train.finetuning.initial_state`: pretrained layers, a fresh head, per-group
  learning rates, frozen stages).

  Args:
    config: a validated config.
    model: the configured model (:func:`jaxnets.train.build.model`).
    task: ``"classification"`` or ``"regression"``.
    example_x: one input batch (only its shape and dtype are used).
    steps_per_epoch: optimizer steps per epoch (for decaying schedules).
    load_pretrained: False builds a fine-tuning state's structure only (a restore target).
  """
  if config.finetune.pretrained is not None:
    return finetuning.initial_state(
      config, model, task, example_x, steps_per_epoch, load_pretrained=load_pretrained
    )
  return TrainState.create(
    model=model,
    tx=build.optimizer(config, steps_per_epoch),
    loss_fn=build.loss(config),
    seed=config.seed,
    sample_x=example_x,
    task=task,
  )


def trainer(
  config: ml_collections.ConfigDict, parts: Parts, state: TrainState, members: int | None = None
) -> Trainer:
  """The compiled epochs and evaluations of a run (or of a sweep's ``members``)."""
  scan = config.scan_epochs
  if scan is None:
    scan = default_scan(state.params, stacked=members is not None)
  runner = EpochRunner(
    state,
    parts.train,
    parts.mesh,
    scan=scan and parts.train.resident,
    members=members,
    log_every_steps=config.log_every_steps,
    check_finite=members is None,
    augment=build.augmentation(config),
  )
  evaluator = Evaluator(parts.mesh, config.eval_batch_size, members=members)
  return Trainer(runner, evaluator, parts.eval_splits, config.eval_every_epochs)
