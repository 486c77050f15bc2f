"""``train_and_evaluate``: the one function the launcher, notebooks and tests call.

Data that fits in memory lives on the device(s); each epoch is a shuffled index array and
runs either as one ``lax.scan`` (fastest for convolution-free models) or as a Python loop of
one jitted step per batch (faster for convolutions on XLA:CPU, where convolutions inside
loop bodies were measured ~3.5x slower). Streaming data (``config.streaming``) comes from
``tfds.data_source`` through grain and runs the same jitted step.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxnets import data as data_lib
from jaxnets import losses, models, optim
from jaxnets.train import reporting, sharding, steps
from jaxnets.train.checkpoint import Checkpointer
from jaxnets.train.state import TrainState

EVAL_BATCH_SIZE = 1000


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first bad field and what would be valid."""
  for field in ("batch_size", "num_epochs", "log_every_steps"):
    value = config[field]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
      raise ValueError(f"config.{field} must be a positive integer, got {value!r}.")
  lr = config.optimizer.get("learning_rate")
  if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
    raise ValueError(f"config.optimizer.learning_rate must be a positive number, got {lr!r}.")
  if config.weight_decay < 0:
    raise ValueError(f"config.weight_decay must be >= 0, got {config.weight_decay}.")
  if config.checkpoint_every_epochs < 0:
    raise ValueError(
      "config.checkpoint_every_epochs must be >= 0 (0 disables checkpoints), "
      f"got {config.checkpoint_every_epochs}."
    )
  losses.get_loss(config.loss)  # Unknown loss names raise here.
  if "name" not in config.model or "name" not in config.optimizer:
    raise ValueError("config.model and config.optimizer each need a `name` field.")


def build_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """The configured optimizer, with decoupled L2 weight decay chained first when asked."""
  kwargs = {k: v for k, v in config.optimizer.items() if k not in ("name", "learning_rate")}
  tx = optim.get_optimizer(
    config.optimizer.name,
    config.optimizer.learning_rate,
    impl=config.get("optimizer_impl", "optax"),
    **kwargs,
  )
  if config.weight_decay > 0:
    tx = optax.chain(optax.add_decayed_weights(config.weight_decay), tx)
  return tx


def build_model(config: ml_collections.ConfigDict):
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  return models.get_model(config.model.name, **kwargs)


