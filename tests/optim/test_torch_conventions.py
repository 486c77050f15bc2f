"""``convention="torch"`` reproduces ``torch.optim`` trajectories (float64, to 1e-10).

PyTorch is an optional test dependency (``pip install torch``); without it these tests skip.
Both libraries train the same softmax regression from the same start for 100 steps, each on
its own trajectory with its own gradients; the parameters must agree after every step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnets.optim import get_optimizer

torch = pytest.importorskip("torch")

NUM_STEPS = 100
TOL = 1e-10


def _data():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(32, 5))
  y = rng.integers(0, 3, size=32)
  w0 = rng.normal(size=(5, 3)) * 0.5
  b0 = rng.normal(size=(3,)) * 0.1
  return x, y, w0, b0


def _torch_trajectory(make_optimizer):
  x, y, w0, b0 = _data()
  x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y)
  w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
  b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
  opt = make_optimizer([w, b])
  path = []
  for _ in range(NUM_STEPS):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(x @ w + b, y) + 0.01 * (w**2).sum()
    loss.backward()
    opt.step()
    path.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]))
  return np.stack(path)


def _jax_trajectory(name, learning_rate, **kwargs):
  x, y, w0, b0 = _data()
  with jax.enable_x64(True):
    tx = get_optimizer(
      name,
      learning_rate,
      impl="scratch",
      convention=kwargs.pop("convention", "torch"),
      hyperparam_dtype=jnp.float64,
      **kwargs,
    )
    x, y = jnp.asarray(x), jnp.asarray(y)

    def loss(p):
      logits = x @ p["w"] + p["b"]
      ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return ce + 0.01 * jnp.sum(p["w"] ** 2)

    def body(carry, _):
      params, state = carry
      updates, state = tx.update(jax.grad(loss)(params), state, params)
      params = optax.apply_updates(params, updates)
      return (params, state), jnp.concatenate([params["w"].ravel(), params["b"]])

    params = {"w": jnp.asarray(w0), "b": jnp.asarray(b0)}
    _, path = jax.jit(lambda c: jax.lax.scan(body, c, None, length=NUM_STEPS))(
      (params, tx.init(params))
    )
    assert path.dtype == jnp.float64
    return np.asarray(path)


optim = torch.optim
# id -> the torch.optim optimizer, built on the parameters ...
TORCH = {
  "sgd": lambda p: optim.SGD(p, lr=0.1),
  "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
  "momentum_dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
  "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
  "adagrad": lambda p: optim.Adagrad(p, lr=0.1),
  "adagrad_options": lambda p: optim.Adagrad(p, lr=0.2, initial_accumulator_value=0.1, eps=1e-6),
  "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
  "rmsprop_options": lambda p: optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-4),
  "adadelta": lambda p: optim.Adadelta(p),
  "adadelta_lr": lambda p: optim.Adadelta(p, lr=0.5, rho=0.95, eps=1e-5),
  "adam": lambda p: optim.Adam(p, lr=0.01),
  "adam_options": lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6),
}
# ... and its jaxnets twin: (get_optimizer name, learning rate, the other hyperparameters).
OURS = {
  "sgd": ("sgd", 0.1, {}),
  "momentum": ("momentum", 0.05, {}),
  "momentum_dampening": ("momentum", 0.05, {"dampening": 0.3}),
  "nesterov": ("momentum", 0.05, {"momentum": 0.8, "nesterov": True}),
  "adagrad": ("adagrad", 0.1, {}),
  "adagrad_options": ("adagrad", 0.2, {"initial_accumulator_value": 0.1, "eps": 1e-6}),
  "rmsprop": ("rmsprop", 0.01, {}),
  "rmsprop_options": ("rmsprop", 0.003, {"decay": 0.9, "eps": 1e-4}),
  "adadelta": ("adadelta", 1.0, {}),
  "adadelta_lr": ("adadelta", 0.5, {"rho": 0.95, "eps": 1e-5}),
  "adam": ("adam", 0.01, {}),
  "adam_options": ("adam", 0.02, {"b1": 0.8, "b2": 0.99, "eps": 1e-6}),
}
CASES = [(case, TORCH[case], *OURS[case]) for case in TORCH]


@pytest.mark.parametrize(
  "make_torch,name,learning_rate,kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_torch_convention_reproduces_torch_optim(make_torch, name, learning_rate, kwargs):
  reference = _torch_trajectory(make_torch)
  ours = _jax_trajectory(name, learning_rate, **kwargs)
  assert np.max(np.abs(reference[-1] - reference[0])) > 1e-2  # The parameters really move.
  np.testing.assert_allclose(ours, reference, rtol=0, atol=TOL)


@pytest.mark.parametrize(
  "make_torch,name,learning_rate",
  [
    (lambda p: torch.optim.RMSprop(p, lr=0.01), "rmsprop", 0.01),  # α = 0.99 vs γ = 0.9.
    (lambda p: torch.optim.Adagrad(p, lr=0.1), "adagrad", 0.1),  # s₀ = 0 vs 0.1.
    (lambda p: torch.optim.Adam(p, lr=0.01), "adam", 0.01),  # Optax's defaults equal torch's.
  ],
  ids=["rmsprop", "adagrad", "adam"],
)
def test_the_default_convention_differs_where_the_docs_say(make_torch, name, learning_rate):
  reference = _torch_trajectory(make_torch)
  default = _jax_trajectory(name, learning_rate, convention="optax")
  gap = np.max(np.abs(default - reference))
  if name == "adam":
    assert gap < TOL
  else:
    assert gap > 1e-3
