r"""Course 7.1–7.4: training vs generalization error, weight decay, dropout, and what moves them.

Five experiments on embedded or generated data. The networks (4 and 5) train through the
engine, ``jaxnets.train.train_sweep`` (one vmapped program per sweep); the polynomial fits
(1–3), linear models by hand-written SGD, stay one jitted ``lax.scan`` vmapped over every
degree and training-set size, as the course writes them:

1. **Under- and overfitting** (``polynomial``: the course's cubic with 20 features xⁱ/i!). A
   linear model on the first k features, trained by minibatch SGD, for degree too low (k = 2),
   right (k = 4, the true cubic) and too high (k = 20): training and test loss per epoch.
2. **Model complexity**: final train/test loss against the degree (k = 1…20), for SGD and for
   the exact least-squares minimizer (float64 ``numpy.linalg.lstsq``): the training loss only
   falls with the degree, the test loss is U-shaped.
3. **Training-set size**: degree 3 vs degree 19 trained on the first n = 10…100 examples; the
   flexible model's test loss (and its train/test gap) shrinks as n grows.
4. **Weight decay** on the course's high-dimensional linear regression (200 features, 20
   training examples: y = 0.05 + Σ 0.01 xᵢ + ε): test loss against the decay strength λ. The
   engine decays with ``optax.add_decayed_weights(λ)``; the same runs written out from
   scratch with ``λ · l2_penalty(w)`` added to the loss agree with it to float precision.
5. **Dropout and the number of epochs** (``mnist1d`` MLP, 2 hidden layers): without dropout
   the network memorizes the training set and its test loss turns upward after a few epochs;
   with dropout (from scratch, :class:`jaxnets.nn.layers.Dropout`, and ``flax.linen.Dropout``)
   the train/test gap narrows.

Run:
  python -m experiments.generalization --workdir=runs/generalization

Writes ``poly_curves.png``, ``poly_complexity.png``, ``poly_train_size.png``,
``weight_decay.png``, ``dropout.png`` and ``results.json`` into the workdir and prints tables.
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets import data, losses
from jaxnets import train as train_lib
from jaxnets.models import get_model

POLY_CASES = {"underfit (degree 1)": 2, "right (degree 3)": 4, "overfit (degree 19)": 20}
POLY_N = 100  # Examples per polynomial split.


# ----------------------------------------------------------------------------------------------
# 1–3. Polynomial regression.


def _degree_masks(num_features: Sequence[int], total: int) -> jax.Array:
  """``f32[len(num_features), total]``: 1 for the first k features of each model, 0 after."""
  return jnp.stack([(jnp.arange(total) < k).astype(jnp.float32) for k in num_features])


def polynomial_sgd(
  train: dict,
  test: dict,
  masks: jax.Array,
  n_train: jax.Array,
  order: np.ndarray,
  *,
  lr: float = 0.01,
) -> dict[str, np.ndarray]:
  """Trains one linear model per (feature mask, training-set size) pair with minibatch SGD.

  Model ``ŷ = x (w ⊙ mask)`` (feature 0 is the constant 1, so no separate bias), zero
  initial weights, squared loss. Each epoch visits ``POLY_N`` examples: a shuffle of
  ``range(POLY_N)`` taken modulo ``n_train`` — one shuffled pass over the whole set when
  ``n_train = POLY_N``, an equal number of visits to each of the first ``n_train`` examples
  otherwise — so every model takes the same steps and one ``vmap`` runs them all.

  Args:
    train: training split (``x``: the 20 polynomial features).
    test: test split.
    masks: ``f32[m, d]`` feature masks, one per model.
    n_train: ``i32[m]`` training-set sizes (the first ``n_train`` examples).
    order: ``i32[epochs, steps, batch]`` shuffles of ``range(POLY_N)``
      (:func:`jaxnets.data.run_indices`).
    lr: SGD learning rate.

  Returns:
    ``{"w": f32[m, d], "train": f32[m, epochs], "test": f32[m, epochs]}`` with the losses
    after each epoch (the training loss on the first ``n_train`` examples only).
  """
  xtr, ytr = jnp.asarray(train["x"]), jnp.asarray(train["y"])
  xte, yte = jnp.asarray(test["x"]), jnp.asarray(test["y"])
  n_all, dim = xtr.shape

  def fit(mask, n):
    predict = lambda w, x: x @ (w * mask)[:, None]
    loss = lambda w, x, y: losses.squared_loss(predict(w, x), y).mean()
    in_train = (jnp.arange(n_all) < n)[:, None]

    def epoch(w, idx):
      w, _ = jax.lax.scan(
        lambda w, i: (w - lr * jax.grad(loss)(w, xtr[i], ytr[i]), None), w, idx % n
      )
      train_loss = jnp.sum(jnp.where(in_train, 0.5 * (predict(w, xtr) - ytr) ** 2, 0.0)) / n
      return w, (train_loss, loss(w, xte, yte))

    w, (tr, te) = jax.lax.scan(epoch, jnp.zeros(dim), jnp.asarray(order))
    return w, tr, te

  w, tr, te = jax.jit(jax.vmap(fit))(masks, n_train)
  return {"w": np.asarray(w), "train": np.asarray(tr), "test": np.asarray(te)}


def polynomial_least_squares(
  train: dict, test: dict, num_features: Sequence[int], n_train: int
) -> dict[str, list[float]]:
  """Exact least-squares fits (float64) on the first k features: the fully trained models."""
  xtr, ytr = train["x"][:n_train].astype(np.float64), train["y"][:n_train].astype(np.float64)
  xte, yte = test["x"].astype(np.float64), test["y"].astype(np.float64)
  out = {"train": [], "test": []}
  for k in num_features:
    scale = np.linalg.norm(xtr[:, :k], axis=0)  # Unit columns: far better conditioned.
    w, *_ = np.linalg.lstsq(xtr[:, :k] / scale, ytr, rcond=None)
    w = w / scale[:, None]
    out["train"].append(float(0.5 * np.mean((xtr[:, :k] @ w - ytr) ** 2)))
    out["test"].append(float(0.5 * np.mean((xte[:, :k] @ w - yte) ** 2)))
  return out


# ----------------------------------------------------------------------------------------------
# 4. Weight decay on a high-dimensional linear regression.


def high_dim_regression(
  n_train: int = 20, n_test: int = 100, num_inputs: int = 200, seed: int = 0
) -> tuple[dict, dict]:
  """The course's overfitting set: y = 0.05 + Σᵢ 0.01 xᵢ + ε, x ~ N(0, I), ε ~ N(0, 0.01²)."""
  rng = np.random.default_rng(seed)
  out = []
  for n in (n_train, n_test):
    x = rng.normal(size=(n, num_inputs)).astype(np.float32)
    y = 0.05 + 0.01 * x.sum(axis=1, keepdims=True) + rng.normal(scale=0.01, size=(n, 1))
    out.append({"x": x, "y": y.astype(np.float32)})
  return out[0], out[1]


