"""Training throughput of the chapter-10 CNNs, float32 against mixed precision.

One training step = the engine's ``jaxnets.train.train_step`` (forward, float32 softmax
cross-entropy, backward, SGD with momentum, BatchNorm statistics) jitted with the state
donated, on random images. Every (model, dtype) pair is compiled first, then timed
round-robin ``--repeats`` times in one run; the table ranks by the minimum (the uncontended
estimate) and reports images/s and the mixed-precision speed-up.

On a GPU the defaults are the full ImageNet configurations (3x224x224, 1000 classes, batch
128, float32 vs bfloat16); on a CPU a reduced setting that finishes in a few minutes
(128x128 inputs, batch 8, ResNet-18 and ResNet-50; at 64x64 the last stage's 2x2 maps hit
a slow XLA:CPU convolution, see benchmarks/RESULTS.md).

Command:
  python -m benchmarks.modern_cnns [--models=resnet18,resnet50] [--image_size=224]
      [--batch_size=128] [--dtypes=float32,bfloat16] [--repeats=5]
"""

from __future__ import annotations

import time

import jax
import optax
from absl import app, flags

from jaxnets import losses, models
from jaxnets.train import TrainState, train_step

_MODELS = flags.DEFINE_list("models", None, "Registered names (default: by platform).")
_SIZE = flags.DEFINE_integer("image_size", None, "Input side (default: 224 GPU/TPU, 128 CPU).")
_BATCH = flags.DEFINE_integer("batch_size", None, "Images per step (default: 128 GPU/TPU, 8 CPU).")
_DTYPES = flags.DEFINE_list("dtypes", ["float32", "bfloat16"], "Computation dtypes.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per repetition.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Repetitions (round-robin).")
_CLASSES = flags.DEFINE_integer("num_classes", 1000, "Output classes.")


def _defaults() -> tuple[list[str], int, int]:
  if jax.default_backend() == "cpu":
    return ["resnet18", "resnet50"], 128, 8
  return ["resnet18", "resnet50", "vgg16", "alexnet", "googlenet"], 224, 128


def _stepper(name: str, dtype: str, size: int, batch: int, steps: int):
  """A closure running ``steps`` compiled training steps; returns seconds per step."""
  model = models.get_model(name, num_classes=_CLASSES.value, dtype=dtype)
  x = jax.random.uniform(jax.random.key(0), (batch, size, size, 3))
  y = jax.random.randint(jax.random.key(1), (batch,), 0, _CLASSES.value)
  state = TrainState.create(
    model=model,
    tx=optax.sgd(0.01, momentum=0.9),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=x[:1],
  )
  step = jax.jit(train_step, donate_argnums=0)
  holder = {"state": step(state, {"x": x, "y": y})[0]}  # Compiles.
  jax.block_until_ready(holder["state"])

  def run() -> float:
    start = time.perf_counter()
    current = holder["state"]
    for _ in range(steps):
      current, metrics = step(current, {"x": x, "y": y})
    jax.block_until_ready(metrics["loss"])
    holder["state"] = current
    return (time.perf_counter() - start) / steps

  return run


def main(argv):
  del argv
  names, size, batch = _defaults()
  names = _MODELS.value or names
  size, batch = _SIZE.value or size, _BATCH.value or batch
  device = jax.devices()[0]
  print(
    f"Training step, {size}x{size}x3, batch {batch}, SGD momentum; {device.device_kind} "
    f"({jax.default_backend()}), jax {jax.__version__}; {_REPEATS.value} x {_STEPS.value} steps"
  )
  runs = {(n, d): _stepper(n, d, size, batch, _STEPS.value) for n in names for d in _DTYPES.value}
  times = {key: [] for key in runs}
  for _ in range(_REPEATS.value):
    for key, run in runs.items():
      times[key].append(run())
  print(f"{'model':<12} | {'dtype':<9} | {'min ms/step':>11} | {'images/s':>9} | vs float32")
  for (name, dtype), values in times.items():
    best = min(values)
    base = min(times.get((name, "float32"), values))
    print(
      f"{name:<12} | {dtype:<9} | {best * 1e3:11.1f} | {batch / best:9.0f} | {base / best:9.2f}x"
    )


if __name__ == "__main__":
  app.run(main)
