"""From-scratch transforms against Optax's built-ins, conventions both ways, dtypes, validation.

Each ``scale_by_*`` is compared with its Optax counterpart and each optimizer (a chain of one
of them with the learning-rate scaling) with Optax's alias; the conventions where the course,
Optax and PyTorch differ are checked against rules written out in numpy.
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import transforms as T
from jaxnets.optim.registry import DEFAULTS

NUM_STEPS = 120


def _problem():
  """A random softmax-regression problem with a two-leaf parameter pytree."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(64, 6)), jnp.float32)
  y = jnp.asarray(rng.integers(0, 4, size=64))
  params = {
    "w": jnp.asarray(rng.normal(size=(6, 4)) * 0.5, jnp.float32),
    "b": jnp.asarray(rng.normal(size=(4,)) * 0.1, jnp.float32),
  }

  def loss(p):
    logits = x @ p["w"] + p["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean() + 0.01 * jnp.sum(
      p["w"] ** 2
    )

  return params, loss


def _trajectories(tx_a, tx_b, num_steps, params):
  """Runs two optimizers side by side, each on its own trajectory; returns params and losses."""
  _, loss = _problem()

  def body(carry, _):
    pa, sa, pb, sb = carry
    la, ga = jax.value_and_grad(loss)(pa)
    lb, gb = jax.value_and_grad(loss)(pb)
    ua, sa = tx_a.update(ga, sa, pa)
    ub, sb = tx_b.update(gb, sb, pb)
    return (optax.apply_updates(pa, ua), sa, optax.apply_updates(pb, ub), sb), (la, lb)

  carry = (params, tx_a.init(params), params, tx_b.init(params))
  (pa, _, pb, _), (la, lb) = jax.lax.scan(body, carry, None, length=num_steps)
  return pa, pb, la, lb


def _teacher_forced(tx_a, tx_b, num_steps, params):
  """Drives the problem with ``tx_a``; ``tx_b`` sees the same gradients. Returns both updates."""
  _, loss = _problem()

  def body(carry, _):
    p, sa, sb = carry
    g = jax.grad(loss)(p)
    ua, sa = tx_a.update(g, sa, p)
    ub, sb = tx_b.update(g, sb, p)
    return (optax.apply_updates(p, ua), sa, sb), (ua, ub)

  _, (ua, ub) = jax.lax.scan(
    body, (params, tx_a.init(params), tx_b.init(params)), None, length=num_steps
  )
  return ua, ub


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _both(tx_a, tx_b, num_steps, params):
  """Free-running and teacher-forced runs in one compiled program."""
  return (
    _trajectories(tx_a, tx_b, num_steps, params),
    _teacher_forced(tx_a, tx_b, num_steps, params),
  )


def _updates(tx, grads):
  """Updates of ``tx`` for a fixed sequence of gradients ``grads`` (leading axis = step)."""
  params = jnp.zeros(grads.shape[1:], grads.dtype)

  def body(state, g):
    u, state = tx.update(g, state, params)
    return state, u

  return jax.lax.scan(body, tx.init(params), grads)[1]


def _random_grads(seed, dtype=jnp.float32, steps=150, size=5):
  """Random gradients whose scale varies from 1e-3 to 1e2 between steps."""
  rng = np.random.default_rng(seed)
  scale = 10.0 ** rng.uniform(-3, 2, size=(steps, 1))
  g = rng.normal(size=(steps, size)) * scale
  if jnp.issubdtype(dtype, jnp.complexfloating):
    g = g + 1j * rng.normal(size=(steps, size)) * scale
  return jnp.asarray(g, dtype)


# ---- each scale_by_* against its Optax counterpart -------------------------------------------

SCHEDULE = optax.exponential_decay(0.2, transition_steps=10, decay_rate=0.5)

