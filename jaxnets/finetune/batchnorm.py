"""Frozen stages in evaluation mode: their BatchNorm layers use, and keep, running statistics.

Freezing a stage means more than zero updates for its weights: in training mode its BatchNorm
layers would still normalize with each batch's statistics and overwrite their running
averages with the target data's. :class:`FrozenBatchNorm` wraps a model's ``apply`` so that
every ``nn.BatchNorm`` under a frozen top-level module runs as in evaluation mode (PyTorch's
``module.eval()`` on the frozen part): it normalizes with the stored running statistics and
leaves them unchanged, so a frozen stage is a fixed function, the same in training and in
evaluation. The other layers are untouched.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn


@dataclasses.dataclass(frozen=True)
class FrozenBatchNorm:
  """``apply_fn`` with the BatchNorm layers of the ``frozen`` top-level modules in eval mode.

  A hashable value (compared by its fields), so it can be the static ``apply_fn`` of a
  :class:`jaxnets.train.TrainState` and a jitted step compiles once.

  Attributes:
    apply_fn: a linen ``Module.apply``.
    frozen: top-level module names whose BatchNorm layers keep their running statistics.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jaxnets import models
    >>> model = models.get_model("resnet18", num_classes=2, width_multiplier=0.125,
    ...                          small_input=True)
    >>> x = jax.random.normal(jax.random.key(0), (4, 8, 8, 1))
    >>> variables = model.init(jax.random.key(1), x)
    >>> apply = FrozenBatchNorm(model.apply, ("bn1",))
    >>> _, new = apply(variables, x, train=True, mutable=["batch_stats"])
    >>> bool((new["batch_stats"]["bn1"]["mean"] == variables["batch_stats"]["bn1"]["mean"]).all())
    True
  """

  apply_fn: Callable[..., Any]
  frozen: tuple[str, ...]

  def _intercept(self, next_fun, args, kwargs, context):
    module = context.module
    if (
      isinstance(module, nn.BatchNorm)
      and context.method_name == "__call__"
      and module.path[:1]
      and module.path[0] in self.frozen
    ):
      # The models fix use_running_average at construction (from `train`); Flax refuses it
      # again at call time, so the bound layer's field is switched for this call only.
      saved = module.use_running_average
      object.__setattr__(module, "use_running_average", True)
      try:
        return next_fun(*args, **kwargs)
      finally:
        object.__setattr__(module, "use_running_average", saved)
    return next_fun(*args, **kwargs)

  def __call__(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
    if not self.frozen:
      return self.apply_fn(variables, *args, **kwargs)
    with nn.intercept_methods(self._intercept):
      return self.apply_fn(variables, *args, **kwargs)
