"""The head found from num_classes; pretrained layers moved under a fresh head, shapes checked."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets import models
from jaxnets.finetune import class_axes, find_head, transplant


@pytest.mark.parametrize(
  "name, kwargs, shape, head",
  [
    ("mlp", {"hidden": (8,)}, (1, 8, 8, 1), ("Dense_1",)),
    ("lenet_modern", {}, (1, 28, 28, 1), ("fc3",)),
    ("resnet18", {"width_multiplier": 0.125}, (1, 32, 32, 3), ("fc",)),
    ("vgg11", {"width_multiplier": 0.125}, (1, 32, 32, 3), ("classifier_6",)),
    ("nin", {"width_multiplier": 0.125}, (1, 64, 64, 3), ("block4",)),
  ],
)
def test_the_head_is_what_num_classes_sizes(name, kwargs, shape, head):
  model = models.get_model(name, num_classes=7, **kwargs)
  assert find_head(model, jnp.zeros(shape)) == head


def test_class_axes_of_a_dense_head_and_a_model_without_classes():
  axes = class_axes(models.get_model("lenet_modern", num_classes=4), jnp.zeros((1, 28, 28, 1)))
  assert axes == {"fc3/bias": (0,), "fc3/kernel": (1,)}
  with pytest.raises(ValueError, match="no num_classes field"):
    class_axes(models.get_model("linear"), jnp.zeros((1, 3)))


X = jnp.zeros((1, 6))


def _mlp(classes, hidden=(8,), seed=0):
  return models.MLP(hidden=hidden, num_classes=classes).init(jax.random.key(seed), X)


def test_the_body_comes_from_the_pretrained_and_the_head_stays_fresh():
  old, new = _mlp(3, seed=0), _mlp(5, seed=1)
  out = transplant(new, old, ["Dense_1"])
  jax.tree_util.tree_map(
    np.testing.assert_array_equal, out["params"]["Dense_0"], old["params"]["Dense_0"]
  )
  jax.tree_util.tree_map(
    np.testing.assert_array_equal, out["params"]["Dense_1"], new["params"]["Dense_1"]
  )
  assert out["batch_stats"] == {}


def test_shared_classes_copy_the_pretrained_head_entries():
  old, new = _mlp(3, seed=0), _mlp(4, seed=1)
  axes = class_axes(models.MLP(hidden=(8,), num_classes=4), X)
  out = transplant(new, old, ["Dense_1"], shared_classes=((0, 2), (3, 0)), class_axes=axes)
  head, before, fresh = out["params"]["Dense_1"], old["params"]["Dense_1"], new["params"]["Dense_1"]
  np.testing.assert_array_equal(head["kernel"][:, 0], before["kernel"][:, 2])
  np.testing.assert_array_equal(head["kernel"][:, 3], before["kernel"][:, 0])
  np.testing.assert_array_equal(head["bias"][np.array([0, 3])], before["bias"][np.array([2, 0])])
  np.testing.assert_array_equal(head["kernel"][:, 1:3], fresh["kernel"][:, 1:3])
  with pytest.raises(ValueError, match=r"pair \(0, 3\) is out of range.*source classes 0..2"):
    transplant(new, old, ["Dense_1"], shared_classes=((0, 3),), class_axes=axes)


def test_a_mismatched_checkpoint_names_the_first_mismatched_path_and_both_shapes():
  old, new = _mlp(3, hidden=(8,)), _mlp(3, hidden=(16,))
  with pytest.raises(
    ValueError, match=r"'Dense_0/bias' has shape \(8,\) there but \(16,\) in the model"
  ):
    transplant(new, old, ["Dense_1"], source="runs/x")
  deeper = _mlp(3, hidden=(8, 8))
  with pytest.raises(ValueError, match="hold 'Dense_2/bias', which the model does not have"):
    transplant(_mlp(3), deeper, ["Dense_1"])
  with pytest.raises(ValueError, match="have no 'Dense_1/bias'"):
    transplant(deeper, {"params": {"Dense_0": deeper["params"]["Dense_0"]}}, ["Dense_2"])


def test_shared_classes_need_a_head_whose_class_axis_is_last():
  # NiN's head (block4) has 1×1 convolutions from classes to classes: two class axes.
  variables = {"params": {"block4": {"mlp1": {"kernel": jnp.zeros((1, 1, 3, 3))}}}}
  axes = {"block4/mlp1/kernel": (2, 3)}
  with pytest.raises(ValueError, match="only class axis is the last one"):
    transplant(variables, variables, ["block4"], shared_classes=((0, 0),), class_axes=axes)
