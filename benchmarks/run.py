"""Every benchmark in one command: jaxnets' training steps side by side with PyTorch.

For each model and batch size it measures, in ONE process and interleaved round-robin (so the
ratios share the machine's load): the training-step time (median and minimum over
``--trials`` rounds of ``--steps`` steps each, after a warm-up), the process CPU time per step
(all threads; less sensitive to other processes), examples/s, the compile time, the process's
peak host memory so far (``ru_maxrss``), the FLOPs of one step (analytic: 3x the forward
multiply-adds of every ``kernel``, times 2; and XLA's cost analysis of the compiled step), and
the achieved FLOP/s as a fraction of the large-matmul FLOP/s measured at the start of the same
run. PyTorch eager and ``torch.compile`` (where it compiles; ``--torch_compile``) train the
same architectures on the same shapes with the same optimizer (Adam), and every jaxnets figure
is printed as a ratio to PyTorch's best. Then the vmapped sweep (N MLPs in one program) and,
with PyHessian installed, the curvature routines (``benchmarks/curvature_pyhessian.py``).

Models: the MLP 40-100-100-10 on MNIST-1D shapes (batch 100), LeNet-5 classic (28x28x1,
batch 256) and ResNet-18 in torchvision's layout with the small-input stem (32x32x3, batch
128); ``--scaling`` adds the batch sizes ``--scaling_batches`` for LeNet and ResNet-18.

The table is printed, written as JSON (``--json``) and, with ``--append``, appended to
benchmarks/RESULTS.md with the machine, library versions and date. PyTorch and PyHessian are
the optional ``[bench]`` extra: without them the jaxnets rows are measured alone.

Command:
  python -m benchmarks.run                      # everything (tens of minutes on 2 cores)
  python -m benchmarks.run --quick              # seconds: the MLP only, tiny trials
"""

import datetime
import json
import os
import platform
import resource
import statistics
import time
from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags

from jaxnets import losses
from jaxnets.models import get_model
from jaxnets.train import TrainState, train_step

_QUICK = flags.DEFINE_bool("quick", False, "MLP only, 2 trials of 2 steps, no torch.compile.")
_TRIALS = flags.DEFINE_integer("trials", 5, "Interleaved timing rounds (>= 5 for the record).")
_STEPS = flags.DEFINE_integer("steps", 3, "Steps per timing round.")
_MODELS = flags.DEFINE_list("models", ["mlp", "lenet", "resnet18"], "Models to time.")
_SCALING = flags.DEFINE_bool("scaling", True, "Batch-size scaling for LeNet and ResNet-18.")
_SCALING_BATCHES = flags.DEFINE_list(
  "scaling_batches", ["32", "64", "128", "256", "512"], "Batch sizes of the scaling rows."
)
_TORCH_COMPILE = flags.DEFINE_bool("torch_compile", True, "Also time torch.compile.")
_SWEEP = flags.DEFINE_bool("sweep", True, "Time the vmapped sweep of MLPs.")
_CURVATURE = flags.DEFINE_bool("curvature", True, "Curvature vs PyHessian (needs pyhessian).")
_JSON = flags.DEFINE_string("json", "runs/benchmarks/results.json", "Where to write the JSON.")
_APPEND = flags.DEFINE_bool("append", False, "Append the table to benchmarks/RESULTS.md.")

DEFAULT_BATCH = {"mlp": 100, "lenet": 256, "resnet18": 128}
INPUT = {"mlp": (40,), "lenet": (28, 28, 1), "resnet18": (32, 32, 3)}


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
  """CPU model, cores, devices, library versions, date and load."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    cpu = names[0] if names else cpu
  except OSError:
    pass
  versions = {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__}
  versions["numpy"] = np.__version__
  torch = _torch()
  if torch is not None:
    versions["torch"] = torch.__version__
  return {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu": cpu,
    "cores": os.cpu_count(),
    "devices": [str(d) for d in jax.devices()],
    "backend": jax.default_backend(),
    "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    "versions": versions,
  }


def _torch():
  try:
    import torch
  except ImportError:
    return None
  torch.set_num_threads(os.cpu_count() or 1)
  return torch


def peak_rss_mib() -> float:
  """The process's peak resident memory so far (Linux: ``ru_maxrss`` is in KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- FLOPs


