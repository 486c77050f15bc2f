"""Exact multivariable calculus with JAX transforms (course chapter 2).

Gradients (``jax.grad``), Hessians (``jax.hessian``), directional derivatives (``jax.jvp``, so
no gradient is formed), the steepest-ascent direction, first/second-order Taylor models,
and stationary points found by Newton's method on ∇f and classified by Hessian eigenvalues.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import analysis
  >>> f = lambda x: x[0] ** 3 - 3 * x[0] * x[1] + x[1] ** 3
  >>> analysis.classify_stationary_point(f, jnp.array([1., 1.]))
  'minimum'
  >>> analysis.classify_stationary_point(f, jnp.array([0., 0.]))
  'saddle'
"""

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from jaxnets.analysis.linalg import (
  check_finite,
  check_same_shapes,
  eigenvalue_signs,
  is_traced,
)

PyTree = Any
ScalarFn = Callable[..., jax.Array]

STATIONARY_TYPES = ("minimum", "maximum", "saddle", "degenerate")


def _compiled(kind: str, f: ScalarFn) -> Callable[..., Any]:
  """A jitted transform of ``f``, cached per function object (one compile, not one per op)."""
  try:
    return _compiled_cached(kind, f)
  except TypeError:  # Unhashable callable: compile without caching.
    return _TRANSFORMS[kind](f)


_TRANSFORMS: dict[str, Callable[[ScalarFn], Callable[..., Any]]] = {
  "value": jax.jit,
  "grad": lambda f: jax.jit(jax.grad(f)),
  "hessian": lambda f: jax.jit(jax.hessian(f)),
  "jvp": lambda f: jax.jit(lambda x, u: jax.jvp(f, (x,), (u,))[1]),
}


@functools.lru_cache(maxsize=256)
def _compiled_cached(kind: str, f: ScalarFn) -> Callable[..., Any]:
  return _TRANSFORMS[kind](f)


def _check_scalar_output(f: ScalarFn, x: PyTree, fn: str) -> None:
  out = jax.eval_shape(f, x)
  if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.inexact):
    raise ValueError(f"{fn} needs f to return a real scalar (shape ()), got {out}.")


def _tree_vdot(a: PyTree, b: PyTree) -> jax.Array:
  return sum(
    jnp.vdot(x, y)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
  )


def _tree_norm(a: PyTree) -> jax.Array:
  return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree_util.tree_leaves(a)))


def gradient(f: ScalarFn, x: PyTree) -> PyTree:
  """∇f(x) by reverse-mode differentiation (``jax.grad``); ``x`` may be a pytree (jittable).

  Example:
    >>> gradient(lambda x: jnp.sum(x ** 2), jnp.array([1., 2.])).tolist()
    [2.0, 4.0]
  """
  _check_scalar_output(f, x, "gradient")
  return _compiled("grad", f)(x)


def hessian(f: ScalarFn, x: PyTree) -> PyTree:
  """∇²f(x) via ``jax.hessian`` (forward-over-reverse); pytree ``x`` gives a nested pytree.

  For an array ``x`` of shape ``s`` the result has shape ``s + s``. For the quadratic
  ``½ xᵀAx + bᵀx`` with symmetric ``A`` the Hessian is ``A`` everywhere.

  Example:
    >>> A = jnp.array([[2., 1.], [1., 3.]])
    >>> hessian(lambda x: 0.5 * x @ A @ x, jnp.zeros(2)).tolist()
    [[2.0, 1.0], [1.0, 3.0]]
  """
  _check_scalar_output(f, x, "hessian")
  return _compiled("hessian", f)(x)


