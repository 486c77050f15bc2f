"""Sequential and ModuleDict against hand-written compact modules with the same parameters."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets import params as P
from jaxnets.nn.containers import ModuleDict, Sequential

X = jnp.asarray(np.random.default_rng(0).normal(size=(4, 6)), jnp.float32)


def _variables(module, *args, seed=0, **kwargs):
  """``module.init`` structure (from jax.eval_shape, nothing compiled) with numpy values:
  normal parameters, and BatchNorm statistics at their initial mean 0 / var 1."""
  shapes = jax.eval_shape(lambda *a: module.init(jax.random.key(0), *a, **kwargs), *args)
  rng = np.random.default_rng(seed)

  def fill(path, s):
    name = str(getattr(path[-1], "key", ""))
    if path[0].key == "batch_stats":
      return jnp.full(s.shape, 1.0 if name == "var" else 0.0, s.dtype)
    return jnp.asarray(rng.normal(size=s.shape) * 0.5, s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


class HandMLP(nn.Module):
  """Dense -> relu -> Dropout -> Dense, written out by hand.

  The layers carry Sequential's names, so parameters and dropout rng streams (which Flax
  derives from the module path) are the same.
  """

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.relu(nn.Dense(8, name="layers_0")(x))
    x = nn.Dropout(0.5, deterministic=not train, name="layers_2")(x)
    return nn.Dense(3, name="layers_3")(x)


class TrainFlag(nn.Module):
  """Adds 1 in training mode: shows whether ``train`` arrived."""

  def __call__(self, x, train: bool = False):
    return x + 1.0 if train else x


def _seq():
  return Sequential([nn.Dense(8), nn.relu, nn.Dropout(0.5), nn.Dense(3)])


def test_sequential_equals_hand_written_module_with_same_params():
  hand = HandMLP()
  hand_params = _variables(hand, X)["params"]
  seq = _seq()
  own = jax.eval_shape(seq.init, jax.random.key(1), X)["params"]
  assert jax.tree.structure(own) == jax.tree.structure(hand_params)
  assert sorted(P.named_parameters(own)) == [
    "layers_0/bias",
    "layers_0/kernel",
    "layers_3/bias",
    "layers_3/kernel",
  ]
  variables = {"params": hand_params}
  np.testing.assert_array_equal(seq.apply(variables, X), hand.apply(variables, X))
  rngs = {"dropout": jax.random.key(7)}
  train_out = seq.apply(variables, X, train=True, rngs=rngs)
  np.testing.assert_array_equal(train_out, hand.apply(variables, X, train=True, rngs=rngs))
  assert not np.allclose(train_out, seq.apply(variables, X))  # Dropout was active.


def test_sequential_train_flag_reaches_layers():
  seq = Sequential([TrainFlag(), Sequential([TrainFlag()])])  # Nested: flag passes through.
  variables = {}
  np.testing.assert_array_equal(seq.apply(variables, X), X)
  np.testing.assert_allclose(seq.apply(variables, X, train=True), X + 2.0, rtol=1e-6)
  # Flax dropout: off in eval mode, on (needs an rng, zeroes entries) in train mode.
  drop = Sequential([nn.Dropout(0.5)])
  np.testing.assert_array_equal(drop.apply({}, X), X)
  out = drop.apply({}, X, train=True, rngs={"dropout": jax.random.key(3)})
  assert 0 < int(jnp.sum(out == 0)) < X.size
  # A dropout fixed at construction keeps its own setting.
  fixed = Sequential([nn.Dropout(0.5, deterministic=True)])
  np.testing.assert_array_equal(fixed.apply({}, X, train=True), X)


def test_sequential_batchnorm_modes():
  seq = Sequential([nn.Dense(5), nn.BatchNorm(momentum=0.5)])
  variables = _variables(seq, X)
  p = variables["params"]
  gamma, beta = p["layers_1"]["scale"], p["layers_1"]["bias"]
  dense = X @ p["layers_0"]["kernel"] + p["layers_0"]["bias"]
  out, updates = seq.apply(variables, X, train=True, mutable=["batch_stats"])
  # Train mode normalizes with batch statistics (mean β, std |γ|) and updates the running ones.
  np.testing.assert_allclose(jnp.mean(out, axis=0), beta, atol=1e-5)
  np.testing.assert_allclose(jnp.std(out, axis=0), jnp.abs(gamma), rtol=1e-2)
  np.testing.assert_allclose(
    updates["batch_stats"]["layers_1"]["mean"], 0.5 * jnp.mean(dense, axis=0), rtol=1e-5, atol=1e-6
  )
  # Eval mode uses the running statistics (here the initial mean 0, var 1).
  np.testing.assert_allclose(
    seq.apply(variables, X), gamma * dense / np.sqrt(1 + 1e-5) + beta, rtol=1e-5, atol=1e-6
  )


def test_sequential_with_jaxnets_layers():
  """The from-scratch Dropout/BatchNorm take ``train`` (no default): Sequential passes it."""
  from jaxnets.nn import layers

  seq = Sequential([nn.Dense(5), layers.BatchNorm(), nn.relu, layers.Dropout(0.5)])
  variables = _variables(seq, X)
  assert set(variables) == {"params", "batch_stats"}
  evals = seq.apply(variables, X)  # Running stats, no dropout: deterministic, no rng.
  np.testing.assert_array_equal(evals, seq.apply(variables, X))
  out, updates = seq.apply(
    variables, X, train=True, rngs={"dropout": jax.random.key(1)}, mutable=["batch_stats"]
  )
  assert out.shape == (4, 5) and not np.allclose(out, evals)
  assert not np.allclose(updates["batch_stats"]["layers_1"]["mean"], 0.0)


def test_sequential_inline_in_a_compact_parent_nests_its_parameters():
  class Parent(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
      x = Sequential([nn.Dense(3), nn.relu, nn.Dense(2)])(x, train=train)
      return nn.Dense(1, name="head")(x)

  variables = jax.eval_shape(Parent().init, jax.random.key(0), X)
  assert sorted(P.named_parameters(variables["params"])) == [
    "Sequential_0/layers_0/bias",
    "Sequential_0/layers_0/kernel",
    "Sequential_0/layers_2/bias",
    "Sequential_0/layers_2/kernel",
    "head/bias",
    "head/kernel",
  ]


def test_named_sequential_keeps_order_and_names():
  seq = Sequential({"zeta": nn.Dense(4), "act": nn.tanh, "alpha": nn.Dense(2)})
  variables = _variables(seq, X)
  names = P.named_parameters(variables["params"])
  assert sorted(names) == ["alpha/bias", "alpha/kernel", "zeta/bias", "zeta/kernel"]
  # Order is insertion order (zeta first), not alphabetical: zeta maps 6 -> 4.
  assert names["zeta/kernel"].shape == (6, 4) and names["alpha/kernel"].shape == (4, 2)
  p = variables["params"]
  expected = jnp.tanh(X @ p["zeta"]["kernel"] + p["zeta"]["bias"]) @ p["alpha"]["kernel"]
  np.testing.assert_allclose(
    seq.apply(variables, X), expected + p["alpha"]["bias"], rtol=1e-5, atol=1e-6
  )


class HandConvNet(nn.Module):
  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Conv(4, (3, 3), name="conv1")(x))
    return nn.Dense(3, name="fc")(x.reshape((x.shape[0], -1)))


class DictConvNet(nn.Module):
  """The PyTorch way: sub-modules in a ModuleDict built in setup, used by name."""

  def setup(self):
    self.blocks = ModuleDict({"conv1": nn.Conv(4, (3, 3)), "fc": nn.Dense(3)})

  def __call__(self, x):
    x = nn.relu(self.blocks["conv1"](x))
    return self.blocks["fc"](x.reshape((x.shape[0], -1)))


def test_module_dict_names_and_outputs():
  images = jnp.asarray(np.random.default_rng(2).normal(size=(2, 5, 5, 1)), jnp.float32)
  net = DictConvNet()
  variables = jax.eval_shape(net.init, jax.random.key(0), images)
  names = P.named_parameters(variables["params"])
  assert sorted(names) == [
    "blocks/conv1/bias",
    "blocks/conv1/kernel",
    "blocks/fc/bias",
    "blocks/fc/kernel",
  ]
  assert names["blocks/conv1/kernel"].shape == (3, 3, 1, 4)
  hand = HandConvNet()
  hand_params = _variables(hand, images)["params"]
  np.testing.assert_allclose(
    net.apply({"params": {"blocks": hand_params}}, images),
    hand.apply({"params": hand_params}, images),
    rtol=1e-6,
  )


def test_module_dict_top_level_heads_and_container_protocol():
  heads = ModuleDict({"b": nn.Dense(2), "a": nn.Dense(3)})
  assert heads.keys() == ["b", "a"] and list(heads) == ["b", "a"]
  assert len(heads) == 2 and "a" in heads and "c" not in heads
  variables = _variables(heads, X)
  assert P.count_params(variables["params"]) == (6 * 2 + 2) + (6 * 3 + 3)
  out = heads.apply(variables, X)
  p = variables["params"]
  np.testing.assert_allclose(out["a"], X @ p["a"]["kernel"] + p["a"]["bias"], rtol=1e-5)
  assert out["b"].shape == (4, 2)
  one = heads.apply(variables, X, method=lambda m, x: m["b"](x))
  np.testing.assert_array_equal(one, out["b"])
  with pytest.raises(KeyError, match="names: \\['b', 'a'\\]"):
    heads.apply(variables, X, method=lambda m, x: m["c"](x))


@pytest.mark.parametrize(
  "bad, match",
  [
    ([], "at least one layer"),
    ([nn.Dense(2), 3], "layer 1 is a int"),
    ({"a/b": nn.Dense(2)}, "without '/'"),
    ({"": nn.relu}, "non-empty"),
    (nn.Dense(2), "list/tuple of layers"),
  ],
)
def test_sequential_bad_input(bad, match):
  with pytest.raises(ValueError, match=match):
    Sequential(bad)


@pytest.mark.parametrize(
  "bad, match",
  [
    ([nn.Dense(2)], "dict name -> module"),
    ({"act": nn.relu}, "must be linen modules"),
    ({"x/y": nn.Dense(2)}, "without '/'"),
  ],
)
def test_module_dict_bad_input(bad, match):
  with pytest.raises(ValueError, match=match):
    ModuleDict(bad)
