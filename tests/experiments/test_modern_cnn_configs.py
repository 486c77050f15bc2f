"""The chapter-10 configs train through the one engine: short runs on embedded data learn,
nothing recompiles after the first epoch, and a BatchNorm model resumes exactly."""

import importlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets import models
from jaxnets.train import setup, train_and_evaluate, validate_config

# Per family: the config module and what shrinks it to a few seconds of training (digits at
# the smallest resolution the architecture takes, thin layers).
SHORT_RUNS = {
  "alexnet": {"image_size": 80, "model.width_multiplier": 1 / 16},
  "vgg": {"image_size": 32, "model.width_multiplier": 1 / 16},
  "nin": {"image_size": 80, "model.width_multiplier": 1 / 8},
  "googlenet": {"image_size": 32, "model.width_multiplier": 1 / 8},
  "resnet": {
    "dataset": "digits",
    "image_size": 16,
    "model.width_multiplier": 1 / 8,
    "model.stage_sizes": (1, 1, 1, 1),
  },
}


def _short_config(family: str, epochs: int = 5):
  config = importlib.import_module(f"experiments.configs.{family}").get_config()
  for field, value in SHORT_RUNS[family].items():
    section, _, name = field.rpartition(".")
    setattr(config[section] if section else config, name, value)
  config.num_epochs, config.checkpoint_every_epochs, config.progress_bar = epochs, 0, False
  config.lr_schedule = "constant"
  return config


def _records(workdir):
  with open(workdir / "metrics.jsonl") as f:
    return [json.loads(line) for line in f]


@pytest.mark.parametrize("family", sorted(SHORT_RUNS))
def test_short_run_learns_embedded_digits(tmp_path, family):
  config = _short_config(family)
  train_and_evaluate(config, str(tmp_path))
  records = _records(tmp_path)
  assert records[-1]["train_loss"] < 0.9 * records[0]["train_loss"], records
  assert records[-1]["test_accuracy"] > 0.3, records[-1]  # Chance: 0.1.


@pytest.mark.parametrize("family", sorted(SHORT_RUNS))
def test_course_variant_validates_and_builds(family):
  module = importlib.import_module(f"experiments.configs.{family}")
  config = module.get_config("course")
  validate_config(config)
  assert config.dataset == "fashion_mnist" and config.optimizer.name == "sgd"
  model = models.get_model(
    config.model.name, **{k: v for k, v in config.model.items() if k != "name"}
  )
  x = jnp.zeros((1, config.image_size, config.image_size, 1))
  out = jax.eval_shape(
    lambda v: model.apply(v, x), jax.eval_shape(model.init, jax.random.key(0), x)
  )
  assert out.shape == (1, 10)
  with pytest.raises(ValueError, match="valid variants"):
    module.get_config("gpu")


def _resnet_trainer():
  config = _short_config("resnet")
  validate_config(config)
  parts = setup.parts(config)
  steps = parts.train.steps_per_epoch
  state = setup.initial_state(config, parts.model, parts.task, parts.train.example["x"], steps)
  return setup.trainer(config, parts, state), state


def test_batchnorm_model_compiles_nothing_after_the_first_epoch():
  trainer, state = _resnet_trainer()
  initial_mean = np.asarray(state.batch_stats["bn1"]["mean"])  # fit() donates the state.
  compiles, seen = [], []

  def listener(event, duration, **kwargs):
    del duration, kwargs
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(event)

  def on_epoch(epoch, state, record, per_step):
    del state, record, per_step
    seen.append((epoch, len(compiles)))

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    final = trainer.fit(state, range(3), 0, on_epoch)
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert [e for e, _ in seen] == [1, 2, 3]
  assert seen[0][1] == seen[-1][1], seen  # Compiles only during epoch 1 (its evaluation).
  assert not np.allclose(final.batch_stats["bn1"]["mean"], initial_mean)


def test_batchnorm_checkpoint_resumes_exactly(tmp_path):
  config = _short_config("resnet", epochs=2)
  config.checkpoint_every_epochs = 1
  straight = train_and_evaluate(config, str(tmp_path / "straight"))
  config.num_epochs = 1
  train_and_evaluate(config, str(tmp_path / "resumed"))
  config.num_epochs = 2
  resumed = train_and_evaluate(config, str(tmp_path / "resumed"))
  for a, b in zip(
    jax.tree_util.tree_leaves((straight.params, straight.batch_stats, straight.opt_state)),
    jax.tree_util.tree_leaves((resumed.params, resumed.batch_stats, resumed.opt_state)),
    strict=True,
  ):
    np.testing.assert_array_equal(a, b)
  assert (
    _records(tmp_path / "straight")[-1]["test_loss"]
    == _records(tmp_path / "resumed")[-1]["test_loss"]
  )
