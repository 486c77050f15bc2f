"""Tests for jaxnets.analysis.linalg against jnp.linalg and closed forms."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.analysis import linalg

RNG = np.random.default_rng(0)


def _well_conditioned(n, seed):
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.normal(size=(n, n)))
  r, _ = np.linalg.qr(rng.normal(size=(n, n)))
  return (q @ np.diag(rng.uniform(0.5, 2.0, n)) @ r).astype(np.float32)  # cond <= 4


# --------------------------------------------------------------------------- inner, norm


def test_inner_worked_example_and_builtin():
  assert float(linalg.inner(jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 3.0, 4.0]))) == 20.0
  a, b = RNG.normal(size=(2, 7))
  np.testing.assert_allclose(linalg.inner(a, b), np.vdot(a, b), rtol=1e-6)
  m, n = RNG.normal(size=(2, 3, 4))
  np.testing.assert_allclose(linalg.inner(m, n), np.trace(m.T @ n), rtol=1e-5)
  with pytest.raises(ValueError, match="shapes"):
    linalg.inner(jnp.ones(3), jnp.ones(4))


@pytest.mark.parametrize("ord_", [1, 2, 3, 0.5, np.inf])
def test_vector_norms_match_builtin(ord_):
  x = RNG.normal(size=11).astype(np.float32)
  np.testing.assert_allclose(linalg.norm(x, ord_), np.linalg.norm(x, ord_), rtol=1e-5)


def test_vector_norm_closed_forms_and_no_overflow():
  x = jnp.array([3.0, -4.0])
  assert [float(linalg.norm(x, o)) for o in (1, 2, np.inf)] == [7.0, 5.0, 4.0]
  big = jnp.array([3e30, 4e30], jnp.float32)  # Squares overflow float32; scaling avoids it.
  np.testing.assert_allclose(linalg.norm(big), 5e30, rtol=1e-6)
  np.testing.assert_allclose(linalg.norm(big, 4), (3.0**4 + 4.0**4) ** 0.25 * 1e30, rtol=1e-5)
  assert float(linalg.norm(jnp.zeros(3), 3)) == 0.0


@pytest.mark.parametrize("ord_", ["fro", 2, 1, np.inf])
def test_matrix_norms_match_builtin(ord_):
  a = RNG.normal(size=(4, 6)).astype(np.float32)
  np.testing.assert_allclose(linalg.norm(a, ord_), np.linalg.norm(a, ord_), rtol=1e-5)
  np.testing.assert_allclose(linalg.norm(a.T, ord_), np.linalg.norm(a.T, ord_), rtol=1e-5)


def test_norm_jittable():
  x = jnp.array([1.0, 2.0, 2.0])
  assert float(jax.jit(linalg.norm, static_argnums=1)(x, 2)) == pytest.approx(3.0)


def test_norm_bad_input():
  with pytest.raises(ValueError, match="vector order"):
    linalg.norm(jnp.ones(3), 0)
  with pytest.raises(ValueError, match="vector order"):
    linalg.norm(jnp.ones(3), "fro")
  with pytest.raises(ValueError, match="matrix order"):
    linalg.norm(jnp.ones((2, 2)), 3)
  with pytest.raises(ValueError, match="1-D vector or a 2-D matrix"):
    linalg.norm(jnp.ones((2, 2, 2)))


# --------------------------------------------------------------------------- eig


def test_eig_symmetric_av_equals_lambda_v():
  b = RNG.normal(size=(5, 5)).astype(np.float32)
  a = b + b.T
  w, v = linalg.eig(a)
  assert w.dtype == jnp.float32 and np.all(np.diff(w) >= 0)
  w, v = np.asarray(w), np.asarray(v)
  np.testing.assert_allclose(a @ v, v * w[None, :], atol=1e-4)
  np.testing.assert_allclose(v.T @ v, np.eye(5), atol=1e-5)
  np.testing.assert_allclose(w, np.linalg.eigvalsh(a), rtol=1e-5, atol=1e-5)


def test_eig_general_av_equals_lambda_v():
  a = np.array(
    [[0.0, -2.0, 1.0], [1.0, 0.0, 0.0], [0.0, 3.0, 1.0]], np.float32
  )  # Complex pair + real.
  w, v = linalg.eig(a)
  assert jnp.iscomplexobj(w)
  w, v = np.asarray(w), np.asarray(v)
  np.testing.assert_allclose(a @ v, v * w[None, :], atol=1e-5)
  np.testing.assert_allclose(np.prod(w), np.linalg.det(a), rtol=1e-5)
  np.testing.assert_allclose(np.sort_complex(w), np.sort_complex(np.linalg.eigvals(a)), atol=1e-5)
  rot = np.array([[0.0, -1.0], [1.0, 0.0]], np.float32)  # Rotation by 90°: eigenvalues ±i.
  np.testing.assert_allclose(sorted(linalg.eig(rot)[0].imag.tolist()), [-1.0, 1.0], atol=1e-6)


def test_eig_bad_input():
  with pytest.raises(ValueError, match="square"):
    linalg.eig(jnp.ones((2, 3)))
  with pytest.raises(ValueError, match="NaN"):
    linalg.eig(np.array([[1.0, np.nan], [0.0, 1.0]]))
  with pytest.raises(ValueError, match="symmetric=True"):
    jax.jit(linalg.eig)(jnp.eye(2))
  w, _ = jax.jit(lambda a: linalg.eig(a, symmetric=True))(2 * np.eye(2, dtype=np.float32))
  np.testing.assert_allclose(w, [2.0, 2.0])


# --------------------------------------------------------------------------- det, inverses


def test_determinant_and_adjugate():
  a = np.array(
    [[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 2.0]], np.float32
  )  # a[0, 0] = 0: swap.
  np.testing.assert_allclose(linalg.determinant(a), np.linalg.det(a), rtol=1e-5)
  adj = np.asarray(linalg.adjugate(a))
  np.testing.assert_allclose(a @ adj, np.linalg.det(a) * np.eye(3), atol=1e-5)
  np.testing.assert_allclose(
    linalg.adjugate(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)),
    [[4.0, -2.0], [-3.0, 1.0]],
    atol=1e-6,
  )
  np.testing.assert_allclose(linalg.adjugate(np.array([[5.0]], np.float32)), [[1.0]])
  for _ in range(3):
    m = RNG.normal(size=(3, 3)).astype(np.float32)
    np.testing.assert_allclose(linalg.determinant(m), np.linalg.det(m), rtol=1e-4)


@pytest.mark.parametrize("n,seed", [(1, 0), (2, 1), (4, 3)])
@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_inverses_match_builtin(method, n, seed):
  a = _well_conditioned(n, seed)
  inv = np.asarray(getattr(linalg, method)(a))
  np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(a @ inv, np.eye(n), atol=1e-5)


@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_inverses_float64_and_pivoting(method):
  with jax.enable_x64(True):
    a = jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [4.0, -3.0, 8.0]])  # Zero leading pivot.
    inv = getattr(linalg, method)(a)
    assert inv.dtype == jnp.float64
    np.testing.assert_allclose(inv, np.linalg.inv(np.asarray(a)), rtol=1e-12, atol=1e-12)


def _hilbert(n):
  return np.array([[1.0 / (i + j + 1) for j in range(n)] for i in range(n)])


def _exact_inverse_hilbert(n):
  """The integer inverse of the Hilbert matrix, from its closed form (exact in float64)."""
  c = math.comb
  return np.array(
    [
      [
        (-1) ** (i + j) * (i + j + 1) * c(n + i, n - j - 1) * c(n + j, n - i - 1) * c(i + j, i) ** 2
        for j in range(n)
      ]
      for i in range(n)
    ],
    np.float64,
  )


@pytest.mark.parametrize("n", [6, 7, 8])
@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_ill_conditioned_but_invertible_hilbert_matrices_are_inverted(method, n):
  """κ(H₈) ≈ 1.5e10 ≪ 1/eps: invertible in float64, and inverted about as well as numpy."""
  with jax.enable_x64(True):
    a, exact = _hilbert(n), _exact_inverse_hilbert(n)
    inv = np.asarray(getattr(linalg, method)(a))

    def error(x):
      return np.max(np.abs(x - exact)) / np.max(np.abs(exact))

    cond = np.linalg.cond(a)
    assert error(inv) <= cond * np.finfo(np.float64).eps  # Forward error within κ · eps,
    assert error(inv) <= 10 * error(np.linalg.inv(a))  # and near numpy's (LAPACK's).


@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_inverses_are_scale_free(method):
  """No under/overflow at extreme scales: (sA)⁻¹ = A⁻¹ / s to rounding for s = 1e±60, 1e100."""
  with jax.enable_x64(True):
    b = _well_conditioned(6, 5).astype(np.float64)
    for s, a in [(1e100, np.eye(4)), (1e60, b), (1e-60, b), (1e-150, b)]:
      inv = np.asarray(getattr(linalg, method)(s * a))
      np.testing.assert_allclose(inv * s, np.linalg.inv(a), rtol=1e-13, atol=1e-14)


def test_determinant_has_no_intermediate_overflow():
  with jax.enable_x64(True):
    a = np.diag([1e200, 1e200, 1e-200, 1e-200])[[2, 0, 3, 1]]  # det = ±1 (rows permuted)
    assert float(linalg.determinant(a)) == pytest.approx(np.linalg.det(a), rel=1e-14)
    assert float(linalg.determinant(1e100 * np.eye(4))) == math.inf  # 1e400: truly too large.
    np.testing.assert_allclose(linalg.adjugate(1e100 * np.eye(4)), 1e300 * np.eye(4), rtol=1e-14)


@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_an_inverse_too_large_for_the_dtype_is_named_overflow(method):
  # Unit upper bidiagonal-like U (1 on the diagonal, -1 above): invertible, U⁻¹ has entries
  # up to 2^10; scaled by 1e-37 (normal in float32), its inverse reaches 1e40 > 3.4e38.
  u = np.eye(12, dtype=np.float32) - np.triu(np.ones((12, 12), np.float32), 1)
  with pytest.raises(ValueError, match="invertible but its inverse overflows float32"):
    getattr(linalg, method)(np.float32(1e-37) * u)
  np.testing.assert_allclose(getattr(linalg, method)(u), np.linalg.inv(u), rtol=1e-6)


@pytest.mark.parametrize("method", ["inverse_adjugate", "inverse_gauss_jordan"])
def test_inverses_reject_bad_input(method):
  fn = getattr(linalg, method)
  rank2 = np.random.default_rng(0).normal(size=(4, 2))
  singular = [
    np.array([[1.0, 2.0], [2.0, 4.0]], np.float32),
    np.zeros((4, 4), np.float32),
    (rank2 @ rank2.T).astype(np.float32),
    np.array([[1.0, 1.0], [1.0, 1.0 + 1e-9]], np.float32),
  ]
  for a in singular:
    with pytest.raises(ValueError, match="singular"):
      fn(a)
  with pytest.raises(ValueError, match="square"):
    fn(np.ones((2, 3)))
  with pytest.raises(ValueError, match="NaN"):
    fn(np.array([[1.0, 0.0], [0.0, np.nan]]))
  with pytest.raises(ValueError, match="jit"):
    jax.jit(fn)(np.eye(2))
  with jax.enable_x64(True):  # Singular to working precision at any scale.
    for scale in (1e-100, 1.0, 1e100):
      with pytest.raises(ValueError, match="singular to working precision"):
        fn(scale * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]))


def test_is_traced():
  assert not linalg.is_traced(jnp.ones(2))
  assert jax.jit(lambda x: jnp.asarray(linalg.is_traced(x)))(jnp.ones(2))


# --------------------------------------------------------------------------- definiteness


@pytest.mark.parametrize(
  "diag,expected",
  [
    ([1.0, 2.0, 3.0], "positive definite"),
    ([1.0, 0.0, 3.0], "positive semidefinite"),
    ([-1.0, -2.0, -3.0], "negative definite"),
    ([-1.0, 0.0, -3.0], "negative semidefinite"),
    ([1.0, 0.0, -3.0], "indefinite"),
    ([0.0, 0.0, 0.0], "positive semidefinite"),
  ],
)
def test_definiteness_classes(diag, expected):
  q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
  a = (q @ np.diag(diag) @ q.T).astype(np.float32)
  a = 0.5 * (a + a.T)
  assert linalg.definiteness(a) == expected
  assert linalg.is_positive_definite(a) == (expected == "positive definite")


def test_definiteness_tolerance_and_symmetry():
  a = np.diag([1.0, 1e-3]).astype(np.float32)
  assert linalg.definiteness(a) == "positive definite"
  assert linalg.definiteness(a, tol=1e-2) == "positive semidefinite"
  nonsym = np.array([[1.0, 4.0], [0.0, 1.0]], np.float32)  # xᵀAx = x² + 4xy + y²: indefinite.
  with pytest.raises(ValueError, match="symmetrize=True"):
    linalg.definiteness(nonsym)
  assert linalg.definiteness(nonsym, symmetrize=True) == "indefinite"
  assert (
    linalg.definiteness(np.array([[2.0, 1.0], [-1.0, 2.0]]), symmetrize=True) == "positive definite"
  )
  with pytest.raises(ValueError, match="square"):
    linalg.definiteness(np.ones(3))
  with pytest.raises(ValueError, match="NaN"):
    linalg.definiteness(np.full((2, 2), np.nan))


# --------------------------------------------------------------------------- mm vs matmul


def test_mm_is_strict_2d_product():
  a = RNG.normal(size=(2, 3)).astype(np.float32)
  b = RNG.normal(size=(3, 4)).astype(np.float32)
  np.testing.assert_allclose(linalg.mm(a, b), a @ b, rtol=1e-5)
  np.testing.assert_allclose(linalg.mm(a, b), np.einsum("ik,kj->ij", a, b), rtol=1e-5)
  with pytest.raises(ValueError, match="inner dimensions"):
    linalg.mm(a, a)
  with pytest.raises(ValueError, match="2-D"):
    linalg.mm(np.ones((5, 2, 3)), b)  # Batched: matmul's job.
  with pytest.raises(ValueError, match="2-D"):
    linalg.mm(a, np.ones(3))  # Matrix-vector: matmul's job.


def test_matmul_broadcasting_and_vector_cases():
  shape = lambda fn, *args: jax.eval_shape(fn, *args).shape  # noqa: E731
  spec = lambda *s: jax.ShapeDtypeStruct(s, jnp.float32)  # noqa: E731
  batch = RNG.normal(size=(5, 2, 3)).astype(np.float32)
  b = RNG.normal(size=(3, 4)).astype(np.float32)
  v, w = np.arange(3.0, dtype=np.float32), np.arange(1.0, 4.0, dtype=np.float32)
  # Batched: the (3, 4) matrix is broadcast over the leading batch axis.
  out = np.asarray(jnp.matmul(batch, b))
  assert out.shape == (5, 2, 4)
  np.testing.assert_allclose(out, np.stack([linalg.mm(m, b) for m in batch]), rtol=1e-5)
  np.testing.assert_allclose(out, np.einsum("bik,kj->bij", batch, b), rtol=1e-5)
  # Batch dimensions broadcast against each other: (5, 1, 2, 3) @ (4, 3, 6) -> (5, 4, 2, 6).
  assert shape(jnp.matmul, spec(5, 1, 2, 3), spec(4, 3, 6)) == (5, 4, 2, 6)
  # 1-D @ 1-D is the inner product (a 0-d scalar), like jnp.dot.
  assert shape(jnp.matmul, spec(3), spec(3)) == ()
  assert float(jnp.matmul(v, w)) == float(linalg.inner(v, w)) == 8.0
  # Matrix @ vector drops the vector's axis: (4, 3) @ (3,) -> (4,); vector @ matrix likewise.
  assert shape(jnp.matmul, spec(4, 3), spec(3)) == (4,)
  assert shape(jnp.matmul, spec(3), spec(3, 4)) == (4,)
  np.testing.assert_allclose(jnp.matmul(v, b), linalg.mm(v[None, :], b)[0], rtol=1e-6)
  # jnp.dot differs from matmul for N-D: it contracts a's last axis with b's second-to-last
  # and keeps *all* other axes (no batch broadcasting); einsum spells either out.
  assert shape(jnp.dot, spec(5, 2, 3), spec(5, 3, 4)) == (5, 2, 5, 4)
  assert shape(jnp.matmul, spec(5, 2, 3), spec(5, 3, 4)) == (5, 2, 4)
  assert shape(lambda x, y: jnp.einsum("bik,bkj->bij", x, y), spec(5, 2, 3), spec(5, 3, 4)) == (
    5,
    2,
    4,
  )