def analytic_flops(model: nn.Module, variables: Any, x: jax.Array) -> float:
  """3 x 2 x the forward multiply-adds of every module with a ``kernel`` (dense or conv).

  A module's multiply-adds are ``output.size * kernel.size / kernel.shape[-1]`` (output
  elements times the fan-in, grouped convolutions included); the backward pass costs two
  forward passes (input and weight gradients). Elementwise work is not counted.
  """
  macs = []

  def count(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__" and context.module.has_variable("params", "kernel"):
      kernel = context.module.get_variable("params", "kernel")
      macs.append(np.size(out) * np.size(kernel) / np.shape(kernel)[-1])
    return out

  with nn.intercept_methods(count):
    jax.eval_shape(lambda v: model.apply(v, x, train=True, mutable=True), variables)
  return 6.0 * float(sum(macs))


def xla_flops(compiled: Any) -> float | None:
  """FLOPs of a compiled program by XLA's cost analysis (None when unavailable)."""
  try:
    cost = compiled.cost_analysis()
  except Exception:  # noqa: BLE001 - some backends have none.
    return None
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  flops = cost.get("flops") if cost else None
  return float(flops) if flops else None


def matmul_flops_per_s(n: int, trials: int) -> dict[str, float]:
  """The float32 ``n x n`` matmul ceiling of jax (and torch), best of ``trials``."""
  a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
  mm = jax.jit(jnp.matmul).lower(a, a).compile()
  jax.block_until_ready(mm(a, a))
  best = min(_timed(lambda: jax.block_until_ready(mm(a, a))) for _ in range(trials))
  out = {"jax": 2 * n**3 / best}
  torch = _torch()
  if torch is not None:
    t = torch.from_numpy(np.array(a))
    torch.mm(t, t)
    out["torch"] = 2 * n**3 / min(_timed(lambda: torch.mm(t, t)) for _ in range(trials))
  return out


def _timed(fn: Callable[[], Any]) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


# --------------------------------------------------------------------------- jaxnets steps


def jax_model(name: str) -> nn.Module:
  if name == "mlp":
    return get_model("mlp", hidden=(100, 100), num_classes=10)
  if name == "lenet":
    return get_model("lenet", num_classes=10)
  if name == "resnet18":
    return get_model("resnet18", num_classes=10, small_input=True)
  raise ValueError(f"Unknown benchmark model {name!r}; valid: {sorted(DEFAULT_BATCH)}.")


def _batch(name: str, batch: int) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(0)
  x = rng.normal(size=(batch,) + INPUT[name]).astype(np.float32)
  return {"x": x, "y": rng.integers(0, 10, batch).astype(np.int32)}


def jax_step(name: str, batch: int) -> tuple[Callable[[int], None], dict[str, Any]]:
  """A function running ``k`` jaxnets training steps, and the step's compile facts."""
  model = jax_model(name)
  host = _batch(name, batch)
  state = TrainState.create(
    model=model,
    tx=optax.adam(1e-3),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=jnp.asarray(host["x"][:1]),
  )
  data = {k: jnp.asarray(v) for k, v in host.items()}
  start = time.perf_counter()
  compiled = jax.jit(train_step, donate_argnums=0).lower(state, data).compile()
  compile_s = time.perf_counter() - start
  variables = {"params": state.params}
  if state.batch_stats:
    variables["batch_stats"] = state.batch_stats
  facts = {
    "compile_s": compile_s,
    "flops_analytic": analytic_flops(model, variables, jnp.asarray(host["x"])),
    "flops_xla": xla_flops(compiled),
  }
  return _runner(compiled, state, data), facts


def _runner(compiled: Callable, state: Any, data: Any) -> Callable[[int], None]:
  """``run(k)``: ``k`` steps of a compiled, state-donating step, carrying the state across calls."""
  box = [state]

  def run(k: int) -> None:
    s = box[0]
    for _ in range(k):
      s, metrics = compiled(s, data)
    jax.block_until_ready(metrics["loss"])
    box[0] = s

  return run


def jax_sweep_step(members: int, batch: int = 100) -> Callable[[int], None]:
  """``k`` steps of ``members`` MLPs stacked and trained in one vmapped program."""
  model = jax_model("mlp")
  host = _batch("mlp", batch)
  tx = optax.adam(1e-3)  # One optimizer object: the stacked states share their static fields.
  states = [
    TrainState.create(
      model=model,
      tx=tx,
      loss_fn=losses.softmax_cross_entropy,
      seed=i,
      sample_x=jnp.asarray(host["x"][:1]),
    )
    for i in range(members)
  ]
  state = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *states)
  data = {k: jnp.asarray(v) for k, v in host.items()}
  step = jax.jit(jax.vmap(train_step, in_axes=(0, None)), donate_argnums=0)
  compiled = step.lower(state, data).compile()
  return _runner(compiled, state, data)


