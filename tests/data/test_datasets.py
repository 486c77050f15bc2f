"""Tests for jaxnets.data.datasets: embedded data, TFDS through data_source, errors."""

import os
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxnets import data
from jaxnets.data import datasets


@pytest.mark.parametrize(
  "name,n_train,n_test",
  [
    ("synthetic_linear", 1000, 1000),
    ("polynomial", 100, 100),
    ("digits", 1437, 360),
    ("mnist1d", 4000, 1000),
    ("cluttered_digits", 6000, 2000),
  ],
)
def test_embedded_sizes_and_dtypes(name, n_train, n_test):
  train, test = data.load(name, "train"), data.load(name, "test")
  assert len(train["x"]) == len(train["y"]) == n_train
  assert len(test["x"]) == len(test["y"]) == n_test
  assert train["x"].dtype == np.float32
  assert np.all(np.isfinite(train["x"]))


def test_synthetic_linear_follows_its_generating_law():
  d = data.load("synthetic_linear")
  residual = d["y"][:, 0] - (d["x"] @ datasets.TRUE_W + datasets.TRUE_B)
  assert abs(residual.mean()) < 3e-3 and 0.005 < residual.std() < 0.015


def test_polynomial_features_are_scaled_powers():
  d = data.load("polynomial")
  x = d["x"][:, 1]
  np.testing.assert_allclose(d["x"][:, 0], 1.0)
  np.testing.assert_allclose(d["x"][:, 3], x**3 / 6, rtol=1e-5, atol=1e-6)


def test_digits_images_are_nhwc_in_unit_range_and_split_disjoint():
  train, test = data.load("digits", "train"), data.load("digits", "test")
  assert train["x"].shape[1:] == (8, 8, 1)
  assert train["x"].min() >= 0 and train["x"].max() <= 1
  assert set(np.unique(train["y"])) == set(range(10))
  rows = {r.tobytes() for r in train["x"].reshape(len(train["x"]), -1)}
  overlap = sum(r.tobytes() in rows for r in test["x"].reshape(len(test["x"]), -1))
  assert overlap < 5  # The raw data has a few duplicate images; the split itself is disjoint.


def test_mnist1d_matches_the_generator_defaults():
  from mnist1d.data import get_dataset_args, make_dataset

  raw = make_dataset(get_dataset_args())
  np.testing.assert_allclose(data.load("mnist1d", "test")["x"], raw["x_test"], rtol=1e-6)
  np.testing.assert_array_equal(data.load("mnist1d")["y"], raw["y"])


def test_generated_splits_are_cached_on_disk_whole(tmp_path, monkeypatch):
  monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
  made = []

  def make():
    made.append(1)
    return {"train": {"x": np.arange(6.0).reshape(3, 2), "y": np.arange(3)}, "test": {}}

  first = datasets.cached_splits("toy", make)
  again = datasets.cached_splits("toy", make)
  assert len(made) == 1 and os.listdir(tmp_path / "cache") == ["toy.npz"]  # No partial files.
  np.testing.assert_array_equal(again["train"]["x"], first["train"]["x"])
  (tmp_path / "cache" / "toy.npz").write_bytes(b"not a zip")  # A damaged file: made again.
  datasets.cached_splits("toy", make)
  assert len(made) == 2
  monkeypatch.setenv(datasets.CACHE_ENV, "/proc/no-such-dir")  # Unwritable: still returned.
  assert datasets.cached_splits("toy", make)["train"]["y"].tolist() == [0, 1, 2]


def test_cluttered_digits_are_balanced_32x32_canvases_in_unit_range():
  for split, n in (("train", 6000), ("test", 2000)):
    d = data.load("cluttered_digits", split)
    assert d["x"].shape == (n, 32, 32, 1) and d["x"].dtype == np.float32
    assert d["y"].shape == (n,) and d["y"].dtype == np.int32
    assert d["x"].min() >= 0 and d["x"].max() <= 1
    np.testing.assert_array_equal(np.bincount(d["y"], minlength=10), n // 10)
  assert data.num_classes("cluttered_digits") == 10


def test_cluttered_digits_are_generated_deterministically_from_their_split_only():
  for split, n, seed in (("train", 6000, 1), ("test", 2000, 2)):
    loaded = data.load("cluttered_digits", split)
    again = datasets.make_cluttered_digits(data.load("digits", split), n, seed=seed)
    np.testing.assert_array_equal(loaded["x"], again["x"])
    np.testing.assert_array_equal(loaded["y"], again["y"])
  # The generator reads no pixels but its source's: blank digits give pure (clipped) noise.
  digits = data.load("digits", "test")
  blank = {"x": np.zeros_like(digits["x"]), "y": digits["y"]}
  noise = datasets.make_cluttered_digits(blank, 100, seed=2)["x"]
  assert noise.max() < 6 * datasets.CLUTTER_NOISE  # Digit strokes reach 1.
  with pytest.raises(ValueError, match="multiple of 10"):
    datasets.make_cluttered_digits(digits, 15, seed=0)


def test_every_cluttered_canvas_holds_bright_strokes_on_a_dark_background():
  x = data.load("cluttered_digits", "test")["x"]
  ink = (x > 0.5).mean(axis=(1, 2, 3))  # Noise alone (σ 0.1) almost never passes 0.5.
  assert (x.max(axis=(1, 2, 3)) > 0.7).all() and 0.03 < ink.min() and ink.max() < 0.4


def test_load_returns_a_copy():
  a = data.load("digits")
  a["x"][:] = 0
  assert data.load("digits")["x"].max() > 0


def test_image_size_resizes_nhwc():
  d = data.load("digits", "test", image_size=28)
  assert d["x"].shape == (360, 28, 28, 1)
  with pytest.raises(ValueError, match="NHWC"):
    data.load("mnist1d", image_size=28)
  assert data.load("cluttered_digits", "train", image_size=28)["x"].shape == (6000, 28, 28, 1)


def test_bad_split_and_unknown_names():
  with pytest.raises(ValueError, match="splits"):
    data.load("digits", "validation")
  with pytest.raises(ValueError, match="digits"):
    data.load("no_such_dataset_xyz")


def test_num_classes():
  assert data.num_classes("digits") == 10 and data.num_classes("synthetic_linear") is None


def test_tfds_dataset_through_data_source_without_tensorflow():
  with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
    d = data.load("kmnist", "train")  # A TFDS name jaxnets has no builder of its own for.
  assert d["x"].shape == (12, 28, 28, 1) and d["x"].dtype == np.float32
  assert 0 <= d["x"].min() and d["x"].max() <= 1
  assert d["y"].dtype == np.int32
  assert "tensorflow" not in sys.modules


def test_missing_tfds_data_says_how_to_provide_it(tmp_path):
  with pytest.raises(FileNotFoundError, match="data_dir"):
    data.load("kmnist", "train", data_dir=str(tmp_path))
  # mnist/fashion_mnist/cifar10 use jaxnets' own builders: the error names the folder.
  with pytest.raises(FileNotFoundError, match="downloads/manual/mnist"):
    data.load("mnist", "train", data_dir=str(tmp_path))
