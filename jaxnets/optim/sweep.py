"""Hyperparameter and seed sweeps as ONE compiled program: ``jax.vmap`` over N models.

Every model of a sweep has its own learning rate, initialization key and data order, and
all N are trained together: the single-model training step is vmapped over the model axis,
so N models cost one compiled program whose arithmetic is N times wider. That removes the
per-step overhead of N small programs; how much it buys depends on how much of a step is
overhead (on an accelerator, where one small model cannot fill the device, nearly all of
it; on a 2-core CPU, a lot for tiny models and little for compute-bound ones — see
``benchmarks/sweep.py`` and ``benchmarks/RESULTS.md``).

The learning rate lives in the optimizer state (``optax.inject_hyperparams``, through
:func:`jaxnets.optim.get_optimizer`), so a batch of N optimizer states simply carries N
learning rates. A member's seed gives its keys as::

  init_key, dropout_key = jax.random.split(jax.random.key(seed))

and its epoch ``e`` visits the training set in the order of
``jaxnets.data.batches(train_data, batch_size, seed=seed, epoch=e)`` (a numpy permutation,
the remainder dropped), drawn on the host and passed to the compiled program as an
``i32[N, epochs, steps, batch]`` index array; XLA:CPU sorts slowly, and an on-device
permutation per model and epoch cost more than training a small model. So a sweep member
equals a separate run of the same seed with the standard pipeline
(``tests/optim/test_sweep.py`` checks this against plain, unvmapped training).

Two loops run the same step:
  * ``loop="scan"``: ``epochs_per_call`` epochs per compiled call, each epoch a ``lax.scan``
    over its steps (default: every epoch in one call, so the whole sweep is one program).
  * ``loop="step"``: one compiled call per step from a Python loop. XLA:CPU runs ``lax``
    convolutions inside ``scan`` bodies slowly (a vmapped one becomes a grouped convolution),
    so such models can be faster this way; ``benchmarks/sweep.py`` measures both loops.

Example:
  >>> import numpy as np
  >>> from jaxnets.models import SoftmaxRegression
  >>> rng = np.random.default_rng(0)
  >>> data = {"x": rng.normal(size=(64, 3)).astype(np.float32), "y": rng.integers(0, 2, 64)}
  >>> lrs, seeds = grid([0.1, 0.3], [0, 1])
  >>> result = train_sweep(SoftmaxRegression(2), data, learning_rates=lrs, seeds=seeds,
  ...                      num_epochs=2, batch_size=16, optimizer="sgd")
  >>> result.train_loss.shape  # (models, steps)
  (4, 8)
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxnets import losses as losses_lib
from jaxnets.data import num_batches
from jaxnets.optim.registry import get_optimizer

LOOPS = ("scan", "step")


class SweepState(NamedTuple):
  """The state of N models trained together (every leaf has a leading axis N)."""

  params: Any  # the N models' parameters
  opt_state: Any  # the N optimizer states (each holding its own learning rate)
  seed: jax.Array  # i32[N]: each member's seed (its data order)
  dropout_key: jax.Array  # key[N]: dropout masks
  step: jax.Array  # i32[N]: optimizer steps taken


class SweepResult(NamedTuple):
  """What :func:`train_sweep` returns (numpy arrays except ``params``)."""

  params: Any  # the trained parameters, leading axis N
  learning_rates: np.ndarray  # f32[N]
  seeds: np.ndarray  # i32[N]
  train_loss: np.ndarray  # f32[N, steps]: the minibatch loss before each update
  wall_times: np.ndarray  # f64[calls]: seconds since the start after each call (no compile)
  call_steps: np.ndarray  # i32[calls]: steps done after each call
  compile_seconds: float  # time spent compiling (not in wall_times)


def split_seed(seed: int | jax.Array) -> tuple[jax.Array, jax.Array]:
  """``(init_key, dropout_key)`` of one sweep member, from its integer seed."""
  keys = jax.random.split(jax.random.key(seed))
  return keys[0], keys[1]


def grid(learning_rates: ArrayLike, seeds: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  """The Cartesian product of learning rates and seeds, flattened (learning-rate major).

  Example:
    >>> lrs, seeds = grid([0.5, 2.0], [0, 1, 2])
    >>> lrs.tolist(), seeds.tolist()
    ([0.5, 0.5, 0.5, 2.0, 2.0, 2.0], [0, 1, 2, 0, 1, 2])
  """
  lrs = np.asarray(learning_rates, np.float32).reshape(-1)
  seeds = np.asarray(seeds, np.int32).reshape(-1)
  return np.repeat(lrs, len(seeds)), np.tile(seeds, len(lrs))


def _check_members(learning_rates: ArrayLike, seeds: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  lrs = np.asarray(learning_rates, np.float32).reshape(-1)
  seeds = np.asarray(seeds).reshape(-1)
  if lrs.size == 0 or seeds.size == 0:
    raise ValueError("A sweep needs at least one learning rate and one seed.")
  if not np.issubdtype(seeds.dtype, np.integer):
    raise ValueError(f"seeds must be integers, got dtype {seeds.dtype}.")
  if lrs.size == 1 and seeds.size > 1:
    lrs = np.repeat(lrs, seeds.size)
  if seeds.size == 1 and lrs.size > 1:
    seeds = np.repeat(seeds, lrs.size)
  if lrs.size != seeds.size:
    raise ValueError(
      f"learning_rates ({lrs.size}) and seeds ({seeds.size}) must have the same "
      f"length (one pair per model), or one of them length 1; use grid() for "
      f"every combination."
    )
  if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
    raise ValueError(f"learning rates must be positive and finite, got {lrs.tolist()}.")
  return lrs, seeds.astype(np.int32)


def _check_positive_int(value: Any, name: str) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _make_param_initializer(model: nn.Module, shape: tuple[int, ...], dtype: Any) -> Callable:
  sample = jnp.zeros(shape, dtype)

  @jax.jit
  def init(seed: jax.Array) -> tuple[Any, jax.Array]:
    init_key, dropout_key = split_seed(seed)
    return model.init(init_key, sample)["params"], dropout_key

  return init


_cached_param_initializer = functools.lru_cache(maxsize=32)(_make_param_initializer)


def _param_initializer(model: nn.Module, shape: tuple[int, ...], dtype: Any) -> Callable:
  """``seed -> (params, dropout_key)``, jitted; cached per (hashable) model."""
  try:
    return _cached_param_initializer(model, shape, jnp.dtype(dtype))
  except TypeError:  # A module with unhashable attributes: no sharing.
    return _make_param_initializer(model, shape, dtype)


class Sweep:
  """Compiled training of N models of one architecture and one optimizer, vmapped.

  Build it once and call :meth:`init` and :meth:`run`; compiled programs are cached per
  (number of models, epochs per call), so repeated runs do not recompile.

  Args:
    model: a linen module with ``__call__(x, train)`` and only a ``"params"`` collection.
    train_data: ``{"x": f32[n, ...], "y": i32[n] or f32[n, k]}`` (kept on the device).
    optimizer: a name for :func:`jaxnets.optim.get_optimizer`.
    batch_size: examples per step (the last partial batch of an epoch is dropped).
    impl: ``"optax"`` or ``"scratch"`` (see ``get_optimizer``).
    optimizer_kwargs: other hyperparameters of the optimizer (shared by all models).
    loss: ``"cross_entropy"`` or ``"squared"``.
    shuffle: shuffle every epoch (True) or visit the data in order every epoch (False).
    lr_schedule: optional multiplier of every model's learning rate as a function of the
      step, e.g. ``optax.cosine_decay_schedule(1.0, total_steps)`` (chained after the
      optimizer with ``optax.scale_by_schedule``; the updates are linear in η, so this is
      the schedule η·f(t)).
    weight_decay: optional λ > 0 added to the gradients as λ·w (``optax.add_decayed_weights``
      before the optimizer: L2 regularization, PyTorch's ``weight_decay`` convention).

  Example:
    >>> import numpy as np
    >>> from jaxnets.models import SoftmaxRegression
    >>> data = {"x": np.ones((32, 2), np.float32), "y": np.zeros(32, np.int32)}
    >>> sweep = Sweep(SoftmaxRegression(2), data, optimizer="sgd", batch_size=8)
    >>> state = sweep.init(learning_rates=[0.1, 1.0], seeds=[0, 0])
    >>> state, loss = sweep.run(state, num_epochs=1)
    >>> loss.shape
    (2, 4)
  """

  def __init__(
    self,
    model: nn.Module,
    train_data: Mapping[str, np.ndarray],
    *,
    optimizer: str = "adam",
    batch_size: int,
    impl: str = "optax",
    optimizer_kwargs: Mapping[str, Any] | None = None,
    loss: str = "cross_entropy",
    shuffle: bool = True,
    lr_schedule: Callable[[jax.Array], jax.Array] | None = None,
    weight_decay: float = 0.0,
  ):
    if not {"x", "y"} <= set(train_data):
      raise ValueError(f"train_data needs 'x' and 'y' arrays, got keys {sorted(train_data)}.")
    self.n = len(train_data["x"])
    if len(train_data["y"]) != self.n:
      raise ValueError(f"x has {self.n} examples but y has {len(train_data['y'])}.")
    _check_positive_int(batch_size, "batch_size")
    self.steps_per_epoch = num_batches(self.n, batch_size)
    self.model = model
    self.batch_size = batch_size
    self.shuffle = shuffle
    self.loss_fn: Callable[[jax.Array, jax.Array], jax.Array] = losses_lib.get_loss(loss)
    if not weight_decay >= 0:
      raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}.")
    # Any positive placeholder: every model's own rate is written into its state by init().
    parts = [get_optimizer(optimizer, 1.0, impl=impl, **dict(optimizer_kwargs or {}))]
    if weight_decay > 0:
      parts.insert(0, optax.add_decayed_weights(weight_decay))
    if lr_schedule is not None:
      parts.append(optax.scale_by_schedule(lr_schedule))
    self._inject_index = 1 if weight_decay > 0 else 0  # Where the learning rate lives.
    self.tx = optax.chain(*parts)
    self.x = jnp.asarray(train_data["x"])
    self.y = jnp.asarray(train_data["y"])
    self._compiled: dict[tuple, Any] = {}
    self.compile_seconds = 0.0
    self._sample_x = jnp.zeros((1,) + self.x.shape[1:], self.x.dtype)
    variables = jax.eval_shape(model.init, jax.random.key(0), self._sample_x)
    extra = sorted(set(variables) - {"params"})
    if extra:
      raise ValueError(
        f"Sweeps support models whose only variables are 'params'; this model "
        f"also has {extra} (e.g. BatchNorm). Train it with jaxnets.train."
      )

  # -- single-model pure functions (vmapped below) ------------------------------------------

  def _init_one(self, params: Any, learning_rate: jax.Array):
    opt_state = list(self.tx.init(params))
    inject = opt_state[self._inject_index]
    hyper = dict(inject.hyperparams)
    hyper["learning_rate"] = jnp.asarray(learning_rate, hyper["learning_rate"].dtype)
    opt_state[self._inject_index] = inject._replace(hyperparams=hyper)
    return tuple(opt_state)

  def order(self, seeds: ArrayLike, epoch0: int, num_epochs: int) -> np.ndarray:
    """``i32[N, num_epochs, steps_per_epoch, batch]``: the members' example indices.

    Member i's epoch e is ``numpy.random.default_rng([seeds[i], e]).permutation(n)`` cut
    into batches (``jaxnets.data.batches`` with ``seed=seeds[i], epoch=e``), or the data in
    order with ``shuffle=False``.
    """
    used = self.steps_per_epoch * self.batch_size
    out = np.empty((len(seeds), num_epochs, used), np.int32)
    for i, seed in enumerate(np.asarray(seeds).tolist()):
      for e in range(num_epochs):
        out[i, e] = (
          np.random.default_rng([seed, epoch0 + e]).permutation(self.n)[:used]
          if self.shuffle
          else np.arange(used)
        )
    return out.reshape(len(seeds), num_epochs, self.steps_per_epoch, self.batch_size)

  def _step_one(
    self, state: SweepState, idx: jax.Array, x_all: jax.Array, y_all: jax.Array
  ) -> tuple[SweepState, jax.Array]:
    x, y = x_all[idx], y_all[idx]
    rngs = {"dropout": jax.random.fold_in(state.dropout_key, state.step)}

    def loss_of(params):
      out = self.model.apply({"params": params}, x, train=True, rngs=rngs)
      return self.loss_fn(out, y)

    loss, grads = jax.value_and_grad(loss_of)(state.params)
    updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return state._replace(params=params, opt_state=opt_state, step=state.step + 1), loss

  def _epochs_one(self, state: SweepState, idx: jax.Array, x_all: jax.Array, y_all: jax.Array):
    """Trains one model through ``idx: i32[epochs, steps, batch]``; per-step losses."""
    step = lambda st, batch_idx: self._step_one(st, batch_idx, x_all, y_all)
    state, loss = jax.lax.scan(step, state, idx.reshape(-1, idx.shape[-1]))
    return state, loss

  # -- compiled, vmapped programs -------------------------------------------------------------

  def _compile(self, key: tuple, fn: Callable, *args: Any):
    if key not in self._compiled:
      start = time.perf_counter()
      self._compiled[key] = jax.jit(fn).lower(*args).compile()
      self.compile_seconds += time.perf_counter() - start
    return self._compiled[key]

  @staticmethod
  def _epochs_per_call(num_epochs: int, loop: str, epochs_per_call: int | None) -> int:
    if loop not in LOOPS:
      raise ValueError(f"Unknown loop {loop!r}; valid loops: {list(LOOPS)}.")
    if loop == "step":
      return 1
    per_call = num_epochs if epochs_per_call is None else epochs_per_call
    _check_positive_int(per_call, "epochs_per_call")
    if num_epochs % per_call:
      raise ValueError(f"epochs_per_call={per_call} must divide num_epochs={num_epochs}.")
    return per_call

  def compile(
    self, state: SweepState, *, loop: str = "scan", epochs_per_call: int = 1
  ) -> dict[str, Any]:
    """Compiles (once, then cached) the programs :meth:`run` calls for this many models.

    Returns:
      ``{"scan": program}`` called as ``(state, idx[N, epochs, steps, batch], x, y)``, or
      ``{"step": program}`` called as ``(state, idx[N, batch], x, y)``.
    """
    num_models = int(state.step.shape[0])
    if loop == "scan":
      idx = jax.ShapeDtypeStruct(
        (num_models, epochs_per_call, self.steps_per_epoch, self.batch_size), jnp.int32
      )
      fn = jax.vmap(self._epochs_one, in_axes=(0, 0, None, None))
      return {
        "scan": self._compile(("scan", num_models, epochs_per_call), fn, state, idx, self.x, self.y)
      }
    if loop != "step":
      raise ValueError(f"Unknown loop {loop!r}; valid loops: {list(LOOPS)}.")
    idx = jax.ShapeDtypeStruct((num_models, self.batch_size), jnp.int32)
    step = self._compile(
      ("step", num_models),
      jax.vmap(self._step_one, in_axes=(0, 0, None, None)),
      state,
      idx,
      self.x,
      self.y,
    )
    return {"step": step}

  def init(self, learning_rates: ArrayLike, seeds: ArrayLike) -> SweepState:
    """Initializes one model per (learning rate, seed) pair (vmapped).

    Args:
      learning_rates: ``f32[N]`` positive rates (or one rate for every seed).
      seeds: ``i32[N]`` integer seeds (or one seed for every rate).

    Returns:
      A :class:`SweepState` whose leaves have leading axis N.
    """
    lrs, seeds = _check_members(learning_rates, seeds)
    # Parameters: one compiled (unvmapped) init per model, shared by every Sweep of it; its
    # compile is several times cheaper than that of a vmapped init.
    init = _param_initializer(self.model, self._sample_x.shape, self._sample_x.dtype)
    members = [init(jnp.int32(seed)) for seed in seeds]
    params, dropout_key = jax.tree.map(lambda *xs: jnp.stack(xs), *members)
    lrs = jnp.asarray(lrs)
    opt_state = self._compile(("init", len(lrs)), jax.vmap(self._init_one), params, lrs)(
      params, lrs
    )
    return SweepState(
      params, opt_state, jnp.asarray(seeds), dropout_key, jnp.zeros(len(lrs), jnp.int32)
    )

  def run(
    self,
    state: SweepState,
    num_epochs: int,
    *,
    loop: str = "scan",
    epochs_per_call: int | None = None,
    epoch0: int = 0,
    callback: Callable[[int, SweepState], None] | None = None,
  ) -> tuple[SweepState, np.ndarray]:
    """Trains every model of ``state`` for ``num_epochs`` epochs.

    Args:
      state: from :meth:`init` (or a previous :meth:`run`).
      num_epochs: epochs to train.
      loop: ``"scan"`` (compiled epochs) or ``"step"`` (a Python loop of compiled steps).
      epochs_per_call: with ``loop="scan"``, epochs per compiled call (default: all, one
        program); must divide ``num_epochs``.
      epoch0: index of the first epoch (selects its data order), to continue a run.
      callback: called as ``callback(epochs_done, state)`` after every call (scan) or epoch
        (step), e.g. to time or evaluate.

    Returns:
      The new state and ``f32[N, num_epochs * steps_per_epoch]`` minibatch losses.
    """
    _check_positive_int(num_epochs, "num_epochs")
    per_call = self._epochs_per_call(num_epochs, loop, epochs_per_call)
    programs = self.compile(state, loop=loop, epochs_per_call=per_call)
    seeds = np.asarray(state.seed)
    losses = []
    if loop == "scan":
      for done in range(per_call, num_epochs + 1, per_call):
        idx = self.order(seeds, epoch0 + done - per_call, per_call)
        state, loss = programs["scan"](state, idx, self.x, self.y)
        losses.append(loss)
        if callback is not None:
          callback(done, state)
    else:
      for epoch in range(num_epochs):
        idx = jnp.asarray(self.order(seeds, epoch0 + epoch, 1)[:, 0])
        for s in range(self.steps_per_epoch):
          state, loss = programs["step"](state, idx[:, s], self.x, self.y)
          losses.append(loss[:, None])
        if callback is not None:
          callback(epoch + 1, state)
    return state, np.asarray(jnp.concatenate(losses, axis=1))


def train_sweep(
  model: nn.Module,
  train_data: Mapping[str, np.ndarray],
  *,
  learning_rates: ArrayLike,
  seeds: ArrayLike,
  num_epochs: int,
  batch_size: int,
  optimizer: str = "adam",
  impl: str = "optax",
  optimizer_kwargs: Mapping[str, Any] | None = None,
  loss: str = "cross_entropy",
  loop: str = "scan",
  epochs_per_call: int | None = None,
  shuffle: bool = True,
  lr_schedule: Callable[[jax.Array], jax.Array] | None = None,
  weight_decay: float = 0.0,
) -> SweepResult:
  """Trains one model per (learning rate, seed) pair, all N in one vmapped program.

  Args:
    model: a linen module (only a ``"params"`` collection).
    train_data: ``{"x", "y"}`` numpy arrays.
    learning_rates: ``f32[N]`` (or one rate); see :func:`grid` for products.
    seeds: ``i32[N]`` (or one seed).
    num_epochs: epochs to train.
    batch_size: examples per step.
    optimizer: an optimizer name (``get_optimizer``).
    impl: ``"optax"`` or ``"scratch"``.
    optimizer_kwargs: the optimizer's other hyperparameters.
    loss: ``"cross_entropy"`` or ``"squared"``.
    loop: ``"scan"`` or ``"step"`` (see the module docstring).
    epochs_per_call: epochs per compiled call with ``loop="scan"`` (default: all).
    shuffle: reshuffle every epoch.
    lr_schedule: optional multiplier of the learning rates by step (see :class:`Sweep`).
    weight_decay: optional L2 coefficient λ (see :class:`Sweep`).

  Returns:
    A :class:`SweepResult`.

  Example:
    >>> import numpy as np
    >>> from jaxnets.models import LinearRegression
    >>> x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    >>> r = train_sweep(LinearRegression(), {"x": x, "y": 2 * x}, learning_rates=[0.5] * 16,
    ...                 seeds=range(16), num_epochs=20, batch_size=8, optimizer="sgd",
    ...                 loss="squared")
    >>> bool(r.train_loss[:, -1].max() < 1e-3)
    True
  """
  lrs, seeds = _check_members(learning_rates, seeds)
  _check_positive_int(num_epochs, "num_epochs")
  per_call = Sweep._epochs_per_call(num_epochs, loop, epochs_per_call)
  sweep = Sweep(
    model,
    train_data,
    optimizer=optimizer,
    batch_size=batch_size,
    impl=impl,
    optimizer_kwargs=optimizer_kwargs,
    loss=loss,
    shuffle=shuffle,
    lr_schedule=lr_schedule,
    weight_decay=weight_decay,
  )
  state = sweep.init(lrs, seeds)
  sweep.compile(state, loop=loop, epochs_per_call=per_call)  # Keep compiling out of the times.
  times, steps = [], []
  start = time.perf_counter()

  def record(done: int, state: SweepState) -> None:
    jax.block_until_ready(state.params)
    times.append(time.perf_counter() - start)
    steps.append(done * sweep.steps_per_epoch)

  state, loss = sweep.run(state, num_epochs, loop=loop, epochs_per_call=per_call, callback=record)
  return SweepResult(
    params=state.params,
    learning_rates=lrs,
    seeds=seeds,
    train_loss=loss,
    wall_times=np.asarray(times),
    call_steps=np.asarray(steps, np.int32),
    compile_seconds=sweep.compile_seconds,
  )


def evaluate(
  model: nn.Module,
  params: Any,
  data: Mapping[str, np.ndarray],
  *,
  loss: str = "cross_entropy",
  batch_size: int | None = None,
) -> dict[str, np.ndarray]:
  """Loss (and accuracy for classification) of N stacked models on a whole dataset.

  Args:
    model: the linen module the parameters belong to.
    params: parameters with a leading model axis N (``SweepResult.params``).
    data: ``{"x", "y"}`` arrays.
    loss: ``"cross_entropy"`` or ``"squared"``.
    batch_size: evaluate this many examples at a time (default: all at once).

  Returns:
    ``{"loss": f32[N], "accuracy": f32[N]}`` (accuracy only for integer labels).

  Example:
    >>> import jax, numpy as np
    >>> from jaxnets.models import SoftmaxRegression
    >>> m = SoftmaxRegression(2)
    >>> p = jax.vmap(lambda k: m.init(k, np.ones((1, 3)))["params"])(jax.random.split(
    ...     jax.random.key(0), 4))
    >>> d = {"x": np.ones((10, 3), np.float32), "y": np.zeros(10, np.int32)}
    >>> evaluate(m, p, d)["accuracy"].shape
    (4,)
  """
  x, y = np.asarray(data["x"]), np.asarray(data["y"])
  n = len(x)
  classify = bool(np.issubdtype(y.dtype, np.integer))
  size = n if batch_size is None else batch_size
  _check_positive_int(size, "batch_size")
  sums = _eval_sums(model, loss, classify)
  total_loss, total_hits = 0.0, 0.0
  for start in range(0, n, size):
    part_loss, part_hits = sums(
      params, jnp.asarray(x[start : start + size]), jnp.asarray(y[start : start + size])
    )
    total_loss, total_hits = total_loss + part_loss, total_hits + part_hits
  out = {"loss": np.asarray(total_loss / n, np.float32)}
  if classify:
    out["accuracy"] = np.asarray(total_hits / n, np.float32)
  return out


@functools.lru_cache(maxsize=32)
def _eval_sums(model: nn.Module, loss: str, classify: bool) -> Callable:
  """A jitted ``(params[N], x, y) -> (summed loss[N], hits[N])``, cached per model."""
  loss_fn = losses_lib.get_loss(loss)

  @jax.jit
  def sums(params, xb, yb):
    def one(p):
      out = model.apply({"params": p}, xb, train=False)
      total = loss_fn(out, yb) * xb.shape[0]
      hits = jnp.sum(jnp.argmax(out, -1) == yb) if classify else jnp.zeros([])
      return total, hits

    return jax.vmap(one)(params)

  return sums


def best_member(
  metric: ArrayLike, learning_rates: ArrayLike, *, mode: str = "max"
) -> tuple[float, np.ndarray]:
  """The learning rate whose seeds have the best mean ``metric``, and the per-rate means.

  Args:
    metric: ``f32[N]`` one value per sweep member.
    learning_rates: ``f32[N]`` the members' rates (members sharing a rate are its seeds).
    mode: ``"max"`` (e.g. accuracy) or ``"min"`` (e.g. loss). NaNs count as worst.

  Returns:
    ``(best_rate, means)`` with ``means[i]`` the mean metric of the i-th distinct rate
    (sorted ascending).

  Example:
    >>> best_member([0.5, 0.7, 0.9, 0.8], [0.1, 0.1, 1.0, 1.0])[0]
    1.0
  """
  if mode not in ("max", "min"):
    raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
  metric = np.asarray(metric, np.float64)
  lrs = np.asarray(learning_rates, np.float64)
  rates = np.unique(lrs)
  means = np.array([np.mean(metric[lrs == r]) for r in rates])
  score = np.where(np.isnan(means), -math.inf if mode == "max" else math.inf, means)
  best = int(np.argmax(score) if mode == "max" else np.argmin(score))
  return float(rates[best]), means


__all__: Sequence[str] = (
  "Sweep",
  "SweepResult",
  "SweepState",
  "best_member",
  "evaluate",
  "grid",
  "split_seed",
  "train_sweep",
)
