"""Epoch time of the training engine: one ``lax.scan`` per epoch vs a Python loop of jitted steps.

``train_and_evaluate`` picks the scan path for convolution-free models and the per-step path
for convolutional ones on XLA:CPU (``config.scan_epochs=None``). This benchmark measures both
paths for both kinds of model in one run, through the engine's own ``EpochRunner`` on
device-resident data, so the choice rests on a ratio, not a guess.

Command:
  python -m benchmarks.train_engine
"""

import time

import jax
import numpy as np
from absl import app, flags

from jaxnets import data, losses, models, optim, train

_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs per path (after one warm-up).")

_MODELS = {
  "mlp (digits 8x8, batch 32)": (models.MLP(hidden=(256,), num_classes=10), None, 32),
  "lenet_modern (digits 28x28, batch 256)": (models.get_model("lenet_modern"), 28, 256),
}


def epoch_seconds(model, image_size, batch_size: int, scan: bool, repeats: int):
  """Median seconds per epoch (after a compiled warm-up epoch) and the steps per epoch."""
  mesh = train.sharding.make_mesh()
  source = train.InMemoryData(data.load("digits", "train", image_size=image_size), batch_size, mesh)
  state = train.TrainState.create(
    model=model,
    tx=optim.get_optimizer("momentum", 0.1),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=source.example["x"],
  )
  state = jax.device_put(state, train.sharding.replicated(mesh))
  runner = train.EpochRunner(state, source, mesh, scan=scan)
  state, _ = runner.run(state, 0, seed=0)
  times = []
  for epoch in range(1, repeats + 1):
    t0 = time.perf_counter()
    state, _ = runner.run(state, epoch, seed=0)
    times.append(time.perf_counter() - t0)
  return float(np.median(times)), source.steps_per_epoch


def main(argv):
  del argv
  print(
    f"{'model':42} | {'scan s/epoch':>12} | {'loop s/epoch':>12} | {'loop/scan':>9} | {'steps':>5}"
  )
  for label, (model, size, bs) in _MODELS.items():
    scan, steps = epoch_seconds(model, size, bs, True, _REPEATS.value)
    per_step, _ = epoch_seconds(model, size, bs, False, _REPEATS.value)
    print(f"{label:42} | {scan:12.4f} | {per_step:12.4f} | {per_step / scan:9.2f} | {steps:5d}")


if __name__ == "__main__":
  app.run(main)
