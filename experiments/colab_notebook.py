"""Writes ``experiments/colab_quickstart.ipynb``, the Colab TPU quickstart, with nbformat.

Command (after editing a cell below; tests/experiments/test_colab_notebook.py checks that the
committed notebook equals what this writes, and executes it on CPU):
  python -m experiments.colab_notebook

The notebook installs jaxnets from a copy of the repository unless it is importable, shows
``jax.devices()``, trains an MLP with data parallelism over every device (the engine's mesh
is sized from ``jax.device_count()``: 8 cores on a v2-8/v3-8 Colab TPU, 1 CPU elsewhere),
computes the trained network's Hessian spectrum (stochastic Lanczos quadrature) and plots it,
and trains a ResNet-18 on ``cluttered_digits``. Off a TPU it picks small sizes (a 1-epoch MLP,
a 1/8-width ResNet on 512 images), so that CI runs it in about a minute;
``JAXNETS_NOTEBOOK_SMALL=0``/``1`` overrides the choice.
"""

import os
from typing import Sequence

import nbformat
from absl import app
from nbformat import v4

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "colab_quickstart.ipynb")

INTRO = """\
# jaxnets on a Colab TPU

A functional JAX library (Flax linen models, Optax optimizers, one jitted training step) that
reimplements an introductory deep-learning course. This notebook trains with data parallelism
over every TPU core, computes a Hessian spectrum, and trains a ResNet-18.

**Runtime:** *Runtime → Change runtime type → TPU*. Colab's TPU runtimes come with a JAX that
sees the TPU; nothing else is needed. The same notebook runs on a GPU or a CPU (with small
sizes off a TPU).

**Getting jaxnets onto the runtime:** upload the repository (a zip of it, unpacked with
`!unzip -q jaxnets.zip -d /content/jaxnets`) or `!git clone` your copy of it to
`/content/jaxnets`, or set `JAXNETS_DIR` below to where it is. The next cell installs it (and
its dependencies: no TensorFlow) unless `jaxnets` is already importable."""

INSTALL = """\
import importlib.util
import os

JAXNETS_DIR = os.environ.get("JAXNETS_DIR", "/content/jaxnets")  # the repository's root
if importlib.util.find_spec("jaxnets") is None:
  %pip install -q -e {JAXNETS_DIR}
import jaxnets

print("jaxnets", jaxnets.__version__)"""

DEVICES_MD = """\
## Devices

On a v2-8/v3-8 TPU runtime `jax.devices()` lists 8 `TpuDevice`s; the training engine builds
a one-axis mesh `("data",)` over all of them and splits every batch across it (the batch size
must be a multiple of `jax.device_count()`). Off a TPU the notebook picks small sizes."""

DEVICES = """\
import jax
from jaxnets.train import sharding

print(jax.devices())
ON_TPU = jax.default_backend() == "tpu"
SMALL = os.environ.get("JAXNETS_NOTEBOOK_SMALL", "0" if ON_TPU else "1") == "1"
mesh = sharding.make_mesh()  # what train_and_evaluate uses: every device of every host
print(f"backend={jax.default_backend()} devices={jax.device_count()} mesh={dict(mesh.shape)}")
print("small sizes" if SMALL else "full sizes")"""

TRAIN_MD = """\
## Data-parallel training with the engine

`train.train_and_evaluate(config, workdir)` is the same call the launcher
(`python -m experiments.train`) makes: it shards each batch over the mesh, replicates the
parameters, and `jax.jit` inserts the gradient all-reduce. The batch is a multiple of the
device count; the table is printed per epoch."""

TRAIN = """\
import tempfile

from jaxnets import train

n = jax.device_count()
config = train.default_config()  # an MLP (256 ReLU units) on the embedded 8x8 digits
config.batch_size = 32 * n  # the global batch: 32 examples per device
config.optimizer.learning_rate = 0.1
config.num_epochs = 1 if SMALL else 30
config.progress_bar = False
mlp_dir = tempfile.mkdtemp(prefix="mlp_")
state = train.train_and_evaluate(config, mlp_dir)
kernel = state.params["Dense_0"]["kernel"]
print("parameters replicated over", len(kernel.sharding.device_set), "device(s)")"""

