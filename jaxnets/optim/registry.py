"""The optimizer registry: names to Optax gradient transformations, with one defaults table.

Two implementations share the names: ``impl="optax"`` (Optax's built-ins) and
``impl="scratch"`` (the from-scratch transforms of :mod:`jaxnets.optim.transforms`). Their
defaults come from one table, :data:`DEFAULTS`, chosen by a *convention*:

* ``"optax"`` (the default): Optax's defaults, which are the papers' ε where the course
  differs (Adam's ε = 1e-8, ...).
* ``"course"``: Dive into Deep Learning's values (ε = 1e-6 for AdaGrad, RMSProp and Adam,
  AdaGrad's accumulator starting at 0, AdaDelta's ε = 1e-5).
* ``"torch"``: ``torch.optim``'s defaults and forms (RMSprop's α = 0.99 with ε outside the
  root, Adagrad's ε = 1e-10 outside the root, SGD's ``dampening``), so that a PyTorch user
  reproduces a ``torch.optim`` trajectory exactly. Only ``impl="scratch"`` has these forms.

``docs/optimizers.md`` has the full table of differences.
"""

from typing import Any, Callable

import jax.numpy as jnp
import optax

from jaxnets.optim import transforms

Factory = Callable[..., optax.GradientTransformation]

# Optax's built-ins, named as the course names them.
OPTAX_OPTIMIZERS: dict[str, Factory] = {
  "sgd": optax.sgd,
  # No **kwargs here: inject_hyperparams would pass them on as a keyword named "kw".
  "momentum": lambda learning_rate, momentum=0.9, nesterov=False: optax.sgd(
    learning_rate, momentum=momentum, nesterov=nesterov
  ),
  "adagrad": optax.adagrad,
  "rmsprop": optax.rmsprop,
  "adadelta": optax.adadelta,
  "adam": optax.adam,
  "adamw": optax.adamw,
}

# The from-scratch implementations (jaxnets.optim.transforms).
SCRATCH_OPTIMIZERS: dict[str, Factory] = dict(transforms.SCRATCH_OPTIMIZERS)

IMPLS: dict[str, dict[str, Factory]] = {
  "optax": OPTAX_OPTIMIZERS,
  "scratch": SCRATCH_OPTIMIZERS,
}

_OPTAX_DEFAULTS: dict[str, dict[str, Any]] = {
  "sgd": {},
  "momentum": {"momentum": 0.9, "nesterov": False},
  "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},
  "rmsprop": {"decay": 0.9, "eps": 1e-8, "eps_in_sqrt": True, "initial_scale": 0.0},
  "adadelta": {"rho": 0.9, "eps": 1e-6},
  "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 0.0},
  "adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 0.0, "weight_decay": 1e-4},
}


def _override(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
  return {name: {**hp, **changes.get(name, {})} for name, hp in _OPTAX_DEFAULTS.items()}


# One table of defaults per convention, used by both implementations. Keys absent from a
# row keep the factory's own default (which equals the "optax" row; tests check this).
DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
  "optax": _OPTAX_DEFAULTS,
  "course": _override(
    {
      "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-6},
      "rmsprop": {"eps": 1e-6},
      "adadelta": {"eps": 1e-5},
      "adam": {"eps": 1e-6},
    }
  ),
  "torch": _override(
    {
      "momentum": {"dampening": 0.0},
      "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-10, "eps_in_sqrt": False},
      "rmsprop": {"decay": 0.99, "eps": 1e-8, "eps_in_sqrt": False},
    }
  ),
}
CONVENTIONS = tuple(DEFAULTS)

# The (impl, convention) pairs that exist: Optax's adagrad has no ε outside the root and its
# sgd no dampening, so PyTorch's forms are from-scratch only.
VALID_COMBINATIONS: tuple[tuple[str, str], ...] = (
  ("optax", "optax"),
  ("optax", "course"),
  ("scratch", "optax"),
  ("scratch", "course"),
  ("scratch", "torch"),
)

# Hyperparameters validated by name for both implementations (Optax checks none of them).
_CHECKS: dict[str, Callable[[Any, str], None]] = {
  "momentum": transforms.check_decay,
  "b1": transforms.check_decay,
  "b2": transforms.check_decay,
  "decay": transforms.check_decay,
  "rho": transforms.check_decay,
  "dampening": transforms.check_fraction,
  "eps": transforms.check_positive,
  "eps_root": transforms.check_non_negative,
  "initial_accumulator_value": transforms.check_non_negative,
  "initial_scale": transforms.check_non_negative,
  "weight_decay": transforms.check_non_negative,
}


def _check_learning_rate(learning_rate: Any) -> None:
  if not callable(learning_rate) and (
    isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
  ):
    raise ValueError(
      f"learning_rate must be a positive finite number or an Optax schedule, got {learning_rate!r}."
    )
  transforms.check_learning_rate(learning_rate)


def _check_hyperparameters(hyperparams: dict[str, Any]) -> None:
  for key, check in _CHECKS.items():
    value = hyperparams.get(key)
    if value is not None and not callable(value):
      check(value, key)


