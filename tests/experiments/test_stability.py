"""Smoke test of experiments/stability.py: tiny settings, real qualitative effects."""

import json
import os

import numpy as np
import pytest

from experiments import stability


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("stability"))
  return workdir, stability.run(workdir, depth=4, width=64, train_width=64, epochs=2, num_inits=2)


def test_writes_plots_and_json(results):
  workdir, out = results
  names = {"gradient_norms.png", "activation_std.png", "remedies.png"}
  assert {os.path.basename(p) for p in out["plots"]} == names
  for name in names:
    assert os.path.getsize(os.path.join(workdir, name)) > 1000
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f)["gradient_norms"]["depth"] == 4
  assert "verdict" in stability.format_table(out)


def test_kaiming_relu_balanced_where_small_sigmoid_vanishes(results):
  _, out = results
  g = out["gradient_norms"]
  relu = g["relu kaiming"]
  assert len(relu["grad_norms"]) == 5  # 4 hidden layers + head.
  assert relu["spread"] < 10 and relu["verdict"] == "balanced"
  assert len(relu["per_init_spread"]) == 2
  sig = g["sigmoid N(0,0.01²)"]
  assert sig["verdict"] == "vanishing" and sig["first_layer"] < 1e-4 * sig["head"]
  assert g["relu N(0,0.01²)"]["head"] < 1e-3 * relu["head"]  # Tiny at every layer.
  assert np.all(np.isfinite(g["tanh xavier"]["pre_activation_std"]))


def test_batchnorm_trains_the_deep_sigmoid_net(results):
  _, out = results
  r = out["remedies"]
  assert r["+ batchnorm"]["final_train_loss"] < r["plain"]["final_train_loss"]


def test_verdict_labels():
  assert stability.verdict(np.array([1.0, 2.0, 3.0]))[1] == "balanced"
  assert stability.verdict(np.array([1e-9, 1e-3, 1.0]))[1] == "vanishing"
  assert stability.verdict(np.array([1e3, 1.0, 0.1]))[1] == "exploding"
  assert stability.verdict(np.array([1e-12, 2e-12]))[1] == "vanishing (all layers)"
  assert stability.verdict(np.array([1.0, 100.0]))[1] == "uneven"
  assert stability.verdict(np.array([0.0, 1.0]))[0] == float("inf")


def test_bad_settings_raise(tmp_path):
  with pytest.raises(ValueError):
    stability.run(str(tmp_path), depth=0)
  with pytest.raises(ValueError):
    stability.run(str(tmp_path), learning_rate=-1.0)
  with pytest.raises(ValueError):
    stability.run(str(tmp_path), num_inits=0)
