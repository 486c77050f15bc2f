"""Vmapped sweeps vs sequential runs, and the CNN's convolution/loop choice, on MNIST-1D.

Part 1: N models (4 learning rates x N/4 seeds, Adam) trained as ONE vmapped program (the
engine's sweep: ``jaxnets.train.EpochRunner`` over the stacked states of
``jaxnets.train.init_members``), against the same N models trained one after the other,
either by the compiled single-model scanned epoch (the strongest sequential baseline) or by a
Python loop of compiled single-model steps (how a sweep is usually written), and against one
single run.
Everything is compiled before timing, and the variants are timed round-robin ``--repeats``
times; on a shared machine the **minimum** over the repetitions is the uncontended estimate
(the median is printed too). Ratios: sequential / vmapped (the sweep's speed-up) and
vmapped / one run (what N models cost relative to one).

Part 2: the MNIST-1D CNN's sweep (3 seeds, the table's setting) with its convolution written
as ``lax.conv_general_dilated`` or as patches + einsum (``Conv1D(impl=...)``), each run under
``loop="scan"`` (epochs compiled as ``lax.scan``) and ``loop="step"`` (a Python loop of
compiled steps). A vmapped ``lax`` convolution becomes a grouped convolution, which XLA:CPU
runs slowly, most of all inside a scan body. Every run trains from the same initial states
(copied before each run: the engine donates them).

Command:
  python -m benchmarks.sweep
"""

import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import common
from jaxnets import data, train

_EPOCHS = flags.DEFINE_integer("epochs", 10, "Epochs per timed run (40 steps each).")
_MODELS_N = flags.DEFINE_integer("num_models", 16, "Models in the vmapped sweep (multiple of 4).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Round-robin repetitions (min and median shown).")


def _round_robin(tasks: dict[str, Callable[[], None]], repeats: int) -> dict:
  """``{name: (min seconds, median seconds)}`` of zero-argument callables, interleaved."""
  times = {name: [] for name in tasks}
  for _ in range(repeats):
    for name, fn in tasks.items():
      start = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - start)
  return {name: (float(np.min(t)), float(np.median(t))) for name, t in times.items()}


class _Runs:
  """Compiled epochs of one state (single or stacked), run from the same start every time."""

  def __init__(self, state, source, mesh, scan: bool, members: int | None, seed):
    self.start, self.seed = state, seed
    self.runner = train.EpochRunner(
      state, source, mesh, scan=scan, members=members, check_finite=False
    )

  def __call__(self, epochs: int) -> None:
    state = jax.tree.map(jnp.copy, self.start)
    for epoch in range(epochs):
      state, metrics = self.runner.run(state, epoch, self.seed)
    jax.block_until_ready(state.params)


def _setup(model: dict, train_split: dict, members: list[dict]):
  config = common.engine_config(
    dataset="mnist1d",
    model=model,
    optimizer={"name": "adam", "learning_rate": 1e-2},
    optimizer_impl="scratch",
    batch_size=100,
  )
  mesh = train.sharding.make_mesh()
  source = train.InMemoryData(train_split, 100, mesh)
  state = train.init_members(
    config, members, example_x=source.example["x"], steps_per_epoch=source.steps_per_epoch
  )
  seeds = np.asarray([m["seed"] for m in members])
  return source, mesh, state, seeds


def sweep_vs_sequential(
  model_name: str, train_split: dict, num_models: int, epochs: int, repeats: int
) -> dict:
  members = train.grid(
    **{"optimizer.learning_rate": [3e-3, 1e-2, 3e-2, 1e-1]}, seed=list(range(num_models // 4))
  )
  source, mesh, state, seeds = _setup({"name": model_name}, train_split, members)
  vmapped = _Runs(state, source, mesh, True, num_models, seeds)
  singles = [
    _Runs(train.member_state(state, i), source, mesh, True, None, int(seeds[i]))
    for i in range(num_models)
  ]
  stepped = _Runs(train.member_state(state, 0), source, mesh, False, None, int(seeds[0]))
  out = _round_robin(
    {
      "vmapped": lambda: vmapped(epochs),
      "sequential": lambda: [s(epochs) for s in singles],
      "stepped": lambda: [stepped(epochs) for _ in singles],
      "one": lambda: singles[0](epochs),
    },
    repeats,
  )
  out.update(
    compile_vmapped=vmapped.runner.compile_seconds, compile_one=singles[0].runner.compile_seconds
  )
  return out


def cnn_loops(train_split: dict, epochs: int, repeats: int) -> dict:
  members = train.grid(seed=[0, 1, 2])
  tasks = {}
  for impl in ("lax", "patches"):
    model = {"name": "mnist1d_cnn", "conv_impl": impl}
    source, mesh, state, seeds = _setup(model, train_split, members)
    for scan in (True, False):
      runs = _Runs(state, source, mesh, scan, 3, seeds)
      tasks[(impl, "scan" if scan else "step")] = lambda runs=runs: runs(epochs)
  return _round_robin(tasks, repeats)


def main(argv):
  del argv
  n, epochs, repeats = _MODELS_N.value, _EPOCHS.value, _REPEATS.value
  if n <= 0 or n % 4:
    raise app.UsageError(f"--num_models must be a positive multiple of 4, got {n}.")
  train_split = data.load("mnist1d", "train")
  print(
    f"Part 1: {n} models x {epochs * 40} Adam steps (batch 100) on MNIST-1D; min seconds "
    f"over {repeats} round-robin repetitions (median in brackets)"
  )
  print(
    f"{'model':<9} | {'vmapped N':>13} | {'N seq scan':>13} | {'N seq steps':>13} | "
    f"{'one run':>11} | {'seq scan/vmap':>13} | {'seq steps/vmap':>14} | "
    f"{'vmapped/one':>11} | compile N / 1 (s)"
  )
  for label in ("logistic", "mlp", "cnn"):
    r = sweep_vs_sequential(f"mnist1d_{label}", train_split, n, epochs, repeats)
    cell = lambda k, r=r: f"{r[k][0]:.2f} ({r[k][1]:.2f})"
    print(
      f"{label:<9} | {cell('vmapped'):>13} | {cell('sequential'):>13} | "
      f"{cell('stepped'):>13} | {cell('one'):>11} | "
      f"{r['sequential'][0] / r['vmapped'][0]:13.2f} | "
      f"{r['stepped'][0] / r['vmapped'][0]:14.2f} | "
      f"{r['vmapped'][0] / r['one'][0]:11.2f} | "
      f"{r['compile_vmapped']:.1f} / {r['compile_one']:.1f}"
    )
  print(
    f"\nPart 2: MNIST-1D CNN, 3 seeds vmapped, {epochs * 40} steps; min seconds over "
    f"{repeats} round-robin repetitions (median in brackets)"
  )
  r = cnn_loops(train_split, epochs, repeats)
  base = r[("lax", "scan")][0]
  print(f"{'conv impl':<9} | {'loop':<4} | {'seconds':>13} | {'vs lax+scan':>11}")
  for (impl, loop), (best, median) in r.items():
    print(f"{impl:<9} | {loop:<4} | {best:5.2f} ({median:5.2f}) | {base / best:10.2f}x")


if __name__ == "__main__":
  app.run(main)
