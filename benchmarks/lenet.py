"""LeNet-5 training-step time and examples/s (batch 256, 28x28x1) on the CPU.

One training step = the engine's ``jaxnets.train.train_step`` (forward, softmax
cross-entropy, backward, Adam update) as one jitted function with the state donated.
Variants, timed round-robin in ONE run so that the ratios share the machine's conditions:

* ``flax``: everything built in: ``flax.linen.Conv`` (XLA's convolution) and
  ``flax.linen.avg_pool``/``max_pool`` (``lax.reduce_window``);
* ``default``: LeNet's defaults: Flax convolutions, from-scratch pooling
  (:func:`jaxnets.nn.ops.pool2d`: strided slices, then max/mean);
* ``scratch``: from-scratch convolutions too (:func:`jaxnets.nn.ops.conv2d`, im2col: strided
  slices + one matrix product);
* ``*_scan``: ``lax.scan`` over ``--scan_length`` steps in one compiled call (the epoch-as-scan
  path), reported per step;
* ``modern_*``: the ReLU + max-pool variant, with the same three implementations;
* ``torch_eager``: the classic net and optimizer in PyTorch eager mode (NCHW; only when
  ``torch`` is importable; never a jaxnets dependency).

Command:
  python -m benchmarks.lenet [--batch_size=256 --steps=5 --repeats=24]
"""

from __future__ import annotations

import functools
import os
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags

from jaxnets.losses import softmax_cross_entropy
from jaxnets.models.lenet import LeNet
from jaxnets.train import TrainState, train_step

_BATCH = flags.DEFINE_integer("batch_size", 256, "Examples per step.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per repetition.")
_REPEATS = flags.DEFINE_integer("repeats", 24, "Repetitions (round-robin over variants).")
_SCAN = flags.DEFINE_integer("scan_length", 5, "Steps per lax.scan call in the *_scan variants.")
_VARIANTS = flags.DEFINE_list(
  "variants",
  [
    "flax",
    "default",
    "scratch",
    "flax_scan",
    "scratch_scan",
    "modern_flax",
    "modern_default",
    "modern_scratch",
    "torch_eager",
  ],
  "Variants to time (torch_eager is skipped without torch).",
)

# name -> LeNet attributes (a "_scan" suffix adds the lax.scan path).
IMPLS = {
  "flax": dict(conv_impl="flax", pool_impl="flax"),
  "default": dict(conv_impl="flax", pool_impl="scratch"),
  "scratch": dict(conv_impl="scratch", pool_impl="scratch"),
}
LEARNING_RATE = 3e-3


def _jax_variant(name: str, batch: int, steps: int, scan_length: int) -> Callable[[], float]:
  """Builds a variant; returns a function timing ``steps`` steps (seconds)."""
  modern = name.startswith("modern_")
  impl = name.removeprefix("modern_").removesuffix("_scan")
  if impl not in IMPLS:
    raise ValueError(f"Unknown variant {name!r}; valid: {_VARIANTS.default}.")
  model = LeNet(
    activation="relu" if modern else "sigmoid", pool="max" if modern else "avg", **IMPLS[impl]
  )
  rng = np.random.default_rng(0)
  batch_data = {
    "x": jnp.asarray(rng.uniform(size=(batch, 28, 28, 1)), jnp.float32),
    "y": jnp.asarray(rng.integers(0, 10, batch), jnp.int32),
  }
  # The engine's state and step: forward, loss, backward and Adam update in one function.
  state = [
    jax.jit(
      lambda x: TrainState.create(
        model=model,
        tx=optax.adam(LEARNING_RATE),
        loss_fn=softmax_cross_entropy,
        seed=0,
        sample_x=x,
      )
    )(batch_data["x"][:1])
  ]

  if name.endswith("_scan"):

    @functools.partial(jax.jit, donate_argnums=0)
    def many(state, batch):
      return jax.lax.scan(lambda s, _: train_step(s, batch), state, None, length=scan_length)

    calls = max(1, steps // scan_length)

    def run() -> float:
      t0 = time.perf_counter()
      for _ in range(calls):
        state[0], metrics = many(state[0], batch_data)
      jax.block_until_ready((state, metrics))
      return (time.perf_counter() - t0) * steps / (calls * scan_length)
  else:
    step = jax.jit(train_step, donate_argnums=0)

    def run() -> float:
      t0 = time.perf_counter()
      for _ in range(steps):
        state[0], metrics = step(state[0], batch_data)
      jax.block_until_ready((state, metrics))
      return time.perf_counter() - t0

  run()  # Compile and warm up.
  return run


def _torch_variant(batch: int, steps: int) -> Callable[[], float] | None:
  try:
    import torch
  except ImportError:
    return None
  torch.manual_seed(0)
  net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 6, 5, padding=2),
    torch.nn.Sigmoid(),
    torch.nn.AvgPool2d(2, 2),
    torch.nn.Conv2d(6, 16, 5),
    torch.nn.Sigmoid(),
    torch.nn.AvgPool2d(2, 2),
    torch.nn.Flatten(),
    torch.nn.Linear(400, 120),
    torch.nn.Sigmoid(),
    torch.nn.Linear(120, 84),
    torch.nn.Sigmoid(),
    torch.nn.Linear(84, 10),
  )
  opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
  loss_fn = torch.nn.CrossEntropyLoss()
  x = torch.rand(batch, 1, 28, 28)
  y = torch.randint(0, 10, (batch,))

  def run() -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
      opt.zero_grad()
      loss = loss_fn(net(x), y)
      loss.backward()
      opt.step()
    float(loss.detach())
    return time.perf_counter() - t0

  run()
  return run


def main(argv):
  del argv
  batch, steps = _BATCH.value, _STEPS.value
  runners = {}
  for name in _VARIANTS.value:
    if name == "torch_eager":
      runner = _torch_variant(batch, steps)
      if runner is None:
        print("torch not importable: skipping torch_eager")
        continue
    else:
      runner = _jax_variant(name, batch, steps, _SCAN.value)
    runners[name] = runner
  times = {name: [] for name in runners}
  load_before = os.getloadavg()[0]
  for _ in range(_REPEATS.value):  # Round-robin, so every variant sees the same load.
    for name, runner in runners.items():
      times[name].append(runner() / steps)
  # On a shared machine the minimum over many short repetitions estimates the uncontended
  # time best; the median shows the spread.
  base = min(times["flax"]) if "flax" in times else None
  print(
    f"LeNet-5 training step, batch {batch}, 28x28x1, Adam; {jax.devices()[0].platform}, "
    f"{os.cpu_count()} CPUs, jax {jax.__version__}; {_REPEATS.value} repetitions x {steps} "
    f"steps; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
  )
  print(
    f"{'variant':16} | {'min ms/step':>11} | {'examples/s':>10} | {'flax/this':>9} | "
    f"{'median ms':>9}"
  )
  for name, ts in times.items():
    best = min(ts)
    ratio = f"{base / best:9.2f}" if base else "        -"
    print(
      f"{name:16} | {1e3 * best:11.2f} | {batch / best:10.0f} | {ratio} | "
      f"{1e3 * float(np.median(ts)):9.2f}"
    )


if __name__ == "__main__":
  app.run(main)
