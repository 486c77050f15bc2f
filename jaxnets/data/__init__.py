"""Datasets by name and minibatch pipelines (no TensorFlow at run time).

Example:
  >>> from jaxnets import data
  >>> train = data.load("digits", split="train")
  >>> train["x"].shape, train["y"].shape
  ((1437, 8, 8, 1), (1437,))
  >>> next(data.batches(train, 32, seed=0))["x"].shape
  (32, 8, 8, 1)
"""

from jaxnets.data.datasets import DATASETS, load, num_classes  # noqa: F401
from jaxnets.data.pipeline import (  # noqa: F401
  batches,
  epoch_permutation,
  num_batches,
  stream_batches,
)
