"""End-to-end tests of train_and_evaluate: accuracy, resume, recompilation, NaN, data order."""

import json
import os
import sys

import jax
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds

from jaxnets import data as data_lib
from jaxnets import losses, models
from jaxnets.data.datasets import TRUE_B, TRUE_W
from jaxnets.train import (
  Checkpointer,
  EpochRunner,
  Evaluator,
  InMemoryData,
  TrainState,
  evaluate,
  sharding,
  train_and_evaluate,
)


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def test_softmax_regression_on_digits(tmp_path, tiny_config):
  tiny_config.model = {"name": "softmax", "num_classes": 10}
  tiny_config.optimizer = {"name": "sgd", "learning_rate": 0.5}
  tiny_config.batch_size, tiny_config.num_epochs = 32, 30
  train_and_evaluate(tiny_config, str(tmp_path))
  assert _records(tmp_path)[-1]["test_accuracy"] >= 0.95


def test_linear_regression_recovers_true_parameters(tmp_path, tiny_config):
  tiny_config.dataset = "synthetic_linear"  # Declares a regression task: squared loss.
  tiny_config.model = {"name": "linear"}
  tiny_config.optimizer = {"name": "sgd", "learning_rate": 0.03}
  tiny_config.batch_size, tiny_config.num_epochs = 10, 3
  state = train_and_evaluate(tiny_config, str(tmp_path))
  kernel = np.asarray(state.params["Dense_0"]["kernel"])[:, 0]
  np.testing.assert_allclose(kernel, TRUE_W, atol=0.05)
  assert abs(float(state.params["Dense_0"]["bias"][0]) - TRUE_B) < 0.05
  assert "test_accuracy" not in _records(tmp_path)[-1]


def test_outputs_config_metrics_and_table(tmp_path, tiny_config, capsys):
  tiny_config.num_epochs = 2
  train_and_evaluate(tiny_config, str(tmp_path))
  saved = json.load(open(tmp_path / "config.json"))
  assert saved["model"]["hidden"] == [32] and saved["num_epochs"] == 2
  records = _records(tmp_path)
  assert [r["epoch"] for r in records] == [1, 2]
  assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "examples_per_sec"} <= set(
    records[0]
  )
  out = capsys.readouterr().out
  assert "train_loss" in out and "Final test accuracy" in out
  events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  assert events and events[0].stat().st_size > 0  # tensorboardX comes with the [test] extra.


@pytest.mark.parametrize("scan", [True, False])
def test_resume_after_interruption_matches_uninterrupted_run(tmp_path, tiny_config, scan):
  tiny_config.scan_epochs = scan
  full = train_and_evaluate(tiny_config, str(tmp_path / "full"))
  # "Stop" after epoch 1: a run configured for 1 epoch, then the same workdir for all 3.
  tiny_config.num_epochs = 1
  train_and_evaluate(tiny_config, str(tmp_path / "resumed"))
  tiny_config.num_epochs = 3
  resumed = train_and_evaluate(tiny_config, str(tmp_path / "resumed"))
  assert int(resumed.step) == int(full.step)
  jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.params, full.params)
  jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.opt_state, full.opt_state)
  np.testing.assert_array_equal(jax.random.key_data(resumed.rng), jax.random.key_data(full.rng))


def test_max_to_keep(tmp_path, tiny_config):
  tiny_config.max_to_keep = 2
  train_and_evaluate(tiny_config, str(tmp_path))
  ckpt = Checkpointer(str(tmp_path / "checkpoints"), 2)
  steps_per_epoch = 1437 // 64
  assert ckpt.all_steps() == [2 * steps_per_epoch, 3 * steps_per_epoch]
  ckpt.close()