def weight_decay_sweep(
  train: dict,
  test: dict,
  lambdas: Sequence[float],
  seed: int,
  *,
  epochs: int,
  lr: float = 0.003,
  batch_size: int = 5,
) -> dict[str, Any]:
  """Minibatch SGD on ``½(ŷ − y)²`` for every λ, with decay on the weights (not the bias).

  The engine trains one member per λ in one vmapped program
  (``optax.add_decayed_weights(λ)`` on the kernel, before ``optax.sgd``), from the course's
  initialization w ~ N(0, 1), b = 0. The decay is then written out from scratch — the loss
  ``½(ŷ − y)² + λ · l2_penalty(w)`` descended by hand on the same batches from the same
  start — and the two must agree to float precision: an L2 penalty is weight decay.

  Returns:
    Per-epoch ``train``/``test`` losses ``[len(lambdas), epochs]`` (whole splits), the
    from-scratch ``test_scratch`` losses, the final ``w_norm`` per λ, and ``max_abs_diff``: the
    largest difference between the final parameters of the two implementations.
  """
  config = common.engine_config(
    task="regression",
    model={"name": "linear", "init_std": 1.0},
    batch_size=batch_size,
    optimizer={"name": "sgd", "learning_rate": lr},
    num_epochs=epochs,
    seed=seed,
    weight_decay_params="kernels",
  )
  result = train_lib.train_sweep(
    config, [{"weight_decay": float(lam)} for lam in lambdas], data={"train": train, "test": test}
  )
  engine = result.state.params["Dense_0"]
  scratch = _l2_penalty_descent(
    train, test, lambdas, seed, epochs=epochs, lr=lr, batch_size=batch_size
  )
  diff = max(
    float(np.max(np.abs(np.asarray(engine[k]) - scratch["params"][k]))) for k in ("kernel", "bias")
  )
  return {
    "train": result.history["train_eval_loss"],
    "test": result.history["test_loss"],
    "test_scratch": scratch["test"],
    "w_norm": np.linalg.norm(np.asarray(engine["kernel"])[..., 0], axis=-1),
    "max_abs_diff": diff,
  }


