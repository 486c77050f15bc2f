r"""Course 7.5–7.6: vanishing and exploding gradients, and their remedies.

Two experiments on the embedded ``digits`` data (inputs standardized with the training mean
and standard deviation — input normalization is the first remedy):

1. **Per-layer gradient norms at initialization** of a deep MLP
   (:class:`jaxnets.models.deep.DeepMLP`, 20 hidden layers of width 128 by default): the norm
   of ∂L/∂W for every hidden layer and the output layer, and the standard deviation of every
   layer's pre-activation, for sigmoid, tanh and ReLU under a too-small and a too-large normal
   initialization and under Xavier (``xavier_normal``) and Kaiming (``kaiming_normal``) from
   :mod:`jaxnets.nn.init`; plus the sigmoid/Xavier net with BatchNorm and with residual
   connections. The spread max/min of the norms across layers tells balanced from vanishing
   or exploding: ReLU + Kaiming stays within an order of magnitude, sigmoid + a small init
   vanishes by many orders towards the input.
2. **Training a deep network**: the same depth with sigmoid and Xavier initialization, trained
   by SGD with momentum — plain, with BatchNorm (from scratch, :class:`jaxnets.nn.layers.BatchNorm`)
   and with residual connections, through the training engine (`jaxnets.train.train_sweep`).
   The plain net stays at chance level; both remedies train.

Run:
  python -m experiments.stability --workdir=runs/stability

Writes ``gradient_norms.png``, ``activation_std.png``, ``remedies.png`` and ``results.json``
into the workdir and prints tables.
"""

from __future__ import annotations

import functools
import math
import os
import time
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import data, losses
from jaxnets import train as train_lib
from jaxnets.models.deep import DeepMLP

SMALL_STD, LARGE_STD = 0.01, 0.5  # The "too small" and "too large" N(0, σ²) initializations.
BALANCED_SPREAD = 10.0  # max/min norm across layers within one order of magnitude.


def init_configs(
  small_std: float = SMALL_STD, large_std: float = LARGE_STD
) -> dict[str, dict[str, Any]]:
  """The compared networks: activation × initialization, then two remedies (DeepMLP kwargs)."""
  configs = {}
  for act in ("sigmoid", "tanh", "relu"):
    configs[f"{act} N(0,{small_std:g}²)"] = dict(
      activation=act, kernel_init="normal", init_std=small_std
    )
    configs[f"{act} N(0,{large_std:g}²)"] = dict(
      activation=act, kernel_init="normal", init_std=large_std
    )
    configs[f"{act} xavier"] = dict(activation=act, kernel_init="xavier_normal")
    configs[f"{act} kaiming"] = dict(activation=act, kernel_init="kaiming_normal")
  configs["sigmoid xavier + batchnorm"] = dict(
    activation="sigmoid", kernel_init="xavier_normal", batch_norm=True
  )
  configs["sigmoid xavier + residual"] = dict(
    activation="sigmoid", kernel_init="xavier_normal", residual=True
  )
  return configs


def _safe_norm(x: jax.Array) -> jax.Array:
  """‖x‖₂ without underflow: squares of values near 1e-20 would flush to zero in float32."""
  scale = jnp.max(jnp.abs(x))
  safe = jnp.where(scale > 0, scale, 1.0)
  return jnp.where(scale > 0, safe * jnp.linalg.norm(x / safe), 0.0)


def layer_statistics(
  model: DeepMLP, x: jax.Array, y: jax.Array, key: jax.Array
) -> dict[str, np.ndarray]:
  """Per-layer ‖∂L/∂W‖ (hidden layers input side first, then the head) and pre-activation std.

  The loss is the mean cross-entropy on the batch ``(x, y)`` at initialization; BatchNorm
  nets use batch statistics (training mode), as in their first training step.
  """
  variables = model.init(key, x[:1])
  # The initializer only matters for ``init``: networks that differ in it alone share one
  # compiled gradient function.
  apply_model = model.clone(kernel_init="lecun_normal", init_std=0.01)
  norms, stds = _layer_statistics(apply_model, variables, x, y)
  return {"grad_norms": np.asarray(norms, np.float64), "pre_activation_std": np.asarray(stds)}


