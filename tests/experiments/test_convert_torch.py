"""The torchvision-to-jaxnets checkpoint command, in process and as a user runs it."""

import os
import subprocess
import sys

import numpy as np
import pytest

from experiments import convert_torch
from jaxnets import interop, params

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def state_dict():
  rng = np.random.default_rng(0)
  shapes = interop.torch_shapes("resnet18", num_classes=3)
  return {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}


def _assert_restores(path, state_dict):
  restored = params.load_params(path)
  assert sorted(restored) == ["batch_stats", "params"]
  assert interop.to_torch(restored, "resnet18").keys() == state_dict.keys()
  for key, value in interop.to_torch(restored, "resnet18").items():
    np.testing.assert_array_equal(value, state_dict[key], err_msg=key)


def test_a_safetensors_file_becomes_a_checkpoint_load_params_restores(tmp_path, state_dict):
  source = tmp_path / "resnet18.safetensors"
  interop.save_safetensors(state_dict, source)
  result = convert_torch.convert(str(source), "resnet18", str(tmp_path / "ckpt"))
  assert result["parameters"] == 11_178_051 and result["num_classes"] == 3
  _assert_restores(result["output"], state_dict)
  with pytest.raises(FileExistsError, match="pass --force"):
    convert_torch.convert(str(source), "resnet18", str(tmp_path / "ckpt"))
  with pytest.raises(ValueError, match="missing keys"):
    convert_torch.convert(str(source), "resnet34", str(tmp_path / "other"))
  assert not (tmp_path / "other").exists()


def test_the_command_converts_a_torch_file(tmp_path, state_dict):
  torch = pytest.importorskip("torch")
  source = tmp_path / "resnet18.pth"
  torch.save({k: torch.from_numpy(v) for k, v in state_dict.items()}, source)

  def command(output):
    return subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.convert_torch",
        f"--input={source}",
        "--model=resnet18",
        f"--output={output}",
      ],
      cwd=_REPO,
      env=dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=_REPO),
      capture_output=True,
      text=True,
      timeout=300,
    )

  proc = command(tmp_path)  # Exists: refused in one line, before the file is read.
  assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
    f"convert_torch: {tmp_path} already exists; pass --force to replace it."
  ]
  proc = command(tmp_path / "ckpt")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "(11,178,051 parameters, 3 classes)" in proc.stdout
  _assert_restores(tmp_path / "ckpt", state_dict)
