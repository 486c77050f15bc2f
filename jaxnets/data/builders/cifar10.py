"""CIFAR-10 from its original python pickle batches (32×32 RGB, 10 classes).

File: ``cifar-10-python.tar.gz`` (or its extracted ``cifar-10-batches-py`` directory), holding
``data_batch_1`` … ``data_batch_5`` (50,000 training examples) and ``test_batch`` (10,000).
The pickles are read with an unpickler that accepts only numpy arrays and plain containers.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from jaxnets.data.builders import formats
from jaxnets.data.builders.base import SourceFilesBuilder


class JaxnetsCifar10(SourceFilesBuilder):
  """CIFAR-10 (Krizhevsky, 2009), built without TensorFlow."""

  name = "jaxnets_cifar10"
  URLS: ClassVar[dict[str, str]] = {
    "archive": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
  }
  IMAGE_SHAPE: ClassVar[tuple[int, int, int]] = (32, 32, 3)
  CLASS_NAMES: ClassVar[tuple[str, ...]] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
  )
  HOMEPAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
  DESCRIPTION = "CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train, 10,000 test)."
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
    "Place cifar-10-python.tar.gz (or its extracted cifar-10-batches-py directory) in the "
    "manual dir."
  )

  @classmethod
  def _candidates(cls, file_name: str) -> tuple[str, ...]:
    return (file_name, formats.CIFAR_DIR)

  def _read_split(self, paths: dict[str, str], split: str) -> tuple[np.ndarray, np.ndarray]:
    names = formats.CIFAR_TRAIN_BATCHES if split == "train" else formats.CIFAR_TEST_BATCHES
    return formats.read_cifar_batches(paths["archive"], names)
