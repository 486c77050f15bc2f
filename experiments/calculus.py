"""Course chapters 2–3 in pictures: GD on a quadratic, curvature axes, Taylor, stationary points.

Command:
  python -m experiments.calculus --workdir=runs/calculus

Writes four PNGs and ``results.json`` (the numbers of the tables) to the workdir and prints
tables:
  * ``gd_quadratic.png``: contour plot of ½ xᵀAx (eigenvalues 1 and 10) with GD trajectories
    for η = 0.5·(2/λ_max), the optimal 2/(λ_min+λ_max), 0.98·(2/λ_max) (zig-zag, converges)
    and 1.02·(2/λ_max) (diverges). Expected: the measured per-step contraction equals
    max|1 − ηλ_i|, i.e. (κ−1)/(κ+1) = 0.818 at the optimal step, and > 1 above 2/λ_max.
  * ``curvature_axes.png``: the Hessian's eigenvectors drawn on the level sets: the principal
    axes of the ellipses, the short one along the large eigenvalue.
  * ``taylor.png``: a function and its first/second-order Taylor models, plus the log-log
    error against ‖h‖ with fitted slopes ≈ 2 and ≈ 3.
  * ``stationary_points.png``: stationary points found by Newton's method on ∇f, labelled
    minimum / maximum / saddle / degenerate from the Hessian's eigenvalues.
"""

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import analysis


def _rotation(deg: float) -> np.ndarray:
  t = np.deg2rad(deg)
  return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


# Test functions of the stationary-point panel: (name, f, window).
FUNCTIONS = [
  ("x³ − 3xy + y³", lambda p: p[0] ** 3 - 3 * p[0] * p[1] + p[1] ** 3, (-1.5, 2.0)),
  ("x³ − 3x + y³ − 3y", lambda p: p[0] ** 3 - 3 * p[0] + p[1] ** 3 - 3 * p[1], (-2.0, 2.0)),
  ("x³ − 3xy² (monkey saddle)", lambda p: p[0] ** 3 - 3 * p[0] * p[1] ** 2, (-1.0, 1.0)),
]


def _taylor_target(p):
  return jnp.exp(0.5 * p[0]) * jnp.sin(p[1]) + 0.3 * p[0] ** 2


def _grid(lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray, jax.Array]:
  xs = np.linspace(lo, hi, n)
  gx, gy = np.meshgrid(xs, xs)
  return gx, gy, jnp.stack([gx.ravel(), gy.ravel()], axis=1)