# (id, from-scratch transform, Optax transform, whether Optax's supports complex gradients)
SCALE_CASES = [
  ("lr", lambda: T.scale_by_learning_rate(0.3), lambda: optax.scale_by_learning_rate(0.3), True),
  (
    "lr_schedule",
    lambda: T.scale_by_learning_rate(SCHEDULE),
    lambda: optax.scale_by_learning_rate(SCHEDULE),
    True,
  ),
  ("momentum", lambda: T.scale_by_momentum(0.9), lambda: optax.trace(decay=0.9), True),
  (
    "nesterov",
    lambda: T.scale_by_momentum(0.8, nesterov=True),
    lambda: optax.trace(decay=0.8, nesterov=True),
    True,
  ),
  ("rss", lambda: T.scale_by_rss(), lambda: optax.scale_by_rss(), True),
  ("rss_s0_zero", lambda: T.scale_by_rss(0.0, 1e-6), lambda: optax.scale_by_rss(0.0, 1e-6), True),
  ("rms", lambda: T.scale_by_rms(), lambda: optax.scale_by_rms(), True),
  (
    "rms_eps_outside",
    lambda: T.scale_by_rms(0.8, 1e-3, eps_in_sqrt=False, initial_scale=0.5),
    lambda: optax.scale_by_rms(0.8, 1e-3, initial_scale=0.5, eps_in_sqrt=False),
    True,
  ),
  # Optax's AdaDelta squares complex gradients as g², not |g|²: compared on real ones only.
  ("adadelta", lambda: T.scale_by_adadelta(), lambda: optax.scale_by_adadelta(), False),
  (
    "adadelta_rho",
    lambda: T.scale_by_adadelta(0.5, 1e-4),
    lambda: optax.scale_by_adadelta(0.5, 1e-4),
    False,
  ),
  ("adam", lambda: T.scale_by_adam(), lambda: optax.scale_by_adam(), True),
  (
    "adam_eps_root",
    lambda: T.scale_by_adam(0.8, 0.99, 1e-7, 1e-6),
    lambda: optax.scale_by_adam(0.8, 0.99, 1e-7, 1e-6),
    True,
  ),
]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64])
def test_each_scaling_equals_its_optax_counterpart(dtype):
  """Exact update rules, step by step, on 150 random gradients (scale 1e-3 to 1e2)."""
  cases = [c for c in SCALE_CASES if c[3] or dtype == jnp.float32]
  grads = _random_grads(1, dtype)
  run_all = jax.jit(lambda g: [(_updates(a(), g), _updates(b(), g)) for _, a, b, _ in cases])
  for (name, *_), (ua, ub) in zip(cases, run_all(grads), strict=True):
    assert ua.dtype == ub.dtype == dtype, name
    np.testing.assert_allclose(ua, ub, rtol=1e-5, atol=1e-8, err_msg=name)


# ---- each optimizer against Optax's alias --------------------------------------------------------

# name -> (the from-scratch optimizer, Optax's); momentum is optax.sgd with a momentum.
TWINS = {
  "sgd": (T.sgd, optax.sgd),
  "momentum": (T.momentum, optax.sgd),
  "adagrad": (T.adagrad, optax.adagrad),
  "rmsprop": (T.rmsprop, optax.rmsprop),
  "adadelta": (T.adadelta, optax.adadelta),
  "adam": (T.adam, optax.adam),
}
# (id, optimizer, learning rate, the other hyperparameters, the same for both)
PARITY = [
  ("sgd", "sgd", 0.1, {}),
  ("momentum", "momentum", 0.05, {"momentum": 0.9}),
  ("nesterov", "momentum", 0.05, {"momentum": 0.8, "nesterov": True}),
  ("adagrad", "adagrad", 0.2, {}),
  ("adagrad_course_conventions", "adagrad", 0.2, {"initial_accumulator_value": 0.0, "eps": 1e-6}),
  ("rmsprop", "rmsprop", 0.003, {}),
  ("rmsprop_eps_outside", "rmsprop", 0.003, {"decay": 0.8, "eps": 1e-3, "eps_in_sqrt": False}),
  ("adadelta", "adadelta", 1.0, {}),
  ("adadelta_lr", "adadelta", 0.5, {"rho": 0.95, "eps": 1e-5}),
  ("adam", "adam", 0.01, {}),
  ("adam_eps_root", "adam", 0.02, {"b1": 0.8, "b2": 0.99, "eps": 1e-7, "eps_root": 1e-6}),
  ("adam_course_eps", "adam", 0.01, {"eps": 1e-6}),
]
PARITY_CASES = [
  (case, *(lambda f=f, lr=lr, kw=kw: f(lr, **kw) for f in TWINS[name]))
  for case, name, lr, kw in PARITY
]


