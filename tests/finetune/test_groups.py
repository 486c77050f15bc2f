"""Parameter groups: names resolved against the model, and each group's updates against optax."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.finetune import group_labels, group_optimizer, resolve_names

TOP = ["bn1", "conv1", "fc", "layer1_0", "layer1_1", "layer2_0"]


def test_a_name_selects_its_module_and_a_stage_prefix_selects_its_blocks():
  assert resolve_names(["layer1", "conv1"], TOP, "freeze") == ("conv1", "layer1_0", "layer1_1")
  assert resolve_names(["layer1_1"], TOP, "freeze") == ("layer1_1",)
  assert resolve_names([], TOP, "freeze") == ()


def test_a_name_that_matches_nothing_raises_listing_the_top_level_names():
  with pytest.raises(ValueError, match=r"config.finetune.freeze: 'layer9'.*'bn1', 'conv1', 'fc'"):
    resolve_names(["conv1", "layer9"], TOP, "config.finetune.freeze")
  with pytest.raises(ValueError, match="matches no layer"):
    resolve_names(["layer"], TOP, "freeze")  # A prefix needs the "_" of a block index.


def test_labels_follow_the_top_level_name():
  params = {"conv1": {"kernel": jnp.ones((2, 2))}, "fc": {"bias": jnp.ones(2)}, "bn1": jnp.ones(1)}
  labels = group_labels(params, head=["fc"], frozen=["conv1"])
  assert labels == {"conv1": {"kernel": "frozen"}, "fc": {"bias": "head"}, "bn1": "body"}


def test_each_group_updates_as_its_own_optax_optimizer_and_frozen_ones_not_at_all():
  keys = jax.random.split(jax.random.key(0), 6)
  params = {
    n: jax.random.normal(k, (3,)) for n, k in zip(["conv1", "fc", "mid"], keys[:3], strict=True)
  }
  tx = group_optimizer(optax.adam(1e-3), optax.adam(1e-2), ["fc"], frozen=["conv1"])
  body, head = optax.adam(1e-3), optax.adam(1e-2)
  state, body_state, head_state = tx.init(params), body.init(params["mid"]), head.init(params["fc"])
  for k in keys[3:]:
    grads = {n: jax.random.normal(jax.random.fold_in(k, i), (3,)) for i, n in enumerate(params)}
    updates, state = tx.update(grads, state, params)
    want_mid, body_state = body.update(grads["mid"], body_state)
    want_fc, head_state = head.update(grads["fc"], head_state)
    np.testing.assert_allclose(updates["mid"], want_mid, rtol=1e-6)
    np.testing.assert_allclose(updates["fc"], want_fc, rtol=1e-6)
    np.testing.assert_array_equal(updates["conv1"], np.zeros(3))
    params = optax.apply_updates(params, updates)
