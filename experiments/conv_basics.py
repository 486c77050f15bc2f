r"""Course 9.1–9.3: cross-correlation, padding and stride, channels, pooling, LeNet's shapes.

Every number comes from the from-scratch ops in :mod:`jaxnets.nn.ops` and is cross-checked
against Flax/lax in the same run:

1. **Edge detection**: a 6×8 image, white (1) with a black (0) band in columns 2–5, and the
   kernel ``K = [1, −1]``. ``corr2d(X, K)`` is +1 where white turns black, −1 where black turns
   white and 0 elsewhere; on ``Xᵀ`` it is all zeros (the kernel sees vertical edges only).
2. **Learning the kernel back**: from a random 1×2 kernel, gradient descent on the summed
   squared error between ``conv2d(X, K̂)`` and ``Y = corr2d(X, K)`` recovers ``K ≈ [1, −1]``.

   .. math:: \hat K \leftarrow \hat K - \eta \nabla_{\hat K} \sum_{ij} (\hat Y_{ij} - Y_{ij})^2

3. **Output sizes** ``⌊(n + 2p − k + s)/s⌋`` for the course's examples, each checked against
   the shapes that ``conv2d`` and ``flax.linen.Conv`` produce.
4. **Parameter counts**: a conv layer with c_in = 2, c_out = 3, 3×3 kernel has 2·3·9 + 3 = 57;
   LeNet-5 has 61,706 (its layer-by-layer summary is printed).
5. **Channels and pooling**: the course's two-channel example ``[[56, 72], [104, 120]]``,
   1×1 convolution = matrix product per pixel, and max/average pooling with window, padding
   and stride.

Run:
  python -m experiments.conv_basics --workdir=runs/conv_basics

Writes ``edge_detection.png``, ``kernel_learning.png``, ``pooling.png`` and ``results.json``
into the workdir and prints a table.
"""

from __future__ import annotations

import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from jaxnets.models.lenet import LeNetClassic
from jaxnets.nn import ops

EDGE_KERNEL = np.array([[1.0, -1.0]], np.float32)
# The course's output-size examples: (input, kernel, padding, stride) per dimension (h, w).
SIZE_EXAMPLES = (
  ("3x3, padding 1", (8, 8), (3, 3), (1, 1), (1, 1)),
  ("5x3, padding (2, 1)", (8, 8), (5, 3), (2, 1), (1, 1)),
  ("3x3, padding 1, stride 2", (8, 8), (3, 3), (1, 1), (2, 2)),
  ("3x5, padding (0, 1), stride (3, 4)", (8, 8), (3, 5), (0, 1), (3, 4)),
)


def edge_image() -> np.ndarray:
  """The course's 6×8 image: ones with a band of zeros in columns 2..5."""
  x = np.ones((6, 8), np.float32)
  x[:, 2:6] = 0.0
  return x


def edge_detection() -> dict[str, Any]:
  x = edge_image()
  y = np.asarray(ops.corr2d(x, EDGE_KERNEL))
  y_t = np.asarray(ops.corr2d(x.T, EDGE_KERNEL))
  want = jax.lax.conv_general_dilated(
    x[None, :, :, None],
    EDGE_KERNEL[:, :, None, None],
    (1, 1),
    "VALID",
    dimension_numbers=("NHWC", "HWIO", "NHWC"),
  )
  return {
    "x": x,
    "y": y,
    "y_transposed": y_t,
    "black_to_white_columns": np.flatnonzero(y[0] < 0).tolist(),
    "white_to_black_columns": np.flatnonzero(y[0] > 0).tolist(),
    "transposed_max_abs": float(np.abs(y_t).max()),
    "max_abs_diff_vs_lax": float(np.abs(y - np.asarray(want)[0, :, :, 0]).max()),
  }


def learn_kernel(epochs: int, learning_rate: float, seed: int) -> dict[str, Any]:
  """Full-batch gradient descent on the kernel of a 1-in, 1-out 1×2 convolution (no bias)."""
  x = jnp.asarray(edge_image())[None, :, :, None]  # [1, 6, 8, 1]
  y = ops.conv2d(x, jnp.asarray(EDGE_KERNEL)[:, :, None, None])

  def loss(kernel):
    return jnp.sum((ops.conv2d(x, kernel) - y) ** 2)

  @jax.jit
  def descend(kernel):
    def step(kernel, _):
      value, grad = jax.value_and_grad(loss)(kernel)
      return kernel - learning_rate * grad, value

    return jax.lax.scan(step, kernel, None, length=epochs)

  # PyTorch's default Conv2d init, as in the course: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  bound = 1 / np.sqrt(2)
  kernel0 = jax.random.uniform(jax.random.key(seed), (1, 2, 1, 1), minval=-bound, maxval=bound)
  kernel, losses = descend(kernel0)
  return {
    "initial_kernel": np.asarray(kernel0).reshape(2).tolist(),
    "learned_kernel": np.asarray(kernel).reshape(2).tolist(),
    "losses": np.asarray(losses).tolist(),
    "final_loss": float(loss(kernel)),
    "kernel_error": float(np.abs(np.asarray(kernel).reshape(2) - EDGE_KERNEL[0]).max()),
  }


