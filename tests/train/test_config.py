"""The config schema: every default field documented and valid, every check named by field."""

import inspect
import re

import pytest

from jaxnets.train import config as config_lib
from jaxnets.train import default_config, validate_config


def test_every_default_field_has_a_comment():
  source = inspect.getsource(config_lib.default_config).splitlines()
  fields = set(default_config().keys())
  commented = set()
  for i, line in enumerate(source):
    match = re.match(r"\s*config\.(\w+) = ", line)
    if match and ("#" in line or source[i - 1].strip().startswith("#")):
      commented.add(match.group(1))
  assert commented == fields


def test_the_default_config_is_valid():
  validate_config(default_config())


@pytest.mark.parametrize(
  "changes,match",
  [
    ({"streaming": True, "dataset": "mnist", "standardize": True}, "config.standardize is not"),
    ({"worker_count": 2}, "worker_count applies only with config.streaming"),
    ({"weight_decay": -1.0}, "weight_decay must be a finite number >= 0"),
    ({"weight_decay_params": "biases"}, "weight_decay_params must be one of"),
    ({"optimizer_impl": "torch"}, "optimizer_impl must be one of"),
    ({"dataset": ""}, "config.dataset must be a dataset name"),
    ({"task": "regression"}, "'cross_entropy'|targets|regression"),
  ],
)
def test_invalid_combinations_name_the_field(changes, match):
  config = default_config()
  if changes.get("task") == "regression":
    config.loss = "cross_entropy"
  for field, value in changes.items():
    config[field] = value
  with pytest.raises(ValueError, match=match):
    validate_config(config)


def test_decay_twice_is_refused():
  config = default_config()
  config.optimizer = {"name": "adamw", "learning_rate": 1e-3, "weight_decay": 1e-4}
  config.weight_decay = 1e-4
  with pytest.raises(ValueError, match="use one of them"):
    validate_config(config)