def load_arrays(config: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """Train and test arrays, standardized with the training statistics when asked."""
  kw = dict(data_dir=config.data_dir, image_size=config.image_size)
  train = data_lib.load(config.dataset, "train", **kw)
  test = data_lib.load(config.dataset, "test", **kw)
  if config.standardize:
    mean, std = train["x"].mean(0), train["x"].std(0) + 1e-6
    train["x"], test["x"] = (train["x"] - mean) / std, (test["x"] - mean) / std
  return train, test


def _has_convolutions(params: Any) -> bool:
  return any(np.ndim(leaf) >= 3 for leaf in jax.tree_util.tree_leaves(params))


def _check_finite(
  step_losses: np.ndarray, first_step: int, workdir: str, checkpointer: Checkpointer | None
) -> None:
  """Raises FloatingPointError naming the first step (after ``first_step``) with a bad loss."""
  bad = np.flatnonzero(~np.isfinite(step_losses))
  if bad.size:
    step = first_step + int(bad[0]) + 1
    last = checkpointer.latest_step() if checkpointer else None
    kept = (
      f"the last good checkpoint (step {last}) in {workdir} is intact"
      if last is not None
      else "no checkpoint was written"
    )
    raise FloatingPointError(
      f"Training diverged: the loss became {step_losses[bad[0]]} at step {step}; {kept}. "
      "Try a smaller learning rate or standardized inputs."
    )


class _Trainer:
  """Holds the compiled functions and device data of one run."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config, self.workdir = config, workdir
    self.mesh = sharding.make_mesh()
    sharding.check_batch_size(config.batch_size, self.mesh)
    self.batch_sharding = sharding.batch_sharding(self.mesh)
    self.replicated = sharding.replicated(self.mesh)

    if config.streaming:
      if config.image_size is not None:
        raise ValueError(
          "config.image_size is not supported with config.streaming=True; "
          "store the data at the size the model needs."
        )
      self.train_source = data_lib.datasets.tfds_source(
        config.dataset, "train", data_dir=config.data_dir
      )
      self.n_train = len(self.train_source)
      self.test = data_lib.load(config.dataset, "test", data_dir=config.data_dir)
      sample_x = self.test["x"][:1]
    else:
      train, self.test = load_arrays(config)
      self.n_train = len(train["y"])
      sample_x = train["x"][:1]
      self.train_data = sharding.host_local_to_global(train, self.replicated)
    self.steps_per_epoch = data_lib.num_batches(self.n_train, config.batch_size)

    model = build_model(config)
    loss_fn = losses.get_loss(config.loss)
    if config.loss == "cross_entropy" and not np.issubdtype(self.test["y"].dtype, np.integer):
      raise ValueError(
        f"loss 'cross_entropy' needs integer labels but dataset "
        f"{config.dataset!r} has {self.test['y'].dtype} targets; use "
        "config.loss='squared' for regression."
      )
    state = TrainState.create(
      model=model,
      tx=build_optimizer(config),
      loss_fn=loss_fn,
      rng=jax.random.PRNGKey(config.seed),
      sample_x=jnp.asarray(sample_x),
    )
    self._check_output_shape(state, sample_x)
    self.state = jax.device_put(state, self.replicated)

    scan = config.scan_epochs
    if scan is None:
      scan = jax.default_backend() != "cpu" or not _has_convolutions(state.params)
    self.scan = bool(scan) and not config.streaming
    self.data_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)

    donate = dict(donate_argnums=0)
    self.train_epoch = jax.jit(steps.train_epoch_scan, static_argnums=3, **donate)
    self.train_step_indexed = jax.jit(steps.train_step_indexed, static_argnums=3, **donate)
    # The key comes from the donated state itself (passing state.rng separately would
    # hand XLA a donated buffer twice).
    self.train_step = jax.jit(
      lambda state, batch: steps.train_step(state, batch, state.rng), **donate
    )
    self.eval_step = jax.jit(steps.eval_step)

  def _check_output_shape(self, state: TrainState, sample_x: np.ndarray) -> None:
    out = jax.eval_shape(lambda: state.apply_fn(state.variables(), jnp.asarray(sample_x)))
    y = self.test["y"]
    if self.config.loss == "cross_entropy":
      n_classes = int(max(y.max(), 0)) + 1
      if out.ndim != 2 or out.shape[-1] < n_classes:
        raise ValueError(
          f"Model {self.config.model.name!r} outputs shape {out.shape[1:]} per "
          f"example but dataset {self.config.dataset!r} has labels up to "
          f"{n_classes - 1}; set config.model.num_classes >= {n_classes}."
        )
    elif out.shape[1:] != y.shape[1:]:
      raise ValueError(
        f"Model {self.config.model.name!r} outputs shape {out.shape[1:]} per "
        f"example but targets have shape {y.shape[1:]}."
      )

  def epoch_indices(self, epoch: int) -> jax.Array:
    key = jax.random.fold_in(self.data_key, epoch)
    return data_lib.epoch_permutation(key, self.n_train, self.config.batch_size)

  def run_epoch(
    self, epoch: int, bar: reporting.ProgressBar, checkpointer: Checkpointer | None
  ) -> dict[str, float]:
    """Trains one epoch; returns mean train metrics (fetched from the device once per interval)."""
    cfg = self.config
    first_step = int(self.state.step)
    pending: list[dict[str, jax.Array]] = []
    fetched: list[dict[str, np.ndarray]] = []

    def flush():
      if pending:
        host = jax.device_get(pending)
        new_losses = np.concatenate([np.atleast_1d(m["loss"]) for m in host])
        done = sum(np.size(m["loss"]) for m in fetched)
        _check_finite(new_losses, first_step + done, self.workdir, checkpointer)
        fetched.extend(host)
        bar.update(new_losses.size, f"loss {float(new_losses[-1]):.4f}")
        pending.clear()

    if self.scan:
      self.state, metrics = self.train_epoch(
        self.state, self.train_data, self.epoch_indices(epoch), self.batch_sharding
      )
      pending.append(metrics)
    else:
      for i, batch_or_idx in enumerate(self._epoch_batches(epoch)):
        if cfg.streaming:
          self.state, metrics = self.train_step(self.state, batch_or_idx)
        else:
          self.state, metrics = self.train_step_indexed(
            self.state, self.train_data, batch_or_idx, self.batch_sharding
          )
        pending.append(metrics)
        if (i + 1) % cfg.log_every_steps == 0:
          flush()
    flush()
    keys = fetched[0].keys()
    return {k: float(np.mean(np.concatenate([np.atleast_1d(m[k]) for m in fetched]))) for k in keys}

  def _epoch_batches(self, epoch: int) -> Iterator[Any]:
    if not self.config.streaming:
      yield from self.epoch_indices(epoch)
      return

    def to_example(record):
      x = np.asarray(record["image"], np.float32)
      x = x / 255.0 if record["image"].dtype == np.uint8 else x
      return {"x": x, "y": np.int32(record["label"])}

    for batch in data_lib.stream_batches(
      self.train_source,
      self.config.batch_size // jax.process_count(),
      seed=self.config.seed + epoch,
      transform=to_example,
      worker_count=self.config.worker_count,
      shard_index=jax.process_index(),
      shard_count=jax.process_count(),
    ):
      yield sharding.host_local_to_global(batch, self.batch_sharding)

  def evaluate(self, state: TrainState | None = None) -> dict[str, float]:
    """Exact mean loss/accuracy over the whole test split (padded last batch masked out)."""
    state = self.state if state is None else state
    n = len(self.test["y"])
    size = min(EVAL_BATCH_SIZE, n)
    size -= size % self.mesh.devices.size or 0
    size = max(size, self.mesh.devices.size)
    totals: list[dict[str, jax.Array]] = []
    for batch in data_lib.batches(self.test, size, shuffle=False, drop_remainder=False):
      totals.append(
        self.eval_step(state, sharding.host_local_to_global(batch, self.batch_sharding))
      )
    summed = {k: float(sum(np.asarray(t[k]) for t in jax.device_get(totals))) for k in totals[0]}
    out = {"test_loss": summed["loss_sum"] / summed["count"]}
    if "correct" in summed:
      out["test_accuracy"] = summed["correct"] / summed["count"]
    return out


def _write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  path = os.path.join(workdir, "config.json")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
  os.replace(tmp, path)


def _restore_latest(trainer: _Trainer, checkpointer: Checkpointer | None) -> int:
  """Restores the newest checkpoint into ``trainer.state``; returns its completed epochs."""
  if checkpointer is None or checkpointer.latest_step() is None:
    return 0
  trainer.state, epoch = checkpointer.restore(trainer.state)
  reporting.say(
    f"Resumed from {checkpointer.directory} at step {int(trainer.state.step)} (epoch {epoch})."
  )
  return epoch


def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Restores the latest checkpoint in ``workdir/checkpoints`` and evaluates it on the test split.

  Raises:
    FileNotFoundError: there is no checkpoint to evaluate.
  """
  validate_config(config)
  trainer = _Trainer(config, workdir)
  checkpointer = Checkpointer(os.path.join(workdir, "checkpoints"), config.max_to_keep)
  try:
    if checkpointer.latest_step() is None:
      raise FileNotFoundError(
        f"No checkpoint in {checkpointer.directory} to evaluate; train "
        "first (without eval_only) or point --workdir at a trained run."
      )
    _restore_latest(trainer, checkpointer)
  finally:
    checkpointer.close()
  result = trainer.evaluate()
  reporting.say("Evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in result.items()))
  return result


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains and evaluates a model as ``config`` describes, resuming from ``workdir``.

  Writes ``workdir/config.json``, ``workdir/metrics.jsonl`` (one JSON object per epoch),
  Orbax checkpoints under ``workdir/checkpoints`` and, with tensorboardX installed,
  TensorBoard events. Prints a per-epoch table and the final test accuracy. With
  ``config.eval_only`` it only restores the latest checkpoint and evaluates it.

  A resumed run continues the saved optimizer state exactly, including the learning rate
  stored in it by ``optax.inject_hyperparams``; to train with another learning rate, start a
  new workdir (or set ``state.opt_state.hyperparams`` yourself).

  Args:
    config: a ConfigDict with the fields of ``experiments/configs/default.py``.
    workdir: directory for outputs; a run finding checkpoints there resumes from the latest.

  Returns:
    The final :class:`TrainState`.

  Raises:
    ValueError: bad config values, unknown names, mismatched shapes.
    FloatingPointError: the loss became NaN/inf (the message names the step).
    FileNotFoundError: missing data files, or ``eval_only`` without a checkpoint.

  Example:
    >>> import tempfile
    >>> from experiments.configs import softmax_digits
    >>> config = softmax_digits.get_config(); config.num_epochs = 1
    >>> state = train_and_evaluate(config, tempfile.mkdtemp())  # doctest: +SKIP
  """
  if config.eval_only:
    evaluate(config, workdir)
    return None
  validate_config(config)
  os.makedirs(workdir, exist_ok=True)
  trainer = _Trainer(config, workdir)
  checkpointer = (
    Checkpointer(os.path.join(workdir, "checkpoints"), config.max_to_keep)
    if config.checkpoint_every_epochs
    else None
  )
  start_epoch = _restore_latest(trainer, checkpointer)
  is_chief = jax.process_index() == 0
  if is_chief:
    _write_config(config, workdir)
  writer = reporting.MetricWriter(workdir) if is_chief else None
  reporting.say(
    f"Training {config.model.name} on {config.dataset} ({trainer.n_train} examples, "
    f"{trainer.steps_per_epoch} steps/epoch, {jax.device_count()} device(s), "
    f"{'scan' if trainer.scan else 'per-step'} epochs)."
  )
  reporting.say(reporting.table_header())
  bar = reporting.ProgressBar(
    trainer.steps_per_epoch * (config.num_epochs - start_epoch), enabled=config.progress_bar
  )
  record: dict[str, Any] = {}
  try:
    for epoch in range(start_epoch, config.num_epochs):
      t0 = time.perf_counter()
      record = {f"train_{k}": v for k, v in trainer.run_epoch(epoch, bar, checkpointer).items()}
      seconds = time.perf_counter() - t0
      record.update(trainer.evaluate())
      record["examples_per_sec"] = trainer.steps_per_epoch * config.batch_size / seconds
      if writer:
        writer.write(int(trainer.state.step), dict(record, epoch=epoch + 1))
      bar.clear_line()
      reporting.say(reporting.table_row(epoch + 1, record))
      last = epoch + 1 == config.num_epochs
      if checkpointer and ((epoch + 1) % config.checkpoint_every_epochs == 0 or last):
        checkpointer.save(trainer.state, epoch + 1)
  finally:
    bar.close()
    if writer:
      writer.close()
    if checkpointer is not None:
      checkpointer.close()
  if "test_accuracy" in record:
    reporting.say(f"Final test accuracy: {record['test_accuracy']:.4f}")
  elif record:
    reporting.say(f"Final test loss: {record['test_loss']:.6f}")
  return trainer.state
