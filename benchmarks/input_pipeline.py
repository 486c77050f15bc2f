"""Is the input pipeline ever the bottleneck? Data wait per step and memory over many epochs.

On embedded (device-resident) data an epoch costs the host one shuffled index array
(:meth:`InMemoryData.indices`, numpy) and, in the per-step loop, one row slice per step; the
rows are gathered on the device inside the compiled step. This script times, per epoch, that
host-side data work against the epoch's training time (the engine's :class:`EpochRunner`,
per-step loop and scanned epochs), and records the process's resident memory (psutil) after
every epoch to show that it does not grow.

Command:
  python -m benchmarks.input_pipeline [--model=mnist1d_mlp --epochs=30]
"""

import time

import numpy as np
import optax
import psutil
from absl import app, flags

from jaxnets import data as jdata
from jaxnets import losses
from jaxnets.models import get_model
from jaxnets.train import EpochRunner, InMemoryData, TrainState, sharding

_MODEL = flags.DEFINE_string("model", "mnist1d_mlp", "Model (registry name).")
_DATASET = flags.DEFINE_string("dataset", "mnist1d", "Embedded dataset.")
_EPOCHS = flags.DEFINE_integer("epochs", 30, "Epochs per loop kind.")
_BATCH = flags.DEFINE_integer("batch_size", 100, "Batch size.")


def measure(model_name: str, dataset: str, epochs: int, batch_size: int, scan: bool) -> dict:
  """Per-epoch host data time, training time and RSS for one loop kind."""
  train = jdata.load(dataset, "train")
  mesh = sharding.make_mesh()
  data = InMemoryData({"x": train["x"], "y": train["y"]}, batch_size, mesh)
  state = TrainState.create(
    model=get_model(model_name),
    tx=optax.adam(1e-3),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=np.asarray(train["x"][:1]),
  )
  runner = EpochRunner(state, data, mesh, scan=scan)
  proc = psutil.Process()
  data_s, epoch_s, rss = [], [], []
  for epoch in range(epochs):
    start = time.perf_counter()
    idx = data.indices(epoch, 0)  # The host's whole share of an epoch's data work ...
    rows = [idx[s] for s in range(data.steps_per_epoch)]  # ... and the per-step slices.
    data_s.append(time.perf_counter() - start)
    del rows
    start = time.perf_counter()
    state, _ = runner.run(state, epoch, 0)  # Draws the same indices again, inside.
    epoch_s.append(time.perf_counter() - start)
    rss.append(proc.memory_info().rss / 2**20)
  warm = slice(1, None)  # The first epoch warms caches.
  return {
    "loop": "scan" if scan else "per-step",
    "steps_per_epoch": data.steps_per_epoch,
    "data_ms_per_epoch": 1e3 * float(np.median(data_s[warm])),
    "train_ms_per_epoch": 1e3 * float(np.median(epoch_s[warm])),
    "data_fraction": float(np.median(np.asarray(data_s[warm]) / np.asarray(epoch_s[warm]))),
    "rss_mib_epoch2": rss[1],
    "rss_mib_last": rss[-1],
    "rss_growth_mib_per_epoch": float(np.polyfit(np.arange(len(rss) - 1), rss[1:], 1)[0]),
  }


def main(argv):
  del argv
  print(f"{_MODEL.value} on {_DATASET.value}, batch {_BATCH.value}, {_EPOCHS.value} epochs")
  print(
    "| loop | steps/epoch | host data ms/epoch | train ms/epoch | data / train | RSS MiB "
    "(epoch 2 -> last) | RSS slope MiB/epoch |"
  )
  print("|---|---:|---:|---:|---:|---:|---:|")
  for scan in (False, True):
    r = measure(_MODEL.value, _DATASET.value, _EPOCHS.value, _BATCH.value, scan)
    print(
      f"| {r['loop']} | {r['steps_per_epoch']} | {r['data_ms_per_epoch']:.2f} | "
      f"{r['train_ms_per_epoch']:.1f} | {r['data_fraction']:.1%} | "
      f"{r['rss_mib_epoch2']:.0f} -> {r['rss_mib_last']:.0f} | "
      f"{r['rss_growth_mib_per_epoch']:.3f} |"
    )


if __name__ == "__main__":
  app.run(main)
