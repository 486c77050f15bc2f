"""The absl launcher, run as a user runs it."""

import os
import subprocess
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _launch(*args, timeout=300):
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=_REPO)
  return subprocess.run(
    [sys.executable, "-m", "experiments.train", *args],
    cwd=_REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=timeout,
  )


def test_launcher_trains_with_flag_overrides(tmp_path):
  proc = _launch(
    "--config=experiments/configs/softmax_digits.py",
    "--config.num_epochs=2",
    "--config.optimizer.learning_rate=0.3",
    f"--workdir={tmp_path}",
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Final test accuracy" in proc.stderr + proc.stdout
  assert "orbax" not in proc.stderr.lower()  # Library chatter is filtered from the table.
  config = (tmp_path / "config.json").read_text()
  assert '"learning_rate": 0.3' in config and '"num_epochs": 2' in config
  # Eval-only restores the checkpoint just written.
  proc = _launch(
    "--config=experiments/configs/softmax_digits.py",
    "--config.eval_only=True",
    f"--workdir={tmp_path}",
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "test_accuracy=" in proc.stderr + proc.stdout


def test_launcher_reports_bad_config_clearly(tmp_path):
  proc = _launch("--config.optimizer.learning_rate=-1", f"--workdir={tmp_path}")
  assert proc.returncode != 0
  assert "learning_rate must be a positive number" in proc.stderr


def test_figure_saver_writes_pngs_and_closes_figures(tmp_path):
  from experiments import common

  plt = common.pyplot()
  save = common.FigureSaver(str(tmp_path), plt)
  fig = plt.figure()
  path = save(fig, "a.png")
  assert (tmp_path / "a.png").stat().st_size > 0 and save.paths == [path]
  assert not plt.fignum_exists(fig.number)


def test_every_config_validates_and_names_registered_parts():
  import importlib
  import pkgutil

  from experiments import configs
  from jaxnets.models import MODELS
  from jaxnets.optim import OPTAX_OPTIMIZERS
  from jaxnets.train import validate_config

  names = [m.name for m in pkgutil.iter_modules(configs.__path__)]
  assert {
    "default",
    "main",
    "linear_regression",
    "softmax_digits",
    "mlp_digits",
    "mlp_mnist1d",
    "lenet",
  } <= set(names)
  for name in names:
    config = importlib.import_module(f"experiments.configs.{name}").get_config()
    validate_config(config)
    assert config.model.name in MODELS and config.optimizer.name in OPTAX_OPTIMIZERS
    doc = importlib.import_module(f"experiments.configs.{name}").__doc__
    assert "python -m experiments.train" in doc and "xpected" in doc, name
