"""jaxnets.losses against Optax and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets import losses

RNG = np.random.default_rng(0)
LOGITS = jnp.asarray(RNG.normal(size=(8, 5)) * 3, jnp.float32)
LABELS = jnp.asarray(RNG.integers(0, 5, size=8), jnp.int32)


def _optax_ce(logits, labels):
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def _mean_ce(logits, labels):
  return losses.softmax_cross_entropy(logits, labels).mean()


def test_cross_entropy_is_per_example_like_optax():
  ours = losses.softmax_cross_entropy(LOGITS, LABELS)
  assert ours.shape == (8,)
  np.testing.assert_allclose(
    ours, optax.softmax_cross_entropy_with_integer_labels(LOGITS, LABELS), rtol=1e-6
  )


def test_cross_entropy_equals_optax():
  @jax.jit  # One compiled program instead of one per operation.
  def compare(logits, labels):
    return (
      _mean_ce(logits, labels),
      _optax_ce(logits, labels),
      jax.grad(_mean_ce)(logits, labels),
      jax.grad(_optax_ce)(logits, labels),
      (losses.softmax(logits) - losses.one_hot(labels, 5)) / logits.shape[0],
    )

  ours, theirs, g_ours, g_optax, closed_form = compare(LOGITS, LABELS)
  np.testing.assert_allclose(ours, theirs, rtol=1e-6)
  np.testing.assert_allclose(g_ours, g_optax, rtol=1e-5, atol=1e-7)
  # Its gradient in closed form: (softmax - one_hot) / batch.
  np.testing.assert_allclose(g_ours, closed_form, rtol=1e-5, atol=1e-7)


def test_cross_entropy_is_stable_for_huge_logits():
  logits = jnp.array([[1000.0, 0.0, -1000.0], [-5e4, 5e4, 0.0], [88.0, 89.0, 90.0]])
  labels = jnp.array([0, 0, 2])

  @jax.jit
  def compare(logits, labels):
    naive = -jnp.mean(
      jnp.log(jnp.exp(logits)[jnp.arange(3), labels] / jnp.sum(jnp.exp(logits), axis=1))
    )
    return (
      _mean_ce(logits, labels),
      naive,
      _optax_ce(logits, labels),
      jax.grad(_mean_ce)(logits, labels),
    )

  ours, naive, theirs, grads = compare(logits, labels)
  assert not bool(jnp.isfinite(naive))  # The textbook formula overflows here ...
  assert bool(jnp.isfinite(ours))  # ... the log-sum-exp one does not.
  np.testing.assert_allclose(ours, theirs, rtol=1e-6)
  # Row by row: 0, 1e5, and log(1 + e^-1 + e^-2) for the last row.
  np.testing.assert_allclose(ours, (0.0 + 1e5 + np.log1p(np.exp(-1) + np.exp(-2))) / 3, rtol=1e-6)
  assert bool(jnp.all(jnp.isfinite(grads)))


def test_softmax_is_a_distribution_and_matches_jax():
  probs = losses.softmax(LOGITS * 100)
  assert bool(jnp.all(probs >= 0))
  np.testing.assert_allclose(jnp.sum(probs, axis=-1), 1.0, rtol=1e-6)
  np.testing.assert_allclose(losses.softmax(LOGITS), jax.nn.softmax(LOGITS), rtol=1e-6)
  np.testing.assert_allclose(
    losses.log_softmax(LOGITS), jax.nn.log_softmax(LOGITS), rtol=1e-5, atol=1e-6
  )
  # Along another axis, and invariant to adding a constant.
  np.testing.assert_allclose(jnp.sum(losses.softmax(LOGITS, axis=0), axis=0), 1.0, rtol=1e-6)
  np.testing.assert_allclose(losses.softmax(LOGITS + 100.0), losses.softmax(LOGITS), atol=1e-5)


def test_one_hot():
  encoded = losses.one_hot(jnp.array([2, 0, 4]), 5)
  np.testing.assert_array_equal(encoded, np.eye(5, dtype=np.float32)[[2, 0, 4]])
  assert encoded.dtype == jnp.float32
  np.testing.assert_array_equal(losses.one_hot(LABELS, 5), jax.nn.one_hot(LABELS, 5))
  assert losses.one_hot(jnp.zeros((2, 3), jnp.int32), 4).shape == (2, 3, 4)


def test_squared_loss_equals_optax_l2_loss():
  pred = jnp.asarray(RNG.normal(size=(6, 2)), jnp.float32)
  target = jnp.asarray(RNG.normal(size=(6, 2)), jnp.float32)
  # optax.l2_loss is the elementwise ½(ŷ − y)²: ours averages it over each example's outputs,
  # and the batch mean of ours is the course's loss, the mean over all elements.
  per_example = losses.squared_loss(pred, target)
  assert per_example.shape == (6,)
  np.testing.assert_allclose(per_example, optax.l2_loss(pred, target).mean(1), rtol=1e-6)
  np.testing.assert_allclose(per_example.mean(), optax.l2_loss(pred, target).mean(), rtol=1e-6)
  mean_loss = lambda p, t: losses.squared_loss(p, t).mean()
  np.testing.assert_allclose(
    jax.grad(mean_loss)(pred, target), (pred - target) / pred.size, rtol=1e-6
  )


def test_l2_penalty_gradient_is_the_weights():
  params = {
    "dense": {
      "kernel": jnp.asarray(RNG.normal(size=(3, 2)), jnp.float32),
      "bias": jnp.array([0.5, -1.0]),
    }
  }
  value, grads = jax.value_and_grad(losses.l2_penalty)(params)
  np.testing.assert_allclose(
    value, 0.5 * (np.sum(np.square(params["dense"]["kernel"])) + 1.25), rtol=1e-6
  )
  for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(params), strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_accuracy():
  logits = jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
  np.testing.assert_allclose(losses.accuracy(logits, jnp.array([1, 0, 0])), 2 / 3, rtol=1e-6)


def test_get_loss():
  assert losses.get_loss("cross_entropy") is losses.softmax_cross_entropy
  assert losses.get_loss("squared") is losses.squared_loss
  with pytest.raises(ValueError, match="valid losses: \\['cross_entropy', 'squared'\\]"):
    losses.get_loss("hinge")


def test_shape_mismatch_errors():
  with pytest.raises(
    ValueError, match="predictions have shape \\(4, 1\\) but targets have shape \\(4,\\)"
  ):
    losses.squared_loss(jnp.zeros((4, 1)), jnp.zeros(4))
  with pytest.raises(ValueError, match="need labels of shape \\(8,\\), got \\(8, 5\\)"):
    losses.softmax_cross_entropy(LOGITS, losses.one_hot(LABELS, 5))
  with pytest.raises(ValueError, match="need labels of shape \\(8,\\), got \\(7,\\)"):
    losses.softmax_cross_entropy(LOGITS, LABELS[:7])