@pytest.mark.parametrize(
  "make_scratch,make_optax", [c[1:] for c in PARITY_CASES], ids=[c[0] for c in PARITY_CASES]
)
def test_parity_with_optax_on_a_random_problem(make_scratch, make_optax):
  params, loss = _problem()
  # Free-running: each optimizer follows its own trajectory for 120 jitted steps.
  (pa, pb, la, lb), (ua, ub) = _both(make_scratch(), make_optax(), NUM_STEPS, params)
  np.testing.assert_allclose(la, lb, rtol=2e-5, atol=1e-6)
  assert float(la[-1]) < float(la[0])  # Every case actually optimizes.
  assert float(loss(pa)) < float(la[0])
  # Parameters of free-running normalized methods (RMSProp, AdaGrad) can drift apart by far
  # more than rounding: a coordinate whose gradient is near zero takes a ±η-sized step whose
  # sign rounding decides. So the update rules are compared on one shared trajectory.
  for leaf_a, leaf_b in zip(jax.tree.leaves(ua), jax.tree.leaves(ub), strict=True):
    np.testing.assert_allclose(leaf_a, leaf_b, rtol=1e-5, atol=1e-8)


def test_optimizers_are_a_scaling_chained_with_the_learning_rate():
  g = _random_grads(4)
  for name, scaling in [
    ("momentum", T.scale_by_momentum(0.9)),
    ("adagrad", T.scale_by_rss()),
    ("rmsprop", T.scale_by_rms()),
    ("adadelta", T.scale_by_adadelta()),
    ("adam", T.scale_by_adam()),
  ]:
    opt = T.SCRATCH_OPTIMIZERS[name](0.1)
    chained = optax.chain(scaling, T.scale_by_learning_rate(0.1))
    np.testing.assert_array_equal(_updates(opt, g), _updates(chained, g), err_msg=name)
    np.testing.assert_allclose(_updates(opt, g), -0.1 * _updates(scaling, g), rtol=1e-6)


def test_defaults_are_one_table_shared_with_optax():
  """The factories' defaults are DEFAULTS["optax"], which are Optax's own defaults."""
  optax_factories = {
    "sgd": optax.sgd,
    "momentum": optax.sgd,
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
    "adadelta": optax.adadelta,
    "adam": optax.adam,
  }
  for name, factory in T.SCRATCH_OPTIMIZERS.items():
    ours = {
      k: p.default
      for k, p in inspect.signature(factory).parameters.items()
      if p.default is not inspect.Parameter.empty and k != "learning_rate"
    }
    theirs = inspect.signature(optax_factories[name]).parameters
    table = DEFAULTS["optax"][name]
    for key, value in table.items():
      assert ours[key] == value, (name, key)
    for key, value in ours.items():
      assert table.get(key, value) == value, (name, key)
      if key in theirs and key != "momentum":  # optax.sgd's momentum defaults to None.
        assert theirs[key].default == value, (name, key)


# ---- conventions, both ways ----------------------------------------------------------------------


def _numpy_reference(name, grads, lr, **hp):
  """The update rules written out in numpy (float64), independent of both libraries."""
  s = np.zeros_like(grads[0], np.float64) + hp.get("s0", 0.0)
  dx = np.zeros_like(s)
  out = []
  for t, g in enumerate(grads.astype(np.float64)):
    if name == "adagrad":
      s = s + g * g
      step = g / np.sqrt(s + hp["eps"]) if hp["eps_in_sqrt"] else g / (np.sqrt(s) + hp["eps"])
      out.append(-lr * step)
    elif name == "adadelta":  # Zeiler / the course: no learning rate.
      s = hp["rho"] * s + (1 - hp["rho"]) * g * g
      step = np.sqrt(dx + hp["eps"]) / np.sqrt(s + hp["eps"]) * g
      dx = hp["rho"] * dx + (1 - hp["rho"]) * step * step
      out.append(-step)
    elif name == "sgd_dampening":  # torch.optim.SGD: the first step is not damped.
      s = g.copy() if t == 0 else hp["momentum"] * s + (1 - hp["dampening"]) * g
      out.append(-lr * s)
  return np.stack(out)


