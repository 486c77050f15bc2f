"""Smoke test of experiments/generalization.py: tiny settings, real qualitative effects."""

import json
import math
import os

import numpy as np
import pytest

from experiments import generalization

# Tiny settings: seconds, not minutes, and still the qualitative effects.
TINY = {
  "poly_epochs": 40,
  "poly_sizes": (20, 100),
  "wd_epochs": 20,
  "wd_lambdas": (0.0, 3.0),
  "dropout_epochs": 5,
  "dropout_width": 32,
  "dropout_dataset": "digits",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("generalization"))
  return workdir, generalization.run(workdir, **TINY)


def test_writes_plots_and_json(results):
  workdir, out = results
  names = {
    "poly_curves.png",
    "poly_complexity.png",
    "poly_train_size.png",
    "weight_decay.png",
    "dropout.png",
  }
  assert {os.path.basename(p) for p in out["plots"]} == names
  for name in names:
    assert os.path.getsize(os.path.join(workdir, name)) > 1000
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f)["weight_decay"]["lambdas"] == [0.0, 3.0]
  assert "Weight decay" in generalization.format_table(out)


def test_polynomial_effects(results):
  _, out = results
  p = out["polynomial"]
  under, right = p["underfit (degree 1)"], p["right (degree 3)"]
  assert under["final_test"] > 2 * right["final_test"]  # Too low a degree underfits.
  exact = out["complexity"]["exact"]
  # Nested least-squares models: more features never raise the training loss ...
  assert all(b <= a * (1 + 1e-6) for a, b in zip(exact["train"], exact["train"][1:], strict=False))
  # ... while the test loss is U-shaped: best near degree 3, far worse at degree 19.
  assert exact["test"][3] < exact["test"][1] and exact["test"][3] < 0.01 * exact["test"][19]
  for values in out["train_size"]["models"].values():
    assert all(math.isfinite(v) and v >= 0 for v in values["train"] + values["test"])


def test_weight_decay_lowers_test_loss_and_matches_the_scratch_l2_penalty(results):
  _, out = results
  wd = out["weight_decay"]
  assert wd["final_test"][1] < 0.5 * wd["final_test"][0]
  assert wd["w_norm"][1] < wd["w_norm"][0]
  assert wd["scratch_vs_engine_max_abs_param_diff"] < 1e-4
  np.testing.assert_allclose(wd["final_test"], wd["final_test_scratch"], rtol=1e-4)


def test_dropout_numbers_are_sane(results):
  _, out = results
  rows = {k: v for k, v in out["dropout"].items() if isinstance(v, dict)}
  assert len(rows) == 3
  for r in rows.values():
    assert 0.0 <= r["test_accuracy"] <= 1.0 and math.isfinite(r["test_loss"])
    assert r["train_accuracy"] > 0.3  # Learns something in five epochs (chance: 0.1).


@pytest.mark.parametrize(
  "kwargs",
  [
    dict(poly_sizes=(30,)),
    dict(wd_lambdas=(-1.0,)),
    dict(dropout_rate=1.0),
    dict(dropout_dataset="polynomial"),
  ],
)
def test_bad_settings_raise(tmp_path, kwargs):
  with pytest.raises(ValueError):
    generalization.run(str(tmp_path), **kwargs)
