"""Smoke test of experiments/calculus.py with tiny settings."""

import json
import os

import numpy as np

from experiments import calculus


def test_calculus_experiment_runs_and_reports_course_facts(tmp_path):
  out = calculus.run(str(tmp_path), num_steps=8, grid_size=20)
  names = {os.path.basename(p) for p in out["plots"]}
  assert names == {"gd_quadratic.png", "curvature_axes.png", "taylor.png", "stationary_points.png"}
  for path in out["plots"]:
    assert os.path.getsize(path) > 1000
  # Converges below 2/λ_max, diverges just above; the optimal step contracts by (κ−1)/(κ+1).
  assert [r["converged"] for r in out["gd"]] == [True, True, True, False]
  optimal = out["gd"][1]
  np.testing.assert_allclose(optimal["measured_factor"], 9 / 11, rtol=1e-6)
  np.testing.assert_allclose(optimal["predicted_factor"], 9 / 11, rtol=1e-6)
  assert out["gd"][3]["measured_factor"] > 1.0
  assert abs(out["taylor_slopes"][1] - 2) < 0.15 and abs(out["taylor_slopes"][2] - 3) < 0.15
  found = {(r["function"].split(" (")[0], r["point"]): r["type"] for r in out["stationary"]}
  assert found[("x³ − 3xy + y³", (1.0, 1.0))] == "minimum"
  assert found[("x³ − 3xy + y³", (0.0, 0.0))] == "saddle"
  assert found[("x³ − 3x + y³ − 3y", (-1.0, -1.0))] == "maximum"
  assert found[("x³ − 3xy²", (0.0, 0.0))] == "degenerate"
  assert len(found) == 7
  with open(tmp_path / "results.json") as f:
    written = json.load(f)
  assert [r["converged"] for r in written["gd"]] == [True, True, True, False]
  assert written["taylor_slopes"]["1"] == out["taylor_slopes"][1]
  assert len(written["stationary"]) == 7
