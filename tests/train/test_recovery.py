"""A resumed run after faults: corrupt checkpoints, duplicate metric rows, another model."""

import glob
import json
import os
import shutil
import struct

import jax
import numpy as np
import pytest
from tensorboardX.proto import event_pb2

from jaxnets.train import default_config, train_and_evaluate
from jaxnets.train.recovery import truncate_metrics


def _config(num_epochs=3):
  config = default_config()
  config.model = {"name": "softmax", "num_classes": 10}
  config.optimizer = {"name": "sgd", "learning_rate": 0.5}
  config.batch_size, config.num_epochs, config.progress_bar = 256, num_epochs, False
  return config


def _rows(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A 3-epoch run (checkpoints at steps of epochs 1, 2, 3) and its final parameters."""
  workdir = str(tmp_path_factory.mktemp("finished"))
  state = train_and_evaluate(_config(), workdir)
  return workdir, jax.device_get(state.params)


def _latest(workdir):
  return max(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())


def _truncate(path):
  with open(path, "r+b") as f:
    f.truncate(max(1, os.path.getsize(path) // 3))


def _garble(path):
  with open(path, "r+b") as f:
    data = bytearray(f.read())
    data[len(data) // 2 :] = bytes(255 - b for b in data[len(data) // 2 :])
    f.seek(0)
    f.write(data)


def _largest_data_file(step_dir):
  files = [f for f in glob.glob(os.path.join(step_dir, "default", "**", "d", "*"), recursive=True)]
  return max(files, key=os.path.getsize)


CORRUPTIONS = {
  "truncated data file": lambda d: _truncate(_largest_data_file(d)),
  "garbled data file": lambda d: _garble(_largest_data_file(d)),
  "deleted manifest": lambda d: os.remove(os.path.join(d, "default", "manifest.ocdbt")),
  "deleted _METADATA": lambda d: os.remove(os.path.join(d, "default", "_METADATA")),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, finished, kind, capsys):
  source, params = finished
  workdir = str(tmp_path / "run")
  shutil.copytree(source, workdir)
  step = _latest(workdir)
  CORRUPTIONS[kind](os.path.join(workdir, "checkpoints", str(step)))
  capsys.readouterr()
  # The epoch of the bad checkpoint is trained again from the one before it.
  state = train_and_evaluate(_config(), workdir)
  out = capsys.readouterr().err
  warnings = [line for line in out.splitlines() if "unreadable" in line]
  assert len(warnings) == 1 and f"checkpoint step {step}" in warnings[0], out
  assert "Traceback" not in out and len(warnings[0]) < 600
  aside = os.path.join(workdir, "checkpoints", f"{step}.corrupt-1")
  assert os.path.isdir(aside) and aside in warnings[0]  # Kept, not deleted.
  assert f"Resumed from {workdir}/checkpoints at step {step * 2 // 3}" in out
  jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(state.params), params)
  assert [r["epoch"] for r in _rows(workdir)] == [1, 2, 3]  # Epoch 3 once, not twice.


def test_every_checkpoint_unreadable_is_an_error_and_all_are_kept(tmp_path, finished):
  source, _ = finished
  workdir = str(tmp_path / "run")
  shutil.copytree(source, workdir)
  steps = [d for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit()]
  for step in steps:
    os.remove(os.path.join(workdir, "checkpoints", step, "default", "_METADATA"))
  with pytest.raises(FileNotFoundError, match="None of the 3 checkpoint"):
    train_and_evaluate(_config(), workdir)
  kept = sorted(d for d in os.listdir(os.path.join(workdir, "checkpoints")))
  assert kept == sorted(f"{s}.corrupt-1" for s in steps)


def _read_events(path):
  """The Event protos of a TensorBoard event file (TFRecord framing: length, crc, data, crc)."""
  events = []
  with open(path, "rb") as f:
    while header := f.read(12):
      (length,) = struct.unpack("<Q", header[:8])
      event = event_pb2.Event()
      event.ParseFromString(f.read(length))
      f.read(4)
      events.append(event)
  return events


def test_resume_drops_rows_logged_after_the_restored_checkpoint(tmp_path, finished):
  source, params = finished
  workdir = str(tmp_path / "run")
  shutil.copytree(source, workdir)
  # A crash after epoch 3 was logged but before its checkpoint was committed.
  step = _latest(workdir)
  shutil.rmtree(os.path.join(workdir, "checkpoints", str(step)))
  assert [r["epoch"] for r in _rows(workdir)] == [1, 2, 3]
  state = train_and_evaluate(_config(), workdir)
  rows = _rows(workdir)
  assert [r["epoch"] for r in rows] == [1, 2, 3]
  assert [r["step"] for r in rows] == [step // 3, 2 * step // 3, step]
  jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(state.params), params)
  # The resumed TensorBoard writer purges the events from the step after the restored one.
  logs = sorted(glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*")))
  assert len(logs) == 2
  starts = [e for e in _read_events(logs[-1]) if e.HasField("session_log")]
  assert [(e.session_log.status, e.step) for e in starts] == [
    (event_pb2.SessionLog.START, 2 * step // 3 + 1)
  ]


def test_truncate_metrics_is_atomic_and_drops_cut_rows(tmp_path, monkeypatch):
  path = str(tmp_path / "metrics.jsonl")
  with open(path, "w") as f:
    f.write('{"step": 5, "epoch": 1}\n{"step": 10, "epoch": 2}\n{"step": 15, "ep')
  replaced = []
  real_replace = os.replace
  monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((a, b)), real_replace(a, b)))
  assert truncate_metrics(path, 5) == 2
  assert replaced and replaced[0][1] == path and not os.path.exists(replaced[0][0])
  assert open(path).read() == '{"step": 5, "epoch": 1}\n'
  assert truncate_metrics(str(tmp_path / "absent.jsonl"), 5) == 0


def test_another_model_in_a_used_workdir_is_refused_naming_both(tmp_path, finished):
  source, _ = finished
  workdir = str(tmp_path / "run")
  shutil.copytree(source, workdir)
  config = _config()
  config.model = {"name": "mlp", "hidden": (16,), "num_classes": 10}
  with pytest.raises(ValueError) as info:
    train_and_evaluate(config, workdir)
  message = str(info.value)
  assert '"name": "softmax"' in message and '"name": "mlp"' in message, message
  assert "new --workdir" in message and "partial_restore" not in message
  # Without config.json (a copied checkpoint folder) the structure check says the same.
  os.remove(os.path.join(workdir, "config.json"))
  with pytest.raises(ValueError, match="new --workdir") as info:
    train_and_evaluate(config, workdir)
  assert "partial_restore" not in str(info.value) and "Dense_0" in str(info.value)
