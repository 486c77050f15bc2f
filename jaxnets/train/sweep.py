"""Many runs as one compiled program: the engine's step ``vmap``-ed over N stacked states.

A sweep trains N members of one config that differ only in their seed, in hyperparameters
that live in the optimizer state (the learning rate, momentum, ``weight_decay``, ...) and in
the optimizer itself (``"optimizer.name"``: the members' optimizers become one
:func:`jaxnets.optim.switch`, whose index is in the state too). Their
states are one :class:`~jaxnets.train.TrainState` whose leaves have a leading axis N, and the
very step, epoch and evaluation functions of a single run are ``jax.vmap``-ed over it, with
BatchNorm statistics, dropout and weight decay as in a single run. Member ``i`` is therefore
the launcher's run of ``member_config(config, members[i])`` — same initialization, same data
order (its own seed's :func:`jaxnets.data.epoch_order`), same steps — up to float rounding
(``tests/train/test_sweep.py`` checks params and every epoch's metrics).

N models cost one program whose arithmetic is N times wider. That removes the per-step
overhead of N small programs; how much it buys depends on how much of a step is overhead (on
an accelerator, where one small model cannot fill the device, nearly all of it; on a 2-core
CPU, a lot for tiny models and little for compute-bound ones — ``benchmarks/sweep.py``).

Example:
  >>> from jaxnets import train
  >>> config = train.default_config()
  >>> config.model = {"name": "softmax", "num_classes": 10}
  >>> config.num_epochs, config.progress_bar = 2, False
  >>> members = grid(seed=[0, 1], **{"optimizer.learning_rate": [0.1, 0.3]})
  >>> result = train_sweep(config, members)
  >>> result.history["test_accuracy"].shape  # (members, epochs)
  (4, 2)
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.typing import ArrayLike

from jaxnets.optim.hyperparams import map_hyperparameter, set_hyperparameters
from jaxnets.optim.switch import INDEX
from jaxnets.train import build, reporting, setup
from jaxnets.train.config import validate_config
from jaxnets.train.state import TrainState
from jaxnets.types import Batch

Member = Mapping[str, Any]  # {"seed": 1, "optimizer.learning_rate": 0.1, "weight_decay": 1e-3}
OPTIMIZER = "optimizer.name"  # The member field that picks a member's optimizer.


@dataclasses.dataclass
class SweepResult:
  """What :func:`train_sweep` returns.

  Attributes:
    state: the N final states, stacked (:func:`member_state` takes one out).
    members: the members' overrides, as given.
    history: metrics keyed as the launcher's ``metrics.jsonl``: the training ones
      (``train_loss``, ``train_accuracy``) ``f32[N, epochs]``, the evaluations (``test_loss``,
      ``test_accuracy``, ...) ``f32[N, len(eval_epochs)]``.
    eval_epochs: ``i32[evaluations]`` the (1-based) epochs after which the splits were
      evaluated (every ``config.eval_every_epochs``-th and the last).
    step_loss: ``f32[N, steps]`` every step's minibatch loss (before its update).
    epoch_seconds: ``f64[epochs]`` wall time of each epoch's training (no compilation).
    compile_seconds: time spent compiling the training program.
  """

  state: TrainState
  members: list[dict[str, Any]]
  history: dict[str, np.ndarray]
  eval_epochs: np.ndarray
  step_loss: np.ndarray
  epoch_seconds: np.ndarray
  compile_seconds: float


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
  """Members for every combination of the given values (the first axis varies slowest).

  Example:
    >>> grid(**{"optimizer.learning_rate": [0.1, 1.0]}, seed=[0, 1])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'optimizer.learning_rate': 0.1, 'seed': 0}, {'optimizer.learning_rate': 0.1, 'seed': 1},
     {'optimizer.learning_rate': 1.0, 'seed': 0}, {'optimizer.learning_rate': 1.0, 'seed': 1}]
  """
  names = list(axes)
  return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


def _hyperparameter(field: str) -> str:
  """The injected hyperparameter a member field sets (raises for any other field)."""
  if field == "weight_decay":
    return "weight_decay"
  if field == OPTIMIZER:
    return INDEX
  if field.startswith("optimizer."):
    return field.removeprefix("optimizer.")
  raise ValueError(
    f"A sweep member may set 'seed', 'weight_decay', {OPTIMIZER!r} and optimizer "
    f"hyperparameters ('optimizer.<name>'), which all live in the training state; got "
    f"{field!r}. Fields that change the program (model, batch size, epochs, ...) need "
    "separate sweeps."
  )


def optimizer_names(config: ml_collections.ConfigDict, members: Sequence[Member]) -> list[str]:
  """The members' optimizers, in order of first appearance (``config``'s for those not set).

  Example:
    >>> from jaxnets import train
    >>> optimizer_names(train.default_config(), [{"optimizer.name": "adam"}, {}])
    ['adam', 'momentum']
  """
  return list(dict.fromkeys(m.get(OPTIMIZER, config.optimizer.name) for m in members))


def member_config(config: ml_collections.ConfigDict, member: Member) -> ml_collections.ConfigDict:
  """The config of one member: ``config`` with the member's fields set (a copy).

  Example:
    >>> from jaxnets import train
    >>> c = member_config(train.default_config(), {"seed": 3, "optimizer.learning_rate": 0.5})
    >>> c.seed, c.optimizer.learning_rate
    (3, 0.5)
  """
  out = copy.deepcopy(config)
  for field, value in member.items():
    if field != "seed":
      _hyperparameter(field)
    *parents, leaf = field.split(".")
    target = out
    for parent in parents:
      target = target[parent]
    target[leaf] = value
  return out


def member_state(state: TrainState, i: int) -> TrainState:
  """Member ``i``'s state out of the stacked states of a sweep."""
  return jax.tree_util.tree_map(lambda leaf: leaf[i], state)


