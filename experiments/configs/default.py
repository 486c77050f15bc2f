"""Base configuration: ``jaxnets.train.default_config()``, every field the engine reads.

Other configs import this one and override fields. Any field can be overridden on the
command line, e.g. ``--config.optimizer.learning_rate=0.05``; the fields and their meaning
are documented in ``jaxnets/train/config.py``.

Command:
  python -m experiments.train --config=experiments/configs/default.py --workdir=runs/default

Expected result: an MLP on digits, test accuracy 0.9889 after 30 epochs, ~15 s on 2 cores.
"""

import ml_collections

from jaxnets.train import default_config


def get_config() -> ml_collections.ConfigDict:
  """The base every config starts from (the launcher's own default is ``main.py``)."""
  return default_config()