@pytest.fixture(scope="module")
def grads():
  return np.random.default_rng(2).normal(size=(60, 4)).astype(np.float32)


def test_adagrad_initial_accumulator_convention(grads):
  g = jnp.asarray(grads)
  course = np.asarray(_updates(T.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-6), g))
  reference = _numpy_reference("adagrad", grads, 0.3, eps=1e-6, eps_in_sqrt=True)
  np.testing.assert_allclose(course, reference, rtol=1e-5)
  default = np.asarray(_updates(T.adagrad(0.3), g))
  # s0 = 0.1 damps the first steps: the two conventions really differ ...
  assert np.max(np.abs(course[0] - default[0])) > 1e-2
  # ... the default is Optax's, and Optax reproduces the course's when asked to.
  np.testing.assert_allclose(default, _updates(optax.adagrad(0.3), g), rtol=1e-5)
  np.testing.assert_allclose(
    default, _numpy_reference("adagrad", grads, 0.3, s0=0.1, eps=1e-7, eps_in_sqrt=True), rtol=1e-5
  )
  np.testing.assert_allclose(
    _updates(optax.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-6), g), course, rtol=1e-5
  )


def test_eps_placement_inside_and_outside_the_root(grads):
  g = jnp.asarray(grads) * 1e-2  # Small gradients make the placement of a large ε visible.
  inside = np.asarray(_updates(T.rmsprop(0.01, eps=1e-3), g))
  outside = np.asarray(_updates(T.rmsprop(0.01, eps=1e-3, eps_in_sqrt=False), g))
  assert np.max(np.abs(inside - outside)) > 1e-4
  np.testing.assert_allclose(
    inside, _updates(optax.rmsprop(0.01, eps=1e-3), g), rtol=1e-5, atol=1e-9
  )
  np.testing.assert_allclose(
    outside, _updates(optax.rmsprop(0.01, eps=1e-3, eps_in_sqrt=False), g), rtol=1e-5, atol=1e-9
  )
  # AdaGrad with ε outside the root (PyTorch's form) against the written-out rule.
  ada_out = np.asarray(
    _updates(T.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-3, eps_in_sqrt=False), g)
  )
  np.testing.assert_allclose(
    ada_out,
    _numpy_reference("adagrad", np.asarray(g), 0.1, eps=1e-3, eps_in_sqrt=False),
    rtol=1e-5,
  )
  # Adam: ε outside (eps) and inside (eps_root) the root are different knobs.
  a_out = np.asarray(_updates(T.adam(0.01, eps=1e-3), g))
  a_in = np.asarray(_updates(T.adam(0.01, eps=1e-12, eps_root=1e-6), g))
  assert np.max(np.abs(a_out - a_in)) > 1e-4
  np.testing.assert_allclose(
    a_in, _updates(optax.adam(0.01, eps=1e-12, eps_root=1e-6), g), rtol=1e-5, atol=1e-9
  )


def test_adadelta_learning_rate_convention(grads):
  g = jnp.asarray(grads)
  course = np.asarray(_updates(T.adadelta(eps=1e-5), g))  # η = 1: the parameter-free original.
  np.testing.assert_allclose(
    course, _numpy_reference("adadelta", grads, 1.0, rho=0.9, eps=1e-5), rtol=1e-5
  )
  np.testing.assert_allclose(course, _updates(optax.adadelta(1.0, eps=1e-5), g), rtol=1e-5)
  # Optax's default learning_rate=None skips the -η scaling: the same step with the other sign.
  np.testing.assert_allclose(course, -np.asarray(_updates(optax.adadelta(eps=1e-5), g)), rtol=1e-5)
  # A learning rate scales the step but not the accumulators (as in Optax and PyTorch).
  np.testing.assert_allclose(_updates(T.adadelta(0.25, eps=1e-5), g), 0.25 * course, rtol=1e-5)


