"""Data parallelism: 8 simulated CPU devices give the result of 1 device."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np

from jaxnets.train import train_and_evaluate

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = textwrap.dedent("""
    import sys
    import jax, numpy as np
    from jaxnets.params import named_parameters
    from jaxnets.train import default_config, train_and_evaluate
    assert jax.device_count() == 8, jax.devices()
    config = default_config()
    config.batch_size = 12
    try:
      train_and_evaluate(config, sys.argv[1])
      raise AssertionError("a batch of 12 over 8 devices was accepted")
    except ValueError as err:
      assert "divisible by the number of devices (8)" in str(err), err
    config.num_epochs, config.batch_size, config.progress_bar = 2, 64, False
    config.checkpoint_every_epochs = 0
    state = train_and_evaluate(config, sys.argv[1])
    kernel = state.params["Dense_0"]["kernel"]
    assert len(kernel.sharding.device_set) == 8, kernel.sharding
    np.savez(sys.argv[2], **{k: np.asarray(v) for k, v in named_parameters(state.params).items()})
""")


def test_eight_devices_match_one_device(tmp_path):
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=8",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=_REPO,
  )
  out = tmp_path / "params8.npz"
  proc = subprocess.run(
    [sys.executable, "-c", _SCRIPT, str(tmp_path / "run8"), str(out)],
    env=env,
    cwd=_REPO,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]

  from jaxnets.params import named_parameters
  from jaxnets.train import default_config

  config = default_config()
  config.num_epochs, config.batch_size, config.progress_bar = 2, 64, False
  config.checkpoint_every_epochs = 0
  assert jax.device_count() == 1
  one = named_parameters(train_and_evaluate(config, str(tmp_path / "run1")).params)
  eight = np.load(out)
  assert set(eight.files) == set(one)
  for name, value in one.items():
    np.testing.assert_allclose(eight[name], value, rtol=2e-4, atol=2e-5, err_msg=name)
