"""Cost of curvature estimates relative to one gradient, on the CPU.

Model and data: the edge-of-stability setting of ``experiments/curvature.py``: an MLP with two
tanh hidden layers of 64 (8970 parameters) on 500 ``digits`` images, squared loss on one-hot
targets, evaluated over the dataset in batches of ``--batch_size``. Everything is timed
after compilation, round-robin in ONE run so that the ratios share the machine's
conditions. The machine is shared, so ratios use the **minimum** over ``--repeats`` (the
uncontended estimate); the median is printed to show the contention.

* ``gradient``: one full-dataset gradient (``jax.grad``, scanned over the batches) — the unit;
* ``hvp``: one Hessian-vector product (forward-over-reverse, same batches), the jitted core;
* ``hvp_api``: the same through the public ``analysis.hvp``, which also checks its input on the
  host (finite values, shapes, a scalar loss) on every call;
* ``lanczos``: ``top_eigenvalues`` with ``--lanczos_iters`` iterations (the jitted loop plus
  the host-side tridiagonal eigensolve and Ritz vector);
* ``trace``: ``hessian_trace`` with ``--num_probes`` Rademacher probes;
* ``dense`` (with ``--dense``, the default): the full Hessian by ``jax.hessian`` (one HVP per
  parameter), for scale; timed once, after the round-robin (it takes tens of seconds).

Command:
  python -m benchmarks.curvature [--lanczos_iters=20 --num_probes=50 --repeats=15 --dense]
"""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from jax.flatten_util import ravel_pytree

from jaxnets import analysis, losses
from jaxnets import data as jdata
from jaxnets.analysis import curvature
from jaxnets.models import get_model

_EXAMPLES = flags.DEFINE_integer("num_examples", 500, "Dataset size.")
_BATCH = flags.DEFINE_integer("batch_size", 250, "Examples per HVP/gradient evaluation.")
_ITERS = flags.DEFINE_integer("lanczos_iters", 20, "Lanczos iterations for the top eigenvalue.")
_PROBES = flags.DEFINE_integer("num_probes", 50, "Hutchinson probes for the trace.")
_REPEATS = flags.DEFINE_integer("repeats", 15, "Timed repetitions (min and median reported).")
_DENSE = flags.DEFINE_bool("dense", True, "Also time the dense jax.hessian.")

MODEL = get_model("mlp", hidden=(64, 64), num_classes=10, activation="tanh")


def loss_fn(params, batch):
  out = MODEL.apply({"params": params}, batch["x"])
  return losses.squared_loss(out, losses.one_hot(batch["y"], 10)).mean()


@functools.partial(jax.jit, static_argnames="batch_size")
def dataset_gradient(params, data, batch_size):
  """Mean gradient over the dataset, scanned over equal batches (the HVP's batching)."""
  n = data["y"].shape[0]
  batches = jax.tree_util.tree_map(
    lambda a: a.reshape((n // batch_size, batch_size) + a.shape[1:]), data
  )
  zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
  total, _ = jax.lax.scan(
    lambda acc, b: (jax.tree_util.tree_map(jnp.add, acc, jax.grad(loss_fn)(params, b)), None),
    zeros,
    batches,
  )
  return jax.tree_util.tree_map(lambda g: g / (n // batch_size), total)


def main(argv):
  del argv
  n, bs = _EXAMPLES.value, _BATCH.value
  if n % bs:
    raise app.UsageError(f"--num_examples={n} must be a multiple of --batch_size={bs}.")
  train = jdata.load("digits", "train")
  data = {"x": jnp.asarray(train["x"][:n]), "y": jnp.asarray(train["y"][:n])}
  params = MODEL.init(jax.random.key(0), data["x"][:1])["params"]
  flat, unravel = ravel_pytree(params)
  v = unravel(jax.random.normal(jax.random.key(1), flat.shape))
  key = jax.random.key(2)

  tasks = {
    "gradient": lambda: dataset_gradient(params, data, bs),
    "hvp": lambda: curvature.hvp_core(loss_fn, params, v, data, bs),
    "hvp_api": lambda: analysis.hvp(loss_fn, params, v, data=data, batch_size=bs),
    "lanczos": lambda: (
      analysis.top_eigenvalues(
        loss_fn, params, 1, key, data=data, batch_size=bs, num_iters=_ITERS.value, early_stop=False
      ).eigenvalues
    ),
    "trace": lambda: (
      analysis.hessian_trace(loss_fn, params, key, _PROBES.value, data=data, batch_size=bs).trace
    ),
  }
  for fn in tasks.values():  # Compile (and warm up) everything first.
    jax.block_until_ready(fn())
  inner = {"gradient": 20, "hvp": 20, "hvp_api": 5}  # Calls per timing for the fast ones.
  times = {name: [] for name in tasks}
  for _ in range(_REPEATS.value):
    for name, fn in tasks.items():
      start = time.perf_counter()
      for _ in range(inner.get(name, 1)):
        out = fn()
      jax.block_until_ready(out)
      times[name].append((time.perf_counter() - start) / inner.get(name, 1))
  med = {name: float(np.median(t)) for name, t in times.items()}
  best = {name: float(np.min(t)) for name, t in times.items()}
  if _DENSE.value:
    dense_fn = jax.jit(jax.hessian(lambda q: loss_fn(unravel(q), data))).lower(flat).compile()
    grads = []
    start = time.perf_counter()
    jax.block_until_ready(dense_fn(flat))
    med["dense"] = best["dense"] = time.perf_counter() - start
    for _ in range(_REPEATS.value):  # The gradient again, right next to the dense run.
      start = time.perf_counter()
      for _ in range(inner["gradient"]):
        out = tasks["gradient"]()
      jax.block_until_ready(out)
      grads.append((time.perf_counter() - start) / inner["gradient"])
    med["gradient"] = float(np.median(times["gradient"] + grads))
    best["gradient"] = float(np.min(times["gradient"] + grads))
  unit = best["gradient"]
  units = {
    "gradient": 1,
    "hvp": 1,
    "hvp_api": 1,
    "lanczos": _ITERS.value,
    "trace": _PROBES.value,
    "dense": flat.size,
  }
  print(
    f"{flat.size} parameters, {n} examples in batches of {bs}, "
    f"{jax.devices()[0].platform}, min/median of {_REPEATS.value} (dense: one run)"
  )
  print("| task | HVPs | min ms | / gradient | / (HVPs x gradient) | median ms |")
  print("|---|---:|---:|---:|---:|---:|")
  for name, t in best.items():
    hvps = units[name] if name != "gradient" else 0
    per = f"{t / (units[name] * unit):.2f}" if name != "gradient" else "—"
    print(f"| {name} | {hvps} | {1e3 * t:.2f} | {t / unit:.1f} | {per} | {1e3 * med[name]:.2f} |")


if __name__ == "__main__":
  app.run(main)