def directional_derivative(f: ScalarFn, x: PyTree, u: PyTree) -> jax.Array:
  """Slope of ``f`` at ``x`` along the unit vector ``u/‖u‖`` by one ``jax.jvp`` (jittable).

  .. math:: D_u f(x) = \\nabla f(x) \\cdot \\frac{u}{\\|u\\|}

  Forward mode pushes the single tangent ``u`` through ``f``; the gradient is never formed.
  A zero ``u`` raises eagerly (under ``jit`` it gives NaN, since values are unknown).

  Args:
    f: scalar function.
    x: point (array or pytree).
    u: direction, same structure as ``x``; normalized here.

  Returns:
    The scalar directional derivative.

  Example:
    >>> f = lambda x: x[0] ** 2 + 3 * x[1]
    >>> round(float(directional_derivative(f, jnp.array([1., 0.]), jnp.array([3., 4.]))), 4)
    3.6
  """
  _check_scalar_output(f, x, "directional_derivative")
  check_same_shapes(u, x, "directional_derivative", "u", "x")
  unit, size = _unit(u)
  if not is_traced(size):
    check_finite(size, "directional_derivative direction u")
    if float(size) == 0.0:
      raise ValueError(
        "directional_derivative: u is the zero vector; a direction must be non-zero."
      )
  x = jax.tree_util.tree_map(lambda a, t: jnp.asarray(a, jnp.result_type(t)), x, unit)
  return _compiled("jvp", f)(x, unit)


@jax.jit
def _unit(u: PyTree) -> tuple[PyTree, jax.Array]:
  size = _tree_norm(u)
  return jax.tree_util.tree_map(lambda t: t / size, u), size


def steepest_ascent(f: ScalarFn, x: PyTree) -> tuple[PyTree, jax.Array]:
  """Direction of steepest ascent ∇f/‖∇f‖ and its slope ‖∇f‖ (jittable).

  At a stationary point (∇f = 0) no direction ascends: the direction is all zeros and the
  slope 0.

  Example:
    >>> d, slope = steepest_ascent(lambda x: 3 * x[0] + 4 * x[1], jnp.zeros(2))
    >>> [round(v, 4) for v in d.tolist()], float(slope)
    ([0.6, 0.8], 5.0)
  """
  g = gradient(f, x)
  return _normalize(g)


@jax.jit
def _normalize(g: PyTree) -> tuple[PyTree, jax.Array]:
  slope = _tree_norm(g)
  safe = jnp.where(slope > 0, slope, 1.0)
  return jax.tree_util.tree_map(lambda t: t / safe, g), slope


def taylor_approx(f: ScalarFn, x0: PyTree, order: int) -> Callable[[PyTree], jax.Array]:
  """First- or second-order Taylor model of ``f`` around ``x0``, as a callable.

  .. math:: f(x_0 + h) \\approx f(x_0) + \\nabla f(x_0)^\\top h
            \\;[+\\; \\tfrac12 h^\\top \\nabla^2 f(x_0)\\, h]

  The errors shrink as O(‖h‖²) (order 1) and O(‖h‖³) (order 2). The quadratic term uses a
  Hessian-vector product (``jax.jvp`` of ∇f), so the Hessian is never materialized.

  Args:
    f: scalar function.
    x0: expansion point (array or pytree).
    order: 1 or 2.

  Returns:
    ``model(x)``, a jittable function approximating ``f(x)``.

  Example:
    >>> model = taylor_approx(jnp.exp, jnp.array(0.), order=2)
    >>> round(float(model(jnp.array(0.1))), 4)
    1.105
  """
  if order not in (1, 2):
    raise ValueError(f"taylor_approx: order must be 1 or 2, got {order!r}.")
  _check_scalar_output(f, x0, "taylor_approx")
  grad = jax.grad(f)

  @jax.jit
  def model(x: PyTree) -> jax.Array:
    h = jax.tree_util.tree_map(jnp.subtract, x, x0)
    g0, hess_h = jax.jvp(grad, (x0,), (h,))  # ∇f(x0) and the Hessian-vector product H h.
    value = f(x0) + _tree_vdot(g0, h)
    if order == 2:
      value = value + 0.5 * _tree_vdot(h, hess_h)
    return value

  return model