def _gd_study(
  save: common.FigureSaver, num_steps: int, grid_size: int
) -> tuple[list[dict], list[str]]:
  plt = save.plt
  rot = _rotation(30.0)
  a = jnp.asarray(rot @ np.diag([1.0, 10.0]) @ rot.T)
  f = analysis.quadratic_function(a)
  eta_max = float(analysis.max_stable_learning_rate(a))
  eta_opt = float(analysis.optimal_learning_rate(a))
  kappa = float(analysis.condition_number(a))
  x0 = jnp.array([-3.0, 2.5])
  runs = [
    ("0.5 · 2/λmax", 0.5 * eta_max),
    ("optimal", eta_opt),
    ("0.98 · 2/λmax", 0.98 * eta_max),
    ("1.02 · 2/λmax", 1.02 * eta_max),
  ]
  rows, trajs = [], []
  for name, eta in runs:
    traj = np.asarray(analysis.gradient_descent(f, x0, eta, num_steps))
    dist = np.linalg.norm(traj, axis=1)  # The minimizer is the origin.
    tail = dist[num_steps // 2 :]
    measured = float(np.exp(np.mean(np.diff(np.log(tail))))) if np.all(tail > 0) else 0.0
    rows.append(
      {
        "run": name,
        "learning_rate": eta,
        "predicted_factor": float(analysis.contraction_factor(a, eta)),
        "measured_factor": measured,
        "final_distance": float(dist[-1]),
        "converged": bool(measured < 1.0 and dist[-1] < dist[0]),
      }
    )
    trajs.append(traj)

  gx, gy, pts = _grid(-4.0, 4.0, grid_size)
  z = np.asarray(jax.vmap(f)(pts)).reshape(gx.shape)
  fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
  for ax, (name, eta), traj, row in zip(axes, runs, trajs, rows, strict=True):
    ax.contour(gx, gy, z, levels=20, cmap="viridis")
    shown = traj[np.all(np.abs(traj) < 4.0, axis=1)]
    ax.plot(shown[:, 0], shown[:, 1], "r.-", markersize=3, linewidth=0.8)
    ax.plot(*x0, "ks")
    ax.set_title(
      f"η = {name} = {eta:.3f}\nfactor {row['measured_factor']:.3f} "
      f"({'converges' if row['converged'] else 'diverges'})",
      fontsize=9,
    )
    ax.set_aspect("equal")
  fig.suptitle(
    f"GD on ½xᵀAx, λ = 1, 10 (κ = {kappa:.0f}); 2/λmax = {eta_max:.3f}, "
    f"(κ−1)/(κ+1) = {(kappa - 1) / (kappa + 1):.3f}"
  )
  paths = [save(fig, "gd_quadratic.png")]

  lam, vecs = analysis.eig(a)
  fig, ax = plt.subplots(figsize=(5.5, 5))
  ax.contour(gx, gy, z, levels=[0.5, 2, 4.5, 8, 12.5], cmap="viridis")
  for i in range(2):
    v = np.asarray(vecs[:, i]) * 2.0 / np.sqrt(float(lam[i]))  # Semi-axis of the level f = 2.
    ax.annotate("", xy=v, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "C3"})
    ax.text(*(1.1 * v), f"λ = {float(lam[i]):.0f}", color="C3")
  ax.set_aspect("equal")
  ax.set_title("Hessian eigenvectors = principal curvature axes")
  paths.append(save(fig, "curvature_axes.png"))
  return rows, paths


