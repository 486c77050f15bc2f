"""A fine-tuning run's state at step 0: ``config.finetune`` read, :mod:`jaxnets.finetune` applied.

With ``config.finetune.pretrained`` set, :func:`jaxnets.train.setup.initial_state` builds the
state here instead of from scratch:

1. the model is initialized from ``config.seed`` as usual (its head stays so: a fresh output
   layer for the new classes);
2. every other top-level module takes the pretrained parameters and BatchNorm statistics
   (shapes checked), and the head entries of ``shared_classes`` are copied over;
3. the optimizer is ``multi_transform``-ed by group: the configured optimizer on the body, the
   same with ``learning_rate × head_lr_multiplier`` on the head, ``set_to_zero`` on ``freeze``;
4. ``apply_fn`` runs the frozen stages' BatchNorm layers in evaluation mode
   (:class:`jaxnets.finetune.FrozenBatchNorm`), so their statistics stay the pretrained ones.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import ml_collections

from jaxnets import finetune
from jaxnets.train import build
from jaxnets.train.state import TrainState


def groups(
  config: ml_collections.ConfigDict, model: nn.Module, example_x: Any
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[int, ...]] | None]:
  """``(head, frozen, class_axes)``: the top-level names of each group, checked against the model.

  Raises:
    ValueError: a ``head`` or ``freeze`` name matches no top-level module (the message lists
      them), or the head is frozen.

  Example:
    >>> import numpy as np
    >>> from jaxnets.train import default_config
    >>> config = default_config()  # An MLP: Dense_0, Dense_1.
    >>> config.finetune.pretrained, config.finetune.freeze = "runs/source", ("Dense_0",)
    >>> groups(config, build.model(config), np.zeros((1, 8, 8, 1), np.float32))[:2]
    (('Dense_1',), ('Dense_0',))
  """
  ft = config.finetune
  init = lambda x: model.init(jax.random.key(0), x, train=False)["params"]
  top_level = sorted(jax.eval_shape(init, example_x))
  axes = None
  if ft.head is None or ft.shared_classes:
    axes = finetune.class_axes(model, example_x)
  if ft.head is None:
    head = tuple(sorted({path.split("/")[0] for path in axes}))
    if not head:
      raise ValueError(
        f"No parameter of {config.model.name!r} depends on its number of classes; name the "
        f"output layer in config.finetune.head (top-level names: {top_level})."
      )
  else:
    head = finetune.resolve_names(ft.head, top_level, "config.finetune.head")
  frozen = finetune.resolve_names(ft.freeze, top_level, "config.finetune.freeze")
  if set(head) & set(frozen):
    raise ValueError(
      f"config.finetune.freeze includes the head {sorted(set(head) & set(frozen))}, which is "
      "initialized from scratch and must train."
    )
  return head, frozen, axes


def optimizer(
  config: ml_collections.ConfigDict,
  steps_per_epoch: int,
  head: tuple[str, ...],
  frozen: tuple[str, ...],
) -> Any:
  """The configured optimizer per group: body ``η``, head ``η × head_lr_multiplier``, frozen 0.

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets.train import default_config
    >>> config = default_config()  # Momentum, learning rate 0.1.
    >>> config.finetune.pretrained = "runs/source"
    >>> tx = optimizer(config, 1, head=("fc",), frozen=())
    >>> state = tx.init({"fc": jnp.zeros(2), "conv": jnp.zeros(2)})
    >>> round(float(state.inner_states["head"].inner_state.hyperparams["learning_rate"]), 6)
    1.0
  """
  body = build.optimizer(config, steps_per_epoch)
  head_config = config.copy_and_resolve_references()
  multiplier = config.finetune.head_lr_multiplier
  head_config.optimizer.learning_rate = config.optimizer.learning_rate * multiplier
  return finetune.group_optimizer(body, build.optimizer(head_config, steps_per_epoch), head, frozen)


def initial_state(
  config: ml_collections.ConfigDict,
  model: nn.Module,
  task: str,
  example_x: Any,
  steps_per_epoch: int,
  *,
  load_pretrained: bool = True,
) -> TrainState:
  """The fine-tuning run's state at step 0 (see the module docstring).

  Args:
    config: a validated config with ``config.finetune.pretrained`` set.
    model: the configured model.
    task: the run's task.
    example_x: one input batch (shapes and dtypes).
    steps_per_epoch: optimizer steps per epoch.
    load_pretrained: False builds only the structure (a restore target), reading no file.
  """
  ft = config.finetune
  head, frozen, axes = groups(config, model, example_x)
  tx = optimizer(config, steps_per_epoch, head, frozen)
  state = TrainState.create(
    model=model,
    tx=tx,
    loss_fn=build.loss(config),
    seed=config.seed,
    sample_x=example_x,
    task=task,
  )
  if load_pretrained:
    pretrained = finetune.load_pretrained(ft.pretrained, config.model.name)
    variables = finetune.transplant(
      state.variables(),
      pretrained,
      head,
      shared_classes=tuple(tuple(p) for p in ft.shared_classes or ()),
      class_axes=axes,
      source=ft.pretrained,
    )
    state = state.replace(
      params=variables["params"],
      batch_stats=variables["batch_stats"],
      opt_state=tx.init(variables["params"]),
    )
  return state.replace(apply_fn=finetune.FrozenBatchNorm(model.apply, frozen))
