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
    >>> class Net(nn.Module):
    ...   @nn.compact
    ...   def __call__(self, x, train=False):
    ...     x = nn.BatchNorm(use_running_average=not train, name="stem")(x)
    ...     return nn.Dense(2, name="fc")(x)
    >>> x = jnp.arange(8.0).reshape(4, 2)
    >>> variables = Net().init(jax.random.key(0), x)
    >>> _, new = FrozenBatchNorm(Net().apply, ("stem",))(variables, x, train=True,
    ...                                                  mutable=["batch_stats"])
    >>> new["batch_stats"]["stem"]["mean"].tolist()  # Still the initial running mean.
    [0.0, 0.0]
    >>> _, new = Net().apply(variables, x, train=True, mutable=["batch_stats"])
    >>> [round(m, 2) for m in new["batch_stats"]["stem"]["mean"].tolist()]  # Not frozen: updated.
    [0.03, 0.04]
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
