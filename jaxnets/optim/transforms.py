"""The course's optimizers written from scratch as Optax gradient transformations.

Each factory returns an ``optax.GradientTransformation`` whose ``init``/``update`` are pure
functions of a ``NamedTuple`` state, so they compose with ``optax.chain`` (clipping,
``optax.add_decayed_weights``), accept Optax schedules as learning rates, and can be wrapped
in ``optax.inject_hyperparams`` (``jaxnets.optim.get_optimizer`` does that). Every update
already includes the learning rate and its sign: ``params + updates`` takes the step.

Defaults follow the course (Dive into Deep Learning, chapter "Optimization Algorithms");
where they differ from Optax's the docstring says so, and ``docs/optimizers.md`` lists the
differences. Matching hyperparameters reproduce Optax's built-ins to float precision
(``tests/optim/test_transforms.py``).

Example:
  >>> import jax.numpy as jnp
  >>> opt = adam(0.1)
  >>> params = {"w": jnp.array([1.0, -2.0])}
  >>> state = opt.init(params)
  >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state)
  >>> [round(float(u), 4) for u in updates["w"]]
  [-0.1, 0.1]
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = Union[float, jax.Array, Schedule]

_INT32_MAX = np.iinfo(np.int32).max


# --------------------------------------------------------------------------------------------
# Hyperparameter validation (skipped for traced values: jit/vmap sweeps pass tracers).
# --------------------------------------------------------------------------------------------


def _concrete(value: Any) -> float | None:
  """``value`` as a Python float, or None when it is traced (inside jit or vmap)."""
  if isinstance(value, jax.core.Tracer):
    return None
  arr = np.asarray(value)
  if arr.size != 1:
    raise ValueError(f"Hyperparameters must be scalars, got an array of shape {arr.shape}.")
  return float(arr.reshape(()))


def check_learning_rate(learning_rate: Any, name: str = "learning_rate") -> None:
  """Raises ValueError unless ``learning_rate`` is a positive number or a schedule.

  A Python number must be > 0. An array (what ``optax.inject_hyperparams`` passes, e.g.
  a warm-up schedule's first value) must be ≥ 0 and finite; schedules and traced values
  are not checked.
  """
  if callable(learning_rate):
    return
  value = _concrete(learning_rate)
  if value is None:
    return
  strict = isinstance(learning_rate, (int, float))
  if not math.isfinite(value) or value < 0 or (strict and value == 0):
    raise ValueError(
      f"{name} must be a positive finite number or an Optax schedule, got {value!r}."
    )


def check_decay(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` (a β, ρ or γ decay rate) lies in [0, 1)."""
  v = _concrete(value)
  if v is not None and not 0.0 <= v < 1.0:
    raise ValueError(f"{name} must lie in [0, 1), got {v!r}.")


def check_positive(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` (an ε) is > 0 and finite."""
  v = _concrete(value)
  if v is not None and not (math.isfinite(v) and v > 0):
    raise ValueError(f"{name} must be a positive finite number, got {v!r}.")


def check_non_negative(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` is ≥ 0 and finite."""
  v = _concrete(value)
  if v is not None and not (math.isfinite(v) and v >= 0):
    raise ValueError(f"{name} must be a non-negative finite number, got {v!r}.")


# --------------------------------------------------------------------------------------------
# Small pure helpers.
# --------------------------------------------------------------------------------------------


def _increment(count: jax.Array) -> jax.Array:
  """``count + 1`` that saturates instead of overflowing int32."""
  return jnp.where(count < _INT32_MAX, count + 1, _INT32_MAX).astype(jnp.int32)


def _lr(learning_rate: ScalarOrSchedule, count: jax.Array) -> jax.Array:
  """The learning rate of the step whose 0-based index is ``count``."""
  return learning_rate(count) if callable(learning_rate) else learning_rate


def _scale(tree: Any, factor: Any) -> Any:
  return jax.tree.map(lambda t: t * factor, tree)


def _zeros(params: Any) -> Any:
  return jax.tree.map(jnp.zeros_like, params)


def _full(params: Any, value: Any) -> Any:
  return jax.tree.map(lambda p: jnp.full_like(p, value), params)


def _ema(new: Any, old: Any, decay: Any) -> Any:
  """Exponential moving average ``decay · old + (1 − decay) · new``, leafwise."""
  return jax.tree.map(lambda n, o: decay * o + (1 - decay) * n, new, old)


def _cast_like(updates: Any, params_like: Any) -> Any:
  return jax.tree.map(lambda u, p: u.astype(p.dtype), updates, params_like)


# --------------------------------------------------------------------------------------------
# States.
# --------------------------------------------------------------------------------------------


class SgdState(NamedTuple):
  """Minibatch SGD keeps only its step count (for learning-rate schedules)."""

  count: jax.Array  # i32[]


class MomentumState(NamedTuple):
  """Heavy-ball momentum: the velocity v (a pytree like the params)."""

  count: jax.Array  # i32[]
  velocity: Any


class AdagradState(NamedTuple):
  """AdaGrad: the running sum s of squared gradients."""

  count: jax.Array  # i32[]
  sum_of_squares: Any


class RmspropState(NamedTuple):
  """RMSProp: the leaky average s of squared gradients."""

  count: jax.Array  # i32[]
  nu: Any


class AdadeltaState(NamedTuple):
  """AdaDelta: leaky averages of squared gradients (s) and squared rescaled steps (Δx)."""

  count: jax.Array  # i32[]
  e_g: Any
  e_x: Any


class AdamState(NamedTuple):
  """Adam: first (v, momentum) and second (s) moment estimates."""

  count: jax.Array  # i32[]
  mu: Any
  nu: Any


def _count0() -> jax.Array:
  return jnp.zeros([], jnp.int32)


# --------------------------------------------------------------------------------------------
# The optimizers.
# --------------------------------------------------------------------------------------------


def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  r"""Minibatch stochastic gradient descent.

  .. math:: x_t = x_{t-1} - \eta_t g_t

  Equal to ``optax.sgd(learning_rate)``.

  Args:
    learning_rate: η, a positive float or an Optax schedule of the step count.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = sgd(0.5)
    >>> u, _ = opt.update(jnp.array([2.0]), opt.init(jnp.zeros(1)))
    >>> float(u[0])
    -1.0
  """
  check_learning_rate(learning_rate)

  def init(params):
    del params
    return SgdState(count=_count0())

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    new = _scale(updates, -lr)
    return _cast_like(new, updates), SgdState(count=_increment(state.count))

  return optax.GradientTransformation(init, update)


def momentum(
  learning_rate: ScalarOrSchedule, momentum: float = 0.9, nesterov: bool = False
) -> optax.GradientTransformation:
  r"""SGD with heavy-ball (or Nesterov) momentum.

  .. math::
     v_t = \beta v_{t-1} + g_t, \qquad x_t = x_{t-1} - \eta_t v_t

  With ``nesterov=True`` the step is :math:`-\eta_t (g_t + \beta v_t)`. The velocity starts
  at zero. Equal to ``optax.sgd(learning_rate, momentum=β, nesterov=...)`` (the course's
  convention: the velocity accumulates raw gradients, the learning rate multiplies the step).

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    momentum: β ∈ [0, 1).
    nesterov: use Nesterov's look-ahead form.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = momentum(1.0, momentum=0.5)
    >>> s = opt.init(jnp.zeros(1))
    >>> u1, s = opt.update(jnp.ones(1), s); u2, s = opt.update(jnp.ones(1), s)
    >>> float(u1[0]), float(u2[0])
    (-1.0, -1.5)
  """
  check_learning_rate(learning_rate)
  check_decay(momentum, "momentum")
  beta = momentum

  def init(params):
    return MomentumState(count=_count0(), velocity=_zeros(params))

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    velocity = jax.tree.map(lambda g, v: beta * v + g, updates, state.velocity)
    if nesterov:
      step = jax.tree.map(lambda g, v: g + beta * v, updates, velocity)
    else:
      step = velocity
    new = _scale(step, -lr)
    return _cast_like(new, updates), MomentumState(count=_increment(state.count), velocity=velocity)

  return optax.GradientTransformation(init, update)


def adagrad(
  learning_rate: ScalarOrSchedule,
  initial_accumulator_value: float = 0.0,
  eps: float = 1e-6,
  eps_in_sqrt: bool = True,
) -> optax.GradientTransformation:
  r"""AdaGrad: per-coordinate steps scaled by the root of all past squared gradients.

  .. math::
     s_t = s_{t-1} + g_t^2, \qquad
     x_t = x_{t-1} - \frac{\eta_t}{\sqrt{s_t + \epsilon}} \odot g_t

  (with ``eps_in_sqrt=False``: :math:`\eta_t g_t / (\sqrt{s_t} + \epsilon)`, PyTorch's form).

  Conventions: the course starts the accumulator at :math:`s_0 = 0` with ε = 1e-6 inside the
  root (these defaults). ``optax.adagrad`` starts at :math:`s_0 = 0.1` with ε = 1e-7 inside
  the root; ``adagrad(lr, initial_accumulator_value=0.1, eps=1e-7)`` equals it.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    initial_accumulator_value: :math:`s_0 \ge 0`.
    eps: ε > 0.
    eps_in_sqrt: add ε inside (True) or outside (False) the square root.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adagrad(1.0, eps=1e-12)
    >>> u, _ = opt.update(jnp.array([3.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)  # The first step is η · g / |g|.
    -1.0
  """
  check_learning_rate(learning_rate)
  check_non_negative(initial_accumulator_value, "initial_accumulator_value")
  check_positive(eps, "eps")

  def init(params):
    return AdagradState(count=_count0(), sum_of_squares=_full(params, initial_accumulator_value))

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    s = jax.tree.map(lambda g, a: a + jnp.square(g), updates, state.sum_of_squares)
    if eps_in_sqrt:
      direction = jax.tree.map(lambda g, a: g * jax.lax.rsqrt(a + eps), updates, s)
    else:
      direction = jax.tree.map(lambda g, a: g / (jnp.sqrt(a) + eps), updates, s)
    new = _scale(direction, -lr)
    return _cast_like(new, updates), AdagradState(count=_increment(state.count), sum_of_squares=s)

  return optax.GradientTransformation(init, update)


def rmsprop(
  learning_rate: ScalarOrSchedule,
  decay: float = 0.9,
  eps: float = 1e-6,
  eps_in_sqrt: bool = True,
  initial_scale: float = 0.0,
) -> optax.GradientTransformation:
  r"""RMSProp: AdaGrad with a leaky average of squared gradients.

  .. math::
     s_t = \gamma s_{t-1} + (1 - \gamma) g_t^2, \qquad
     x_t = x_{t-1} - \frac{\eta_t}{\sqrt{s_t + \epsilon}} \odot g_t

  (with ``eps_in_sqrt=False``: :math:`\eta_t g_t / (\sqrt{s_t} + \epsilon)`, the form of
  PyTorch's ``RMSprop``). Equal to ``optax.rmsprop(lr, decay=γ, eps=ε, eps_in_sqrt=...,
  initial_scale=...)``; the course's ε = 1e-6 is the default here, Optax's is 1e-8.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    decay: γ ∈ [0, 1).
    eps: ε > 0.
    eps_in_sqrt: add ε inside (True, the course and Optax) or outside the square root.
    initial_scale: :math:`s_0 \ge 0`.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = rmsprop(0.1, decay=0.0, eps=1e-12)
    >>> u, _ = opt.update(jnp.array([-4.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)
    0.1
  """
  check_learning_rate(learning_rate)
  check_decay(decay, "decay")
  check_positive(eps, "eps")
  check_non_negative(initial_scale, "initial_scale")

  def init(params):
    return RmspropState(count=_count0(), nu=_full(params, initial_scale))

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    nu = _ema(jax.tree.map(jnp.square, updates), state.nu, decay)
    if eps_in_sqrt:
      direction = jax.tree.map(lambda g, s: g * jax.lax.rsqrt(s + eps), updates, nu)
    else:
      direction = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, nu)
    new = _scale(direction, -lr)
    return _cast_like(new, updates), RmspropState(count=_increment(state.count), nu=nu)

  return optax.GradientTransformation(init, update)


def adadelta(
  learning_rate: ScalarOrSchedule = 1.0, rho: float = 0.9, eps: float = 1e-5
) -> optax.GradientTransformation:
  r"""AdaDelta: RMSProp whose step size is a leaky average of past squared steps.

  .. math::
     s_t &= \rho s_{t-1} + (1 - \rho) g_t^2 \\
     g'_t &= \frac{\sqrt{\Delta x_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}} \odot g_t \\
     \Delta x_t &= \rho \Delta x_{t-1} + (1 - \rho) {g'_t}^2 \\
     x_t &= x_{t-1} - \eta_t g'_t

  Conventions: the course's (and Zeiler's) AdaDelta has no learning rate, i.e. η = 1, the
  default here. ``optax.adadelta`` multiplies the same :math:`g'_t` by ``-learning_rate``
  (the accumulator :math:`\Delta x` tracks the unscaled :math:`g'`, as here), so
  ``adadelta(η)`` equals ``optax.adadelta(η)``; but ``optax.adadelta()`` with its default
  ``learning_rate=None`` returns :math:`+g'_t` — an ascent step. The course's ε is 1e-5,
  Optax's 1e-6.

  Args:
    learning_rate: η (1.0 is the parameter-free original), a positive float or a schedule.
    rho: ρ ∈ [0, 1).
    eps: ε > 0.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adadelta(rho=0.0)
    >>> u, _ = opt.update(jnp.array([2.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 5)  # -sqrt(eps) / sqrt(4 + eps) * 2
    -0.00316
  """
  check_learning_rate(learning_rate)
  check_decay(rho, "rho")
  check_positive(eps, "eps")

  def init(params):
    return AdadeltaState(count=_count0(), e_g=_zeros(params), e_x=_zeros(params))

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    e_g = _ema(jax.tree.map(jnp.square, updates), state.e_g, rho)
    rescaled = jax.tree.map(
      lambda g, s, dx: jnp.sqrt(dx + eps) / jnp.sqrt(s + eps) * g, updates, e_g, state.e_x
    )
    e_x = _ema(jax.tree.map(jnp.square, rescaled), state.e_x, rho)
    new = _scale(rescaled, -lr)
    return _cast_like(new, updates), AdadeltaState(count=_increment(state.count), e_g=e_g, e_x=e_x)

  return optax.GradientTransformation(init, update)


def adam(
  learning_rate: ScalarOrSchedule,
  b1: float = 0.9,
  b2: float = 0.999,
  eps: float = 1e-6,
  eps_root: float = 0.0,
) -> optax.GradientTransformation:
  r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

  .. math::
     v_t &= \beta_1 v_{t-1} + (1 - \beta_1) g_t, \qquad
     s_t = \beta_2 s_{t-1} + (1 - \beta_2) g_t^2 \\
     \hat v_t &= \frac{v_t}{1 - \beta_1^t}, \qquad \hat s_t = \frac{s_t}{1 - \beta_2^t} \\
     x_t &= x_{t-1} - \eta_t \frac{\hat v_t}{\sqrt{\hat s_t + \epsilon_{root}} + \epsilon}

  ε sits outside the root, as in the course, the paper and Optax; ``eps_root`` adds one
  inside. Equal to ``optax.adam(lr, b1, b2, eps, eps_root)``; the course's ε = 1e-6 is the
  default here, Optax's (and the paper's) is 1e-8.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    b1: β₁ ∈ [0, 1).
    b2: β₂ ∈ [0, 1).
    eps: ε > 0, added outside the square root.
    eps_root: ε_root ≥ 0, added inside the square root.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adam(0.01)
    >>> u, _ = opt.update(jnp.array([-3.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)  # the first Adam step has length η
    0.01
  """
  check_learning_rate(learning_rate)
  check_decay(b1, "b1")
  check_decay(b2, "b2")
  check_positive(eps, "eps")
  check_non_negative(eps_root, "eps_root")

  def init(params):
    return AdamState(count=_count0(), mu=_zeros(params), nu=_zeros(params))

  def update(updates, state, params=None):
    del params
    lr = _lr(learning_rate, state.count)
    count = _increment(state.count)
    mu = _ema(updates, state.mu, b1)
    nu = _ema(jax.tree.map(jnp.square, updates), state.nu, b2)
    c1, c2 = 1 - b1**count, 1 - b2**count  # Bias corrections (count = t, from 1).
    direction = jax.tree.map(lambda m, s: (m / c1) / (jnp.sqrt(s / c2 + eps_root) + eps), mu, nu)
    new = _scale(direction, -lr)
    return _cast_like(new, updates), AdamState(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init, update)


SCRATCH_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
  "sgd": sgd,
  "momentum": momentum,
  "adagrad": adagrad,
  "rmsprop": rmsprop,
  "adadelta": adadelta,
  "adam": adam,
}
