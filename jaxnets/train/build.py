"""From a validated config to the parts of a run: task, loss, model, optimizer and data.

This is the edge of the engine: the only module below the public entry points that reads a
config. Everything it returns is a plain value (a module, a transformation, arrays).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
import jax
import ml_collections
import numpy as np
import optax

from jaxnets import data, losses, models, optim
from jaxnets.data import augment
from jaxnets.types import Batch, PRNGKey

Splits = dict[str, Batch]


def task(config: ml_collections.ConfigDict) -> str:
  """The run's task: ``config.task``, or the one its dataset declares."""
  return config.task if config.task is not None else data.task(config.dataset)


def loss_name(config: ml_collections.ConfigDict) -> str:
  """The run's loss: ``config.loss``, or the default loss of its task."""
  return config.loss if config.loss is not None else losses.DEFAULT_LOSS[task(config)]


def loss(config: ml_collections.ConfigDict) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """The run's per-example loss function."""
  return losses.get_loss(loss_name(config))


def model(config: ml_collections.ConfigDict) -> nn.Module:
  """The configured model (unbound; nothing initialized)."""
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  return models.get_model(config.model.name, **kwargs)


def augmentation(
  config: ml_collections.ConfigDict,
) -> Callable[[PRNGKey, jax.Array], jax.Array] | None:
  """``(key, x) -> x``: the configured policy on every example of a batch; None for ``"none"``.

  ``config.augment.policy`` names a :data:`jaxnets.data.augment.POLICIES` entry; the other
  fields of ``config.augment`` are its strengths (:func:`jaxnets.data.augment.get_policy`).
  """
  fields = dict(config.augment)
  policy = augment.get_policy(fields.pop("policy"), **fields)
  return None if policy is None else functools.partial(augment.apply_batch, policy)


def _kernels(params: Any) -> Any:
  """Weight-decay mask: True for kernels (ndim >= 2), False for biases and scales."""
  return jax.tree_util.tree_map(lambda p: np.ndim(p) >= 2, params)


def optimizer(
  config: ml_collections.ConfigDict,
  steps_per_epoch: int,
  *,
  decay: bool | None = None,
  names: Sequence[str] | None = None,
) -> optax.GradientTransformation:
  """The configured optimizer, its weight decay and learning-rate schedule, as one chain.

  Every hyperparameter is injected into the optimizer state, so it can be read and changed
  by name (:func:`jaxnets.optim.hyperparams.set_hyperparameters`): ``learning_rate`` and the
  optimizer's own, plus ``weight_decay`` when the chain decays.

  Args:
    config: a validated config.
    steps_per_epoch: optimizer steps per epoch (for the length of a decaying schedule).
    decay: chain ``optax.add_decayed_weights`` first (default: when ``weight_decay > 0``);
      a sweep whose members set their own ``weight_decay`` forces it on.
    names: optimizers to build instead of ``config.optimizer.name``, each with the config's
      other optimizer fields; two or more become one :func:`jaxnets.optim.switch` (a sweep
      whose members choose their optimizer).

  Returns:
    ``add_decayed_weights(λ) → flatten(optimizer(η) → schedule multiplier)``, the parts in
    use (the optimizer a switch when ``names`` has several).
  """
  kwargs = {k: v for k, v in config.optimizer.items() if k not in ("name", "learning_rate")}
  names = list(names or [config.optimizer.name])
  built = {
    name: optim.get_optimizer(
      name, config.optimizer.learning_rate, impl=config.optimizer_impl, **kwargs
    )
    for name in names
  }
  base = built[names[0]] if len(names) == 1 else optim.switch(built)
  decay = config.weight_decay > 0 if decay is None else decay
  if decay and "weight_decay" in kwargs:
    raise ValueError(
      f"config.optimizer.weight_decay ({config.optimizer.name}'s own) and config.weight_decay "
      "are both set; use one of them."
    )
  schedule = lr_multiplier(config, steps_per_epoch)
  if schedule is not None:
    base = optax.chain(base, optax.scale_by_schedule(schedule))
  # Every registered optimizer is elementwise: on one vector of all the parameters it is the
  # same arithmetic in a few kernels instead of a few per parameter array (small models'
  # steps on XLA:CPU are bound by the number of kernels; benchmarks/RESULTS.md).
  base = _flattened(base)
  if not decay:
    return base
  mask = _kernels if config.weight_decay_params == "kernels" else None
  decayed = optax.inject_hyperparams(optax.add_decayed_weights, static_args=("mask",))
  return optax.chain(decayed(weight_decay=config.weight_decay, mask=mask), base)


