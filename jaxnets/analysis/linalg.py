"""Linear algebra from the course (chapter 1), as pure functions of arrays.

Inner products and norms, eigen-decompositions with ``A v = λ v``, the inverse computed two
ways from scratch (adjugate / determinant and Gauss–Jordan elimination), definiteness, and
the strict 2-D product ``mm`` (PyTorch's ``torch.mm``) next to broadcasting ``jnp.matmul``.

Everything runs in float64 when x64 is enabled (``jax.enable_x64(True)``) and float32 otherwise.
Functions that must look at values to refuse bad input (singular or non-symmetric matrices,
NaNs) are *host-checked*: they are not jittable and say so; the arithmetic inside them is jitted.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxnets import analysis
  >>> float(analysis.inner(jnp.array([1., 2., 3.]), jnp.array([2., 3., 4.])))
  20.0
  >>> analysis.inverse_gauss_jordan(jnp.array([[2., 0.], [0., 4.]])).tolist()
  [[0.5, 0.0], [0.0, 0.25]]
"""

import functools
import math
from typing import Any, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

Ord = Union[int, float, str, None]

DEFINITENESS = (
  "positive definite",
  "positive semidefinite",
  "negative definite",
  "negative semidefinite",
  "indefinite",
)


def is_traced(x) -> bool:
  """Whether ``x`` is a tracer (inside ``jit``, ``vmap``, ``grad``) rather than a concrete value.

  Host-checked functions use it to refuse, or skip a check of, values they cannot look at.

  Example:
    >>> seen = []
    >>> _ = jax.jit(lambda x: seen.append(is_traced(x)) or x)(jnp.ones(2))
    >>> is_traced(jnp.ones(2)), seen
    (False, [True])
  """
  return isinstance(x, jax.core.Tracer)


def as_float_array(x: ArrayLike, name: str) -> jax.Array:
  """``x`` as an inexact array (ints promoted to the default float dtype)."""
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact):
    x = x.astype(jnp.result_type(float))
  return x


def check_finite(x: ArrayLike, name: str) -> None:
  """Raises ``ValueError`` if a concrete array holds NaN or inf (a no-op on tracers)."""
  if is_traced(x):
    return
  arr = np.asarray(x)
  if not np.all(np.isfinite(arr)):
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    raise ValueError(f"{name} contains {bad} NaN/inf value(s); only finite input is valid.")


def check_same_shapes(tree: Any, like: Any, fn: str, name: str, like_name: str) -> None:
  """Raises ``ValueError`` unless pytree ``tree`` has ``like``'s structure and leaf shapes."""
  if jax.tree_util.tree_structure(tree) != jax.tree_util.tree_structure(like):
    raise ValueError(f"{fn}: {name} must have the same pytree structure as {like_name}.")
  for leaf, ref in zip(
    jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(like), strict=True
  ):
    if jnp.shape(leaf) != jnp.shape(ref):
      raise ValueError(
        f"{fn}: {name} leaf of shape {jnp.shape(leaf)} does not match the {like_name} leaf "
        f"of shape {jnp.shape(ref)}."
      )


def check_square(a: jax.Array, name: str) -> None:
  """Raises ``ValueError`` unless ``a`` is a non-empty square 2-D matrix."""
  if a.ndim != 2 or a.shape[0] != a.shape[1]:
    raise ValueError(f"{name} needs a square 2-D matrix, got shape {a.shape}.")
  if a.shape[0] == 0:
    raise ValueError(f"{name} needs a non-empty matrix, got shape {a.shape}.")


def concrete_square_matrix(a: ArrayLike, fn: str, traced_message: str) -> jax.Array:
  """The checks of every host-checked matrix function: float, square, concrete, finite."""
  a = as_float_array(a, fn)
  check_square(a, fn)
  if is_traced(a):
    raise ValueError(traced_message)
  check_finite(a, f"{fn} input")
  return a


