"""Augmentation in the engine: keyed by the step, resumable, in scans, steps and sweeps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import losses, models
from jaxnets.data import augment
from jaxnets.train import (
  TrainState,
  default_config,
  member_config,
  member_state,
  train_and_evaluate,
  train_step,
  train_sweep,
  validate_config,
)
from jaxnets.train.build import augmentation
from jaxnets.train.steps import AUGMENT_TAG


@pytest.fixture
def aug_config(tiny_config):
  tiny_config.augment.policy, tiny_config.augment.crop_padding = "flip_crop", 1
  tiny_config.num_epochs = 2
  return tiny_config


def test_the_default_config_does_not_augment():
  assert augmentation(default_config()) is None  # The step is the unaugmented one.


def test_train_step_augments_with_the_key_of_its_step():
  model = models.MLP(hidden=(8,), num_classes=3)
  state = TrainState.create(
    model=model,
    tx=optax.sgd(0.1),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=jnp.zeros((1, 6, 6, 1)),
  )
  state = state.replace(step=jnp.asarray(7, jnp.int32))
  batch = {"x": jax.random.uniform(jax.random.key(1), (4, 6, 6, 1)), "y": jnp.arange(4) % 3}
  policy = augment.get_policy("flip_crop", crop_padding=2)
  aug = lambda key, x: augment.apply_batch(policy, key, x)
  ours, metrics = jax.jit(train_step, static_argnums=2)(state, batch, aug)
  key = jax.random.fold_in(jax.random.fold_in(state.rng, 7), AUGMENT_TAG)
  expected, expected_metrics = jax.jit(train_step)(state, {**batch, "x": aug(key, batch["x"])})
  jax.tree_util.tree_map(np.testing.assert_array_equal, ours.params, expected.params)
  assert float(metrics["loss"]) == float(expected_metrics["loss"])
  plain = jax.jit(train_step)(state, batch)[1]
  assert float(plain["loss"]) != float(metrics["loss"])


def test_a_resumed_run_draws_the_same_augmentations(tmp_path, aug_config):
  aug_config.scan_epochs = True  # The per-step path: the sweep test below.
  full = train_and_evaluate(aug_config, str(tmp_path / "full"))
  aug_config.num_epochs = 1
  train_and_evaluate(aug_config, str(tmp_path / "resumed"))
  aug_config.num_epochs = 2
  resumed = train_and_evaluate(aug_config, str(tmp_path / "resumed"))
  jax.tree_util.tree_map(np.testing.assert_array_equal, resumed.params, full.params)
  # And the augmentation is really applied.
  aug_config.augment.policy = "none"
  plain = train_and_evaluate(aug_config, str(tmp_path / "plain"))
  kernel = lambda s: np.asarray(s.params["Dense_0"]["kernel"])
  assert not np.allclose(kernel(plain), kernel(full), atol=1e-4)


def test_a_sweep_member_augments_as_its_launcher_run_per_step(tmp_path, aug_config):
  aug_config.num_epochs, aug_config.scan_epochs = 1, False
  members = [{"seed": 0}, {"seed": 1, "optimizer.learning_rate": 0.05}]
  result = train_sweep(aug_config, members)
  alone = train_and_evaluate(member_config(aug_config, members[1]), str(tmp_path))
  for a, b in zip(
    jax.tree.leaves(member_state(result.state, 1).params),
    jax.tree.leaves(alone.params),
    strict=True,
  ):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(
  "field, value, match",
  [
    ("policy", "flips", r"config.augment.policy must be one of \['none', 'flip', 'crop'"),
    ("brightness", 1.5, r"config.augment.brightness must be a number in \[0, 1.0\]"),
    ("ratio", (2.0, 1.0), r"config.augment.ratio must be a pair \(low, high\)"),
    ("crop_pading", 2, r"config.augment.crop_pading is not a field of config.augment"),
  ],
)
def test_bad_augment_configs_raise_naming_the_field(field, value, match):
  config = default_config()
  config.augment[field] = value
  with pytest.raises(ValueError, match=match):
    validate_config(config)


def test_colour_policies_refuse_standardized_inputs():
  config = default_config()
  config.augment.policy, config.standardize = "color", True
  with pytest.raises(ValueError, match="config.standardize=True moves the inputs out of"):
    validate_config(config)
