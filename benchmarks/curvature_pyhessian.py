"""Curvature routines of jaxnets against PyHessian, same weights, same data, one run.

Model and data: an MLP 64-256-256-10 (ReLU, 85,002 parameters) on the first ``--num_examples``
(1000) ``digits`` training images, mean softmax cross-entropy, float32, on the CPU; the same
weights are copied into a ``torch.nn.Sequential`` for PyHessian 0.1 (``pip install
jaxnets[bench]``). Both libraries get the whole dataset as one batch. PyHessian's
``hessian(...)`` object (one forward and a ``create_graph`` backward whose graph its HVPs
reuse) is built once, outside the timings; its ``eigenvalues``/``trace`` calls are timed.
jaxnets' calls are timed whole (input checks, the forward it linearizes, the device loop, the
host eigensolve). Every task is run once to compile/warm up, then the tasks are timed
round-robin ``--repeats`` times with a fresh random start each time; min and median wall
time and the min process CPU time (all threads; robust to other processes' load) are
reported. HVPs are counted: jaxnets returns ``num_steps``; PyHessian's HVP function is wrapped
with a counter.

Errors are relative to a float64 reference: jaxnets' Lanczos at ``tol=1e-10`` in float64 (its
residual bound certifies it to ~1e-10); for the trace, 200 float64 Hutchinson probes (its
standard error is printed).

Command:
  python -m benchmarks.curvature_pyhessian [--repeats=7 --num_examples=1000]
"""

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from jaxnets import analysis, losses
from jaxnets import data as jdata
from jaxnets.models import get_model

HIDDEN = (256, 256)
MODEL = get_model("mlp", hidden=HIDDEN, num_classes=10, activation="relu")


def loss_fn(params, batch):
  """Mean softmax cross-entropy of the benchmark MLP."""
  logits = MODEL.apply({"params": params}, batch["x"])
  return losses.softmax_cross_entropy(logits, batch["y"]).mean()


def _torch_model(params):
  import torch

  layers: list[Any] = [torch.nn.Flatten()]
  names = sorted(params, key=lambda name: int(name.split("_")[-1]))
  for i, name in enumerate(names):
    kernel = np.asarray(params[name]["kernel"])
    lin = torch.nn.Linear(*kernel.shape)
    with torch.no_grad():
      lin.weight.copy_(torch.from_numpy(kernel.T.copy()))
      lin.bias.copy_(torch.from_numpy(np.asarray(params[name]["bias"]).copy()))
    layers.append(lin)
    if i < len(names) - 1:
      layers.append(torch.nn.ReLU())
  return torch.nn.Sequential(*layers)