@functools.partial(jax.jit, static_argnums=0)
def _layer_statistics(
  model: DeepMLP, variables: Any, x: jax.Array, y: jax.Array
) -> tuple[jax.Array, jax.Array]:
  names = [f"layer_{i}" for i in range(model.depth)] + ["head"]

  def loss_fn(params):
    logits, state = model.apply(
      {**variables, "params": params},
      x,
      train=True,
      mutable=["batch_stats", "intermediates"],
      capture_intermediates=lambda mdl, _: mdl.name in names,
    )
    return losses.softmax_cross_entropy(logits, y).mean(), state["intermediates"]

  grads, inter = jax.grad(loss_fn, has_aux=True)(variables["params"])
  norms = jnp.stack([_safe_norm(grads[n]["kernel"]) for n in names])
  stds = jnp.stack([jnp.std(inter[n]["__call__"][0]) for n in names])
  return norms, stds


def verdict(norms: np.ndarray) -> tuple[float, str]:
  """``(spread, label)`` of per-layer gradient norms (input side first, output last).

  ``spread`` is max/min over the layers. Labels: ``balanced`` (spread within an order of
  magnitude, typical size between 1e-6 and 1e6); ``vanishing``/``exploding`` when the input
  side is more than three orders of magnitude below/above the output side; ``uneven`` for a
  larger spread that is not such a trend; ``(all layers)`` when every layer is uniformly tiny
  or huge.

  Example:
    >>> spread, label = verdict(np.array([1e-8, 1e-4, 1.0]))
    >>> f"{spread:.0e}", label
    ('1e+08', 'vanishing')
  """
  norms = np.asarray(norms, np.float64)
  if not np.all(np.isfinite(norms)):
    return math.inf, "exploding (non-finite)"
  lo, hi = float(np.min(norms)), float(np.max(norms))
  spread = hi / lo if lo > 0 else math.inf
  if spread > BALANCED_SPREAD:
    if norms[0] < 1e-3 * norms[-1]:
      return spread, "vanishing"
    if norms[0] > 1e3 * norms[-1]:
      return spread, "exploding"
    return spread, "uneven"
  median = float(np.median(norms))
  if median < 1e-6:
    return spread, "vanishing (all layers)"
  if median > 1e6:
    return spread, "exploding (all layers)"
  return spread, "balanced"


def train_curves(
  model: Mapping[str, Any],
  train: dict,
  test: dict,
  seed: int,
  *,
  epochs: int,
  lr: float,
  momentum: float = 0.9,
  batch_size: int = 64,
) -> np.ndarray:
  """SGD with momentum on cross-entropy through the engine (BatchNorm statistics included).

  Args:
    model: the network's model config (``deep_mlp`` fields).
    train: training split ``{"x": f32[n, d], "y": i32[n]}``.
    test: test split.
    seed: the run's seed (initialization and data order).
    epochs: training epochs.
    lr: learning rate.
    momentum: heavy-ball momentum.
    batch_size: examples per step.

  Returns:
    ``f32[epochs, 3]``: mean training loss over the epoch's steps, test loss and test
    accuracy (evaluation mode, running statistics) after each epoch.
  """
  config = common.engine_config(
    task="classification",
    model=dict(model),
    batch_size=batch_size,
    num_epochs=epochs,
    optimizer={"name": "momentum", "learning_rate": lr, "momentum": momentum},
    seed=seed,
    eval_train=False,
  )
  h = train_lib.train_sweep(config, [{}], data={"train": train, "test": test}).history
  return np.stack([h[k][0] for k in ("train_loss", "test_loss", "test_accuracy")], axis=1)