def test_dampening_follows_torch_and_leaves_the_first_step_undamped(grads):
  g = jnp.asarray(grads)
  damped = np.asarray(_updates(T.momentum(0.1, momentum=0.9, dampening=0.3), g))
  np.testing.assert_allclose(
    damped,
    _numpy_reference("sgd_dampening", grads, 0.1, momentum=0.9, dampening=0.3),
    rtol=1e-5,
    atol=1e-7,
  )
  np.testing.assert_allclose(damped[0], -0.1 * grads[0], rtol=1e-6)  # v₁ = g₁, undamped.
  # Dampening 1 freezes the velocity at the first gradient, decaying by β.
  frozen = np.asarray(_updates(T.momentum(1.0, momentum=0.5, dampening=1.0), g))
  np.testing.assert_allclose(frozen[3], -(0.5**3) * grads[0], rtol=1e-6)


# ---- dtypes: complex and bfloat16 ----------------------------------------------------------------

OPTIMIZER_RATES = {"sgd": 0.1, "momentum": 0.05, "adagrad": 0.5, "rmsprop": 0.05}
OPTIMIZER_RATES.update({"adadelta": 1.0, "adam": 0.1})


@pytest.mark.parametrize("name", sorted(T.SCRATCH_OPTIMIZERS))
def test_complex_parameters_use_the_squared_modulus(name):
  """Minimizing |z − (1 + 1j)|² over complex z ends at 1 + 1j (g² would end elsewhere)."""
  target = jnp.array([1 + 1j, -2 + 0.5j], jnp.complex64)
  opt = T.SCRATCH_OPTIMIZERS[name](OPTIMIZER_RATES[name])

  def body(carry, _):
    z, state = carry
    g = jnp.conj(jax.grad(lambda z: jnp.sum(jnp.abs(z - target) ** 2))(z))  # Steepest ascent.
    u, state = opt.update(g, state, z)
    return (optax.apply_updates(z, u), state), None

  z0 = jnp.zeros(2, jnp.complex64)
  (z, state), _ = jax.jit(lambda c: jax.lax.scan(body, c, None, length=3000))((z0, opt.init(z0)))
  assert z.dtype == jnp.complex64
  np.testing.assert_allclose(z, target, atol=2e-2)
  for field in ("sum_of_squares", "nu", "e_g", "e_x"):  # |g|² has no imaginary part.
    if field in state[0]._fields:
      second_moment = getattr(state[0], field)
      assert second_moment.dtype == jnp.complex64
      np.testing.assert_array_equal(jnp.imag(second_moment), 0.0)
      assert bool(jnp.all(jnp.real(second_moment) >= 0))


@pytest.mark.parametrize("name", sorted(T.SCRATCH_OPTIMIZERS))
def test_bfloat16_parameters_with_float32_hyperparameters(name):
  """What inject_hyperparams passes: float32 arrays. β₂ = 0.999 stays < 1; dtypes stay bf16."""
  hp = {k: jnp.float32(v) for k, v in DEFAULTS["optax"][name].items() if not isinstance(v, bool)}
  opt = T.SCRATCH_OPTIMIZERS[name](jnp.float32(OPTIMIZER_RATES[name]), **hp)
  params = jnp.array([1.0, -2.0, 0.5], jnp.bfloat16)
  state = opt.init(params)
  dtypes = jax.tree.map(lambda x: x.dtype, state)

  def body(carry, _):
    p, s = carry
    u, s = opt.update(2 * p, s, p)  # The gradient of Σ p².
    assert u.dtype == jnp.bfloat16
    return (optax.apply_updates(p, u), s), jnp.sum(jnp.square(p.astype(jnp.float32)))

  # A lax.scan carry must keep its dtypes: it fails to trace if the state's change.
  (p, state), losses = jax.jit(lambda c: jax.lax.scan(body, c, None, length=30))((params, state))
  assert jax.tree.map(lambda x: x.dtype, state) == dtypes
  assert p.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(p)))
  assert float(losses[-1]) < float(losses[0])


