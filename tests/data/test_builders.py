"""The TensorFlow-free TFDS builders, built from tiny files written here in the original formats.

Nothing touches the network: files come from a manual dir, downloads are switched off
(``JAXNETS_OFFLINE=1`` / ``download=False``) or replaced by a failing stub.
"""

import gzip
import io
import os
import pickle
import struct
import sys
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxnets import data
from jaxnets.data import builders
from jaxnets.data.builders import formats

IDX_NAMES = {
  "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
  "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(array: np.ndarray) -> bytes:
  """The IDX encoding, written independently of the reader: magic 0 0 0x08 rank, dims, data."""
  header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
  return header + np.asarray(array, np.uint8).tobytes()


def write_idx_files(directory, sizes=(12, 5), seed=0, compress=True):
  """Random MNIST-format files; returns the arrays per split."""
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(seed)
  arrays = {}
  for split, n in zip(("train", "test"), sizes, strict=True):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, array in zip(IDX_NAMES[split], (images, labels), strict=True):
      raw = idx_bytes(array)
      if compress:
        with gzip.open(os.path.join(directory, name), "wb") as f:
          f.write(raw)
      else:
        with open(os.path.join(directory, name.removesuffix(".gz")), "wb") as f:
          f.write(raw)
    arrays[split] = (images, labels)
  return arrays


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
  """A CIFAR-10 python batch: rows are the red, green, blue planes of each image."""
  rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
  batch = {
    b"batch_label": b"testing batch",
    b"labels": [int(v) for v in labels],
    b"data": rows,
    b"filenames": [b"x.png"] * len(images),
  }
  return pickle.dumps(batch, protocol=2)


def write_cifar_archive(directory, per_batch=3, seed=0, extracted=False):
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(seed)
  files, arrays = {}, {"train": [], "test": []}
  for name in formats.CIFAR_TRAIN_BATCHES + formats.CIFAR_TEST_BATCHES:
    images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, per_batch)
    files[name] = cifar_batch_bytes(images, labels)
    arrays["test" if name == "test_batch" else "train"].append((images, labels))
  if extracted:
    root = os.path.join(directory, formats.CIFAR_DIR)
    os.makedirs(root)
    for name, raw in files.items():
      with open(os.path.join(root, name), "wb") as f:
        f.write(raw)
  else:
    with tarfile.open(os.path.join(directory, "cifar-10-python.tar.gz"), "w:gz") as tar:
      for name, raw in files.items():
        info = tarfile.TarInfo(f"{formats.CIFAR_DIR}/{name}")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
  return {
    split: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    for split, parts in arrays.items()
  }


def records(source):
  rows = [source[i] for i in range(len(source))]
  return np.stack([r["image"] for r in rows]), np.array([r["label"] for r in rows])


@pytest.fixture(autouse=True)
def offline(monkeypatch):
  monkeypatch.setenv(builders.OFFLINE_ENV, "1")


def test_parse_idx_reads_shapes_and_rejects_bad_files():
  array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
  np.testing.assert_array_equal(formats.parse_idx(idx_bytes(array)), array)
  np.testing.assert_array_equal(formats.parse_idx(gzip.compress(idx_bytes(array))), array)
  with pytest.raises(ValueError, match="truncated or corrupt"):
    formats.parse_idx(idx_bytes(array)[:-1], source="x.gz")
  with pytest.raises(ValueError, match="not an IDX file"):
    formats.parse_idx(b"\x01\x02\x08\x01")
  with pytest.raises(ValueError, match="unknown IDX type code"):
    formats.parse_idx(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))


def test_parse_cifar_batch_layout_and_safety():
  rng = np.random.default_rng(1)
  images = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
  got_images, got_labels = formats.parse_cifar_batch(cifar_batch_bytes(images, [3, 7]))
  np.testing.assert_array_equal(got_images, images)
  assert got_labels.tolist() == [3, 7]
  # A row is the red plane (1024 values), then green, then blue.
  row = np.repeat(np.array([1, 2, 3], np.uint8), 1024)[None]
  raw = pickle.dumps({b"data": row, b"labels": [5]}, protocol=2)
  planes, _ = formats.parse_cifar_batch(raw)
  assert planes.shape == (1, 32, 32, 3) and planes[0, 7, 9].tolist() == [1, 2, 3]
  import collections  # A pickle of any other class is refused, not executed.

  with pytest.raises(ValueError, match="only numpy arrays"):
    formats.parse_cifar_batch(pickle.dumps(collections.OrderedDict(a=1), protocol=2))
  with pytest.raises(ValueError, match="b'data' and b'labels'"):
    formats.parse_cifar_batch(pickle.dumps({b"data": images.reshape(2, -1)}, protocol=2))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_builders_prepare_from_manual_dir(tmp_path, name):
  manual = tmp_path / "files"
  arrays = write_idx_files(manual, seed=len(name))
  builder = builders.prepare(name, data_dir=tmp_path / "tfds", manual_dir=manual)
  assert builder.is_prepared()
  assert builder.info.splits["train"].num_examples == 12
  assert builder.info.features["label"].num_classes == 10
  for split, (images, labels) in arrays.items():
    source = tfds.data_source(builders.BUILDERS[name].name, split=split, data_dir=tmp_path / "tfds")
    got_images, got_labels = records(source)
    np.testing.assert_array_equal(got_images, images[..., None])  # The original order.
    np.testing.assert_array_equal(got_labels, labels)
  # The tfds array_record files were written, and TensorFlow was never imported.
  files = os.listdir(builder.data_dir)
  assert any(".array_record-" in f for f in files), files
  assert "tensorflow" not in sys.modules