HESSIAN_MD = """\
## The Hessian spectrum of the trained network

Stochastic Lanczos quadrature (`jaxnets.analysis.spectral_density`) estimates the eigenvalue
density of the loss Hessian from Hessian-vector products (forward-over-reverse), never
forming the Hessian; `top_eigenvalues` (Lanczos) gives the sharpness, the curvature that
bounds a stable learning rate by 2/sharpness (course chapter 3)."""

HESSIAN = """\
import matplotlib.pyplot as plt
import numpy as np

from jaxnets import analysis, data, losses, models

train_set = data.load("digits", "train")
m = 256 if SMALL else len(train_set["y"])
batch = {"x": train_set["x"][:m], "y": train_set["y"][:m]}
model = models.get_model("mlp", hidden=(256,), num_classes=10)


def loss_fn(params, batch):
  logits = model.apply({"params": params}, batch["x"])
  return losses.softmax_cross_entropy(logits, batch["y"]).mean()


params = jax.device_get(state.params)
top = analysis.top_eigenvalues(loss_fn, params, 3, jax.random.key(1), data=batch, num_iters=30)
density = analysis.spectral_density(
  loss_fn, params, jax.random.key(2), num_probes=2 if SMALL else 8,
  num_iters=30 if SMALL else 80, data=batch,
)
print("top Hessian eigenvalues:", np.round(np.asarray(top.eigenvalues), 4))
print("stable learning rates: eta < 2/sharpness =", round(2 / float(top.eigenvalues[0]), 4))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(density.grid, np.maximum(density.density, 1e-8))
ax.axvline(float(top.eigenvalues[0]), color="C3", linestyle="--", label="sharpness (Lanczos)")
ax.set_xlabel("eigenvalue")
ax.set_ylabel("density")
ax.set_title("Hessian spectrum of the trained MLP (SLQ)")
ax.legend()
plt.show()"""

CNN_MD = """\
## A ResNet-18 on `cluttered_digits`

`experiments/configs/resnet.py` is ResNet-18 at 1/8 width with the small-input stem, on the
embedded 32x32 `cluttered_digits` (digits placed, scaled and rotated on a noisy canvas with
clutter), where it beats the modern LeNet-5 by 12.5 points (0.957 vs 0.832, 15 epochs). With
small sizes it trains 1 epoch on 512 images (accuracy near chance: it only shows the path)."""

CNN = """\
from experiments.configs import resnet

cnn = resnet.get_config()
cnn.batch_size = 64 * n if SMALL else 128 * n
cnn.num_epochs = 1 if SMALL else 15
cnn.progress_bar = False
splits = {s: data.load("cluttered_digits", s) for s in ("train", "test")}
if SMALL:  # 512 training and 256 test images
  sizes = {"train": 512, "test": 256}
  splits = {s: {k: v[: sizes[s]] for k, v in d.items()} for s, d in splits.items()}
cnn.task = "classification"
cnn_state = train.train_and_evaluate(cnn, tempfile.mkdtemp(prefix="resnet_"), data=splits)
print("ResNet-18 parameters:", sum(x.size for x in jax.tree_util.tree_leaves(cnn_state.params)))"""

NEXT_MD = """\
## Next

Every course chapter has a page in `docs/chapters/` with its command, the numbers it prints
and its figure; `python -m experiments.train --config=experiments/configs/<name>.py` trains
any config from the command line (see README.md)."""


def build() -> nbformat.NotebookNode:
  """The notebook, cells in order, without outputs."""
  md, code = v4.new_markdown_cell, v4.new_code_cell
  cells = [
    md(INTRO),
    code(INSTALL),
    md(DEVICES_MD),
    code(DEVICES),
    md(TRAIN_MD),
    code(TRAIN),
    md(HESSIAN_MD),
    code(HESSIAN),
    md(CNN_MD),
    code(CNN),
    md(NEXT_MD),
  ]
  for i, cell in enumerate(cells):
    cell["id"] = f"cell-{i}"
  nb = v4.new_notebook(cells=cells)
  nb.metadata = {
    "accelerator": "TPU",
    "colab": {"provenance": []},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
  }
  return nb


def render() -> str:
  """The notebook as the text of the committed ``.ipynb`` file."""
  return nbformat.writes(build()) + "\n"


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  text = render()
  tmp = PATH + ".tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, PATH)  # Never a half-written notebook on disk.
  print(f"wrote {PATH}")


if __name__ == "__main__":
  app.run(main)
