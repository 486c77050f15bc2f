"""What on-device augmentation adds to a ResNet-18 training step on CPU.

One training step = the engine's ``jaxnets.train.train_step`` (forward, softmax
cross-entropy, backward, SGD with momentum, BatchNorm statistics) of ResNet-18 with the
small-input stem (3x3, no max pooling; ``--width`` scales the channels, default 1/8 as the
CPU config ``experiments/configs/resnet.py``), jitted with the state donated, at batch 128
on random 32x32x3 images in [0, 1]. Each variant is the same step with
``augment=`` one policy of :mod:`jaxnets.data.augment` (vmapped over the batch, one key per
example, inside the same compiled program), or none. All variants are compiled first, then
timed round-robin ``--repeats`` times in one run; the table gives the minimum and median
time per step and their ratio to the unaugmented step (the target: under 1.10). As the
step-time ratio of a loaded machine is noisy, each policy is also timed alone (the jitted
``apply_batch`` on the same batch, interleaved with the steps), as a share of the
unaugmented step.

Command:
  python -m benchmarks.augment [--policies=flip_crop,flip_crop_color] [--width=0.125]
      [--batch_size=128] [--steps=5] [--repeats=7]
"""

from __future__ import annotations

import functools
import time

import jax
import numpy as np
import optax
from absl import app, flags

from jaxnets import losses, models
from jaxnets.data import augment
from jaxnets.train import TrainState, train_step

_POLICIES = flags.DEFINE_list("policies", ["flip_crop", "flip_crop_color"], "Policies timed.")
_WIDTH = flags.DEFINE_float("width", 0.125, "ResNet-18 width multiplier (1.0: torchvision's).")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Images per step.")
_SIZE = flags.DEFINE_integer("image_size", 32, "Input side.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per repetition.")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Repetitions (round-robin).")
STRENGTHS = dict(crop_padding=4, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05)


def _stepper(policy: str, state: TrainState, batch: dict, steps: int):
  """A closure running ``steps`` compiled training steps; returns seconds per step."""
  op = augment.get_policy(policy, **STRENGTHS)
  aug = None if op is None else functools.partial(augment.apply_batch, op)
  step = jax.jit(functools.partial(train_step, augment=aug), donate_argnums=0)
  copy = jax.tree_util.tree_map(lambda v: v.copy() if isinstance(v, jax.Array) else v, state)
  holder = {"state": step(copy, batch)[0]}  # Compiles.
  jax.block_until_ready(holder["state"])

  def run() -> float:
    start = time.perf_counter()
    current = holder["state"]
    for _ in range(steps):
      current, metrics = step(current, batch)
    jax.block_until_ready(metrics["loss"])
    holder["state"] = current
    return (time.perf_counter() - start) / steps

  return run


def _augmenter(policy: str, batch: dict, steps: int):
  """A closure running the policy alone ``steps`` times (fresh keys); returns seconds per call."""
  op = augment.get_policy(policy, **STRENGTHS)
  run_op = jax.jit(lambda key, x: augment.apply_batch(op, key, x))
  keys = jax.random.split(jax.random.key(0), steps)
  jax.block_until_ready(run_op(keys[0], batch["x"]))  # Compiles.

  def run() -> float:
    start = time.perf_counter()
    for key in keys:
      out = run_op(key, batch["x"])
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / steps

  return run


def main(argv):
  del argv
  size, n = _SIZE.value, _BATCH.value
  model = models.get_model(
    "resnet18", num_classes=10, small_input=True, width_multiplier=_WIDTH.value
  )
  x = jax.random.uniform(jax.random.key(0), (n, size, size, 3))
  batch = {"x": x, "y": jax.random.randint(jax.random.key(1), (n,), 0, 10)}
  state = TrainState.create(
    model=model,
    tx=optax.sgd(0.01, momentum=0.9),
    loss_fn=losses.softmax_cross_entropy,
    seed=0,
    sample_x=x[:1],
  )
  device = jax.devices()[0]
  print(
    f"ResNet-18 (small-input stem, width x{_WIDTH.value}) training step, {size}x{size}x3, "
    f"batch {n}; {device.device_kind} ({jax.default_backend()}), jax {jax.__version__}; "
    f"{_REPEATS.value} x {_STEPS.value} steps, round-robin"
  )
  policies = ["none", *[p for p in _POLICIES.value if p != "none"]]
  runs = {p: _stepper(p, state, batch, _STEPS.value) for p in policies}
  runs.update({f"{p} alone": _augmenter(p, batch, _STEPS.value) for p in policies[1:]})
  times = {p: [] for p in runs}
  for _ in range(_REPEATS.value):
    for policy, run in runs.items():
      times[policy].append(run())
  base_min, base_med = min(times["none"]), float(np.median(times["none"]))
  print(f"{'augment':<18} | {'min ms':>8} | {'median ms':>9} | {'min ratio':>9} | median ratio")
  for policy, values in times.items():
    best, med = min(values), float(np.median(values))
    print(
      f"{policy:<18} | {best * 1e3:8.1f} | {med * 1e3:9.1f} | {best / base_min:9.3f} | "
      f"{med / base_med:.3f}"
    )


if __name__ == "__main__":
  app.run(main)