def test_load_reads_jaxnets_built_fashion_mnist_from_default_manual_dir(tmp_path):
  data_dir = tmp_path / "tfds"
  manual = builders.default_manual_dir("fashion_mnist", data_dir)
  assert manual == os.path.join(str(data_dir), "downloads", "manual", "fashion_mnist")
  arrays = write_idx_files(manual, compress=False)  # Unpacked files are accepted too.
  for split, (images, labels) in arrays.items():
    got = data.load("fashion_mnist", split, data_dir=str(data_dir))
    assert got["x"].dtype == np.float32 and got["y"].dtype == np.int32
    np.testing.assert_allclose(got["x"], images[..., None] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(got["y"], labels)
  assert data.num_classes("fashion_mnist") == 10
  assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("extracted", [False, True])
def test_cifar10_builder(tmp_path, extracted):
  manual = tmp_path / "files"
  arrays = write_cifar_archive(manual, extracted=extracted)
  data_dir = str(tmp_path / "tfds")
  builders.prepare("cifar10", data_dir=data_dir, manual_dir=manual)
  for split, (images, labels) in arrays.items():
    got = data.load("cifar10", split, data_dir=data_dir)
    assert got["x"].shape == (len(labels), 32, 32, 3)
    np.testing.assert_allclose(got["x"], images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(got["y"], labels)
  assert "tensorflow" not in sys.modules


def test_missing_files_error_says_what_to_provide(tmp_path):
  with pytest.raises(FileNotFoundError) as err:
    data.load("mnist", "train", data_dir=str(tmp_path))
  message = str(err.value)
  for file_name in IDX_NAMES["train"] + IDX_NAMES["test"]:
    assert file_name in message
  assert os.path.join(str(tmp_path), "downloads", "manual", "mnist") in message
  with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
    builders.prepare("cifar10", data_dir=tmp_path, download=False)


def test_unreachable_hosts_fail_fast_with_clear_error(tmp_path, monkeypatch):
  seen = []

  def refuse(address, timeout):
    seen.append(address)
    raise OSError("Name or service not known")

  for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
    monkeypatch.delenv(proxy, raising=False)  # The probe runs only without a proxy.
  monkeypatch.setattr(builders.socket, "create_connection", refuse)
  with pytest.raises(FileNotFoundError, match="cannot be downloaded") as err:
    builders.prepare("cifar10", data_dir=tmp_path, download=True)
  assert seen == [("www.cs.toronto.edu", 443)]
  assert "cifar-10-python.tar.gz" in str(err.value)
  assert "python -m jaxnets.data.builders --dataset=cifar10" in str(err.value)


def test_failed_download_becomes_clear_error(tmp_path, monkeypatch):
  def no_network(self, *args, **kwargs):
    raise ConnectionError("network unreachable")

  monkeypatch.setattr(builders, "_unreachable", lambda urls: None)  # Pretend the host answers.
  monkeypatch.setattr(tfds.download.DownloadManager, "download", no_network)
  with pytest.raises(FileNotFoundError, match="downloading them failed") as err:
    builders.prepare("fashion_mnist", data_dir=tmp_path, download=True)
  assert "t10k-labels-idx1-ubyte.gz" in str(err.value)
  assert not builders.get_builder("fashion_mnist", tmp_path).is_prepared()


def test_corrupt_file_raises_and_leaves_nothing_prepared(tmp_path):
  manual = tmp_path / "files"
  write_idx_files(manual)
  path = manual / IDX_NAMES["train"][0]
  path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
  with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
    builders.prepare("mnist", data_dir=tmp_path / "tfds", manual_dir=manual)
  assert not builders.get_builder("mnist", tmp_path / "tfds").is_prepared()


def test_unknown_builder_name():
  with pytest.raises(ValueError, match="valid names"):
    builders.prepare("imagenet")
