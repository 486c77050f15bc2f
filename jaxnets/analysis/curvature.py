"""Curvature of a network's loss at scale, without ever forming the Hessian.

The building block is the Hessian-vector product (HVP) of a loss over a parameter pytree,
computed forward-over-reverse (``jax.jvp`` of ``jax.grad``) and averaged over a dataset in
batches. On top of it:

* :func:`top_eigenvalues`: Lanczos with full reorthogonalization (one jitted ``lax.fori_loop``,
  no host round-trip inside the loop), with a residual bound on every Ritz value;
* :func:`hessian_trace`: Hutchinson's estimator with Rademacher probes and its standard error;
* :func:`spectral_density`: stochastic Lanczos quadrature (SLQ), a smoothed eigenvalue density
  on a grid, and :func:`plot_spectral_density`.

The anchors are PyHessian (Yao et al., 2020) and the edge-of-stability study (Cohen et al.,
2021). The loss is ``loss_fn(params)`` when ``data`` is None, else ``loss_fn(params, batch)``
where ``batch`` is a slice of ``data`` (a pytree of arrays sharing their leading axis) and
``loss_fn`` returns the *mean* loss over its batch; batches are weighted by their sizes, so
the result is exactly the Hessian of the mean loss over all of ``data``. The compiled code is
cached per ``loss_fn`` object: define it once rather than passing a fresh lambda every call.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnets import analysis
  >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([1., 2., 5.]) * p["w"] ** 2)
  >>> params = {"w": jnp.ones(3)}
  >>> top = analysis.top_eigenvalues(loss, params, 1, jax.random.key(0))
  >>> round(float(top.eigenvalues[0]), 4)
  5.0
"""

import functools
import math
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxnets.analysis.linalg import check_finite, check_same_shapes, is_traced

Params = Any  # A pytree of arrays.
Data = Any  # A pytree of arrays sharing the leading (example) axis, e.g. {"x": ..., "y": ...}.
LossFn = Callable[..., jax.Array]


class LanczosResult(NamedTuple):
  """A Lanczos decomposition ``H Vᵀ ≈ Vᵀ T`` with ``T = tridiag(betas, alphas, betas)``."""

  alphas: jax.Array  # [m] diagonal of T.
  betas: jax.Array  # [m] betas[i] couples basis rows i and i+1; betas[m-1] is the residual.
  basis: jax.Array  # [m, n] orthonormal Lanczos vectors as rows.
  # [] int: steps taken (= HVPs). With early stopping the arrays keep their length m and the
  # rows/entries from num_steps on are zero; betas[num_steps - 1] is then the residual.
  num_steps: Any = None


class Eigenpairs(NamedTuple):
  """Top Ritz pairs of the Hessian, largest eigenvalue first."""

  eigenvalues: jax.Array  # [k] descending.
  eigenvectors: Params  # Pytree like params, each leaf with a leading axis of size k.
  residuals: jax.Array  # [k] ‖H y − θ y‖: some true eigenvalue lies within it of θ.
  num_steps: int = 0  # Lanczos steps taken = Hessian-vector products evaluated.


class TraceEstimate(NamedTuple):
  """Hutchinson estimate of tr(H)."""

  trace: jax.Array  # [] sample mean of zᵀHz.
  stderr: jax.Array  # [] standard error of the mean (sample std / sqrt(num_probes)).
  samples: jax.Array  # [num_probes] the individual zᵀHz.


class SpectralDensity(NamedTuple):
  """Stochastic Lanczos quadrature: smoothed eigenvalue density of the Hessian."""

  grid: jax.Array  # [num_points] eigenvalue axis.
  density: jax.Array  # [num_points] density on the grid (integrates to about 1).
  nodes: jax.Array  # [num_probes, num_iters] Gauss quadrature nodes (Ritz values).
  weights: jax.Array  # [num_probes, num_iters] their weights; each row sums to 1.
  sigma: float  # Gaussian smoothing width.


# --------------------------------------------------------------------------- input checks


def _num_examples(data: Data) -> int:
  leaves = jax.tree_util.tree_leaves(data)
  if not leaves:
    raise ValueError("data has no arrays; pass a pytree of arrays such as {'x': ..., 'y': ...}.")
  sizes = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
  if len(sizes) != 1 or None in sizes:
    raise ValueError(
      f"data arrays must share a leading (example) axis, got leading sizes "
      f"{sorted(str(s) for s in sizes)}."
    )
  n = sizes.pop()
  if n == 0:
    raise ValueError("data holds zero examples.")
  return n