# --------------------------------------------------------------------------- PyTorch steps


def torch_model(name: str):
  """The same architectures in PyTorch (NCHW; ResNet-18 as torchvision lays it out)."""
  torch = _torch()
  tnn = torch.nn
  if name == "mlp":
    return tnn.Sequential(
      tnn.Linear(40, 100), tnn.ReLU(), tnn.Linear(100, 100), tnn.ReLU(), tnn.Linear(100, 10)
    )
  if name == "lenet":
    return tnn.Sequential(
      tnn.Conv2d(1, 6, 5, padding=2),
      tnn.Sigmoid(),
      tnn.AvgPool2d(2),
      tnn.Conv2d(6, 16, 5),
      tnn.Sigmoid(),
      tnn.AvgPool2d(2),
      tnn.Flatten(),
      tnn.Linear(400, 120),
      tnn.Sigmoid(),
      tnn.Linear(120, 84),
      tnn.Sigmoid(),
      tnn.Linear(84, 10),
    )

  class Block(tnn.Module):
    def __init__(self, c_in, c_out, stride):
      super().__init__()
      self.conv1 = tnn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
      self.bn1 = tnn.BatchNorm2d(c_out)
      self.conv2 = tnn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
      self.bn2 = tnn.BatchNorm2d(c_out)
      self.downsample = None
      if stride != 1 or c_in != c_out:
        self.downsample = tnn.Sequential(
          tnn.Conv2d(c_in, c_out, 1, stride, bias=False), tnn.BatchNorm2d(c_out)
        )

    def forward(self, x):
      out = torch.relu(self.bn1(self.conv1(x)))
      out = self.bn2(self.conv2(out))
      return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

  layers = [tnn.Conv2d(3, 64, 3, 1, 1, bias=False), tnn.BatchNorm2d(64), tnn.ReLU()]
  c_in = 64
  for i, c in enumerate((64, 128, 256, 512)):
    stride = 1 if i == 0 else 2
    layers += [Block(c_in, c, stride), Block(c, c, 1)]
    c_in = c
  layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(512, 10)]
  return tnn.Sequential(*layers)


def torch_step(name: str, batch: int, compiled: bool) -> Callable[[int], None]:
  torch = _torch()
  host = _batch(name, batch)
  x = torch.from_numpy(host["x"] if host["x"].ndim == 2 else host["x"].transpose(0, 3, 1, 2))
  x = x.contiguous()
  y = torch.from_numpy(host["y"].astype(np.int64))
  model = torch_model(name).train()
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)
  loss_fn = torch.nn.CrossEntropyLoss()

  def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss

  if compiled:
    step = torch.compile(step)

  def run(k: int) -> None:
    for _ in range(k):
      loss = step()
    float(loss.detach())

  return run


# --------------------------------------------------------------------------- timing


def interleaved(runners: dict[str, Callable[[int], None]], trials: int, steps: int) -> dict:
  """Warm-up once, then ``trials`` round-robin rounds of ``steps`` steps per runner."""
  for run in runners.values():
    run(1)
  wall = {k: [] for k in runners}
  cpu = {k: [] for k in runners}
  for _ in range(trials):
    for key, run in runners.items():
      w, c = time.perf_counter(), time.process_time()
      run(steps)
      wall[key].append((time.perf_counter() - w) / steps)
      cpu[key].append((time.process_time() - c) / steps)
  return {
    k: {
      "median_s": statistics.median(wall[k]),
      "min_s": min(wall[k]),
      "min_cpu_s": min(cpu[k]),
    }
    for k in runners
  }


