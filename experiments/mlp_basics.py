r"""Course 5.1 and 5.3: activation functions, and the weaknesses of plain MLP training.

Five small experiments on embedded data:

1. **Activations** sigmoid, ReLU, tanh and their derivatives, the derivatives computed with
   ``jax.vmap(jax.grad(f))`` and checked against the closed forms
   σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU' = [x > 0].
2. **Learning-rate sensitivity**: a 2-hidden-layer ReLU MLP on ``digits`` trained by SGD with
   learning rates spanning four orders of magnitude. Too small barely moves, too large
   diverges.
3. **Slow convergence**: the same MLP, same initial weights, with sigmoid, tanh and ReLU at
   one learning rate; steps until the training loss first drops below a threshold.

   Runs 2 and 3 train through the engine (``jaxnets.train.train_sweep``: the learning rates
   of run 2 are one vmapped program); the curves are the whole training set's loss after
   every epoch.
4. **Local minima**: XOR with a 2-2-1 sigmoid net and squared loss, trained by full-batch
   gradient descent with the hand-written backprop of :mod:`jaxnets.models.scratch`, from
   many seeds (``vmap`` over seeds). Some seeds stop at a loss well above zero with a
   near-zero gradient: a stationary point that is not the solution (a local minimum, or a
   plateau too flat to leave within the step budget — the plot shows others that sit on
   such a plateau for thousands of steps before escaping).
5. **Vanishing gradients**: per-layer gradient norms of a deep MLP at initialization;
   with sigmoid they shrink by orders of magnitude towards the input.

Run:
  python -m experiments.mlp_basics --workdir=runs/mlp_basics

Writes ``activations.png``, ``lr_sensitivity.png``, ``convergence.png``, ``xor_seeds.png``,
``vanishing_gradients.png`` and ``results.json`` into the workdir and prints a table.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import data, losses
from jaxnets import train as train_lib
from jaxnets.models import get_model, scratch
from jaxnets.models.mlp import ACTIVATIONS

CLOSED_FORM_DERIVATIVES = {
  "relu": lambda x: (x > 0).astype(x.dtype),
  "sigmoid": lambda x: jax.nn.sigmoid(x) * (1 - jax.nn.sigmoid(x)),
  "tanh": lambda x: 1 - jnp.tanh(x) ** 2,
}
XOR_X = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = jnp.array([[0.0], [1.0], [1.0], [0.0]])

# ----------------------------------------------------------------------------------------------
# 1. Activations.


def activations(x: jax.Array) -> dict[str, dict[str, Any]]:
  """Values and ``vmap(grad)`` derivatives of every activation on the grid ``x``."""

  @jax.jit
  def evaluate(x):
    return {
      name: (fn(x), jax.vmap(jax.grad(fn))(x), CLOSED_FORM_DERIVATIVES[name](x))
      for name, fn in ACTIVATIONS.items()
    }

  out = {}
  for name, (value, derivative, closed_form) in evaluate(x).items():
    value, derivative = np.asarray(value), np.asarray(derivative)
    out[name] = {
      "value": value,
      "derivative": derivative,
      "max_error_vs_closed_form": float(np.max(np.abs(derivative - np.asarray(closed_form)))),
      "max_derivative": float(np.max(derivative)),
      # Share of the grid where the unit barely passes gradient (|f'| < 0.01).
      "saturated_fraction": float(np.mean(np.abs(derivative) < 0.01)),
    }
  return out


# ----------------------------------------------------------------------------------------------
# 2-3. SGD on digits.


ACTIVATION_NAMES = ("sigmoid", "tanh", "relu")  # Index order for mlp_apply.


def init_params(
  seed: int, num_inputs: int, hidden: Sequence[int], num_classes: int = 10
) -> dict[str, dict[str, jax.Array]]:
  """Parameters shaped like ``MLP(hidden, num_classes).init(...)["params"]``.

  LeCun-normal kernels (variance 1/fan_in, Flax's default scale, untruncated) and zero
  biases, drawn with numpy so that nothing needs compiling.
  """
  rng = np.random.default_rng(seed)
  sizes = [num_inputs, *hidden, num_classes]
  return {
    f"Dense_{i}": {
      "kernel": jnp.asarray(rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in), jnp.float32),
      "bias": jnp.zeros(fan_out, jnp.float32),
    }
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
  }


def mlp_apply(params: Any, x: jax.Array, activation_index: jax.Array) -> jax.Array:
  """The forward pass of :class:`jaxnets.models.MLP` with the activation picked by an index.

  ``ACTIVATION_NAMES[activation_index]`` is applied after every hidden layer (``lax.switch``),
  so runs with different activations can be ``vmap``-ed into one compiled program. Equal to
  ``MLP(activation=name).apply`` (a test checks it).
  """
  branches = [ACTIVATIONS[name] for name in ACTIVATION_NAMES]
  h = x.reshape((x.shape[0], -1))
  depth = len(params)
  for i in range(depth):
    layer = params[f"Dense_{i}"]
    h = h @ layer["kernel"] + layer["bias"]
    if i < depth - 1:
      h = jax.lax.switch(activation_index, branches, h)
  return h


def sgd_curves(
  train: dict,
  test: dict,
  activation: str,
  learning_rates: Sequence[float],
  *,
  hidden: int,
  epochs: int,
  batch_size: int,
  seed: int,
) -> dict[str, np.ndarray]:
  """Trains the ``hidden``-``hidden`` MLP with SGD once per learning rate, through the engine.

  All runs start from the same weights (one seed) and see the same minibatches; they are
  one vmapped sweep (:func:`jaxnets.train.train_sweep`).

  Returns:
    ``curves: f32[runs, 1 + epochs]``: the whole training set's loss at the start and after
    every epoch; ``test_accuracy: f32[runs]`` at the end; ``steps_per_epoch``.
  """
  model = {"name": "mlp", "hidden": (hidden, hidden), "num_classes": 10, "activation": activation}
  config = common.engine_config(
    task="classification",
    model=model,
    optimizer={"name": "sgd", "learning_rate": 0.1},
    batch_size=batch_size,
    num_epochs=epochs,
    seed=seed,
  )
  members = [{"optimizer.learning_rate": float(lr)} for lr in learning_rates]
  result = train_lib.train_sweep(config, members, data={"train": train, "test": test})
  # The loss before training: the members' shared initial weights (the engine's init key).
  module = get_model(**model)
  x, y = jnp.asarray(train["x"]), jnp.asarray(train["y"])
  params = module.init({"params": train_lib.run_keys(seed)[0]}, x[:1])
  initial = float(losses.softmax_cross_entropy(module.apply(params, x), y).mean())
  curves = result.history["train_eval_loss"]
  return {
    "curves": np.concatenate([np.full((len(members), 1), initial, np.float32), curves], axis=1),
    "test_accuracy": result.history["test_accuracy"][:, -1],
    "steps_per_epoch": result.step_loss.shape[1] // epochs,
  }


def steps_to_reach(curve: np.ndarray, threshold: float, eval_every: int) -> int | None:
  """First step count at which the recorded loss is below ``threshold`` (None: never)."""
  below = np.flatnonzero(np.asarray(curve) < threshold)  # curve[i]: loss after i * eval_every.
  return int(below[0] * eval_every) if below.size else None


# ----------------------------------------------------------------------------------------------
# 4. XOR from many seeds.


def xor_seeds(
  key: jax.Array, num_seeds: int, steps: int, lr: float, init_scale: float = 1.0
) -> dict[str, np.ndarray]:
  """Full-batch gradient descent on XOR (2-2-1 sigmoid net, hand-written backprop) per seed.

  Returns:
    ``curves: f32[num_seeds, steps]`` (loss after each step), ``final_loss``,
    ``grad_norm`` (gradient norm at the end) and ``outputs: f32[num_seeds, 4]``.
  """

  def one(k):
    params = scratch.init_mlp(k, 2, 2, 1, scale=init_scale)

    def step(p, _):
      g = scratch.mlp_backward(p, XOR_X, XOR_T)
      p = {name: p[name] - lr * g[name] for name in p}
      return p, scratch.mlp_loss(p, XOR_X, XOR_T)

    params, curve = jax.lax.scan(step, params, None, length=steps)
    g = scratch.mlp_backward(params, XOR_X, XOR_T)
    grad_norm = jnp.sqrt(sum(jnp.sum(jnp.square(v)) for v in g.values()))
    return curve, grad_norm, scratch.mlp_forward(params, XOR_X)[0][:, 0]

  curves, grad_norm, outputs = jax.jit(jax.vmap(one))(jax.random.split(key, num_seeds))
  curves = np.asarray(curves)
  return {
    "curves": curves,
    "final_loss": curves[:, -1],
    "grad_norm": np.asarray(grad_norm),
    "outputs": np.asarray(outputs),
  }


# ----------------------------------------------------------------------------------------------
# 5. Vanishing gradients.


def layer_gradient_norms(params: Any, x: jax.Array, y: jax.Array) -> dict[str, np.ndarray]:
  """‖∂L/∂W_l‖ of every hidden layer (input side first) for each activation, same weights."""
  depth = len(params) - 1

  def norms(act):
    grads = jax.grad(lambda p: losses.softmax_cross_entropy(mlp_apply(p, x, act), y).mean())(params)
    return jnp.stack([jnp.linalg.norm(grads[f"Dense_{i}"]["kernel"]) for i in range(depth)])

  out = np.asarray(jax.jit(jax.vmap(norms))(jnp.arange(len(ACTIVATION_NAMES))))
  return dict(zip(ACTIVATION_NAMES, out, strict=True))


# ----------------------------------------------------------------------------------------------
# Plots and the driver.


def _plot(
  workdir: str,
  results: dict[str, Any],
  grid: np.ndarray,
  acts: dict,
  lr_curves: np.ndarray,
  conv_curves: dict,
  xor: dict,
  grad_norms: dict,
  eval_every: int,
) -> list[str]:
  plt = common.pyplot()
  save = common.FigureSaver(workdir, plt)
  paths = save.paths

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
  for name, a in acts.items():
    ax1.plot(grid, np.asarray(a["value"]), label=name)
    ax2.plot(grid, np.asarray(a["derivative"]), label=f"{name}'")
  ax1.set_title("activations")
  ax2.set_title("derivatives (jax.vmap(jax.grad(f)))")
  for ax in (ax1, ax2):
    ax.axhline(0, color="gray", lw=0.5)
    ax.legend()
    ax.set_xlabel("x")
  save(fig, "activations.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  steps = eval_every * np.arange(lr_curves.shape[1])
  for lr, curve in zip(results["lr_sensitivity"]["learning_rates"], lr_curves, strict=True):
    finite = np.where(np.isfinite(curve), curve, np.nan)
    ax.plot(steps, finite, label=f"lr={lr:g}")
  ax.set_yscale("log")
  ax.set_xlabel("SGD step")
  ax.set_ylabel("training loss (digits)")
  ax.set_title("learning-rate sensitivity")
  ax.legend()
  save(fig, "lr_sensitivity.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  for name, curve in conv_curves.items():
    ax.plot(steps[: len(curve)], curve, label=name)
  ax.axhline(results["convergence"]["threshold"], color="gray", ls="--", lw=0.8)
  ax.set_yscale("log")
  ax.set_xlabel("SGD step")
  ax.set_ylabel("training loss (digits)")
  ax.set_title(f"convergence at lr={results['convergence']['learning_rate']:g}")
  ax.legend()
  save(fig, "convergence.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  solved = xor["final_loss"] < results["xor"]["solved_below"]
  for curve, ok in zip(xor["curves"], solved, strict=True):
    ax.plot(curve, color="tab:green" if ok else "tab:red", alpha=0.4, lw=0.8)
  ax.set_yscale("log")
  ax.set_xlabel("gradient-descent step")
  ax.set_ylabel("loss")
  ax.set_title(f"XOR from {len(solved)} seeds: green solved, red stuck")
  save(fig, "xor_seeds.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  for name, norms in grad_norms.items():
    ax.semilogy(np.arange(1, len(norms) + 1), norms, marker="o", label=name)
  ax.set_xlabel("hidden layer (1 = next to the input)")
  ax.set_ylabel("‖∂L/∂W‖ at initialization")
  ax.set_title(f"gradient norms, {len(next(iter(grad_norms.values())))}-hidden-layer MLP")
  ax.legend()
  save(fig, "vanishing_gradients.png")
  return paths


def run(
  workdir: str,
  *,
  epochs: int = 68,
  batch_size: int = 64,
  learning_rates: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0),
  convergence_lr: float = 0.1,
  convergence_threshold: float = 0.3,
  hidden: int = 64,
  xor_steps: int = 5000,
  xor_seeds_count: int = 64,
  xor_lr: float = 2.0,
  depth: int = 10,
  width: int = 32,
  seed: int = 0,
) -> dict[str, Any]:
  """Runs all experiments, writes the PNGs and ``results.json``, returns the numbers.

  Args:
    workdir: output directory (created if needed).
    epochs: SGD epochs (22 steps each) of the learning-rate and convergence runs.
    batch_size: examples per SGD step.
    learning_rates: the rates of the sensitivity study (ReLU MLP).
    convergence_lr: the one rate at which the activations are compared.
    convergence_threshold: training loss whose first crossing is reported.
    hidden: width of both hidden layers of the trained MLPs.
    xor_steps: gradient-descent steps per XOR seed.
    xor_seeds_count: number of XOR initializations.
    xor_lr: learning rate of the XOR runs.
    depth: hidden layers of the vanishing-gradient MLP.
    width: width of the vanishing-gradient MLP.
    seed: base seed.
  """
  if min(epochs, batch_size, hidden, xor_steps, xor_seeds_count, depth, width) <= 0:
    sizes = (epochs, batch_size, hidden, xor_steps, xor_seeds_count, depth, width)
    raise ValueError(
      f"epochs, batch_size, hidden, xor_steps, xor_seeds_count, depth and width must be "
      f"positive, got {sizes}."
    )
  if min(learning_rates) <= 0 or convergence_lr <= 0 or xor_lr <= 0:
    raise ValueError(
      f"Learning rates must be positive, got {learning_rates}, {convergence_lr}, {xor_lr}."
    )
  os.makedirs(workdir, exist_ok=True)
  train, test = data.load("digits", "train"), data.load("digits", "test")
  results: dict[str, Any] = {}

  grid = np.linspace(-8, 8, 401, dtype=np.float32)
  curves_of = activations(jnp.asarray(grid))
  results["activations"] = {
    name: {k: v for k, v in a.items() if k not in ("value", "derivative")}
    for name, a in curves_of.items()
  }

  num_inputs = int(np.prod(train["x"].shape[1:]))
  common_args = dict(hidden=hidden, epochs=epochs, batch_size=batch_size, seed=seed)
  # ReLU at every learning rate (one sweep), then each activation at convergence_lr.
  lr_out = sgd_curves(train, test, "relu", learning_rates, **common_args)
  conv_out = {
    a: sgd_curves(train, test, a, [convergence_lr], **common_args) for a in ACTIVATION_NAMES
  }
  eval_every = lr_out["steps_per_epoch"]
  out = {
    "curves": np.concatenate([lr_out["curves"]] + [o["curves"] for o in conv_out.values()]),
    "test_accuracy": np.concatenate(
      [lr_out["test_accuracy"]] + [o["test_accuracy"] for o in conv_out.values()]
    ),
  }
  n_lr = len(learning_rates)
  lr_curves = out["curves"][:n_lr]
  results["lr_sensitivity"] = {
    "learning_rates": [float(v) for v in learning_rates],
    "initial_train_loss": float(lr_curves[0, 0]),
    "final_train_loss": [float(v) for v in lr_curves[:, -1]],
    "test_accuracy": [float(v) for v in out["test_accuracy"][:n_lr]],
    # Diverged: the loss became inf/NaN or ended above where it started.
    "diverged": [bool(not np.all(np.isfinite(c)) or c[-1] > c[0]) for c in lr_curves],
  }
  conv_curves = dict(zip(ACTIVATION_NAMES, out["curves"][n_lr:], strict=True))
  conv = {
    name: {
      "steps_to_threshold": steps_to_reach(curve, convergence_threshold, eval_every),
      "final_train_loss": float(curve[-1]),
      "test_accuracy": float(acc),
    }
    for (name, curve), acc in zip(conv_curves.items(), out["test_accuracy"][n_lr:], strict=True)
  }
  results["convergence"] = {
    "learning_rate": convergence_lr,
    "threshold": convergence_threshold,
    "steps": epochs * eval_every,
    "hidden": [hidden, hidden],
    **conv,
  }

  xor = xor_seeds(jax.random.key(seed), xor_seeds_count, xor_steps, xor_lr)
  solved_below = 0.01
  stuck = xor["final_loss"] >= solved_below
  results["xor"] = {
    "seeds": xor_seeds_count,
    "steps": xor_steps,
    "learning_rate": xor_lr,
    "solved_below": solved_below,
    "solved_fraction": float(np.mean(~stuck)),
    "stuck_losses": sorted(float(v) for v in xor["final_loss"][stuck]),
    "stuck_max_grad_norm": float(xor["grad_norm"][stuck].max()) if stuck.any() else None,
    "solved_max_loss": float(xor["final_loss"][~stuck].max()) if (~stuck).any() else None,
    # Loss change over the last 10 % of steps: ~0 for a seed stuck at a stationary point.
    "stuck_last_tenth_change": (
      float(
        np.max(np.abs(xor["curves"][stuck, -1] - xor["curves"][stuck, -max(1, xor_steps // 10)]))
      )
      if stuck.any()
      else None
    ),
  }

  x_deep, y_deep = jnp.asarray(train["x"][:256]), jnp.asarray(train["y"][:256])
  deep = init_params(seed + 1, num_inputs, (width,) * depth)
  grad_norms = layer_gradient_norms(deep, x_deep, y_deep)
  results["vanishing_gradients"] = {
    "depth": depth,
    "width": width,
    **{
      name: {
        "layer_grad_norms": [float(v) for v in norms],
        "first_over_last": float(norms[0] / norms[-1]),
      }
      for name, norms in grad_norms.items()
    },
  }

  results["plots"] = _plot(
    workdir, results, grid, curves_of, lr_curves, conv_curves, xor, grad_norms, eval_every
  )
  common.write_json(workdir, results)
  return results


def format_table(results: dict[str, Any]) -> str:
  """The numbers of :func:`run` as plain-text tables."""
  lines = ["activation  max f'   |f'|<0.01 share  max |vmap(grad) - closed form|"]
  for name, a in results["activations"].items():
    lines.append(
      f"{name:<10}  {a['max_derivative']:<7.4f}  {a['saturated_fraction']:<15.3f}  "
      f"{a['max_error_vs_closed_form']:.2e}"
    )
  lr = results["lr_sensitivity"]
  lines += ["", "learning rate  final train loss  test acc  diverged"]
  for v, loss, acc, div in zip(
    lr["learning_rates"], lr["final_train_loss"], lr["test_accuracy"], lr["diverged"], strict=True
  ):
    lines.append(f"{v:<13g}  {loss:<16.4f}  {acc:<8.4f}  {div}")
  conv = results["convergence"]
  lines += [
    "",
    f"activation  steps to loss<{conv['threshold']:g} (lr={conv['learning_rate']:g}, "
    f"{conv['steps']} steps)  final loss  test acc",
  ]
  for name in ("sigmoid", "tanh", "relu"):
    c = conv[name]
    reached = c["steps_to_threshold"] if c["steps_to_threshold"] is not None else "never"
    lines.append(
      f"{name:<10}  {str(reached):<40}  {c['final_train_loss']:<10.4f}  {c['test_accuracy']:.4f}"
    )
  xor = results["xor"]
  fmt = lambda v: "n/a" if v is None else f"{v:.2e}"
  lines += [
    "",
    f"XOR 2-2-1 sigmoid, {xor['seeds']} seeds x {xor['steps']} steps, "
    f"lr={xor['learning_rate']:g}: solved (loss < {xor['solved_below']:g}) "
    f"{xor['solved_fraction']:.3f}",
    f"  stuck seeds' final losses {[round(v, 4) for v in xor['stuck_losses']]}",
    f"  their largest final gradient norm {fmt(xor['stuck_max_grad_norm'])}, largest "
    f"loss change over the last 10% of steps {fmt(xor['stuck_last_tenth_change'])}",
  ]
  vg = results["vanishing_gradients"]
  lines += ["", f"activation  ‖∂L/∂W‖ layer 1 / layer {vg['depth']} at init (width {vg['width']})"]
  for name in ("sigmoid", "tanh", "relu"):
    lines.append(f"{name:<10}  {vg[name]['first_over_last']:.3e}")
  return "\n".join(lines)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/mlp_basics")
