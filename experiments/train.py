"""The jaxnets launcher: parses flags, then calls ``jaxnets.train.train_and_evaluate``.

Usage:
  python -m experiments.train                                  # the main job (embedded data)
  python -m experiments.train --config=experiments/configs/mlp_digits.py \\
      --config.optimizer.learning_rate=0.05 --workdir=runs/mlp
  python -m experiments.train --config=... --workdir=runs/mlp --config.eval_only=True

Multi-host (a TPU slice or several GPU hosts): run the same command on every host with
``--multihost``; see BUILD.md.
"""

import logging as std_logging
import os

from absl import app, flags, logging
from ml_collections import config_flags

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "main.py")

config_flags.DEFINE_config_file(
  "config", _DEFAULT_CONFIG, "Experiment configuration file.", lock_config=True
)
flags.DEFINE_string("workdir", "runs/main", "Directory for checkpoints, metrics and config.")
flags.DEFINE_bool(
  "multihost", False, "Call jax.distributed.initialize() first (one process per host)."
)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import jax

  # Orbax logs every save at INFO through absl; keep the run's own table readable.
  handler = logging.get_absl_handler()
  handler.addFilter(lambda record: "/orbax/" not in record.pathname)
  handler.setFormatter(std_logging.Formatter("%(message)s"))

  if flags.FLAGS.multihost:
    jax.distributed.initialize()
  from jaxnets.train import train_and_evaluate

  logging.info("JAX devices: %s", jax.devices())
  train_and_evaluate(flags.FLAGS.config, flags.FLAGS.workdir)


if __name__ == "__main__":
  flags.mark_flags_as_required([])
  app.run(main)
