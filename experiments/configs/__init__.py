"""Experiment configurations (``get_config()`` per module; ``default.py`` is the base)."""

from __future__ import annotations

from typing import Any

import ml_collections

from jaxnets.train import default_config

VARIANTS = ("cpu", "course")


# The reduced CPU runs (embedded data, Adam) and the course's runs (Fashion-MNIST through
# TFDS, 1 channel, plain SGD, 10 epochs); each config overrides what differs.
CPU = {
  "dataset": "digits",
  "optimizer": {"name": "adam", "learning_rate": 1e-3},
  "batch_size": 64,
  "num_epochs": 15,
}
COURSE = {
  "dataset": "fashion_mnist",
  "optimizer": {"name": "sgd", "learning_rate": 0.1},
  "batch_size": 128,
  "num_epochs": 10,
  "eval_batch_size": 256,
}


def modern_cnn(
  variant: str, *, model: dict[str, Any], cpu: dict[str, Any], course: dict[str, Any]
) -> ml_collections.ConfigDict:
  """A chapter-10 config: ``variant="cpu"`` (reduced, embedded data) or ``"course"``.

  Args:
    variant: ``"cpu"`` or ``"course"`` (``--config=experiments/configs/resnet.py:course``).
    model: the model fields both variants share (name, classes, ...).
    cpu: what the reduced CPU run changes in :data:`CPU`: top-level fields, plus ``model``
      (more model fields) and ``learning_rate``.
    course: the same for the course's run, against :data:`COURSE`.

  Every variant can compute in bfloat16 with float32 parameters: ``--config.model.dtype=bfloat16``.
  """
  if variant not in VARIANTS:
    raise ValueError(f"Unknown config variant {variant!r}; valid variants: {list(VARIANTS)}.")
  changes = dict(cpu if variant == "cpu" else course)
  fields = {**(CPU if variant == "cpu" else COURSE), **changes}
  config = default_config()
  config.model = {"dtype": "float32", **model, **fields.pop("model", {})}
  config.optimizer = dict(fields.pop("optimizer"))
  if "learning_rate" in fields:
    config.optimizer.learning_rate = fields.pop("learning_rate")
  for key, value in fields.items():
    if key not in config:
      raise KeyError(f"{key!r} is not a config field.")
    setattr(config, key, value)
  return config
