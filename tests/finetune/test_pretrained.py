"""Pretrained variables from a run's workdir, a checkpoint step, saved params, or PyTorch files."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.finetune import load_pretrained
from jaxnets.params import save_params
from jaxnets.train import Checkpointer

PARAMS = {"fc": {"kernel": np.arange(6.0, dtype=np.float32).reshape(2, 3)}}
STATS = {"bn": {"mean": np.ones(2, np.float32)}}


def _run_dir(tmp_path):
  checkpointer = Checkpointer(str(tmp_path / "run" / "checkpoints"), max_to_keep=3)
  for step, scale in ((4, 1.0), (8, 2.0)):
    items = {"step": jnp.int32(step), "params": {"fc": {"kernel": PARAMS["fc"]["kernel"] * scale}}}
    checkpointer.save(step, dict(items, batch_stats=STATS, opt_state={"mu": jnp.zeros(2)}))
  checkpointer.close()
  return tmp_path / "run"


def test_a_workdir_gives_its_latest_checkpoints_params_and_statistics(tmp_path):
  run = _run_dir(tmp_path)
  for path in (run, run / "checkpoints", run / "checkpoints" / "8"):
    loaded = load_pretrained(str(path))
    assert sorted(loaded) == ["batch_stats", "params"]
    np.testing.assert_array_equal(loaded["params"]["fc"]["kernel"], PARAMS["fc"]["kernel"] * 2)
    np.testing.assert_array_equal(loaded["batch_stats"]["bn"]["mean"], STATS["bn"]["mean"])
  older = load_pretrained(str(run / "checkpoints" / "4"))
  np.testing.assert_array_equal(older["params"]["fc"]["kernel"], PARAMS["fc"]["kernel"])


def test_saved_params_with_or_without_the_params_key(tmp_path):
  save_params(str(tmp_path / "a"), {"params": PARAMS, "batch_stats": STATS})
  save_params(str(tmp_path / "b"), PARAMS)
  a, b = load_pretrained(str(tmp_path / "a")), load_pretrained(str(tmp_path / "b"))
  np.testing.assert_array_equal(a["params"]["fc"]["kernel"], PARAMS["fc"]["kernel"])
  np.testing.assert_array_equal(b["params"]["fc"]["kernel"], PARAMS["fc"]["kernel"])
  assert b["batch_stats"] == {} and sorted(a["batch_stats"]) == ["bn"]


def test_bad_paths(tmp_path):
  with pytest.raises(FileNotFoundError, match="No pretrained weights at"):
    load_pretrained(str(tmp_path / "nothing"))
  weights = tmp_path / "resnet18.pth"
  weights.write_bytes(b"")
  with pytest.raises(ValueError, match="needs the model name"):
    load_pretrained(str(weights))


def test_pytorch_files_go_through_interop(tmp_path):
  interop = pytest.importorskip("jaxnets.interop")
  rng = np.random.default_rng(0)
  shapes = interop.torch_shapes("resnet18", num_classes=10)
  state_dict = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
  path = os.path.join(tmp_path, "r18.safetensors")
  interop.save_safetensors(state_dict, path)
  loaded = load_pretrained(path, "resnet18")
  want = interop.from_torch(state_dict, "resnet18")
  for kind in ("params", "batch_stats"):
    jax.tree_util.tree_map(np.testing.assert_array_equal, loaded[kind], want[kind])
  assert loaded["params"]["fc"]["kernel"].shape == (512, 10)
