"""From-scratch optimizers against Optax's built-ins, conventions both ways, and validation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import transforms as T

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
  params = jnp.zeros(grads.shape[1:])

  def body(state, g):
    u, state = tx.update(g, state, params)
    return state, u

  return jax.lax.scan(body, tx.init(params), grads)[1]


# (id, from-scratch optimizer, Optax optimizer with matching hyperparameters)
PARITY_CASES = [
  ("sgd", lambda: T.sgd(0.1), lambda: optax.sgd(0.1)),
  ("momentum", lambda: T.momentum(0.05, momentum=0.9), lambda: optax.sgd(0.05, momentum=0.9)),
  (
    "nesterov",
    lambda: T.momentum(0.05, momentum=0.8, nesterov=True),
    lambda: optax.sgd(0.05, momentum=0.8, nesterov=True),
  ),
  (
    "adagrad_optax_conventions",
    lambda: T.adagrad(0.2, initial_accumulator_value=0.1, eps=1e-7),
    lambda: optax.adagrad(0.2),
  ),
  (
    "adagrad_course_conventions",
    lambda: T.adagrad(0.2),
    lambda: optax.adagrad(0.2, initial_accumulator_value=0.0, eps=1e-6),
  ),
  ("rmsprop", lambda: T.rmsprop(0.003, decay=0.9, eps=1e-8), lambda: optax.rmsprop(0.003)),
  (
    "rmsprop_eps_outside",
    lambda: T.rmsprop(0.003, decay=0.8, eps=1e-3, eps_in_sqrt=False),
    lambda: optax.rmsprop(0.003, decay=0.8, eps=1e-3, eps_in_sqrt=False),
  ),
  ("adadelta", lambda: T.adadelta(1.0, rho=0.9, eps=1e-6), lambda: optax.adadelta(1.0)),
  (
    "adadelta_lr",
    lambda: T.adadelta(0.5, rho=0.95, eps=1e-5),
    lambda: optax.adadelta(0.5, rho=0.95, eps=1e-5),
  ),
  ("adam", lambda: T.adam(0.01, eps=1e-8), lambda: optax.adam(0.01)),
  (
    "adam_eps_root",
    lambda: T.adam(0.02, b1=0.8, b2=0.99, eps=1e-7, eps_root=1e-6),
    lambda: optax.adam(0.02, b1=0.8, b2=0.99, eps=1e-7, eps_root=1e-6),
  ),
  ("adam_course_eps", lambda: T.adam(0.01), lambda: optax.adam(0.01, eps=1e-6)),
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


def test_parity_of_updates_for_random_gradient_sequences():
  """Exact update rules, step by step, on 150 random gradients (scale 1e-3 to 1e2)."""
  rng = np.random.default_rng(1)
  grads = jnp.asarray(
    rng.normal(size=(150, 5)) * 10.0 ** rng.uniform(-3, 2, size=(150, 1)), jnp.float32
  )
  run_all = jax.jit(lambda g: [(_updates(a(), g), _updates(b(), g)) for _, a, b in PARITY_CASES])
  for (name, _, _), (ua, ub) in zip(PARITY_CASES, run_all(grads), strict=True):
    np.testing.assert_allclose(ua, ub, rtol=1e-5, atol=1e-8, err_msg=name)


# ---- conventions, both ways -------------------------------------------------------------------


def _numpy_course_reference(name, grads, lr, **hp):
  """The course's update rules written out in numpy (float64), independent of both libraries."""
  s = np.zeros_like(grads[0], np.float64) + hp.get("s0", 0.0)
  dx = np.zeros_like(s)
  out = []
  for g in grads.astype(np.float64):
    if name == "adagrad":
      s = s + g * g
      step = g / np.sqrt(s + hp["eps"]) if hp["eps_in_sqrt"] else g / (np.sqrt(s) + hp["eps"])
      out.append(-lr * step)
    elif name == "adadelta":  # Zeiler / the course: no learning rate.
      s = hp["rho"] * s + (1 - hp["rho"]) * g * g
      step = np.sqrt(dx + hp["eps"]) / np.sqrt(s + hp["eps"]) * g
      dx = hp["rho"] * dx + (1 - hp["rho"]) * step * step
      out.append(-step)
  return np.stack(out)


@pytest.fixture(scope="module")
def grads():
  return np.random.default_rng(2).normal(size=(60, 4)).astype(np.float32)


