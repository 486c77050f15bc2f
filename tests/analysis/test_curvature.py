"""Curvature estimates on a small MLP against the dense jax.hessian + eigh (float64)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.flatten_util import ravel_pytree
from threadpoolctl import threadpool_limits

from jaxnets import data as jdata
from jaxnets import losses
from jaxnets.analysis import curvature
from jaxnets.models import get_model

NUM_EXAMPLES, BATCH = 64, 32
MODEL = get_model("mlp", hidden=(24,), num_classes=10, activation="tanh")  # 1810 parameters.


def _key(seed):
  # Any PRNG key works; "rbg" keys compile several times faster than threefry on CPU, which
  # keeps these tests fast (test_float32_and_convergence_warning uses the default threefry).
  return jax.random.key(seed, impl="rbg")


def mlp_loss(params, batch):
  return losses.softmax_cross_entropy(
    MODEL.apply({"params": params}, batch["x"]), batch["y"]
  ).mean()


def diag_loss(p):  # H = diag(1, ..., 50).
  return 0.5 * jnp.sum(jnp.arange(1.0, 51.0, dtype=p.dtype) * p**2)


@pytest.fixture(scope="module")
def problem():
  with jax.enable_x64(True):
    digits = jdata.load("digits")
    data = {
      "x": jnp.asarray(digits["x"][:NUM_EXAMPLES].reshape(NUM_EXAMPLES, -1), jnp.float64),
      "y": jnp.asarray(digits["y"][:NUM_EXAMPLES]),
    }
    params = jax.jit(
      lambda key, x: jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float64), MODEL.init(key, x)["params"]
      )
    )(_key(0), data["x"][:1])
    flat, unravel = ravel_pytree(params)
    dense = np.asarray(jax.jit(jax.hessian(lambda q: mlp_loss(unravel(q), data)))(flat))
  with threadpool_limits(1):  # BLAS threads fight over the shared cores.
    eigs = scipy.linalg.eigvalsh(dense, driver="evr")
  return {"data": data, "params": params, "hessian": dense, "eigs": eigs, "n": flat.size}


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def test_problem_size(problem):
  assert 1000 <= problem["n"] <= 5000


def test_hvp_matches_dense_and_batches_are_weighted_exactly(problem):
  v = jax.tree_util.tree_map(
    lambda a: jnp.cos(jnp.arange(a.size, dtype=a.dtype)).reshape(a.shape), problem["params"]
  )
  expected = problem["hessian"] @ np.asarray(ravel_pytree(v)[0])
  # Batches of 48 leave a remainder of 16: weighting by batch size must give the full mean.
  hv = curvature.hvp(mlp_loss, problem["params"], v, data=problem["data"], batch_size=48)
  assert jax.tree_util.tree_structure(hv) == jax.tree_util.tree_structure(v)
  np.testing.assert_allclose(ravel_pytree(hv)[0], expected, rtol=1e-9, atol=1e-12)


def test_top_eigenvalues_match_dense(problem):
  top = curvature.top_eigenvalues(
    mlp_loss, problem["params"], 3, _key(1), data=problem["data"], batch_size=BATCH, num_iters=30
  )
  exact = problem["eigs"][::-1][:3]
  assert top.eigenvalues.dtype == jnp.float64
  rel = np.abs(np.asarray(top.eigenvalues) - exact) / abs(exact[0])
  assert np.all(rel < 1e-3), rel
  # The stated residual bound holds for the Ritz vectors, checked with the dense Hessian.
  vecs = np.asarray(jax.vmap(lambda t: ravel_pytree(t)[0])(top.eigenvectors))
  for theta, y, r in zip(np.asarray(top.eigenvalues), vecs, np.asarray(top.residuals), strict=True):
    np.testing.assert_allclose(np.linalg.norm(y), 1.0, rtol=1e-8)
    assert np.linalg.norm(problem["hessian"] @ y - theta * y) <= r + 1e-8


def test_hessian_trace_within_three_standard_errors(problem):
  est = curvature.hessian_trace(
    mlp_loss, problem["params"], _key(2), 100, data=problem["data"], batch_size=BATCH
  )
  exact = problem["eigs"].sum()
  assert est.samples.shape == (100,) and float(est.stderr) > 0
  assert abs(float(est.trace) - exact) <= 3 * float(est.stderr), (float(est.trace), exact)


def test_hessian_trace_rtol_stops_at_its_standard_error_on_the_fixed_probes(problem):
  args = (mlp_loss, problem["params"], _key(2))
  kw = dict(data=problem["data"], batch_size=BATCH)
  fixed = curvature.hessian_trace(*args, 100, **kw)
  early = curvature.hessian_trace(*args, 100, rtol=0.1, min_probes=5, **kw)
  n = early.samples.shape[0]
  assert 5 <= n < 100
  # The same probes as the fixed run, and the first count whose standard error meets rtol.
  np.testing.assert_allclose(early.samples, fixed.samples[:n], rtol=1e-5)
  stderr = [np.std(fixed.samples[:m], ddof=1) / np.sqrt(m) for m in range(5, n + 1)]
  means = [abs(np.mean(fixed.samples[:m])) for m in range(5, n + 1)]
  assert stderr[-1] <= 0.1 * means[-1] * (1 + 1e-5)
  assert all(se > 0.1 * mu * (1 - 1e-5) for se, mu in zip(stderr[:-1], means[:-1], strict=True))
  np.testing.assert_allclose(float(early.stderr), stderr[-1], rtol=1e-4)
  # A target the probes never meet runs them all.
  assert curvature.hessian_trace(*args, 20, rtol=1e-6, **kw).samples.shape == (20,)


def test_spectral_density_matches_dense(problem, tmp_path):
  sd = curvature.spectral_density(
    mlp_loss,
    problem["params"],
    _key(3),
    num_probes=8,
    num_iters=30,
    data=problem["data"],
    batch_size=BATCH,
  )
  eigs = problem["eigs"]
  nodes, weights = np.asarray(sd.nodes), np.asarray(sd.weights)
  np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-10)
  scale = np.abs(eigs).max()  # Lanczos finds both ends of the spectrum.
  assert abs(nodes.max() - eigs[-1]) < 1e-3 * scale and abs(nodes.min() - eigs[0]) < 1e-3 * scale
  dx = float(sd.grid[1] - sd.grid[0])
  assert abs(float(jnp.sum(sd.density)) * dx - 1.0) < 1e-3
  dense = curvature.gaussian_smoothed_density(
    jnp.asarray(eigs)[None], jnp.full((1, eigs.size), 1.0 / eigs.size), sd.grid, sd.sigma
  )
  l1 = float(jnp.sum(jnp.abs(sd.density - dense))) * dx
  assert l1 < 0.1, l1
  # The mean of the density is vᵀHv per probe, an unbiased estimate of tr(H)/n.
  first = (nodes * weights).sum(axis=1)
  assert abs(first.mean() - eigs.mean()) <= 4 * first.std(ddof=1) / np.sqrt(first.size)
  path = curvature.plot_spectral_density(
    sd, os.path.join(tmp_path, "density.png"), reference_eigenvalues=eigs
  )
  assert os.path.getsize(path) > 1000


def _all_eqns(jaxpr):
  for eqn in jaxpr.eqns:
    yield eqn
    for param in eqn.params.values():
      for sub in param if isinstance(param, (tuple, list)) else (param,):
        inner = getattr(sub, "jaxpr", sub)
        if hasattr(inner, "eqns"):
          yield from _all_eqns(inner)


def test_lanczos_never_forms_the_hessian_nor_syncs_with_host(problem):
  closed = jax.make_jaxpr(lambda p, d, k: curvature.lanczos_core(mlp_loss, p, d, k, BATCH, 30))(
    problem["params"], problem["data"], _key(0)
  )
  eqns = list(_all_eqns(closed.jaxpr))
  n = problem["n"]
  biggest = max(
    int(np.prod(v.aval.shape)) for e in eqns for v in e.outvars if hasattr(v.aval, "shape")
  )
  assert biggest < n * n // 10, biggest  # Largest array: the [30, n] basis or activations.
  names = {e.primitive.name for e in eqns}
  assert not any("callback" in name for name in names), names
  # The Lanczos loop is one device loop of 30 steps (a fori_loop lowers to scan or while).
  assert (
    any(e.primitive.name == "scan" and e.params["length"] == 30 for e in eqns) or "while" in names
  )


def test_lanczos_core_exact_with_repeated_eigenvalues():
  a = jnp.diag(jnp.array([1.0, 1.0, 1.0, 2.0, 2.0, 3.0]))  # Krylov space of a vector: dimension 3.
  res = curvature.lanczos(lambda v: a @ v, jnp.arange(1.0, 7.0), 6)
  theta, s = curvature.tridiagonal_eigh(res.alphas, res.betas)
  np.testing.assert_allclose(theta, [1.0, 1.0, 1.0, 2.0, 2.0, 3.0], atol=1e-10)
  t = np.diag(res.alphas) + np.diag(res.betas[:-1], 1) + np.diag(res.betas[:-1], -1)
  np.testing.assert_allclose(s @ np.diag(theta) @ s.T, t, atol=1e-10)
  basis = np.asarray(res.basis)
  np.testing.assert_allclose(basis @ basis.T, np.eye(6), atol=1e-10)


def test_float32_and_convergence_warning():
  with jax.enable_x64(False):
    with pytest.warns(RuntimeWarning, match="raise num_iters"):  # 3 steps: not converged.
      top = curvature.top_eigenvalues(
        diag_loss, jnp.ones(50, jnp.float32), 1, jax.random.key(0), num_iters=3
      )
  assert top.eigenvalues.dtype == jnp.float32
  # Even unconverged, the stated bound holds: some eigenvalue (1..50) is within the residual.
  theta, r = float(top.eigenvalues[0]), float(top.residuals[0])
  assert r > 1e-3 * theta and np.min(np.abs(np.arange(1, 51) - theta)) <= r * (1 + 1e-5)


def test_bad_input_raises_clear_errors(problem):
  p, d = jnp.ones(50), problem["data"]
  key = _key(0)
  cases = [
    (lambda: curvature.top_eigenvalues(diag_loss, p, 0, key), "positive int"),
    (lambda: curvature.top_eigenvalues(diag_loss, p, 51, key), "exceeds the number"),
    (lambda: curvature.top_eigenvalues(diag_loss, p, 5, key, num_iters=4), ">= k"),
    (lambda: curvature.top_eigenvalues(diag_loss, p, 1, None), "PRNG key"),
    (lambda: curvature.top_eigenvalues(diag_loss, p.at[3].set(jnp.nan), 1, key), "NaN"),
    (lambda: curvature.top_eigenvalues(lambda q: q**2, p, 1, key), "scalar"),
    (lambda: curvature.top_eigenvalues(diag_loss, p, 1, key, batch_size=4), "without data"),
    (
      lambda: curvature.hessian_trace(mlp_loss, problem["params"], key, data=d, batch_size=0),
      "batch_size",
    ),
    (
      lambda: curvature.hessian_trace(
        mlp_loss, problem["params"], key, data={"x": d["x"], "y": d["y"][:5]}
      ),
      "leading",
    ),
    (
      lambda: curvature.hessian_trace(
        mlp_loss, problem["params"], key, data={"x": d["x"] * jnp.nan, "y": d["y"]}
      ),
      "NaN",
    ),
    (lambda: curvature.hessian_trace(diag_loss, p, key, num_probes=1), ">= 2"),
    (lambda: curvature.hessian_trace(diag_loss, p, key, rtol=0.0), "rtol must be"),
    (lambda: curvature.hessian_trace(diag_loss, p, key, 10, min_probes=11), "min_probes"),
    (lambda: curvature.spectral_density(diag_loss, p, key, num_points=1), "num_points"),
    (lambda: curvature.spectral_density(diag_loss, p, key, sigma=-1.0), "sigma"),
    (lambda: curvature.hvp(diag_loss, p, jnp.ones(3)), "does not match"),
    (
      lambda: curvature.top_eigenvalues(
        lambda q: jnp.sum(jnp.sqrt(q - 2.0)), p, 1, key, num_iters=3
      ),
      "NaN/inf",
    ),
  ]
  for fn, match in cases:
    with pytest.raises(ValueError, match=match):
      fn()


def test_early_stop_exact_at_tight_tol_and_a_prefix_of_the_fixed_run():
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.normal(size=(60, 60)))
  eigs = np.concatenate([[40.0, 25.0, 10.0], rng.uniform(-1.0, 1.0, 57)])
  a = jnp.asarray((q * eigs) @ q.T)
  start = jnp.asarray(rng.normal(size=60))
  exact = np.asarray(jnp.linalg.eigh(a)[0])[::-1][:3]
  run = jax.jit(lambda tol: curvature.lanczos(lambda v: a @ v, start, 60, tol=tol, k=3))
  fixed, early = run(-1.0), run(1e-10)  # One compile; a negative tol never stops.
  steps = int(early.num_steps)
  assert int(fixed.num_steps) == 60 and 3 <= steps < 60
  # Early stopping only truncates: the steps taken are those of the fixed run.
  np.testing.assert_allclose(early.alphas[:steps], fixed.alphas[:steps], rtol=1e-12)
  np.testing.assert_array_equal(early.alphas[steps:], 0.0)
  theta, s = curvature.tridiagonal_eigh(early.alphas[:steps], early.betas[:steps])
  np.testing.assert_allclose(theta[::-1][:3], exact, rtol=1e-10)
  assert np.max(np.abs(early.betas[steps - 1] * s[-1, ::-1][:3])) <= 1e-10 * exact[0]


def test_top_eigenvalues_early_stop_matches_dense_and_saves_hvps(problem):
  args = (mlp_loss, problem["params"], 2, _key(4))
  kw = {"data": problem["data"], "batch_size": BATCH, "num_iters": 60}
  exact = problem["eigs"][::-1][:2]
  tight = curvature.top_eigenvalues(*args, **kw, tol=1e-9)
  np.testing.assert_allclose(tight.eigenvalues, exact, rtol=1e-9)
  assert tight.num_steps < 60 and np.all(np.asarray(tight.residuals) <= 1e-9 * exact[0])
  loose = curvature.top_eigenvalues(*args, **kw, tol=1e-2)
  fixed = curvature.top_eigenvalues(*args, **kw, tol=1e-2, early_stop=False)
  assert loose.num_steps < tight.num_steps < fixed.num_steps == 60
  # The stated bound holds at the loose tolerance too (against the dense spectrum).
  for theta, r in zip(np.asarray(loose.eigenvalues), np.asarray(loose.residuals), strict=True):
    assert r <= 1e-2 * exact[0] and np.min(np.abs(problem["eigs"] - theta)) <= r
  np.testing.assert_allclose(fixed.eigenvalues, exact, rtol=1e-9)
  for bad in (-1.0, float("nan"), "1e-3"):
    with pytest.raises(ValueError, match="tol"):
      curvature.top_eigenvalues(*args, **kw, tol=bad)