def _check_inputs(
  loss_fn: LossFn, params: Params, data: Data | None, batch_size: int | None, fn: str
) -> int:
  """Validates shapes and values; returns the number of parameters."""
  leaves = jax.tree_util.tree_leaves(params)
  size = int(sum(np.size(leaf) for leaf in leaves))
  if size == 0:
    raise ValueError(f"{fn}: params has no parameters.")
  for leaf in leaves:
    if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
      raise ValueError(f"{fn}: params must be floating point, got dtype {jnp.result_type(leaf)}.")
    check_finite(leaf, f"{fn} params")
  if batch_size is not None and not (isinstance(batch_size, int) and batch_size > 0):
    raise ValueError(
      f"{fn}: batch_size must be a positive int or None (full batch), got {batch_size!r}."
    )
  if data is None:
    if batch_size is not None:
      raise ValueError(f"{fn}: batch_size was given without data.")
    out = jax.eval_shape(loss_fn, params)
  else:
    n = _num_examples(data)
    for leaf in jax.tree_util.tree_leaves(data):
      if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
        check_finite(leaf, f"{fn} data")
    bs = min(n, batch_size or n)
    first = jax.tree_util.tree_map(
      lambda a: jax.ShapeDtypeStruct((bs,) + np.shape(a)[1:], jnp.result_type(a)), data
    )
    out = jax.eval_shape(loss_fn, params, first)
  if getattr(out, "shape", None) != ():
    raise ValueError(f"{fn}: loss_fn must return a scalar, got {out}.")
  return size


def _check_key(key, fn: str) -> None:
  if key is None:
    raise ValueError(f"{fn} needs a PRNG key, e.g. jax.random.key(0).")


# --------------------------------------------------------------------------- HVPs


def _flat_hvp(
  loss_fn: LossFn, flat: jax.Array, unravel, data: Data | None, batch_size: int | None
) -> Callable[[jax.Array], jax.Array]:
  """v ↦ H v on flat vectors, forward-over-reverse, averaged over ``data`` in batches."""
  # A single batch is linearized once: repeated HVPs (a Lanczos loop, trace probes) reuse the
  # forward pass's residuals instead of recomputing the forward every time.
  if data is None:
    _, lin = jax.linearize(jax.grad(lambda p: loss_fn(unravel(p))), flat)
    return lambda v: lin(v.astype(flat.dtype))

  grad = jax.grad(lambda p, batch: loss_fn(unravel(p), batch))

  def one(batch, v):
    return jax.jvp(lambda p: grad(p, batch), (flat,), (v,))[1]

  n = _num_examples(data)
  bs = n if batch_size is None else min(batch_size, n)
  num_full, rest = divmod(n, bs)

  if num_full == 1 and rest == 0:
    _, lin = jax.linearize(lambda p: grad(p, data), flat)
    return lambda v: lin(v.astype(flat.dtype))

  def matvec(v):
    v = v.astype(flat.dtype)
    full = jax.tree_util.tree_map(
      lambda a: a[: num_full * bs].reshape((num_full, bs) + a.shape[1:]), data
    )
    total, _ = jax.lax.scan(
      lambda acc, batch: (acc + one(batch, v), None), jnp.zeros_like(flat), full
    )
    total = total * bs
    if rest:
      tail = jax.tree_util.tree_map(lambda a: a[num_full * bs :], data)
      total = total + rest * one(tail, v)
    return total / n

  return matvec


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size"))
def hvp_core(loss_fn, params, v, data, batch_size):
  """:func:`hvp` without its host-side input checks: the jitted computation alone."""
  flat, unravel = ravel_pytree(params)
  v_flat, _ = ravel_pytree(v)
  return unravel(_flat_hvp(loss_fn, flat, unravel, data, batch_size)(v_flat))


def hvp(
  loss_fn: LossFn,
  params: Params,
  v: Params,
  *,
  data: Data | None = None,
  batch_size: int | None = None,
) -> Params:
  """Hessian-vector product ``H v`` of the loss at ``params`` (forward-over-reverse, jitted).

  .. math:: H v = \\frac{d}{d\\epsilon} \\nabla L(\\theta + \\epsilon v) \\Big|_{\\epsilon=0}

  computed as ``jax.jvp(jax.grad(L), (θ,), (v,))``: a small multiple of one gradient's cost
  (1.7x in ``benchmarks/curvature.py``) and O(#params) memory.

  Args:
    loss_fn: ``loss_fn(params)`` or, with ``data``, ``loss_fn(params, batch)`` (a mean).
    params: parameter pytree θ.
    v: a pytree like ``params``.
    data: optional dataset, a pytree of arrays with a shared leading axis.
    batch_size: examples per HVP evaluation (None: all of ``data`` at once).

  Returns:
    ``H v``, a pytree like ``params``.

  Example:
    >>> loss = lambda p: jnp.sum(p ** 3)
    >>> hvp(loss, jnp.array([1., 2.]), jnp.array([1., 1.])).tolist()
    [6.0, 12.0]
  """
  _check_inputs(loss_fn, params, data, batch_size, "hvp")
  check_same_shapes(v, params, "hvp", "v", "params")
  return hvp_core(loss_fn, params, v, data, batch_size)


