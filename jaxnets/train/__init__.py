"""The training engine: state, pure steps, the loop, checkpoints, sharding, reporting.

Example:
  >>> from jaxnets import train
  >>> from experiments.configs import softmax_digits
  >>> state = train.train_and_evaluate(softmax_digits.get_config(), "/tmp/sm")  # doctest: +SKIP
"""

from jaxnets.train.checkpoint import Checkpointer  # noqa: F401
from jaxnets.train.loop import (  # noqa: F401
  build_model,
  build_optimizer,
  evaluate,
  train_and_evaluate,
  validate_config,
)
from jaxnets.train.state import TrainState  # noqa: F401
from jaxnets.train.steps import eval_step, train_epoch_scan, train_step  # noqa: F401
