"""config.finetune through train_and_evaluate: pretrained body, fresh head, frozen stages."""

import jax
import numpy as np
import optax
import pytest

from jaxnets import data
from jaxnets.finetune import FrozenBatchNorm, load_pretrained
from jaxnets.train import (
  TrainState,
  default_config,
  evaluate,
  finetuning,
  setup,
  train_and_evaluate,
  train_sweep,
  validate_config,
)


def _digits(classes, n):
  split = data.load("digits", "train")
  rows = np.flatnonzero(np.isin(split["y"], classes))[:n]
  y = np.searchsorted(np.asarray(classes), split["y"][rows]).astype(np.int32)
  return {"train": {"x": split["x"][rows], "y": y}, "test": {"x": split["x"][rows], "y": y}}


def _config(model, epochs=1, batch=32):
  config = default_config()
  config.task, config.model, config.progress_bar = "classification", model, False
  config.optimizer = {"name": "sgd", "learning_rate": 0.05}
  config.num_epochs, config.batch_size = epochs, batch
  return config


MLP = {"name": "mlp", "hidden": (16,), "num_classes": 5}
RESNET = {  # Stem, one stage of one block, fc: quick to compile.
  "name": "resnet18",
  "num_classes": 5,
  "width_multiplier": 0.125,
  "small_input": True,
  "stage_sizes": (1, 1),
}


@pytest.fixture(scope="module")
def pretrained_mlp(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("source"))
  train_and_evaluate(_config(MLP), workdir, data=_digits([0, 1, 2, 3, 4], 320))
  return workdir


def test_default_config_trains_from_scratch_exactly_as_before(tiny_config):
  model = setup.build.model(tiny_config)
  x = np.zeros((1, 8, 8, 1), np.float32)
  state = setup.initial_state(tiny_config, model, "classification", x, 10)
  assert state.apply_fn == model.apply
  before = TrainState.create(
    model=model,
    tx=setup.build.optimizer(tiny_config, 10),
    loss_fn=setup.build.loss(tiny_config),
    seed=tiny_config.seed,
    sample_x=x,
  )
  jax.tree_util.tree_map(np.testing.assert_array_equal, state.params, before.params)
  assert jax.tree_util.tree_structure(state.opt_state) == jax.tree_util.tree_structure(
    before.opt_state
  )


def test_the_body_starts_pretrained_the_head_fresh_and_frozen_layers_never_move(
  pretrained_mlp, tmp_path
):
  config = _config(dict(MLP, num_classes=3), epochs=2)
  config.finetune.pretrained = pretrained_mlp
  config.finetune.freeze = ("Dense_0",)
  state = train_and_evaluate(config, str(tmp_path), data=_digits([5, 6, 7], 150))
  source = load_pretrained(pretrained_mlp)["params"]
  jax.tree_util.tree_map(np.testing.assert_array_equal, state.params["Dense_0"], source["Dense_0"])
  assert state.params["Dense_1"]["kernel"].shape == (16, 3)
  # Evaluating the fine-tuned run needs only its own checkpoint, not the pretrained weights.
  config.finetune.pretrained = str(tmp_path / "gone")
  assert set(evaluate(config, str(tmp_path), data=_digits([5, 6, 7], 150))) == {
    "test_loss",
    "test_accuracy",
  }


def test_the_head_trains_at_the_multiplied_learning_rate(pretrained_mlp):
  config = _config(MLP)
  config.finetune.pretrained, config.finetune.head_lr_multiplier = pretrained_mlp, 4.0
  model = setup.build.model(config)
  head, frozen, _ = finetuning.groups(config, model, np.zeros((1, 8, 8, 1), np.float32))
  assert (head, frozen) == (("Dense_1",), ())
  tx = finetuning.optimizer(config, 1, head, frozen)
  params = load_pretrained(pretrained_mlp)["params"]
  grads = jax.tree_util.tree_map(np.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  want = optax.sgd(0.05).update(grads, optax.sgd(0.05).init(params))[0]
  np.testing.assert_allclose(updates["Dense_0"]["kernel"], want["Dense_0"]["kernel"], rtol=1e-6)
  np.testing.assert_allclose(updates["Dense_1"]["kernel"], 4 * want["Dense_1"]["kernel"], rtol=1e-6)


def test_frozen_stages_keep_their_batchnorm_statistics_through_the_engine(tmp_path):
  source = str(tmp_path / "source")
  train_and_evaluate(_config(RESNET, batch=16), source, data=_digits([0, 1, 2, 3, 4], 64))
  config = _config(dict(RESNET, num_classes=2), batch=16)
  config.finetune.pretrained, config.finetune.freeze = source, ("conv1", "bn1", "layer1")
  config.finetune.shared_classes = ((0, 3), (1, 4))
  state = train_and_evaluate(config, str(tmp_path / "target"), data=_digits([3, 4], 64))
  assert isinstance(state.apply_fn, FrozenBatchNorm)
  before = load_pretrained(source)
  for name in ("bn1", "layer1_0"):
    jax.tree_util.tree_map(
      np.testing.assert_array_equal, state.batch_stats[name], before["batch_stats"][name]
    )
    jax.tree_util.tree_map(
      np.testing.assert_array_equal, state.params[name], before["params"][name]
    )
  moved = jax.tree_util.tree_map(
    lambda a, b: bool((np.asarray(a) != b).any()),
    state.batch_stats["layer2_0"],
    before["batch_stats"]["layer2_0"],
  )
  assert all(jax.tree_util.tree_leaves(moved))


def test_bad_fine_tuning_inputs_raise_saying_what_is_wrong(pretrained_mlp, tmp_path):
  arrays = _digits([5, 6], 64)
  wider = _config(dict(MLP, hidden=(32,)))
  wider.finetune.pretrained = pretrained_mlp
  with pytest.raises(ValueError, match=r"'Dense_0/bias' has shape \(16,\) there but \(32,\)"):
    train_and_evaluate(wider, str(tmp_path / "a"), data=arrays)
  frozen = _config(MLP)
  frozen.finetune.pretrained, frozen.finetune.freeze = pretrained_mlp, ("layer1",)
  with pytest.raises(ValueError, match=r"'layer1' matches no layer.*\['Dense_0', 'Dense_1'\]"):
    train_and_evaluate(frozen, str(tmp_path / "b"), data=arrays)
  frozen.finetune.freeze = ("Dense_1",)
  with pytest.raises(ValueError, match="includes the head"):
    train_and_evaluate(frozen, str(tmp_path / "c"), data=arrays)
  with pytest.raises(ValueError, match="Sweeps do not fine-tune"):
    frozen.finetune.freeze = ()
    train_sweep(frozen, [{"seed": 0}], data=arrays)


@pytest.mark.parametrize(
  "field, value, message",
  [
    ("freeze", ("conv1",), "freeze applies only when fine-tuning"),
    ("head_lr_multiplier", 0.0, "head_lr_multiplier must be a positive number"),
    ("shared_classes", ((0, 1, 2),), r"\(\(target class, source class\), ...\)"),
    ("shared_classes", ((0, 1), (0, 2)), "names a target class twice"),
    ("head", ("",), "tuple of layer names"),
  ],
)
def test_the_finetune_fields_are_validated(field, value, message):
  config = default_config()
  if field in ("head_lr_multiplier", "shared_classes", "head"):
    config.finetune.pretrained = "runs/x"
  config.finetune[field] = value
  with pytest.raises(ValueError, match=message):
    validate_config(config)
