"""Sharpness against 2/η during full-batch gradient descent: the edge of stability.

On a quadratic, GD converges iff η < 2/λ_max (course chapter 3). At network scale the analogue
of λ_max is the *sharpness*, the top eigenvalue of the training loss's Hessian, computed here
with Lanczos on Hessian-vector products (never forming the Hessian). Cohen et al. (2021)
observed that under full-batch GD the sharpness first rises ("progressive sharpening") until
it reaches 2/η and then hovers there ("edge of stability") while the loss keeps decreasing
non-monotonically.

Command:
  python -m experiments.curvature --workdir=runs/curvature

Defaults: 500 ``digits`` training images, an MLP with two tanh hidden layers of 64 (8970
parameters), the squared loss on one-hot targets, η ∈ {0.25, 0.5, 0.75}, 8000 steps each,
sharpness every 100 steps. Expected: for η = 0.5 and 0.75 the sharpness climbs (0.5) or
drops (0.75) to about 2/η and stays there (ratio ≈ 1); for η = 0.25 it rises but stays below
2/η = 8. Writes ``sharpness.png`` (sharpness with dashed 2/η lines, and the loss) and
``spectrum.png`` (stochastic-Lanczos-quadrature density of the final Hessian of the middle
run) and ``results.json`` (the table's numbers and the sharpness/loss histories).
"""

import os
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import analysis, losses
from jaxnets import data as jdata
from jaxnets.models import get_model


def rbg_key(seed: int, *fold: int) -> jax.Array:
  """PRNG keys of the "rbg" generator: statistically fine here and several times faster to
  compile on CPU than the default threefry (init and every Lanczos start vector use them)."""
  key = jax.random.key(seed, impl="rbg")
  for f in fold:
    key = jax.random.fold_in(key, f)
  return key


def make_loss(model, loss: str, num_classes: int):
  if loss == "squared":

    def loss_fn(params, batch):
      out = model.apply({"params": params}, batch["x"])
      return losses.squared_loss(out, losses.one_hot(batch["y"], num_classes)).mean()
  elif loss == "cross_entropy":

    def loss_fn(params, batch):
      return losses.softmax_cross_entropy(
        model.apply({"params": params}, batch["x"]), batch["y"]
      ).mean()
  else:
    raise ValueError(f"Unknown loss {loss!r}; valid: 'squared', 'cross_entropy'.")
  return loss_fn


