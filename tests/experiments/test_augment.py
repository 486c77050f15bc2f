"""Smoke test of experiments/augment.py, tiny: one seed, 2 epochs on 40 images."""

import json
import os

import pytest

from experiments import augment as A


def test_writes_the_grid_the_gaps_and_results(tmp_path):
  out = A.run(
    str(tmp_path), n_train=40, epochs=2, batch_size=20, seeds=(0,), n_test=40, grid_rows=2
  )
  for name in ("augmented_examples.png", "gap.png"):
    with open(tmp_path / name, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
  assert os.path.getsize(tmp_path / "augmented_examples.png") > 10_000
  saved = json.loads((tmp_path / "results.json").read_text())
  for name in ("none", "crop"):
    run = saved["runs"][name]
    assert len(run["gap"]) == 1 and 0 <= run["train_accuracy"][0] <= 1
    assert run["gap"][0] == pytest.approx(run["train_accuracy"][0] - run["test_accuracy"][0])
  assert saved["gap_reduction"] == pytest.approx(
    saved["runs"]["none"]["mean_gap"] - saved["runs"]["crop"]["mean_gap"]
  )
  # The augmented run really differs from the plain one (same seed, same data order).
  assert saved["runs"]["none"]["test_loss"] != saved["runs"]["crop"]["test_loss"]
  last = A.format_table(out).splitlines()[-1]
  assert last.startswith("train/test gap: no augmentation") and "reduction" in last


def test_bad_policy_raises_listing_the_valid_ones(tmp_path):
  with pytest.raises(ValueError, match=r"policy must be one of \['flip', 'crop'"):
    A.run(str(tmp_path), policy="none")