def _default_tol(dtype) -> float:
  return float(np.sqrt(jnp.finfo(dtype).eps))


def classify_hessian_eigenvalues(eigenvalues: ArrayLike, tol: float) -> str:
  """The course's rule on Hessian eigenvalues at a stationary point (host).

  All > tol: ``"minimum"`` (strict); all < −tol: ``"maximum"`` (strict); some > tol and some
  < −tol: ``"saddle"``; otherwise some |λ| ≤ tol with the rest of one sign: ``"degenerate"``
  (a weak extremum or undecided by second-order information).

  Example:
    >>> classify_hessian_eigenvalues(jnp.array([-1., 2.]), tol=1e-6)
    'saddle'
  """
  if (
    isinstance(tol, bool)
    or not isinstance(tol, (int, float))
    or not (math.isfinite(tol) and tol >= 0)
  ):
    raise ValueError(
      f"classify_hessian_eigenvalues: tol must be a finite number >= 0, got {tol!r}."
    )
  check_finite(eigenvalues, "classify_hessian_eigenvalues: eigenvalues")
  return _STATIONARY_TYPE_OF[eigenvalue_signs(eigenvalues, tol)]


# A stationary point's type from the definiteness of its Hessian.
_STATIONARY_TYPE_OF = {
  "positive definite": "minimum",
  "negative definite": "maximum",
  "indefinite": "saddle",
  "positive semidefinite": "degenerate",
  "negative semidefinite": "degenerate",
}


@functools.partial(jax.jit, static_argnums=0)
def _flat_derivatives(f, x):
  flat, unravel = ravel_pytree(x)
  flat = flat.astype(jnp.result_type(flat.dtype, float))

  def f_flat(v):
    return f(unravel(v))

  h = jax.hessian(f_flat)(flat)
  return f_flat(flat), jax.grad(f_flat)(flat), jnp.linalg.eigvalsh(0.5 * (h + h.T))


def classify_stationary_point(
  f: ScalarFn, x: PyTree, *, tol: float | None = None, grad_tol: float | None = None
) -> str:
  """Labels a stationary point from the Hessian's eigenvalues (host-checked).

  First-order condition: ‖∇f(x)‖ ≤ ``grad_tol``, else ``ValueError`` ("not stationary").
  Second-order: see :func:`classify_hessian_eigenvalues`; eigenvalues with
  ``|λ| <= tol`` count as zero.

  Args:
    f: scalar function of an array or pytree.
    x: the candidate point.
    tol: zero threshold for eigenvalues; default ``sqrt(eps) · max(1, max|λ|)``.
    grad_tol: stationarity threshold on ‖∇f‖; default ``sqrt(eps) · max(1, |f(x)|)``.

  Returns:
    ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"``.

  Raises:
    ValueError: ``x`` is not stationary, or holds NaN/inf.

  Example:
    >>> classify_stationary_point(lambda x: x[0] ** 4 + x[1] ** 2, jnp.zeros(2))
    'degenerate'
  """
  _check_scalar_output(f, x, "classify_stationary_point")
  for leaf in jax.tree_util.tree_leaves(x):
    check_finite(leaf, "classify_stationary_point point x")
  if isinstance(x, (jax.Array, np.ndarray)) and x.ndim == 1:  # Reuse the cached compiles.
    x = jnp.asarray(x, jnp.result_type(x.dtype, float))
    value, g, h = _compiled("value", f)(x), gradient(f, x), np.asarray(hessian(f, x))
    lam = np.linalg.eigvalsh(0.5 * (h + h.T))
  else:
    value, g, lam = _flat_derivatives(f, x)
  eps_tol = _default_tol(g.dtype)
  gnorm = float(np.linalg.norm(np.asarray(g)))
  if grad_tol is None:
    grad_tol = eps_tol * max(1.0, abs(float(value)))
  if not gnorm <= grad_tol:
    raise ValueError(
      f"classify_stationary_point: not stationary, ‖∇f(x)‖ = {gnorm:.3g} > "
      f"grad_tol = {grad_tol:.3g}; only points with ∇f = 0 can be classified."
    )
  lam = np.asarray(lam)
  check_finite(lam, "classify_stationary_point Hessian eigenvalues")
  if tol is None:
    tol = eps_tol * max(1.0, float(np.max(np.abs(lam))))
  return classify_hessian_eigenvalues(lam, tol)


