"""The optimizer the engine builds from a config: the learning-rate warmup and schedules."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.train import build, default_config, validate_config


def _config(schedule, warmup, epochs=4):
  config = default_config()
  config.optimizer = {"name": "sgd", "learning_rate": 0.1}
  config.num_epochs, config.warmup_epochs, config.lr_schedule = epochs, warmup, schedule
  validate_config(config)
  return config


def _steps(tx, n):
  """The update of a parameter whose gradient is always 1, for ``n`` steps."""
  params = jnp.zeros(())
  state = tx.init(params)
  updates = []
  for _ in range(n):
    u, state = tx.update(jnp.ones(()), state, params)
    updates.append(float(u))
  return np.asarray(updates)


def test_warmup_then_cosine_is_optax_warmup_cosine_decay():
  got = _steps(build.optimizer(_config("cosine", warmup=1), steps_per_epoch=3), 12)
  reference = optax.sgd(optax.warmup_cosine_decay_schedule(0.0, 0.1, 3, 12))
  np.testing.assert_allclose(got, _steps(reference, 12), rtol=1e-6, atol=1e-9)
  assert got[0] == 0.0 and got[3] == pytest.approx(-0.1)


def test_warmup_then_constant_ramps_linearly_and_holds():
  got = _steps(build.optimizer(_config("constant", warmup=2), steps_per_epoch=2), 8)
  closed_form = -0.1 * np.minimum(np.arange(8) / 4, 1.0)
  np.testing.assert_allclose(got, closed_form, rtol=1e-6, atol=1e-9)


def test_no_warmup_keeps_the_plain_schedules():
  constant = _steps(build.optimizer(_config("constant", warmup=0), steps_per_epoch=2), 4)
  np.testing.assert_allclose(constant, -0.1, rtol=1e-6)
  cosine = _steps(build.optimizer(_config("cosine", warmup=0), steps_per_epoch=2), 8)
  np.testing.assert_allclose(cosine, _steps(optax.sgd(optax.cosine_decay_schedule(0.1, 8)), 8))


@pytest.mark.parametrize("warmup,match", [(4, "must be below config.num_epochs"), (-1, "warmup")])
def test_bad_warmups_name_the_field(warmup, match):
  config = default_config()
  config.num_epochs, config.warmup_epochs = 4, warmup
  with pytest.raises(ValueError, match=match):
    validate_config(config)
