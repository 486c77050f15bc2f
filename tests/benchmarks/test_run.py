"""The benchmark suite's quick mode runs end to end and reports consistent figures."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from benchmarks import run as bench


def test_analytic_flops_count_dense_and_conv_kernels():
  class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
      x = nn.Conv(4, (3, 3), padding="VALID")(x)  # [2, 6, 6, 4]: 288 outputs x fan-in 9*2.
      return nn.Dense(5)(x.reshape(x.shape[0], -1))  # 10 outputs x fan-in 144.

  x = jnp.ones((2, 8, 8, 2))
  variables = Net().init(jax.random.key(0), x)
  assert bench.analytic_flops(Net(), variables, x) == 6.0 * (288 * 18 + 10 * 144)


def test_quick_suite_reports_every_row():
  out = bench.run_all(
    quick=True,
    models=["mlp"],
    trials=2,
    steps=2,
    scaling=False,
    scaling_batches=[],
    compile_torch=False,
    sweep=True,
    curvature=False,
  )
  rows = {r["impl"]: r for r in out["rows"]}
  jx = rows["jaxnets"]
  assert jx["model"] == "mlp" and jx["batch"] == 100
  assert 0 < jx["min_s"] <= jx["median_s"] and jx["compile_s"] > 0
  # MLP 40-100-100-10 on a batch of 100: 6 x 100 x (40*100 + 100*100 + 100*10) FLOPs.
  assert jx["flops_analytic"] == 6 * 100 * (4000 + 10000 + 1000)
  assert jx["flops_xla"] is None or jx["flops_xla"] > 0
  if "torch_eager" in rows:
    assert abs(rows["torch_eager"]["vs_torch_best"] - 1.0) < 1e-12
    assert jx["vs_torch_best"] > 0
  assert rows["jaxnets vmap"]["member_steps_per_s"] > 0
  text = bench.report(out)
  assert "| mlp | 100 | jaxnets |" in text and out["machine"]["cores"] >= 1
