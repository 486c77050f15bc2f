"""Listing, counting, saving/loading and placing parameter pytrees."""

import os
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import params as P
from jaxnets.models import MLP


def _random_params(model, x, seed=0):
  """Parameters with the model's structure, drawn with numpy (no init to compile)."""
  shapes = jax.eval_shape(model.init, jax.random.key(0), x)["params"]
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), s.dtype), shapes)


@pytest.fixture(scope="module")
def mlp_params():
  return _random_params(MLP(hidden=(5, 4), num_classes=3), jnp.ones((1, 6)))


def test_named_parameters_and_count(mlp_params):
  names = P.named_parameters(mlp_params)
  assert list(names) == [
    "Dense_0/bias",
    "Dense_0/kernel",
    "Dense_1/bias",
    "Dense_1/kernel",
    "Dense_2/bias",
    "Dense_2/kernel",
  ]
  assert names["Dense_0/kernel"].shape == (6, 5)
  assert P.count_params(mlp_params) == (6 * 5 + 5) + (5 * 4 + 4) + (4 * 3 + 3)
  listed = P.parameters(mlp_params)
  assert len(listed) == 6 and listed[1] is names["Dense_0/kernel"]
  # Namedtuple and list entries get their field names / indices.
  state = optax.adam(1e-3).init({"w": jnp.zeros(2)})
  assert sorted(P.named_parameters(state)) == ["0/count", "0/mu/w", "0/nu/w"]


def test_save_load_round_trip_exact(tmp_path, mlp_params):
  tree = {
    "params": mlp_params,
    "step": jnp.int32(7),
    "half": jnp.arange(4, dtype=jnp.bfloat16),
    "host": np.arange(6, dtype=np.int64).reshape(2, 3),
  }
  path = P.save_params(tmp_path / "ckpt", tree)
  assert os.path.isabs(path) and os.path.isdir(path)
  for loaded in (P.load_params(path), P.load_params(tmp_path / "ckpt", target=tree)):
    assert jax.tree.structure(loaded) == jax.tree.structure(tree)
    for name, want in P.named_parameters(tree).items():
      got = P.named_parameters(loaded)[name]
      assert got.dtype == want.dtype and got.shape == want.shape, name
      np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=name)
  assert "params/Dense_1/kernel" in P.named_parameters(P.load_params(path))


def test_load_into_namedtuple_state_and_abstract_target(tmp_path, mlp_params):
  opt = optax.adam(1e-2)

  @jax.jit
  def one_step(params):
    grads = jax.tree.map(jnp.ones_like, params)
    return opt.update(grads, opt.init(params), params)[1]

  state = one_step(mlp_params)
  P.save_params(tmp_path / "opt", state)
  restored = P.load_params(tmp_path / "opt", target=jax.eval_shape(opt.init, mlp_params))
  assert type(restored[0]) is type(state[0]) and int(restored[0].count) == 1
  np.testing.assert_array_equal(
    restored[0].mu["Dense_0"]["kernel"], state[0].mu["Dense_0"]["kernel"]
  )
  # An abstract target picks dtype and placement without allocating the arrays first.
  device = jax.devices()[0]
  abstract = jax.tree.map(
    lambda a: jax.ShapeDtypeStruct(
      a.shape, jnp.float16, sharding=jax.sharding.SingleDeviceSharding(device)
    ),
    mlp_params,
  )
  P.save_params(tmp_path / "p", mlp_params)
  half = P.load_params(tmp_path / "p", target=abstract)
  assert half["Dense_2"]["kernel"].dtype == jnp.float16
  np.testing.assert_allclose(half["Dense_2"]["kernel"], mlp_params["Dense_2"]["kernel"], rtol=1e-3)


