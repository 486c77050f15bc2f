"""End-to-end tests of train_and_evaluate: accuracy, resume, recompilation, NaN, bad input."""

import json
import os
import sys

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from experiments.configs import linear_regression, mlp_digits, softmax_digits
from jaxnets import data as data_lib
from jaxnets.data import datasets
from jaxnets.train import Checkpointer, evaluate, loop, reporting, train_and_evaluate


def _final_record(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return json.loads(f.readlines()[-1])


def test_softmax_regression_on_digits(tmp_path):
  config = softmax_digits.get_config()
  config.progress_bar = False
  train_and_evaluate(config, str(tmp_path))
  assert _final_record(tmp_path)["test_accuracy"] >= 0.95


def test_mlp_on_digits(tmp_path):
  config = mlp_digits.get_config()
  config.progress_bar = False
  train_and_evaluate(config, str(tmp_path))
  assert _final_record(tmp_path)["test_accuracy"] >= 0.97


def test_linear_regression_recovers_true_parameters(tmp_path):
  config = linear_regression.get_config()
  config.progress_bar = False
  state = train_and_evaluate(config, str(tmp_path))
  kernel = np.asarray(state.params["Dense_0"]["kernel"])[:, 0]
  bias = float(state.params["Dense_0"]["bias"][0])
  np.testing.assert_allclose(kernel, datasets.TRUE_W, atol=0.05)
  assert abs(bias - datasets.TRUE_B) < 0.05


def test_outputs_config_metrics_and_table(tmp_path, tiny_config, capsys):
  tiny_config.num_epochs = 2
  train_and_evaluate(tiny_config, str(tmp_path))
  saved = json.load(open(tmp_path / "config.json"))
  assert saved["model"]["hidden"] == [32] and saved["num_epochs"] == 2
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  records = [json.loads(line) for line in lines]
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


def test_max_to_keep(tmp_path, tiny_config):
  tiny_config.max_to_keep = 2
  train_and_evaluate(tiny_config, str(tmp_path))
  ckpt = Checkpointer(str(tmp_path / "checkpoints"), 2)
  steps_per_epoch = 1437 // 64
  assert ckpt.all_steps() == [2 * steps_per_epoch, 3 * steps_per_epoch]
  ckpt.close()


@pytest.mark.parametrize("scan", [True, False])
def test_no_recompilation_after_the_first_step(tmp_path, tiny_config, scan):
  tiny_config.scan_epochs = scan
  trainer = loop._Trainer(tiny_config, str(tmp_path))
  bar = reporting.ProgressBar(0, enabled=False)
  trainer.run_epoch(0, bar, None)  # Compiles the epoch (or the step) once.
  trainer.evaluate()  # Compiles the eval step once.
  compiles = []

  def listener(event, duration, **kwargs):
    del duration, kwargs
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(event)

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    for epoch in (1, 2):
      trainer.run_epoch(epoch, bar, None)
      trainer.evaluate()
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert int(trainer.state.step) == 3 * (1437 // 64)
  assert compiles == []


@pytest.mark.parametrize("scan", [True, False])
def test_nan_loss_names_the_step_and_keeps_last_good_checkpoint(
  tmp_path, tiny_config, monkeypatch, scan
):
  tiny_config.num_epochs = 1
  tiny_config.scan_epochs = scan
  tiny_config.log_every_steps = 3  # Per-step path: the bad step lies in a later interval.
  train_and_evaluate(tiny_config, str(tmp_path))
  steps_per_epoch = 1437 // 64
  # Poison one training example, then resume for a second epoch.
  clean = datasets._digits()
  poisoned_train = {"x": clean["train"]["x"].copy(), "y": clean["train"]["y"]}
  poisoned_train["x"][5, 0, 0, 0] = np.nan
  monkeypatch.setitem(
    datasets._EMBEDDED, "digits", (lambda: {"train": poisoned_train, "test": clean["test"]}, 10)
  )
  # The first step of epoch 2 whose batch holds example 5.
  key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(tiny_config.seed), 1), 1)
  idx = np.asarray(data_lib.epoch_permutation(key, 1437, 64))
  expected_step = steps_per_epoch + int(np.flatnonzero((idx == 5).any(axis=1))[0]) + 1
  tiny_config.num_epochs = 2
  with pytest.raises(
    FloatingPointError, match=f"at step {expected_step};.*step {steps_per_epoch}\\)"
  ):
    train_and_evaluate(tiny_config, str(tmp_path))
  ckpt = Checkpointer(str(tmp_path / "checkpoints"))
  assert ckpt.all_steps() == [steps_per_epoch]
  ckpt.close()


def test_eval_only_reproduces_final_test_metrics(tmp_path, tiny_config):
  tiny_config.num_epochs = 1
  train_and_evaluate(tiny_config, str(tmp_path))
  result = evaluate(tiny_config, str(tmp_path))
  assert result["test_accuracy"] == pytest.approx(_final_record(tmp_path)["test_accuracy"])
  with pytest.raises(FileNotFoundError, match="No checkpoint"):
    evaluate(tiny_config, str(tmp_path / "empty"))


@pytest.mark.parametrize(
  "field,value,match",
  [
    ("batch_size", 0, "batch_size must be a positive integer"),
    ("batch_size", 5000, "larger than the dataset"),
    ("num_epochs", -1, "num_epochs must be a positive integer"),
    ("optimizer.learning_rate", 0.0, "learning_rate must be a positive number"),
    ("optimizer.learning_rate", -0.1, "learning_rate must be a positive number"),
    ("optimizer.name", "sgdd", "Unknown optimizer 'sgdd'; valid optimizers"),
    ("model.name", "resnet9000", "Unknown model 'resnet9000'; valid models"),
    ("dataset", "not_a_dataset", "Unknown dataset 'not_a_dataset'"),
    ("loss", "hinge", "Unknown loss 'hinge'; valid losses"),
    ("model.num_classes", 5, "num_classes >= 10"),
    ("dataset", "synthetic_linear", "needs integer labels"),
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


def test_streaming_training_from_tfds_data_source(tmp_path, tiny_config):
  tiny_config.dataset = "kmnist"
  tiny_config.streaming = True
  tiny_config.batch_size = 16
  tiny_config.num_epochs = 2
  with tfds.testing.mock_data(num_examples=64, policy=tfds.testing.MockPolicy.USE_CODE):
    state = train_and_evaluate(tiny_config, str(tmp_path))
  assert int(state.step) == 2 * 64 // 16
  records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert all(np.isfinite(r["train_loss"]) for r in records)
  assert "tensorflow" not in sys.modules


def test_streaming_rejects_image_resizing(tmp_path, tiny_config):
  tiny_config.streaming, tiny_config.image_size = True, 28
  with pytest.raises(ValueError, match="image_size is not supported with config.streaming"):
    train_and_evaluate(tiny_config, str(tmp_path))
