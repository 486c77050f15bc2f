"""Two processes × 4 CPU devices (jax.distributed, gloo collectives) train as 1 × 8 and 1 × 1.

Each process reads only its rows of every global batch; a checkpoint the 2-process run
wrote restores bit-for-bit in a 1-process, 1-device run, which continues it to the result
of an uninterrupted 1-device run (to float tolerance: a different device count sums the
gradients in a different order).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxnets.data import epoch_indices, load
from jaxnets.params import named_parameters
from jaxnets.train import Checkpointer, default_config, train_and_evaluate
from jaxnets.train.state import TrainState

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(num_epochs=2):
  config = default_config()
  config.model = {"name": "mlp", "hidden": (32,), "num_classes": 10}
  config.batch_size, config.num_epochs, config.progress_bar = 64, num_epochs, False
  return config


_CHILD = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    workdir, out, port, process_id, num_processes = sys.argv[1:6]
    if int(num_processes) > 1:
      jax.config.update("jax_cpu_collectives_implementation", "gloo")
      jax.distributed.initialize(
        f"127.0.0.1:{port}", num_processes=int(num_processes), process_id=int(process_id)
      )
    from jaxnets.data import load
    from jaxnets.params import named_parameters
    from jaxnets.train import StreamingData, sharding, train_and_evaluate
    from tests.train.test_multiprocess import _config
    assert jax.device_count() == 8, jax.devices()
    state = train_and_evaluate(_config(), workdir)
    kernel = state.params["Dense_0"]["kernel"]
    assert len(kernel.sharding.device_set) == 8, kernel.sharding
    named = named_parameters(state.params).items()
    params = {k: np.asarray(v.addressable_data(0)) for k, v in named}

    # The streamed pipeline: which examples does this process read?
    train = load("digits", "train")
    read = []
    class Recording:
      def __len__(self):
        return len(train["y"])
      def __getitem__(self, i):
        read.append(int(i))
        return {"image": train["x"][i], "label": train["y"][i]}
    stream = StreamingData(Recording(), 64, sharding.make_mesh())
    read.clear()  # StreamingData reads example 0 for the shapes.
    shapes = [b["x"].shape for b in stream.batches(0, 0)]
    if jax.process_index() == 0:
      np.savez(out + ".npz", **params)
    with open(f"{out}.{jax.process_index()}.json", "w") as f:
      json.dump({"read": read, "global_batch": list(shapes[0]), "batches": len(shapes),
                 "local_devices": jax.local_device_count()}, f)
""")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(workdir, out, port, process_id, num_processes, devices):
  env = dict(
    os.environ,
    XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=_REPO,
  )
  args = [workdir, out, str(port), str(process_id), str(num_processes)]
  return subprocess.Popen(
    [sys.executable, "-c", _CHILD, *args],
    env=env,
    cwd=_REPO,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )


def _finish(procs):
  for proc in procs:
    out, err = proc.communicate(timeout=540)
    assert proc.returncode == 0, (out + err)[-4000:]


def _assert_close(a, b):
  assert set(a) == set(b)
  for name in a:
    np.testing.assert_allclose(a[name], b[name], rtol=2e-4, atol=2e-5, err_msg=name)


@pytest.mark.multiprocess
def test_two_processes_of_four_devices_match_one_process(tmp_path):
  port = _free_port()
  two = [_start(str(tmp_path / "two"), str(tmp_path / "two"), port, i, 2, 4) for i in (0, 1)]
  one8 = _start(str(tmp_path / "eight"), str(tmp_path / "eight"), 0, 0, 1, 8)
  try:
    _finish(two + [one8])
  finally:
    for proc in two + [one8]:
      proc.kill()

  # 1 × 1 device, in this process: the same parameters as 2 × 4 and as 1 × 8.
  assert jax.device_count() == 1
  state = train_and_evaluate(_config(), str(tmp_path / "one"))
  one = {k: np.asarray(v) for k, v in named_parameters(state.params).items()}
  two_params, eight_params = np.load(tmp_path / "two.npz"), np.load(tmp_path / "eight.npz")
  _assert_close(dict(two_params), one)
  _assert_close(dict(eight_params), one)

  # Each process read only its half of every global batch of 64 (32 rows each; grain may
  # read a batch's rows in another order), and one process alone reads every row.
  n = len(load("digits", "train")["y"])
  order = epoch_indices(0, 0, n, 64)
  for h in (0, 1):
    report = json.loads((tmp_path / f"two.{h}.json").read_text())
    assert report["local_devices"] == 4 and report["global_batch"][0] == 64
    mine = order[:, 32 * h : 32 * (h + 1)].ravel()
    np.testing.assert_array_equal(np.sort(report["read"]), np.sort(mine))
  whole = json.loads((tmp_path / "eight.0.json").read_text())["read"]
  np.testing.assert_array_equal(np.sort(whole), np.sort(order.ravel()))

  # The 2-process checkpoint restores bit-for-bit on 1 device, and continues.
  resumed_dir = str(tmp_path / "resumed")
  shutil.copytree(tmp_path / "two", resumed_dir)
  ckpt = Checkpointer(os.path.join(resumed_dir, "checkpoints"))
  items = ckpt.restore(dict(state.checkpoint_items(), epoch=0))
  ckpt.close()
  restored = {k: np.asarray(v) for k, v in named_parameters(items["params"]).items()}
  for name, value in restored.items():
    np.testing.assert_array_equal(value, two_params[name], err_msg=name)
  assert int(items["epoch"]) == 2 and int(items["step"]) == int(state.step)
  continued = train_and_evaluate(_config(3), resumed_dir)
  uninterrupted = train_and_evaluate(_config(3), str(tmp_path / "one"))
  assert isinstance(continued, TrainState) and int(continued.step) == int(uninterrupted.step)
  _assert_close(
    {k: np.asarray(v) for k, v in named_parameters(continued.params).items()},
    {k: np.asarray(v) for k, v in named_parameters(uninterrupted.params).items()},
  )
  with open(os.path.join(resumed_dir, "metrics.jsonl")) as f:
    assert [json.loads(line)["epoch"] for line in f] == [1, 2, 3]