# --------------------------------------------------------------------------- Lanczos


def _top_ritz_residuals(alphas, betas, i, k):
  """Top-``k`` Ritz values of ``T_{i+1}`` (leading block) and their residuals ``|β_i s_ij|``.

  Traceable with a dynamic ``i``: the entries past ``i`` are replaced by a diagonal block set
  below every eigenvalue of the leading block (Gershgorin), so the top ``k`` eigenpairs of the
  padded ``[m, m]`` matrix are those of ``T_{i+1}`` whenever ``i + 1 >= k``.
  """
  m = alphas.shape[0]
  idx = jnp.arange(m)
  filled = idx <= i
  off = jnp.where(idx < i, betas, 0.0)[:-1]  # Couplings inside the leading block only.
  a = jnp.where(filled, alphas, 0.0)
  bound = jnp.max(jnp.abs(a)) + 2 * jnp.max(jnp.abs(betas * filled))
  floor = -3.0 * bound - jnp.finfo(alphas.dtype).tiny
  t = jnp.diag(jnp.where(filled, alphas, floor)) + jnp.diag(off, 1) + jnp.diag(off, -1)
  theta, s = jnp.linalg.eigh(t)
  theta, last = theta[::-1][:k], s[i, ::-1][:k]  # Largest first; row i = last of the block.
  return theta, jnp.abs(betas[i] * last)


def lanczos(
  matvec: Callable[[jax.Array], jax.Array],
  init_vector: jax.Array,
  num_iters: int,
  *,
  tol: float | None = None,
  k: int = 1,
) -> LanczosResult:
  """Lanczos tridiagonalization with full reorthogonalization (pure, jittable).

  .. math:: w = H v_i - \\alpha_i v_i - \\beta_{i-1} v_{i-1}, \\quad
            w \\leftarrow w - V^\\top V w \\ (\\text{twice}), \\quad
            \\beta_i = \\|w\\|, \\quad v_{i+1} = w / \\beta_i

  The loop is one device loop (``lax.while_loop``) holding the ``[num_iters, n]`` basis on the
  device; only ``matvec`` touches the operator, so a Hessian is never formed. Classical
  Gram–Schmidt run twice keeps the basis orthonormal to working precision. If the Krylov
  space is exhausted (``β_i`` at rounding level) the next vector is the coordinate vector
  ``e_j`` least covered by the basis, orthogonalized (it has norm² ≥ 1 − (i+1)/n > 0), and
  ``β_i = 0``, so ``T`` stays exact (block diagonal) and repeated eigenvalues are found.

  With ``tol``, the loop stops early, after the first step ``i + 1 >= k`` at which the top
  ``k`` Ritz values ``θ_j`` of ``T_{i+1}`` all have residuals ``|β_i s_{ij}| <= tol · max|θ_j|``
  (checked on the device every step by a ``[m, m]`` ``eigh``, no host round-trip).

  Args:
    matvec: the symmetric linear operator, ``[n] -> [n]``.
    init_vector: ``[n]`` non-zero starting vector.
    num_iters: ``m``, with ``1 <= m <= n`` (static): the number of steps, or with ``tol``
      the most steps.
    tol: relative residual bound at which to stop (a float or a traced scalar: one compile
      serves every value; negative never stops); None: always ``m`` steps, no checks.
    k: how many top Ritz pairs must meet ``tol`` (static, ``1 <= k <= m``).

  Returns:
    :class:`LanczosResult`; eigenvalues of ``T`` (Ritz values) approximate those of ``H``.

  Example:
    >>> A = jnp.diag(jnp.arange(1., 6.))
    >>> res = lanczos(lambda v: A @ v, jnp.ones(5), 5)
    >>> T = jnp.diag(res.alphas) + jnp.diag(res.betas[:-1], 1) + jnp.diag(res.betas[:-1], -1)
    >>> [round(x, 4) for x in jnp.linalg.eigvalsh(T).tolist()]
    [1.0, 2.0, 3.0, 4.0, 5.0]
  """
  n = init_vector.shape[0]
  if not (isinstance(num_iters, int) and 1 <= num_iters <= n):
    raise ValueError(f"lanczos: num_iters must be an int in [1, {n}], got {num_iters!r}.")
  if isinstance(tol, (int, float)) and not (math.isfinite(tol) and tol >= 0):
    raise ValueError(f"lanczos: tol must be a non-negative float or None, got {tol!r}.")
  if not (isinstance(k, int) and 1 <= k <= num_iters):
    raise ValueError(f"lanczos: k must be an int in [1, num_iters={num_iters}], got {k!r}.")
  dtype = init_vector.dtype
  eps = jnp.finfo(dtype).eps
  coords = jnp.arange(n)

  dot = functools.partial(jnp.matmul, precision=jax.lax.Precision.HIGHEST)  # No bf16 on TPU.

  def orthogonalize(w, basis):  # Rows not yet filled are zero and drop out.
    w = w - dot(basis.T, dot(basis, w))
    return w - dot(basis.T, dot(basis, w))

  def step(i, carry):
    basis, alphas, betas, v, v_prev, beta_prev = carry
    basis = basis.at[i].set(v)
    hv = matvec(v)
    alpha = jnp.vdot(hv, v, precision=jax.lax.Precision.HIGHEST)
    w = orthogonalize(hv - alpha * v - beta_prev * v_prev, basis)
    beta = jnp.linalg.norm(w)
    breakdown = beta <= 100 * eps * jnp.linalg.norm(hv)

    def restart(_):
      least = jnp.argmin(jnp.sum(jnp.square(basis), axis=0))  # Least-covered coordinate.
      fresh = orthogonalize((coords == least).astype(dtype), basis)
      return fresh / jnp.linalg.norm(fresh)

    v_next = jax.lax.cond(breakdown, restart, lambda _: w / beta, None)
    beta = jnp.where(breakdown, 0.0, beta)
    return basis, alphas.at[i].set(alpha), betas.at[i].set(beta), v_next, v, beta

  def converged(i, alphas, betas):
    def check(_):
      theta, res = _top_ritz_residuals(alphas, betas, i, k)
      return jnp.max(res) <= tol * jnp.max(jnp.abs(theta))

    return jax.lax.cond(i + 1 >= k, check, lambda _: jnp.array(False), None)

  def body(carry):
    i, _, state = carry
    state = step(i, state)
    done = jnp.array(False) if tol is None else converged(i, state[1], state[2])
    return i + 1, done, state

  v0 = init_vector / jnp.linalg.norm(init_vector)
  zeros = jnp.zeros((num_iters,), dtype)
  init = (
    jnp.zeros((num_iters, n), dtype),
    zeros,
    zeros,
    v0,
    jnp.zeros_like(v0),
    jnp.zeros((), dtype),
  )
  steps, _, (basis, alphas, betas, *_) = jax.lax.while_loop(
    lambda c: (c[0] < num_iters) & ~c[1], body, (jnp.array(0), jnp.array(False), init)
  )
  return LanczosResult(alphas, betas, basis, steps)


