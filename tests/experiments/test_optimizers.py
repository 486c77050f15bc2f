"""Smoke test of experiments/optimizers.py: tiny settings, real qualitative effects."""

import json
import math
import os

import numpy as np
import pytest

from experiments import optimizers


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("optimizers"))
  out = optimizers.run(
    workdir,
    optimizers=("sgd", "adam"),
    steps_2d=40,
    epochs=3,
    seeds=(0, 1),
    target_loss=0.6,
    lr_grids={"sgd": (0.1, 0.3), "adam": (1e-3, 3e-3)},
  )
  return workdir, out


def test_writes_plots_json_and_table(results):
  workdir, out = results
  names = {"trajectories.png", "loss_vs_step.png", "loss_vs_time.png", "lr_sensitivity.png"}
  assert {os.path.basename(p) for p in out["plots"]} == names
  for name in names:
    assert os.path.getsize(os.path.join(workdir, name)) > 5000
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert set(saved["task"]) == {"sgd", "adam"}
  table = optimizers.format_table(out)
  assert "rosenbrock" in table and "steps to target" in table and "adam" in table


def test_2d_trajectories_descend(results):
  _, out = results
  for name, (f, x0, _, _) in optimizers.FUNCTIONS.items():
    start = float(f(np.asarray(x0, np.float32)))
    for opt, r in out["two_d"][name].items():
      path = np.asarray(r["path"])
      assert path.shape == (41, 2) and np.all(np.isfinite(path))
      assert r["final_value"] < start and r["final_gap"] >= -1e-6, (name, opt)
      assert r["learning_rate"] in optimizers.LR_GRID_2D
  # Adam's normalized steps leave the saddle's plateau at once; SGD at the same 40 steps
  # has barely moved off x2 = 1e-3 unless its rate is large.
  saddle = out["two_d"]["saddle"]
  assert saddle["adam"]["final_value"] < -0.2


def test_real_task_numbers_are_sane(results):
  _, out = results
  for r in out["task"].values():
    assert r["num_models"] == 4 and r["learning_rate"] in r["rates"]
    assert 0 < r["train_loss"] < 2.3 and math.isfinite(r["train_loss_std"])
    assert 0.5 < r["test_accuracy"] <= 1 and 0.5 < r["train_accuracy"] <= 1
    assert len(r["curve"]) == 3 * r["steps_per_epoch"]
    assert np.mean(r["curve"][-r["steps_per_epoch"] :]) < np.mean(
      r["curve"][: r["steps_per_epoch"]]
    )
    assert len(r["epoch_times"]) == 3 and np.all(np.diff(r["epoch_times"]) > 0)
    assert r["ms_per_step"] > 0
    for hit in r["steps_to_target"]:
      assert hit is None or 0 < hit <= 3 * r["steps_per_epoch"]
  assert any(r["reached_target"] for r in out["task"].values())


def test_bad_settings_raise(tmp_path):
  with pytest.raises(ValueError, match="Unknown optimizers"):
    optimizers.run(str(tmp_path), optimizers=("lbfgs",))
  with pytest.raises(ValueError, match="classification"):
    optimizers.run(str(tmp_path), dataset="polynomial")


def test_drawn_trajectories_are_the_best_or_straighter(results):
  _, out = results
  for name, rows in out["two_d"].items():
    x0, x1, y0, y1 = optimizers.FUNCTIONS[name][3]
    for r in rows.values():
      best, shown = np.asarray(r["path"]), np.asarray(r["shown_path"])
      if r["shown_learning_rate"] != r["learning_rate"]:
        assert optimizers.zigzag(shown) < optimizers.zigzag(best)
        inside = np.all((best[:, 0] >= x0) & (best[:, 0] <= x1))
        inside &= np.all((best[:, 1] >= y0) & (best[:, 1] <= y1))
        assert optimizers.zigzag(best) > optimizers.ZIGZAG_LIMIT or not inside


def test_shown_rate_skips_a_zigzagging_best_rate():
  line = np.linspace([0.0, 0.0], [1.0, 0.0], 9)
  zig = line + np.array([0.0, 2.0]) * (np.arange(9) % 2)[:, None]
  slow = np.linspace([0.0, 0.0], [0.1, 0.0], 9)
  paths, box = np.stack([zig, line, slow]), (-1, 2, -1, 3)
  # The straight rate made enough progress; the slow one did not.
  assert optimizers.shown_rate(paths, np.array([-4.0, -2.0, -0.5]), 0.0, box) == 1
  assert optimizers.shown_rate(paths[1:], np.array([-2.0, -0.5]), 0.0, box) == 0