def test_typed_prng_keys_round_trip(tmp_path):
  state = {"rng": jax.random.key(3), "raw": jax.random.PRNGKey(4)}
  P.save_params(tmp_path / "k", state)
  loaded = P.load_params(tmp_path / "k", target=state)
  assert jax.dtypes.issubdtype(loaded["rng"].dtype, jax.dtypes.prng_key)
  np.testing.assert_array_equal(
    jax.random.key_data(loaded["rng"]), jax.random.key_data(state["rng"])
  )
  np.testing.assert_array_equal(loaded["raw"], state["raw"])
  abstract = P.load_params(tmp_path / "k", target=jax.eval_shape(lambda: state))
  np.testing.assert_array_equal(
    jax.random.key_data(abstract["rng"]), jax.random.key_data(state["rng"])
  )
  assert P.load_params(tmp_path / "k")["rng"].dtype == np.uint32  # Raw data without a target.


def test_overwrite_needs_force_and_keeps_a_whole_checkpoint(tmp_path):
  path = tmp_path / "w"
  P.save_params(path, {"w": jnp.zeros(3)})
  with pytest.raises(FileExistsError, match="force=True"):
    P.save_params(path, {"w": jnp.ones(3)})
  np.testing.assert_array_equal(P.load_params(path)["w"], np.zeros(3))
  P.save_params(path, {"w": jnp.ones(3), "b": jnp.ones(1)}, force=True)
  loaded = P.load_params(path)
  np.testing.assert_array_equal(loaded["w"], np.ones(3))
  assert sorted(loaded) == ["b", "w"]
  assert os.listdir(tmp_path) == ["w"]  # No temporary or old copies left behind.


def test_load_errors(tmp_path, mlp_params):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    P.load_params(tmp_path / "missing")
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    P.load_params(tmp_path / "empty")
  P.save_params(tmp_path / "p", mlp_params)
  # Shapes are enough for a target: jax.eval_shape gives them without running anything.
  other = jax.eval_shape(MLP(hidden=(7,), num_classes=3).init, jax.random.key(0), jnp.ones((1, 6)))[
    "params"
  ]
  with pytest.raises(ValueError) as err:
    P.load_params(tmp_path / "p", target=other)
  message = str(err.value)
  assert "Dense_2" in message and "missing" not in message  # Dense_2 is only in the file.
  assert "Dense_0/kernel: saved (6, 5), target (6, 7)" in message
  with pytest.raises(ValueError, match="leaves must be arrays"):
    P.save_params(tmp_path / "bad", {"w": "not an array"})


def test_device_put_params(mlp_params):
  cpu = jax.devices("cpu")[0]
  for where in (
    None,
    "cpu",
    "cpu:0",
    cpu,
    jax.sharding.SingleDeviceSharding(cpu),
    jax.sharding.Mesh(np.array(jax.devices()), ("data",)),
  ):
    placed = P.device_put_params(mlp_params, where)
    for leaf in jax.tree.leaves(placed):
      assert leaf.devices() == {cpu}
    np.testing.assert_array_equal(placed["Dense_0"]["kernel"], mlp_params["Dense_0"]["kernel"])
  with pytest.raises(ValueError, match="available platforms"):
    P.device_put_params(mlp_params, "tpu")
  with pytest.raises(ValueError, match="index must be 0..0"):
    P.device_put_params(mlp_params, "cpu:5")
  with pytest.raises(ValueError, match="platform string"):
    P.device_put_params(mlp_params, 3)


def test_device_put_params_replicates_over_a_mesh_of_four_devices():
  code = textwrap.dedent("""
      import jax, jax.numpy as jnp, numpy as np
      from jaxnets import params as P
      mesh = jax.sharding.Mesh(np.array(jax.devices()), ("data",))
      placed = P.device_put_params({"w": jnp.arange(6.0)}, mesh)
      assert len(placed["w"].devices()) == 4, placed["w"].devices()
      assert placed["w"].sharding.is_fully_replicated
      assert P.device_put_params({"w": jnp.ones(2)}, "cpu:3")["w"].devices() == {jax.devices()[3]}
      print("ok")
  """)
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run(
    [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=120
  )
  assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_named_parameters_of_a_named_module():
  class Net(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.Dense(2, name="fc")(nn.Conv(3, (2, 2), name="conv1")(x))

  variables = jax.eval_shape(Net().init, jax.random.key(0), jnp.ones((1, 4, 4, 1)))
  assert sorted(P.named_parameters(variables["params"])) == [
    "conv1/bias",
    "conv1/kernel",
    "fc/bias",
    "fc/kernel",
  ]
