r"""The course's optimizers written from scratch, composed the way Optax composes its own.

Each optimizer is a ``scale_by_*`` gradient transformation (the method's own statistics,
turning a gradient into a direction) chained with one shared learning-rate scaling:

.. math:: u_t = -\eta_t \, d_t, \qquad x_t = x_{t-1} + u_t

``adam(lr)`` is ``optax.chain(scale_by_adam(), scale_by_learning_rate(lr))``, as in Optax. The
transforms keep their statistics in ``NamedTuple`` states (with an int32 ``count`` where the
rule needs the step number), accept and ignore extra keyword arguments to ``update`` (as
Optax's do), support real and complex parameters (second moments use :math:`|g|^2 = g
\bar g`, as Optax does), and return updates and states of the dtypes they were given (so a
bfloat16 model stays bfloat16, also under ``optax.inject_hyperparams`` with float32
hyperparameters). They compose with any Optax transform and accept Optax schedules.

The defaults are Optax's (``jaxnets.optim.registry.DEFAULTS`` holds them with the course's and
PyTorch's; ``docs/optimizers.md`` lists every difference). Matching hyperparameters reproduce
Optax's built-ins to float precision (``tests/optim/test_transforms.py``) and, with
``convention="torch"``, ``torch.optim`` (``tests/optim/test_torch_conventions.py``).

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
from optax import tree_utils as otu

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = Union[float, jax.Array, Schedule]


# --------------------------------------------------------------------------------------------
# Hyperparameter validation (skipped for traced values: jit/vmap sweeps pass tracers).
# --------------------------------------------------------------------------------------------


def _concrete(value: Any, name: str) -> float | None:
  """``value`` as a Python float, or None when it is traced (inside jit or vmap)."""
  if isinstance(value, jax.core.Tracer):
    return None
  arr = np.asarray(value)
  if arr.size != 1:
    raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}.")
  if not jnp.issubdtype(arr.dtype, jnp.number) or jnp.issubdtype(arr.dtype, jnp.complexfloating):
    raise ValueError(f"{name} must be a real number, got {value!r}.")
  return float(arr.reshape(()))


def _check(value: Any, name: str, ok: Callable[[float], bool], valid: str) -> None:
  v = _concrete(value, name)
  if v is not None and not (math.isfinite(v) and ok(v)):
    raise ValueError(f"{name} must {valid}, got {v!r}.")


def check_learning_rate(learning_rate: Any, name: str = "learning_rate") -> None:
  """Raises ValueError unless ``learning_rate`` is a positive number or a schedule.

  A Python number must be > 0. An array (what ``optax.inject_hyperparams`` passes, e.g.
  a warm-up schedule's first value) must be ≥ 0 and finite; schedules and traced values
  are not checked.

  Example:
    >>> check_learning_rate(0.1)
    >>> check_learning_rate(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate must be a positive finite number or an Optax schedule, got -1.0.
  """
  if callable(learning_rate):
    return
  strict = isinstance(learning_rate, (int, float))
  _check(
    learning_rate,
    name,
    lambda v: v > 0 or (v == 0 and not strict),
    "be a positive finite number or an Optax schedule",
  )


def check_decay(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` (a β, ρ or γ decay rate) lies in [0, 1).

  Example:
    >>> check_decay(0.9, "b1")
  """
  _check(value, name, lambda v: 0.0 <= v < 1.0, "lie in [0, 1)")


def check_fraction(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` (e.g. SGD's ``dampening``) lies in [0, 1].

  Example:
    >>> check_fraction(1.0, "dampening")
  """
  _check(value, name, lambda v: 0.0 <= v <= 1.0, "lie in [0, 1]")


def check_positive(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` (an ε) is > 0 and finite.

  Example:
    >>> check_positive(1e-8, "eps")
  """
  _check(value, name, lambda v: v > 0, "be a positive finite number")


def check_non_negative(value: Any, name: str) -> None:
  """Raises ValueError unless ``value`` is ≥ 0 and finite.

  Example:
    >>> check_non_negative(0.0, "eps_root")
  """
  _check(value, name, lambda v: v >= 0, "be a non-negative finite number")


# --------------------------------------------------------------------------------------------
# Small pure helpers.
# --------------------------------------------------------------------------------------------


def _count0() -> jax.Array:
  return jnp.zeros([], jnp.int32)


def _abs_sq(x: jax.Array) -> jax.Array:
  """``|x|²`` elementwise: ``x²`` for real ``x``, ``x · conj(x)`` (real) for complex ``x``."""
  return jnp.real(x * jnp.conj(x))


def _normalize(g: jax.Array, s: jax.Array, eps: Any, eps_in_sqrt: bool) -> jax.Array:
  """``g / √(s + ε)`` (ε inside the root) or ``g / (√s + ε)`` (outside, PyTorch's form)."""
  return g * jax.lax.rsqrt(s + eps) if eps_in_sqrt else g / (jnp.sqrt(s) + eps)


def _transformation(init, update) -> optax.GradientTransformationExtraArgs:
  return optax.GradientTransformationExtraArgs(init, update)


# --------------------------------------------------------------------------------------------
# States.
# --------------------------------------------------------------------------------------------


class ScaleByLearningRateState(NamedTuple):
  """The step count, at which a learning-rate schedule is evaluated."""

  count: jax.Array  # i32[]


class ScaleByMomentumState(NamedTuple):
  """Heavy-ball momentum: the velocity v (a pytree like the params) and the step count."""

  count: jax.Array  # i32[]
  velocity: Any


class ScaleByRssState(NamedTuple):
  """AdaGrad: the running sum s of squared gradients."""

  sum_of_squares: Any


class ScaleByRmsState(NamedTuple):
  """RMSProp: the leaky average s of squared gradients."""

  nu: Any


class ScaleByAdaDeltaState(NamedTuple):
  """AdaDelta: leaky averages of squared gradients (s) and squared rescaled steps (Δx)."""

  e_g: Any
  e_x: Any


class ScaleByAdamState(NamedTuple):
  """Adam: the step count and the first (v, momentum) and second (s) moment estimates."""

  count: jax.Array  # i32[]
  mu: Any
  nu: Any


# --------------------------------------------------------------------------------------------
# The gradient transformations.
# --------------------------------------------------------------------------------------------


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  r"""Scales updates by the negative learning rate, the last link of every optimizer here.

  .. math:: u_t = -\eta_t \, d_t

  ``learning_rate`` is a number or an Optax schedule of the 0-based step count (kept in the
  state in both cases, so the state's structure does not depend on which). The factor is cast
  to each update's dtype. Equal to ``optax.scale_by_learning_rate(learning_rate)``.

  Args:
    learning_rate: η, a positive float or an Optax schedule.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_learning_rate(0.5)
    >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
    >>> float(u[0])
    -1.0
  """
  check_learning_rate(learning_rate)

  def init(params):
    del params
    return ScaleByLearningRateState(count=_count0())

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
    updates = jax.tree.map(lambda g: jnp.asarray(-lr, g.dtype) * g, updates)
    return updates, ScaleByLearningRateState(count=optax.safe_increment(state.count))

  return _transformation(init, update)


def scale_by_momentum(
  momentum: float = 0.9, nesterov: bool = False, dampening: float = 0.0
) -> optax.GradientTransformation:
  r"""Heavy-ball (or Nesterov) momentum: a leaky sum of past gradients.

  .. math::
     v_1 = g_1, \qquad v_t = \beta v_{t-1} + (1 - \tau) g_t, \qquad
     d_t = v_t \ \text{(or } g_t + \beta v_t \text{ with Nesterov)}

  With the default dampening τ = 0 this is the course's and Optax's rule
  (``optax.trace(decay=β, nesterov=...)``: :math:`v_0 = 0`, :math:`v_t = \beta v_{t-1} + g_t`).
  τ > 0 is ``torch.optim.SGD``'s ``dampening``, which like PyTorch does not damp the first
  step (:math:`v_1 = g_1`) and, like PyTorch, excludes Nesterov.

  Args:
    momentum: β ∈ [0, 1).
    nesterov: use Nesterov's look-ahead form.
    dampening: τ ∈ [0, 1]; must be 0 with ``nesterov=True``.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_momentum(0.5)
    >>> s = tx.init(jnp.zeros(1))
    >>> d1, s = tx.update(jnp.ones(1), s); d2, s = tx.update(jnp.ones(1), s)
    >>> float(d1[0]), float(d2[0])
    (1.0, 1.5)
  """
  check_decay(momentum, "momentum")
  check_fraction(dampening, "dampening")
  if nesterov and _concrete(dampening, "dampening") not in (None, 0.0):
    raise ValueError(
      f"Nesterov momentum needs dampening = 0 (as in torch.optim.SGD), got {dampening!r}."
    )

  def init(params):
    return ScaleByMomentumState(count=_count0(), velocity=otu.tree_zeros_like(params))

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    first = state.count == 0
    velocity = jax.tree.map(
      lambda g, v: jnp.where(first, g, momentum * v + (1 - dampening) * g),
      updates,
      state.velocity,
    )
    if nesterov:
      direction = jax.tree.map(lambda g, v: g + momentum * v, updates, velocity)
    else:
      direction = velocity
    new_state = ScaleByMomentumState(
      count=optax.safe_increment(state.count),
      velocity=otu.tree_cast_like(velocity, state.velocity),
    )
    return otu.tree_cast_like(direction, updates), new_state

  return _transformation(init, update)


def scale_by_rss(
  initial_accumulator_value: float = 0.1, eps: float = 1e-7, eps_in_sqrt: bool = True
) -> optax.GradientTransformation:
  r"""AdaGrad's scaling: divide by the root of the sum of all past squared gradients.

  .. math::
     s_t = s_{t-1} + |g_t|^2, \qquad d_t = \frac{g_t}{\sqrt{s_t + \epsilon}}

  (with ``eps_in_sqrt=False``: :math:`g_t / (\sqrt{s_t} + \epsilon)`, PyTorch's form). Equal
  to ``optax.scale_by_rss(initial_accumulator_value, eps)`` (which has ε inside the root).

  Args:
    initial_accumulator_value: :math:`s_0 \ge 0`.
    eps: ε > 0.
    eps_in_sqrt: add ε inside (True) or outside (False) the square root.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_rss(initial_accumulator_value=0.0, eps=1e-12)
    >>> d, _ = tx.update(jnp.array([-3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(d[0]), 4)  # The first direction is g / |g|.
    -1.0
  """
  check_non_negative(initial_accumulator_value, "initial_accumulator_value")
  check_positive(eps, "eps")

  def init(params):
    return ScaleByRssState(otu.tree_full_like(params, initial_accumulator_value))

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    s = jax.tree.map(lambda g, a: a + _abs_sq(g), updates, state.sum_of_squares)
    direction = jax.tree.map(lambda g, a: _normalize(g, a, eps, eps_in_sqrt), updates, s)
    new_state = ScaleByRssState(otu.tree_cast_like(s, state.sum_of_squares))
    return otu.tree_cast_like(direction, updates), new_state

  return _transformation(init, update)


def scale_by_rms(
  decay: float = 0.9, eps: float = 1e-8, eps_in_sqrt: bool = True, initial_scale: float = 0.0
) -> optax.GradientTransformation:
  r"""RMSProp's scaling: divide by the root of a leaky average of squared gradients.

  .. math::
     s_t = \gamma s_{t-1} + (1 - \gamma) |g_t|^2, \qquad d_t = \frac{g_t}{\sqrt{s_t + \epsilon}}

  (with ``eps_in_sqrt=False``: :math:`g_t / (\sqrt{s_t} + \epsilon)`, the form of PyTorch's
  ``RMSprop``). Equal to ``optax.scale_by_rms(decay, eps, initial_scale, eps_in_sqrt)``.

  Args:
    decay: γ ∈ [0, 1) (PyTorch calls it ``alpha``).
    eps: ε > 0.
    eps_in_sqrt: add ε inside (True, the course and Optax) or outside the square root.
    initial_scale: :math:`s_0 \ge 0`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_rms(decay=0.0, eps=1e-12)
    >>> d, _ = tx.update(jnp.array([-4.0]), tx.init(jnp.zeros(1)))
    >>> round(float(d[0]), 4)
    -1.0
  """
  check_decay(decay, "decay")
  check_positive(eps, "eps")
  check_non_negative(initial_scale, "initial_scale")

  def init(params):
    return ScaleByRmsState(otu.tree_full_like(params, initial_scale))

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, decay, 2)
    direction = jax.tree.map(lambda g, s: _normalize(g, s, eps, eps_in_sqrt), updates, nu)
    return otu.tree_cast_like(direction, updates), ScaleByRmsState(otu.tree_cast_like(nu, state.nu))

  return _transformation(init, update)


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> optax.GradientTransformation:
  r"""AdaDelta's scaling: RMSProp whose numerator is a leaky average of past squared steps.

  .. math::
     s_t &= \rho s_{t-1} + (1 - \rho) |g_t|^2 \\
     d_t &= \frac{\sqrt{\Delta x_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}} \, g_t \\
     \Delta x_t &= \rho \Delta x_{t-1} + (1 - \rho) |d_t|^2

  The accumulator Δx tracks the direction before the learning rate, as in Optax and PyTorch.
  Equal to ``optax.scale_by_adadelta(rho, eps)`` for real parameters (Optax's squares complex
  gradients as :math:`g^2`; this one uses :math:`|g|^2`).

  Args:
    rho: ρ ∈ [0, 1).
    eps: ε > 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_adadelta(rho=0.0, eps=1e-6)
    >>> d, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
    >>> round(float(d[0]), 6)  # sqrt(eps) / sqrt(4 + eps) * 2
    0.001
  """
  check_decay(rho, "rho")
  check_positive(eps, "eps")

  def init(params):
    return ScaleByAdaDeltaState(otu.tree_zeros_like(params), otu.tree_zeros_like(params))

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    e_g = otu.tree_update_moment_per_elem_norm(updates, state.e_g, rho, 2)
    direction = jax.tree.map(
      lambda g, s, dx: jnp.sqrt(dx + eps) / jnp.sqrt(s + eps) * g, updates, e_g, state.e_x
    )
    e_x = otu.tree_update_moment_per_elem_norm(direction, state.e_x, rho, 2)
    new_state = ScaleByAdaDeltaState(
      otu.tree_cast_like(e_g, state.e_g), otu.tree_cast_like(e_x, state.e_x)
    )
    return otu.tree_cast_like(direction, updates), new_state

  return _transformation(init, update)


def scale_by_adam(
  b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0
) -> optax.GradientTransformation:
  r"""Adam's scaling: momentum on the gradient over RMSProp on its square, bias-corrected.

  .. math::
     v_t &= \beta_1 v_{t-1} + (1 - \beta_1) g_t, \qquad
     s_t = \beta_2 s_{t-1} + (1 - \beta_2) |g_t|^2 \\
     \hat v_t &= \frac{v_t}{1 - \beta_1^t}, \qquad \hat s_t = \frac{s_t}{1 - \beta_2^t}, \qquad
     d_t = \frac{\hat v_t}{\sqrt{\hat s_t + \epsilon_{root}} + \epsilon}

  ε sits outside the root, as in the course, the paper, Optax and PyTorch; ``eps_root`` adds
  one inside. Equal to ``optax.scale_by_adam(b1, b2, eps, eps_root)``.

  Args:
    b1: β₁ ∈ [0, 1).
    b2: β₂ ∈ [0, 1).
    eps: ε > 0, added outside the square root.
    eps_root: ε_root ≥ 0, added inside the square root.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_adam()
    >>> d, _ = tx.update(jnp.array([-3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(d[0]), 4)  # The first Adam direction is g / |g|.
    -1.0
  """
  check_decay(b1, "b1")
  check_decay(b2, "b2")
  check_positive(eps, "eps")
  check_non_negative(eps_root, "eps_root")

  def init(params):
    # Two trees of zeros: a state whose moments share arrays cannot be donated to a step.
    zeros = otu.tree_zeros_like
    return ScaleByAdamState(count=_count0(), mu=zeros(params), nu=zeros(params))

  def update(updates, state, params=None, **extra_args):
    del params, extra_args
    count = optax.safe_increment(state.count)  # t, from 1.
    mu = otu.tree_update_moment(updates, state.mu, b1, 1)
    nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, b2, 2)
    mu_hat = otu.tree_bias_correction(mu, b1, count)
    nu_hat = otu.tree_bias_correction(nu, b2, count)
    direction = jax.tree.map(lambda m, s: m / (jnp.sqrt(s + eps_root) + eps), mu_hat, nu_hat)
    new_state = ScaleByAdamState(
      count=count, mu=otu.tree_cast_like(mu, state.mu), nu=otu.tree_cast_like(nu, state.nu)
    )
    return otu.tree_cast_like(direction, updates), new_state

  return _transformation(init, update)


# --------------------------------------------------------------------------------------------
# The optimizers: a scaling, then the learning rate.
# --------------------------------------------------------------------------------------------


def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  r"""Minibatch stochastic gradient descent.

  .. math:: x_t = x_{t-1} - \eta_t g_t

  ``optax.chain(scale_by_learning_rate(η))``; equal to ``optax.sgd(η)`` and to
  ``torch.optim.SGD(lr=η)``.

  Args:
    learning_rate: η, a positive float or an Optax schedule of the step count.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp, optax
    >>> opt = sgd(optax.linear_schedule(1.0, 0.5, transition_steps=1))  # η₀ = 1, then 0.5.
    >>> state = opt.init(jnp.zeros(1))
    >>> u1, state = opt.update(jnp.array([2.0]), state)
    >>> u2, state = opt.update(jnp.array([2.0]), state)
    >>> float(u1[0]), float(u2[0])
    (-2.0, -1.0)
  """
  return optax.chain(scale_by_learning_rate(learning_rate))


def momentum(
  learning_rate: ScalarOrSchedule,
  momentum: float = 0.9,
  nesterov: bool = False,
  dampening: float = 0.0,
) -> optax.GradientTransformation:
  r"""SGD with heavy-ball (or Nesterov) momentum.

  .. math::
     v_t = \beta v_{t-1} + g_t, \qquad x_t = x_{t-1} - \eta_t v_t

  With ``nesterov=True`` the step is :math:`-\eta_t (g_t + \beta v_t)`; with ``dampening``
  τ > 0 the velocity adds :math:`(1 - \tau) g_t` after the first step
  (:func:`scale_by_momentum`). ``optax.chain(scale_by_momentum(β, nesterov, τ),
  scale_by_learning_rate(η))``; equal to ``optax.sgd(η, momentum=β, nesterov=...)`` and to
  ``torch.optim.SGD(lr=η, momentum=β, dampening=τ, nesterov=...)`` (the velocity accumulates
  raw gradients, the learning rate multiplies the step).

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    momentum: β ∈ [0, 1).
    nesterov: Nesterov's look-ahead form.
    dampening: τ ∈ [0, 1], PyTorch's dampening (0: none); see :func:`scale_by_momentum`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = momentum(1.0, momentum=0.5)
    >>> s = opt.init(jnp.zeros(1))
    >>> u1, s = opt.update(jnp.ones(1), s); u2, s = opt.update(jnp.ones(1), s)
    >>> float(u1[0]), float(u2[0])
    (-1.0, -1.5)
  """
  return optax.chain(
    scale_by_momentum(momentum, nesterov=nesterov, dampening=dampening),
    scale_by_learning_rate(learning_rate),
  )


def adagrad(
  learning_rate: ScalarOrSchedule,
  initial_accumulator_value: float = 0.1,
  eps: float = 1e-7,
  eps_in_sqrt: bool = True,
) -> optax.GradientTransformation:
  r"""AdaGrad: per-coordinate steps scaled by the root of all past squared gradients.

  .. math::
     s_t = s_{t-1} + |g_t|^2, \qquad
     x_t = x_{t-1} - \frac{\eta_t}{\sqrt{s_t + \epsilon}} \odot g_t

  (with ``eps_in_sqrt=False``: :math:`\eta_t g_t / (\sqrt{s_t} + \epsilon)`, PyTorch's form).
  ``optax.chain(scale_by_rss(...), scale_by_learning_rate(η))``. The defaults are Optax's
  (:math:`s_0 = 0.1`, ε = 1e-7 inside the root); the course's are :math:`s_0 = 0`,
  ε = 1e-6 inside, PyTorch's :math:`s_0 = 0`, ε = 1e-10 outside.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    initial_accumulator_value: :math:`s_0`, see :func:`scale_by_rss`.
    eps: ε, see :func:`scale_by_rss`.
    eps_in_sqrt: ε inside or outside the root, see :func:`scale_by_rss`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adagrad(1.0, initial_accumulator_value=0.0, eps=1e-12)
    >>> u, _ = opt.update(jnp.array([3.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)  # The first step is η · g / |g|.
    -1.0
  """
  return optax.chain(
    scale_by_rss(initial_accumulator_value, eps, eps_in_sqrt),
    scale_by_learning_rate(learning_rate),
  )


def rmsprop(
  learning_rate: ScalarOrSchedule,
  decay: float = 0.9,
  eps: float = 1e-8,
  eps_in_sqrt: bool = True,
  initial_scale: float = 0.0,
) -> optax.GradientTransformation:
  r"""RMSProp: AdaGrad with a leaky average of squared gradients.

  .. math::
     s_t = \gamma s_{t-1} + (1 - \gamma) |g_t|^2, \qquad
     x_t = x_{t-1} - \frac{\eta_t}{\sqrt{s_t + \epsilon}} \odot g_t

  (with ``eps_in_sqrt=False``: :math:`\eta_t g_t / (\sqrt{s_t} + \epsilon)`, the form of
  PyTorch's ``RMSprop``). ``optax.chain(scale_by_rms(...), scale_by_learning_rate(η))``; equal
  to ``optax.rmsprop(η, decay=γ, eps=ε, eps_in_sqrt=..., initial_scale=...)``. The defaults are
  Optax's (γ = 0.9, ε = 1e-8 inside); the course uses ε = 1e-6, PyTorch γ = 0.99, ε = 1e-8
  outside.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    decay: γ, see :func:`scale_by_rms`.
    eps: ε, see :func:`scale_by_rms`.
    eps_in_sqrt: ε inside or outside the root, see :func:`scale_by_rms`.
    initial_scale: :math:`s_0`, see :func:`scale_by_rms`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = rmsprop(0.1, decay=0.0, eps=1e-12)
    >>> u, _ = opt.update(jnp.array([-4.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)
    0.1
  """
  return optax.chain(
    scale_by_rms(decay, eps, eps_in_sqrt, initial_scale),
    scale_by_learning_rate(learning_rate),
  )


def adadelta(
  learning_rate: ScalarOrSchedule = 1.0, rho: float = 0.9, eps: float = 1e-6
) -> optax.GradientTransformation:
  r"""AdaDelta: RMSProp whose step size is a leaky average of past squared steps.

  .. math::
     s_t &= \rho s_{t-1} + (1 - \rho) |g_t|^2 \\
     g'_t &= \frac{\sqrt{\Delta x_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}} \odot g_t \\
     \Delta x_t &= \rho \Delta x_{t-1} + (1 - \rho) |g'_t|^2 \\
     x_t &= x_{t-1} - \eta_t g'_t

  ``optax.chain(scale_by_adadelta(ρ, ε), scale_by_learning_rate(η))``. Learning-rate
  conventions: the course's (and Zeiler's) AdaDelta has none, i.e. η = 1, the default here
  and PyTorch's; ``optax.adadelta(η)`` and ``torch.optim.Adadelta(lr=η)`` scale the same
  :math:`g'_t` by η (the accumulator Δx tracks the unscaled :math:`g'`), so ``adadelta(η)``
  equals both; but ``optax.adadelta()`` with its default ``learning_rate=None`` returns
  :math:`+g'_t`, an ascent step. ε = 1e-6 is Optax's and PyTorch's; the course's is 1e-5.

  Args:
    learning_rate: η (1.0 is the parameter-free original), a positive float or a schedule.
    rho: ρ, see :func:`scale_by_adadelta`.
    eps: ε, see :func:`scale_by_adadelta`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adadelta(rho=0.0)
    >>> u, _ = opt.update(jnp.array([2.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 6)  # -sqrt(eps) / sqrt(4 + eps) * 2
    -0.001
  """
  return optax.chain(scale_by_adadelta(rho, eps), scale_by_learning_rate(learning_rate))


def adam(
  learning_rate: ScalarOrSchedule,
  b1: float = 0.9,
  b2: float = 0.999,
  eps: float = 1e-8,
  eps_root: float = 0.0,
) -> optax.GradientTransformation:
  r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

  .. math::
     v_t &= \beta_1 v_{t-1} + (1 - \beta_1) g_t, \qquad
     s_t = \beta_2 s_{t-1} + (1 - \beta_2) |g_t|^2 \\
     \hat v_t &= \frac{v_t}{1 - \beta_1^t}, \qquad \hat s_t = \frac{s_t}{1 - \beta_2^t} \\
     x_t &= x_{t-1} - \eta_t \frac{\hat v_t}{\sqrt{\hat s_t + \epsilon_{root}} + \epsilon}

  ``optax.chain(scale_by_adam(...), scale_by_learning_rate(η))``; equal to
  ``optax.adam(η, b1, b2, eps, eps_root)`` and to ``torch.optim.Adam(lr=η, betas=(b1, b2),
  eps=eps)``. ε = 1e-8 (outside the root) is the paper's, Optax's and PyTorch's; the course
  uses 1e-6.

  Args:
    learning_rate: η, a positive float or an Optax schedule.
    b1: β₁, see :func:`scale_by_adam`.
    b2: β₂, see :func:`scale_by_adam`.
    eps: ε (outside the root), see :func:`scale_by_adam`.
    eps_root: ε_root (inside the root), see :func:`scale_by_adam`.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = adam(0.01)
    >>> u, _ = opt.update(jnp.array([-3.0]), opt.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)  # the first Adam step has length η
    0.01
  """
  return optax.chain(scale_by_adam(b1, b2, eps, eps_root), scale_by_learning_rate(learning_rate))


SCRATCH_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
  "sgd": sgd,
  "momentum": momentum,
  "adagrad": adagrad,
  "rmsprop": rmsprop,
  "adadelta": adadelta,
  "adam": adam,
}
