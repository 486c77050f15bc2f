"""Sweeps: member i of one vmapped program equals the launcher's run of member i's config."""

import json

import jax
import numpy as np
import pytest

from jaxnets.train import (
  best_member,
  default_config,
  grid,
  member_config,
  member_state,
  train_and_evaluate,
  train_sweep,
)

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


@pytest.fixture
def config():
  """A BatchNorm + dropout MLP on digits: every kind of state a member carries."""
  c = default_config()
  c.model = {
    "name": "deep_mlp",
    "depth": 2,
    "width": 32,
    "num_classes": 10,
    "batch_norm": True,
    "dropout_rate": 0.2,
  }
  c.optimizer = {"name": "momentum", "learning_rate": 0.05, "momentum": 0.9}
  c.batch_size, c.num_epochs, c.progress_bar = 64, 2, False
  c.weight_decay_params = "kernels"
  return c


MEMBERS = [
  {"seed": 0, "optimizer.learning_rate": 0.05},
  {"seed": 1, "optimizer.learning_rate": 0.1},
  {"seed": 0, "optimizer.learning_rate": 0.1, "weight_decay": 1e-2},
  {"seed": 2, "optimizer.momentum": 0.5},
]


@pytest.mark.parametrize("scan", [True, False])
def test_sweep_member_equals_the_launcher_run_of_its_config(tmp_path, config, scan):
  config.scan_epochs = scan
  result = train_sweep(config, MEMBERS)
  assert result.step_loss.shape == (4, 2 * (1437 // 64))
  for i, member in enumerate(MEMBERS):
    workdir = tmp_path / f"member{i}"
    alone = train_and_evaluate(member_config(config, member), str(workdir))
    mine = member_state(result.state, i)
    for part in ("params", "batch_stats"):
      for a, b in zip(
        jax.tree.leaves(getattr(mine, part)), jax.tree.leaves(getattr(alone, part)), strict=True
      ):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"member {i} {part}")
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    for key in METRICS:
      np.testing.assert_allclose(
        result.history[key][i],
        [r[key] for r in rows],
        rtol=2e-5,
        atol=1e-6,
        err_msg=f"member {i} {key}",
      )
  # The members really differ (seed, learning rate, decay and momentum all matter).
  assert len({round(float(v), 6) for v in result.history["train_loss"][:, -1]}) == 4


def test_members_with_different_optimizers_equal_their_launcher_runs(tmp_path, config):
  # No dropout or BatchNorm: the switch's fused arithmetic may round differently in the last
  # bit, which those amplify over the steps.
  config.model = {"name": "mlp", "hidden": (32, 32), "num_classes": 10}
  config.optimizer = {"name": "sgd", "learning_rate": 0.05, "convention": "course"}
  config.optimizer_impl = "scratch"
  members = [
    {"seed": 0, "optimizer.name": "adam", "optimizer.learning_rate": 0.01},
    {"seed": 1, "optimizer.name": "rmsprop", "optimizer.eps": 1e-4, "weight_decay": 1e-2},
    {"seed": 0},  # The config's own: plain SGD.
    {"seed": 2, "optimizer.name": "momentum", "optimizer.momentum": 0.5},
    {"seed": 1, "optimizer.name": "adam", "optimizer.learning_rate": 0.003, "optimizer.eps": 1e-3},
  ]
  result = train_sweep(config, members)
  for i, member in enumerate(members):
    workdir = tmp_path / f"member{i}"
    alone = train_and_evaluate(member_config(config, member), str(workdir))
    for a, b in zip(
      jax.tree.leaves(member_state(result.state, i).params),
      jax.tree.leaves(alone.params),
      strict=True,
    ):
      np.testing.assert_allclose(a, b, rtol=2e-5, atol=5e-6, err_msg=f"member {i}")
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    np.testing.assert_allclose(
      result.history["train_loss"][i], [r["train_loss"] for r in rows], rtol=2e-5
    )
  with pytest.raises(ValueError, match=r"Sweep member 1 .*'momentum'"):
    train_sweep(config, [{"optimizer.name": "adam"}, {"optimizer.momentum": 0.5}])


def test_a_diverging_member_does_not_stop_the_others(config):
  config.model = {"name": "mlp", "hidden": (16,), "num_classes": 10}
  config.weight_decay_params = "all"
  members = grid(**{"optimizer.learning_rate": [0.05, 1e30]})
  result = train_sweep(config, members)
  final = result.history["train_loss"][:, -1]
  assert np.isfinite(final[0]) and not np.isfinite(final[1])
  alone = train_sweep(config, members[:1])
  for key in METRICS:
    np.testing.assert_allclose(result.history[key][0], alone.history[key][0], rtol=1e-5)


@pytest.mark.parametrize(
  "member,match",
  [
    ({"model.width": 16}, "A sweep member may set 'seed', 'weight_decay', 'optimizer.name'"),
    ({"batch_size": 32}, "A sweep member may set"),
    ({"optimizer.learning_rate": -1.0}, "learning_rate must be a positive number"),
    ({"optimizer.lr": 0.1}, "Bad hyperparameters|unexpected keyword|lr"),
    ({"seed": -2}, "seed must be an integer >= 0"),
  ],
)
def test_bad_members_raise_clear_errors(config, member, match):
  with pytest.raises(ValueError, match=match):
    train_sweep(config, [member])


def test_grid_member_config_and_best_member():
  members = grid(**{"optimizer.learning_rate": [0.1, 1.0]}, seed=[0, 1])
  assert members == [
    {"optimizer.learning_rate": 0.1, "seed": 0},
    {"optimizer.learning_rate": 0.1, "seed": 1},
    {"optimizer.learning_rate": 1.0, "seed": 0},
    {"optimizer.learning_rate": 1.0, "seed": 1},
  ]
  base = default_config()
  c = member_config(base, members[3])
  assert c.optimizer.learning_rate == 1.0 and c.seed == 1 and base.seed == 0
  lrs = [m["optimizer.learning_rate"] for m in members]
  best, means = best_member([0.2, 0.4, np.nan, 0.9], lrs)
  assert best == pytest.approx(0.1) and np.isnan(means[1])
  assert best_member([3.0, 1.0, 0.5, 0.7], lrs, mode="min")[0] == pytest.approx(1.0)


def test_sweeps_scan_convolution_free_models_as_single_runs_do():
  """The member axis of stacked parameters is not mistaken for a convolution's."""
  from jaxnets.train.loop import default_scan, has_convolutions

  dense = {"kernel": np.zeros((4, 8, 3))}  # 4 members' Dense kernels.
  conv = {"kernel": np.zeros((4, 5, 5, 1, 6))}  # 4 members' convolution kernels.
  assert not has_convolutions(dense, stacked=True) and has_convolutions(dense)
  assert has_convolutions(conv, stacked=True)
  assert default_scan(dense, stacked=True) == default_scan({"kernel": np.zeros((8, 3))})