def bench_model(name: str, batch: int, trials: int, steps: int, compile_torch: bool) -> list:
  """Rows for one model and batch size: jaxnets, torch eager, torch.compile."""
  runners, facts = {}, {}
  runners["jaxnets"], facts = jax_step(name, batch)
  if _torch() is not None:
    runners["torch_eager"] = torch_step(name, batch, compiled=False)
    if compile_torch:
      try:
        run = torch_step(name, batch, compiled=True)
        start = time.perf_counter()
        run(1)
        facts["torch_compile_s"] = time.perf_counter() - start
        runners["torch_compile"] = run
      except Exception as e:  # noqa: BLE001 - torch.compile fails on some setups.
        facts["torch_compile_error"] = f"{type(e).__name__}: {str(e)[:200]}"
  times = interleaved(runners, trials, steps)
  best_torch = min((t["min_s"] for k, t in times.items() if k != "jaxnets"), default=None)
  best_torch_cpu = min((t["min_cpu_s"] for k, t in times.items() if k != "jaxnets"), default=None)
  rows = []
  for impl, t in times.items():
    row = {"model": name, "batch": batch, "impl": impl, **t, "examples_per_s": batch / t["min_s"]}
    row["flops_analytic"] = facts["flops_analytic"]
    if impl == "jaxnets":
      row.update(compile_s=facts["compile_s"], flops_xla=facts["flops_xla"])
    elif impl == "torch_compile":
      row["compile_s"] = facts.get("torch_compile_s")
    row["achieved_flops_per_s"] = facts["flops_analytic"] / t["min_s"]
    row["vs_torch_best"] = best_torch / t["min_s"] if best_torch else None
    row["vs_torch_best_cpu"] = best_torch_cpu / t["min_cpu_s"] if best_torch_cpu else None
    row["peak_rss_mib"] = peak_rss_mib()
    rows.append(row)
  if "torch_compile_error" in facts:
    rows.append({"model": name, "batch": batch, "impl": "torch_compile", **facts})
  return rows


def bench_sweep(members: int, trials: int, steps: int) -> list:
  """N MLPs in one vmapped step against one MLP's step (same batch)."""
  runners = {"jaxnets_single": jax_step("mlp", 100)[0], "jaxnets_sweep": jax_sweep_step(members)}
  times = interleaved(runners, trials, steps)
  single, sweep = times["jaxnets_single"]["min_s"], times["jaxnets_sweep"]["min_s"]
  return [
    {
      "model": f"mlp sweep x{members}",
      "batch": 100,
      "impl": "jaxnets vmap",
      **times["jaxnets_sweep"],
      "member_steps_per_s": members / sweep,
      "vs_sequential_single_steps": members * single / sweep,
      "peak_rss_mib": peak_rss_mib(),
    }
  ]


# --------------------------------------------------------------------------- report


def _fmt(v: Any, spec: str) -> str:
  return "—" if v is None else format(v, spec)