def tridiagonal_eigh(alphas: jax.Array, betas: jax.Array) -> tuple[np.ndarray, np.ndarray]:
  """Eigen-decomposition of a Lanczos ``T`` on the host (it is tiny: ``[m, m]``).

  Args:
    alphas: ``[m]`` diagonal.
    betas: ``[m]`` off-diagonal as in :class:`LanczosResult` (the last entry is not in ``T``).

  Returns:
    ``(theta [m] ascending, S [m, m])`` in float64 with ``T = S diag(theta) Sᵀ``.

  Example:
    >>> theta, _ = tridiagonal_eigh(jnp.array([2., 2.]), jnp.array([1., 0.]))
    >>> theta.round(6).tolist()
    [1.0, 3.0]
  """
  a = np.asarray(alphas, np.float64)
  b = np.asarray(betas, np.float64)[:-1]
  return np.linalg.eigh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size", "num_iters", "k"))
def lanczos_core(loss_fn, params, data, key, batch_size, num_iters, tol=None, k=1) -> LanczosResult:
  """One Lanczos run on the dataset Hessian from a random start, entirely on the device.

  ``tol`` is traced (None, an empty pytree, compiles the check-free fixed-step program).
  """
  flat, unravel = ravel_pytree(params)
  matvec = _flat_hvp(loss_fn, flat, unravel, data, batch_size)
  init = jax.random.normal(key, flat.shape, flat.dtype)
  return lanczos(matvec, init, num_iters, tol=tol, k=k)


def _check_k(k, n: int, fn: str, what: str = "k") -> None:
  if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1):
    raise ValueError(f"{fn}: {what} must be a positive int, got {k!r}.")
  if k > n:
    raise ValueError(
      f"{fn}: {what}={k} exceeds the number of parameters ({n}); valid: 1 <= {what} <= {n}."
    )


def _unravel_rows(params: Params, rows: np.ndarray) -> Params:
  """Host-side inverse of ravel_pytree for a stack of flat vectors ``[k, n]``."""
  leaves, treedef = jax.tree_util.tree_flatten(params)
  out, start = [], 0
  for leaf in leaves:
    size = int(np.size(leaf))
    chunk = rows[:, start : start + size].reshape((rows.shape[0],) + np.shape(leaf))
    out.append(jnp.asarray(chunk.astype(jnp.asarray(leaf).dtype)))
    start += size
  return jax.tree_util.tree_unflatten(treedef, out)