def _plot(workdir: str, grad: dict, remedy: dict, depth: int) -> list[str]:
  plt = common.pyplot()
  save = common.FigureSaver(workdir, plt)
  paths = save.paths

  layers = np.arange(1, depth + 2)  # Hidden layers 1..depth, then the head.
  groups = ["sigmoid", "tanh", "relu", "remedies"]
  for key, ylabel, fname in (
    ("grad_norms", "‖∂L/∂W‖ at initialization", "gradient_norms.png"),
    ("pre_activation_std", "pre-activation std", "activation_std.png"),
  ):
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), sharey=True, layout="constrained")
    axes = axes.ravel()
    for ax, group in zip(axes, groups, strict=True):
      for name, res in grad.items():
        in_group = (
          ("+" in name) if group == "remedies" else (name.startswith(group) and "+" not in name)
        )
        if in_group:
          values = np.maximum(np.asarray(res[key], np.float64), 1e-45)  # 0 = underflow.
          ax.semilogy(layers, values, "o-", ms=3, label=name)
      ax.set(title=group, xlabel=f"layer (1 = input side, {depth + 1} = output)")
      ax.grid(True, which="major", alpha=0.3)
      ax.legend(fontsize=8, loc="best")
    axes[0].set_ylabel(ylabel)
    axes[2].set_ylabel(ylabel)
    fig.suptitle(f"{ylabel} per layer of a {depth}-layer MLP (mean over initializations)")
    save(fig, fname)

  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
  for name, hist in remedy.items():
    epochs = np.arange(1, len(hist) + 1)
    ax0.plot(epochs, hist[:, 0], label=name)
    ax1.plot(epochs, hist[:, 2], label=name)
  ax0.set(
    xlabel="epoch",
    ylabel="training loss",
    yscale="log",
    title=f"{depth}-layer sigmoid MLP (Xavier init)",
  )
  ax1.set(xlabel="epoch", ylabel="test accuracy")
  ax0.legend(fontsize=8)
  save(fig, "remedies.png")
  return paths


