"""Tests for jaxnets.analysis.calculus against closed forms and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.analysis import calculus, linalg


def rosenbrock(p):
  x, y = p[0], p[1]
  return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(x, y):
  return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def rosenbrock_hess(x, y):
  return np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])


def cubic(p):  # x³ − 3xy + y³: saddle at (0, 0), minimum at (1, 1).
  return p[0] ** 3 - 3 * p[0] * p[1] + p[1] ** 3


def smooth(p):
  return jnp.exp(p[0]) * jnp.sin(p[1]) + p[0] ** 2 * p[1]


def _central_diff_grad(f, x, h=1e-6):
  x = np.asarray(x, np.float64)
  return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def test_gradient_and_hessian_closed_forms():
  with jax.enable_x64(True):
    for x, y in [(-1.2, 1.0), (0.5, 0.3), (1.0, 1.0)]:
      p = jnp.array([x, y])
      np.testing.assert_allclose(
        calculus.gradient(rosenbrock, p), rosenbrock_grad(x, y), rtol=1e-12, atol=1e-12
      )
      hess = calculus.hessian(rosenbrock, p)
      np.testing.assert_allclose(hess, rosenbrock_hess(x, y), rtol=1e-12)
      np.testing.assert_allclose(hess, hess.T)  # Symmetry (Schwarz).
    # Against central finite differences, on a non-polynomial function.
    p = np.array([0.3, -0.7])
    fd = _central_diff_grad(lambda v: float(smooth(jnp.asarray(v))), p)
    np.testing.assert_allclose(calculus.gradient(smooth, jnp.asarray(p)), fd, rtol=1e-7)


def test_hessian_of_quadratic_is_a_and_eigvecs_are_curvature_axes():
  a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
  b = jnp.array([1.0, -1.0])
  f = lambda x: 0.5 * x @ a @ x + b @ x  # noqa: E731
  for x in (jnp.zeros(2), jnp.array([5.0, -3.0])):
    np.testing.assert_allclose(calculus.hessian(f, x), a, atol=1e-6)
  lam, vecs = jnp.linalg.eigh(a)
  for i in range(2):  # Second directional derivative along eigenvector i is λ_i.
    u = vecs[:, i]
    slope = lambda x, u=u: calculus.directional_derivative(f, x, u)  # noqa: E731
    second = jax.jvp(slope, (jnp.ones(2),), (u,))[1]
    np.testing.assert_allclose(second, lam[i], rtol=1e-5)


def test_pytree_inputs():
  def f(p):
    return jnp.sum(p["w"] ** 2) * p["b"] + p["b"] ** 3

  p = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}
  g = calculus.gradient(f, p)
  np.testing.assert_allclose(g["w"], 2 * p["w"] * 3.0)
  np.testing.assert_allclose(g["b"], 5.0 + 27.0)
  h = calculus.hessian(f, p)
  np.testing.assert_allclose(h["w"]["w"], 6.0 * jnp.eye(2))
  np.testing.assert_allclose(h["w"]["b"], 2 * p["w"])
  np.testing.assert_allclose(h["b"]["b"], 18.0)
  u = {"w": jnp.array([1.0, 0.0]), "b": jnp.array(1.0)}
  np.testing.assert_allclose(
    calculus.directional_derivative(f, p, u), (6.0 + 32.0) / jnp.sqrt(2), rtol=1e-6
  )
  assert (
    calculus.classify_stationary_point(
      lambda q: jnp.sum(q["a"] ** 2) - q["c"] ** 2, {"a": jnp.zeros(2), "c": jnp.zeros(())}
    )
    == "saddle"
  )


def test_chain_rule_by_composing_transforms():
  g = lambda x: jnp.array([x[0] * x[1], jnp.sin(x[0])])  # noqa: E731
  h = lambda y: jnp.sum(y**2)  # noqa: E731
  x, u = jnp.array([0.4, 1.5]), jnp.array([1.0, 2.0])
  jg = jax.jacobian(g)(x)
  # d/dx h(g(x)) = J_g(x)ᵀ ∇h(g(x)) (vjp), and its jvp along u equals ∇h · (J_g u).
  np.testing.assert_allclose(
    calculus.gradient(lambda v: h(g(v)), x), jg.T @ jax.grad(h)(g(x)), rtol=1e-6
  )
  _, tangent = jax.jvp(lambda v: h(g(v)), (x,), (u,))
  np.testing.assert_allclose(tangent, jax.grad(h)(g(x)) @ (jg @ u), rtol=1e-6)


def test_directional_derivative_and_steepest_ascent():
  x = jnp.array([0.3, -0.7])
  grad = calculus.gradient(smooth, x)
  u = jnp.array([2.0, 1.0])
  np.testing.assert_allclose(
    calculus.directional_derivative(smooth, x, u), grad @ u / jnp.linalg.norm(u), rtol=1e-6
  )
  np.testing.assert_allclose(
    jax.jit(calculus.directional_derivative, static_argnums=0)(smooth, x, u),
    grad @ u / jnp.linalg.norm(u),
    rtol=1e-6,
  )
  direction, slope = calculus.steepest_ascent(smooth, x)
  np.testing.assert_allclose(slope, jnp.linalg.norm(grad), rtol=1e-6)
  np.testing.assert_allclose(jnp.linalg.norm(direction), 1.0, rtol=1e-6)
  np.testing.assert_allclose(
    calculus.directional_derivative(smooth, x, direction), slope, rtol=1e-6
  )
  # No unit direction has a larger slope than the steepest one.
  angles = jnp.linspace(0, 2 * jnp.pi, 64)
  dirs = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)
  slopes = jax.vmap(lambda d: calculus.directional_derivative(smooth, x, d))(dirs)
  assert float(jnp.max(slopes)) <= float(slope) + 1e-5
  d0, s0 = calculus.steepest_ascent(cubic, jnp.array([1.0, 1.0]))  # Stationary point.
  assert float(s0) == 0.0 and bool(jnp.all(d0 == 0))


def test_directional_derivative_bad_input():
  with pytest.raises(ValueError, match="zero vector"):
    calculus.directional_derivative(smooth, jnp.ones(2), jnp.zeros(2))
  with pytest.raises(ValueError, match="does not match"):
    calculus.directional_derivative(smooth, jnp.ones(2), jnp.ones(3))
  with pytest.raises(ValueError, match="NaN"):
    calculus.directional_derivative(smooth, jnp.ones(2), jnp.array([1.0, jnp.nan]))
  with pytest.raises(ValueError, match="scalar"):
    calculus.gradient(lambda x: x * 2, jnp.ones(2))


def test_directional_derivative_checks_only_concrete_directions():
  """The zero-direction check needs values: it runs eagerly, and is skipped on tracers."""
  assert calculus.is_traced is linalg.is_traced  # One public helper, shared with linalg.
  seen = []

  def slope(u):
    seen.append(linalg.is_traced(u))
    return calculus.directional_derivative(smooth, jnp.ones(2), u)

  assert bool(jnp.isnan(jax.jit(slope)(jnp.zeros(2))))  # Documented: NaN under jit.
  assert seen == [True]
  with pytest.raises(ValueError, match="zero vector"):
    slope(jnp.zeros(2))


def test_taylor_errors_shrink_like_h2_and_h3():
  with jax.enable_x64(True):
    x0 = jnp.array([0.3, -0.7])
    direction = jnp.array([0.6, 0.8])
    models = {k: calculus.taylor_approx(smooth, x0, k) for k in (1, 2)}
    scales = jnp.array([1e-1, 5e-2, 2.5e-2, 1.25e-2])
    for order, expected in ((1, 2.0), (2, 3.0)):
      errs = jnp.array(
        [abs(models[order](x0 + t * direction) - smooth(x0 + t * direction)) for t in scales]
      )
      slope = jnp.polyfit(jnp.log(scales), jnp.log(errs), 1)[0]
      assert abs(float(slope) - expected) < 0.1, (order, float(slope))
    # Exact on a quadratic at second order; exact on a linear function at first order.
    quad = lambda x: x @ jnp.array([[2.0, 1.0], [1.0, 4.0]]) @ x + x[0]  # noqa: E731
    far = jnp.array([3.0, -5.0])
    np.testing.assert_allclose(calculus.taylor_approx(quad, x0, 2)(far), quad(far), rtol=1e-12)
  with pytest.raises(ValueError, match="order must be 1 or 2"):
    calculus.taylor_approx(smooth, x0, 3)


CASES = [
  # (f, starts, expected {point: type})
  (
    cubic,
    [[0.2, -0.1], [1.3, 0.8], [-0.1, 0.3], [0.8, 1.2]],
    {(0.0, 0.0): "saddle", (1.0, 1.0): "minimum"},
  ),
  (rosenbrock, [[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]], {(1.0, 1.0): "minimum"}),
  (
    lambda p: p[0] ** 4 - 2 * p[0] ** 2 + p[1] ** 2,
    [[-1.5, 0.3], [0.2, -0.4], [1.4, 0.1]],
    {(-1.0, 0.0): "minimum", (0.0, 0.0): "saddle", (1.0, 0.0): "minimum"},
  ),
  (
    lambda p: -(p[0] ** 2) - 3 * p[1] ** 2 + p[0] * p[1],
    [[1.0, 2.0], [-3.0, 0.5]],
    {(0.0, 0.0): "maximum"},
  ),
]


@pytest.mark.parametrize("f,starts,expected", CASES)
def test_stationary_points_found_and_classified(f, starts, expected):
  with jax.enable_x64(True):
    pts = calculus.stationary_points(f, jnp.array(starts))
    np.testing.assert_allclose(pts, np.array(sorted(expected)), atol=1e-8)
    for p in pts:
      label = calculus.classify_stationary_point(f, p)
      assert label == expected[tuple(np.round(np.asarray(p), 6) + 0.0)]


@pytest.mark.parametrize(
  "f",
  [
    lambda p: p[0] ** 4 + p[1] ** 4,  # Weak (non-strict) minimum.
    lambda p: p[0] ** 3 + p[1] ** 2,  # Undecided: neither extremum.
    lambda p: p[0] ** 3 - 3 * p[0] * p[1] ** 2,  # Monkey saddle: Hessian is zero.
  ],
)
def test_degenerate_points(f):
  with jax.enable_x64(True):
    assert calculus.classify_stationary_point(f, jnp.zeros(2)) == "degenerate"
    pts = calculus.stationary_points(f, jnp.array([[0.5, 0.4]]), num_steps=200)
    np.testing.assert_allclose(pts, [[0.0, 0.0]], atol=1e-4)  # Newton is only linear here.


def test_classification_rules_and_errors():
  assert calculus.classify_hessian_eigenvalues(jnp.array([1.0, 2.0]), 1e-6) == "minimum"
  assert calculus.classify_hessian_eigenvalues(jnp.array([-1.0, -2.0]), 1e-6) == "maximum"
  assert calculus.classify_hessian_eigenvalues(jnp.array([-1.0, 0.0, 2.0]), 1e-6) == "saddle"
  assert calculus.classify_hessian_eigenvalues(jnp.array([0.0, 2.0]), 1e-6) == "degenerate"
  assert calculus.classify_hessian_eigenvalues(jnp.array([0.0, -2.0]), 1e-6) == "degenerate"
  with pytest.raises(ValueError, match="not stationary"):
    calculus.classify_stationary_point(cubic, jnp.array([0.5, 0.5]))
  with pytest.raises(ValueError, match="NaN"):
    calculus.classify_stationary_point(cubic, jnp.array([jnp.nan, 0.0]))
  with pytest.raises(ValueError, match=r"\[m, d\]"):
    calculus.stationary_points(cubic, jnp.zeros(2))
  with pytest.raises(ValueError, match="num_steps"):
    calculus.stationary_points(cubic, jnp.zeros((1, 2)), num_steps=0)
  with pytest.raises(ValueError, match="NaN"):
    calculus.stationary_points(cubic, jnp.array([[jnp.nan, 0.0]]))
  # Starts that never converge (no stationary point exists) give an empty result.
  assert calculus.stationary_points(lambda p: p[0] + p[1] ** 2, jnp.ones((2, 2))).shape == (0, 2)
