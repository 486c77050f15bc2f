"""Smoke test of experiments/mlp_basics.py with tiny settings, plus its building blocks."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import mlp_basics as M
from jaxnets.models import MLP

PNGS = (
  "activations.png",
  "lr_sensitivity.png",
  "convergence.png",
  "xor_seeds.png",
  "vanishing_gradients.png",
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("mlp_basics"))
  out = M.run(
    workdir,
    epochs=3,
    learning_rates=(0.001, 1.0, 50.0),
    convergence_lr=0.5,
    hidden=16,
    xor_steps=300,
    xor_seeds_count=8,
    depth=6,
    width=16,
  )
  return workdir, out


def test_writes_pngs_and_json(results):
  workdir, out = results
  for name in PNGS + ("results.json",):
    path = os.path.join(workdir, name)
    assert os.path.getsize(path) > 1000, name
  with open(os.path.join(workdir, "activations.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  assert sorted(os.path.basename(p) for p in out["plots"]) == sorted(PNGS)
  table = M.format_table(out)
  assert "learning rate" in table and "sigmoid" in table and "XOR" in table


def test_activation_derivatives_match_closed_forms(results):
  acts = results[1]["activations"]
  assert set(acts) == {"relu", "sigmoid", "tanh"}
  for name, a in acts.items():
    assert a["max_error_vs_closed_form"] < 1e-6, name
  assert abs(acts["sigmoid"]["max_derivative"] - 0.25) < 1e-4  # σ'(0) = 1/4.
  assert abs(acts["tanh"]["max_derivative"] - 1.0) < 1e-4
  assert acts["relu"]["max_derivative"] == 1.0


def test_learning_rate_sensitivity_numbers_are_sane(results):
  lr = results[1]["lr_sensitivity"]
  assert np.isclose(lr["initial_train_loss"], np.log(10), atol=0.5)  # About uniform at init.
  small, good, huge = lr["final_train_loss"]
  assert small > good  # lr=0.001 has barely moved in 66 steps; lr=1 has.
  assert abs(small - lr["initial_train_loss"]) < 0.1
  assert lr["diverged"][2] and not lr["diverged"][1]  # lr=50 blows up.
  assert 0.0 <= min(lr["test_accuracy"]) and max(lr["test_accuracy"]) <= 1.0


def test_vanishing_gradients_with_sigmoid(results):
  vg = results[1]["vanishing_gradients"]
  assert len(vg["sigmoid"]["layer_grad_norms"]) == 6
  # Sigmoid's derivative is at most 1/4, so the input-side gradient is much smaller.
  assert vg["sigmoid"]["first_over_last"] < 0.1
  assert vg["sigmoid"]["first_over_last"] < vg["relu"]["first_over_last"]


def test_xor_numbers_are_sane(results):
  xor = results[1]["xor"]
  assert 0.0 <= xor["solved_fraction"] <= 1.0
  assert all(v >= xor["solved_below"] for v in xor["stuck_losses"])
  assert len(xor["stuck_losses"]) == round((1 - xor["solved_fraction"]) * xor["seeds"])


def test_mlp_apply_equals_flax_mlp():
  x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 4, 4, 1)), jnp.float32)
  params = M.init_params(0, 16, (8, 6))
  for index, name in enumerate(M.ACTIVATION_NAMES):
    model = MLP(hidden=(8, 6), num_classes=10, activation=name)
    np.testing.assert_allclose(
      M.mlp_apply(params, x, index), model.apply({"params": params}, x), rtol=1e-5, atol=1e-6
    )
  # Same structure as the real model's parameters.
  real = jax.eval_shape(MLP(hidden=(8, 6)).init, jax.random.key(0), x)["params"]
  assert jax.tree.map(lambda a: a.shape, real) == jax.tree.map(lambda a: a.shape, params)


def test_steps_to_reach():
  assert M.steps_to_reach(np.array([2.0, 1.0, 0.2, 0.1]), 0.5, 10) == 20
  assert M.steps_to_reach(np.array([2.0, 1.0]), 0.5, 10) is None


def test_bad_settings(tmp_path):
  with pytest.raises(ValueError, match="must be positive"):
    M.run(str(tmp_path), epochs=0)
  with pytest.raises(ValueError, match="must be positive"):
    M.run(str(tmp_path), learning_rates=(0.1, -1.0))
