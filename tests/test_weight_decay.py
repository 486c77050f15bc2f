"""Weight decay three ways — L2 penalty in the loss, optax.add_decayed_weights, and the
closed-form shrink w ← (1 − ηλ) w − η ∇L — are the same SGD trajectory (course 7.2)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnets.losses import l2_penalty, squared_loss

LR, LAMBDA, STEPS = 0.05, 0.3, 20


def _problem():
  kx, kw, kn = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(kx, (16, 30))  # Fewer examples than features: overfits without decay.
  y = x @ jax.random.normal(kw, (30, 1)) * 0.1 + 0.05 * jax.random.normal(kn, (16, 1))
  params = {"kernel": jax.random.normal(jax.random.key(1), (30, 1)), "bias": jnp.ones((1,))}
  return x, y, params


def _data_loss(params, x, y):
  return squared_loss(x @ params["kernel"] + params["bias"], y).mean()


def _run(update_fn, params):
  return jax.lax.scan(lambda p, _: (update_fn(p), None), params, length=STEPS)[0]


def _optax_run(tx, loss_fn, params):
  state = tx.init(params)

  def step(carry, _):
    params, state = carry
    grads = jax.grad(loss_fn)(params)
    updates, state = tx.update(grads, state, params)
    return (optax.apply_updates(params, updates), state), None

  (params, _), _ = jax.lax.scan(step, (params, state), length=STEPS)
  return params


def _assert_trees_close(a, b):
  for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
    np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_l2_penalty_equals_add_decayed_weights_for_sgd():
  x, y, params = _problem()
  from_scratch = _optax_run(
    optax.sgd(LR), lambda p: _data_loss(p, x, y) + LAMBDA * l2_penalty(p), params
  )
  builtin = _optax_run(
    optax.chain(optax.add_decayed_weights(LAMBDA), optax.sgd(LR)),
    lambda p: _data_loss(p, x, y),
    params,
  )
  grad = jax.grad(_data_loss)
  by_hand = _run(
    lambda p: jax.tree_util.tree_map(lambda w, g: (1 - LR * LAMBDA) * w - LR * g, p, grad(p, x, y)),
    params,
  )
  _assert_trees_close(from_scratch, builtin)
  _assert_trees_close(from_scratch, by_hand)
  # Decay really acted: without it the kernel ends far from the decayed one.
  plain = _optax_run(optax.sgd(LR), lambda p: _data_loss(p, x, y), params)
  assert float(jnp.linalg.norm(plain["kernel"])) > 1.2 * float(jnp.linalg.norm(builtin["kernel"]))


def test_decaying_only_the_kernel_with_a_mask():
  x, y, params = _problem()
  penalty = lambda p: _data_loss(p, x, y) + LAMBDA * l2_penalty({"kernel": p["kernel"]})
  from_scratch = _optax_run(optax.sgd(LR), penalty, params)
  mask = {"kernel": True, "bias": False}
  builtin = _optax_run(
    optax.chain(optax.add_decayed_weights(LAMBDA, mask=mask), optax.sgd(LR)),
    lambda p: _data_loss(p, x, y),
    params,
  )
  _assert_trees_close(from_scratch, builtin)


def test_l2_penalty_and_decoupled_decay_differ_for_adam():
  """The equivalence is special to SGD: Adam + L2 is not AdamW (the check can fail)."""
  x, y, params = _problem()
  adam_l2 = _optax_run(
    optax.adam(LR), lambda p: _data_loss(p, x, y) + LAMBDA * l2_penalty(p), params
  )
  adamw = _optax_run(optax.adamw(LR, weight_decay=LAMBDA), lambda p: _data_loss(p, x, y), params)
  assert not np.allclose(adam_l2["kernel"], adamw["kernel"], rtol=1e-3, atol=1e-4)
