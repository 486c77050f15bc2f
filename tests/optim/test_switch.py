"""optim.switch: the chosen optimizer's updates bit for bit, alone and vmapped over members."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import (
  get_hyperparameter,
  get_optimizer,
  hyperparameter_names,
  set_hyperparameters,
  switch,
)

PARAMS = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([0.3])}
NAMES = ("adam", "momentum", "rmsprop")


def _optimizers(learning_rate=0.1):
  return {n: get_optimizer(n, learning_rate, impl="scratch", convention="course") for n in NAMES}


def _grads(t):
  """A different gradient at every step."""
  return jax.tree.map(lambda p: jnp.sin(p * (t + 1.0)) + 0.1 * t, PARAMS)


def _run(tx, state, steps=4):
  """``steps`` jitted updates of ``tx`` from ``state``: every step's updates, the last state."""
  params, out, update = PARAMS, [], jax.jit(tx.update)
  for t in range(steps):
    updates, state = update(_grads(t), state, params)
    params = optax.apply_updates(params, updates)
    out.append(updates)
  return out, state


@pytest.mark.parametrize("index", range(len(NAMES)))
def test_the_chosen_optimizer_runs_bit_for_bit_and_only_its_state_moves(index):
  tx = switch(_optimizers())
  state = set_hyperparameters(tx.init(PARAMS), optimizer_index=index)
  got, final = _run(tx, state)
  alone = _optimizers()[NAMES[index]]
  want, want_state = _run(alone, alone.init(PARAMS))
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
    np.testing.assert_array_equal(a, b)
  for i, inner in enumerate(final.inner_states):
    start = tx.init(PARAMS).inner_states[i]
    moved = [
      not np.array_equal(a, b)
      for a, b in zip(jax.tree.leaves(inner), jax.tree.leaves(start), strict=True)
    ]
    assert any(moved) == (i == index), (i, index)
  for a, b in zip(
    jax.tree.leaves(final.inner_states[index]), jax.tree.leaves(want_state), strict=True
  ):
    np.testing.assert_array_equal(a, b)


def test_vmapped_members_each_follow_their_own_optimizer():
  tx = switch(_optimizers())
  stacked = jax.tree.map(lambda leaf: jnp.stack([leaf] * 3), tx.init(PARAMS))
  stacked = set_hyperparameters(stacked, optimizer_index=[2, 0, 1], learning_rate=[0.1, 0.01, 0.3])
  step = jax.jit(jax.vmap(tx.update, in_axes=(None, 0, None)))
  updates, _ = step(_grads(0), stacked, PARAMS)
  for member, (name, lr) in enumerate([("rmsprop", 0.1), ("adam", 0.01), ("momentum", 0.3)]):
    alone = _optimizers(lr)[name]
    want, _ = alone.update(_grads(0), alone.init(PARAMS), PARAMS)
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(want), strict=True):
      np.testing.assert_allclose(a[member], b, rtol=1e-6, err_msg=name)


def test_hyperparameters_by_name_across_the_optimizers():
  tx = switch(_optimizers())
  state = tx.init(PARAMS)
  names = hyperparameter_names(state)
  assert "optimizer_index" in names and {"learning_rate", "b1", "momentum", "decay"} <= set(names)
  state = set_hyperparameters(state, learning_rate=0.5)  # Set in all three.
  assert float(get_hyperparameter(state, "learning_rate")) == 0.5
  leaves = jax.tree.leaves(state)
  assert len({id(leaf) for leaf in leaves}) == len(leaves)  # Own buffers: donation works.
  jax.jit(lambda s: s, donate_argnums=0)(jax.tree.map(jnp.copy, state))
  state = state._replace(
    inner_states=(set_hyperparameters(state.inner_states[0], learning_rate=0.1),)
    + state.inner_states[1:]
  )
  with pytest.raises(ValueError, match="hold different values of 'learning_rate'"):
    get_hyperparameter(state, "learning_rate")


def test_a_switch_needs_an_optimizer():
  with pytest.raises(ValueError, match="at least one optimizer"):
    switch({})
