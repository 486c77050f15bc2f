"""get_optimizer: both implementations, injected hyperparameters, and clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import IMPLS, OPTAX_OPTIMIZERS, SCRATCH_OPTIMIZERS, get_optimizer

PARAMS = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([0.3])}
GRADS = {"w": jnp.array([0.2, -0.1, 0.4]), "b": jnp.array([-0.5])}


def _apply(opt, steps=5):
  state = opt.init(PARAMS)
  params = PARAMS
  for _ in range(steps):
    updates, state = opt.update(GRADS, state, params)
    params = optax.apply_updates(params, updates)
  return params, state


@pytest.mark.parametrize("impl,name", [(i, n) for i in sorted(IMPLS) for n in sorted(IMPLS[i])])
def test_every_optimizer_builds_steps_and_exposes_its_learning_rate(impl, name):
  opt = get_optimizer(name, 0.05, impl=impl)
  params, state = _apply(opt, steps=2)
  assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.05)
  assert float(params["w"][0]) < 1.0  # A descent step on a positive gradient.


# The same hyperparameters through both implementations give the same updates.
MATCHING = [
  ("sgd", {}),
  ("momentum", {"momentum": 0.8}),
  ("adagrad", {"initial_accumulator_value": 0.1, "eps": 1e-7}),
  ("rmsprop", {"decay": 0.9, "eps": 1e-8}),
  ("adadelta", {"rho": 0.9, "eps": 1e-6}),
  ("adam", {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
]


@pytest.mark.parametrize("name,kwargs", MATCHING, ids=[m[0] for m in MATCHING])
def test_scratch_and_optax_agree_through_the_registry(name, kwargs):
  pa, _ = _apply(get_optimizer(name, 0.1, impl="scratch", **kwargs))
  pb, _ = _apply(get_optimizer(name, 0.1, impl="optax", **kwargs))
  # Eager float32: 1 − β₂ᵗ cancels, so a 1-ulp difference in β₂ᵗ moves Adam's step by ~1e-5
  # relative; tests/optim/test_transforms.py checks the rules themselves more tightly.
  for a, b in zip(jax.tree.leaves(pa), jax.tree.leaves(pb), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_scratch_defaults_follow_the_course():
  state = get_optimizer("adagrad", 0.1, impl="scratch").init(PARAMS)
  assert float(state.hyperparams["initial_accumulator_value"]) == 0.0
  assert float(
    get_optimizer("adagrad", 0.1).init(PARAMS).hyperparams["initial_accumulator_value"]
  ) == pytest.approx(0.1)  # Optax's convention.
  assert float(
    get_optimizer("adadelta", 1.0, impl="scratch").init(PARAMS).hyperparams["eps"]
  ) == pytest.approx(1e-5)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_learning_rate_changes_in_the_state_without_recompiling(impl):
  opt = get_optimizer("momentum", 0.1, impl=impl)
  traces = []

  @jax.jit
  def step(params, state):
    traces.append(1)  # Runs only while tracing.
    updates, state = opt.update(GRADS, state, params)
    return optax.apply_updates(params, updates), state

  state = opt.init(PARAMS)
  p1, _ = step(PARAMS, state)
  state.hyperparams["learning_rate"] = jnp.asarray(0.3, jnp.float32)  # Same dtype: no retrace.
  p3, _ = step(PARAMS, state)
  assert len(traces) == 1
  np.testing.assert_allclose(PARAMS["w"] - p3["w"], 3 * (PARAMS["w"] - p1["w"]), rtol=1e-5)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_schedules_and_chains_are_accepted(impl):
  schedule = optax.linear_schedule(0.0, 0.1, transition_steps=10)  # Warm-up from η = 0.
  opt = optax.chain(
    optax.clip_by_global_norm(1.0), get_optimizer("adam", schedule, impl=impl, eps=1e-8)
  )
  params, _ = _apply(opt, steps=3)
  assert np.all(np.isfinite(params["w"]))
  assert float(params["b"][0]) > PARAMS["b"][0]  # Negative gradient: the bias grows.


def test_unknown_names_and_impls_list_the_valid_ones():
  with pytest.raises(ValueError, match=r"Unknown optimizer 'adamax'; valid optimizers: \["):
    get_optimizer("adamax", 0.1)
  with pytest.raises(ValueError, match=r"valid optimizers: .*'rmsprop'.*impl='scratch'"):
    get_optimizer("adamw", 0.1, impl="scratch")
  with pytest.raises(ValueError, match=r"Unknown optimizer impl 'torch'; valid impls: "):
    get_optimizer("sgd", 0.1, impl="torch")
  assert set(SCRATCH_OPTIMIZERS) <= set(OPTAX_OPTIMIZERS)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_learning_rates_raise(impl, lr):
  with pytest.raises(ValueError, match="learning_rate must be a positive number"):
    get_optimizer("sgd", lr, impl=impl)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
@pytest.mark.parametrize(
  "name,kwargs,message",
  [
    ("adam", {"b1": 1.0}, r"b1 must lie in \[0, 1\)"),
    ("adam", {"b2": -0.1}, r"b2 must lie in \[0, 1\)"),
    ("adam", {"eps": 0.0}, "eps must be a positive"),
    ("momentum", {"momentum": 1.2}, r"momentum must lie in \[0, 1\)"),
    ("rmsprop", {"decay": 1.0}, r"decay must lie in \[0, 1\)"),
    ("adadelta", {"rho": -0.5}, r"rho must lie in \[0, 1\)"),
    ("adagrad", {"eps": -1e-7}, "eps must be a positive"),
  ],
)
def test_bad_hyperparameters_raise_for_both_impls(impl, name, kwargs, message):
  with pytest.raises(ValueError, match=message):
    get_optimizer(name, 0.1, impl=impl, **kwargs)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_unknown_hyperparameter_names_raise(impl):
  with pytest.raises(ValueError, match=r"Bad hyperparameters \['beta'\] for optimizer 'adam'"):
    get_optimizer("adam", 0.1, impl=impl, beta=0.9)