def stationary_points(
  f: ScalarFn,
  initial_points: ArrayLike,
  *,
  num_steps: int = 100,
  grad_tol: float | None = None,
  dedup_tol: float = 1e-5,
) -> jax.Array:
  """Stationary points of ``f: R^d -> R`` by Newton's method on ∇f, deduplicated (host).

  From every start, ``num_steps`` Newton steps run in one jitted, vmapped ``lax.fori_loop``:

  .. math:: x \\leftarrow x - \\nabla^2 f(x)^{+} \\nabla f(x)

  (the pseudo-inverse keeps singular Hessians finite; degenerate points converge linearly).
  Runs that end with ‖∇f‖ > ``grad_tol`` or non-finite are dropped; the survivors are merged
  when closer than ``dedup_tol · max(1, ‖x‖)`` and returned sorted lexicographically.

  Args:
    f: scalar function of a vector of length ``d``.
    initial_points: ``[m, d]`` starting points.
    num_steps: Newton steps per start (> 0).
    grad_tol: convergence threshold on ‖∇f‖; default ``sqrt(eps)``.
    dedup_tol: relative distance under which two points are the same.

  Returns:
    ``[k, d]`` distinct stationary points (``k`` may be 0).

  Example:
    >>> f = lambda x: x[0] ** 3 - 3 * x[0] * x[1] + x[1] ** 3
    >>> starts = jnp.array([[0.2, -0.1], [1.3, 0.8], [0.9, 1.2]])
    >>> stationary_points(f, starts).round(6).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
  """
  pts = jnp.asarray(initial_points)
  pts = pts.astype(jnp.result_type(pts.dtype, float))
  if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] == 0:
    raise ValueError(
      f"stationary_points needs initial_points of shape [m, d] with m, d > 0, got {pts.shape}."
    )
  if not (isinstance(num_steps, int) and num_steps > 0):
    raise ValueError(f"stationary_points: num_steps must be a positive int, got {num_steps!r}.")
  check_finite(pts, "stationary_points initial_points")
  _check_scalar_output(f, pts[0], "stationary_points")
  grad_tol = _default_tol(pts.dtype) if grad_tol is None else grad_tol
  grad_f, hess_f = jax.grad(f), jax.hessian(f)

  def newton(x0):
    def step(_, x):
      new = x - jnp.linalg.pinv(hess_f(x)) @ grad_f(x)
      return jnp.where(jnp.all(jnp.isfinite(new)), new, x)

    x = jax.lax.fori_loop(0, num_steps, step, x0)
    return x, jnp.linalg.norm(grad_f(x))

  xs, gnorms = jax.jit(jax.vmap(newton))(pts)
  xs, gnorms = np.asarray(xs), np.asarray(gnorms)
  keep: list[np.ndarray] = []
  for x, g in zip(xs, gnorms, strict=True):
    if not (np.all(np.isfinite(x)) and g <= grad_tol):
      continue
    if all(np.linalg.norm(x - k) > dedup_tol * max(1.0, np.linalg.norm(k)) for k in keep):
      keep.append(x)
  keep.sort(key=tuple)
  out = np.stack(keep) if keep else np.zeros((0, pts.shape[1]), xs.dtype)
  return jnp.asarray(out)


__all__ = [
  "STATIONARY_TYPES",
  "classify_hessian_eigenvalues",
  "classify_stationary_point",
  "directional_derivative",
  "gradient",
  "hessian",
  "stationary_points",
  "steepest_ascent",
  "taylor_approx",
]
