"""One run per workdir: the second refuses; a killed run leaves no stuck lock."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from jaxnets.train import WorkdirInUse, default_config, train_and_evaluate
from jaxnets.train.lock import workdir_lock

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_HOLDER = textwrap.dedent("""
    import sys, time
    from jaxnets.train.lock import workdir_lock
    with workdir_lock(sys.argv[1]):
      print("locked", flush=True)
      time.sleep(120)
""")


def test_second_run_refuses_while_another_process_trains_and_a_killed_one_frees_it(tmp_path):
  workdir = str(tmp_path)
  holder = subprocess.Popen(
    [sys.executable, "-c", _HOLDER, workdir],
    env=dict(os.environ, PYTHONPATH=_REPO),
    cwd=_REPO,
    stdout=subprocess.PIPE,
    text=True,
  )
  try:
    assert holder.stdout.readline().strip() == "locked"
    config = default_config()
    config.num_epochs, config.progress_bar = 1, False
    with pytest.raises(WorkdirInUse) as info:
      train_and_evaluate(config, workdir)
    message = str(info.value)
    assert f"pid {holder.pid}" in message and workdir in message and "--workdir" in message
    assert not os.path.exists(os.path.join(workdir, "checkpoints"))  # Refused before anything.
  finally:
    holder.send_signal(signal.SIGKILL)  # A crash: no cleanup runs.
    holder.wait()
  with workdir_lock(workdir):  # The OS released the lock with the process.
    pass


def test_lock_is_released_after_an_error_in_the_same_process(tmp_path):
  with pytest.raises(RuntimeError, match="boom"):
    with workdir_lock(str(tmp_path)):
      raise RuntimeError("boom")
  with workdir_lock(str(tmp_path)):
    with pytest.raises(WorkdirInUse, match="Another run is training"):
      with workdir_lock(str(tmp_path)):
        pass