def format_table(rows: list[dict], ceiling: dict[str, float]) -> str:
  """The training-step rows as a Markdown table (FLOP/s as a fraction of jax's matmul)."""
  lines = [
    "| model | batch | impl | min ms | median ms | CPU ms | ex/s | vs torch best (wall, CPU) "
    "| compile s | GFLOP/step (analytic, XLA) | of matmul | peak RSS MiB |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for r in rows:
    if "min_s" not in r:
      lines.append(
        f"| {r['model']} | {r['batch']} | {r['impl']} | failed: {r.get('torch_compile_error')} |"
      )
      continue
    gf = r.get("flops_analytic")
    gflop = (
      f"{_fmt(gf and gf / 1e9, '.3f')}, {_fmt(r.get('flops_xla') and r['flops_xla'] / 1e9, '.3f')}"
    )
    frac = r.get("achieved_flops_per_s")
    ratio = f"{_fmt(r.get('vs_torch_best'), '.2f')}, {_fmt(r.get('vs_torch_best_cpu'), '.2f')}"
    if "member_steps_per_s" in r:
      ratio = f"{r['vs_sequential_single_steps']:.2f} vs {r['model'][-2:]} single steps"
    lines.append(
      f"| {r['model']} | {r['batch']} | {r['impl']} | {1e3 * r['min_s']:.2f} | "
      f"{1e3 * r['median_s']:.2f} | {1e3 * r['min_cpu_s']:.2f} | "
      f"{_fmt(r.get('examples_per_s'), ',.0f')} | {ratio} | {_fmt(r.get('compile_s'), '.2f')} | "
      f"{gflop} | {_fmt(frac and frac / ceiling['jax'], '.1%')} | {r['peak_rss_mib']:.0f} |"
    )
  return "\n".join(lines)


def run_all(
  *,
  quick: bool,
  models: list[str],
  trials: int,
  steps: int,
  scaling: bool,
  scaling_batches: list[int],
  compile_torch: bool,
  sweep: bool,
  curvature: bool,
) -> dict[str, Any]:
  """Runs the benchmarks; returns ``{"machine", "matmul_flops_per_s", "rows", "curvature"}``."""
  if quick:
    models, trials, steps, scaling, compile_torch, curvature = ["mlp"], 2, 2, False, False, False
  out: dict[str, Any] = {"machine": machine(), "quick": quick}
  out["matmul_n"] = 512 if quick else 2048
  out["matmul_flops_per_s"] = matmul_flops_per_s(out["matmul_n"], 3 if quick else 10)
  rows = []
  for name in models:
    rows += bench_model(name, DEFAULT_BATCH[name], trials, steps, compile_torch)
  if scaling:
    for name in [m for m in models if m in ("lenet", "resnet18")]:
      for batch in scaling_batches:
        if batch != DEFAULT_BATCH[name]:
          rows += bench_model(name, batch, trials, steps, False)
  if sweep:
    rows += bench_sweep(2 if quick else 16, trials, steps)
  out["rows"] = rows
  out["curvature"] = None
  if curvature:
    try:
      import pyhessian  # noqa: F401
    except ImportError:
      pass
    else:
      from benchmarks import curvature_pyhessian

      out["curvature"] = curvature_pyhessian.run(repeats=max(3, trials // 2))
  return out


def report(out: dict[str, Any]) -> str:
  """The Markdown section appended to RESULTS.md (and printed)."""
  m = out["machine"]
  c = out["matmul_flops_per_s"]
  text = [
    f"### `python -m benchmarks.run` on {m['date']}",
    "",
    f"Machine: {m['cpu']}, {m['cores']} cores, devices {', '.join(m['devices'])}; load average "
    f"{_fmt(m['load_average'] and m['load_average'][0], '.1f')}; "
    + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    + f". Float32 matmul ceiling ({out['matmul_n']}^2): "
    + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in c.items())
    + ".",
    "",
    format_table(out["rows"], c),
  ]
  if out.get("curvature"):
    from benchmarks import curvature_pyhessian

    text += ["", "Curvature vs PyHessian:", "", curvature_pyhessian.format_table(out["curvature"])]
  return "\n".join(text) + "\n"


def main(argv):
  del argv
  out = run_all(
    quick=_QUICK.value,
    models=_MODELS.value,
    trials=_TRIALS.value,
    steps=_STEPS.value,
    scaling=_SCALING.value,
    scaling_batches=[int(b) for b in _SCALING_BATCHES.value],
    compile_torch=_TORCH_COMPILE.value,
    sweep=_SWEEP.value,
    curvature=_CURVATURE.value,
  )
  text = report(out)
  print(text)
  os.makedirs(os.path.dirname(os.path.abspath(_JSON.value)), exist_ok=True)
  with open(_JSON.value, "w") as f:
    json.dump(out, f, indent=1, default=str)
  if _APPEND.value:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    with open(path, "a") as f:
      f.write("\n" + text)


if __name__ == "__main__":
  app.run(main)
