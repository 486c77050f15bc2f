"""The jaxnets launcher: parses flags, then calls ``jaxnets.train.train_and_evaluate``.

Usage:
  python -m experiments.train                                  # the main job (embedded data)
  python -m experiments.train --config=experiments/configs/mlp_digits.py \\
      --config.optimizer.learning_rate=0.05 --workdir=runs/mlp
  python -m experiments.train --config=... --workdir=runs/mlp --config.eval_only=True

The per-epoch table and the final metrics go to stdout; messages and the progress bar (drawn
only on a terminal) to stderr. Rerunning a finished workdir reports its result; a larger
``--config.num_epochs`` continues it. An error prints one ``error: ...`` line and exits 2
(a bad flag, config value or path) or 1 (the run failed); ``--traceback`` shows the traceback.

Multi-host (a TPU slice or several GPU hosts): run the same command on every host with
``--multihost``; see BUILD.md.
"""

import inspect
import logging as std_logging
import os
import re
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "main.py")

try:
  # Without --config, the default file and the --config.* overrides are applied right here.
  config_flags.DEFINE_config_file(
    "config", _DEFAULT_CONFIG, "Experiment configuration file.", lock_config=True
  )
except cli.USER_ERRORS as err:
  if __name__ != "__main__":
    raise
  cli.report(err)
flags.DEFINE_string("workdir", "runs/main", "Directory for checkpoints, metrics and config.")
flags.DEFINE_bool(
  "multihost", False, "Call jax.distributed.initialize() first (one process per host)."
)


def config_help() -> str:
  """The config fields (``--config.<field>=...``) with their defaults and the valid names."""
  from jaxnets import data, models, optim, train
  from jaxnets.train import config as config_module
  from jaxnets.train import resume

  comments = dict(
    re.findall(r"config\.(\w+) = .*?#\s*(.+)", inspect.getsource(config_module.default_config))
  )
  lines = [
    "",
    "Config fields (override with --config.<field>=<value>; see jaxnets/train/config.py):",
  ]
  for field, value in resume.flatten(resume.config_as_dict(train.default_config())).items():
    note = comments.get(field, "")
    lines.append(f"  {field} = {value!r}" + (f"  # {note}" if note else ""))
  lines += [
    "",
    f"Models (config.model.name): {', '.join(sorted(models.MODELS))}",
    f"Datasets (config.dataset): {', '.join(data.DATASETS)}, or any TFDS dataset name",
    f"Optimizers (config.optimizer.name): {', '.join(sorted(optim.OPTAX_OPTIMIZERS))}",
    f"Configs: {', '.join(sorted(_config_files()))} (in experiments/configs/)",
  ]
  return "\n".join(lines)


def _config_files() -> list[str]:
  directory = os.path.dirname(_DEFAULT_CONFIG)
  return [f for f in os.listdir(directory) if f.endswith(".py") and not f.startswith("_")]


def check_paths(config_file: str, workdir: str) -> None:
  """Rejects a missing config file or a workdir that is a file, before JAX starts.

  Raises:
    absl.app.UsageError: naming the path and what is valid.
  """
  path = re.sub(r"(\.py):[^/]*$", r"\1", config_file)  # A "file.py:variant" names file.py.
  if not os.path.isfile(path):
    raise app.UsageError(
      f"config file {path} does not exist; the configs in "
      f"{os.path.relpath(os.path.dirname(_DEFAULT_CONFIG))}/ are "
      f"{', '.join(sorted(_config_files()))}."
    )
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise app.UsageError(
      f"--workdir={workdir} is a file; the workdir is a directory (new, or a run's)."
    )


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  check_paths(flags.FLAGS["config"].config_filename, flags.FLAGS.workdir)
  config = flags.FLAGS.config  # Loads the config file and its overrides before JAX starts.
  import jax

  # Orbax logs every save at INFO through absl; keep the run's own table readable.
  handler = logging.get_absl_handler()
  handler.addFilter(lambda record: "/orbax/" not in record.pathname)
  handler.setFormatter(std_logging.Formatter("%(message)s"))

  if flags.FLAGS.multihost:
    jax.distributed.initialize()
  from jaxnets.train import reporting, train_and_evaluate

  logging.info("JAX devices: %s", jax.devices())
  state = train_and_evaluate(config, flags.FLAGS.workdir)
  if config.model.name == "linear" and not config.eval_only:
    print(reporting.linear_parameters(jax.device_get(state.params)), flush=True)


if __name__ == "__main__":
  cli.run(main, doc=__doc__, extra_help=config_help)
  sys.exit(0)
