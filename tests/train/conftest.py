"""Small configs shared by the training-engine tests."""

import pytest

from jaxnets.train import default_config


@pytest.fixture
def tiny_config():
  """An MLP with dropout on digits: fast, and it exercises the dropout RNG path."""
  config = default_config()
  config.model = {"name": "mlp", "hidden": (32,), "num_classes": 10, "dropout_rate": 0.1}
  config.batch_size = 64
  config.num_epochs = 3
  config.progress_bar = False
  return config
