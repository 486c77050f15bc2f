"""Frozen stages run their BatchNorm layers in evaluation mode: running statistics kept."""

import jax
import numpy as np

from jaxnets import models
from jaxnets.finetune import FrozenBatchNorm

MODEL = models.get_model(
  "resnet18", num_classes=3, width_multiplier=0.125, small_input=True, stage_sizes=(1, 1)
)


def _variables(x):
  variables = MODEL.init(jax.random.key(0), x)
  # Running statistics unlike the batch's, so evaluation mode and training mode differ.
  stats = jax.tree_util.tree_map(lambda s: s + 0.5, variables["batch_stats"])
  return {"params": variables["params"], "batch_stats": stats}


def test_frozen_statistics_stay_and_the_others_update():
  x = jax.random.normal(jax.random.key(1), (4, 8, 8, 1))
  variables = _variables(x)
  apply = FrozenBatchNorm(MODEL.apply, ("bn1", "layer1_0"))
  _, new = jax.jit(lambda v: apply(v, x, train=True, mutable=["batch_stats"]))(variables)
  old, new = variables["batch_stats"], new["batch_stats"]
  for name in ("bn1", "layer1_0"):
    jax.tree_util.tree_map(np.testing.assert_array_equal, new[name], old[name])
  changed = jax.tree_util.tree_map(
    lambda a, b: bool((a != b).any()), new["layer2_0"], old["layer2_0"]
  )
  assert all(jax.tree_util.tree_leaves(changed))


def test_a_fully_frozen_model_in_training_mode_computes_flaxs_evaluation_mode():
  x = jax.random.normal(jax.random.key(2), (4, 8, 8, 1))
  variables = _variables(x)
  everything = tuple(variables["params"])
  frozen = FrozenBatchNorm(MODEL.apply, everything)
  out, _ = frozen(variables, x, train=True, mutable=["batch_stats"])
  np.testing.assert_allclose(out, MODEL.apply(variables, x, train=False), rtol=1e-6, atol=1e-6)
  trained = MODEL.apply(variables, x, train=True, mutable=["batch_stats"])[0]
  assert not np.allclose(out, trained, atol=1e-3)  # Training mode would normalize by the batch.


def test_without_frozen_layers_it_is_the_models_apply():
  x = jax.random.normal(jax.random.key(3), (4, 8, 8, 1))
  variables = _variables(x)
  plain = MODEL.apply(variables, x, train=True, mutable=["batch_stats"])
  wrapped = FrozenBatchNorm(MODEL.apply, ())(variables, x, train=True, mutable=["batch_stats"])
  jax.tree_util.tree_map(np.testing.assert_array_equal, wrapped, plain)
  assert FrozenBatchNorm(MODEL.apply, ("bn1",)) == FrozenBatchNorm(MODEL.apply, ("bn1",))
  assert hash(FrozenBatchNorm(MODEL.apply, ("bn1",))) == hash(
    FrozenBatchNorm(MODEL.apply, ("bn1",))
  )