def _default_rtol(n: int, dtype) -> float:
  """Tolerance relative to the matrix scale: ``n · eps`` (numpy's matrix_rank convention)."""
  return max(n, 1) * float(jnp.finfo(dtype).eps)


# --------------------------------------------------------------------------- products, norms


def inner(a: ArrayLike, b: ArrayLike) -> jax.Array:
  """Inner product ``Σ_i a_i b_i`` of two arrays of the same shape (jittable).

  For vectors this is the dot product; for matrices it is the Frobenius inner product
  ``tr(AᵀB)``.

  Args:
    a: an array.
    b: an array of the same shape.

  Returns:
    The scalar ``Σ a_i b_i``.

  Example:
    >>> float(inner(jnp.array([1., 2., 3.]), jnp.array([2., 3., 4.])))
    20.0
  """
  a, b = jnp.asarray(a), jnp.asarray(b)
  if a.shape != b.shape:
    raise ValueError(f"inner: shapes {a.shape} and {b.shape} differ; they must be equal.")
  check_finite(a, "inner: a")  # Concrete input only: under jit NaN propagates as usual.
  check_finite(b, "inner: b")
  return _inner(a, b)


@jax.jit
def _inner(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.sum(a * b)


def mm(a: ArrayLike, b: ArrayLike) -> jax.Array:
  """Strict matrix product of two 2-D arrays, the analogue of ``torch.mm`` (jittable).

  Unlike ``jnp.matmul`` / ``@`` it neither broadcasts batch dimensions nor accepts 1-D
  vectors: ``a`` must be ``(n, k)`` and ``b`` ``(k, m)``. See docs/pytorch_to_jax.md
  ("torch.mm vs torch.matmul").

  Args:
    a: ``[n, k]`` matrix.
    b: ``[k, m]`` matrix.

  Returns:
    The ``[n, m]`` product.

  Example:
    >>> mm(jnp.ones((2, 3)), jnp.ones((3, 4))).shape
    (2, 4)
  """
  a, b = jnp.asarray(a), jnp.asarray(b)
  if a.ndim != 2 or b.ndim != 2:
    raise ValueError(
      f"mm takes two 2-D matrices, got shapes {a.shape} and {b.shape}; "
      "use jnp.matmul (or @) for 1-D or batched operands."
    )
  if a.shape[1] != b.shape[0]:
    raise ValueError(
      f"mm: inner dimensions differ: {a.shape} @ {b.shape}; a.shape[1] must equal b.shape[0]."
    )
  return jnp.einsum("ik,kj->ij", a, b)


_VECTOR_ORDS = "1, 2, any float p > 0, or inf"
_MATRIX_ORDS = "'fro', 2 (spectral), 1 (max column sum), inf (max row sum)"


def norm(x: ArrayLike, ord: Ord = None) -> jax.Array:  # noqa: A002 (numpy's name)
  """Vector or matrix norm, written from the definitions (jittable).

  Vectors (1-D):

  .. math:: \\|x\\|_p = \\Big(\\sum_i |x_i|^p\\Big)^{1/p}, \\qquad
            \\|x\\|_\\infty = \\max_i |x_i|

  Matrices (2-D): Frobenius :math:`\\|A\\|_F = \\sqrt{\\sum_{ij} a_{ij}^2}`, the induced 2-norm
  :math:`\\|A\\|_2 = \\sqrt{\\lambda_{\\max}(A^\\top A)}` (largest singular value), and the
  induced 1- and ∞-norms (max absolute column / row sum).

  Args:
    x: a 1-D vector or 2-D matrix.
    ord: vectors: 1, 2, any float ``p > 0``, or ``inf`` (default 2); matrices: ``"fro"``
      (default), 2, 1 or ``inf``.

  Returns:
    The scalar norm.

  Example:
    >>> x = jnp.array([3., -4.])
    >>> float(norm(x)), float(norm(x, 1)), float(norm(x, jnp.inf))
    (5.0, 7.0, 4.0)
  """
  x = as_float_array(x, "norm")
  if x.ndim == 1:
    ord = 2 if ord is None else ord
    if isinstance(ord, str) or not (ord > 0):
      raise ValueError(f"norm: invalid vector order {ord!r}; valid: {_VECTOR_ORDS}.")
  elif x.ndim == 2:
    ord = "fro" if ord is None else ord
    valid = ord in ("fro", 1, 2) or (not isinstance(ord, str) and math.isinf(ord) and ord > 0)
    if not valid:
      raise ValueError(f"norm: invalid matrix order {ord!r}; valid: {_MATRIX_ORDS}.")
  else:
    raise ValueError(f"norm takes a 1-D vector or a 2-D matrix, got shape {x.shape}.")
  return _norm(x, float(ord) if not isinstance(ord, str) else ord)


@functools.partial(jax.jit, static_argnums=1)
def _norm(x: jax.Array, ord: Ord) -> jax.Array:  # noqa: A002
  a = jnp.abs(x)
  if x.ndim == 1:
    if x.shape[0] == 0:
      return jnp.zeros((), a.dtype)
    if math.isinf(ord):
      return jnp.max(a)
    if ord == 1:
      return jnp.sum(a)
    # Scale by max|x| so |x|^p neither overflows nor underflows for large p.
    scale = jnp.max(a)
    safe = jnp.where(scale > 0, scale, 1.0)
    if ord == 2:
      return scale * jnp.sqrt(jnp.sum(jnp.square(a / safe)))
    return scale * jnp.sum((a / safe) ** ord) ** (1.0 / ord)
  if ord == "fro":
    return jnp.sqrt(jnp.sum(jnp.square(a)))
  if ord == 2:
    mat = functools.partial(jnp.matmul, precision=jax.lax.Precision.HIGHEST)
    gram = mat(x.conj().T, x) if x.shape[0] >= x.shape[1] else mat(x, x.conj().T)
    return jnp.sqrt(jnp.maximum(jnp.max(jnp.linalg.eigvalsh(gram)), 0.0))
  if ord == 1:
    return jnp.max(jnp.sum(a, axis=0))
  return jnp.max(jnp.sum(a, axis=1))  # ord = inf


# --------------------------------------------------------------------------- eigen


def is_symmetric(a: ArrayLike, rtol: float | None = None) -> bool:
  """Whether a concrete square matrix equals its transpose up to ``rtol · max|A|`` (host).

  Example:
    >>> is_symmetric(jnp.array([[1., 2.], [2., 1.]]))
    True
  """
  a = as_float_array(a, "is_symmetric")
  check_square(a, "is_symmetric")
  if is_traced(a):
    raise ValueError("is_symmetric needs concrete values; it cannot run under jit.")
  arr = np.asarray(a)
  rtol = _default_rtol(arr.shape[0], arr.dtype) * 10 if rtol is None else rtol
  scale = max(float(np.max(np.abs(arr))), np.finfo(arr.dtype).tiny)
  return bool(np.max(np.abs(arr - arr.T.conj())) <= rtol * scale)


def eig(a: ArrayLike, symmetric: bool | None = None) -> tuple[jax.Array, jax.Array]:
  """Eigenvalues and eigenvectors, ``A v_i = λ_i v_i`` with unit-norm columns ``v_i``.

  Symmetric matrices use ``jnp.linalg.eigh`` (real eigenvalues, ascending; orthonormal
  eigenvectors). General matrices use ``jnp.linalg.eig`` (complex output, sorted by real part,
  then imaginary part); on accelerators JAX may only support this on some backends.

  Args:
    a: ``[n, n]`` matrix.
    symmetric: ``True``/``False`` picks the method; ``None`` (default) tests symmetry on the
      host, which needs concrete values (pass it explicitly under ``jit``).

  Returns:
    ``(eigenvalues [n], eigenvectors [n, n])`` with eigenvector ``i`` in column ``i``.

  Example:
    >>> w, v = eig(jnp.array([[2., 1.], [1., 2.]]))
    >>> [round(float(x), 4) for x in w]
    [1.0, 3.0]
  """
  a = as_float_array(a, "eig")
  check_square(a, "eig")
  check_finite(a, "eig input")
  if symmetric is None:
    if is_traced(a):
      raise ValueError(
        "eig(symmetric=None) tests symmetry on concrete values; under jit "
        "pass symmetric=True or symmetric=False."
      )
    symmetric = is_symmetric(a)
  return _eigh(a) if symmetric else _eig_general(a)


_eigh = jax.jit(jnp.linalg.eigh)


@jax.jit
def _eig_general(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  w, v = jnp.linalg.eig(a)
  order = jnp.lexsort((w.imag, w.real))
  return w[order], v[:, order]


# --------------------------------------------------------------------------- determinants


def _swap_in_pivot(m: jax.Array, k: jax.Array, rows: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Partial pivoting: swaps the row ``p >= k`` with the largest ``|m[p, k]|`` into row ``k``."""
  col = jnp.where(rows >= k, jnp.abs(m[:, k]), -1.0)
  p = jnp.argmax(col)
  perm = rows.at[k].set(p).at[p].set(k)
  return m[perm], p


@jax.jit
def _lu_pivots(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Gaussian elimination with partial pivoting; returns (pivots [n], permutation sign)."""
  n = a.shape[0]
  rows = jnp.arange(n)

  def step(k, carry):
    m, pivots, sign = carry
    m, p = _swap_in_pivot(m, k, rows)
    sign = jnp.where(p != k, -sign, sign)
    pivot = m[k, k]
    safe = jnp.where(pivot == 0, 1.0, pivot)
    factors = jnp.where(rows > k, m[:, k] / safe, 0.0)
    m = m - factors[:, None] * m[k][None, :]
    return m, pivots.at[k].set(pivot), sign

  init = (a, jnp.zeros((n,), a.dtype), jnp.ones((), a.dtype))
  _, pivots, sign = jax.lax.fori_loop(0, n, step, init)
  return pivots, sign


@jax.jit
def _det_parts(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``det A = m · 2**e`` with ``|m|`` in [0.5, 1) (or m = 0): a determinant in log₂ space.

  The product of the pivots is accumulated as a mantissa renormalized after every factor and
  an integer exponent, so it neither overflows nor underflows whatever the scale of ``A``;
  scaling by powers of two is exact, so the digits are those of the plain product.
  """
  pivots, sign = _lu_pivots(a)

  def step(k, carry):
    m, e = carry
    pm, pe = jnp.frexp(pivots[k])
    m, de = jnp.frexp(m * pm)
    return m, e + pe + de

  return jax.lax.fori_loop(0, a.shape[0], step, (sign, jnp.zeros((), jnp.int32)))


def determinant(a: ArrayLike) -> jax.Array:
  """Determinant from scratch: product of the pivots of Gaussian elimination (jittable).

  .. math:: \\det A = (-1)^{\\#\\text{swaps}} \\prod_k u_{kk}, \\qquad PA = LU

  The product is formed in log₂ space (mantissa and exponent), so only a determinant that is
  itself out of range overflows (to ±inf) or underflows (to 0).

  Example:
    >>> round(float(determinant(jnp.array([[1., 2.], [3., 4.]]))), 4)
    -2.0
  """
  a = as_float_array(a, "determinant")
  check_square(a, "determinant")
  check_finite(a, "determinant input")  # Concrete input only (a no-op under jit).
  return _det(a)


@jax.jit
def _det(a: jax.Array) -> jax.Array:
  return jnp.ldexp(*_det_parts(a))


@jax.jit
def _cofactor_parts(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``adj(A) = m · 2**e`` entrywise (mantissas [n, n] with signs, exponents [n, n])."""
  n = a.shape[0]
  if n == 1:  # adj of a 1×1 matrix is [[1]] = 0.5 · 2¹.
    return jnp.full((1, 1), 0.5, a.dtype), jnp.ones((1, 1), jnp.int32)
  keep = np.array([np.delete(np.arange(n), i) for i in range(n)])  # [n, n-1] static indices
  minors = a[keep[:, None, :, None], keep[None, :, None, :]]  # [n, n, n-1, n-1]
  m, e = jax.vmap(jax.vmap(_det_parts))(minors)  # det(minor_ij) = m_ij · 2**e_ij
  signs = (-1.0) ** (np.arange(n)[:, None] + np.arange(n)[None, :])
  return (signs * m).T.astype(a.dtype), e.T  # adj(A) = Cᵀ


@jax.jit
def _adjugate(a: jax.Array) -> jax.Array:
  return jnp.ldexp(*_cofactor_parts(a))


def adjugate(a: ArrayLike) -> jax.Array:
  """Adjugate (classical adjoint): the transpose of the cofactor matrix (jittable).

  .. math:: \\operatorname{adj}(A)_{ij} = (-1)^{i+j} \\det M_{ji}

  where :math:`M_{ji}` is ``A`` without row ``j`` and column ``i``. Costs ``O(n^5)``: for the
  small matrices of the course.

  Example:
    >>> adjugate(jnp.array([[1., 2.], [3., 4.]])).tolist()
    [[4.0, -2.0], [-3.0, 1.0]]
  """
  a = as_float_array(a, "adjugate")
  check_square(a, "adjugate")
  return _adjugate(a)


def _check_inverse(fn: str, a: jax.Array, pivots: jax.Array, inv: jax.Array, rtol: float) -> None:
  """Raises if a pivot says ``A`` is singular to working precision, or if ``A⁻¹`` overflowed."""
  scale = float(np.max(np.abs(np.asarray(a))))
  smallest = float(np.min(np.abs(np.asarray(pivots))))
  if not smallest > rtol * scale:
    raise ValueError(
      f"{fn}: the matrix is singular to working precision (smallest pivot of the "
      f"elimination {smallest:.3g} <= rtol * max|A| = {rtol * scale:.3g}); only invertible "
      "(non-singular) matrices have an inverse."
    )
  if not np.all(np.isfinite(np.asarray(inv))):
    big = float(jnp.finfo(a.dtype).max)
    raise ValueError(
      f"{fn}: the matrix is invertible but its inverse overflows {a.dtype}: some entry of "
      f"A⁻¹ exceeds {big:.3g} in magnitude. Scale A (A⁻¹ = s (sA)⁻¹) or use float64."
    )


@jax.jit
def _adjugate_inverse(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(adj(A) / det A formed in log₂ space, pivots of the elimination of A)."""
  det_m, det_e = _det_parts(a)
  adj_m, adj_e = _cofactor_parts(a)
  inv = jnp.ldexp(adj_m / jnp.where(det_m == 0, 1.0, det_m), adj_e - det_e)
  return inv, _lu_pivots(a)[0]


def _host_checked_inverse(a: ArrayLike, rtol: float | None, fn: str, invert) -> jax.Array:
  """``invert(a) -> (inverse, pivots)`` on a concrete matrix, refusing singular input."""
  a = concrete_square_matrix(
    a,
    fn,
    f"{fn} checks for singular input on concrete values; it cannot run under jit "
    "(use jnp.linalg.inv there).",
  )
  rtol = _default_rtol(a.shape[0], a.dtype) if rtol is None else rtol
  inv, pivots = invert(a)
  _check_inverse(fn, a, pivots, inv, rtol)
  return inv


def inverse_adjugate(a: ArrayLike, rtol: float | None = None) -> jax.Array:
  """Inverse by the adjugate over the determinant, from scratch (host-checked).

  .. math:: A^{-1} = \\frac{\\operatorname{adj}(A)}{\\det A}

  Every cofactor and the determinant are formed in log₂ space (mantissa and exponent), so the
  quotient is as accurate as the cofactors at any scale (``1e100 · I`` inverts to
  ``1e-100 · I``); only an inverse that is itself too large for the dtype overflows, and the
  error says so. Singularity is judged as in :func:`inverse_gauss_jordan`, scale-free: a pivot
  of Gaussian elimination with partial pivoting ``<= rtol · max|A|`` (default ``rtol = n ·
  eps``) raises. Such a pivot means :math:`\\kappa_2(A) \\ge 1 / (n \\cdot rtol)`: ``A`` is
  singular to working precision; ill-conditioned but invertible matrices (the Hilbert matrix of
  order 8 in float64, κ ≈ 1.5e10) are inverted. Not jittable: the check needs concrete values;
  the arithmetic is jitted.

  Args:
    a: ``[n, n]`` matrix.
    rtol: singularity tolerance on the pivots, relative to ``max|A|``.

  Returns:
    ``A⁻¹``.

  Raises:
    ValueError: non-square, non-finite or singular input, or an inverse that overflows.

  Example:
    >>> inv = inverse_adjugate(jnp.array([[4., 7.], [2., 6.]]))
    >>> [[round(v, 4) for v in row] for row in inv.tolist()]
    [[0.6, -0.7], [-0.2, 0.4]]
  """
  return _host_checked_inverse(a, rtol, "inverse_adjugate", _adjugate_inverse)


@jax.jit
def _gauss_jordan(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Row-reduces [A | I] with partial pivoting; returns (A⁻¹, pivots)."""
  n = a.shape[0]
  rows = jnp.arange(n)
  aug = jnp.concatenate([a, jnp.eye(n, dtype=a.dtype)], axis=1)  # [n, 2n]

  def step(k, carry):
    m, pivots = carry
    m, _ = _swap_in_pivot(m, k, rows)  # partial pivoting: largest |entry|
    pivot = m[k, k]
    safe = jnp.where(pivot == 0, 1.0, pivot)
    m = m.at[k].set(m[k] / safe)  # scale the pivot row to 1
    factors = jnp.where(rows == k, 0.0, m[:, k])
    m = m - factors[:, None] * m[k][None, :]  # eliminate column k above and below
    return m, pivots.at[k].set(pivot)

  m, pivots = jax.lax.fori_loop(0, n, step, (aug, jnp.zeros((n,), a.dtype)))
  return m[:, n:], pivots


def inverse_gauss_jordan(a: ArrayLike, rtol: float | None = None) -> jax.Array:
  """Inverse by Gauss–Jordan elimination on ``[A | I]`` with partial pivoting (host-checked).

  Row operations turn ``[A | I]`` into ``[I | A⁻¹]``; at step ``k`` the row with the largest
  ``|entry|`` in column ``k`` is swapped up. A pivot ``<= rtol · max|A|`` (default
  ``rtol = n · eps``) means ``A`` is singular to working precision and raises; an inverse too
  large for the dtype raises too, naming the overflow. Not jittable: the check needs concrete
  values; the elimination is one jitted ``lax.fori_loop``.

  Args:
    a: the ``[n, n]`` matrix to invert.
    rtol: a pivot at most ``rtol · max|A|`` counts as zero (default ``n · eps``).

  Returns:
    ``A⁻¹``, the right half of the reduced ``[I | A⁻¹]``.

  Raises:
    ValueError: as :func:`inverse_adjugate`: non-square, non-finite or singular input, or an
      inverse that overflows.

  Example:
    >>> inverse_gauss_jordan(jnp.array([[0., 1.], [1., 0.]])).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
  """
  return _host_checked_inverse(a, rtol, "inverse_gauss_jordan", _gauss_jordan)


# --------------------------------------------------------------------------- definiteness


def eigenvalue_signs(eigenvalues: ArrayLike, tol: float) -> str:
  """The definiteness label of a symmetric matrix with these eigenvalues (host).

  ``|λ| <= tol`` counts as zero. Shared by :func:`definiteness` and the classification of
  stationary points by their Hessian (:mod:`jaxnets.analysis.calculus`).

  Example:
    >>> eigenvalue_signs(jnp.array([0.0, 2.0]), tol=1e-6)
    'positive semidefinite'
  """
  lam = np.asarray(eigenvalues)
  pos, neg = lam > tol, lam < -tol
  if pos.any() and neg.any():
    return "indefinite"
  if pos.all():
    return "positive definite"
  if neg.all():
    return "negative definite"
  if neg.any():
    return "negative semidefinite"
  return "positive semidefinite"


def definiteness(a: ArrayLike, tol: float | None = None, *, symmetrize: bool = False) -> str:
  """Classifies a symmetric matrix by the signs of its eigenvalues (host-checked).

  ``"positive definite"`` (all λ > tol), ``"positive semidefinite"`` (all λ ≥ −tol, some
  |λ| ≤ tol), ``"negative definite"``, ``"negative semidefinite"``, or ``"indefinite"`` (some
  λ > tol and some λ < −tol). The zero matrix is reported as ``"positive semidefinite"`` (it is
  also negative semidefinite).

  Non-symmetric input raises, unless ``symmetrize=True``: then ``(A + Aᵀ)/2`` is classified,
  which has the same quadratic form ``xᵀAx`` (what definiteness is about).

  Args:
    a: ``[n, n]`` matrix.
    tol: eigenvalues with ``|λ| <= tol`` count as zero; default ``n · eps · max|λ|``.
    symmetrize: classify the symmetric part of a non-symmetric matrix instead of raising.

  Returns:
    One of :data:`DEFINITENESS`.

  Example:
    >>> definiteness(jnp.array([[2., 0.], [0., -1.]]))
    'indefinite'
  """
  a = concrete_square_matrix(
    a,
    "definiteness",
    "definiteness returns a string from concrete values; it cannot run under jit.",
  )
  if not is_symmetric(a):
    if not symmetrize:
      raise ValueError(
        "definiteness needs a symmetric matrix (A == A.T); pass "
        "symmetrize=True to classify the symmetric part (A + A.T) / 2."
      )
    a = 0.5 * (a + a.T)
  lam = np.asarray(jnp.linalg.eigvalsh(a))
  if tol is None:
    tol = _default_rtol(a.shape[0], a.dtype) * float(np.max(np.abs(lam)))
  if tol < 0:
    raise ValueError(f"definiteness: tol must be >= 0, got {tol}.")
  return eigenvalue_signs(lam, tol)


def is_positive_definite(a: ArrayLike, rtol: float | None = None) -> bool:
  """The fast test for positive definiteness: does a Cholesky factorization exist? (host)

  ``A = L Lᵀ`` with a real lower-triangular ``L`` exists iff the symmetric ``A`` is positive
  definite. In floating point a singular PSD matrix may still factor with a pivot ``L_kk²`` at
  rounding level, so pivots ``<= rtol · max|A|`` (default ``rtol = n · eps``) count as failure;
  JAX signals an outright failure with NaNs in ``L``.

  Example:
    >>> is_positive_definite(jnp.array([[2., 1.], [1., 2.]]))
    True
  """
  a = as_float_array(a, "is_positive_definite")
  check_square(a, "is_positive_definite")
  check_finite(a, "is_positive_definite input")
  if not is_symmetric(a):
    raise ValueError("is_positive_definite needs a symmetric matrix (A == A.T).")
  rtol = _default_rtol(a.shape[0], a.dtype) if rtol is None else rtol
  chol = jnp.linalg.cholesky(a)
  pivots = jnp.square(jnp.diagonal(chol))
  scale = float(jnp.max(jnp.abs(a)))
  return bool(jnp.all(jnp.isfinite(chol))) and float(jnp.min(pivots)) > rtol * scale


__all__ = [
  "DEFINITENESS",
  "adjugate",
  "check_finite",
  "definiteness",
  "eigenvalue_signs",
  "determinant",
  "eig",
  "inner",
  "inverse_adjugate",
  "inverse_gauss_jordan",
  "is_positive_definite",
  "is_symmetric",
  "is_traced",
  "mm",
  "norm",
]
