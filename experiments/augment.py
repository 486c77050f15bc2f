r"""Data augmentation narrows the train/test gap of a CNN trained on few images.

A modern LeNet-5 (ReLU, max pooling) trains through the engine on the first ``n_train``
images of the embedded ``cluttered_digits`` (32×32 digits placed at random on cluttered
canvases) — few enough that it memorizes them — once without augmentation and once with
``config.augment`` set to a policy (default: the padded random crop, ``crop``: every step
sees each digit moved by up to ``crop_padding`` pixels; a horizontal flip would turn digits
into other shapes, so no flip). Each is a sweep over 3 seeds, one vmapped program
(:func:`jaxnets.train.train_sweep`); the augmentation runs inside its jitted train step.
The gap is the accuracy on the training images (evaluated unaugmented) minus the test
accuracy (all 2000 test canvases), averaged over the seeds.

Also draws a grid of augmented examples: each row one training image, then the same image
under the policy with 7 different keys, for ``crop``, ``resized_crop`` and ``color``.

Run:
  python -m experiments.augment --workdir=runs/augment

Writes ``augmented_examples.png``, ``gap.png`` and ``results.json`` into the workdir; the last
line printed gives both gaps and the reduction.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np

from experiments import common
from jaxnets import data
from jaxnets import train as train_lib
from jaxnets.data import augment

GRID_POLICIES = ("crop", "resized_crop", "color")


def _config(policy: str, *, epochs: int, batch_size: int, learning_rate: float, **strengths):
  config = common.engine_config(
    task="classification",
    model={"name": "lenet_modern", "num_classes": 10},
    optimizer={"name": "adam", "learning_rate": learning_rate},
    batch_size=batch_size,
    num_epochs=epochs,
    eval_every_epochs=epochs,
  )
  config.augment.policy = policy
  for field, value in strengths.items():
    config.augment[field] = value
  return config


def train_both(
  splits: dict[str, dict[str, np.ndarray]],
  *,
  policy: str,
  seeds: tuple[int, ...],
  epochs: int,
  batch_size: int,
  learning_rate: float,
  crop_padding: int,
) -> dict[str, dict[str, Any]]:
  """Train and test accuracy per seed, without augmentation and with ``policy``."""
  out = {}
  members = [{"seed": s} for s in seeds]
  for name in ("none", policy):
    config = _config(
      name,
      epochs=epochs,
      batch_size=batch_size,
      learning_rate=learning_rate,
      crop_padding=crop_padding,
    )
    history = train_lib.train_sweep(config, members, data=splits).history
    train_acc = history["train_eval_accuracy"][:, -1]
    test_acc = history["test_accuracy"][:, -1]
    out[name] = {
      "train_accuracy": train_acc.tolist(),
      "test_accuracy": test_acc.tolist(),
      "gap": (train_acc - test_acc).tolist(),
      "test_loss": history["test_loss"][:, -1].tolist(),
      "mean_gap": float(np.mean(train_acc - test_acc)),
      "mean_test_accuracy": float(np.mean(test_acc)),
    }
  return out


def example_grid(images: np.ndarray, copies: int, seed: int) -> dict[str, np.ndarray]:
  """``images`` under each grid policy, ``copies`` keys each: ``[n, copies, H, W, C]``."""
  grids = {}
  for name in GRID_POLICIES:
    policy = augment.get_policy(name, scale=(0.4, 1.0), brightness=0.3, contrast=0.3)
    keys = jax.random.split(jax.random.key(seed), copies)
    run = jax.jit(jax.vmap(lambda k, p=policy: augment.apply_batch(p, k, images)))
    grids[name] = np.moveaxis(np.asarray(run(keys)), 0, 1)
  return grids


def _plots(workdir: str, images: np.ndarray, grids: dict, gaps: dict, policy: str) -> list[str]:
  plt = common.pyplot()
  save = common.FigureSaver(workdir, plt)
  n, copies = grids[GRID_POLICIES[0]].shape[:2]
  fig, axes = plt.subplots(
    n, len(grids) * (copies + 1), figsize=(len(grids) * (copies + 1) * 0.8, n * 0.85)
  )
  for g, (name, grid) in enumerate(grids.items()):
    for i in range(n):
      row = [images[i]] + list(grid[i])
      for j, image in enumerate(row):
        ax = axes[i, g * (copies + 1) + j]
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
          ax.set_title("original" if j == 0 else name if j == 1 else "", fontsize=7)
  paths = [save(fig, "augmented_examples.png")]
  fig, ax = plt.subplots(figsize=(4.5, 3.2))
  labels = ["none", policy]
  for field, offset in (("train_accuracy", -0.2), ("test_accuracy", 0.2)):
    means = [np.mean(gaps[name][field]) for name in labels]
    ax.bar(np.arange(2) + offset, means, width=0.4, label=field.replace("_", " "))
  ax.set_xticks(
    range(2),
    [
      f"no augmentation\ngap {gaps['none']['mean_gap']:.3f}",
      f"{policy}\ngap {gaps[policy]['mean_gap']:.3f}",
    ],
  )
  ax.set_ylabel("accuracy (mean over seeds)")
  ax.set_ylim(0, 1.05)
  ax.legend(loc="lower right", fontsize=8)
  paths.append(save(fig, "gap.png"))
  return paths


def run(
  workdir: str,
  *,
  policy: str = "crop",
  crop_padding: int = 4,
  n_train: int = 500,
  epochs: int = 30,
  batch_size: int = 50,
  learning_rate: float = 2e-3,
  seeds: tuple[int, ...] = (0, 1, 2),
  n_test: int = 2000,
  grid_rows: int = 6,
) -> dict[str, Any]:
  """Trains with and without augmentation, draws the example grid, writes ``results.json``.

  Args:
    workdir: output directory (created if needed).
    policy: the augmentation policy compared with none (a jaxnets.data.augment.POLICIES name).
    crop_padding: pixels of zero padding of the crop policies.
    n_train: training images (the first ones of cluttered_digits' training split).
    epochs: training epochs of every run.
    batch_size: training batch size.
    learning_rate: Adam's learning rate.
    seeds: the seeds of each sweep (initialization, data order and augmentations).
    n_test: test images (the first ones of cluttered_digits' test split).
    grid_rows: training images shown in augmented_examples.png.
  """
  if policy == "none" or policy not in augment.POLICIES:
    valid = [p for p in augment.POLICIES if p != "none"]
    raise ValueError(f"policy must be one of {valid}, got {policy!r}.")
  if min(n_train, epochs, batch_size, n_test, grid_rows, len(seeds)) <= 0:
    raise ValueError("n_train, epochs, batch_size, n_test, grid_rows and seeds must be positive.")
  os.makedirs(workdir, exist_ok=True)
  train = data.load("cluttered_digits", "train")
  test = data.load("cluttered_digits", "test")
  splits = {
    "train": {k: v[:n_train] for k, v in train.items()},
    "test": {k: v[:n_test] for k, v in test.items()},
  }
  gaps = train_both(
    splits,
    policy=policy,
    seeds=tuple(seeds),
    epochs=epochs,
    batch_size=batch_size,
    learning_rate=learning_rate,
    crop_padding=crop_padding,
  )
  images = splits["train"]["x"][:grid_rows]
  grids = example_grid(images, copies=7, seed=0)
  results = {
    "settings": {
      "policy": policy,
      "crop_padding": crop_padding,
      "n_train": n_train,
      "epochs": epochs,
      "batch_size": batch_size,
      "learning_rate": learning_rate,
      "seeds": list(seeds),
      "n_test": n_test,
    },
    "runs": gaps,
    "gap_reduction": gaps["none"]["mean_gap"] - gaps[policy]["mean_gap"],
  }
  results["plots"] = _plots(workdir, images, grids, gaps, policy)
  common.write_json(workdir, results)
  return results


def format_table(results: dict[str, Any]) -> str:
  s, runs = results["settings"], results["runs"]
  policy = s["policy"]
  rows = []
  for name in ("none", policy):
    r = runs[name]
    for seed, tr, te in zip(s["seeds"], r["train_accuracy"], r["test_accuracy"], strict=True):
      rows.append((name, seed, tr, te, tr - te))
    rows.append(
      (name, "mean", float(np.mean(r["train_accuracy"])), r["mean_test_accuracy"], r["mean_gap"])
    )
  lines = [
    f"LeNet-5 (modern) on {s['n_train']} cluttered_digits images, {s['epochs']} epochs, tested "
    f"on {s['n_test']}",
    *common.table(["augment", "seed", "train acc", "test acc", "gap"], rows, fmt=".4f"),
    f"train/test gap: no augmentation {runs['none']['mean_gap']:.4f}, {policy} "
    f"{runs[policy]['mean_gap']:.4f}, reduction {results['gap_reduction']:.4f} (mean over "
    f"{len(s['seeds'])} seeds)",
  ]
  return "\n".join(lines)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/augment")
