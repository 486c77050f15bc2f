"""Which convolution pass costs what on this backend: XLA's convolution vs patches + matmul.

For each layer shape (LeNet-5's two convolutions at batch 256 by default) it times, after
compilation and interleaved round-robin: XLA's forward ``lax.conv_general_dilated``, its
input gradient and its weight gradient (each the VJP of the forward with the other operand
fixed); the same three passes lowered onto matrix products (``conv_general_dilated_patches``
then one ``dot_general``; weight gradient = one matmul of the patches with the output
gradient; input gradient = the VJP of the patches extraction of that matmul's result); and
PyTorch's forward and backward of the same layer (NCHW), when torch is importable. The
lowered forms are checked equal to XLA's convolution first.

Command:
  python -m benchmarks.conv_profile [--batch=256 --trials=7]
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

_BATCH = flags.DEFINE_integer("batch", 256, "Batch size.")
_TRIALS = flags.DEFINE_integer("trials", 7, "Interleaved rounds (min reported).")

# name: (height/width, c_in, c_out, kernel, padding) as in LeNet-5.
LAYERS = {"lenet conv1": (28, 1, 6, 5, 2), "lenet conv2": (14, 6, 16, 5, 0)}
DN = ("NHWC", "HWIO", "NHWC")


def _lax_conv(x, w, pad):
  return jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad)] * 2, dimension_numbers=DN)


def _patch_conv(x, w, pad):
  k, c_in, c_out = w.shape[0], w.shape[2], w.shape[3]
  p = jax.lax.conv_general_dilated_patches(
    x, (k, k), (1, 1), [(pad, pad)] * 2, dimension_numbers=DN
  )  # [N, H, W, c_in * k * k], feature order (c_in, kh, kw).
  wm = jnp.transpose(w, (2, 0, 1, 3)).reshape(c_in * k * k, c_out)
  return jax.lax.dot_general(p, wm, (((3,), (0,)), ((), ())))


def passes(conv, x, w, pad):
  """Compiled forward, input-gradient and weight-gradient functions of ``conv``."""
  y = conv(x, w, pad)
  dy = jnp.ones_like(y)
  fwd = jax.jit(lambda x, w: conv(x, w, pad))
  dx = jax.jit(lambda x, w, g: jax.vjp(lambda a: conv(a, w, pad), x)[1](g)[0])
  dw = jax.jit(lambda x, w, g: jax.vjp(lambda b: conv(x, b, pad), w)[1](g)[0])
  return {
    "forward": lambda: fwd(x, w),
    "input grad": lambda: dx(x, w, dy),
    "weight grad": lambda: dw(x, w, dy),
  }


def torch_passes(x, w, pad):
  import torch

  torch.set_num_threads(2)
  xt = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy()).requires_grad_(True)
  wt = torch.from_numpy(np.asarray(w).transpose(3, 2, 0, 1).copy()).requires_grad_(True)

  def fwd():
    with torch.no_grad():
      return torch.nn.functional.conv2d(xt, wt, padding=pad)

  def fwd_bwd():
    y = torch.nn.functional.conv2d(xt, wt, padding=pad)
    y.backward(torch.ones_like(y))
    return xt.grad

  return {"forward": fwd, "forward+backward (both grads)": fwd_bwd}


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f"batch {_BATCH.value}, {jax.devices()[0].platform}, min over {_TRIALS.value} rounds")
  print("| layer | pass | XLA conv ms | patches+matmul ms | XLA / patches | PyTorch ms |")
  print("|---|---|---:|---:|---:|---:|")
  for name, (hw, c_in, c_out, k, pad) in LAYERS.items():
    x = jnp.asarray(rng.normal(size=(_BATCH.value, hw, hw, c_in)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(k, k, c_in, c_out)) * 0.1, jnp.float32)
    np.testing.assert_allclose(_patch_conv(x, w, pad), _lax_conv(x, w, pad), rtol=1e-4, atol=1e-4)
    impls = {"lax": passes(_lax_conv, x, w, pad), "patches": passes(_patch_conv, x, w, pad)}
    for grad in ("input grad", "weight grad"):
      np.testing.assert_allclose(
        impls["patches"][grad](), impls["lax"][grad](), rtol=1e-3, atol=1e-3
      )
    try:
      impls["torch"] = torch_passes(x, w, pad)
    except ImportError:
      pass
    fns = {(i, p): f for i, ps in impls.items() for p, f in ps.items()}
    for f in fns.values():
      jax.block_until_ready(f())
    best = {key: float("inf") for key in fns}
    for _ in range(_TRIALS.value):
      for key, f in fns.items():
        start = time.perf_counter()
        jax.block_until_ready(f())
        best[key] = min(best[key], time.perf_counter() - start)
    for p in ("forward", "input grad", "weight grad"):
      lax_ms, patch_ms = 1e3 * best[("lax", p)], 1e3 * best[("patches", p)]
      torch_key = ("torch", p if p == "forward" else "forward+backward (both grads)")
      t = f"{1e3 * best[torch_key]:.2f}" if torch_key in best else "—"
      if p == "weight grad" and torch_key in best:
        t += " (fwd+bwd)"
      elif p == "input grad":
        t = "—"
      print(f"| {name} | {p} | {lax_ms:.2f} | {patch_ms:.2f} | {lax_ms / patch_ms:.2f} | {t} |")


if __name__ == "__main__":
  app.run(main)
