"""Gradient descent on quadratics: the 2/λ_max bound, the optimal step, the contraction rate."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.analysis import calculus, quadratic

ROT = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
LAMBDAS = np.array([1.0, 10.0])
A = ROT @ np.diag(LAMBDAS) @ ROT.T  # Symmetric positive definite, κ = 10.
STEPS = 60


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def test_quadratic_gradient_and_hessian():
  b = np.array([1.0, -2.0])
  f = quadratic.quadratic_function(A, b, c=3.0)
  x = jnp.array([0.5, -1.5])
  np.testing.assert_allclose(f(x), 0.5 * x @ A @ x + b @ x + 3.0, rtol=1e-12)
  np.testing.assert_allclose(calculus.gradient(f, x), A @ np.asarray(x) + b, rtol=1e-12)
  np.testing.assert_allclose(calculus.hessian(f, x), A, rtol=1e-12)


def test_learning_rate_bounds_closed_forms():
  assert float(quadratic.max_stable_learning_rate(A)) == pytest.approx(2 / 10)
  assert float(quadratic.optimal_learning_rate(A)) == pytest.approx(2 / 11)
  assert float(quadratic.condition_number(A)) == pytest.approx(10.0)
  kappa = 10.0
  assert float(quadratic.contraction_factor(A, 2 / 11)) == pytest.approx((kappa - 1) / (kappa + 1))
  assert float(quadratic.contraction_factor(A, 0.1)) == pytest.approx(0.9)  # max(|1-.1|, |1-1|)
  assert float(quadratic.contraction_factor(A, 0.21)) == pytest.approx(1.1)


def test_trajectory_is_the_closed_form_and_matches_optax_sgd():
  f = quadratic.quadratic_function(A)
  x0 = jnp.array([2.0, -1.0])
  eta = 0.15
  traj = quadratic.gradient_descent(f, x0, eta, STEPS)
  assert traj.shape == (STEPS + 1, 2)
  step = np.eye(2) - eta * A  # x_t = (I − ηA)^t x0.
  np.testing.assert_allclose(traj[7], np.linalg.matrix_power(step, 7) @ np.asarray(x0), rtol=1e-12)
  opt = optax.sgd(eta)

  def optax_step(carry, _):
    x, state = carry
    updates, state = opt.update(jax.grad(f)(x), state)
    x = optax.apply_updates(x, updates)
    return (x, state), x

  _, xs = jax.jit(lambda x: jax.lax.scan(optax_step, (x, opt.init(x)), None, length=STEPS))(x0)
  np.testing.assert_allclose(traj[1:], xs, rtol=1e-12, atol=1e-15)


def test_converges_below_and_diverges_above_two_over_lambda_max():
  b = np.array([1.0, 1.0])
  f = quadratic.quadratic_function(A, b)
  x_star = -np.linalg.solve(A, b)
  x0 = jnp.array([3.0, -2.0])
  eta_max = float(quadratic.max_stable_learning_rate(A))
  dist = {}
  for factor in (0.95, 1.05):
    traj = np.asarray(quadratic.gradient_descent(f, x0, factor * eta_max, STEPS))
    dist[factor] = np.linalg.norm(traj - x_star, axis=1)
  assert dist[0.95][-1] < 1e-2 * dist[0.95][0]  # |1 − 0.95·2| = 0.9 per step.
  assert dist[1.05][-1] > 10 * dist[1.05][0]  # |1 − 1.05·2| = 1.1 per step.
  np.testing.assert_allclose(dist[1.05][-1] / dist[1.05][-2], 1.1, rtol=1e-6)


def test_optimal_step_contracts_by_kappa_rate():
  f = quadratic.quadratic_function(A)
  x0 = jnp.asarray(ROT @ np.array([1.0, 1.0]))  # Both eigen-directions present.
  eta = float(quadratic.optimal_learning_rate(A))
  dist = np.linalg.norm(np.asarray(quadratic.gradient_descent(f, x0, eta, STEPS)), axis=1)
  ratios = dist[1:11] / dist[:10]
  np.testing.assert_allclose(ratios, 9 / 11, rtol=1e-10)  # (κ − 1)/(κ + 1) at every step.
  # Any other fixed step is worse in the worst direction.
  for other in (0.9 * eta, 1.1 * eta):
    assert float(quadratic.contraction_factor(A, other)) > 9 / 11


def test_bad_input():
  with pytest.raises(ValueError, match="positive definite"):
    quadratic.max_stable_learning_rate(np.diag([1.0, 0.0]))
  with pytest.raises(ValueError, match="positive definite"):
    quadratic.optimal_learning_rate(np.diag([1.0, -2.0]))
  with pytest.raises(ValueError, match="symmetric"):
    quadratic.condition_number(np.array([[1.0, 2.0], [0.0, 1.0]]))
  with pytest.raises(ValueError, match="square"):
    quadratic.max_stable_learning_rate(np.ones((2, 3)))
  with pytest.raises(ValueError, match="NaN"):
    quadratic.max_stable_learning_rate(np.array([[1.0, np.nan], [np.nan, 1.0]]))
  with pytest.raises(ValueError, match="b must have shape"):
    quadratic.quadratic_function(A, np.ones(3))
  f = quadratic.quadratic_function(A)
  with pytest.raises(ValueError, match="learning_rate"):
    quadratic.gradient_descent(f, jnp.ones(2), 0.0, 5)
  with pytest.raises(ValueError, match="learning_rate"):
    quadratic.contraction_factor(A, -0.1)
  with pytest.raises(ValueError, match="num_steps"):
    quadratic.gradient_descent(f, jnp.ones(2), 0.1, 0)
  with pytest.raises(ValueError, match="vector"):
    quadratic.gradient_descent(f, jnp.ones((2, 2)), 0.1, 5)
  with pytest.raises(ValueError, match="NaN"):
    quadratic.gradient_descent(f, jnp.array([1.0, np.nan]), 0.1, 5)
