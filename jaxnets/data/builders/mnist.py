"""MNIST and Fashion-MNIST from their original IDX files (28×28 grayscale, 10 classes).

Files (the same four names for both datasets, so each needs its own manual dir)::

  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   60,000 training examples
  t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    10,000 test examples

Uncompressed copies (the same names without ``.gz``) are accepted too.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

from jaxnets.data.builders import formats
from jaxnets.data.builders.base import SourceFilesBuilder

_IDX_FILES = {
  "train_images": "train-images-idx3-ubyte.gz",
  "train_labels": "train-labels-idx1-ubyte.gz",
  "test_images": "t10k-images-idx3-ubyte.gz",
  "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _urls(base: str) -> dict[str, str]:
  return {key: base + name for key, name in _IDX_FILES.items()}


class _IdxBuilder(SourceFilesBuilder, skip_registration=True):
  """28×28×1 uint8 images and labels from four IDX files."""

  IMAGE_SHAPE: ClassVar[tuple[int, int, int]] = (28, 28, 1)
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
    "Place the four original files in the manual dir: "
    + ", ".join(_IDX_FILES.values())
    + " (or the same names without .gz)."
  )

  @classmethod
  def _candidates(cls, file_name: str) -> tuple[str, ...]:
    return (file_name, file_name.removesuffix(".gz"))

  def _read_split(self, paths: dict[str, str], split: str) -> tuple[np.ndarray, np.ndarray]:
    images = formats.read_idx(paths[f"{split}_images"])
    labels = formats.read_idx(paths[f"{split}_labels"])
    if images.ndim != 3 or labels.ndim != 1:
      raise ValueError(
        f"{os.path.basename(paths[f'{split}_images'])} must hold uint8[n, 28, 28] images and "
        f"{os.path.basename(paths[f'{split}_labels'])} uint8[n] labels; got {images.shape} and "
        f"{labels.shape}."
      )
    return images[..., None], labels


class JaxnetsMnist(_IdxBuilder):
  """MNIST handwritten digits (LeCun et al.), built without TensorFlow."""

  name = "jaxnets_mnist"
  URLS: ClassVar[dict[str, str]] = _urls("https://storage.googleapis.com/cvdf-datasets/mnist/")
  CLASS_NAMES: ClassVar[tuple[str, ...]] = tuple(str(i) for i in range(10))
  HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
  DESCRIPTION = "MNIST: 70,000 28x28 grayscale handwritten digits (60,000 train, 10,000 test)."


class JaxnetsFashionMnist(_IdxBuilder):
  """Fashion-MNIST (Xiao et al., 2017), built without TensorFlow."""

  name = "jaxnets_fashion_mnist"
  URLS: ClassVar[dict[str, str]] = _urls(
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
  )
  CLASS_NAMES: ClassVar[tuple[str, ...]] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  )
  HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
  DESCRIPTION = (
    "Fashion-MNIST: 70,000 28x28 grayscale images of clothing in 10 classes "
    "(60,000 train, 10,000 test)."
  )