def _check_choice(impl: str, convention: str, name: str) -> None:
  if impl not in IMPLS:
    raise ValueError(f"Unknown optimizer impl {impl!r}; valid impls: {sorted(IMPLS)}.")
  if convention not in DEFAULTS:
    raise ValueError(
      f"Unknown optimizer convention {convention!r}; valid conventions: {list(CONVENTIONS)}."
    )
  if (impl, convention) not in VALID_COMBINATIONS:
    raise ValueError(
      f"convention={convention!r} is not available with impl={impl!r}; valid (impl, "
      f"convention) pairs: {list(VALID_COMBINATIONS)}."
    )
  if name not in IMPLS[impl]:
    raise ValueError(
      f"Unknown optimizer {name!r}; valid optimizers: {sorted(IMPLS[impl])} (impl={impl!r})."
    )


def _dtype_stable(tx: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
  """``tx`` whose ``update`` returns a state of the dtypes of the state it was given.

  With float32 hyperparameters some Optax built-ins promote a bfloat16 moment to float32
  after the first step (``optax.adam``'s ``mu``); a state whose dtypes change recompiles a
  jitted step and breaks a ``lax.scan`` carry.
  """

  def update(updates, state, params=None, **extra_args):
    updates, new_state = tx.update(updates, state, params, **extra_args)
    return updates, optax.tree_utils.tree_cast_like(new_state, state)

  return optax.GradientTransformationExtraArgs(tx.init, update)


def get_optimizer(
  name: str,
  learning_rate: Any,
  *,
  impl: str = "optax",
  convention: str = "optax",
  hyperparam_dtype: Any = jnp.float32,
  **kwargs: Any,
) -> optax.GradientTransformationExtraArgs:
  """Builds an optimizer whose hyperparameters live in its state.

  The transformation is wrapped in ``optax.inject_hyperparams``, so
  ``opt_state.hyperparams["learning_rate"]`` can be read, and replaced by name between jitted
  steps without recompiling (``optax.tree_utils.tree_set(opt_state, learning_rate=...)``, keeping
  its dtype). Hyperparameters are stored in ``hyperparam_dtype`` (float32), never in the
  parameters' dtype: in bfloat16, Adam's β₂ = 0.999 would round to 1.

  Valid ``(impl, convention)`` pairs: ``("optax", "optax")``, ``("optax", "course")``,
  ``("scratch", "optax")``, ``("scratch", "course")``, ``("scratch", "torch")``.

  Args:
    name: a key of :data:`OPTAX_OPTIMIZERS` (``impl="optax"``) or of
      :data:`SCRATCH_OPTIMIZERS` (``impl="scratch"``).
    learning_rate: a positive float or an Optax schedule.
    impl: ``"optax"`` (Optax's built-ins) or ``"scratch"`` (jaxnets' from-scratch transforms).
    convention: whose defaults and forms: ``"optax"`` (the default), ``"course"`` or
      ``"torch"`` (see :data:`DEFAULTS` and ``docs/optimizers.md``).
    hyperparam_dtype: the dtype of the injected hyperparameters; pass ``jnp.float64`` (with
      x64 enabled) to reproduce a float64 reference bit for bit.
    **kwargs: the optimizer's other hyperparameters (``momentum=0.9``, ``b1=0.9``, ...), which
      override the convention's defaults. Decay rates (``momentum``, ``b1``, ``b2``,
      ``decay``, ``rho``) must lie in [0, 1), ``dampening`` in [0, 1], ``eps`` must be
      positive and ``eps_root``, initial accumulators and ``weight_decay`` non-negative.

  Returns:
    An ``optax.GradientTransformationExtraArgs``.

  Raises:
    ValueError: unknown name, impl or convention, an invalid (impl, convention) pair, a
      non-positive learning rate, or bad hyperparameters.

  Example:
    >>> import jax.numpy as jnp
    >>> opt = get_optimizer("adam", 1e-3)
    >>> state = opt.init({"w": jnp.zeros(3)})
    >>> hp = state.hyperparams
    >>> round(float(hp["learning_rate"]), 6), f"{float(hp['eps']):.0e}", hp["b2"].dtype
    (0.001, '1e-08', dtype('float32'))
    >>> opt = get_optimizer("rmsprop", 0.01, impl="scratch", convention="torch")
    >>> round(float(opt.init({"w": jnp.zeros(3)}).hyperparams["decay"]), 4)
    0.99
  """
  _check_choice(impl, convention, name)
  _check_learning_rate(learning_rate)
  hyperparams = {**DEFAULTS[convention][name], **kwargs}
  _check_hyperparameters(hyperparams)
  factory = IMPLS[impl][name]
  try:
    factory(learning_rate=learning_rate, **hyperparams)  # Every check now, not at init.
    tx = optax.inject_hyperparams(factory, hyperparam_dtype=hyperparam_dtype)(
      learning_rate=learning_rate, **hyperparams
    )
  except TypeError as err:
    raise ValueError(
      f"Bad hyperparameters {sorted(kwargs)} for optimizer {name!r} (impl={impl!r}): {err}"
    ) from err
  return _dtype_stable(tx)