@pytest.mark.parametrize("scan", [True, False])
def test_no_recompilation_after_the_first_step(scan):
  train_split, test_split = data_lib.load("digits", "train"), data_lib.load("digits", "test")
  mesh = sharding.make_mesh()
  train = InMemoryData(train_split, 64, mesh)
  model = models.MLP(hidden=(32,), num_classes=10, dropout_rate=0.1)
  state = TrainState.create(
    model=model,
    tx=optax.adam(1e-3),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=train.example["x"],
  )
  state = jax.device_put(state, sharding.replicated(mesh))
  runner = EpochRunner(state, train, mesh, scan=scan)  # Compiles the epoch (or the step) now.
  evaluator = Evaluator(mesh, 1000)
  test = evaluator.prepare(test_split)
  state, _ = runner.run(state, 0, seed=0)
  evaluator(state, test)  # Compiles the eval step once.
  compiles = []

  def listener(event, duration, **kwargs):
    del duration, kwargs
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(event)

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    for epoch in (1, 2):
      state, _ = runner.run(state, epoch, seed=0)
      evaluator(state, test)
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert int(state.step) == 3 * (1437 // 64)
  assert compiles == []


@pytest.mark.parametrize("scan", [True, False])
def test_nan_loss_names_the_step_and_keeps_last_good_checkpoint(tmp_path, tiny_config, scan):
  tiny_config.num_epochs, tiny_config.task = 1, "classification"
  tiny_config.scan_epochs = scan
  tiny_config.log_every_steps = 3  # Per-step path: the bad step lies in a later interval.
  clean = {split: data_lib.load("digits", split) for split in ("train", "test")}
  train_and_evaluate(tiny_config, str(tmp_path), data=clean)
  steps_per_epoch = 1437 // 64
  # Poison one training example, then resume for a second epoch.
  poisoned = {"train": dict(clean["train"]), "test": clean["test"]}
  poisoned["train"]["x"] = clean["train"]["x"].copy()
  poisoned["train"]["x"][5, 0, 0, 0] = np.nan
  # The first step of epoch 2 (epoch index 1) whose batch holds example 5.
  idx = data_lib.epoch_indices(tiny_config.seed, 1, 1437, 64)
  expected_step = steps_per_epoch + int(np.flatnonzero((idx == 5).any(axis=1))[0]) + 1
  tiny_config.num_epochs = 2
  with pytest.raises(
    FloatingPointError, match=f"at step {expected_step};.*step {steps_per_epoch}\\)"
  ):
    train_and_evaluate(tiny_config, str(tmp_path), data=poisoned)
  ckpt = Checkpointer(str(tmp_path / "checkpoints"))
  assert ckpt.all_steps() == [steps_per_epoch]
  ckpt.close()


def test_runs_visit_the_data_in_the_one_epoch_order(tmp_path, tiny_config):
  """A run's step trains on the batch that data.batches(seed, epoch) gives."""
  tiny_config.num_epochs, tiny_config.seed, tiny_config.task = 1, 5, "classification"
  tiny_config.model = {"name": "softmax", "num_classes": 10}
  tiny_config.optimizer = {"name": "sgd", "learning_rate": 0.5}
  split = {k: v[:100] for k, v in data_lib.load("digits", "train").items()}  # One step/epoch.
  state = train_and_evaluate(tiny_config, str(tmp_path), data={"train": split})
  first = next(data_lib.batches(split, 64, seed=5, epoch=0))
  model = models.SoftmaxRegression(10)
  start = TrainState.create(
    model=model,
    tx=optax.sgd(0.5),
    loss_fn=losses.softmax_cross_entropy,
    seed=5,
    sample_x=split["x"][:1],
  )
  loss = lambda p: losses.softmax_cross_entropy(model.apply({"params": p}, first["x"]), first["y"])
  grads = jax.grad(lambda p: loss(p).mean())(start.params)
  expected = jax.tree.map(lambda p, g: p - 0.5 * g, start.params, grads)
  assert int(state.step) == 1
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(expected), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_eval_only_and_evaluate_load_no_training_data(tmp_path, tiny_config, monkeypatch):
  tiny_config.num_epochs = 1
  tiny_config.standardize = True  # The statistics must come from the checkpoint.
  train_and_evaluate(tiny_config, str(tmp_path))
  final = _records(tmp_path)[-1]
  real_load = data_lib.load

  def no_train_split(name, split="train", **kw):
    assert split != "train", "evaluation loaded the training split"
    return real_load(name, split, **kw)

  monkeypatch.setattr(data_lib, "load", no_train_split)
  result = evaluate(tiny_config, str(tmp_path))
  assert result["test_accuracy"] == pytest.approx(final["test_accuracy"])
  assert result["test_loss"] == pytest.approx(final["test_loss"], rel=1e-6)
  tiny_config.eval_only = True
  state = train_and_evaluate(tiny_config, str(tmp_path))
  assert int(state.step) == 1437 // 64
  with pytest.raises(FileNotFoundError, match="No checkpoint"):
    evaluate(tiny_config, str(tmp_path / "empty"))


def test_another_model_in_the_workdir_is_named_clearly(tmp_path, tiny_config):
  tiny_config.num_epochs = 1
  train_and_evaluate(tiny_config, str(tmp_path))
  tiny_config.model.hidden = (16,)
  with pytest.raises(ValueError, match="does not match.*shape mismatches"):
    evaluate(tiny_config, str(tmp_path))


@pytest.mark.parametrize(
  "field,value,match",
  [
    ("batch_size", 0, "batch_size must be a positive integer"),
    ("batch_size", 5000, "larger than the training set"),
    ("num_epochs", -1, "num_epochs must be a positive integer"),
    ("seed", -1, "seed must be an integer >= 0"),
    ("optimizer.learning_rate", 0.0, "learning_rate must be a positive number"),
    ("optimizer.learning_rate", -0.1, "learning_rate must be a positive number"),
    ("optimizer.name", "sgdd", "Unknown optimizer 'sgdd'; valid optimizers"),
    ("model.name", "resnet9000", "Unknown model 'resnet9000'; valid models"),
    ("dataset", "not_a_dataset", "Unknown dataset 'not_a_dataset'"),
    ("loss", "hinge", "Unknown loss 'hinge'; valid losses"),
    ("loss", "squared", "'squared' is a regression loss, but the task is 'classification'"),
    ("task", "ranking", "config.task must be one of"),
    ("lr_schedule", "linear", "config.lr_schedule must be one of"),
    ("model.num_classes", 5, "num_classes >= 10"),
    ("dataset", "synthetic_linear", "outputs shape \\(10,\\) per example but the targets"),
    ("streaming", True, "'digits' is embedded and fits in memory"),
    ("batch_sise", 64, "not a field of the training config. Did you mean config.batch_size"),
  ],
)
def test_bad_input_raises_clear_errors(tmp_path, tiny_config, field, value, match):
  target = tiny_config
  *parents, leaf = field.split(".")
  for p in parents:
    target = target[p]
  target[leaf] = value
  with pytest.raises(ValueError, match=match):
    train_and_evaluate(tiny_config, str(tmp_path))
  assert not (tmp_path / "checkpoints").exists()


def test_streaming_equals_training_in_memory(tmp_path, tiny_config):
  """Streamed batches are the in-memory batches: the same order, the same normalisation."""
  tiny_config.dataset = "kmnist"
  tiny_config.batch_size, tiny_config.num_epochs = 16, 2
  tiny_config.scan_epochs = False
  with tfds.testing.mock_data(num_examples=64, policy=tfds.testing.MockPolicy.USE_CODE):
    arrays = {split: data_lib.load("kmnist", split) for split in ("train", "test")}
    tiny_config.streaming = True
    streamed = train_and_evaluate(tiny_config, str(tmp_path / "streamed"))
  assert "tensorflow" not in sys.modules
  tiny_config.streaming, tiny_config.task = False, "classification"
  in_memory = train_and_evaluate(tiny_config, str(tmp_path / "memory"), data=arrays)
  assert int(streamed.step) == 2 * 64 // 16
  for a, b in zip(jax.tree.leaves(streamed.params), jax.tree.leaves(in_memory.params), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  assert _records(tmp_path / "streamed")[-1]["test_loss"] == pytest.approx(
    _records(tmp_path / "memory")[-1]["test_loss"], rel=1e-5
  )


@pytest.mark.parametrize(
  "field,value", [("standardize", True), ("image_size", 28), ("eval_train", True)]
)
def test_streaming_rejects_what_it_would_ignore(tmp_path, tiny_config, field, value):
  tiny_config.dataset, tiny_config.streaming = "kmnist", True
  tiny_config[field] = value
  with pytest.raises(ValueError, match=f"config.{field} is not supported with config.streaming"):
    train_and_evaluate(tiny_config, str(tmp_path))
