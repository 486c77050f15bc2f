"""The shared compile cache: a second run or sweep of the same shapes compiles nothing."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxnets import train
from jaxnets.train import compile_cache


def _config(lr: float):
  config = train.default_config()
  config.model = {"name": "softmax", "num_classes": 10}
  config.num_epochs, config.progress_bar = 1, False
  config.optimizer.learning_rate = lr
  return config


def test_second_sweep_reuses_the_compiled_program_with_equal_results():
  members = train.grid(seed=[0, 1], **{"optimizer.learning_rate": [0.1, 0.3]})
  first = train.train_sweep(_config(0.1), members)
  info = compile_cache.cache_info()
  # A new sweep instance (new optimizer and model objects, another default learning rate
  # that the members override): the same program, so no compilation.
  again = train.train_sweep(_config(0.5), members)
  after = compile_cache.cache_info()
  assert after["misses"] == info["misses"] and after["hits"] > info["hits"]
  for key, values in first.history.items():
    np.testing.assert_array_equal(again.history[key], values)
  compile_cache.clear_cache()  # Compiled afresh: the reused program computed the same.
  fresh = train.train_sweep(_config(0.5), members)
  assert compile_cache.cache_info()["misses"] > after["misses"]
  np.testing.assert_array_equal(fresh.history["test_accuracy"], again.history["test_accuracy"])


def test_programs_differing_only_in_a_constant_are_not_shared():
  x = jnp.arange(4.0)
  double = compile_cache.compile_shared(jax.jit(lambda v: v * 2.0), x)
  triple = compile_cache.compile_shared(jax.jit(lambda v: v * 3.0), x)
  assert double(x).tolist() == [0.0, 2.0, 4.0, 6.0] and triple(x).tolist() == [0.0, 3.0, 6.0, 9.0]
  table = jnp.asarray(np.random.default_rng(0).normal(size=(64, 64)), jnp.float32)
  other = table.at[63, 63].add(1.0)  # A large captured constant, one element apart.
  a = compile_cache.compile_shared(jax.jit(lambda v: jnp.sum(table) + v), x)
  b = compile_cache.compile_shared(jax.jit(lambda v: jnp.sum(other) + v), x)
  np.testing.assert_allclose(b(x) - a(x), 1.0, rtol=1e-4)
