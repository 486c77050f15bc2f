"""get_optimizer: both implementations, conventions, injected hyperparameters, clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import get_optimizer, registry

PARAMS = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([0.3])}
GRADS = {"w": jnp.array([0.2, -0.1, 0.4]), "b": jnp.array([-0.5])}


def _apply(opt, steps=5):
  state = opt.init(PARAMS)
  params = PARAMS
  for _ in range(steps):
    updates, state = opt.update(GRADS, state, params)
    params = optax.apply_updates(params, updates)
  return params, state


@pytest.mark.parametrize(
  "impl,convention,name",
  [(i, c, n) for i, c in registry.VALID_COMBINATIONS for n in sorted(registry.IMPLS[i])],
)
def test_every_optimizer_builds_steps_and_exposes_its_learning_rate(impl, convention, name):
  opt = get_optimizer(name, 0.05, impl=impl, convention=convention)
  params, state = _apply(opt, steps=2)
  assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.05)
  assert all(v.dtype == jnp.float32 for v in state.hyperparams.values())
  for key, value in registry.DEFAULTS[convention][name].items():  # The convention's defaults, ...
    if not isinstance(value, bool):  # (flags are static, not injected)
      assert float(state.hyperparams[key]) == pytest.approx(value, rel=1e-6), key
  assert float(params["w"][0]) < 1.0  # ... and a descent step on a positive gradient.


# The same hyperparameters through both implementations give the same updates.
MATCHING = [
  ("sgd", {}),
  ("momentum", {"momentum": 0.8, "nesterov": True}),
  ("adagrad", {"initial_accumulator_value": 0.0, "eps": 1e-6}),
  ("rmsprop", {"decay": 0.8, "eps": 1e-6, "eps_in_sqrt": False}),
  ("adadelta", {"rho": 0.95, "eps": 1e-5}),
  ("adam", {"b1": 0.8, "b2": 0.99, "eps": 1e-6}),
]


@pytest.mark.parametrize("name,kwargs", MATCHING, ids=[m[0] for m in MATCHING])
def test_scratch_and_optax_agree_through_the_registry(name, kwargs):
  pa, _ = _apply(get_optimizer(name, 0.1, impl="scratch", **kwargs))
  pb, _ = _apply(get_optimizer(name, 0.1, impl="optax", **kwargs))
  # Eager float32: 1 − β₂ᵗ cancels, so a 1-ulp difference in β₂ᵗ moves Adam's step by ~1e-5
  # relative; tests/optim/test_transforms.py checks the rules themselves more tightly.
  for a, b in zip(jax.tree.leaves(pa), jax.tree.leaves(pb), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("convention", ["optax", "course"])
@pytest.mark.parametrize("name", sorted(registry.SCRATCH_OPTIMIZERS))
def test_one_table_of_defaults_whatever_the_implementation(name, convention):
  """No hyperparameter besides the rate: both implementations still take the same steps."""
  scratch = get_optimizer(name, 0.1, impl="scratch", convention=convention)
  builtin = get_optimizer(name, 0.1, impl="optax", convention=convention)
  pa, sa = _apply(scratch)
  pb, sb = _apply(builtin)
  for key in set(sa.hyperparams) & set(sb.hyperparams):
    assert float(sa.hyperparams[key]) == float(sb.hyperparams[key]), key
  for a, b in zip(jax.tree.leaves(pa), jax.tree.leaves(pb), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_defaults_per_convention():
  def hp(name, **kw):
    return {k: float(v) for k, v in get_optimizer(name, 0.1, **kw).init(PARAMS).hyperparams.items()}

  for impl in ("optax", "scratch"):  # One ε per name, whatever the implementation.
    assert hp("adam", impl=impl)["eps"] == pytest.approx(1e-8)
    assert hp("rmsprop", impl=impl)["eps"] == pytest.approx(1e-8)
    assert hp("adagrad", impl=impl)["initial_accumulator_value"] == pytest.approx(0.1)
    assert hp("adadelta", impl=impl)["eps"] == pytest.approx(1e-6)
    course = {"impl": impl, "convention": "course"}
    assert hp("adam", **course)["eps"] == pytest.approx(1e-6)
    assert hp("adagrad", **course)["initial_accumulator_value"] == 0.0
    assert hp("adadelta", **course)["eps"] == pytest.approx(1e-5)
  torch = {"impl": "scratch", "convention": "torch"}
  assert hp("rmsprop", **torch)["decay"] == pytest.approx(0.99)
  assert hp("adagrad", **torch)["eps"] == pytest.approx(1e-10)
  assert hp("momentum", **torch)["dampening"] == 0.0
  assert hp("momentum", **torch, dampening=0.5)["dampening"] == 0.5  # kwargs override.
  assert set(registry.CONVENTIONS) == {"optax", "course", "torch"}


def test_torch_convention_puts_eps_outside_the_root():
  g = {"w": jnp.array([1e-4, -2e-4, 3e-4]), "b": jnp.array([0.0])}  # |g| ~ √ε: ε shows.
  for name, eps_name in [("rmsprop", "eps"), ("adagrad", "eps")]:
    outside = get_optimizer(name, 0.1, impl="scratch", convention="torch", **{eps_name: 1e-4})
    inside = get_optimizer(name, 0.1, impl="scratch", eps_in_sqrt=True, **{eps_name: 1e-4})
    u_out, _ = outside.update(g, outside.init(PARAMS), PARAMS)
    u_in, _ = inside.update(g, inside.init(PARAMS), PARAMS)
    assert not np.allclose(u_out["w"], u_in["w"], rtol=1e-2), name


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
  # Found by name, not by position; a new state, the old one untouched. Same dtype: no retrace.
  faster = optax.tree_utils.tree_set(state, learning_rate=jnp.asarray(0.3, jnp.float32))
  p3, _ = step(PARAMS, faster)
  assert len(traces) == 1
  assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1)
  np.testing.assert_allclose(PARAMS["w"] - p3["w"], 3 * (PARAMS["w"] - p1["w"]), rtol=1e-5)
  # Also inside a chain, wherever the injected state sits.
  chained = optax.chain(optax.add_decayed_weights(0.0), opt)
  cstate = optax.tree_utils.tree_set(chained.init(PARAMS), learning_rate=jnp.float32(0.3))
  assert float(optax.tree_utils.tree_get(cstate, "learning_rate")) == pytest.approx(0.3)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_schedules_and_chains_are_accepted(impl):
  schedule = optax.linear_schedule(0.0, 0.1, transition_steps=10)  # Warm-up from η = 0.
  opt = optax.chain(
    optax.clip_by_global_norm(1.0), get_optimizer("adam", schedule, impl=impl, eps=1e-8)
  )
  params, _ = _apply(opt, steps=3)
  assert np.all(np.isfinite(params["w"]))
  assert float(params["b"][0]) > PARAMS["b"][0]  # Negative gradient: the bias grows.


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_bfloat16_parameters_keep_float32_hyperparameters(impl):
  """In bf16, β₂ = 0.999 rounds to 1 (Adam then raises, or returns NaN): kept in float32."""
  opt = get_optimizer("adam", 0.05, impl=impl)
  params = {"w": jnp.array([1.0, -2.0, 0.5], jnp.bfloat16)}
  state = opt.init(params)
  assert state.hyperparams["b2"].dtype == jnp.float32
  assert float(state.hyperparams["b2"]) == pytest.approx(0.999)
  dtypes = jax.tree.map(lambda x: x.dtype, state)
  traces = []

  @jax.jit
  def step(params, state):
    traces.append(1)
    grads = jax.tree.map(lambda p: 2 * p, params)  # The gradient of Σ p².
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  for _ in range(40):
    params, state = step(params, state)
  assert len(traces) == 1  # The state keeps its dtypes: no recompilation after the first step.
  assert jax.tree.map(lambda x: x.dtype, state) == dtypes
  w = params["w"]
  assert w.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(w)))
  assert float(jnp.max(jnp.abs(w))) < 0.5  # From max |w| = 2.
  eager_update, _ = opt.update(params, state, params)  # Eagerly too (no "b2 must lie ...").
  assert bool(jnp.all(jnp.isfinite(eager_update["w"])))


@pytest.mark.parametrize("impl", ["scratch", "optax"])
@pytest.mark.parametrize("name", sorted(registry.SCRATCH_OPTIMIZERS))
def test_complex_parameters(impl, name):
  """Adam (and the rest) on |z − (1 + 1j)|² end at 1 + 1j, not at 1 − 2.67j."""
  if impl == "optax" and name == "adadelta":
    pytest.skip("optax.adadelta squares complex gradients as g², not |g|².")
  lr = {"sgd": 0.1, "momentum": 0.05, "adagrad": 0.5, "rmsprop": 0.02, "adadelta": 1.0}
  opt = get_optimizer(name, lr.get(name, 0.1), impl=impl)
  target = jnp.array(1 + 1j, jnp.complex64)
  z = jnp.zeros((), jnp.complex64)
  state = opt.init(z)
  assert all(v.dtype == jnp.float32 for v in state.hyperparams.values())

  def body(carry, _):
    z, state = carry
    g = jnp.conj(jax.grad(lambda z: jnp.abs(z - target) ** 2)(z))
    u, state = opt.update(g, state, z)
    return (optax.apply_updates(z, u), state), None

  (z, _), _ = jax.jit(lambda c: jax.lax.scan(body, c, None, length=2000))((z, state))
  assert complex(z) == pytest.approx(1 + 1j, abs=2e-2)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_extra_update_arguments_are_accepted(impl):
  opt = get_optimizer("rmsprop", 0.1, impl=impl)
  state = opt.init(PARAMS)
  u1, _ = opt.update(GRADS, state, PARAMS)
  u2, _ = opt.update(GRADS, state, PARAMS, unexpected_extra_arg=1)
  np.testing.assert_array_equal(u1["w"], u2["w"])


def test_float64_hyperparameters_on_request():
  with jax.enable_x64(True):
    opt = get_optimizer("adam", 0.1, hyperparam_dtype=jnp.float64)
    state = opt.init({"w": jnp.zeros(2, jnp.float64)})
    assert state.hyperparams["b2"].dtype == jnp.float64
    assert float(state.hyperparams["learning_rate"]) == 0.1  # Exactly the Python float.


def test_invalid_conventions_and_combinations_name_the_valid_ones():
  with pytest.raises(ValueError, match=r"Unknown optimizer convention 'keras'; valid conv"):
    get_optimizer("adam", 0.1, convention="keras")
  with pytest.raises(
    ValueError,
    match=r"convention='torch' is not available with impl='optax'; valid .*\('scratch', 'torch'\)",
  ):
    get_optimizer("adagrad", 0.1, impl="optax", convention="torch")
  with pytest.raises(ValueError, match="Nesterov momentum needs dampening = 0"):
    get_optimizer("momentum", 0.1, impl="scratch", nesterov=True, dampening=0.1)
  with pytest.raises(ValueError, match=r"Bad hyperparameters \['dampening'\]"):
    get_optimizer("momentum", 0.1, impl="optax", dampening=0.1)  # Optax's SGD has none.


def test_unknown_names_and_impls_list_the_valid_ones():
  with pytest.raises(ValueError, match=r"Unknown optimizer 'adamax'; valid optimizers: \["):
    get_optimizer("adamax", 0.1)
  with pytest.raises(ValueError, match=r"valid optimizers: .*'rmsprop'.*impl='scratch'"):
    get_optimizer("adamw", 0.1, impl="scratch")
  with pytest.raises(ValueError, match=r"Unknown optimizer impl 'torch'; valid impls: "):
    get_optimizer("sgd", 0.1, impl="torch")
  assert set(registry.SCRATCH_OPTIMIZERS) <= set(registry.OPTAX_OPTIMIZERS)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_learning_rates_raise(impl, lr):
  with pytest.raises(ValueError, match="learning_rate must be a positive finite number or an"):
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
    ("adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value must be a non"),
    ("adam", {"eps_root": -1.0}, "eps_root must be a non-negative"),
  ],
)
def test_bad_hyperparameters_raise_for_both_impls(impl, name, kwargs, message):
  with pytest.raises(ValueError, match=message):
    get_optimizer(name, 0.1, impl=impl, **kwargs)


@pytest.mark.parametrize("impl", ["scratch", "optax"])
def test_unknown_hyperparameter_names_raise(impl):
  with pytest.raises(ValueError, match=r"Bad hyperparameters \['beta'\] for optimizer 'adam'"):
    get_optimizer("adam", 0.1, impl=impl, beta=0.9)