def _check_result(arrays, fn: str) -> None:
  for a in jax.tree_util.tree_leaves(arrays):
    if not np.all(np.isfinite(np.asarray(a))):
      raise ValueError(
        f"{fn}: Hessian-vector products produced NaN/inf; check that the loss "
        "is finite at these parameters."
      )


def top_eigenvalues(
  loss_fn: LossFn,
  params: Params,
  k: int,
  key: jax.Array,
  *,
  data: Data | None = None,
  batch_size: int | None = None,
  num_iters: int | None = None,
  tol: float = 1e-3,
  early_stop: bool = True,
) -> Eigenpairs:
  """The ``k`` largest Hessian eigenvalues (and eigenvectors) by Lanczos (host-checked).

  Runs :func:`lanczos` from a random start inside one jitted call, then takes the top Ritz
  pairs ``(θ_j, y_j)`` of the tridiagonal ``T``. Stated tolerance: each Ritz pair has the
  residual ``r_j = ‖H y_j − θ_j y_j‖ = |β_m s_{mj}|``, and some true eigenvalue lies in
  ``[θ_j − r_j, θ_j + r_j]`` (for an isolated eigenvalue the error is even ``≤ r_j² / gap``).
  With ``early_stop`` (the default) Lanczos stops at the first step where
  ``max r_j <= tol · |θ_1|``; without, it always runs ``num_iters`` steps. Either way a
  warning is issued when the bound is not met at the end: raise ``num_iters``. (Like every
  Krylov method, a start vector nearly orthogonal to a top eigenvector can miss it; the
  bound certifies each returned θ_j, not that none was skipped.)

  Args:
    loss_fn: ``loss_fn(params)`` or, with ``data``, ``loss_fn(params, batch)``.
    params: parameter pytree (float64 throughout when x64 is enabled and params are float64).
    k: how many eigenvalues, ``1 <= k <= #params``.
    key: PRNG key for the start vector.
    data: optional dataset; the HVP is averaged over it in batches of ``batch_size``.
    batch_size: examples per HVP evaluation (None: all at once).
    num_iters: Lanczos steps (the most, with ``early_stop``), ``k <= num_iters``; default
      ``min(#params, 2k + 40)``; capped at ``#params``.
    tol: relative residual bound: the stopping criterion, and the warning threshold.
    early_stop: stop as soon as ``tol`` is met (one HVP per step: ``num_steps`` HVPs).

  Returns:
    :class:`Eigenpairs` with eigenvalues in descending order and ``num_steps`` the Lanczos
    steps (HVPs) taken.

  Raises:
    ValueError: bad ``k``/``num_iters``/``batch_size``/``tol``, non-scalar loss, NaN params
      or data, or NaN Hessian-vector products.

  Example:
    >>> loss = lambda p: 0.5 * (3 * p[0] ** 2 + p[1] ** 2) + p[0] * p[1]
    >>> top = top_eigenvalues(loss, jnp.zeros(2), 2, jax.random.key(0))
    >>> [round(v, 4) for v in top.eigenvalues.tolist()]  # of [[3, 1], [1, 1]]: 2 ± √2
    [3.4142, 0.5858]
  """
  n = _check_inputs(loss_fn, params, data, batch_size, "top_eigenvalues")
  _check_k(k, n, "top_eigenvalues")
  _check_key(key, "top_eigenvalues")
  if num_iters is None:
    num_iters = 2 * k + 40
  _check_k(num_iters, max(n, num_iters), "top_eigenvalues", "num_iters")
  if num_iters < k:
    raise ValueError(f"top_eigenvalues: num_iters={num_iters} must be >= k={k}.")
  if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and math.isfinite(tol)):
    raise ValueError(f"top_eigenvalues: tol must be a finite float >= 0, got {tol!r}.")
  if tol < 0:
    raise ValueError(f"top_eigenvalues: tol must be a finite float >= 0, got {tol!r}.")
  num_iters = int(min(num_iters, n))
  stop_tol = jnp.asarray(float(tol) if early_stop else -1.0)  # Traced: no recompiles.
  res = lanczos_core(loss_fn, params, data, key, batch_size, num_iters, stop_tol, int(k))
  steps = int(res.num_steps)  # After the loop: one sync.
  alphas, betas = np.asarray(res.alphas)[:steps], np.asarray(res.betas)[:steps]
  _check_result((alphas, betas), "top_eigenvalues")
  theta, s = tridiagonal_eigh(alphas, betas)
  theta, s = theta[::-1][:k], s[:, ::-1][:, :k]  # Largest first.
  residuals = np.abs(betas[-1] * s[-1, :])  # ‖H y − θ y‖ = |β_m s_mj|.
  dtype = res.basis.dtype
  coeffs = np.zeros((k, num_iters), s.dtype)
  coeffs[:, :steps] = s.T  # Rows of the basis past num_steps are zero: one fixed shape.
  ritz = _ritz_jit(jnp.asarray(coeffs, dtype), res.basis)
  vectors = _unravel_rows(params, np.asarray(ritz))
  theta, residuals = theta.astype(dtype), residuals.astype(dtype)
  scale = float(np.max(np.abs(theta)))
  worst = float(np.max(residuals))
  if worst > tol * max(scale, float(np.finfo(theta.dtype).tiny)):
    warnings.warn(
      f"top_eigenvalues: Lanczos residual {worst:.3g} exceeds tol * |λ_1| = "
      f"{tol * scale:.3g} after {steps} iterations; raise num_iters.",
      RuntimeWarning,
      stacklevel=2,
    )
  theta, residuals = jnp.asarray(theta), jnp.asarray(residuals)
  return Eigenpairs(theta, vectors, residuals, steps)


