"""SIGTERM/SIGINT: a clean stop after a whole step, a checkpoint there, an exact resume."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from jaxnets.train import Preempted, default_config, loop, train_and_evaluate
from jaxnets.train.preemption import StopOnSignal

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(scan):
  config = default_config()
  config.model = {"name": "mlp", "hidden": (16,), "num_classes": 10, "dropout_rate": 0.1}
  config.batch_size, config.num_epochs, config.progress_bar = 128, 3, False
  config.scan_epochs, config.log_every_steps = scan, 5
  return config


def _slow_or_signalling(runner, at_step=0, signum=signal.SIGTERM, sleep=0.0):
  """Wraps a runner's compiled step (or epoch): it sends ``signum`` during call ``at_step``."""
  calls = [0]
  name = "_step" if runner._step is not None else "_epoch"
  real = getattr(runner, name)

  def call(state, *inputs):
    calls[0] += 1
    if calls[0] == at_step:
      signal.raise_signal(signum)  # To this thread: handled before the next line, no race.
    time.sleep(sleep)
    return real(state, *inputs)

  setattr(runner, name, call)


def _patch_runner(monkeypatch, **kwargs):
  real_init = loop.EpochRunner.__init__

  def init(self, *args, **kw):
    real_init(self, *args, **kw)
    _slow_or_signalling(self, **kwargs)

  monkeypatch.setattr(loop.EpochRunner, "__init__", init)


# The child trains with every step slowed down, so that the parent's signal lands mid-run.
_CHILD = textwrap.dedent("""
    import sys
    from jaxnets.train import loop, train_and_evaluate
    from tests.train.test_preemption import _config, _slow_or_signalling
    real_init = loop.EpochRunner.__init__
    def init(self, *args, **kwargs):
      real_init(self, *args, **kwargs)
      _slow_or_signalling(self, sleep=0.02)
    loop.EpochRunner.__init__ = init
    train_and_evaluate(_config(False), sys.argv[1])
""")


def _rows(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  timing = ("examples_per_sec", "epoch_seconds")
  return [{k: v for k, v in r.items() if k not in timing} for r in rows]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  out = {}
  for scan in (False, True):
    workdir = str(tmp_path_factory.mktemp(f"full-{scan}"))
    out[scan] = jax.device_get(train_and_evaluate(_config(scan), workdir).params), _rows(workdir)
  return out


def _check_resumes_exactly(workdir, scan, uninterrupted, capsys):
  capsys.readouterr()
  state = train_and_evaluate(_config(scan), workdir)
  assert "Resumed from" in capsys.readouterr().err
  params, rows = uninterrupted[scan]
  jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(state.params), params)
  assert _rows(workdir) == rows  # Every epoch once, with the uninterrupted run's losses.


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_signal_mid_epoch_stops_after_the_step_and_resumes_exactly(
  tmp_path, uninterrupted, signame, capsys, monkeypatch
):
  workdir = str(tmp_path / "run")
  signum = getattr(signal, signame)
  # 11 steps per epoch: the signal arrives during step 15 (epoch 2), which is finished.
  with monkeypatch.context() as patch:
    _patch_runner(patch, at_step=15, signum=signum)
    with pytest.raises(Preempted) as info:
      train_and_evaluate(_config(scan=False), workdir)
  assert info.value.code == 128 + signum and info.value.step == 15
  out = capsys.readouterr().err
  assert f"Stopped cleanly on {signame} at step 15 (in epoch 2)" in out, out
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["11", "15"]
  assert [r["epoch"] for r in _rows(workdir)] == [1]
  assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # Handlers restored.
  _check_resumes_exactly(workdir, False, uninterrupted, capsys)


def test_sigterm_from_another_process_resumes_exactly(tmp_path, uninterrupted, capsys):
  workdir = str(tmp_path / "run")
  proc = subprocess.Popen(
    [sys.executable, "-c", _CHILD, workdir],
    env=dict(os.environ, PYTHONPATH=_REPO, JAX_PLATFORMS="cpu"),
    cwd=_REPO,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  for line in proc.stdout:  # The first epoch's row: training is under way.
    if line.strip().startswith("1 |"):
      break
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=240)
  assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
  assert "Stopped cleanly on SIGTERM at step" in err and "Traceback" not in err, out + err
  _check_resumes_exactly(workdir, False, uninterrupted, capsys)


def test_scanned_epochs_stop_at_the_end_of_the_epoch(tmp_path, uninterrupted, capsys, monkeypatch):
  workdir = str(tmp_path / "run")
  with monkeypatch.context() as patch:
    _patch_runner(patch, at_step=2)  # During epoch 2's single scan call.
    with pytest.raises(Preempted):
      train_and_evaluate(_config(scan=True), workdir)
  assert "Stopped cleanly on SIGTERM at step 22 (after epoch 2)" in capsys.readouterr().err
  _check_resumes_exactly(workdir, True, uninterrupted, capsys)


def test_stop_without_checkpoints_says_nothing_was_saved(tmp_path, monkeypatch):
  config = _config(scan=False)
  config.checkpoint_every_epochs, config.num_epochs = 0, 2
  _patch_runner(monkeypatch, at_step=1)
  with pytest.raises(Preempted) as info:
    train_and_evaluate(config, str(tmp_path))
  assert info.value.code == 128 + signal.SIGTERM and info.value.step is None
  assert "checkpointing is off" in str(info.value) and "at step 1 " in str(info.value)
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_second_signal_while_stopping_acts_at_once():
  # Start from Python's own SIGINT handler: an earlier test in the same pytest worker may have
  # left another one (the full suite failed here twice with whatever it inherited), and the
  # second signal is handed to the handler found on entry.
  inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
  try:
    with StopOnSignal() as stop:
      signal.raise_signal(signal.SIGINT)  # To this thread: handled before the next line.
      assert stop.requested() and stop.signum == signal.SIGINT
      with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
  finally:
    signal.signal(signal.SIGINT, inherited)
