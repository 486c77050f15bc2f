"""experiments/finetune.py with tiny settings, and the documented fine-tune config end to end."""

import json

import numpy as np

from experiments import common, finetune
from experiments.configs import finetune as finetune_config
from jaxnets import data
from jaxnets.finetune import load_pretrained
from jaxnets.train import train_and_evaluate


def test_the_experiment_reports_both_runs_per_seed_and_the_gain(tmp_path):
  out = finetune.run(
    str(tmp_path), seeds=(0,), per_class=2, pretrain_epochs=1, epochs=1, max_source=100
  )
  with open(tmp_path / "results.json") as f:
    assert json.load(f) == out
  (row,) = out["rows"]
  assert 0 <= row["scratch"] <= 1 and 0 <= row["finetuned"] <= 1
  np.testing.assert_allclose(out["gain"], row["finetuned"] - row["scratch"])
  last = finetune.format_table(out).splitlines()[-1]
  assert f"from scratch {row['scratch']:.4f}" in last and f"gain {out['gain']:+.4f}" in last
  assert set(common.flag_help(finetune.run)) >= {"seeds", "per_class", "freeze"}


def test_the_documented_fine_tune_config_runs_on_embedded_data(tmp_path):
  source = finetune_config.get_config()
  source.finetune.pretrained, source.finetune.freeze, source.finetune.shared_classes = (
    None,
    (),
    None,
  )
  source.task, source.model.stage_sizes = "classification", (1, 1)
  source.num_epochs, source.progress_bar, source.image_size = 1, False, None
  # A short source run standing in for runs/resnet (experiments/configs/resnet.py).
  train_and_evaluate(source, str(tmp_path / "resnet"), data=_few("cluttered_digits"))
  config = finetune_config.get_config()
  config.finetune.pretrained = str(tmp_path / "resnet")
  config.model.stage_sizes, config.num_epochs, config.progress_bar = (1, 1), 1, False
  state = train_and_evaluate(config, str(tmp_path / "finetune"))
  pretrained = load_pretrained(str(tmp_path / "resnet"))
  np.testing.assert_array_equal(
    state.params["conv1"]["kernel"], pretrained["params"]["conv1"]["kernel"]
  )
  np.testing.assert_array_equal(
    state.batch_stats["bn1"]["mean"], pretrained["batch_stats"]["bn1"]["mean"]
  )
  with open(tmp_path / "finetune" / "metrics.jsonl") as f:
    assert "test_accuracy" in json.loads(f.readline())


def _few(name):
  train, test = data.load(name, "train"), data.load(name, "test")
  return {
    "train": {k: v[:128] for k, v in train.items()},
    "test": {k: v[:128] for k, v in test.items()},
  }
