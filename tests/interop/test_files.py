"""Weight files: safetensors without torch, torch.save files with it, atomic writes, errors."""

import sys

import numpy as np
import pytest

from jaxnets import interop


@pytest.fixture
def no_torch(monkeypatch):
  """``import torch`` raises ImportError, as where PyTorch is not installed."""
  monkeypatch.setitem(sys.modules, "torch", None)


def _state_dict():
  rng = np.random.default_rng(0)
  return {
    "conv1.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
    "bn1.running_var": rng.uniform(0.5, 2, size=4).astype(np.float16),
    "bn1.num_batches_tracked": np.array(12, np.int64),
    "fc.weight": rng.normal(size=(2, 4)).T,  # float64, not contiguous.
  }


def _assert_same(got, expected, ordered=True):
  assert (list(got) if ordered else sorted(got)) == (
    list(expected) if ordered else sorted(expected)
  )
  for key, value in expected.items():
    assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
    np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_safetensors_round_trip_needs_no_torch(tmp_path, no_torch):
  path = tmp_path / "weights.safetensors"
  interop.save_safetensors(_state_dict(), path)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.safetensors"]
  _assert_same(interop.load_state_dict(path), _state_dict(), ordered=False)  # Stored sorted.
  interop.save_safetensors({"fc.bias": np.ones(2, np.float32)}, path)  # Replaces the file.
  _assert_same(interop.load_state_dict(str(path)), {"fc.bias": np.ones(2, np.float32)})


def test_load_variables_is_from_torch_of_the_file(tmp_path, no_torch):
  rng = np.random.default_rng(1)
  shapes = interop.torch_shapes("resnet18", num_classes=3)
  state_dict = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
  path = tmp_path / "resnet18.safetensors"
  interop.save_safetensors(state_dict, path)
  got = interop.load_variables(path, "resnet18")
  expected = interop.from_torch(state_dict, "resnet18")
  np.testing.assert_array_equal(got["params"]["fc"]["kernel"], expected["params"]["fc"]["kernel"])
  _assert_same(interop.to_torch(got, "resnet18"), state_dict)  # torchvision's order again.


def test_torch_files_without_torch_name_the_extra(tmp_path, no_torch):
  path = tmp_path / "resnet18.pth"
  path.write_bytes(b"not read")
  with pytest.raises(ImportError, match=r'pip install "jaxnets\[torch\]"'):
    interop.load_state_dict(path)


def test_torch_save_files_load_exactly_bfloat16_included(tmp_path):
  torch = pytest.importorskip("torch")
  state_dict = {k: torch.from_numpy(np.array(v, order="C")) for k, v in _state_dict().items()}
  state_dict["fc.bias"] = torch.tensor([1.5, -0.0078125, 3.0e38], dtype=torch.bfloat16)
  for suffix in (".pth", ".pt"):
    path = tmp_path / f"weights{suffix}"
    torch.save(state_dict, path)
    loaded = interop.load_state_dict(path)
    assert loaded["fc.bias"].dtype.name == "bfloat16"
    np.testing.assert_array_equal(
      loaded["fc.bias"].astype(np.float32), state_dict["fc.bias"].float()
    )
    _assert_same({k: v for k, v in loaded.items() if k != "fc.bias"}, _state_dict())
  # And on to safetensors, which keeps bfloat16 too.
  interop.save_safetensors(state_dict, tmp_path / "w.safetensors")
  again = interop.load_state_dict(tmp_path / "w.safetensors")
  _assert_same(again, loaded, ordered=False)


def test_torch_files_that_are_not_state_dicts_are_refused(tmp_path):
  torch = pytest.importorskip("torch")
  torch.save([torch.zeros(2)], tmp_path / "list.pth")
  with pytest.raises(TypeError, match="holds a list, not a state_dict"):
    interop.load_state_dict(tmp_path / "list.pth")
  torch.save({"epoch": 3, "state_dict": {"w": torch.zeros(2)}}, tmp_path / "ckpt.pth")
  with pytest.raises(TypeError, match=r"entries \['epoch', 'state_dict'\] are not tensors"):
    interop.load_state_dict(tmp_path / "ckpt.pth")
  (tmp_path / "junk.pt").write_bytes(b"junk")
  with pytest.raises(ValueError, match="not a readable torch.save file"):
    interop.load_state_dict(tmp_path / "junk.pt")


def test_bad_paths_and_values_say_what_is_valid(tmp_path):
  with pytest.raises(ValueError, match=r"unknown weight-file type '.npz'; valid: \['.safetensors'"):
    interop.load_state_dict(tmp_path / "w.npz")
  with pytest.raises(FileNotFoundError, match="No weight file at"):
    interop.load_state_dict(tmp_path / "missing.safetensors")
  (tmp_path / "junk.safetensors").write_bytes(b"junk")
  with pytest.raises(ValueError, match="not a readable safetensors file"):
    interop.load_state_dict(tmp_path / "junk.safetensors")
  with pytest.raises(ValueError, match="must end in '.safetensors'"):
    interop.save_safetensors({"w": np.zeros(2)}, tmp_path / "w.pth")
  with pytest.raises(TypeError, match=r"state_dict\['w'\] is a str"):
    interop.save_safetensors({"w": "zeros"}, tmp_path / "w.safetensors")
  assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.safetensors"]  # Nothing partial.
