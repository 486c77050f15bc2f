"""Vmapped sweeps vs sequential runs, and the CNN's convolution/loop choice, on MNIST-1D.

Part 1: N models (4 learning rates x N/4 seeds, Adam) trained as ONE vmapped program
(``jaxnets.optim.sweep``), against the same N models trained one after the other, either by
the compiled single-model scan program (the strongest sequential baseline) or by a Python loop
of compiled single-model steps (how a sweep is usually written), and against one single run.
Everything is compiled before timing, and the variants are timed round-robin ``--repeats``
times; on a shared machine the **minimum** over the repetitions is the uncontended estimate
(the median is printed too). Ratios: sequential / vmapped (the sweep's speed-up) and
vmapped / one run (what N models cost relative to one).

Part 2: the MNIST-1D CNN's sweep (3 seeds, the table's setting) with its convolution written
as ``lax.conv_general_dilated`` or as patches + einsum (``Conv1D(impl=...)``), each run under
``loop="scan"`` (epochs compiled as ``lax.scan``) and ``loop="step"`` (a Python loop of
compiled steps). A vmapped ``lax`` convolution becomes a grouped convolution, which XLA:CPU
runs slowly, most of all inside a scan body.

Command:
  python -m benchmarks.sweep
"""

import time
from typing import Callable

import numpy as np
from absl import app, flags

from jaxnets import data
from jaxnets.models import get_model
from jaxnets.optim.sweep import Sweep

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


def _block(out) -> None:
  np.asarray(out[1])  # The losses: waits for the whole run.


def sweep_vs_sequential(
  model_name: str, train: dict, num_models: int, epochs: int, repeats: int
) -> dict:
  model = get_model(model_name)
  rates = np.repeat([3e-3, 1e-2, 3e-2, 1e-1], num_models // 4).astype(np.float32)
  seeds = np.tile(np.arange(num_models // 4), 4)
  sweep = Sweep(model, train, optimizer="adam", batch_size=100, impl="scratch")
  state_n = sweep.init(rates, seeds)
  sweep.compile(state_n, epochs_per_call=epochs)
  compile_n = sweep.compile_seconds
  singles = [sweep.init(rates[i : i + 1], seeds[i : i + 1]) for i in range(num_models)]
  sweep.compile(singles[0], epochs_per_call=epochs)
  compile_1 = sweep.compile_seconds - compile_n
  sweep.compile(singles[0], loop="step")
  out = _round_robin(
    {
      "vmapped": lambda: _block(sweep.run(state_n, epochs)),
      "sequential": lambda: [_block(sweep.run(s, epochs)) for s in singles],
      "stepped": lambda: [_block(sweep.run(s, epochs, loop="step")) for s in singles],
      "one": lambda: _block(sweep.run(singles[0], epochs)),
    },
    repeats,
  )
  out.update(compile_vmapped=compile_n, compile_one=compile_1)
  return out


def cnn_loops(train: dict, epochs: int, repeats: int) -> dict:
  tasks = {}
  for impl in ("lax", "patches"):
    sweep = Sweep(
      get_model("mnist1d_cnn", conv_impl=impl),
      train,
      optimizer="adam",
      batch_size=100,
      impl="scratch",
    )
    for loop in ("scan", "step"):
      state = sweep.init([1e-2] * 3, [0, 1, 2])
      per_call = epochs if loop == "scan" else None
      sweep.compile(state, loop=loop, epochs_per_call=per_call or 1)

      def once(sweep=sweep, state=state, loop=loop, per_call=per_call):
        _block(sweep.run(state, epochs, loop=loop, epochs_per_call=per_call))

      tasks[(impl, loop)] = once
  return _round_robin(tasks, repeats)


def main(argv):
  del argv
  n, epochs, repeats = _MODELS_N.value, _EPOCHS.value, _REPEATS.value
  if n <= 0 or n % 4:
    raise app.UsageError(f"--num_models must be a positive multiple of 4, got {n}.")
  train = data.load("mnist1d", "train")
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
    r = sweep_vs_sequential(f"mnist1d_{label}", train, n, epochs, repeats)
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
  r = cnn_loops(train, epochs, repeats)
  base = r[("lax", "scan")][0]
  print(f"{'conv impl':<9} | {'loop':<4} | {'seconds':>13} | {'vs lax+scan':>11}")
  for (impl, loop), (best, median) in r.items():
    print(f"{impl:<9} | {loop:<4} | {best:5.2f} ({median:5.2f}) | {base / best:10.2f}x")


if __name__ == "__main__":
  app.run(main)