_ritz_jit = jax.jit(functools.partial(jnp.matmul, precision=jax.lax.Precision.HIGHEST))


# --------------------------------------------------------------------------- trace


@functools.partial(
  jax.jit, static_argnames=("loss_fn", "batch_size", "num_probes", "min_probes", "adaptive")
)
def _trace_jit(loss_fn, params, data, key, batch_size, num_probes, rtol, min_probes, adaptive):
  """``(samples[num_probes], n)``: probes ``0..n-1`` computed, ``n`` the stopping count.

  Probe ``i`` is ``z_i = rademacher(fold_in(key, i))`` whatever the rule, so a run that stops
  early has the first ``n`` samples of the fixed run. Without ``adaptive`` every probe runs in
  one ``lax.map`` (``rtol`` unused); with it a ``while_loop`` stops at the first ``n >=
  min_probes`` whose standard error is at most ``rtol · |mean|``.
  """
  flat, unravel = ravel_pytree(params)
  matvec = _flat_hvp(loss_fn, flat, unravel, data, batch_size)

  def sample(i):
    z = jax.random.rademacher(jax.random.fold_in(key, i), flat.shape, flat.dtype)
    return jnp.vdot(z, matvec(z), precision=jax.lax.Precision.HIGHEST)

  if not adaptive:
    return jax.lax.map(sample, jnp.arange(num_probes)), jnp.asarray(num_probes)

  def more(carry):
    samples, n = carry
    seen = jnp.arange(num_probes) < n
    mean = jnp.sum(jnp.where(seen, samples, 0.0)) / n
    var = jnp.sum(jnp.where(seen, (samples - mean) ** 2, 0.0)) / jnp.maximum(n - 1, 1)
    converged = (n >= min_probes) & (jnp.sqrt(var / n) <= rtol * jnp.abs(mean))
    return (n < num_probes) & ~converged

  def probe(carry):
    samples, n = carry
    return samples.at[n].set(sample(n)), n + 1

  dtype = jax.eval_shape(sample, 0).dtype
  return jax.lax.while_loop(more, probe, (jnp.zeros(num_probes, dtype), jnp.asarray(0)))


def hessian_trace(
  loss_fn: LossFn,
  params: Params,
  key: jax.Array,
  num_probes: int = 100,
  *,
  rtol: float | None = None,
  min_probes: int = 10,
  data: Data | None = None,
  batch_size: int | None = None,
) -> TraceEstimate:
  """Hutchinson's estimate of ``tr(H)`` with Rademacher probes and its standard error.

  .. math:: \\operatorname{tr}(H) = \\mathbb{E}_z[z^\\top H z], \\quad
            z_i \\in \\{-1, +1\\} \\text{ uniform}, \\qquad
            \\widehat{\\operatorname{tr}} = \\frac1m \\sum_{j=1}^m z_j^\\top H z_j

  The standard error is the sample standard deviation of ``zᵀHz`` over ``sqrt(m)``; the
  variance of one sample is ``2 Σ_{i≠j} H_ij²``. All probes run in one jitted ``lax.map``.

  With ``rtol``, probes are drawn one at a time until the standard error is at most ``rtol``
  times the estimate (after ``min_probes`` at least, ``num_probes`` at most): the estimate's
  relative error is then about ``rtol`` (a standard error, not a bound). PyHessian's rule, a
  relative change of the running mean below its ``tol``, stops on a change of one sample's
  weight and so promises no accuracy.

  Args:
    loss_fn: ``loss_fn(params)`` or, with ``data``, ``loss_fn(params, batch)``.
    params: parameter pytree.
    key: PRNG key for the probes (probe ``i`` uses ``fold_in(key, i)``, with or without
      ``rtol``).
    num_probes: ``m >= 2`` (two are needed for a standard error); the most with ``rtol``.
    rtol: optional target of ``stderr / |trace|`` (> 0; traced, so one compiled program
      serves every value).
    min_probes: the fewest probes before ``rtol`` may stop (``2 <= min_probes <=
      num_probes``); the standard error of a few samples is itself noisy.
    data: optional dataset, averaged over in batches of ``batch_size``.
    batch_size: examples per HVP evaluation (None: all at once).

  Returns:
    :class:`TraceEstimate` (its ``samples`` are the probes used).

  Example:
    >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([1., 2., 3.]) * p ** 2)
    >>> est = hessian_trace(loss, jnp.zeros(3), jax.random.key(0), num_probes=10)
    >>> float(est.trace), float(est.stderr)  # diagonal H: every probe is exact
    (6.0, 0.0)
    >>> hessian_trace(loss, jnp.zeros(3), jax.random.key(0), rtol=0.1, min_probes=3).samples.shape
    (3,)
  """
  _check_inputs(loss_fn, params, data, batch_size, "hessian_trace")
  _check_key(key, "hessian_trace")
  if not (isinstance(num_probes, int) and num_probes >= 2):
    raise ValueError(f"hessian_trace: num_probes must be an int >= 2, got {num_probes!r}.")
  if not (isinstance(min_probes, int) and 2 <= min_probes <= num_probes):
    raise ValueError(
      f"hessian_trace: min_probes must be an int in [2, num_probes={num_probes}], "
      f"got {min_probes!r}."
    )
  if rtol is not None and not is_traced(rtol) and not (np.isfinite(rtol) and rtol > 0):
    raise ValueError(f"hessian_trace: rtol must be a finite number > 0 or None, got {rtol!r}.")
  adaptive = rtol is not None
  limit = rtol if adaptive else 0.0
  buffer, n = _trace_jit(
    loss_fn, params, data, key, batch_size, num_probes, limit, min_probes, adaptive
  )
  samples = buffer[: int(n)]
  _check_result(samples, "hessian_trace")
  mean = jnp.mean(samples)
  stderr = jnp.std(samples, ddof=1) / jnp.sqrt(samples.shape[0])
  return TraceEstimate(mean, stderr, samples)