def run(
  workdir: str,
  *,
  depth: int = 20,
  width: int = 128,
  train_width: int = 64,
  epochs: int = 30,
  learning_rate: float = 0.1,
  batch_size: int = 64,
  grad_batch: int = 256,
  num_inits: int = 5,
  seed: int = 0,
) -> dict[str, Any]:
  """Runs both experiments, writes the PNGs and ``results.json``, returns the numbers.

  Args:
    workdir: output directory (created if needed).
    depth: hidden layers of the deep MLPs.
    width: width of the gradient-norm MLP.
    train_width: width of the trained MLPs.
    epochs: training epochs of the remedy comparison.
    learning_rate: SGD (momentum 0.9) learning rate of the remedy comparison.
    batch_size: examples per training step.
    grad_batch: examples in the batch of the gradient norms.
    num_inits: initializations averaged in the gradient norms.
    seed: base seed.
  """
  if min(depth, width, train_width, epochs, batch_size, grad_batch, num_inits) <= 0:
    raise ValueError(
      "depth, width, train_width, epochs, batch_size, grad_batch and num_inits must be positive."
    )
  if not learning_rate > 0:
    raise ValueError(f"learning_rate must be positive, got {learning_rate}.")
  os.makedirs(workdir, exist_ok=True)
  start = time.perf_counter()
  k_grad = jax.random.split(jax.random.key(seed))[0]  # The gradient-norm study's keys.
  train, test = data.load("digits", "train"), data.load("digits", "test")
  flat_tr = train["x"].reshape(len(train["x"]), -1)
  mean, std = flat_tr.mean(axis=0), flat_tr.std(axis=0) + 1e-6  # Input normalization.
  train = {"x": (flat_tr - mean) / std, "y": train["y"]}
  test = {"x": (test["x"].reshape(len(test["x"]), -1) - mean) / std, "y": test["y"]}

  x, y = jnp.asarray(train["x"][:grad_batch]), jnp.asarray(train["y"][:grad_batch])
  grad = {}
  init_keys = jax.random.split(k_grad, num_inits)
  for name, cfg in init_configs().items():
    # Mean over a few initializations: one draw of a finite-width net is noisy.
    runs = [layer_statistics(DeepMLP(depth=depth, width=width, **cfg), x, y, k) for k in init_keys]
    norms = np.mean([r["grad_norms"] for r in runs], axis=0)
    spread, label = verdict(norms)
    grad[name] = {
      "grad_norms": norms.tolist(),
      "pre_activation_std": np.mean([r["pre_activation_std"] for r in runs], axis=0).tolist(),
      "first_layer": float(norms[0]),
      "last_hidden": float(norms[depth - 1]),
      "head": float(norms[-1]),
      "spread": spread,
      "verdict": label,
      "per_init_spread": [verdict(r["grad_norms"])[0] for r in runs],
    }

  variants = {"plain": {}, "+ batchnorm": {"batch_norm": True}, "+ residual": {"residual": True}}
  trained = {
    "name": "deep_mlp",
    "depth": depth,
    "width": train_width,
    "activation": "sigmoid",
    "kernel_init": "xavier_normal",
  }
  remedy = {
    name: train_curves(
      dict(trained, **kw), train, test, seed, epochs=epochs, lr=learning_rate, batch_size=batch_size
    )
    for name, kw in variants.items()
  }

  results: dict[str, Any] = {
    "gradient_norms": {
      "depth": depth,
      "width": width,
      "batch": grad_batch,
      "num_inits": num_inits,
      "small_std": SMALL_STD,
      "large_std": LARGE_STD,
      **grad,
    },
    "remedies": {
      "depth": depth,
      "width": train_width,
      "epochs": epochs,
      "learning_rate": learning_rate,
      "activation": "sigmoid",
      "init": "xavier_normal",
      **{
        name: {
          "first_epoch_train_loss": float(h[0, 0]),
          "final_train_loss": float(h[-1, 0]),
          "final_test_loss": float(h[-1, 1]),
          "final_test_accuracy": float(h[-1, 2]),
          "best_test_accuracy": float(np.nanmax(h[:, 2])),
        }
        for name, h in remedy.items()
      },
    },
  }
  results["plots"] = _plot(workdir, grad, remedy, depth)
  results["wall_time_s"] = time.perf_counter() - start
  common.write_json(workdir, results)
  return results


def format_table(results: dict[str, Any]) -> str:
  """The numbers of :func:`run` as plain-text tables."""
  g, rm = results["gradient_norms"], results["remedies"]
  lines = [
    f"Gradient norms at init: {g['depth']} hidden layers x {g['width']}, batch "
    f"{g['batch']} of digits, mean over {g['num_inits']} initializations"
  ]
  lines += common.table(
    ["network", "layer 1", f"layer {g['depth']}", "head", "max/min", "worst init", "verdict"],
    [
      (
        name,
        r["first_layer"],
        r["last_hidden"],
        r["head"],
        r["spread"],
        max(r["per_init_spread"]),
        r["verdict"],
      )
      for name, r in g.items()
      if isinstance(r, dict)
    ],
    fmt=".2e",
  )
  lines += [
    "",
    f"Training a {rm['depth']}-layer {rm['activation']} MLP (width {rm['width']}, "
    f"{rm['init']}), SGD momentum lr={rm['learning_rate']:g}, {rm['epochs']} epochs",
  ]
  lines += common.table(
    ["variant", "epoch-1 train loss", "final train loss", "final test acc", "best test acc"],
    [
      (
        name,
        r["first_epoch_train_loss"],
        r["final_train_loss"],
        r["final_test_accuracy"],
        r["best_test_accuracy"],
      )
      for name, r in rm.items()
      if isinstance(r, dict)
    ],
  )
  return "\n".join(lines + ["", f"wall time {results['wall_time_s']:.1f} s"])


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/stability")
