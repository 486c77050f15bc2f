"""Fine-tuning (course chapter 11): pretrained parameters, a new head, per-group updates.

* :func:`load_pretrained`: ``{"params", "batch_stats"}`` of a jaxnets run's Orbax checkpoint,
  a :func:`jaxnets.params.save_params` directory, or a PyTorch file (``.safetensors``,
  ``.pth``) through :func:`jaxnets.interop.load_variables`.
* :func:`find_head` / :func:`transplant`: the output layer of a model, and fresh variables with
  every other layer taken from the pretrained ones (shapes checked; rows of classes the source
  and target share reused).
* :func:`resolve_names` / :func:`group_labels` / :func:`group_optimizer`: the parameters
  split into ``"head"``, ``"body"`` and ``"frozen"``, each with its own transformation
  (``optax.multi_transform``; frozen parameters get ``optax.set_to_zero``).
* :class:`FrozenBatchNorm`: an ``apply`` that runs the BatchNorm layers of frozen stages in
  evaluation mode, so their running statistics never change.

The training engine reads ``config.finetune`` and calls these
(:func:`jaxnets.train.train_and_evaluate`); they take plain values and read no config.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets import models
  >>> find_head(models.MLP(hidden=(8,), num_classes=3), jnp.zeros((1, 4)))
  ('Dense_1',)
"""

from jaxnets.finetune.batchnorm import FrozenBatchNorm
from jaxnets.finetune.groups import group_labels, group_optimizer, resolve_names
from jaxnets.finetune.pretrained import load_pretrained
from jaxnets.finetune.surgery import class_axes, find_head, transplant

__all__ = [
  "FrozenBatchNorm",
  "class_axes",
  "find_head",
  "group_labels",
  "group_optimizer",
  "load_pretrained",
  "resolve_names",
  "transplant",
]
