"""The divergence guard: a finite but exploding loss stops the run, naming the step."""

import json
import os

import numpy as np
import pytest

from jaxnets.train import default_config, train_and_evaluate, validate_config
from jaxnets.train.guards import DivergenceGuard


def _config():
  config = default_config()
  config.model = {"name": "softmax", "num_classes": 10}
  config.batch_size, config.num_epochs, config.progress_bar = 256, 3, False
  return config


def test_finite_divergence_stops_naming_the_step(tmp_path):
  config = _config()
  config.optimizer = {"name": "sgd", "learning_rate": 1e6}
  config.divergence_factor = 100.0
  with pytest.raises(FloatingPointError) as info:
    train_and_evaluate(config, str(tmp_path))
  message = str(info.value)
  assert "divergence_factor=100 x the loss at step 1" in message, message
  assert "at step 2 " in message and "no checkpoint was written" in message
  assert (
    not os.path.exists(tmp_path / "metrics.jsonl") or not open(tmp_path / "metrics.jsonl").read()
  )


def test_guard_off_by_default_and_a_resumed_run_keeps_the_reference(tmp_path):
  config = _config()
  config.optimizer = {"name": "sgd", "learning_rate": 1e6}
  config.num_epochs = 2
  train_and_evaluate(config, str(tmp_path))  # Off: a finite divergence trains on, as before.
  with open(tmp_path / "metrics.jsonl") as f:
    rows = [json.loads(line) for line in f]
  assert rows[-1]["train_loss"] > 1e4 and 1 < rows[0]["first_step_loss"] < 5
  config.num_epochs, config.divergence_factor = 3, 100.0
  with pytest.raises(FloatingPointError, match=r"at step 11 .*checkpoint \(step 10\)"):
    train_and_evaluate(config, str(tmp_path))  # The reference: step 1's loss, as logged.
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["10", "5"]


def test_guard_counts_steps_from_the_last_one():
  guard = DivergenceGuard(2.0)
  guard.check(1, np.array([2.0, 3.9], np.float32), last_step=2)  # Reference: 2.0.
  with pytest.raises(FloatingPointError, match="loss 4.5 at step 4 "):
    guard.check(2, np.array([1.0, 4.5, 9.0], np.float32), last_step=5)
  DivergenceGuard(None).check(2, np.array([1e30]), last_step=1)  # Off.
  resumed = DivergenceGuard(2.0)  # Resumed without a logged reference: nothing to compare.
  resumed.check(3, np.array([1e30], np.float32), last_step=9)


@pytest.mark.parametrize("bad", [0.5, 1, -3.0, float("inf"), float("nan")])
def test_divergence_factor_is_validated(bad):
  config = _config()
  config.divergence_factor = None
  validate_config(config)
  config.divergence_factor = bad
  with pytest.raises(ValueError, match="divergence_factor must be"):
    validate_config(config)