def init_members(
  config: ml_collections.ConfigDict,
  members: Sequence[Member],
  *,
  example_x: np.ndarray,
  steps_per_epoch: int,
) -> TrainState:
  """The members' initial states, stacked: what :func:`train_sweep` starts from.

  Member ``i``'s state is the launcher's initial state of ``member_config(config,
  members[i])``; its optimizer hyperparameters are set by name in the stacked optimizer
  state. Members that name different optimizers share one :func:`jaxnets.optim.switch` of
  them, whose ``optimizer_index`` picks each member's. The model's (cached) compiled
  initialization runs once per seed: cheaper to compile than a vmapped one.

  Args:
    config: a validated config.
    members: the members' overrides (see :func:`train_sweep`).
    example_x: one input example batch (shapes and dtypes).
    steps_per_epoch: optimizer steps per epoch (for a decaying schedule).

  Example:
    >>> import numpy as np
    >>> from jaxnets import train
    >>> state = init_members(train.default_config(), grid(seed=[0, 1, 2]),
    ...                      example_x=np.zeros((1, 8, 8, 1), np.float32), steps_per_epoch=1)
    >>> state.step.shape
    (3,)
  """
  decay = config.weight_decay > 0 or any("weight_decay" in m for m in members)
  names = optimizer_names(config, members)
  tx = build.optimizer(config, steps_per_epoch, decay=decay, names=names)
  model, loss_fn, task = build.model(config), build.loss(config), build.task(config)
  seeds = [int(m.get("seed", config.seed)) for m in members]
  states = [
    TrainState.create(model=model, tx=tx, loss_fn=loss_fn, seed=seed, sample_x=example_x, task=task)
    for seed in seeds
  ]
  state = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *states)
  opt_state = state.opt_state
  for field in sorted({f for m in members for f in m if f not in ("seed", OPTIMIZER)}):
    # A member that does not set the field keeps each optimizer's own value (the optimizers
    # of a switch may differ in their defaults of one name: Adam's ε and AdaGrad's).
    def member_values(current, field=field):
      return [m.get(field, np.asarray(current)[i]) for i, m in enumerate(members)]

    opt_state = map_hyperparameter(opt_state, _hyperparameter(field), member_values)
  if len(names) > 1:
    chosen = [m.get(OPTIMIZER, config.optimizer.name) for m in members]
    opt_state = set_hyperparameters(opt_state, **{INDEX: [names.index(n) for n in chosen]})
  state = state.replace(opt_state=opt_state)
  return state