# --------------------------------------------------------------------------- density (SLQ)


def gaussian_smoothed_density(
  nodes: jax.Array, weights: jax.Array, grid: jax.Array, sigma: float
) -> jax.Array:
  """Average over probes of ``Σ_j w_j N(t; θ_j, σ²)`` evaluated on ``grid`` (jittable).

  Example:
    >>> d = gaussian_smoothed_density(jnp.array([[0.]]), jnp.array([[1.]]), jnp.zeros(1), 1.)
    >>> round(float(d[0]), 4)  # 1/sqrt(2π)
    0.3989
  """
  if not is_traced(sigma) and not (np.ndim(sigma) == 0 and np.isfinite(sigma) and sigma > 0):
    raise ValueError(
      f"gaussian_smoothed_density: sigma must be a finite number > 0, got {sigma!r}."
    )
  nodes, weights = jnp.atleast_2d(nodes), jnp.atleast_2d(weights)
  z = (grid[:, None, None] - nodes[None]) / sigma
  kernel = jnp.exp(-0.5 * z**2) / (sigma * math.sqrt(2 * math.pi))
  return jnp.sum(kernel * weights[None], axis=(1, 2)) / nodes.shape[0]


_smoothed_jit = jax.jit(gaussian_smoothed_density)


def spectral_density(
  loss_fn: LossFn,
  params: Params,
  key: jax.Array,
  *,
  num_probes: int = 3,
  num_iters: int = 80,
  num_points: int = 1000,
  sigma: float | None = None,
  data: Data | None = None,
  batch_size: int | None = None,
) -> SpectralDensity:
  """Hessian eigenvalue density by stochastic Lanczos quadrature (host-checked).

  For a unit random ``v`` and ``m`` Lanczos steps, ``T = S diag(θ) Sᵀ`` gives the Gauss
  quadrature :math:`v^\\top g(H) v \\approx \\sum_j w_j g(\\theta_j)` with
  :math:`w_j = s_{1j}^2`, exact for polynomials of degree ``< 2m``. Averaging over probes
  estimates :math:`\\frac1n \\operatorname{tr} g(H) = \\int g(t) \\rho(t) dt`; the density is
  smoothed with a Gaussian of width ``sigma``:

  Each probe is one jitted Lanczos run (the program :func:`top_eigenvalues` compiles, for the
  same ``num_iters``), with no host round-trip inside its loop.

  .. math:: \\hat\\rho(t) = \\frac{1}{n_v} \\sum_{\\ell=1}^{n_v} \\sum_{j=1}^{m}
            w_j^{(\\ell)} \\mathcal N(t;\\, \\theta_j^{(\\ell)}, \\sigma^2)

  Args:
    loss_fn: ``loss_fn(params)`` or, with ``data``, ``loss_fn(params, batch)``.
    params: parameter pytree.
    key: PRNG key for the probes.
    num_probes: number of random start vectors (>= 1).
    num_iters: Lanczos steps per probe (capped at the number of parameters).
    num_points: grid size (>= 2).
    sigma: smoothing width; default 1% of the Ritz-value range.
    data: optional dataset, averaged over in batches of ``batch_size``.
    batch_size: examples per HVP evaluation (None: all at once).

  Returns:
    :class:`SpectralDensity`; the grid spans the Ritz values plus a margin of 5% and 4 sigma.

  Example:
    >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([1., 1., 4.]) * p ** 2)
    >>> sd = spectral_density(loss, jnp.zeros(3), jax.random.key(0), num_iters=3)
    >>> sorted(set(sd.nodes.round(4).ravel().tolist()))
    [1.0, 4.0]
  """
  n = _check_inputs(loss_fn, params, data, batch_size, "spectral_density")
  _check_key(key, "spectral_density")
  _check_k(num_probes, max(num_probes, 1), "spectral_density", "num_probes")
  _check_k(num_iters, max(num_iters, 1), "spectral_density", "num_iters")
  if not (isinstance(num_points, int) and num_points >= 2):
    raise ValueError(f"spectral_density: num_points must be an int >= 2, got {num_points!r}.")
  if sigma is not None and not (math.isfinite(sigma) and sigma > 0):
    raise ValueError(f"spectral_density: sigma must be positive, got {sigma!r}.")
  nodes, weights = [], []
  for i in range(num_probes):  # Each probe is one device-side Lanczos run (shared compile).
    res = lanczos_core(
      loss_fn, params, data, jax.random.fold_in(key, i), batch_size, min(num_iters, n), None, 1
    )
    alphas, betas = np.asarray(res.alphas), np.asarray(res.betas)
    del res  # Free the probe's [m, n] basis before the next one.
    _check_result((alphas, betas), "spectral_density")
    theta, s = tridiagonal_eigh(alphas, betas)
    nodes.append(theta)
    weights.append(np.square(s[0, :]))  # Gauss weights (vᵀu_j)² for the unit start v.
  nodes = jnp.asarray(np.stack(nodes).astype(alphas.dtype))
  weights = jnp.asarray(np.stack(weights).astype(alphas.dtype))
  lo, hi = float(np.min(np.asarray(nodes))), float(np.max(np.asarray(nodes)))
  spread = max(hi - lo, 1e-3 * max(abs(lo), abs(hi), 1.0))
  sigma = 0.01 * spread if sigma is None else float(sigma)
  pad = 0.05 * spread + 4 * sigma
  grid = jnp.asarray(np.linspace(lo - pad, hi + pad, num_points).astype(nodes.dtype))
  density = _smoothed_jit(nodes, weights, grid, sigma)
  return SpectralDensity(grid, density, nodes, weights, sigma)