def run(num_examples: int = 1000, repeats: int = 7, k: int = 3) -> list[dict]:
  """Times every task; returns one row per task (a dict) in a fixed order."""
  import sys

  import torch
  from pyhessian import hessian as PyHessian

  ph_module = sys.modules["pyhessian.hessian"]  # The package re-exports the class as .hessian.

  torch.set_num_threads(2)
  train = jdata.load("digits", "train")
  x = np.asarray(train["x"][:num_examples])
  y = np.asarray(train["y"][:num_examples])
  data = {"x": jnp.asarray(x), "y": jnp.asarray(y)}
  params = jax.jit(MODEL.init)(jax.random.key(0), data["x"][:1])["params"]
  num_params = sum(int(np.size(a)) for a in jax.tree_util.tree_leaves(params))

  # Float64 reference (certified by its residual bound).
  with jax.enable_x64(True):
    p64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    d64 = {"x": jnp.asarray(x, jnp.float64), "y": jnp.asarray(y)}
    ref = analysis.top_eigenvalues(loss_fn, p64, k, jax.random.key(99), data=d64, tol=1e-10)
    ref_eigs = np.asarray(ref.eigenvalues, np.float64)
    ref_trace = analysis.hessian_trace(loss_fn, p64, jax.random.key(98), 200, data=d64)
    ref_tr, ref_se = float(ref_trace.trace), float(ref_trace.stderr)

  model = _torch_model(params)
  inputs = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # Flatten order: HWC, C=1.
  targets = torch.from_numpy(y.astype(np.int64))
  with torch.no_grad():
    logits = model(inputs).numpy()
  jax_logits = np.asarray(MODEL.apply({"params": params}, data["x"]))
  np.testing.assert_allclose(logits, jax_logits, rtol=1e-4, atol=1e-4)
  ph = PyHessian(model, torch.nn.CrossEntropyLoss(), data=(inputs, targets), cuda=False)
  counter = {"hvps": 0}
  inner_hvp = ph_module.hessian_vector_product

  def counted(*args):
    counter["hvps"] += 1
    return inner_hvp(*args)

  ph_module.hessian_vector_product = counted
  trace_probes = 100

  def jx_top(num, trial, **kw):
    top = analysis.top_eigenvalues(
      loss_fn, params, num, jax.random.fold_in(jax.random.key(1), trial), data=data, **kw
    )
    return np.asarray(top.eigenvalues, np.float64), top.num_steps

  def ph_top(num, trial):
    torch.manual_seed(trial)
    counter["hvps"] = 0
    eigs, _ = ph.eigenvalues(maxIter=100, tol=1e-3, top_n=num)
    return np.asarray(eigs, np.float64), counter["hvps"]

  def jx_trace(trial, rtol=None):
    key = jax.random.fold_in(jax.random.key(2), trial)
    probes = trace_probes if rtol is None else 3 * trace_probes  # rtol stops first.
    est = analysis.hessian_trace(loss_fn, params, key, probes, rtol=rtol, data=data)
    return np.asarray([float(est.trace)]), est.samples.shape[0]

  def ph_trace(trial):
    torch.manual_seed(trial)
    counter["hvps"] = 0
    samples = ph.trace(maxIter=100, tol=1e-3)
    return np.asarray([float(np.mean(samples))]), counter["hvps"]

  tasks = {
    ("top-1", "jaxnets tol=1e-3"): lambda t: jx_top(1, t, tol=1e-3),
    ("top-1", "jaxnets fixed 42 steps"): lambda t: jx_top(1, t, tol=1e-3, early_stop=False),
    ("top-1", "PyHessian tol=1e-3"): lambda t: ph_top(1, t),
    (f"top-{k}", "jaxnets tol=1e-3"): lambda t: jx_top(k, t, tol=1e-3),
    (f"top-{k}", "PyHessian tol=1e-3"): lambda t: ph_top(k, t),
    ("trace", f"jaxnets {trace_probes} probes"): jx_trace,
    ("trace", "jaxnets rtol=0.1"): lambda t: jx_trace(t, rtol=0.1),
    ("trace", "jaxnets rtol=0.05"): lambda t: jx_trace(t, rtol=0.05),
    ("trace", "PyHessian tol=1e-3"): ph_trace,
  }
  for fn in tasks.values():
    fn(0)  # Compile / warm up.
  times = {key: [] for key in tasks}
  cpu = {key: [] for key in tasks}
  hvps = {key: [] for key in tasks}
  errors = {key: [] for key in tasks}
  for trial in range(1, repeats + 1):
    for key, fn in tasks.items():
      start, start_cpu = time.perf_counter(), time.process_time()
      values, count = fn(trial)
      times[key].append(time.perf_counter() - start)
      cpu[key].append(time.process_time() - start_cpu)
      hvps[key].append(int(count))
      if key[0] == "trace":
        errors[key].append(abs(values[0] - ref_tr) / abs(ref_tr))
      else:
        exact = ref_eigs[: values.size]
        errors[key].append(float(np.max(np.abs(values - exact)) / abs(ref_eigs[0])))
  rows = []
  for key in tasks:
    rows.append(
      {
        "routine": key[0],
        "library": key[1],
        "num_params": num_params,
        "num_examples": num_examples,
        "min_s": float(np.min(times[key])),
        "median_s": float(np.median(times[key])),
        "min_cpu_s": float(np.min(cpu[key])),
        "hvps_min": int(np.min(hvps[key])),
        "hvps_max": int(np.max(hvps[key])),
        "max_rel_error": float(np.max(errors[key])),
        "median_rel_error": float(np.median(errors[key])),
      }
    )
  ph_best = {r["routine"]: r["min_s"] for r in rows if r["library"].startswith("PyHessian")}
  for r in rows:
    r["speed_vs_pyhessian"] = ph_best[r["routine"]] / r["min_s"]
  ph_cpu = {r["routine"]: r["min_cpu_s"] for r in rows if r["library"].startswith("PyHessian")}
  for r in rows:
    r["cpu_vs_pyhessian"] = ph_cpu[r["routine"]] / r["min_cpu_s"]
  rows.append(
    {
      "routine": "reference",
      "library": f"float64 eigenvalues {ref_eigs.tolist()}, trace {ref_tr:.6g} ± {ref_se:.2g}",
    }
  )
  return rows


def format_table(rows: list[dict]) -> str:
  """Markdown table of :func:`run`'s rows."""
  lines = [
    "| routine | library | HVPs | min ms | median ms | PyHessian / this (time) "
    "| min CPU ms | PyHessian / this (CPU) | max rel. error | median rel. error |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for r in rows:
    if r["routine"] == "reference":
      lines.append(f"\nReference: {r['library']}.")
      continue
    h = f"{r['hvps_min']}" if r["hvps_min"] == r["hvps_max"] else f"{r['hvps_min']}-{r['hvps_max']}"
    lines.append(
      f"| {r['routine']} | {r['library']} | {h} | {1e3 * r['min_s']:.1f} | "
      f"{1e3 * r['median_s']:.1f} | {r['speed_vs_pyhessian']:.2f} | "
      f"{1e3 * r['min_cpu_s']:.1f} | {r['cpu_vs_pyhessian']:.2f} | "
      f"{r['max_rel_error']:.1e} | {r['median_rel_error']:.1e} |"
    )
  return "\n".join(lines)


_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed round-robin repetitions.")
_EXAMPLES = flags.DEFINE_integer("num_examples", 1000, "Examples (one batch).")


def main(argv):
  del argv
  rows = run(_EXAMPLES.value, _REPEATS.value)
  print(f"{rows[0]['num_params']} parameters, {rows[0]['num_examples']} examples")
  print(format_table(rows))


if __name__ == "__main__":
  app.run(main)