def train_sweep(
  config: ml_collections.ConfigDict,
  members: Sequence[Member],
  *,
  data: Mapping[str, Batch] | None = None,
) -> SweepResult:
  """Trains every member of ``members`` (overrides of ``config``) together, in one program.

  Args:
    config: the shared config (its ``seed`` and hyperparameters are the defaults of members
      that do not set them).
    members: one dict per member with any of ``"seed"``, ``"weight_decay"``,
      ``"optimizer.name"`` and ``"optimizer.<hyperparameter>"`` (see :func:`grid`); a
      hyperparameter that several of the members' optimizers have is set in each of them.
    data: optional host arrays ``{"train": ..., <eval split>: ...}`` instead of
      ``config.dataset`` (set ``config.task``).

  Returns:
    A :class:`SweepResult`; a member whose loss diverged carries NaN metrics (the others
    are unaffected).

  Raises:
    ValueError: a bad config or member (each member's config is validated as the launcher
      would), or ``config.streaming`` (sweeps train on device-resident data).
  """
  members = [dict(m) for m in members]
  if not members:
    raise ValueError("A sweep needs at least one member.")
  for i, m in enumerate(members):
    try:
      validate_config(member_config(config, m))
    except ValueError as err:
      raise ValueError(f"Sweep member {i} {m}: {err}") from err
  if config.streaming:
    raise ValueError("Sweeps train on device-resident data; set config.streaming=False.")
  if config.finetune.pretrained is not None:
    raise ValueError("Sweeps do not fine-tune; run config.finetune through train_and_evaluate.")
  p = setup.parts(config, data)
  n = len(members)
  state = init_members(
    config, members, example_x=p.train.example["x"], steps_per_epoch=p.train.steps_per_epoch
  )
  state = setup.replicate(state, p.mesh)
  trainer = setup.trainer(config, p, state, members=n)
  history: dict[str, list] = {}
  eval_epochs: list[int] = []
  step_loss: list[np.ndarray] = []
  bar = reporting.ProgressBar(p.train.steps_per_epoch * config.num_epochs, config.progress_bar)

  def on_epoch(epoch: int, state: TrainState, record: dict, per_step: dict) -> None:
    del state
    if any(f"{name}_loss" in record for name in trainer.eval_sets):
      eval_epochs.append(epoch)
    for key, value in record.items():
      history.setdefault(key, []).append(value)
    step_loss.append(per_step["loss"])

  seeds = np.asarray([int(m.get("seed", config.seed)) for m in members])
  try:
    state = trainer.fit(state, range(config.num_epochs), seeds, on_epoch, progress=bar.update)
  finally:
    bar.close()
  epoch_seconds = np.asarray(history.pop("epoch_seconds"), np.float64)
  history.pop("examples_per_sec")
  return SweepResult(
    state=state,
    members=members,
    history={k: np.stack(v, axis=-1) for k, v in history.items()},
    eval_epochs=np.asarray(eval_epochs, np.int32),
    step_loss=np.concatenate(step_loss, axis=-1),
    epoch_seconds=epoch_seconds,
    compile_seconds=trainer.runner.compile_seconds,
  )


def best_member(
  metric: ArrayLike, keys: Sequence[Any], *, mode: str = "max"
) -> tuple[Any, np.ndarray]:
  """The key whose members have the best mean ``metric``, and the per-key means.

  Args:
    metric: ``f32[N]`` one value per member.
    keys: ``[N]`` each member's group, e.g. its learning rate (members sharing a key are
      its seeds).
    mode: ``"max"`` (e.g. accuracy) or ``"min"`` (e.g. loss). NaNs count as worst.

  Returns:
    ``(best_key, means)`` with ``means[i]`` the mean metric of the i-th distinct key (in
    sorted order).

  Example:
    >>> best_member([0.5, 0.7, 0.9, 0.8], [0.1, 0.1, 1.0, 1.0])[0]
    1.0
  """
  if mode not in ("max", "min"):
    raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
  metric = np.asarray(metric, np.float64)
  keys = np.asarray(keys)
  distinct = np.unique(keys)
  means = np.array([np.mean(metric[keys == k]) for k in distinct])
  score = np.where(np.isnan(means), -math.inf if mode == "max" else math.inf, means)
  best = int(np.argmax(score) if mode == "max" else np.argmin(score))
  return distinct[best].item(), means


__all__ = [
  "SweepResult",
  "best_member",
  "grid",
  "init_members",
  "member_config",
  "member_state",
  "optimizer_names",
  "train_sweep",
]
