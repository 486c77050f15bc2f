"""Checkpoint saves that fail (disk full, read-only): the error says what; the old one stays."""

import errno
import os

import jax.numpy as jnp
import numpy as np
import pytest
from orbax.checkpoint._src.path import async_path

from jaxnets.train import Checkpointer, CheckpointSaveError, default_config, train_and_evaluate


def _fail_commits(monkeypatch, code=errno.ENOSPC):
  """Every checkpoint's final rename (Orbax's commit) fails with ``code``."""

  async def rename(src, dst):
    raise OSError(code, os.strerror(code), str(src))

  monkeypatch.setattr(async_path, "rename", rename)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_failed_save_names_the_step_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch, code):
  ckpt = Checkpointer(str(tmp_path))
  ckpt.save(1, {"w": jnp.ones(4), "epoch": 1})
  assert ckpt.latest_step() == 1
  with monkeypatch.context() as patch:
    _fail_commits(patch, code)
    ckpt.save(2, {"w": jnp.full(4, 2.0), "epoch": 2})
    with pytest.raises(CheckpointSaveError) as info:
      ckpt.close()  # The asynchronous save's error surfaces when it is waited for.
  message = str(info.value)
  assert "step 2" in message and os.strerror(code) in message
  assert "previous checkpoint (step 1) is intact" in message
  reopened = Checkpointer(str(tmp_path))
  assert reopened.all_steps() == [1] and sorted(os.listdir(tmp_path)) == ["1"]  # No tmp left.
  restored = reopened.restore({"w": jnp.zeros(4), "epoch": 0})
  np.testing.assert_array_equal(restored["w"], np.ones(4))
  reopened.close()


def test_disk_full_during_a_run_stops_it_and_the_rerun_resumes(tmp_path, monkeypatch, capsys):
  config = default_config()
  config.model = {"name": "softmax", "num_classes": 10}
  config.batch_size, config.num_epochs, config.progress_bar = 256, 1, False
  train_and_evaluate(config, str(tmp_path))
  config.num_epochs = 3
  with monkeypatch.context() as patch:
    _fail_commits(patch)
    with pytest.raises(CheckpointSaveError, match=r"step 10 .*\(step 5\) is intact"):
      train_and_evaluate(config, str(tmp_path))
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["5"]
  capsys.readouterr()
  train_and_evaluate(config, str(tmp_path))
  assert "at step 5 (epoch 1)" in capsys.readouterr().err
  assert sorted(int(s) for s in os.listdir(tmp_path / "checkpoints")) == [5, 10, 15]
