"""What a resumed run may change: the new config against the one its workdir recorded.

A run that finds checkpoints in its workdir continues them. Some fields only say how long to
train or how to report (``num_epochs``, the evaluation and checkpoint cadence, the progress
bar): changing them is safe. A constant learning rate can change too; it is written into the
restored optimizer state (:func:`jaxnets.optim.set_hyperparameters`) and the run says so.
Any other change (the model, the data, the optimizer, the batch size, the seed, ...) would
silently continue another run's state, so :func:`check_resume` refuses it, naming each
changed field with its old and new value.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import ml_collections

from jaxnets import optim
from jaxnets.train.config import default_config

CONFIG_FILE = "config.json"
CHANGES_FILE = "config_changes.jsonl"

# Fields that say how long to run, how to evaluate, checkpoint or report, or how to execute
# the same computation; changing them does not change what the resumed state means.
SAFE_FIELDS = frozenset(
  {
    "num_epochs",
    "progress_bar",
    "eval_every_epochs",
    "eval_batch_size",
    "eval_train",
    "eval_only",
    "checkpoint_every_epochs",
    "divergence_factor",
    "max_to_keep",
    "log_every_steps",
    "scan_epochs",
    "worker_count",
    "data_dir",
  }
)
LEARNING_RATE = "optimizer.learning_rate"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """A nested mapping as ``{"a.b": leaf}``, with tuples as lists (as JSON stores them).

  Example:
    >>> flatten({"model": {"name": "mlp", "hidden": (32,)}, "seed": 0})
    {'model.name': 'mlp', 'model.hidden': [32], 'seed': 0}
  """
  flat: dict[str, Any] = {}
  for key, value in tree.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping):
      flat.update(flatten(value, name + "."))
    else:
      flat[name] = list(value) if isinstance(value, tuple) else value
  return flat


def config_as_dict(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """``config`` as the JSON object that ``workdir/config.json`` stores."""
  return json.loads(config.to_json_best_effort(sort_keys=True))


def read_config(workdir: str) -> dict[str, Any] | None:
  """The config recorded in ``workdir/config.json``, or None when there is none."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    try:
      return json.load(f)
    except json.JSONDecodeError as err:
      raise ValueError(f"{path} is not valid JSON ({err}); move it away to resume.") from None


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes ``workdir/config.json`` atomically (a temporary file, then a rename)."""
  path = os.path.join(workdir, CONFIG_FILE)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
  os.replace(tmp, path)


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
  """Every field whose value differs between two configs, as ``{"a.b": (old, new)}``.

  A field missing on one side counts as ``None`` there.

  Example:
    >>> config_changes({"seed": 0, "optimizer": {"learning_rate": 0.1}},
    ...                {"seed": 0, "optimizer": {"learning_rate": 0.05}})
    {'optimizer.learning_rate': (0.1, 0.05)}
  """
  a, b = flatten(old), flatten(new)
  return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def check_resume(
  stored: Mapping[str, Any] | None, config: ml_collections.ConfigDict, workdir: str = "workdir"
) -> dict[str, tuple[Any, Any]]:
  """The changes a resumed run may apply; raises if ``config`` changes anything else.

  Args:
    stored: the config the workdir's checkpoints were trained with (None: nothing to check).
    config: the new run's validated config.
    workdir: named in the message.

  Returns:
    The changed fields that the run may continue with, ``{"a.b": (old, new)}``: safe fields
    and (with a constant schedule) ``optimizer.learning_rate``.

  Raises:
    ValueError: a change that the checkpoint cannot continue with, naming every such field
      (old → new) and what to do instead.

  Example:
    >>> from jaxnets.train import default_config
    >>> old = config_as_dict(default_config())
    >>> new = default_config(); new.num_epochs = 40
    >>> check_resume(old, new)
    {'num_epochs': (30, 40)}
    >>> new.seed = 1
    >>> check_resume(old, new)
    Traceback (most recent call last):
    ...
    ValueError: workdir holds checkpoints trained with another config; changed: seed 0 → 1. ...
  """
  if stored is None:
    return {}
  changes = config_changes(stored, config_as_dict(config))
  # A field added to the schema after the run started is unchanged if it has its default.
  defaults, recorded = flatten(config_as_dict(default_config())), flatten(stored)
  changes = {
    k: v for k, v in changes.items() if k in recorded or k not in defaults or v[1] != defaults[k]
  }
  settable_lr = config.lr_schedule == "constant"
  unsafe = {
    k: v
    for k, v in changes.items()
    if k not in SAFE_FIELDS and not (k == LEARNING_RATE and settable_lr)
  }
  if unsafe:
    listed = ", ".join(f"{k} {_show(old)} → {_show(new)}" for k, (old, new) in unsafe.items())
    raise ValueError(
      f"{workdir} holds checkpoints trained with another config; changed: {listed}. "
      "A resumed run continues the stored state, so only the epochs, the evaluation and "
      f"checkpoint cadence, the progress bar and (with a constant schedule) the learning rate "
      f"may change: use a new --workdir, or the stored values (see {CONFIG_FILE} there)."
    )
  return changes


def apply_changes(opt_state: Any, changes: Mapping[str, tuple[Any, Any]]) -> Any:
  """``opt_state`` with a changed learning rate (of ``changes``) written into it.

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.optim import get_hyperparameter, get_optimizer
    >>> opt_state = get_optimizer("sgd", 0.1).init({"w": jnp.zeros(2)})
    >>> opt_state = apply_changes(opt_state, {"optimizer.learning_rate": (0.1, 0.05)})
    >>> round(float(get_hyperparameter(opt_state, "learning_rate")), 6)
    0.05
  """
  if LEARNING_RATE not in changes:
    return opt_state
  return optim.set_hyperparameters(opt_state, learning_rate=changes[LEARNING_RATE][1])


def record_changes(
  workdir: str, step: int, epoch: int, changes: Mapping[str, tuple[Any, Any]]
) -> None:
  """Appends the changes a resumed run applied to ``workdir/config_changes.jsonl``.

  ``config.json`` then records the config that runs from ``step`` on, and this file what
  ran before it.
  """
  line = {"step": step, "epoch": epoch, "changes": {k: list(v) for k, v in changes.items()}}
  with open(os.path.join(workdir, CHANGES_FILE), "a") as f:
    f.write(json.dumps(line) + "\n")


def describe(changes: Mapping[str, tuple[Any, Any]]) -> str:
  """One line naming the changes a resumed run applies (empty when there are none).

  Example:
    >>> print(describe({"num_epochs": (3, 5), "optimizer.learning_rate": (0.1, 0.05)}))
    Resuming with num_epochs 3 → 5, optimizer.learning_rate 0.1 → 0.05 (applied to the
    restored optimizer state).
  """
  if not changes:
    return ""
  listed = ", ".join(f"{k} {_show(old)} → {_show(new)}" for k, (old, new) in changes.items())
  note = " (applied to the restored optimizer state)" if LEARNING_RATE in changes else ""
  return f"Resuming with {listed}{note}."


def _show(value: Any) -> str:
  return "(unset)" if value is None else repr(value) if isinstance(value, str) else str(value)