# ---- extra arguments, composition, schedules, purity ---------------------------------------------

ALL_TRANSFORMS = {
  "scale_by_learning_rate": lambda: T.scale_by_learning_rate(0.1),
  "scale_by_momentum": T.scale_by_momentum,
  "scale_by_rss": T.scale_by_rss,
  "scale_by_rms": T.scale_by_rms,
  "scale_by_adadelta": T.scale_by_adadelta,
  "scale_by_adam": T.scale_by_adam,
  **{name: functools.partial(f, 0.1) for name, f in T.SCRATCH_OPTIMIZERS.items()},
}


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMS))
def test_update_accepts_and_ignores_extra_keyword_arguments(name):
  """As Optax's transforms do (its test_optimizers_accept_extra_args), even unwrapped."""
  tx = ALL_TRANSFORMS[name]()
  params = {"w": jnp.ones(3)}
  grads = {"w": jnp.array([0.5, -1.0, 2.0])}
  state = tx.init(params)
  plain = tx.update(grads, state, params)
  extra = jax.jit(tx.update)(grads, state, params, unexpected_extra_arg=1, value=jnp.ones(()))
  for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(extra), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_composes_with_chain_weight_decay_and_clipping():
  params, _ = _problem()

  def chained(opt):
    return optax.chain(optax.clip_by_global_norm(0.5), optax.add_decayed_weights(1e-2), opt)

  pa, pb, la, lb = jax.jit(_trajectories, static_argnums=(0, 1, 2))(
    chained(T.adam(0.05)), chained(optax.adam(0.05)), 60, params
  )
  np.testing.assert_allclose(la, lb, rtol=2e-5)
  np.testing.assert_allclose(pa["w"], pb["w"], rtol=2e-5, atol=1e-6)


def test_accepts_optax_schedules():
  g = jnp.ones((40, 3))
  for ours, theirs in [
    (T.sgd(SCHEDULE), optax.sgd(SCHEDULE)),
    (T.momentum(SCHEDULE, 0.9), optax.sgd(SCHEDULE, momentum=0.9)),
    (T.adam(SCHEDULE), optax.adam(SCHEDULE)),
  ]:
    np.testing.assert_allclose(_updates(ours, g), _updates(theirs, g), rtol=1e-5)
  u = np.asarray(_updates(T.sgd(SCHEDULE), g))
  assert u[0, 0] == pytest.approx(-0.2) and u[10, 0] == pytest.approx(-0.1)


@pytest.mark.parametrize("name", sorted(T.SCRATCH_OPTIMIZERS))
def test_states_are_namedtuples_and_updates_are_pure(name):
  tx = T.SCRATCH_OPTIMIZERS[name](0.1)
  params = {"a": jnp.ones(3), "b": jnp.zeros((2, 2))}
  state = tx.init(params)
  assert isinstance(state, tuple) and all(hasattr(s, "_fields") for s in state)
  assert isinstance(state[-1], T.ScaleByLearningRateState)  # The shared last link.
  counts = [s.count for s in state if "count" in s._fields]
  assert counts and all(c.dtype == jnp.int32 and int(c) == 0 for c in counts)
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
  u1, s1 = jax.jit(tx.update)(grads, state, params)
  u2, s2 = jax.jit(tx.update)(grads, state, params)  # Same inputs, same outputs ...
  assert int(state[-1].count) == 0 and int(s1[-1].count) == 1  # ... the input is untouched.
  for a, b in zip(jax.tree.leaves((u1, s1)), jax.tree.leaves((u2, s2)), strict=True):
    np.testing.assert_array_equal(a, b)
  assert jax.tree.structure(u1) == jax.tree.structure(params)
  assert all(float(jnp.max(u)) < 0 for u in jax.tree.leaves(u1))  # Descent on g > 0.