def _l2_penalty_descent(
  train: dict,
  test: dict,
  lambdas: Sequence[float],
  seed: int,
  *,
  epochs: int,
  lr: float,
  batch_size: int,
) -> dict[str, np.ndarray]:
  """SGD on the data loss plus ``λ · l2_penalty(kernel)``, written out (one vmap over λ).

  The same initial parameters (the engine's for ``seed``) and the same batches
  (:func:`jaxnets.data.run_indices`) as the engine's sweep.
  """
  model = get_model("linear", init_std=1.0)
  x, y = jnp.asarray(train["x"]), jnp.asarray(train["y"])
  params0 = model.init({"params": train_lib.run_keys(seed)[0]}, x[:1])["params"]["Dense_0"]
  order = jnp.asarray(data.run_indices(seed, epochs, len(y), batch_size))

  def objective(p, lam, xb, yb):
    fit = losses.squared_loss(xb @ p["kernel"] + p["bias"], yb).mean()
    return fit + lam * losses.l2_penalty({"kernel": p["kernel"]})

  xte, yte = jnp.asarray(test["x"]), jnp.asarray(test["y"])

  def fit(lam):
    def step(p, idx):
      grads = jax.grad(objective)(p, lam, x[idx], y[idx])
      return jax.tree.map(lambda w, g: w - lr * g, p, grads), None

    def epoch(p, idx):
      p, _ = jax.lax.scan(step, p, idx)
      return p, losses.squared_loss(xte @ p["kernel"] + p["bias"], yte).mean()

    return jax.lax.scan(epoch, params0, order)

  params, test_loss = jax.jit(jax.vmap(fit))(jnp.asarray(lambdas, jnp.float32))
  return {"params": jax.tree.map(np.asarray, params), "test": np.asarray(test_loss)}


# ----------------------------------------------------------------------------------------------
# 5. Dropout (and the number of epochs).


def dropout_models(width: int, rate: float, num_classes: int) -> dict[str, dict[str, Any]]:
  """The compared MLPs (model configs): two ReLU hidden layers of ``width``, LeCun-normal."""
  deep = {
    "name": "deep_mlp",
    "depth": 2,
    "width": width,
    "num_classes": num_classes,
    "kernel_init": "lecun_normal",
  }
  return {
    "no dropout": deep,
    f"dropout {rate:g} (scratch)": dict(deep, dropout_rate=rate),
    f"dropout {rate:g} (flax)": {
      "name": "mlp",
      "hidden": (width, width),
      "num_classes": num_classes,
      "dropout_rate": rate,
    },
  }


def classifier_curves(
  model: Mapping[str, Any],
  train: dict,
  test: dict,
  seed: int,
  *,
  epochs: int,
  lr: float = 1e-3,
  batch_size: int = 100,
) -> np.ndarray:
  """Adam on cross-entropy through the engine; after each epoch, whole-split metrics.

  Inputs are standardized with the training statistics (``config.standardize``).

  Returns:
    ``f32[epochs, 4]``: train loss, train accuracy, test loss, test accuracy per epoch (in
    evaluation mode: no dropout).
  """
  config = common.engine_config(
    task="classification",
    model=dict(model),
    standardize=True,
    batch_size=batch_size,
    optimizer={"name": "adam", "learning_rate": lr},
    num_epochs=epochs,
    seed=seed,
  )
  h = train_lib.train_sweep(config, [{}], data={"train": train, "test": test}).history
  keys = ("train_eval_loss", "train_eval_accuracy", "test_loss", "test_accuracy")
  return np.stack([h[k][0] for k in keys], axis=1)


# ----------------------------------------------------------------------------------------------
# Plots and the driver.


