"""The course's from-scratch models, as pure functions with hand-written gradients.

* Linear regression ŷ = Xw + b trained by minibatch SGD whose gradient is written out
  (no ``jax.grad``): :func:`linreg_forward`, :func:`linreg_grads`, :func:`sgd_fit`.
* A 2-layer sigmoid MLP with squared loss, with its backward pass (backpropagation)
  written out: :func:`mlp_forward`, :func:`mlp_loss`, :func:`mlp_backward`.

The tests check them against the built-ins: closed-form least squares, ``optax.sgd`` with
``jax.grad``, and ``jax.grad`` of the loss. The real models live in :mod:`jaxnets.models`.

Example:
  >>> import jax
  >>> from jaxnets import data
  >>> d = data.load("synthetic_linear")
  >>> params, losses = sgd_fit(d["x"], d["y"], lr=0.03, batch_size=10, epochs=3, seed=0)
  >>> [round(float(v), 1) for v in params["w"][:, 0]], round(float(params["b"]), 1)
  ([2.0, -3.4], 4.2)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnets.data.pipeline import run_indices

# ----------------------------------------------------------------------------------------------
# Linear regression.


def init_linreg(key: jax.Array, num_features: int) -> dict[str, jax.Array]:
  """``w ~ N(0, 0.01²)`` of shape ``(num_features, 1)`` and ``b = 0``, as in the course."""
  if num_features <= 0:
    raise ValueError(f"num_features must be positive, got {num_features}.")
  return {"w": 0.01 * jax.random.normal(key, (num_features, 1)), "b": jnp.zeros(())}


def linreg_forward(params: dict[str, ArrayLike], x: ArrayLike) -> jax.Array:
  """ŷ = X w + b: ``f32[n, d] -> f32[n, 1]``.

  Example:
    >>> linreg_forward({"w": jnp.array([[2.0], [-1.0]]), "b": 0.5}, jnp.array([[1.0, 1.0]]))
    Array([[1.5]], dtype=float32)
  """
  return jnp.asarray(x) @ jnp.asarray(params["w"]) + params["b"]


def linreg_grads(params: dict[str, ArrayLike], x: ArrayLike, y: ArrayLike) -> dict[str, jax.Array]:
  """Gradient of the mean squared loss ½(ŷ − y)², written out.

  .. math::
     \\frac{\\partial L}{\\partial w} = \\frac1n X^\\top (\\hat y - y), \\qquad
     \\frac{\\partial L}{\\partial b} = \\frac1n \\sum_i (\\hat y_i - y_i)
  """
  x, y = jnp.asarray(x), jnp.asarray(y)
  residual = linreg_forward(params, x) - y  # [n, 1]
  return {"w": x.T @ residual / x.shape[0], "b": jnp.mean(residual)}


def _check_fit_args(x: jax.Array, y: jax.Array, lr: float, batch_size: int, epochs: int) -> None:
  if x.ndim != 2:
    raise ValueError(f"x must be f32[n, d], got shape {x.shape}.")
  if y.shape != (x.shape[0], 1):
    raise ValueError(f"y must have shape ({x.shape[0]}, 1) to match x {x.shape}, got {y.shape}.")
  if not lr > 0:
    raise ValueError(f"lr must be positive, got {lr}.")
  if not isinstance(batch_size, int) or not 0 < batch_size <= x.shape[0]:
    raise ValueError(f"batch_size must be an integer in [1, {x.shape[0]}], got {batch_size!r}.")
  if not isinstance(epochs, int) or epochs <= 0:
    raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")


@functools.partial(jax.jit, static_argnames=("num_features",))
def _sgd_run(x, y, lr, indices, init_key, num_features):
  def step(params, idx):
    grads = linreg_grads(params, x[idx], y[idx])
    return {k: params[k] - lr * grads[k] for k in params}, None

  def epoch(params, epoch_indices):
    params, _ = jax.lax.scan(step, params, epoch_indices)
    loss = jnp.mean(0.5 * jnp.square(linreg_forward(params, x) - y))
    return params, loss

  return jax.lax.scan(epoch, init_linreg(init_key, num_features), indices)


def sgd_fit(
  x: ArrayLike, y: ArrayLike, lr: float, batch_size: int, epochs: int, seed: int = 0
) -> tuple[dict[str, jax.Array], jax.Array]:
  """Fits ŷ = Xw + b by minibatch SGD with the hand-written gradient :func:`linreg_grads`.

  .. math:: (w, b) \\leftarrow (w, b) - \\eta \\, \\nabla_{w, b}
            \\frac{1}{|B|}\\sum_{i \\in B} \\tfrac12 (x_i^\\top w + b - y_i)^2

  The whole run is one jitted ``lax.scan`` over epochs (each a scan over minibatches).

  Args:
    x: ``f32[n, d]`` features.
    y: ``f32[n, 1]`` targets.
    lr: learning rate η > 0.
    batch_size: examples per minibatch, in ``[1, n]`` (the remainder of each epoch is dropped).
    epochs: number of passes over the data.
    seed: ``jax.random.key(seed)`` initializes the parameters (:func:`init_linreg`); the
      epochs visit the data in the order of :func:`jaxnets.data.run_indices` of ``seed``
      (the training engine's order for the same seed).

  Returns:
    ``(params, losses)``: ``{"w": f32[d, 1], "b": f32[]}`` and the full-data loss after
    each epoch, ``f32[epochs]``.
  """
  x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  _check_fit_args(x, y, lr, batch_size, epochs)
  indices = run_indices(seed, epochs, x.shape[0], batch_size)
  return _sgd_run(x, y, jnp.float32(lr), indices, jax.random.key(seed), x.shape[1])


# ----------------------------------------------------------------------------------------------
# A 2-layer sigmoid MLP with squared loss, and backpropagation written out.


def init_mlp(
  key: jax.Array, num_inputs: int, num_hidden: int, num_outputs: int, scale: float = 0.5
) -> dict[str, jax.Array]:
  """Weights ``~ N(0, scale²)``, zero biases: ``w1 f32[in, hidden]``, ``w2 f32[hidden, out]``."""
  if min(num_inputs, num_hidden, num_outputs) <= 0:
    raise ValueError(f"Layer sizes must be positive, got {(num_inputs, num_hidden, num_outputs)}.")
  k1, k2 = jax.random.split(key)
  return {
    "w1": scale * jax.random.normal(k1, (num_inputs, num_hidden)),
    "b1": jnp.zeros(num_hidden),
    "w2": scale * jax.random.normal(k2, (num_hidden, num_outputs)),
    "b2": jnp.zeros(num_outputs),
  }


def mlp_forward(
  params: dict[str, ArrayLike], x: ArrayLike, sigmoid_output: bool = True
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Forward pass input → hidden → output, keeping what backprop needs.

  .. math:: h = \\sigma(x W_1 + b_1), \\qquad o = \\sigma(h W_2 + b_2)
            \\ (\\text{or } o = h W_2 + b_2 \\text{ without the output sigmoid})

  Args:
    params: ``{"w1": f32[d, h], "b1": f32[h], "w2": f32[h, k], "b2": f32[k]}``.
    x: ``f32[n, d]`` inputs.
    sigmoid_output: apply a sigmoid to the output layer too.

  Returns:
    ``(o, cache)`` with ``o: f32[n, k]`` and ``cache = {"x", "h", "o"}``.

  Example:
    >>> p = {"w1": jnp.zeros((2, 3)), "b1": jnp.zeros(3), "w2": jnp.ones((3, 1)), "b2": -1.5}
    >>> mlp_forward(p, jnp.ones((1, 2)))[0]  # h = 0.5 everywhere, o = σ(1.5 - 1.5).
    Array([[0.5]], dtype=float32)
  """
  x = jnp.asarray(x)
  if x.ndim != 2 or x.shape[1] != jnp.shape(params["w1"])[0]:
    raise ValueError(
      f"x must be f32[n, {jnp.shape(params['w1'])[0]}] to match w1 "
      f"{jnp.shape(params['w1'])}, got {x.shape}."
    )
  h = jax.nn.sigmoid(x @ params["w1"] + params["b1"])
  z = h @ params["w2"] + params["b2"]
  o = jax.nn.sigmoid(z) if sigmoid_output else z
  return o, {"x": x, "h": h, "o": o}


def mlp_loss(
  params: dict[str, ArrayLike], x: ArrayLike, t: ArrayLike, sigmoid_output: bool = True
) -> jax.Array:
  """Squared loss summed over outputs, averaged over examples.

  .. math:: E = \\frac1n \\sum_i \\sum_k \\tfrac12 (o_{ik} - t_{ik})^2

  (``num_outputs`` times the batch mean of :func:`jaxnets.losses.squared_loss`, which
  averages over outputs too.)
  """
  o, _ = mlp_forward(params, x, sigmoid_output)
  t = jnp.asarray(t)
  if t.shape != o.shape:
    raise ValueError(
      f"targets have shape {t.shape}, outputs have shape {o.shape}; they must match."
    )
  return 0.5 * jnp.sum(jnp.square(o - t)) / o.shape[0]


def mlp_backward(
  params: dict[str, ArrayLike], x: ArrayLike, t: ArrayLike, sigmoid_output: bool = True
) -> dict[str, jax.Array]:
  """Gradients of :func:`mlp_loss` by backpropagation written out (no autodiff).

  With σ'(z) = σ(z)(1 − σ(z)), the error signals flow backwards layer by layer:

  .. math::
     \\delta_2 = \\frac1n (o - t) \\odot o \\odot (1 - o), \\quad
     \\frac{\\partial E}{\\partial W_2} = h^\\top \\delta_2, \\quad
     \\frac{\\partial E}{\\partial b_2} = \\textstyle\\sum_i \\delta_{2,i}

     \\delta_1 = (\\delta_2 W_2^\\top) \\odot h \\odot (1 - h), \\quad
     \\frac{\\partial E}{\\partial W_1} = x^\\top \\delta_1, \\quad
     \\frac{\\partial E}{\\partial b_1} = \\textstyle\\sum_i \\delta_{1,i}

  (without the output sigmoid, δ₂ = (o − t)/n).

  Returns:
    A dict with the same keys and shapes as ``params``.
  """
  o, cache = mlp_forward(params, x, sigmoid_output)
  t = jnp.asarray(t)
  if t.shape != o.shape:
    raise ValueError(
      f"targets have shape {t.shape}, outputs have shape {o.shape}; they must match."
    )
  h, x = cache["h"], cache["x"]
  delta2 = (o - t) / o.shape[0]  # ∂E/∂o, then through the output sigmoid.
  if sigmoid_output:
    delta2 = delta2 * o * (1.0 - o)  # ∂E/∂z₂  [n, k]
  delta1 = (delta2 @ jnp.asarray(params["w2"]).T) * h * (1.0 - h)  # ∂E/∂z₁  [n, h]
  return {
    "w1": x.T @ delta1,
    "b1": jnp.sum(delta1, axis=0),
    "w2": h.T @ delta2,
    "b2": jnp.sum(delta2, axis=0),
  }