def _flattened(inner: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
  """``optax.flatten(inner)``, or ``inner`` itself on a tree without arrays (a frozen group)."""
  flat = optax.flatten(inner)
  pick = lambda tree: (
    flat if jax.tree_util.tree_leaves(tree) else optax.with_extra_args_support(inner)
  )
  return optax.GradientTransformationExtraArgs(
    lambda params: pick(params).init(params),
    lambda updates, state, params=None, **extra: pick(updates).update(
      updates, state, params, **extra
    ),
  )


def lr_multiplier(config: ml_collections.ConfigDict, steps_per_epoch: int) -> optax.Schedule | None:
  """The factor η is multiplied by at each step, or None for a constant η without warmup.

  ``config.warmup_epochs`` > 0 ramps it linearly from 0 to 1 over that many epochs (the
  remedy for runs that die in their first steps at a large η, Goyal et al. 2017); then it
  stays at 1 (``lr_schedule="constant"``) or decays to 0 along a cosine over the rest of
  the run (``"cosine"``).

  Example:
    >>> from jaxnets import train
    >>> config = train.default_config()
    >>> config.num_epochs, config.warmup_epochs, config.lr_schedule = 4, 1, "cosine"
    >>> [round(float(lr_multiplier(config, 2)(t)), 3) for t in range(9)]
    [0.0, 0.5, 1.0, 0.933, 0.75, 0.5, 0.25, 0.067, 0.0]
  """
  total = config.num_epochs * steps_per_epoch
  warmup = config.warmup_epochs * steps_per_epoch
  if config.lr_schedule == "cosine":
    if warmup:
      return optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup, total)
    return optax.cosine_decay_schedule(1.0, total)
  if warmup:
    ramp = optax.linear_schedule(0.0, 1.0, warmup)
    return optax.join_schedules([ramp, optax.constant_schedule(1.0)], [warmup])
  return None


def load_splits(config: ml_collections.ConfigDict, names: tuple[str, ...]) -> Splits:
  """The named splits of ``config.dataset`` in host memory (resized when asked)."""
  kw = dict(data_dir=config.data_dir, image_size=config.image_size)
  return {name: data.load(config.dataset, name, **kw) for name in names}


def input_statistics(train_x: np.ndarray) -> dict[str, np.ndarray]:
  """Per-feature mean and standard deviation (+1e-6) of the training inputs."""
  return {"mean": train_x.mean(0), "std": train_x.std(0) + 1e-6}


def standardize(splits: Mapping[str, Batch], stats: Mapping[str, np.ndarray]) -> Splits:
  """Every split with ``x`` replaced by ``(x - mean) / std`` (other arrays untouched)."""
  out = {}
  for name, split in splits.items():
    out[name] = dict(split)
    out[name]["x"] = ((split["x"] - stats["mean"]) / stats["std"]).astype(np.float32)
  return out


def check_model_fits_data(
  module: nn.Module, sample_x: np.ndarray, targets: np.ndarray, task: str, model_name: str
) -> None:
  """Raises ValueError when the model's outputs cannot be scored against ``targets``."""
  init = lambda x: module.init_with_output(jax.random.key(0), x, train=False)[0]
  out = jax.eval_shape(init, sample_x)
  if task == "classification":
    if not np.issubdtype(targets.dtype, np.integer):
      raise ValueError(
        f"A classification task needs integer labels, but the targets are {targets.dtype}; "
        "set config.task='regression' (and config.loss='squared') for real-valued targets."
      )
    n_classes = int(max(targets.max(), 0)) + 1
    if out.ndim != 2 or out.shape[-1] < n_classes:
      raise ValueError(
        f"Model {model_name!r} outputs shape {out.shape[1:]} per example but the labels go "
        f"up to {n_classes - 1}; set config.model.num_classes >= {n_classes}."
      )
  elif out.shape[1:] != targets.shape[1:]:
    raise ValueError(
      f"Model {model_name!r} outputs shape {out.shape[1:]} per example but the targets have "
      f"shape {targets.shape[1:]}."
    )
