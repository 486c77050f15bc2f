"""Smoke test of experiments/conv_basics.py with a short kernel-learning run."""

import json
import os

import numpy as np
import pytest

from experiments import conv_basics as C

PNGS = ("edge_detection.png", "kernel_learning.png", "pooling.png")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("conv_basics"))
  return workdir, C.run(workdir, epochs=6, learning_rate=3e-2, seed=0)


def test_writes_pngs_and_json(results):
  workdir, out = results
  for name in PNGS:
    with open(os.path.join(workdir, name), "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert os.path.getsize(os.path.join(workdir, name)) > 5000, name
  assert sorted(os.path.basename(p) for p in out["plots"]) == sorted(PNGS)
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["params"]["lenet_total"] == 61_706
  table = C.format_table(out)
  assert "Output sizes" in table and "61,706" in table and "pool1" in table


def test_edges_and_kernel_learning(results):
  edges, learned = results[1]["edges"], results[1]["learned"]
  assert edges["white_to_black_columns"] == [1] and edges["black_to_white_columns"] == [5]
  assert edges["transposed_max_abs"] == 0.0 and edges["max_abs_diff_vs_lax"] == 0.0
  losses = np.array(learned["losses"])
  assert len(losses) == 6 and np.all(np.diff(losses) < 0)  # GD on a convex quadratic.
  start = np.abs(np.array(learned["initial_kernel"]) - C.EDGE_KERNEL[0]).max()
  assert learned["kernel_error"] < 0.5 * start
  assert learned["learned_kernel"][0] > 0 > learned["learned_kernel"][1]


def test_sizes_counts_channels_pooling(results):
  out = results[1]
  for row in out["sizes"]:
    assert row["formula"] == row["conv2d"] == row["flax"], row
  assert [r["formula"] for r in out["sizes"]] == [(8, 8), (8, 8), (4, 4), (2, 2)]
  assert out["params"]["conv_2_to_3_3x3"] == out["params"]["conv_formula"] == 57
  pool = out["pooling"]
  assert pool["multi_in"] == [[56.0, 72.0], [104.0, 120.0]]
  assert pool["multi_in_out_shape"] == [2, 2, 3]
  assert pool["conv1x1_vs_matmul_max_abs_diff"] < 1e-5
  assert pool["max_pool_2x2_stride1"] == [[4.0, 5.0], [7.0, 8.0]]
  assert pool["avg_pool_2x2_stride1"] == [[2.0, 3.0], [5.0, 6.0]]
  assert pool["max_pool_3x3_default_stride"] == [[10.0]]
  assert pool["max_pool_3x3_pad1_stride2"] == [[5.0, 7.0], [13.0, 15.0]]
  assert pool["pool_max_abs_diff_vs_reduce_window"] == 0.0


def test_bad_settings():
  with pytest.raises(ValueError, match="positive"):
    C.run("/nonexistent-unused", epochs=0)
