"""Gradient descent on quadratics and its learning-rate bounds (course chapter 3).

For :math:`f(x) = \\tfrac12 x^\\top A x + b^\\top x` with symmetric positive definite ``A``,
gradient descent :math:`x \\leftarrow x - \\eta \\nabla f(x)` multiplies the error along
eigenvector ``i`` by :math:`1 - \\eta\\lambda_i` each step, so it converges iff
:math:`0 < \\eta < 2/\\lambda_{\\max}`; the step :math:`2/(\\lambda_{\\min} + \\lambda_{\\max})`
minimizes the worst factor, which then equals :math:`(\\kappa - 1)/(\\kappa + 1)`.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import analysis
  >>> A = jnp.diag(jnp.array([1., 10.]))
  >>> round(float(analysis.max_stable_learning_rate(A)), 4)
  0.2
  >>> round(float(analysis.optimal_learning_rate(A)), 4)
  0.1818
"""

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnets.analysis.linalg import (
  as_float_array,
  check_finite,
  check_square,
  concrete_square_matrix,
  is_symmetric,
  is_traced,
)


def quadratic_function(
  a: ArrayLike, b: ArrayLike | None = None, c: float = 0.0
) -> Callable[[jax.Array], jax.Array]:
  """The quadratic ``f(x) = ½ xᵀAx + bᵀx + c`` as a jittable function.

  Its gradient is ``½(A + Aᵀ)x + b`` and its Hessian ``½(A + Aᵀ)`` (``A`` for symmetric ``A``).

  Example:
    >>> f = quadratic_function(jnp.eye(2), jnp.array([1., 0.]))
    >>> float(f(jnp.array([2., 2.])))
    6.0
  """
  a = as_float_array(a, "quadratic_function")
  check_square(a, "quadratic_function")
  n = a.shape[0]
  b = jnp.zeros((n,), a.dtype) if b is None else jnp.asarray(b, a.dtype)
  if b.shape != (n,):
    raise ValueError(
      f"quadratic_function: b must have shape ({n},) to match A {a.shape}, got {b.shape}."
    )

  def f(x: jax.Array) -> jax.Array:
    return 0.5 * x @ a @ x + b @ x + c

  return f


def _pd_eigenvalues(a: ArrayLike, fn: str) -> np.ndarray:
  """Eigenvalues (ascending) of a concrete symmetric positive definite matrix, else raises."""
  a = concrete_square_matrix(
    a, fn, f"{fn} checks positive definiteness on concrete values; it cannot run under jit."
  )
  if not is_symmetric(a):
    raise ValueError(
      f"{fn} needs a symmetric matrix (the Hessian of a quadratic); got a non-symmetric one."
    )
  lam = np.asarray(jnp.linalg.eigvalsh(a))
  tol = a.shape[0] * float(jnp.finfo(a.dtype).eps) * float(np.max(np.abs(lam)))
  if not lam[0] > tol:
    raise ValueError(
      f"{fn} needs a positive definite matrix; its smallest eigenvalue is "
      f"{lam[0]:.3g} (GD on such a quadratic has no minimum to converge to)."
    )
  return lam


def max_stable_learning_rate(a: ArrayLike) -> jax.Array:
  """The GD stability bound ``2 / λ_max(A)`` for positive definite ``A`` (host-checked).

  .. math:: \\eta < \\frac{2}{\\lambda_{\\max}(A)}

  Example:
    >>> float(max_stable_learning_rate(jnp.diag(jnp.array([1., 4.]))))
    0.5
  """
  lam = _pd_eigenvalues(a, "max_stable_learning_rate")
  return jnp.asarray(2.0 / lam[-1])


def optimal_learning_rate(a: ArrayLike) -> jax.Array:
  """The fixed step minimizing the worst contraction, ``2/(λ_min + λ_max)`` (host-checked).

  .. math:: \\eta^\\star = \\frac{2}{\\lambda_{\\min} + \\lambda_{\\max}}

  Example:
    >>> float(optimal_learning_rate(jnp.diag(jnp.array([1., 3.]))))
    0.5
  """
  lam = _pd_eigenvalues(a, "optimal_learning_rate")
  return jnp.asarray(2.0 / (lam[0] + lam[-1]))


def condition_number(a: ArrayLike) -> jax.Array:
  """``κ = λ_max / λ_min`` of a positive definite matrix (host-checked).

  Example:
    >>> float(condition_number(jnp.diag(jnp.array([2., 8.]))))
    4.0
  """
  lam = _pd_eigenvalues(a, "condition_number")
  return jnp.asarray(lam[-1] / lam[0])


def contraction_factor(a: ArrayLike, learning_rate: float) -> jax.Array:
  """Worst per-step error factor of GD, ``max_i |1 − η λ_i|`` (host-checked).

  GD converges iff this is below 1; at the optimal step it is ``(κ − 1)/(κ + 1)``.

  Example:
    >>> round(float(contraction_factor(jnp.diag(jnp.array([1., 3.])), 0.5)), 6)
    0.5
  """
  lam = _pd_eigenvalues(a, "contraction_factor")
  _check_learning_rate(learning_rate, "contraction_factor")
  return jnp.asarray(np.max(np.abs(1.0 - learning_rate * lam)))


def _check_learning_rate(learning_rate, fn: str) -> None:
  if is_traced(learning_rate):
    return
  lr = float(learning_rate)
  if not (np.isfinite(lr) and lr > 0):
    raise ValueError(f"{fn}: learning_rate must be a finite positive number, got {lr}.")


def gradient_descent(
  f: Callable[[jax.Array], jax.Array], x0: ArrayLike, learning_rate: float, num_steps: int
) -> jax.Array:
  """Runs ``x ← x − η ∇f(x)`` and returns the whole trajectory (one jitted ``lax.scan``).

  .. math:: x_{t+1} = x_t - \\eta \\nabla f(x_t)

  Args:
    f: scalar function of a vector (e.g. :func:`quadratic`).
    x0: ``[d]`` starting point.
    learning_rate: step size ``η > 0`` (may be traced).
    num_steps: number of steps (a positive Python int).

  Returns:
    ``[num_steps + 1, d]`` iterates, ``x0`` first. A diverging run grows to inf (that is the
    point of the demonstration), it is not an error.

  Example:
    >>> traj = gradient_descent(quadratic_function(jnp.eye(2)), jnp.array([1., 1.]), 0.5, 2)
    >>> traj.tolist()
    [[1.0, 1.0], [0.5, 0.5], [0.25, 0.25]]
  """
  x0 = as_float_array(x0, "gradient_descent")
  if x0.ndim != 1:
    raise ValueError(f"gradient_descent: x0 must be a vector [d], got shape {x0.shape}.")
  if not (isinstance(num_steps, int) and num_steps > 0):
    raise ValueError(f"gradient_descent: num_steps must be a positive int, got {num_steps!r}.")
  _check_learning_rate(learning_rate, "gradient_descent")
  check_finite(x0, "gradient_descent x0")
  return _gd_scan(f, x0, jnp.asarray(learning_rate, x0.dtype), num_steps)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _gd_scan(f, x0, learning_rate, num_steps):
  grad = jax.grad(f)

  def step(x, _):
    x = x - learning_rate * grad(x)
    return x, x

  _, xs = jax.lax.scan(step, x0, None, length=num_steps)
  return jnp.concatenate([x0[None], xs], axis=0)


__all__ = [
  "condition_number",
  "contraction_factor",
  "gradient_descent",
  "max_stable_learning_rate",
  "optimal_learning_rate",
  "quadratic_function",
]