def run(
  workdir: str,
  *,
  dataset: str = "digits",
  num_examples: int = 500,
  hidden: Sequence[int] = (64, 64),
  activation: str = "tanh",
  loss: str = "squared",
  learning_rates: Sequence[float] = (0.25, 0.5, 0.75),
  num_steps: int = 8000,
  eval_every: int = 100,
  lanczos_iters: int = 20,
  slq_probes: int = 4,
  slq_iters: int = 60,
  seed: int = 0,
) -> dict[str, Any]:
  """Trains one network per learning rate with full-batch GD, tracking sharpness vs 2/η.

  Writes the two plots and ``results.json`` (the returned dict) into ``workdir``.

  Args:
    workdir: output directory (created if needed).
    dataset: embedded classification dataset name.
    num_examples: size of the full batch (first examples of the training split).
    hidden: MLP hidden widths.
    activation: MLP activation.
    loss: ``"squared"`` (on one-hot targets) or ``"cross_entropy"``.
    learning_rates: step sizes η, one run each from the same initialization.
    num_steps: GD steps per run (a multiple of ``eval_every``).
    eval_every: steps between sharpness measurements.
    lanczos_iters: Lanczos iterations per measurement.
    slq_probes: SLQ probes for the final spectrum of the middle run.
    slq_iters: Lanczos iterations per SLQ probe.
    seed: initialization seed.

  Returns:
    ``{"runs": [per-η summary], "history": {η: {...}}, "num_params": int,
    "final_trace": float (SLQ estimate of tr H after the middle run), "seconds": float,
    "plots": [...]}``.
  """
  if num_examples <= 0 or num_steps <= 0 or eval_every <= 0 or num_steps % eval_every:
    raise ValueError(
      f"need positive num_examples, num_steps, eval_every with num_steps a "
      f"multiple of eval_every; got {num_examples}, {num_steps}, {eval_every}."
    )
  if not learning_rates or any(not lr > 0 for lr in learning_rates):
    raise ValueError(f"learning_rates must be positive, got {learning_rates}.")
  plt = common.pyplot()

  start = time.time()
  os.makedirs(workdir, exist_ok=True)
  train = jdata.load(dataset, "train")
  num_classes = jdata.num_classes(dataset)
  if num_classes is None:
    raise ValueError(f"dataset {dataset!r} is not a classification dataset.")
  n = min(num_examples, len(train["y"]))
  batch = {"x": jnp.asarray(train["x"][:n]), "y": jnp.asarray(train["y"][:n])}
  model = get_model("mlp", hidden=tuple(hidden), num_classes=num_classes, activation=activation)
  params0 = jax.jit(model.init)(rbg_key(seed), batch["x"][:1])["params"]
  loss_fn = make_loss(model, loss, num_classes)
  num_params = int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params0)))

  @jax.jit
  def gd_chunk(params, lr, num_steps):
    def body(_, p):
      g = jax.grad(loss_fn)(p, batch)
      return jax.tree_util.tree_map(lambda w, d: w - lr * d, p, g)

    params = jax.lax.fori_loop(0, num_steps, body, params)
    logits = model.apply({"params": params}, batch["x"])
    return params, loss_fn(params, batch), losses.accuracy(logits, batch["y"])

  def sharpness(params, step):
    top = analysis.top_eigenvalues(
      loss_fn,
      params,
      1,
      rbg_key(seed, step),
      data=batch,
      num_iters=min(lanczos_iters, num_params),
      tol=0.05,
      early_stop=False,  # Fixed steps, as the recorded results were computed.
    )
    return float(top.eigenvalues[0]), float(top.residuals[0])

  history, runs, final_params = {}, [], {}
  for lr in learning_rates:
    params = params0
    _, initial_loss, _ = gd_chunk(params0, jnp.float32(lr), 0)  # Zero steps: evaluate only.
    steps, sharp, loss_curve, residuals = [0], [], [float(initial_loss)], []
    s, r = sharpness(params0, 0)
    sharp.append(s)
    residuals.append(r)
    acc, diverged = float("nan"), False
    for k in range(num_steps // eval_every):
      params, value, acc = gd_chunk(params, jnp.float32(lr), eval_every)
      value, acc = float(value), float(acc)
      if not np.isfinite(value) or value > 1e6:
        diverged = True
        break
      steps.append((k + 1) * eval_every)
      loss_curve.append(value)
      s, r = sharpness(params, k + 1)
      sharp.append(s)
      residuals.append(r)
    final_params[lr] = params
    sharp_arr = np.array(sharp)
    late = sharp_arr[-max(1, len(sharp_arr) // 4) :]
    history[lr] = {"step": steps, "sharpness": sharp, "loss": loss_curve}
    runs.append(
      {
        "learning_rate": lr,
        "two_over_lr": 2.0 / lr,
        "initial_sharpness": sharp[0],
        "max_sharpness": float(sharp_arr.max()),
        "final_sharpness": float(np.median(late)),
        "final_ratio": float(np.median(late) * lr / 2.0),
        "final_loss": loss_curve[-1],
        "train_accuracy": acc,
        "diverged": diverged,
        "max_residual": float(np.max(residuals)),
      }
    )

  fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(13, 4.5))
  for i, lr in enumerate(learning_rates):
    h = history[lr]
    ax_s.plot(h["step"], h["sharpness"], color=f"C{i}", label=f"η = {lr:g}")
    ax_s.axhline(2.0 / lr, color=f"C{i}", linestyle="--", linewidth=1)
    ax_l.semilogy(h["step"], h["loss"], color=f"C{i}", label=f"η = {lr:g}")
  ax_s.set_xlabel("step")
  ax_s.set_ylabel("sharpness λ_max(∇²L)")
  ax_s.set_title("sharpness (solid) vs 2/η (dashed)")
  ax_s.legend()
  ax_l.set_xlabel("step")
  ax_l.set_ylabel("training loss")
  ax_l.set_title(f"full-batch GD, {n} {dataset} examples, {num_params} params")
  ax_l.legend()
  plots = [
    common.FigureSaver(workdir, plt, dpi=90)(fig, "sharpness.png"),
    os.path.join(workdir, "spectrum.png"),
  ]

  mid = learning_rates[len(learning_rates) // 2]
  density = analysis.spectral_density(
    loss_fn,
    final_params[mid],
    rbg_key(seed, 1_000_002),
    num_probes=slq_probes,
    num_iters=min(slq_iters, num_params),
    data=batch,
  )
  analysis.plot_spectral_density(
    density, plots[1], title=f"Hessian spectrum after GD with η = {mid:g} (SLQ)"
  )
  # SLQ's mean is an unbiased estimate of tr(H)/n: each probe's Σ_j w_j θ_j equals vᵀHv.
  trace = float(jnp.mean(jnp.sum(density.nodes * density.weights, axis=1))) * num_params
  results = {
    "runs": runs,
    "history": history,
    "num_params": num_params,
    "final_trace": trace,
    "seconds": time.time() - start,
    "plots": plots,
  }
  common.write_json(workdir, results)
  return results


def format_table(out: dict[str, Any]) -> str:
  """The numbers of :func:`run` as a plain-text table."""
  lines = [
    f"{out['num_params']} parameters; {out['seconds']:.1f} s",
    f"{'eta':>6} {'2/eta':>7} {'initial':>8} {'max':>8} {'final':>8} {'final·η/2':>10} "
    f"{'loss':>9} {'acc':>6} diverged",
  ]
  for r in out["runs"]:
    lines.append(
      f"{r['learning_rate']:6.3g} {r['two_over_lr']:7.3f} {r['initial_sharpness']:8.3f} "
      f"{r['max_sharpness']:8.3f} {r['final_sharpness']:8.3f} {r['final_ratio']:10.3f} "
      f"{r['final_loss']:9.2e} {r['train_accuracy']:6.3f} {r['diverged']}"
    )
  lines.append(
    f"\nHessian trace after the middle run (SLQ mean x #params): {out['final_trace']:.2f}"
  )
  return "\n".join(lines)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/curvature")
