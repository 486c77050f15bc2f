"""Property-based bad input over the public entry points: a clear ValueError/TypeError.

Every kind of bad input in :data:`CASES` is drawn by hypothesis (a few examples each) and
must raise ``ValueError`` or ``TypeError`` whose message names the problem and what is
valid — never an XLA error, a hang or a silent NaN. Augmentation and interop functions are
covered by their own modules' tests.
"""

import dataclasses
import math
import re
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxnets import analysis, data, models, optim, train


@dataclasses.dataclass(frozen=True)
class Case:
  name: str  # The kind of bad input.
  values: st.SearchStrategy  # Draws bad values.
  call: Callable[[Any], Any]  # Calls the entry point with one.
  message: str  # A regex the error message must match (the problem, and what is valid).


def _config(**fields):
  config = train.default_config()
  for path, value in fields.items():
    *parents, leaf = path.split("__")
    node = config
    for part in parents:
      node = node[part]
    node[leaf] = value
  return config


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_unknown_dataset = _names.filter(lambda n: n not in data.DATASETS and not n.isdigit())
_non_positive_int = st.integers(-1000, 0)
_bad_float = st.sampled_from([float("nan"), float("inf"), -float("inf")])
_non_finite_or_negative = st.one_of(_bad_float, st.floats(-1e6, -1e-6))


def _with_one_bad(shape, bad):
  """A finite float32 array of ``shape`` with one element replaced by ``bad``."""
  return st.tuples(st.integers(0, int(np.prod(shape)) - 1), bad).map(
    lambda ib: (
      np.where(np.arange(np.prod(shape)) == ib[0], ib[1], 1.0).astype(np.float32).reshape(shape)
    )
  )


_square = st.integers(2, 4).map(lambda n: np.eye(n, dtype=np.float32) * 2)
_non_square = st.tuples(st.integers(1, 4), st.integers(1, 4)).filter(lambda s: s[0] != s[1])
_non_symmetric = st.integers(2, 4).map(lambda n: np.triu(np.ones((n, n), np.float32)))
_indefinite = st.integers(2, 4).map(
  lambda n: np.diag(np.r_[-1.0, np.ones(n - 1)]).astype(np.float32)
)
_singular = st.integers(2, 4).map(lambda n: np.ones((n, n), np.float32))