def plot_spectral_density(
  density: SpectralDensity,
  path: str,
  *,
  title: str | None = None,
  reference_eigenvalues: jax.Array | None = None,
  log_scale: bool = True,
) -> str:
  """Writes a PNG of an SLQ density (optionally with a dense reference histogram).

  Args:
    density: the result of :func:`spectral_density`.
    path: output ``.png`` path.
    title: plot title.
    reference_eigenvalues: exact eigenvalues, drawn as a density-normalized histogram.
    log_scale: logarithmic density axis (the spectrum of a network is mostly near zero).

  Returns:
    ``path``.

  Example:
    >>> sd = SpectralDensity(jnp.linspace(0., 4., 50), jnp.full(50, 0.25),
    ...                      jnp.array([[1., 3.]]), jnp.array([[0.5, 0.5]]), 0.1)
    >>> import tempfile, os
    >>> os.path.exists(plot_spectral_density(sd, os.path.join(tempfile.mkdtemp(), "d.png")))
    True
  """
  # A bare Figure draws with matplotlib's Agg canvas: no pyplot, and the caller's backend
  # (a notebook's, say) is left as it is.
  from matplotlib.figure import Figure

  grid, dens = np.asarray(density.grid), np.asarray(density.density)
  fig = Figure(figsize=(6, 4))
  ax = fig.subplots()
  ax.plot(grid, dens, label=f"SLQ ({density.nodes.shape[0]} probes, σ={density.sigma:.2g})")
  if reference_eigenvalues is not None:
    ax.hist(
      np.asarray(reference_eigenvalues), bins=100, density=True, alpha=0.4, label="dense eigh"
    )
  if log_scale:
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(float(dens.max()) * 1e-6, 1e-12))
  ax.set_xlabel("eigenvalue")
  ax.set_ylabel("density")
  ax.set_title(title or "Hessian eigenvalue density")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  return path


__all__ = [
  "Eigenpairs",
  "LanczosResult",
  "SpectralDensity",
  "TraceEstimate",
  "gaussian_smoothed_density",
  "hessian_trace",
  "hvp",
  "lanczos",
  "plot_spectral_density",
  "spectral_density",
  "top_eigenvalues",
  "tridiagonal_eigh",
]
