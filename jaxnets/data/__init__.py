"""Datasets by name and minibatch pipelines (no TensorFlow at run time).

Example:
  >>> from jaxnets import data
  >>> train = data.load("digits", split="train")
  >>> train["x"].shape, train["y"].shape
  ((1437, 8, 8, 1), (1437,))
  >>> next(data.batches(train, 32, seed=0))["x"].shape
  (32, 8, 8, 1)
"""

from jaxnets.data import augment
from jaxnets.data.datasets import (
  DATASETS,
  TASKS,
  is_embedded,
  load,
  make_cluttered_digits,
  num_classes,
  task,
  tfds_source,
  to_example,
)
from jaxnets.data.pipeline import (
  batches,
  epoch_indices,
  epoch_order,
  num_batches,
  run_indices,
  stream_batches,
)

__all__ = [
  "DATASETS",
  "TASKS",
  "augment",
  "batches",
  "epoch_indices",
  "epoch_order",
  "is_embedded",
  "load",
  "make_cluttered_digits",
  "num_batches",
  "num_classes",
  "run_indices",
  "stream_batches",
  "task",
  "tfds_source",
  "to_example",
]
