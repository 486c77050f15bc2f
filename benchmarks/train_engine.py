"""Epoch time of the training engine: one ``lax.scan`` per epoch vs a Python loop of jitted steps.

``train_and_evaluate`` picks the scan path for convolution-free models and the per-step path
for convolutional ones on XLA:CPU (``config.scan_epochs=None``). This benchmark measures both
paths for both kinds of model in one run, so the choice rests on a ratio, not a guess.

Command:
  python -m benchmarks.train_engine
"""

import time

import numpy as np
from absl import app, flags

from experiments.configs import default
from jaxnets.train import loop, reporting

_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs per path (after one warm-up).")

_MODELS = {
  "mlp (digits 8x8, batch 32)": ({"name": "mlp", "hidden": (256,), "num_classes": 10}, None, 32),
  "lenet_modern (digits 28x28, batch 256)": ({"name": "lenet_modern", "num_classes": 10}, 28, 256),
}


def epoch_seconds(model: dict, image_size, batch_size: int, scan: bool, repeats: int) -> float:
  config = default.get_config()
  config.model, config.image_size, config.batch_size = model, image_size, batch_size
  config.scan_epochs, config.progress_bar = scan, False
  trainer = loop._Trainer(config, "/tmp/jaxnets_bench_engine")
  bar = reporting.ProgressBar(0, enabled=False)
  trainer.run_epoch(0, bar, None)  # Compile.
  times = []
  for epoch in range(1, repeats + 1):
    t0 = time.perf_counter()
    trainer.run_epoch(epoch, bar, None)
    times.append(time.perf_counter() - t0)
  return float(np.median(times)), trainer.steps_per_epoch


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
