"""The training state: everything a step reads and writes, as one pytree."""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxnets.types import Params, PRNGKey

LossFn = Callable[[jax.Array, jax.Array], jax.Array]  # (outputs, targets) -> f32[batch]


def run_keys(seed: int | jax.Array) -> tuple[jax.Array, jax.Array]:
  """``(init_key, step_key)`` of a run seeded ``seed``: the one key schedule of jaxnets.

  ``init_key`` initializes the parameters; step ``t`` draws its randomness (dropout) from
  ``fold_in(step_key, t)``. The data order is a separate function of the seed
  (:func:`jaxnets.data.epoch_order`). Works on a traced seed, so the N members of a sweep
  get their keys inside one ``vmap``.

  Example:
    >>> init_key, step_key = run_keys(0)
    >>> jax.dtypes.issubdtype(init_key.dtype, jax.dtypes.prng_key)
    True
  """
  init_key, step_key = jax.random.split(jax.random.key(seed))
  return init_key, step_key


# LLVM's O1 compiles the initialization's threefry kernels 2-6x faster than the default O3 on
# XLA:CPU (ResNet-18: 5.7 s instead of 32 s) and gives bit-identical parameters; the program
# runs once per run, so its speed does not matter.
_INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def _init_fn(model: flax.linen.Module) -> Callable[[jax.Array, jax.Array], Any]:
  init = lambda key, x: model.init({"params": key}, x, train=False)
  traced = jax.jit(init)  # Inside another trace (eval_shape, a vmapped sweep's init).
  if jax.default_backend() != "cpu":
    return traced
  top_level = jax.jit(init, compiler_options=_INIT_COMPILER_OPTIONS)

  def run(key: jax.Array, x: jax.Array) -> Any:
    inside_trace = any(isinstance(a, jax.core.Tracer) for a in (key, x))
    return (traced if inside_trace else top_level)(key, x)

  return run


_cached_init_fn = functools.lru_cache(maxsize=64)(_init_fn)


def _initializer(model: flax.linen.Module) -> Callable[[jax.Array, jax.Array], Any]:
  """``(key, x) -> variables``, jitted once per model (every run and sweep of it shares it).

  Compiling the initialization (random kernels: threefry) costs more than running it, so a
  process that builds many states of one architecture compiles it once.
  """
  try:
    return _cached_init_fn(model)
  except TypeError:  # A module with unhashable attributes: compiled for this call only.
    return _init_fn(model)


class TrainState(struct.PyTreeNode):
  """Parameters, BatchNorm statistics, optimizer state, step counter and PRNG key.

  ``apply_fn``, ``tx``, ``loss_fn`` and ``task`` are static (not pytree leaves): they
  identify the computation, so a jitted step compiles once per model/optimizer/loss. The
  states of N models trained together (:func:`jaxnets.train.train_sweep`) are one
  ``TrainState`` whose leaves have a leading axis N.

  Attributes:
    step: ``i32[]`` number of optimizer updates applied so far.
    params: the model parameters.
    batch_stats: BatchNorm running statistics (``{}`` for models without BatchNorm).
    opt_state: the optimizer's state (hyperparameters injected, readable by name).
    rng: a typed key; step ``t`` uses ``fold_in(rng, t)``, so a resumed run repeats.
    apply_fn: the model's ``apply``.
    tx: the optimizer.
    loss_fn: ``loss_fn(outputs, targets) -> f32[batch]``, per-example losses.
    task: ``"classification"`` (metrics include accuracy) or ``"regression"``.
  """

  step: jax.Array
  params: Params
  batch_stats: Any
  opt_state: optax.OptState
  rng: PRNGKey
  apply_fn: Callable[..., Any] = struct.field(pytree_node=False)
  tx: optax.GradientTransformation = struct.field(pytree_node=False)
  loss_fn: LossFn = struct.field(pytree_node=False)
  task: str = struct.field(pytree_node=False, default="classification")

  @classmethod
  def create(
    cls,
    *,
    model: flax.linen.Module,
    tx: optax.GradientTransformation,
    loss_fn: LossFn,
    seed: int | jax.Array,
    sample_x: jax.Array,
    task: str = "classification",
  ) -> "TrainState":
    """Initializes a model on ``sample_x`` (one example batch) and the optimizer on its params.

    The keys come from :func:`run_keys` of ``seed``.

    Example:
      >>> import optax, jax.numpy as jnp
      >>> from jaxnets import losses, models
      >>> state = TrainState.create(model=models.MLP(hidden=(8,)), tx=optax.sgd(0.1),
      ...     loss_fn=losses.softmax_cross_entropy, seed=0, sample_x=jnp.zeros((1, 4)))
      >>> int(state.step), sorted(state.params)
      (0, ['Dense_0', 'Dense_1'])
    """
    init_key, step_key = run_keys(seed)
    variables = _initializer(model)(init_key, sample_x)
    params = variables["params"]
    return cls(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=variables.get("batch_stats", {}),
      opt_state=tx.init(params),
      rng=step_key,
      apply_fn=model.apply,
      tx=tx,
      loss_fn=loss_fn,
      task=task,
    )

  def variables(self) -> dict[str, Any]:
    """The Flax variables dict for ``apply`` (params plus batch_stats when present)."""
    if self.batch_stats:
      return {"params": self.params, "batch_stats": self.batch_stats}
    return {"params": self.params}

  def checkpoint_items(self) -> dict[str, Any]:
    """The pytree that checkpoints save and restore (everything but the static fields)."""
    return {
      "step": self.step,
      "params": self.params,
      "batch_stats": self.batch_stats,
      "opt_state": self.opt_state,
      "rng": self.rng,
    }

  def replace_items(self, items: dict[str, Any]) -> "TrainState":
    """Returns this state with the fields of a restored :meth:`checkpoint_items` pytree."""
    return self.replace(**items)
