"""The commands' edges, run as a user runs them: exit codes, one-line errors, --help."""

import os
import subprocess
import sys

import numpy as np
import pytest

from experiments import cli

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module, *args, platforms="cpu"):
  env = dict(os.environ, PYTHONPATH=_REPO)
  env.pop("JAX_PLATFORMS", None)
  if platforms is not None:
    env["JAX_PLATFORMS"] = platforms
  return subprocess.run(
    [sys.executable, "-m", module, *args],
    cwd=_REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
  )


def _one_error_line(proc, code=2):
  assert proc.returncode == code, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr
  errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
  assert len(errors) == 1, proc.stderr
  return errors[0]


def test_bad_config_value_is_one_line_without_the_libtpu_note(tmp_path):
  # As a user runs it: JAX_PLATFORMS unset, so JAX probes for a TPU first.
  proc = _run(
    "experiments.train",
    "--config.optimizer.learning_rate=-1",
    f"--workdir={tmp_path}",
    platforms=None,
  )
  line = _one_error_line(proc)
  assert "learning_rate must be a positive number, got -1" in line
  assert "libtpu" not in proc.stderr and "Unable to initialize backend" not in proc.stderr


def test_typo_in_a_config_field_shows_the_hint_in_plain_text(tmp_path):
  proc = _run("experiments.train", "--config.batch_szie=8", f"--workdir={tmp_path}")
  line = _one_error_line(proc)
  assert "'batch_szie'" in line and 'Did you mean "batch_size"' in line and "\\" not in line


def test_path_errors_are_reported_before_jax_starts(tmp_path):
  proc = _run("experiments.train", "--config=experiments/configs/nope.py")
  assert "nope.py does not exist" in _one_error_line(proc)
  assert "JAX devices" not in proc.stderr
  (tmp_path / "file").write_text("")
  proc = _run("experiments.train", f"--workdir={tmp_path / 'file'}")
  assert "is a file" in _one_error_line(proc)


def test_traceback_flag_shows_the_traceback(tmp_path):
  proc = _run("experiments.train", "--config.batch_szie=8", "--traceback")
  assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_launcher_help_lists_config_fields_and_valid_names():
  proc = _run("experiments.train", "--help")
  assert proc.returncode == 0, proc.stderr[-2000:]
  for text in ("--workdir", "--traceback", "batch_size = 32", "optimizer.learning_rate"):
    assert text in proc.stdout, text
  for name in ("resnet18", "mnist1d", "adam", "linear_regression.py"):
    assert name in proc.stdout, name


def test_chapter_experiment_errors_are_one_line(tmp_path):
  proc = _run("experiments.calculus", "--num_steps=1", f"--workdir={tmp_path}")
  assert "num_steps >= 4" in _one_error_line(proc)
  proc = _run("experiments.calculus", "extra")
  assert "Unexpected arguments" in _one_error_line(proc)


@pytest.mark.parametrize(
  "err, code",
  [
    (ValueError("bad"), 2),
    (FileNotFoundError(2, "No such file", "x"), 2),
    (FloatingPointError("diverged"), 1),
    (OSError(28, "No space left on device"), 1),
  ],
)
def testexit_codes(err, code):
  assert cli.exit_code(err) == code


def test_missing_tpu_filter_keeps_other_backend_messages():
  import logging

  keep = cli.MissingTpuFilter().filter
  record = lambda msg: logging.LogRecord("jax", logging.INFO, "", 0, msg, (), None)
  missing = (
    "Unable to initialize backend 'tpu': INTERNAL: Failed to open libtpu.so: libtpu.so: "
    "cannot open shared object file: No such file or directory"
  )
  assert not keep(record(missing))
  assert keep(record("Unable to initialize backend 'tpu': UNAVAILABLE: TPU in use by pid 7"))
  assert keep(record("Unable to initialize backend 'cuda': no CUDA driver"))


def test_linear_regression_prints_the_recovered_w_and_b(tmp_path):
  proc = _run(
    "experiments.train",
    "--config=experiments/configs/linear_regression.py",
    "--config.num_epochs=2",
    f"--workdir={tmp_path}",
  )
  assert proc.returncode == 0, proc.stderr[-2000:]
  line = next(x for x in proc.stdout.splitlines() if x.startswith("Learned w = ["))
  w = [float(v) for v in line.split("[")[1].split("]")[0].split(",")]
  b = float(line.split("b = ")[1])
  assert np.allclose(w, [2.0, -3.4], atol=0.05) and abs(b - 4.2) < 0.05, line
  assert "Final test loss" in proc.stdout
