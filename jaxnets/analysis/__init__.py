"""The math chapters of the course as pure functions of arrays and callables.

* :mod:`~jaxnets.analysis.linalg`: inner products, norms, eigen-decomposition, the inverse two
  ways from scratch, definiteness, the strict 2-D product ``mm``.
* :mod:`~jaxnets.analysis.calculus`: gradients, Hessians, directional derivatives, Taylor
  models, stationary points and their classification.
* :mod:`~jaxnets.analysis.quadratic`: gradient descent on quadratics and its learning-rate
  bounds.
* :mod:`~jaxnets.analysis.curvature`: Hessian-vector products, Lanczos top eigenvalues,
  Hutchinson trace and SLQ spectral density of a network's loss.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import analysis
  >>> analysis.definiteness(jnp.array([[2., 1.], [1., 2.]]))
  'positive definite'
"""

from jaxnets.analysis.calculus import (
  STATIONARY_TYPES,
  classify_hessian_eigenvalues,
  classify_stationary_point,
  directional_derivative,
  gradient,
  hessian,
  stationary_points,
  steepest_ascent,
  taylor_approx,
)
from jaxnets.analysis.curvature import (
  Eigenpairs,
  LanczosResult,
  SpectralDensity,
  TraceEstimate,
  gaussian_smoothed_density,
  hessian_trace,
  hvp,
  lanczos,
  plot_spectral_density,
  spectral_density,
  top_eigenvalues,
  tridiagonal_eigh,
)
from jaxnets.analysis.linalg import (
  DEFINITENESS,
  adjugate,
  check_finite,
  definiteness,
  determinant,
  eig,
  eigenvalue_signs,
  inner,
  inverse_adjugate,
  inverse_gauss_jordan,
  is_positive_definite,
  is_symmetric,
  mm,
  norm,
)
from jaxnets.analysis.quadratic import (
  condition_number,
  contraction_factor,
  gradient_descent,
  max_stable_learning_rate,
  optimal_learning_rate,
  quadratic_function,
)

__all__ = [
  "DEFINITENESS",
  "Eigenpairs",
  "LanczosResult",
  "STATIONARY_TYPES",
  "SpectralDensity",
  "TraceEstimate",
  "adjugate",
  "check_finite",
  "classify_hessian_eigenvalues",
  "classify_stationary_point",
  "condition_number",
  "contraction_factor",
  "definiteness",
  "determinant",
  "eigenvalue_signs",
  "directional_derivative",
  "eig",
  "gaussian_smoothed_density",
  "gradient",
  "gradient_descent",
  "hessian",
  "hessian_trace",
  "hvp",
  "inner",
  "inverse_adjugate",
  "inverse_gauss_jordan",
  "is_positive_definite",
  "is_symmetric",
  "lanczos",
  "max_stable_learning_rate",
  "mm",
  "norm",
  "optimal_learning_rate",
  "plot_spectral_density",
  "quadratic_function",
  "spectral_density",
  "stationary_points",
  "steepest_ascent",
  "taylor_approx",
  "top_eigenvalues",
  "tridiagonal_eigh",
]
