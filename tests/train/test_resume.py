"""Resuming a workdir with a changed config: refused, applied, or reported as finished."""

import json

import numpy as np
import pytest

from jaxnets.optim import get_hyperparameter
from jaxnets.train import default_config, resume, train_and_evaluate


def test_config_changes_lists_every_changed_leaf():
  old = resume.config_as_dict(default_config())
  new = default_config()
  new.model.hidden, new.batch_size = (64,), 16
  assert resume.config_changes(old, resume.config_as_dict(new)) == {
    "batch_size": (32, 16),
    "model.hidden": ([256], [64]),
  }


def test_check_resume_allows_safe_fields_and_a_constant_learning_rate():
  old = resume.config_as_dict(default_config())
  new = default_config()
  new.num_epochs, new.progress_bar, new.eval_every_epochs = 50, False, 5
  new.optimizer.learning_rate = 0.01
  changes = resume.check_resume(old, new)
  assert changes["optimizer.learning_rate"] == (0.1, 0.01) and changes["num_epochs"] == (30, 50)
  assert resume.check_resume(None, new) == {}


def test_check_resume_refuses_and_names_each_unsafe_change():
  old = resume.config_as_dict(default_config())
  new = default_config()
  new.seed, new.optimizer.momentum, new.num_epochs = 1, 0.5, 40
  with pytest.raises(ValueError) as err:
    resume.check_resume(old, new, "runs/x")
  message = str(err.value)
  assert "seed 0 → 1" in message and "optimizer.momentum 0.9 → 0.5" in message
  assert "num_epochs" not in message and "runs/x" in message
  new = default_config()
  new.lr_schedule, new.optimizer.learning_rate = "cosine", 0.01
  old["lr_schedule"] = "cosine"
  with pytest.raises(ValueError, match="optimizer.learning_rate 0.1 → 0.01"):
    resume.check_resume(old, new)


def test_a_field_the_stored_config_predates_counts_as_unchanged_at_its_default():
  old = resume.config_as_dict(default_config())
  del old["eval_train"], old["weight_decay"]
  assert resume.check_resume(old, default_config()) == {}
  new = default_config()
  new.weight_decay = 0.1
  with pytest.raises(ValueError, match=r"weight_decay \(unset\) → 0.1"):
    resume.check_resume(old, new)


def _tiny():
  config = default_config()
  config.model = {"name": "softmax", "num_classes": 10}
  config.batch_size, config.num_epochs, config.progress_bar = 128, 1, False
  return config


def test_resume_applies_a_new_learning_rate_and_refuses_a_new_seed(tmp_path, capsys):
  workdir = str(tmp_path)
  train_and_evaluate(_tiny(), workdir)
  config = _tiny()
  config.seed = 3
  with pytest.raises(ValueError, match="seed 0 → 3"):
    train_and_evaluate(config, workdir)
  assert json.load(open(tmp_path / "config.json"))["seed"] == 0  # Not overwritten.
  config = _tiny()
  config.model = {"name": "mlp", "hidden": (8,), "num_classes": 10}
  with pytest.raises(ValueError, match='holds a run of model .*"softmax".* new --workdir'):
    train_and_evaluate(config, workdir)  # Refused before the checkpoint is restored.
  config = _tiny()
  config.num_epochs, config.optimizer.learning_rate = 2, 0.05
  state = train_and_evaluate(config, workdir)
  assert np.isclose(float(get_hyperparameter(state.opt_state, "learning_rate")), 0.05)
  assert json.load(open(tmp_path / "config.json"))["optimizer"]["learning_rate"] == 0.05
  (line,) = open(tmp_path / "config_changes.jsonl").read().splitlines()
  assert json.loads(line)["changes"]["optimizer.learning_rate"] == [0.1, 0.05]
  # Rerun finished: the checkpoint is evaluated and reported, nothing is trained.
  capsys.readouterr()
  before = open(tmp_path / "metrics.jsonl").read()
  train_and_evaluate(config, workdir)
  out = capsys.readouterr().out
  final = json.loads(before.splitlines()[-1])
  assert "Already trained (epoch 2)" in out
  assert f"Final test accuracy: {final['test_accuracy']:.4f}" in out
  assert open(tmp_path / "metrics.jsonl").read() == before