CASES = [
  # jaxnets.data.load
  Case(
    "load: unknown dataset name",
    _unknown_dataset,
    data.load,
    r"Unknown dataset .*Embedded datasets",
  ),
  Case(
    "load: non-string name",
    st.one_of(st.integers(), st.none(), st.floats()),
    data.load,
    r"non-empty string; embedded",
  ),
  Case("load: empty name", st.just(""), data.load, r"non-empty string"),
  Case(
    "load: unknown split",
    _names.filter(lambda s: s not in ("train", "test")),
    lambda s: data.load("digits", s),
    r"has splits \['train', 'test'\]",
  ),
  Case(
    "load: image_size <= 0",
    _non_positive_int,
    lambda n: data.load("digits", image_size=n),
    r"image_size must be a positive integer",
  ),
  Case(
    "load: non-integer image_size",
    st.floats(0.5, 40).filter(lambda f: f != int(f)),
    lambda f: data.load("digits", image_size=f),
    r"image_size must be a positive integer",
  ),
  # jaxnets.models.get_model
  Case(
    "get_model: unknown name",
    _names.filter(lambda n: n not in models.MODELS),
    models.get_model,
    r"Unknown model .*valid models",
  ),
  Case(
    "get_model: non-string name", st.integers(), models.get_model, r"Unknown model .*valid models"
  ),
  Case(
    "get_model: unknown argument",
    _names.map(lambda n: "x_" + n),
    lambda k: models.get_model("mlp", **{k: 1}),
    r"Bad arguments .* for model 'mlp'",
  ),
  Case(
    "get_model: num_classes <= 0",
    _non_positive_int,
    lambda n: models.get_model("mlp", num_classes=n),
    r"num_classes must be positive",
  ),
  Case(
    "get_model: hidden width <= 0",
    _non_positive_int,
    lambda w: models.get_model("mlp", hidden=(8, w)),
    r"hidden widths must be positive",
  ),
  Case(
    "get_model: hidden not integer widths",
    st.sampled_from(["64", 64, (1.5,), ("a",)]),
    lambda h: models.get_model("mlp", hidden=h),
    r"hidden must be a tuple of positive integer",
  ),
  Case(
    "get_model: dropout_rate outside [0, 1)",
    st.one_of(st.floats(1, 10), st.floats(-10, -1e-3), _bad_float),
    lambda r: models.get_model("mlp", dropout_rate=r),
    r"dropout_rate must be in \[0, 1\)",
  ),
  # jaxnets.optim.get_optimizer
  Case(
    "get_optimizer: unknown name",
    _names.filter(lambda n: n not in optim.IMPLS["optax"]),
    lambda n: optim.get_optimizer(n, 0.1),
    r"Unknown optimizer .*valid optimizers",
  ),
  Case(
    "get_optimizer: learning rate <= 0",
    st.floats(-1e3, 0),
    lambda lr: optim.get_optimizer("sgd", lr),
    r"learning_rate must be a positive finite number",
  ),
  Case(
    "get_optimizer: NaN/inf learning rate",
    _bad_float,
    lambda lr: optim.get_optimizer("adam", lr),
    r"learning_rate must be a positive finite number",
  ),
  Case(
    "get_optimizer: learning rate of a wrong type",
    st.sampled_from(["0.1", None, [0.1], {}]),
    lambda lr: optim.get_optimizer("sgd", lr),
    r"learning_rate must be a positive finite number",
  ),
  Case(
    "get_optimizer: unknown hyperparameter",
    _names.map(lambda n: "x_" + n),
    lambda k: optim.get_optimizer("sgd", 0.1, **{k: 0.9}),
    r"Bad hyperparameters .* for optimizer 'sgd'",
  ),
  Case(
    "get_optimizer: momentum outside [0, 1)",
    st.one_of(st.floats(1, 10), st.floats(-10, -1e-3)),
    lambda m: optim.get_optimizer("momentum", 0.1, momentum=m),
    r"momentum must lie in \[0, 1\)",
  ),
  Case(
    "get_optimizer: unknown impl",
    _names.filter(lambda n: n not in optim.IMPLS),
    lambda i: optim.get_optimizer("sgd", 0.1, impl=i),
    r"Unknown optimizer impl .*valid impls",
  ),
  # jaxnets.train.validate_config
  Case(
    "validate_config: batch_size <= 0",
    _non_positive_int,
    lambda n: train.validate_config(_config(batch_size=n)),
    r"config.batch_size must be a positive integer",
  ),
  Case(
    "validate_config: num_epochs <= 0",
    _non_positive_int,
    lambda n: train.validate_config(_config(num_epochs=n)),
    r"config.num_epochs must be a positive integer",
  ),
  Case(
    "validate_config: unknown field",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).map(lambda n: "zz" + n),
    lambda f: train.validate_config(_config(**{f: 1})),
    r"is not a field of the training config",
  ),
  Case(
    "validate_config: unknown lr_schedule",
    _names.filter(lambda n: n not in ("constant", "cosine")),
    lambda s: train.validate_config(_config(lr_schedule=s)),
    r"must be one of \['constant', 'cosine'\]",
  ),
  Case(
    "validate_config: bad weight_decay",
    _non_finite_or_negative,
    lambda w: train.validate_config(_config(weight_decay=w)),
    r"weight_decay must be a finite number >= 0",
  ),
  Case(
    "validate_config: bad learning rate",
    _non_finite_or_negative,
    lambda lr: train.validate_config(_config(optimizer__learning_rate=lr)),
    r"learning_rate must be a positive number",
  ),
  Case(
    "validate_config: loss of another task",
    st.just("squared"),
    lambda loss: train.validate_config(_config(loss=loss)),
    r"is a regression loss, but the task is 'classification'",
  ),
  Case(
    "validate_config: bad divergence_factor",
    st.one_of(st.floats(-10, 1), _bad_float),
    lambda f: train.validate_config(_config(divergence_factor=f)),
    r"divergence_factor must be",
  ),
  # jaxnets.analysis
  Case(
    "inner: shapes differ",
    st.tuples(st.integers(1, 5), st.integers(1, 5)).filter(lambda s: s[0] != s[1]),
    lambda s: analysis.inner(jnp.ones(s[0]), jnp.ones(s[1])),
    r"shapes .* differ; they must be equal",
  ),
  Case(
    "inner: NaN/inf input",
    _with_one_bad((3,), _bad_float),
    lambda a: analysis.inner(a, np.ones(3, np.float32)),
    r"NaN/inf .*only finite input is valid",
  ),
  Case(
    "mm: not 2-D operands",
    st.sampled_from([(3,), (2, 2, 2), ()]),
    lambda s: analysis.mm(jnp.ones(s), jnp.ones((3, 2))),
    r"mm takes two 2-D matrices",
  ),
  Case(
    "norm: unknown order",
    st.one_of(_names, st.floats(-5, 0)),
    lambda o: analysis.norm(jnp.ones(3), ord=o),
    r"invalid vector order .*valid",
  ),
  Case(
    "determinant: non-square matrix",
    _non_square,
    lambda s: analysis.determinant(jnp.ones(s)),
    r"needs a square 2-D matrix",
  ),
  Case(
    "determinant: empty matrix",
    st.just((0, 0)),
    lambda s: analysis.determinant(jnp.ones(s)),
    r"non-empty matrix",
  ),
  Case(
    "determinant: NaN/inf input",
    _with_one_bad((2, 2), _bad_float),
    analysis.determinant,
    r"NaN/inf .*only finite input is valid",
  ),
  Case(
    "inverse_gauss_jordan: singular matrix",
    _singular,
    analysis.inverse_gauss_jordan,
    r"singular to working precision .*only invertible",
  ),
  Case(
    "eig: NaN/inf input",
    _with_one_bad((3, 3), _bad_float),
    analysis.eig,
    r"NaN/inf .*only finite input is valid",
  ),
  Case(
    "definiteness: non-symmetric matrix",
    _non_symmetric,
    analysis.definiteness,
    r"needs a symmetric matrix .*symmetrize=True",
  ),
  Case(
    "gradient: non-scalar function",
    st.integers(2, 4),
    lambda n: analysis.gradient(lambda x: 2 * x, jnp.ones(n)),
    r"needs f to return a real scalar",
  ),
  Case(
    "taylor_approx: order not 1 or 2",
    st.integers(-5, 10).filter(lambda k: k not in (1, 2)),
    lambda k: analysis.taylor_approx(jnp.sum, jnp.ones(2), k),
    r"order must be 1 or 2",
  ),
  Case(
    "max_stable_learning_rate: not positive definite",
    _indefinite,
    analysis.max_stable_learning_rate,
    r"needs a positive definite matrix",
  ),
  Case(
    "quadratic_function: b of the wrong shape",
    st.integers(1, 5).filter(lambda n: n != 2),
    lambda n: analysis.quadratic_function(jnp.eye(2), jnp.ones(n)),
    r"b must have shape \(2,\)",
  ),
  Case(
    "classify_hessian_eigenvalues: negative or NaN tol",
    _non_finite_or_negative,
    lambda t: analysis.classify_hessian_eigenvalues(jnp.ones(2), t),
    r"tol must be a finite number >= 0",
  ),
  Case(
    "classify_hessian_eigenvalues: NaN eigenvalues",
    _with_one_bad((3,), _bad_float),
    lambda e: analysis.classify_hessian_eigenvalues(e, 1e-6),
    r"NaN/inf .*only finite",
  ),
  Case(
    "gaussian_smoothed_density: sigma <= 0 or NaN",
    st.one_of(st.floats(-5, 0), _bad_float),
    lambda s: analysis.gaussian_smoothed_density(
      jnp.ones((1, 2)), jnp.ones((1, 2)), jnp.zeros(3), s
    ),
    r"sigma must be a finite number > 0",
  ),
  Case(
    "lanczos: num_iters out of range",
    st.one_of(st.integers(-5, 0), st.integers(4, 50)),
    lambda k: analysis.lanczos(lambda v: v, jnp.ones(3), k),
    r"num_iters must be an int in \[1, 3\]",
  ),
  Case(
    "gradient_descent: bad learning rate",
    _non_finite_or_negative,
    lambda lr: analysis.gradient_descent(
      analysis.quadratic_function(jnp.eye(2)), jnp.ones(2), lr, 3
    ),
    r"learning_rate must be a finite positive number",
  ),
  Case(
    "stationary_points: empty initial points",
    st.integers(1, 3),
    lambda d: analysis.stationary_points(lambda x: jnp.sum(x**2), jnp.ones((0, d))),
    r"initial_points of shape \[m, d\] with m, d > 0",
  ),
]


def test_at_least_thirty_kinds_of_bad_input():
  names = [case.name for case in CASES]
  assert len(set(names)) == len(names) >= 30, len(names)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_raises_a_clear_error(case):
  @settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
  )
  @given(case.values)
  def check(value):
    with pytest.raises((ValueError, TypeError)) as info:
      result = case.call(value)
      # Reached only when nothing was raised: never a silent NaN either.
      assert not any(isinstance(r, float) and math.isnan(r) for r in np.ravel(result))
    assert re.search(case.message, str(info.value)), str(info.value)

  check()
