"""From-scratch linear regression and backprop against least squares, Optax and jax.grad."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import data, losses
from jaxnets.models import least_squares
from jaxnets.models import scratch as S

LR, BATCH, EPOCHS = 0.03, 10, 3


@pytest.fixture(scope="module")
def linear_data():
  d = data.load("synthetic_linear")
  return jnp.asarray(d["x"]), jnp.asarray(d["y"])


@pytest.fixture(scope="module")
def fitted(linear_data):
  x, y = linear_data
  return S.sgd_fit(x, y, lr=LR, batch_size=BATCH, epochs=EPOCHS, seed=0)


def test_sgd_recovers_true_parameters(fitted):
  params, epoch_losses = fitted
  np.testing.assert_allclose(params["w"][:, 0], data.datasets.TRUE_W, atol=0.05)
  assert abs(float(params["b"]) - data.datasets.TRUE_B) < 0.05
  assert epoch_losses.shape == (EPOCHS,)
  # The noise has std 0.01, so the best reachable loss is about 0.5 * 0.01² = 5e-5.
  assert float(epoch_losses[-1]) < 1e-3 and float(epoch_losses[-1]) <= float(epoch_losses[0])


def test_sgd_matches_closed_form_least_squares(fitted, linear_data):
  params, _ = fitted
  w, b = least_squares(*linear_data)
  np.testing.assert_allclose(params["w"], w, atol=5e-3)
  np.testing.assert_allclose(params["b"], b, atol=5e-3)


def test_sgd_matches_optax_sgd_with_jax_grad_step_for_step(fitted, linear_data):
  """The same minibatches through optax.sgd + jax.grad of losses.squared_loss."""
  x, y = linear_data
  init_key = jax.random.key(0)
  indices = data.run_indices(0, EPOCHS, x.shape[0], BATCH)
  opt = optax.sgd(LR)

  @jax.jit
  def run(params):
    def step(carry, idx):
      p, state = carry
      grads = jax.grad(lambda p: losses.squared_loss(S.linreg_forward(p, x[idx]), y[idx]).mean())(p)
      updates, state = opt.update(grads, state)
      return (optax.apply_updates(p, updates), state), None

    (p, _), _ = jax.lax.scan(step, (params, opt.init(params)), indices.reshape(-1, BATCH))
    return p

  reference = run(S.init_linreg(init_key, 2))
  params, _ = fitted
  np.testing.assert_allclose(params["w"], reference["w"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(params["b"], reference["b"], rtol=1e-5, atol=1e-6)


def test_linreg_grads_equal_jax_grad(linear_data):
  x, y = linear_data
  params = {"w": jnp.array([[0.3], [-0.7]]), "b": jnp.float32(0.2)}
  loss = lambda p: losses.squared_loss(S.linreg_forward(p, x[:32]), y[:32]).mean()
  hand, auto = jax.jit(lambda p: (S.linreg_grads(p, x[:32], y[:32]), jax.grad(loss)(p)))(params)
  for k in params:
    np.testing.assert_allclose(hand[k], auto[k], rtol=1e-5, atol=1e-7)


def test_minibatch_indices_are_epoch_permutations():
  # The shapes sgd_fit used above, so the shuffle is already compiled.
  idx = np.asarray(data.run_indices(1, EPOCHS, 1000, BATCH))
  assert idx.shape == (EPOCHS, 1000 // BATCH, BATCH)
  for epoch in idx:  # Every example exactly once per epoch.
    np.testing.assert_array_equal(np.sort(epoch.ravel()), np.arange(1000))
  assert not np.array_equal(idx[0], idx[1])


@pytest.mark.parametrize(
  "kwargs, match",
  [
    ({"lr": 0.0}, "lr must be positive"),
    ({"batch_size": 0}, "batch_size must be an integer in \\[1, 1000\\]"),
    ({"batch_size": 1001}, "batch_size"),
    ({"epochs": 0}, "epochs must be a positive integer"),
  ],
)
def test_sgd_fit_bad_arguments(linear_data, kwargs, match):
  x, y = linear_data
  args = dict(lr=LR, batch_size=BATCH, epochs=1, seed=0) | kwargs
  with pytest.raises(ValueError, match=match):
    S.sgd_fit(x, y, **args)


def test_sgd_fit_shape_errors(linear_data):
  x, y = linear_data
  with pytest.raises(ValueError, match="y must have shape \\(1000, 1\\)"):
    S.sgd_fit(x, y[:, 0], LR, BATCH, 1, 0)
  with pytest.raises(ValueError, match="x must be f32\\[n, d\\]"):
    S.sgd_fit(x[:, 0], y, LR, BATCH, 1, 0)


# --- The 2-layer sigmoid MLP with squared loss ----------------------------------------------

# The classic hand-worked example: inputs (0.05, 0.10), targets (0.01, 0.99),
# w1..w4 = .15 .20 .25 .30, b1 = .35, w5..w8 = .40 .45 .50 .55, b2 = .60, where
# h1 = w1 i1 + w2 i2 + b1, h2 = w3 i1 + w4 i2 + b1,
# o1 = w5 h1 + w6 h2 + b2, o2 = w7 h1 + w8 h2 + b2.
WORKED = {
  "w1": jnp.array([[0.15, 0.25], [0.20, 0.30]]),
  "b1": jnp.array([0.35, 0.35]),
  "w2": jnp.array([[0.40, 0.50], [0.45, 0.55]]),
  "b2": jnp.array([0.60, 0.60]),
}
WORKED_X = jnp.array([[0.05, 0.10]])
WORKED_T = jnp.array([[0.01, 0.99]])


def _sigmoid(z):
  return 1.0 / (1.0 + math.exp(-z))


def test_worked_forward_example_by_hand():
  o, cache = S.mlp_forward(WORKED, WORKED_X)
  # By hand, in float64: net_h1 = 0.15*0.05 + 0.20*0.10 + 0.35 = 0.3775.
  h1, h2 = _sigmoid(0.3775), _sigmoid(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
  o1, o2 = _sigmoid(0.40 * h1 + 0.45 * h2 + 0.6), _sigmoid(0.50 * h1 + 0.55 * h2 + 0.6)
  np.testing.assert_allclose(cache["h"][0], [h1, h2], rtol=1e-6)
  np.testing.assert_allclose(o[0], [o1, o2], rtol=1e-6)
  # The published numbers of this example.
  np.testing.assert_allclose(cache["h"][0], [0.593269992, 0.596884378], atol=1e-6)
  np.testing.assert_allclose(o[0], [0.75136507, 0.772928465], atol=1e-6)
  assert abs(float(S.mlp_loss(WORKED, WORKED_X, WORKED_T)) - 0.298371109) < 1e-6
  assert abs(0.5 * (o1 - 0.01) ** 2 + 0.5 * (o2 - 0.99) ** 2 - 0.298371109) < 1e-8


def test_worked_backward_example_by_hand():
  g = S.mlp_backward(WORKED, WORKED_X, WORKED_T)
  # The chain rule by hand in float64, one weight at a time: dE/dw5 = (o1 - t1) o1 (1 - o1) h1.
  i1, i2, t1, t2 = 0.05, 0.10, 0.01, 0.99
  h1, h2 = _sigmoid(0.15 * i1 + 0.20 * i2 + 0.35), _sigmoid(0.25 * i1 + 0.30 * i2 + 0.35)
  o1, o2 = _sigmoid(0.40 * h1 + 0.45 * h2 + 0.6), _sigmoid(0.50 * h1 + 0.55 * h2 + 0.6)
  d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
  dw5, dw6, dw7, dw8 = d1 * h1, d1 * h2, d2 * h1, d2 * h2
  e1 = (d1 * 0.40 + d2 * 0.50) * h1 * (1 - h1)  # Error reaching hidden unit 1 from both outputs.
  e2 = (d1 * 0.45 + d2 * 0.55) * h2 * (1 - h2)
  dw1, dw2, dw3, dw4 = e1 * i1, e1 * i2, e2 * i1, e2 * i2
  np.testing.assert_allclose(g["w2"], [[dw5, dw7], [dw6, dw8]], rtol=1e-5)
  np.testing.assert_allclose(g["w1"], [[dw1, dw3], [dw2, dw4]], rtol=1e-5)
  np.testing.assert_allclose(g["b2"], [d1, d2], rtol=1e-5)
  np.testing.assert_allclose(g["b1"], [e1, e2], rtol=1e-5)
  # The published numbers of this example (updated weights 0.35891648, 0.561370121, 0.149780716
  # at learning rate 0.5).
  np.testing.assert_allclose([dw5, dw8, dw1], [0.082167041, -0.022740242, 0.000438568], atol=1e-9)


@pytest.mark.parametrize("sizes, sigmoid_output", [((3, 5, 2), True), ((4, 7, 3), False)])
def test_backprop_equals_jax_grad(sizes, sigmoid_output):
  rng = np.random.default_rng(sum(sizes))  # numpy inputs: nothing to compile but the check.
  d, h, k = sizes
  params = {
    "w1": rng.normal(size=(d, h)),
    "b1": rng.normal(size=h),
    "w2": rng.normal(size=(h, k)),
    "b2": rng.normal(size=k),
  }
  params = {name: jnp.asarray(v, jnp.float32) for name, v in params.items()}
  x = jnp.asarray(rng.normal(size=(6, d)), jnp.float32)
  t = jnp.asarray(rng.uniform(size=(6, k)), jnp.float32)
  both = jax.jit(
    lambda p: (
      S.mlp_backward(p, x, t, sigmoid_output),
      jax.grad(S.mlp_loss)(p, x, t, sigmoid_output),
    )
  )
  hand, auto = both(params)
  assert jax.tree.structure(hand) == jax.tree.structure(auto)
  for name in params:
    assert hand[name].shape == params[name].shape
    np.testing.assert_allclose(hand[name], auto[name], rtol=1e-5, atol=1e-7, err_msg=name)


def test_init_mlp_shapes():
  params = jax.eval_shape(lambda key: S.init_mlp(key, 3, 5, 2), jax.random.key(0))
  assert {k: v.shape for k, v in params.items()} == {
    "w1": (3, 5),
    "b1": (5,),
    "w2": (5, 2),
    "b2": (2,),
  }


def test_mlp_loss_is_num_outputs_times_squared_loss():
  o, _ = S.mlp_forward(WORKED, WORKED_X)
  np.testing.assert_allclose(
    S.mlp_loss(WORKED, WORKED_X, WORKED_T), 2 * losses.squared_loss(o, WORKED_T).mean(), rtol=1e-6
  )


def test_mlp_bad_shapes():
  with pytest.raises(ValueError, match="x must be f32\\[n, 2\\]"):
    S.mlp_forward(WORKED, jnp.ones((1, 3)))
  with pytest.raises(ValueError, match="targets have shape \\(1, 3\\)"):
    S.mlp_backward(WORKED, WORKED_X, jnp.ones((1, 3)))
  with pytest.raises(ValueError, match="must be positive"):
    S.init_mlp(jax.random.key(0), 2, 0, 1)
