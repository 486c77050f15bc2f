"""``python -m experiments.summary``: any registered model's per-layer table and its total."""

import os
import subprocess
import sys

import pytest

from jaxnets import models
from jaxnets.models.tables import layer_table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _summary(*args):
  return subprocess.run(
    [sys.executable, "-m", "experiments.summary", *args],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )


def test_resnet18_table_ends_with_torchvisions_total():
  result = _summary("--model=resnet18")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[-1].startswith("params: 11,689,512 (torchvision counts these); batch_stats: 9,600")
  for block, shape in (("layer1_0", "float32[1,56,56,64]"), ("layer4_1", "float32[1,7,7,512]")):
    assert any(block in line and shape in line for line in lines), block
  assert "\x1b[" not in result.stdout  # No colour codes when stdout is not a terminal.


def test_bad_input_shape_and_unknown_model_are_one_line_usage_errors():
  for args, message in (
    (["--input_shape=a,b"], "--input_shape must be comma-separated ints"),
    (["--model=resnet99"], "Unknown model 'resnet99'"),
  ):
    result = _summary(*args)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_layer_table_course_resnet_and_nested_rows():
  model = models.get_model("resnet18", num_classes=10)
  table = layer_table(model, (1, 96, 96, 1), depth=2, width=200)
  rows = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
  assert {"layer1_0", "layer1_0/conv1", "layer1_0/bn1", "layer2_0/downsample_0"} <= set(rows)
  assert table.splitlines()[-1].startswith("params: 11,175,370")
  no_stats = layer_table(models.get_model("mlp", hidden=(4,), num_classes=3), (1, 8, 8, 1))
  assert no_stats.splitlines()[-1] == "params: 275 (torchvision counts these)"
  with pytest.raises(ValueError, match="positive ints"):
    layer_table(models.get_model("resnet18"), (1, 0, 3))
