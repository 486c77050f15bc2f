"""Smoke test of experiments/curvature.py with tiny settings."""

import json
import os

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from experiments import curvature
from jaxnets import data as jdata
from jaxnets.models import get_model


def test_curvature_experiment_tracks_sharpness(tmp_path):
  out = curvature.run(
    str(tmp_path),
    num_examples=64,
    hidden=(4,),
    learning_rates=(0.5, 50.0),
    num_steps=20,
    eval_every=10,
    lanczos_iters=20,
    slq_probes=2,
    slq_iters=20,
  )  # = lanczos_iters: one compile
  assert out["num_params"] == 64 * 4 + 4 + 4 * 10 + 10
  for path in out["plots"]:
    assert os.path.getsize(path) > 1000
  stable, unstable = out["runs"]
  assert not stable["diverged"] and len(out["history"][0.5]["sharpness"]) == 3
  assert np.all(np.isfinite(out["history"][0.5]["sharpness"]))
  assert stable["final_loss"] < out["history"][0.5]["loss"][0]
  assert unstable["diverged"]  # η = 50 is far above 2/sharpness.
  assert stable["two_over_lr"] == 4.0
  # The initial sharpness is the top eigenvalue of the dense Hessian at the initialization.
  train = jdata.load("digits", "train")
  batch = {"x": train["x"][:64], "y": train["y"][:64]}
  model = get_model("mlp", hidden=(4,), num_classes=10, activation="tanh")
  params = model.init(curvature.rbg_key(0), batch["x"][:1])["params"]
  flat, unravel = ravel_pytree(params)
  loss_fn = curvature.make_loss(model, "squared", 10)
  dense = jax.jit(jax.hessian(lambda q: loss_fn(unravel(q), batch)))(flat)
  top = np.linalg.eigvalsh(np.asarray(dense, np.float64))[-1]
  np.testing.assert_allclose(stable["initial_sharpness"], top, rtol=1e-3)
  assert np.isfinite(out["final_trace"])
  with open(tmp_path / "results.json") as f:
    written = json.load(f)
  assert written["num_params"] == out["num_params"]
  assert written["runs"][1]["diverged"] and written["history"]["0.5"] == out["history"][0.5]