def output_sizes() -> list[dict[str, Any]]:
  rows = []
  for name, n, k, p, s in SIZE_EXAMPLES:
    formula = tuple(ops.conv_output_size(n[i], k[i], p[i], s[i]) for i in range(2))
    x = jnp.ones((1, *n, 1))
    scratch = ops.conv2d(x, jnp.ones((*k, 1, 1)), stride=s, padding=p).shape[1:3]
    flax_conv = nn.Conv(1, k, strides=s, padding=p)
    flax_shape = jax.eval_shape(
      lambda x, c=flax_conv: c.init_with_output(jax.random.key(0), x)[0], x
    ).shape[1:3]
    rows.append(
      {
        "example": name,
        "input": n,
        "formula": formula,
        "conv2d": tuple(scratch),
        "flax": tuple(flax_shape),
      }
    )
  return rows


def parameter_counts() -> dict[str, Any]:
  conv = nn.Conv(3, (3, 3))
  params = conv.init(jax.random.key(0), jnp.ones((1, 5, 5, 2)))["params"]
  lenet = ops.summary(LeNetClassic(), (1, 28, 28, 1))
  return {
    "conv_2_to_3_3x3": ops.count_params(params),
    "conv_formula": 2 * 3 * 9 + 3,
    "lenet_total": lenet.total_params,
    "lenet_summary": str(lenet),
    "lenet_layers": [list(r) for r in lenet.layers],
  }


def channels_and_pooling() -> dict[str, Any]:
  x2 = jnp.stack([jnp.arange(9.0).reshape(3, 3), jnp.arange(1.0, 10.0).reshape(3, 3)], -1)
  k2 = jnp.stack([jnp.array([[0.0, 1.0], [2.0, 3.0]]), jnp.array([[1.0, 2.0], [3.0, 4.0]])], -1)
  k3 = jnp.stack([k2, k2 + 1, k2 + 2], -1)
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(1, 3, 3, 3)).astype(np.float32)
  w = rng.uniform(size=(3, 2)).astype(np.float32)
  square = jnp.arange(9.0).reshape(3, 3)
  grid = jnp.arange(16.0).reshape(1, 4, 4, 1)
  grid2 = jnp.concatenate([grid, grid + 1], -1)
  window = jnp.arange(9.0).reshape(1, 3, 3, 1)
  diff_vs_lax = max(
    float(jnp.abs(ops.pool2d(grid2, 3, 2, 1, mode) - ref).max())
    for mode, ref in (
      (
        "max",
        jax.lax.reduce_window(
          grid2, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
        ),
      ),
      (
        "avg",
        jax.lax.reduce_window(
          grid2, 0.0, jax.lax.add, (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
        )
        / 9,
      ),
    )
  )
  return {
    "multi_in": np.asarray(ops.corr2d_multi_in(x2, k2)).tolist(),
    "multi_in_out_shape": list(ops.corr2d_multi_in_out(x2, k3).shape),
    "conv1x1_vs_matmul_max_abs_diff": float(jnp.abs(ops.conv1x1(x, w) - x @ w).max()),
    "max_pool_2x2_stride1": np.asarray(ops.pool2d(square, 2, 1, mode="max")).tolist(),
    "avg_pool_2x2_stride1": np.asarray(ops.pool2d(square, 2, 1, mode="avg")).tolist(),
    "max_pool_3x3_default_stride": np.asarray(ops.max_pool2d(grid, 3))[0, ..., 0].tolist(),
    "max_pool_3x3_pad1_stride2": np.asarray(ops.max_pool2d(grid, 3, 2, 1))[0, ..., 0].tolist(),
    "max_pool_two_channels": np.asarray(ops.max_pool2d(grid2, 3, 2, 1))[0].tolist(),
    "pool_max_abs_diff_vs_reduce_window": diff_vs_lax,
    "pool_input": np.asarray(grid)[0, ..., 0],
    "pool_outputs": {
      m: np.asarray(ops.pool2d(grid, 2, 2, mode=m))[0, ..., 0] for m in ops.POOL_MODES
    },
    "window_example": np.asarray(window)[0, ..., 0].tolist(),
  }


def _plots(workdir: str, edges: dict, learned: dict, pooling: dict) -> list[str]:
  save = common.FigureSaver(workdir, common.pyplot())
  plt = save.plt
  fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained")
  panels = [
    ("X (6x8)", edges["x"]),
    ("corr2d(X, [1, -1])", edges["y"]),
    ("corr2d(X.T, [1, -1])", edges["y_transposed"]),
  ]
  for ax, (title, image) in zip(axes, panels, strict=True):
    im = ax.imshow(image, cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.set_xticks([]), ax.set_yticks([])
  fig.colorbar(im, ax=axes, shrink=0.8)
  save(fig, "edge_detection.png")

  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2))
  ax0.semilogy(np.arange(1, len(learned["losses"]) + 1), learned["losses"], marker="o")
  ax0.set_xlabel("epoch"), ax0.set_ylabel("summed squared error (before the step)")
  ax0.set_title("learning the kernel by gradient descent")
  xs = np.arange(2)
  ax1.bar(xs - 0.25, learned["initial_kernel"], 0.25, label="initial")
  ax1.bar(xs, learned["learned_kernel"], 0.25, label="learned")
  ax1.bar(xs + 0.25, EDGE_KERNEL[0], 0.25, label="true [1, -1]")
  ax1.set_xticks(xs, ["K[0, 0]", "K[0, 1]"]), ax1.legend(), ax1.set_title("kernel")
  save(fig, "kernel_learning.png")

  images = [("input 4x4", pooling["pool_input"])]
  images += [(f"{m} pool 2x2, stride 2", v) for m, v in pooling["pool_outputs"].items()]
  fig, axes = plt.subplots(1, 3, figsize=(9, 3))
  for ax, (title, image) in zip(axes, images, strict=True):
    ax.imshow(image, cmap="viridis", vmin=0, vmax=15)
    for (i, j), v in np.ndenumerate(image):
      ax.text(j, i, f"{v:g}", ha="center", va="center", color="w")
    ax.set_title(title), ax.set_xticks([]), ax.set_yticks([])
  save(fig, "pooling.png")
  return save.paths