def _plot(
  workdir: str, poly: dict, complexity: dict, sizes: dict, wd: dict, dropout: dict
) -> list[str]:
  plt = common.pyplot()
  save = common.FigureSaver(workdir, plt)
  paths = save.paths

  fig, axes = plt.subplots(1, len(poly), figsize=(4.2 * len(poly), 3.4), sharey=True)
  for ax, (name, curves) in zip(np.atleast_1d(axes), poly.items(), strict=True):
    epochs = np.arange(1, len(curves["train"]) + 1)
    ax.semilogy(epochs, curves["train"], label="train")
    ax.semilogy(epochs, curves["test"], label="test")
    ax.set(title=name, xlabel="epoch")
  np.atleast_1d(axes)[0].set_ylabel("squared loss")
  np.atleast_1d(axes)[0].legend()
  save(fig, "poly_curves.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  deg = complexity["degrees"]
  ax.semilogy(deg, complexity["sgd"]["train"], "o-", label="train (SGD)")
  ax.semilogy(deg, complexity["sgd"]["test"], "o-", label="test (SGD)")
  ax.semilogy(deg, complexity["exact"]["train"], "s--", label="train (exact least squares)")
  ax.semilogy(deg, complexity["exact"]["test"], "s--", label="test (exact least squares)")
  ax.axvline(3, color="gray", lw=0.8)
  ax.set(
    xlabel="polynomial degree",
    ylabel="squared loss",
    title=f"Model complexity (n_train = {complexity['n_train']})",
  )
  ax.legend(fontsize=8)
  save(fig, "poly_complexity.png")

  fig, ax = plt.subplots(figsize=(6, 4))
  for name, res in sizes["models"].items():
    (line,) = ax.loglog(sizes["n_train"], res["test"], "o-", label=f"test, {name}")
    ax.loglog(sizes["n_train"], res["train"], "o--", color=line.get_color(), label=f"train, {name}")
  ax.set(xlabel="training examples", ylabel="squared loss", title="Training-set size")
  ax.legend(fontsize=8)
  save(fig, "poly_train_size.png")

  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
  lams = wd["lambdas"]
  for i in sorted({0, int(np.argmin(wd["final_test"]))}):
    (line,) = ax0.semilogy(wd["train"][i], label=f"train, λ={lams[i]:g}")
    ax0.semilogy(wd["test"][i], "--", color=line.get_color(), label=f"test, λ={lams[i]:g}")
  ax0.set(xlabel="epoch", ylabel="squared loss", title="High-dimensional regression")
  ax0.legend(fontsize=8)
  ax1.semilogy(lams, wd["final_train"], "o-", label="train")
  ax1.semilogy(lams, wd["final_test"], "o-", label="test (engine: optax.add_decayed_weights)")
  ax1.semilogy(lams, wd["final_test_scratch"], "x", label="test (from scratch: l2_penalty)")
  ax1.set_xscale("symlog", linthresh=min(v for v in lams if v > 0) if any(lams) else 1.0)
  ax1.set(xlabel="weight decay λ", ylabel="final loss", title="Loss vs decay strength")
  ax1.legend(fontsize=8)
  save(fig, "weight_decay.png")

  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
  for name, hist in dropout["curves"].items():
    epochs = np.arange(1, len(hist) + 1)
    (line,) = ax0.plot(epochs, hist[:, 0], label=f"train, {name}")
    ax0.plot(epochs, hist[:, 2], "--", color=line.get_color(), label=f"test, {name}")
    ax1.plot(epochs, hist[:, 1], color=line.get_color(), label=f"train, {name}")
    ax1.plot(epochs, hist[:, 3], "--", color=line.get_color(), label=f"test, {name}")
  ax0.set(xlabel="epoch", ylabel="cross-entropy", title=f"{dropout['dataset']} MLP")
  ax1.set(xlabel="epoch", ylabel="accuracy")
  ax0.legend(fontsize=7)
  save(fig, "dropout.png")
  return paths


def run(
  workdir: str,
  *,
  poly_epochs: int = 1500,
  poly_sizes: Sequence[int] = (10, 20, 50, 100),
  wd_epochs: int = 100,
  wd_lambdas: Sequence[float] = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
  dropout_epochs: int = 100,
  dropout_width: int = 256,
  dropout_rate: float = 0.5,
  dropout_dataset: str = "mnist1d",
  seed: int = 0,
) -> dict[str, Any]:
  """Runs the five experiments, writes the PNGs and ``results.json``, returns the numbers.

  Args:
    workdir: output directory (created if needed).
    poly_epochs: SGD epochs of the polynomial fits.
    poly_sizes: training-set sizes of the size study (each must divide 100).
    wd_epochs: SGD epochs of the weight-decay regression.
    wd_lambdas: the decay strengths λ >= 0 compared.
    dropout_epochs: Adam epochs of the dropout MLPs.
    dropout_width: width of both hidden layers of the dropout MLPs.
    dropout_rate: dropout rate of the regularized MLPs, in (0, 1).
    dropout_dataset: embedded classification data of the dropout study.
    seed: seed of every run (initialization and data order).
  """
  if min(poly_epochs, wd_epochs, dropout_epochs, dropout_width) <= 0:
    raise ValueError("poly_epochs, wd_epochs, dropout_epochs and dropout_width must be positive.")
  if not poly_sizes or any(POLY_N % n or n <= 0 for n in poly_sizes):
    raise ValueError(
      f"poly_sizes must divide {POLY_N} (e.g. 10, 20, 25, 50, 100), got {tuple(poly_sizes)}."
    )
  if not wd_lambdas or min(wd_lambdas) < 0:
    raise ValueError(f"wd_lambdas must be non-empty and >= 0, got {tuple(wd_lambdas)}.")
  if not 0 < dropout_rate < 1:
    raise ValueError(f"dropout_rate must be in (0, 1), got {dropout_rate}.")
  if data.num_classes(dropout_dataset) is None:
    raise ValueError(f"dropout_dataset must be a classification set, got {dropout_dataset!r}.")
  os.makedirs(workdir, exist_ok=True)
  start = time.perf_counter()
  results: dict[str, Any] = {}

  # 1-3. Degree too low / right / too high, the whole degree sweep and the training-set
  # sizes: every polynomial model trained by SGD in one vmap (one compile).
  ptrain, ptest = data.load("polynomial", "train"), data.load("polynomial", "test")
  dim = ptrain["x"].shape[1]
  sweep_k = list(range(1, dim + 1))
  size_models = {"degree 3": 4, "degree 19": 20}
  size_k = [k for k in size_models.values() for _ in poly_sizes]
  fits = polynomial_sgd(
    ptrain,
    ptest,
    _degree_masks(sweep_k + size_k, dim),
    jnp.asarray([POLY_N] * len(sweep_k) + list(poly_sizes) * len(size_models)),
    data.run_indices(seed, poly_epochs, POLY_N, 10),
  )
  poly = {
    name: {"train": fits["train"][k - 1], "test": fits["test"][k - 1]}
    for name, k in POLY_CASES.items()
  }
  results["polynomial"] = {
    "epochs": poly_epochs,
    "n_train": POLY_N,
    "true_w": [5.0, 1.2, -3.4, 5.6],
    **{
      name: {
        "num_features": k,
        "final_train": float(fits["train"][k - 1, -1]),
        "final_test": float(fits["test"][k - 1, -1]),
        "best_test": float(fits["test"][k - 1].min()),
        "best_test_epoch": int(fits["test"][k - 1].argmin()) + 1,
        "w_first4": [round(float(v), 3) for v in fits["w"][k - 1, :4]],
      }
      for name, k in POLY_CASES.items()
    },
  }
  exact = polynomial_least_squares(ptrain, ptest, sweep_k, POLY_N)
  n_sweep = len(sweep_k)
  complexity = {
    "degrees": [k - 1 for k in sweep_k],
    "n_train": POLY_N,
    "sgd": {
      "train": fits["train"][:n_sweep, -1].tolist(),
      "test": fits["test"][:n_sweep, -1].tolist(),
    },
    "exact": exact,
  }
  results["complexity"] = complexity
  m = len(poly_sizes)
  sizes = {
    "n_train": list(poly_sizes),
    "epochs": poly_epochs,
    "models": {
      name: {
        "train": fits["train"][n_sweep + i * m : n_sweep + (i + 1) * m, -1].tolist(),
        "test": fits["test"][n_sweep + i * m : n_sweep + (i + 1) * m, -1].tolist(),
      }
      for i, name in enumerate(size_models)
    },
  }
  results["train_size"] = sizes

  # 4. Weight decay.
  wtrain, wtest = high_dim_regression(seed=seed)
  wd_out = weight_decay_sweep(wtrain, wtest, wd_lambdas, seed, epochs=wd_epochs)
  wd = {
    "lambdas": [float(v) for v in wd_lambdas],
    "epochs": wd_epochs,
    "n_train": len(wtrain["y"]),
    "num_inputs": wtrain["x"].shape[1],
    "final_train": wd_out["train"][:, -1].tolist(),
    "final_test": wd_out["test"][:, -1].tolist(),
    "final_test_scratch": wd_out["test_scratch"][:, -1].tolist(),
    "w_norm": wd_out["w_norm"].tolist(),
    "scratch_vs_engine_max_abs_param_diff": wd_out["max_abs_diff"],
    "train": wd_out["train"],
    "test": wd_out["test"],
  }
  results["weight_decay"] = {k: v for k, v in wd.items() if k not in ("train", "test")}

  # 5. Dropout and the number of epochs.
  dtrain, dtest = data.load(dropout_dataset, "train"), data.load(dropout_dataset, "test")
  curves = {
    name: classifier_curves(model, dtrain, dtest, seed, epochs=dropout_epochs)
    for name, model in dropout_models(
      dropout_width, dropout_rate, data.num_classes(dropout_dataset)
    ).items()
  }
  results["dropout"] = {
    "dataset": dropout_dataset,
    "epochs": dropout_epochs,
    "width": dropout_width,
    "rate": dropout_rate,
    **{
      name: {
        "train_loss": float(h[-1, 0]),
        "train_accuracy": float(h[-1, 1]),
        "test_loss": float(h[-1, 2]),
        "test_accuracy": float(h[-1, 3]),
        "accuracy_gap": float(h[-1, 1] - h[-1, 3]),
        "best_test_loss": float(h[:, 2].min()),
        "best_test_loss_epoch": int(h[:, 2].argmin()) + 1,
      }
      for name, h in curves.items()
    },
  }

  results["plots"] = _plot(
    workdir, poly, complexity, sizes, wd, {"dataset": dropout_dataset, "curves": curves}
  )
  results["wall_time_s"] = time.perf_counter() - start
  common.write_json(workdir, results)
  return results


def format_table(results: dict[str, Any]) -> str:
  """The numbers of :func:`run` as plain-text tables."""
  p, cx, sz = results["polynomial"], results["complexity"], results["train_size"]
  lines = [
    f"Polynomial regression, SGD {p['epochs']} epochs, n_train={p['n_train']} "
    f"(true w[:4] = {p['true_w']})"
  ]
  lines += common.table(
    ["case", "final train", "final test", "test/train", "w[:4]"],
    [
      (
        n,
        p[n]["final_train"],
        p[n]["final_test"],
        p[n]["final_test"] / p[n]["final_train"],
        p[n]["w_first4"],
      )
      for n in POLY_CASES
    ],
  )
  lines += [""] + common.table(
    ["degree", "train (SGD)", "test (SGD)", "train (exact LS)", "test (exact LS)"],
    zip(
      cx["degrees"],
      cx["sgd"]["train"],
      cx["sgd"]["test"],
      cx["exact"]["train"],
      cx["exact"]["test"],
      strict=True,
    ),
  )
  models = sz["models"]
  lines += [""] + common.table(
    ["n_train"] + [f"{n} {split}" for n in models for split in ("train", "test")],
    [
      [n] + [m[split][i] for m in models.values() for split in ("train", "test")]
      for i, n in enumerate(sz["n_train"])
    ],
  )
  wd = results["weight_decay"]
  lines += [
    "",
    f"Weight decay: {wd['num_inputs']} features, {wd['n_train']} training examples, "
    f"SGD {wd['epochs']} epochs; engine (optax.add_decayed_weights) vs from-scratch "
    f"l2_penalty max |Δparam| = {wd['scratch_vs_engine_max_abs_param_diff']:.2e}",
  ]
  lines += common.table(
    ["lambda", "final train", "final test", "test (scratch)", "‖w‖"],
    zip(
      wd["lambdas"],
      wd["final_train"],
      wd["final_test"],
      wd["final_test_scratch"],
      wd["w_norm"],
      strict=True,
    ),
  )
  dr = results["dropout"]
  lines += [
    "",
    f"Dropout: {dr['dataset']} MLP {dr['width']}-{dr['width']}, Adam {dr['epochs']} epochs",
  ]
  lines += common.table(
    ["model", "train acc", "test acc", "gap", "test loss", "best test loss (epoch)"],
    [
      (
        name,
        c["train_accuracy"],
        c["test_accuracy"],
        c["accuracy_gap"],
        c["test_loss"],
        f"{c['best_test_loss']:.4f} ({c['best_test_loss_epoch']})",
      )
      for name, c in dr.items()
      if isinstance(c, dict)
    ],
  )
  return "\n".join(lines + ["", f"wall time {results['wall_time_s']:.1f} s"])


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/generalization")
