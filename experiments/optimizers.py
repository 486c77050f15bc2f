r"""Course 8.2–8.3: the optimization algorithms compared, on 2-D functions and on real data.

All six optimizers are jaxnets' from-scratch transforms (``impl="scratch"``, checked against
Optax in ``tests/optim``) with the course's defaults (``convention="course"``: ε = 1e-6, and
AdaGrad's accumulator starting at 0; see ``docs/optimizers.md``).

1. **2-D test functions** — an ill-conditioned quadratic :math:`0.1x_1^2 + 2x_2^2`, the
   Rosenbrock function :math:`(1-x_1)^2 + 100(x_2-x_1^2)^2` and a saddle
   :math:`x_1^2/2 + x_2^4/4 - x_2^2/2` (saddle at 0, minima at :math:`(0, \pm1)`), started
   just off the saddle. Each optimizer runs at every learning rate of a log grid at once
   (``jax.vmap`` over rates, ``lax.scan`` over steps) and is shown at the rate that ends
   lowest (mean log gap f − f* over the last quarter of the steps); trajectories are drawn
   on contour plots at that rate, or, where its path zigzags across the plot, at a
   straighter rate that still makes progress (:func:`shown_rate`; the legend names both).
2. **A real task** — an MLP on the embedded ``digits`` data. For every optimizer one engine
   sweep (``jaxnets.train.train_sweep``, one vmapped program) trains |rates| × |seeds| models
   (5 × 4 = 20 by default); the table gives, at the
   rate with the lowest final training loss, the training loss, train and test accuracy
   (mean ± std over seeds), the steps to reach a target training loss, and the time per
   step. Loss-vs-step and loss-vs-wall-clock curves and the final loss and test accuracy
   against the learning rate are plotted. Optimization (training loss) and learning (test
   accuracy) need not pick the same rate or rank the optimizers the same way
   (``lr_sensitivity.png``).

Run:
  python -m experiments.optimizers --workdir=runs/optimizers

Writes ``trajectories.png``, ``loss_vs_step.png``, ``loss_vs_time.png``,
``lr_sensitivity.png`` and ``results.json`` into the workdir and prints the tables.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import data
from jaxnets import train as train_lib
from jaxnets.optim import SCRATCH_OPTIMIZERS, get_optimizer, set_hyperparameters

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")


# ----------------------------------------------------------------------------------------------
# 1. Two-dimensional test functions.


def ill_conditioned(x: jax.Array) -> jax.Array:
  """:math:`0.1 x_1^2 + 2 x_2^2`: curvatures 0.2 and 4 (condition number 20)."""
  return 0.1 * x[0] ** 2 + 2.0 * x[1] ** 2


def rosenbrock(x: jax.Array) -> jax.Array:
  """:math:`(1 - x_1)^2 + 100 (x_2 - x_1^2)^2`, a curved valley with its minimum at (1, 1)."""
  return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def saddle(x: jax.Array) -> jax.Array:
  """:math:`x_1^2/2 + x_2^4/4 - x_2^2/2`: a saddle at 0, minima −1/4 at (0, ±1)."""
  return 0.5 * x[0] ** 2 + 0.25 * x[1] ** 4 - 0.5 * x[1] ** 2


# name: (function, start, minimum value, plot box (x0, x1, y0, y1))
FUNCTIONS: dict[
  str,
  tuple[
    Callable[[jax.Array], jax.Array], tuple[float, float], float, tuple[float, float, float, float]
  ],
] = {
  "ill-conditioned quadratic": (ill_conditioned, (-5.0, -2.0), 0.0, (-5.5, 1.5, -3.0, 3.0)),
  "rosenbrock": (rosenbrock, (-1.5, 2.0), 0.0, (-2.0, 2.0, -1.0, 3.0)),
  "saddle": (saddle, (1.5, 1e-3), -0.25, (-2.0, 2.0, -1.6, 1.6)),
}
LR_GRID_2D = tuple(float(v) for v in np.logspace(-3, 1, 9))


def trajectories(
  opt_name: str, learning_rates: Sequence[float], steps: int, *, impl: str = "scratch"
) -> dict[str, np.ndarray]:
  """Runs one optimizer on every 2-D function at every learning rate (one compiled program).

  Returns:
    ``{function name: f32[len(learning_rates), steps + 1, 2]}`` iterates (start included).
  """
  tx = get_optimizer(opt_name, 1.0, impl=impl, convention="course")

  def run_one(f, x0, lr):
    state = set_hyperparameters(tx.init(x0), learning_rate=lr)

    def body(carry, _):
      x, s = carry
      updates, s = tx.update(jax.grad(f)(x), s, x)
      x = x + updates
      return (x, s), x

    _, xs = jax.lax.scan(body, (x0, state), None, length=steps)
    return jnp.concatenate([x0[None], xs])

  @jax.jit
  def run_all(lrs):
    return {
      name: jax.vmap(lambda lr, f=f, x0=x0: run_one(f, jnp.asarray(x0, jnp.float32), lr))(lrs)
      for name, (f, x0, _, _) in FUNCTIONS.items()
    }

  out = run_all(jnp.asarray(learning_rates, jnp.float32))
  return {k: np.asarray(v) for k, v in out.items()}


def _first_below(values: np.ndarray, target: float) -> int | None:
  hits = np.nonzero(values <= target)[0]
  return int(hits[0]) if hits.size else None


def zigzag(path: np.ndarray) -> float:
  """How much a 2-D trajectory doubles back: its length over the distance start → end.

  Example:
    >>> zigzag(np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]))
    1.0
    >>> zigzag(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])) > 1.4
    True
  """
  steps = np.linalg.norm(np.diff(path, axis=0), axis=-1)
  net = float(np.linalg.norm(path[-1] - path[0]))
  return float(np.sum(steps)) / max(net, 1e-12)


ZIGZAG_LIMIT = 3.0  # A path longer than this many times its start → end distance zigzags.
SHOWN_PROGRESS = 0.25  # The share of the best rate's progress a drawn rate must make.


def shown_rate(paths: np.ndarray, score: np.ndarray, start: float, box: Sequence[float]) -> int:
  """The rate whose trajectory shows a method's character: the straightest good one.

  The lowest-loss rate is drawn when its path stays inside the plot ``box`` and does not
  zigzag (:func:`zigzag` at most :data:`ZIGZAG_LIMIT`). Otherwise (on Rosenbrock, RMSProp
  and Adam at their best rates zigzag across the whole plot and AdaDelta paints a band),
  among the rates that stay inside the box and make at least :data:`SHOWN_PROGRESS` of the
  best rate's progress (orders of magnitude of f − f* gained from the start), the one whose
  path doubles back least; the best rate when none qualifies.

  Args:
    paths: ``f32[rates, steps + 1, 2]`` trajectories.
    score: ``[rates]`` mean log10 gap over the last quarter (inf: diverged).
    start: log10 gap at the start.
    box: ``(x0, x1, y0, y1)``.

  Example:
    >>> line = np.linspace([0.0, 0.0], [1.0, 0.0], 5)
    >>> zig = line + np.array([0.0, 2.0]) * (np.arange(5) % 2)[:, None]
    >>> shown_rate(np.stack([zig, line]), np.array([-3.0, -2.0]), 0.0, (-1, 2, -1, 3))
    1
  """
  best = int(np.argmin(score))
  x0, x1, y0, y1 = box
  inside = lambda p: np.all((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))
  if inside(paths[best]) and zigzag(paths[best]) <= ZIGZAG_LIMIT:
    return best
  needed = start - SHOWN_PROGRESS * (start - score[best])
  candidates = [
    i
    for i in range(len(score))
    if np.isfinite(score[i]) and score[i] <= needed and inside(paths[i])
  ]
  if not candidates:
    return best
  return min(candidates, key=lambda i: (zigzag(paths[i]), score[i]))


def compare_2d(
  optimizers: Sequence[str], steps: int, learning_rates: Sequence[float] = LR_GRID_2D
) -> dict[str, Any]:
  """Best-rate numbers, and the trajectory drawn (:func:`shown_rate`), per (function, optimizer)."""
  out: dict[str, Any] = {name: {} for name in FUNCTIONS}
  for opt in optimizers:
    paths = trajectories(opt, learning_rates, steps)
    for name, (f, _, f_min, _) in FUNCTIONS.items():
      values = np.asarray(jax.vmap(jax.vmap(f))(jnp.asarray(paths[name])))  # [rates, steps+1]
      finite = np.all(np.isfinite(values), axis=1)
      final = np.where(finite, values[:, -1], np.inf)
      # Score: mean log gap over the last quarter of the steps (robust to a lucky last step).
      tail = values[:, -max(1, steps // 4) :] - f_min
      score = np.where(finite, np.mean(np.log10(np.maximum(tail, 0) + 1e-12), axis=1), np.inf)
      best = int(np.argmin(score))
      start = float(np.log10(max(values[0, 0] - f_min, 0.0) + 1e-12))
      shown = shown_rate(paths[name], score, start, box=FUNCTIONS[name][3])
      curve = values[best]
      out[name][opt] = {
        "learning_rate": float(learning_rates[best]),
        "final_value": float(curve[-1]),
        "final_gap": float(curve[-1] - f_min),
        "steps_to_1e-3": _first_below(curve - f_min, 1e-3),
        "path": paths[name][best].tolist(),
        "shown_learning_rate": float(learning_rates[shown]),
        "shown_path": paths[name][shown].tolist(),
        "diverged_rates": [
          float(r) for r, v in zip(learning_rates, final, strict=True) if not math.isfinite(v)
        ],
      }
  return out


# ----------------------------------------------------------------------------------------------
# 2. The real task: vmapped sweeps over learning rates and seeds.

LR_GRIDS: dict[str, tuple[float, ...]] = {
  "sgd": (0.03, 0.1, 0.3, 1.0, 3.0),
  "momentum": (0.01, 0.03, 0.1, 0.3, 1.0),
  "adagrad": (0.01, 0.03, 0.1, 0.3, 1.0),
  "rmsprop": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
  "adadelta": (0.3, 1.0, 3.0, 10.0, 30.0),
  "adam": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
}


def steps_to_target(losses: np.ndarray, steps_per_epoch: int, target: float) -> int | None:
  """First step at the end of an epoch whose mean minibatch loss is ≤ ``target``.

  Example:
    >>> steps_to_target(np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1]), 2, 0.8)
    4
  """
  epoch_means = (
    losses[: len(losses) // steps_per_epoch * steps_per_epoch].reshape(-1, steps_per_epoch).mean(1)
  )
  epoch = _first_below(epoch_means, target)
  return None if epoch is None else (epoch + 1) * steps_per_epoch


def compare_training(
  optimizers: Sequence[str],
  *,
  dataset: str,
  epochs: int,
  batch_size: int,
  hidden: int,
  seeds: Sequence[int],
  target_loss: float,
  lr_grids: Mapping[str, Sequence[float]] = LR_GRIDS,
) -> dict[str, Any]:
  """One vmapped sweep (rates × seeds) per optimizer on ``dataset``; the numbers per optimizer."""
  out: dict[str, Any] = {}
  for opt in optimizers:
    rates = np.asarray(lr_grids[opt], np.float32)
    config = common.engine_config(
      dataset=dataset,
      optimizer={"name": opt, "learning_rate": float(rates[0])},
      optimizer_impl="scratch",
      batch_size=batch_size,
      num_epochs=epochs,
      model={"name": "mlp", "hidden": (hidden,), "num_classes": data.num_classes(dataset)},
    )
    members = train_lib.grid(**{"optimizer.learning_rate": rates.tolist()}, seed=list(seeds))
    result = train_lib.train_sweep(config, members)
    lrs = rates.repeat(len(seeds))
    losses = result.step_loss
    times = np.cumsum(result.epoch_seconds)
    train_metrics = {k: result.history[f"train_eval_{k}"][:, -1] for k in ("loss", "accuracy")}
    test_metrics = {"accuracy": result.history["test_accuracy"][:, -1]}
    final_loss = np.where(np.isfinite(train_metrics["loss"]), train_metrics["loss"], np.inf)
    per_rate = final_loss.reshape(len(rates), len(seeds)).mean(1)
    best = int(np.argmin(per_rate))
    members = slice(best * len(seeds), (best + 1) * len(seeds))
    spe = losses.shape[1] // epochs
    hits = [steps_to_target(losses[i], spe, target_loss) for i in range(*members.indices(len(lrs)))]
    out[opt] = {
      "learning_rate": float(rates[best]),
      "train_loss": float(np.mean(train_metrics["loss"][members])),
      "train_loss_std": float(np.std(train_metrics["loss"][members])),
      "train_accuracy": float(np.mean(train_metrics["accuracy"][members])),
      "test_accuracy": float(np.mean(test_metrics["accuracy"][members])),
      "test_accuracy_std": float(np.std(test_metrics["accuracy"][members])),
      "steps_to_target": hits,
      "reached_target": int(sum(h is not None for h in hits)),
      "num_models": int(len(lrs)),
      "sweep_seconds": float(times[-1]),
      "compile_seconds": float(result.compile_seconds),
      "ms_per_step": 1e3 * float(times[-1]) / (epochs * spe),
      "epoch_times": [float(t) for t in times],
      "steps_per_epoch": spe,
      "curve": losses[members].mean(0).tolist(),  # Minibatch loss per step, mean over seeds.
      "rates": rates.tolist(),
      "final_loss_per_rate": per_rate.tolist(),
      "final_loss_per_rate_std": final_loss.reshape(len(rates), len(seeds)).std(1).tolist(),
      "test_accuracy_per_rate": test_metrics["accuracy"]
      .reshape(len(rates), len(seeds))
      .mean(1)
      .tolist(),
    }
  return out


# ----------------------------------------------------------------------------------------------
# Plots, tables and the driver.


def _plot(workdir: str, two_d: dict, task: dict, dataset: str) -> list[str]:
  plt = common.pyplot()
  save = common.FigureSaver(workdir, plt)
  paths = save.paths

  fig, axes = plt.subplots(1, len(FUNCTIONS), figsize=(5.2 * len(FUNCTIONS), 4.4))
  for ax, (name, (f, x0, _, box)) in zip(axes, FUNCTIONS.items(), strict=True):
    g1, g2 = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
    z = np.asarray(jax.vmap(f, in_axes=1)(jnp.stack([g1.ravel(), g2.ravel()]))).reshape(g1.shape)
    levels = np.unique(np.quantile(z, np.linspace(0.0, 0.95, 25)))
    ax.contour(g1, g2, z, levels=levels, colors="lightgray", linewidths=0.7)
    for opt, res in two_d[name].items():
      path = np.asarray(res["shown_path"])
      rate, best = res["shown_learning_rate"], res["learning_rate"]
      note = "" if rate == best else f"; best {best:.3g}"
      ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=f"{opt} η={rate:.3g}{note}")
    ax.plot(*x0, "k*", ms=9)
    ax.set(title=name, xlim=box[:2], ylim=box[2:], xlabel="x1", ylabel="x2")
    ax.legend(fontsize=7, loc="lower right")
  fig.suptitle(
    "Each optimizer at its lowest-loss rate (the table's) unless that path zigzags or leaves "
    f"the plot;\nthen at its straightest rate making ≥ {SHOWN_PROGRESS:.0%} of that rate's "
    "progress in log(f − f*) (legend: drawn η; best η if another)",
    fontsize=10,
  )
  save(fig, "trajectories.png")

  for name, xkey in (("loss_vs_step.png", "step"), ("loss_vs_time.png", "time")):
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for opt, res in task.items():
      curve = np.asarray(res["curve"])
      spe = res["steps_per_epoch"]
      epoch_means = curve.reshape(-1, spe).mean(1)
      if xkey == "step":
        ax.semilogy(np.arange(1, len(curve) + 1), curve, lw=0.6, alpha=0.35)
        ax.semilogy(
          np.arange(1, len(epoch_means) + 1) * spe,
          epoch_means,
          "-",
          color=ax.lines[-1].get_color(),
          label=f"{opt} (η={res['learning_rate']:g})",
        )
      else:
        ax.semilogy(
          res["epoch_times"], epoch_means, "o-", ms=3, label=f"{opt} (η={res['learning_rate']:g})"
        )
    ax.set(
      xlabel="step"
      if xkey == "step"
      else f"wall-clock s ({next(iter(task.values()))['num_models']} models trained together)",
      ylabel="training loss (minibatch; lines: epoch means)",
      title=f"{dataset} MLP",
    )
    ax.legend(fontsize=8)
    save(fig, name)

  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
  for opt, res in task.items():
    ax0.errorbar(
      res["rates"],
      res["final_loss_per_rate"],
      yerr=res["final_loss_per_rate_std"],
      fmt="o-",
      ms=4,
      capsize=3,
      label=opt,
    )
    ax1.plot(res["rates"], res["test_accuracy_per_rate"], "o-", ms=4, label=opt)
  ax0.set(
    xscale="log",
    yscale="log",
    xlabel="learning rate",
    ylabel="final training loss (mean ± std over seeds)",
    title="Optimization",
  )
  ax1.set(
    xscale="log", xlabel="learning rate", ylabel="test accuracy (mean over seeds)", title="Learning"
  )
  ax0.legend(fontsize=8)
  save(fig, "lr_sensitivity.png")
  return paths


def format_table(results: Mapping[str, Any]) -> str:
  """The 2-D and real-task tables as text."""
  lines = [
    f"2-D functions ({results['steps_2d']} steps, each optimizer at its best rate of "
    f"{len(LR_GRID_2D)} from {LR_GRID_2D[0]:g} to {LR_GRID_2D[-1]:g}: lowest mean "
    f"log(f - f*) over the last quarter)",
    "function                   optimizer  best lr   final f       f - f*      steps to f-f*<1e-3",
  ]
  for name, rows in results["two_d"].items():
    for opt, r in rows.items():
      hit = "-" if r["steps_to_1e-3"] is None else str(r["steps_to_1e-3"])
      lines.append(
        f"{name:<26} {opt:<10} {r['learning_rate']:<9.3g} "
        f"{r['final_value']:<13.4g} {r['final_gap']:<11.3g} {hit}"
      )
  task = results["task"]
  first = next(iter(task.values()))
  lines += [
    "",
    f"{results['dataset']} MLP({results['hidden']}), {results['epochs']} epochs of "
    f"batch {results['batch_size']}; {first['num_models']} models per optimizer "
    f"({len(first['rates'])} rates x {len(results['seeds'])} seeds) in one vmapped "
    f"program; best rate by final training loss; target loss "
    f"{results['target_loss']:g}",
    "optimizer  best lr   train loss          train acc  test acc            "
    "steps to target (reached)  ms/step (all models)",
  ]
  for opt, r in task.items():
    hits = [h for h in r["steps_to_target"] if h is not None]
    steps = f"{np.mean(hits):.0f}" if hits else "-"
    reached = f"{steps} ({r['reached_target']}/{len(r['steps_to_target'])})"
    lines.append(
      f"{opt:<10} {r['learning_rate']:<9.3g} "
      f"{r['train_loss']:.4f} ± {r['train_loss_std']:<8.4f}  "
      f"{r['train_accuracy']:<9.4f}  {r['test_accuracy']:.4f} ± "
      f"{r['test_accuracy_std']:<8.4f}  {reached:<26} {r['ms_per_step']:.2f}"
    )
  lines += ["", f"wall time {results['wall_time_s']:.1f} s"]
  return "\n".join(lines)


def run(
  workdir: str,
  *,
  optimizers: Sequence[str] = OPTIMIZERS,
  steps_2d: int = 200,
  dataset: str = "digits",
  epochs: int = 20,
  batch_size: int = 64,
  hidden: int = 64,
  seeds: Sequence[int] = (0, 1, 2, 3),
  target_loss: float = 0.1,
  lr_grids: Mapping[str, Sequence[float]] = LR_GRIDS,
) -> dict[str, Any]:
  """Runs both comparisons, writes the PNGs and ``results.json``, returns the numbers.

  Args:
    workdir: output directory (created if needed).
    optimizers: the optimizers compared.
    steps_2d: steps on each 2-D function.
    dataset: embedded classification data of the real task.
    epochs: training epochs of the real task.
    batch_size: batch size of the real task.
    hidden: width of the MLP's hidden layer.
    seeds: seeds per learning rate.
    target_loss: training loss whose first crossing is reported.
    lr_grids: learning rates tried per optimizer on the real task.
  """
  unknown = [o for o in optimizers if o not in SCRATCH_OPTIMIZERS]
  if unknown or not optimizers:
    raise ValueError(f"Unknown optimizers {unknown}; valid: {sorted(SCRATCH_OPTIMIZERS)}.")
  if min(steps_2d, epochs, batch_size, hidden) <= 0 or not seeds:
    raise ValueError(
      "steps_2d, epochs, batch_size and hidden must be positive and seeds non-empty."
    )
  if data.num_classes(dataset) is None:
    raise ValueError(f"dataset must be a classification set, got {dataset!r}.")
  if not target_loss > 0:
    raise ValueError(f"target_loss must be positive, got {target_loss}.")
  os.makedirs(workdir, exist_ok=True)
  start = time.perf_counter()
  two_d = compare_2d(optimizers, steps_2d)
  task = compare_training(
    optimizers,
    dataset=dataset,
    epochs=epochs,
    batch_size=batch_size,
    hidden=hidden,
    seeds=seeds,
    target_loss=target_loss,
    lr_grids=lr_grids,
  )
  results = {
    "two_d": two_d,
    "task": task,
    "steps_2d": steps_2d,
    "dataset": dataset,
    "epochs": epochs,
    "batch_size": batch_size,
    "hidden": hidden,
    "seeds": list(seeds),
    "target_loss": target_loss,
  }
  results["plots"] = _plot(workdir, two_d, task, dataset)
  results["wall_time_s"] = time.perf_counter() - start
  common.write_json(workdir, results, indent=None)
  return results


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/optimizers")
