"""The shared compile cache: a second run or sweep of the same shapes compiles nothing."""

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
  double = compile_cache.compile_shared(lambda v: v * 2.0, x)
  triple = compile_cache.compile_shared(lambda v: v * 3.0, x)
  assert double(x).tolist() == [0.0, 2.0, 4.0, 6.0] and triple(x).tolist() == [0.0, 3.0, 6.0, 9.0]
  table = jnp.asarray(np.random.default_rng(0).normal(size=(64, 64)), jnp.float32)
  other = table.at[63, 63].add(1.0)  # A large captured constant, one element apart.
  a = compile_cache.compile_shared(lambda v: jnp.sum(table) + v, x)
  b = compile_cache.compile_shared(lambda v: jnp.sum(other) + v, x)
  np.testing.assert_allclose(b(x) - a(x), 1.0, rtol=1e-4)


def test_unused_arguments_of_other_types_are_not_confused():
  # An evaluation step ignores the optimizer state: two states whose unused leaves differ in
  # dtype and order must not share a program that maps leaves by position.
  x = jnp.arange(3.0)
  first = compile_cache.compile_shared(lambda s: s["x"] * 2, {"x": x, "count": jnp.int32(1)})
  second = compile_cache.compile_shared(lambda s: s["x"] * 2, {"x": x, "count": jnp.float32(1)})
  assert first({"x": x, "count": jnp.int32(1)}).tolist() == [0.0, 2.0, 4.0]
  assert second({"x": x + 1, "count": jnp.float32(1)}).tolist() == [2.0, 4.0, 6.0]
  swapped = {"a": jnp.float32(0), "b": x}  # Same avals per position, the other one used.
  one = compile_cache.compile_shared(lambda s: s["b"] + 1, swapped)
  other = compile_cache.compile_shared(lambda s: s["a"] + 1, {"a": x, "b": jnp.float32(0)})
  assert one(swapped).tolist() == [1.0, 2.0, 3.0]
  assert other({"a": x, "b": jnp.float32(5)}).tolist() == [1.0, 2.0, 3.0]