def _jsonable(value: Any) -> Any:
  if isinstance(value, dict):
    return {k: _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return value.tolist()
  return value


def run(
  workdir: str, *, epochs: int = 10, learning_rate: float = 3e-2, seed: int = 0
) -> dict[str, Any]:
  """Runs every example, writes the PNGs and ``results.json``, and returns the numbers.

  Args:
    workdir: output directory (created if needed).
    epochs: gradient-descent steps when learning the [1, -1] kernel.
    learning_rate: step size when learning the kernel.
    seed: seed of the initial kernel.
  """
  if epochs <= 0 or learning_rate <= 0:
    raise ValueError(
      f"epochs and learning_rate must be positive, got {epochs} and {learning_rate}."
    )
  os.makedirs(workdir, exist_ok=True)
  results = {
    "edges": edge_detection(),
    "learned": learn_kernel(epochs, learning_rate, seed),
    "sizes": output_sizes(),
    "params": parameter_counts(),
    "pooling": channels_and_pooling(),
  }
  results["plots"] = _plots(workdir, results["edges"], results["learned"], results["pooling"])
  common.write_json(workdir, _jsonable(results), indent=1)
  return results


def format_table(results: dict[str, Any]) -> str:
  e, k, p, c = results["edges"], results["learned"], results["params"], results["pooling"]
  lines = [
    "Edge detection with K = [1, -1] on the 6x8 image",
    f"  white->black at columns {e['white_to_black_columns']} (+1), black->white at "
    f"{e['black_to_white_columns']} (-1); on X.T max |Y| = {e['transposed_max_abs']:g}; "
    f"max |diff| vs lax = {e['max_abs_diff_vs_lax']:g}",
    "Learning the kernel back by gradient descent",
    f"  {'epoch':>5} | {'loss':>10}",
    *[f"  {i + 1:>5} | {v:>10.4f}" for i, v in enumerate(k["losses"]) if i % 2 == 1],
    f"  learned K = [{k['learned_kernel'][0]:.4f}, {k['learned_kernel'][1]:.4f}] "
    f"(max error {k['kernel_error']:.4f}); final loss {k['final_loss']:.5f}",
    "Output sizes floor((n + 2p - k + s) / s)",
    f"  {'example':<36} | {'formula':>8} | {'conv2d':>8} | {'flax':>8}",
    *[
      f"  {r['example']:<36} | {str(r['formula']):>8} | {str(r['conv2d']):>8} | {str(r['flax']):>8}"
      for r in results["sizes"]
    ],
    f"Parameters: conv 2->3 channels 3x3 = {p['conv_2_to_3_3x3']} (2*3*9 + 3 = "
    f"{p['conv_formula']}); LeNet-5 = {p['lenet_total']:,}",
    p["lenet_summary"],
    f"Two-channel example: {c['multi_in']}; 1x1 conv vs matmul max |diff| = "
    f"{c['conv1x1_vs_matmul_max_abs_diff']:g}",
    f"Pooling 3x3 (stride 1, 2x2): max {c['max_pool_2x2_stride1']}, avg "
    f"{c['avg_pool_2x2_stride1']}",
    f"Pooling 4x4: 3x3 window (stride 3) {c['max_pool_3x3_default_stride']}; padding 1, "
    f"stride 2 {c['max_pool_3x3_pad1_stride2']}; max |diff| vs reduce_window "
    f"{c['pool_max_abs_diff_vs_reduce_window']:g}",
  ]
  return "\n".join(lines)


if __name__ == "__main__":
  common.run_as_program(run, format_table, workdir="runs/conv_basics")
