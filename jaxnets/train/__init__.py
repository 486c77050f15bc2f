"""The training engine: everything that trains in jaxnets goes through it.

* :func:`default_config` / :func:`validate_config`: the config schema, checked at the edge.
* :func:`train_and_evaluate` / :func:`evaluate`: one run in a workdir (the launcher's call).
* :func:`train_sweep`: N runs of one config (seeds, hyperparameters) as one vmapped program.
* :class:`TrainState`, :func:`train_step`, :func:`eval_step`, :func:`train_epoch`: the pure
  state and steps underneath, for research code that writes its own loop.

Example:
  >>> from jaxnets import train
  >>> config = train.default_config()
  >>> config.model = {"name": "softmax", "num_classes": 10}
  >>> state = train.train_and_evaluate(config, "/tmp/softmax")  # doctest: +SKIP
"""

from jaxnets.train.checkpoint import Checkpointer, CheckpointSaveError, UnreadableCheckpoint
from jaxnets.train.config import default_config, validate_config
from jaxnets.train.evaluation import Evaluator
from jaxnets.train.lock import WorkdirInUse
from jaxnets.train.loop import EpochRunner, Trainer
from jaxnets.train.preemption import Preempted
from jaxnets.train.run import evaluate, train_and_evaluate
from jaxnets.train.sources import InMemoryData, StreamingData, TrainData
from jaxnets.train.state import TrainState, run_keys
from jaxnets.train.steps import eval_step, train_epoch, train_step
from jaxnets.train.sweep import (
  SweepResult,
  best_member,
  grid,
  init_members,
  member_config,
  member_state,
  train_sweep,
)

__all__ = [
  "CheckpointSaveError",
  "Checkpointer",
  "EpochRunner",
  "Evaluator",
  "InMemoryData",
  "Preempted",
  "StreamingData",
  "SweepResult",
  "TrainData",
  "TrainState",
  "Trainer",
  "UnreadableCheckpoint",
  "WorkdirInUse",
  "best_member",
  "default_config",
  "eval_step",
  "evaluate",
  "grid",
  "init_members",
  "member_config",
  "member_state",
  "run_keys",
  "train_and_evaluate",
  "train_epoch",
  "train_step",
  "train_sweep",
  "validate_config",
]