def test_adagrad_initial_accumulator_convention(grads):
  course = np.asarray(_updates(T.adagrad(0.3), jnp.asarray(grads)))
  reference = _numpy_course_reference("adagrad", grads, 0.3, eps=1e-6, eps_in_sqrt=True)
  np.testing.assert_allclose(course, reference, rtol=1e-5)
  optax_default = np.asarray(_updates(optax.adagrad(0.3), jnp.asarray(grads)))
  # s0 = 0.1 damps the first steps: the two conventions really differ ...
  assert np.max(np.abs(course[0] - optax_default[0])) > 1e-2
  # ... and each implementation reproduces the other's convention when asked to.
  np.testing.assert_allclose(
    _updates(T.adagrad(0.3, initial_accumulator_value=0.1, eps=1e-7), jnp.asarray(grads)),
    optax_default,
    rtol=1e-5,
  )
  np.testing.assert_allclose(
    _updates(optax.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-6), jnp.asarray(grads)),
    course,
    rtol=1e-5,
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
  ada_out = np.asarray(_updates(T.adagrad(0.1, eps=1e-3, eps_in_sqrt=False), g))
  np.testing.assert_allclose(
    ada_out,
    _numpy_course_reference("adagrad", np.asarray(g), 0.1, eps=1e-3, eps_in_sqrt=False),
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
  course = np.asarray(_updates(T.adadelta(), g))  # η = 1: the parameter-free original.
  np.testing.assert_allclose(
    course, _numpy_course_reference("adadelta", grads, 1.0, rho=0.9, eps=1e-5), rtol=1e-5
  )
  np.testing.assert_allclose(course, _updates(optax.adadelta(1.0, eps=1e-5), g), rtol=1e-5)
  # Optax's default learning_rate=None skips the -η scaling: the same step with the other sign.
  np.testing.assert_allclose(course, -np.asarray(_updates(optax.adadelta(eps=1e-5), g)), rtol=1e-5)
  # A learning rate scales the step but not the accumulators (as in Optax and PyTorch).
  np.testing.assert_allclose(_updates(T.adadelta(0.25), g), 0.25 * course, rtol=1e-5)


# ---- composition, schedules, purity ------------------------------------------------------------


def test_composes_with_chain_weight_decay_and_clipping():
  params, _ = _problem()

  def chained(opt):
    return optax.chain(optax.clip_by_global_norm(0.5), optax.add_decayed_weights(1e-2), opt)

  pa, pb, la, lb = jax.jit(_trajectories, static_argnums=(0, 1, 2))(
    chained(T.adam(0.05, eps=1e-8)), chained(optax.adam(0.05)), 60, params
  )
  np.testing.assert_allclose(la, lb, rtol=2e-5)
  np.testing.assert_allclose(pa["w"], pb["w"], rtol=2e-5, atol=1e-6)


def test_accepts_optax_schedules():
  schedule = optax.exponential_decay(0.2, transition_steps=10, decay_rate=0.5)
  g = jnp.ones((40, 3))
  for ours, theirs in [
    (T.sgd(schedule), optax.sgd(schedule)),
    (T.momentum(schedule, 0.9), optax.sgd(schedule, momentum=0.9)),
    (T.adam(schedule, eps=1e-8), optax.adam(schedule)),
  ]:
    np.testing.assert_allclose(_updates(ours, g), _updates(theirs, g), rtol=1e-5)
  u = np.asarray(_updates(T.sgd(schedule), g))
  assert u[0, 0] == pytest.approx(-0.2) and u[10, 0] == pytest.approx(-0.1)


@pytest.mark.parametrize("name", sorted(T.SCRATCH_OPTIMIZERS))
def test_states_are_namedtuples_and_updates_are_pure(name):
  tx = T.SCRATCH_OPTIMIZERS[name](0.1)
  params = {"a": jnp.ones(3), "b": jnp.zeros((2, 2))}
  state = tx.init(params)
  assert isinstance(state, tuple) and hasattr(state, "_fields")
  assert state.count.dtype == jnp.int32 and int(state.count) == 0
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
  u1, s1 = jax.jit(tx.update)(grads, state, params)
  u2, s2 = jax.jit(tx.update)(grads, state, params)  # Same inputs, same outputs ...
  assert int(state.count) == 0 and int(s1.count) == 1  # ... and the input state is untouched.
  for a, b in zip(jax.tree.leaves((u1, s1)), jax.tree.leaves((u2, s2)), strict=True):
    np.testing.assert_array_equal(a, b)
  assert jax.tree.structure(u1) == jax.tree.structure(params)
  assert all(float(jnp.max(u)) < 0 for u in jax.tree.leaves(u1))  # Descent on g > 0.


# ---- hyperparameter validation ------------------------------------------------------------------

BAD = [
  (T.sgd, {"learning_rate": -0.1}, "learning_rate must be a positive"),
  (T.sgd, {"learning_rate": 0.0}, "learning_rate must be a positive"),
  (T.adam, {"learning_rate": float("nan")}, "learning_rate must be a positive"),
  (T.momentum, {"learning_rate": 0.1, "momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
  (T.momentum, {"learning_rate": 0.1, "momentum": -0.5}, r"momentum must lie in \[0, 1\)"),
  (T.adam, {"learning_rate": 0.1, "b1": 1.0}, r"b1 must lie in \[0, 1\)"),
  (T.adam, {"learning_rate": 0.1, "b2": 1.5}, r"b2 must lie in \[0, 1\)"),
  (T.adam, {"learning_rate": 0.1, "eps": 0.0}, "eps must be a positive"),
  (T.adam, {"learning_rate": 0.1, "eps_root": -1.0}, "eps_root must be a non-negative"),
  (T.rmsprop, {"learning_rate": 0.1, "decay": 1.0}, r"decay must lie in \[0, 1\)"),
  (T.rmsprop, {"learning_rate": 0.1, "eps": -1e-8}, "eps must be a positive"),
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
  "factory,kwargs,message", BAD, ids=[f"{f.__name__}-{sorted(k.items())}" for f, k, _ in BAD]
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