def test_count_saturates_instead_of_overflowing():
  tx = T.scale_by_adam()
  state = tx.init(jnp.zeros(2))._replace(count=jnp.asarray(np.iinfo(np.int32).max, jnp.int32))
  u, state = tx.update(jnp.ones(2), state)
  assert int(state.count) == np.iinfo(np.int32).max and bool(jnp.all(jnp.isfinite(u)))


# ---- hyperparameter validation -------------------------------------------------------------------

BAD = [
  (T.sgd, {"learning_rate": -0.1}, "learning_rate must be a positive"),
  (T.sgd, {"learning_rate": 0.0}, "learning_rate must be a positive"),
  (T.adam, {"learning_rate": float("nan")}, "learning_rate must be a positive"),
  (T.momentum, {"learning_rate": 0.1, "momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
  (T.momentum, {"learning_rate": 0.1, "momentum": -0.5}, r"momentum must lie in \[0, 1\)"),
  (T.momentum, {"learning_rate": 0.1, "dampening": 1.5}, r"dampening must lie in \[0, 1\]"),
  (
    T.momentum,
    {"learning_rate": 0.1, "nesterov": True, "dampening": 0.1},
    "Nesterov momentum needs dampening = 0",
  ),
  (T.adam, {"learning_rate": 0.1, "b1": 1.0}, r"b1 must lie in \[0, 1\)"),
  (T.adam, {"learning_rate": 0.1, "b2": 1.5}, r"b2 must lie in \[0, 1\)"),
  (T.adam, {"learning_rate": 0.1, "b2": jnp.bfloat16(0.999)}, r"b2 must lie in \[0, 1\), got 1"),
  (T.adam, {"learning_rate": 0.1, "b1": 0.9 + 0j}, "b1 must be a real number"),
  (T.adam, {"learning_rate": 0.1, "b1": jnp.ones(2)}, "b1 must be a scalar"),
  (T.adam, {"learning_rate": 0.1, "eps": 0.0}, "eps must be a positive"),
  (T.adam, {"learning_rate": 0.1, "eps_root": -1.0}, "eps_root must be a non-negative"),
  (T.rmsprop, {"learning_rate": 0.1, "decay": 1.0}, r"decay must lie in \[0, 1\)"),
  (T.rmsprop, {"learning_rate": 0.1, "eps": -1e-8}, "eps must be a positive"),
  (T.rmsprop, {"learning_rate": 0.1, "initial_scale": -1.0}, "initial_scale must be a non-neg"),
  (T.adagrad, {"learning_rate": 0.1, "eps": 0.0}, "eps must be a positive"),
  (
    T.adagrad,
    {"learning_rate": 0.1, "initial_accumulator_value": -0.1},
    "initial_accumulator_value must be a non-negative",
  ),
  (T.adadelta, {"rho": 1.0}, r"rho must lie in \[0, 1\)"),
  (T.adadelta, {"eps": 0.0}, "eps must be a positive"),
  (T.adadelta, {"learning_rate": -1.0}, "learning_rate must be a positive"),
]


@pytest.mark.parametrize(
  "factory,kwargs,message",
  BAD,
  ids=[f"{f.__name__}-{sorted(k)}-{i}" for i, (f, k, _) in enumerate(BAD)],
)
def test_bad_hyperparameters_raise_clear_errors(factory, kwargs, message):
  with pytest.raises(ValueError, match=message):
    factory(**kwargs)


def test_traced_hyperparameters_are_not_validated():
  """Inside jit/vmap (e.g. a learning-rate sweep) values are traced and checked upstream."""
  g = jnp.ones(2)

  def step(lr, b1):
    tx = T.adam(lr, b1=b1)
    return tx.update(g, tx.init(g))[0]

  out = jax.jit(jax.vmap(step))(jnp.array([0.1, 0.2]), jnp.array([0.9, 0.5]))
  np.testing.assert_allclose(out[:, 0], [-0.1, -0.2], rtol=1e-4)