def _taylor_study(save: common.FigureSaver, grid_size: int) -> tuple[dict[int, float], str]:
  plt = save.plt
  x0 = jnp.array([0.3, 0.8])
  models = {k: analysis.taylor_approx(_taylor_target, x0, k) for k in (1, 2)}
  direction = jnp.array([0.6, -0.8])
  scales = np.geomspace(1e-3, 0.3, 12)
  errors = {
    k: np.array(
      [
        abs(float(models[k](x0 + t * direction) - _taylor_target(x0 + t * direction)))
        for t in scales
      ]
    )
    for k in (1, 2)
  }
  slopes = {k: float(np.polyfit(np.log(scales), np.log(errors[k]), 1)[0]) for k in (1, 2)}

  gx, gy, pts = _grid(-1.0, 1.6, grid_size // 2)
  fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
  for ax, (title, fn) in zip(
    axes[:3],
    [("f", _taylor_target), ("first order", models[1]), ("second order", models[2])],
    strict=True,
  ):
    z = np.asarray(jax.vmap(fn)(pts)).reshape(gx.shape)
    cs = ax.contourf(gx, gy, z, levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax)
    ax.plot(*np.asarray(x0), "r*", markersize=10)
    ax.set_title(title)
  for k in (1, 2):
    axes[3].loglog(scales, errors[k], "o-", label=f"order {k}: slope {slopes[k]:.2f}")
  axes[3].set_xlabel("‖h‖")
  axes[3].set_ylabel("|f(x0+h) − model|")
  axes[3].legend()
  fig.suptitle("Taylor models of exp(x/2)·sin(y) + 0.3x² around (0.3, 0.8)")
  return slopes, save(fig, "taylor.png")


def _stationary_study(save: common.FigureSaver, grid_size: int) -> tuple[list[dict], str]:
  plt = save.plt
  rows = []
  fig, axes = plt.subplots(1, len(FUNCTIONS), figsize=(6 * len(FUNCTIONS), 5))
  markers = {"minimum": "bo", "maximum": "r^", "saddle": "gX", "degenerate": "ks"}
  for ax, (name, f, (lo, hi)) in zip(axes, FUNCTIONS, strict=True):
    starts = np.stack(np.meshgrid(np.linspace(lo, hi, 5), np.linspace(lo, hi, 5)), -1)
    points = analysis.stationary_points(f, jnp.asarray(starts.reshape(-1, 2)), num_steps=60)
    gx, gy, _ = _grid(lo, hi, grid_size // 2)
    z = f(np.stack([gx, gy]))  # The cubics are polynomials: evaluate the grid in NumPy.
    ax.contour(gx, gy, z, levels=30, cmap="viridis", linewidths=0.7)
    for p in np.asarray(points):
      kind = analysis.classify_stationary_point(f, jnp.asarray(p))
      lam = np.linalg.eigvalsh(np.asarray(analysis.hessian(f, jnp.asarray(p))))
      value = float(f(np.asarray(p)))  # The test functions also work on NumPy arrays.
      p = np.round(p, 6) + 0.0
      rows.append(
        {
          "function": name,
          "point": tuple(float(c) for c in p),
          "value": value,
          "eigenvalues": tuple(float(v) for v in lam),
          "type": kind,
        }
      )
      ax.plot(p[0], p[1], markers[kind], markersize=9)
      ax.annotate(kind, p, textcoords="offset points", xytext=(6, 6))
    ax.set_title(name)
    ax.set_aspect("equal")
  fig.suptitle("Stationary points (Newton on ∇f), labelled by Hessian eigenvalues")
  return rows, save(fig, "stationary_points.png")


def run(workdir: str, *, num_steps: int = 60, grid_size: int = 200) -> dict[str, Any]:
  """Runs the three studies in float64, writes the plots and ``results.json``; returns them.

  Args:
    workdir: output directory (created if needed).
    num_steps: GD steps per learning rate (>= 4).
    grid_size: contour-grid resolution (>= 10).

  Returns:
    ``{"gd": [...], "taylor_slopes": {1: s1, 2: s2}, "stationary": [...], "plots": [...]}``.
  """
  if num_steps < 4 or grid_size < 10:
    raise ValueError(f"need num_steps >= 4 and grid_size >= 10, got {num_steps}, {grid_size}.")
  save = common.FigureSaver(workdir, common.pyplot(), dpi=90)

  os.makedirs(workdir, exist_ok=True)
  with jax.enable_x64(True):
    gd_rows, plots = _gd_study(save, num_steps, grid_size)
    slopes, taylor_plot = _taylor_study(save, grid_size)
    stationary, stationary_plot = _stationary_study(save, grid_size)
  results = {
    "gd": gd_rows,
    "taylor_slopes": slopes,
    "stationary": stationary,
    "plots": plots + [taylor_plot, stationary_plot],
  }
  common.write_json(workdir, results)
  return results


def format_table(out: dict[str, Any]) -> str:
  """The numbers of :func:`run` as plain-text tables."""
  lines = [
    f"{'run':>15} {'eta':>8} {'predicted':>10} {'measured':>10} {'final dist':>11} converged"
  ]
  for r in out["gd"]:
    lines.append(
      f"{r['run']:>15} {r['learning_rate']:8.4f} {r['predicted_factor']:10.4f} "
      f"{r['measured_factor']:10.4f} {r['final_distance']:11.3e} {r['converged']}"
    )
  lines += [
    "",
    f"Taylor error slopes: order 1 -> {out['taylor_slopes'][1]:.3f} (expect 2), "
    f"order 2 -> {out['taylor_slopes'][2]:.3f} (expect 3)",
    "",
    f"{'function':>28} {'point':>18} {'f':>8} {'eigenvalues':>22} type",
  ]
  for r in out["stationary"]:
    pt = "(" + ", ".join(f"{c:.3f}" for c in r["point"]) + ")"
    lam = "(" + ", ".join(f"{v:.3f}" for v in r["eigenvalues"]) + ")"
    lines.append(f"{r['function']:>28} {pt:>18} {r['value']:8.3f} {lam:>22} {r['type']}")
  return "\n".join(lines)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/calculus")
