"""From-scratch convolution and pooling against lax.conv_general_dilated, flax and reduce_window."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from jax.test_util import check_grads

from jaxnets.nn import ops
from jaxnets.params import count_params

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, database=None)
DIMS = ("NHWC", "HWIO", "NHWC")


def lax_conv(x, kernel, stride, padding):
  return lax.conv_general_dilated(
    x, kernel, stride, padding, dimension_numbers=DIMS, precision=lax.Precision.HIGHEST
  )


def reference_pool(x, window, stride, pads, mode):
  dims, strides = (1, *window, 1), (1, *stride, 1)
  padding = ((0, 0), *pads, (0, 0))
  if mode == "max":
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, strides, padding)
  return lax.reduce_window(x, 0.0, lax.add, dims, strides, padding) / (window[0] * window[1])


@st.composite
def conv_case(draw):
  """A random (x, kernel, stride, explicit pads) with a kernel that fits the padded input."""
  n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
  h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
  pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
  kh = draw(st.integers(1, h + sum(pads[0])))
  kw = draw(st.integers(1, w + sum(pads[1])))
  stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
  rng = np.random.default_rng(draw(st.integers(0, 2**16)))
  x = rng.normal(size=(n, h, w, c_in)).astype(np.float32)
  kernel = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
  return x, kernel, stride, pads


# --- corr2d, the course's single-channel cross-correlation -------------------------------------


def test_corr2d_course_examples():
  x = jnp.arange(9.0).reshape(3, 3)
  np.testing.assert_array_equal(
    ops.corr2d(x, jnp.array([[0.0, 1.0], [2.0, 3.0]])), [[19.0, 25.0], [37.0, 43.0]]
  )
  # Edge detection: 1 where white turns black, -1 where black turns white; blind to rows.
  img = jnp.ones((6, 8)).at[:, 2:6].set(0.0)
  edges = ops.corr2d(img, jnp.array([[1.0, -1.0]]))
  np.testing.assert_array_equal(edges, np.tile([0, 1, 0, 0, 0, -1, 0], (6, 1)))
  np.testing.assert_array_equal(ops.corr2d(img.T, jnp.array([[1.0, -1.0]])), np.zeros((8, 5)))


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 8), st.data())
def test_corr2d_matches_lax(h, w, draw):
  kh, kw = draw.draw(st.integers(1, h)), draw.draw(st.integers(1, w))
  rng = np.random.default_rng(h * 10 + w)
  x, k = rng.normal(size=(h, w)).astype(np.float32), rng.normal(size=(kh, kw)).astype(np.float32)
  want = lax_conv(x[None, :, :, None], k[:, :, None, None], (1, 1), "VALID")[0, :, :, 0]
  np.testing.assert_allclose(ops.corr2d(x, k), want, rtol=1e-5, atol=1e-5)


def test_multi_channel_course_example_and_agreement():
  x = jnp.stack([jnp.arange(9.0).reshape(3, 3), jnp.arange(1.0, 10.0).reshape(3, 3)], -1)
  k = jnp.stack([jnp.array([[0.0, 1.0], [2.0, 3.0]]), jnp.array([[1.0, 2.0], [3.0, 4.0]])], -1)
  np.testing.assert_array_equal(ops.corr2d_multi_in(x, k), [[56.0, 72.0], [104.0, 120.0]])
  k3 = jnp.stack([k, k + 1, k + 2], -1)  # Three output channels, as in the course.
  y = ops.corr2d_multi_in_out(x, k3)
  assert y.shape == (2, 2, 3)
  np.testing.assert_allclose(y, ops.conv2d(x[None], k3)[0], rtol=1e-6)
  np.testing.assert_allclose(y[..., 1] - y[..., 0], ops.corr2d_multi_in(x, jnp.ones((2, 2, 2))))


# --- conv2d: padding, stride, channels ------------------------------------------------------------


@SETTINGS
@given(conv_case())
def test_conv2d_matches_lax_conv_general_dilated(case):
  x, kernel, stride, pads = case
  got = ops.conv2d(x, kernel, stride=stride, padding=pads)
  np.testing.assert_allclose(got, lax_conv(x, kernel, stride, pads), rtol=1e-5, atol=1e-5)
  for i in range(2):  # Output size per dimension follows the formula.
    assert (
      got.shape[1 + i] == (x.shape[1 + i] + sum(pads[i]) - kernel.shape[i] + stride[i]) // stride[i]
    )


@pytest.mark.parametrize("padding, stride", [("SAME", 1), ("VALID", 2), (1, (1, 3)), ((2, 0), 2)])
def test_conv2d_matches_flax_conv(padding, stride):
  x = jax.random.normal(jax.random.key(0), (2, 7, 8, 3))
  flax_conv = nn.Conv(4, (3, 2), strides=stride, padding=padding)
  variables = flax_conv.init(jax.random.key(1), x)
  kernel, bias = variables["params"]["kernel"], variables["params"]["bias"] + 0.5
  want = flax_conv.apply({"params": {"kernel": kernel, "bias": bias}}, x)
  got = ops.conv2d(x, kernel, bias, stride=stride, padding=padding)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  # The Conv2D module has the same parameters and initial values, and the same outputs.
  scratch = ops.Conv2D(4, (3, 2), strides=stride, padding=padding)
  scratch_vars = scratch.init(jax.random.key(1), x)
  jax.tree_util.tree_map(np.testing.assert_array_equal, scratch_vars, variables)
  np.testing.assert_allclose(
    scratch.apply(scratch_vars, x), flax_conv.apply(variables, x), rtol=1e-5, atol=1e-5
  )


def test_conv2d_gradients_match_lax_and_finite_differences():
  rng = np.random.default_rng(0)
  x = jnp.asarray(
    rng.normal(size=(1, 5, 6, 2)), jnp.float64 if jax.config.x64_enabled else jnp.float32
  )
  kernel = jnp.asarray(rng.normal(size=(3, 3, 2, 2)), x.dtype)
  f = lambda x, k: jnp.sum(jnp.sin(ops.conv2d(x, k, stride=2, padding=1)))
  g = lambda x, k: jnp.sum(jnp.sin(lax_conv(x, k, (2, 2), ((1, 1), (1, 1)))))
  for got, want in zip(jax.grad(f, (0, 1))(x, kernel), jax.grad(g, (0, 1))(x, kernel), strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  check_grads(f, (x, kernel), order=1, modes=("rev",), atol=5e-2, rtol=5e-2)


def test_conv1x1_is_a_per_pixel_dense_layer():
  rng = np.random.default_rng(3)
  x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
  w, b = rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=6).astype(np.float32)
  want = nn.Dense(6).apply({"params": {"kernel": w, "bias": b}}, x)  # Dense on the last axis.
  np.testing.assert_allclose(ops.conv1x1(x, w, b), want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ops.conv2d(x, w[None, None], b), want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ops.conv1x1(x, w[None, None]), x @ w, rtol=1e-5, atol=1e-5)


# --- pooling -------------------------------------------------------------------------------------


def test_pool2d_course_examples():
  x = jnp.arange(9.0).reshape(3, 3)
  np.testing.assert_array_equal(ops.pool2d(x, 2, stride=1), [[4.0, 5.0], [7.0, 8.0]])
  np.testing.assert_array_equal(ops.pool2d(x, 2, stride=1, mode="avg"), [[2.0, 3.0], [5.0, 6.0]])
  x = jnp.arange(16.0).reshape(1, 4, 4, 1)
  np.testing.assert_array_equal(ops.max_pool2d(x, 3)[0, ..., 0], [[10.0]])  # Stride = window.
  np.testing.assert_array_equal(ops.max_pool2d(x, 3, 2, 1)[0, ..., 0], [[5.0, 7.0], [13.0, 15.0]])
  np.testing.assert_array_equal(
    ops.max_pool2d(x, (2, 3), (2, 3), ((0, 0), (1, 1)))[0, ..., 0], [[5.0, 7.0], [13.0, 15.0]]
  )
  two = jnp.concatenate([x, x + 1], axis=-1)  # Channels are pooled separately.
  np.testing.assert_array_equal(ops.max_pool2d(two, 3, 2, 1)[0, ..., 1], [[6.0, 8.0], [14.0, 16.0]])
  ints = jnp.arange(16, dtype=jnp.int32).reshape(1, 4, 4, 1) - 20  # Max pools ints too.
  np.testing.assert_array_equal(
    ops.max_pool2d(ints, 2, 2, 1)[0, ..., 0], [[-20, -18, -17], [-12, -10, -9], [-8, -6, -5]]
  )


@SETTINGS
@given(st.data(), st.sampled_from(ops.POOL_MODES))
def test_pool2d_matches_reduce_window(draw, mode):
  h, w, c = draw.draw(st.integers(1, 8)), draw.draw(st.integers(1, 8)), draw.draw(st.integers(1, 3))
  window = (draw.draw(st.integers(1, h)), draw.draw(st.integers(1, w)))
  # Padding of at most half the window on each side (what pool2d allows).
  pads = tuple(
    (draw.draw(st.integers(0, k // 2)), draw.draw(st.integers(0, k // 2))) for k in window
  )
  stride = (draw.draw(st.integers(1, 3)), draw.draw(st.integers(1, 3)))
  x = jnp.asarray(np.random.default_rng(h * w * c).normal(size=(2, h, w, c)), jnp.float32)
  got = ops.pool2d(x, window, stride, pads, mode)
  np.testing.assert_allclose(
    got, reference_pool(x, window, stride, pads, mode), rtol=1e-5, atol=1e-6
  )


@pytest.mark.parametrize("mode", ops.POOL_MODES)
def test_pool2d_padding_up_to_half_the_window_never_yields_empty_windows(mode):
  """Padding = window // 2 (PyTorch's limit) still puts an input pixel in every window."""
  x = -jnp.abs(jax.random.normal(jax.random.key(3), (1, 5, 6, 2))) - 1.0  # All < 0: -inf shows.
  for window, stride in [(2, 1), (2, 2), (3, 1), (3, 2), (4, 3), (5, 1)]:
    got = ops.pool2d(x, window, stride, window // 2, mode)
    assert bool(jnp.all(jnp.isfinite(got))), (window, stride)
    pads = ((window // 2,) * 2,) * 2
    np.testing.assert_allclose(
      got, reference_pool(x, (window,) * 2, (stride,) * 2, pads, mode), rtol=1e-6
    )


@pytest.mark.parametrize("padding", ["VALID", "SAME", ((1, 1), (0, 1))])
def test_pool2d_matches_flax_pooling(padding):
  x = jax.random.normal(jax.random.key(2), (2, 7, 6, 3))
  np.testing.assert_allclose(
    ops.max_pool2d(x, (3, 2), (2, 2), padding), nn.max_pool(x, (3, 2), (2, 2), padding), rtol=1e-6
  )
  np.testing.assert_allclose(
    ops.avg_pool2d(x, (3, 2), (2, 2), padding),
    nn.avg_pool(x, (3, 2), (2, 2), padding, count_include_pad=True),
    rtol=1e-5,
    atol=1e-6,
  )


# --- sizes, parameter counts, summary, errors --------------------------------------------------


def test_conv_output_size_course_examples():
  assert ops.conv_output_size(8, 3, 1, 1) == 8  # 3x3, padding 1: same size.
  assert ops.conv_output_size(8, 5, 2, 1) == 8  # 5x3 kernel with padding (2, 1).
  assert ops.conv_output_size(8, 3, 1, 2) == 4  # Stride 2 halves it.
  assert (ops.conv_output_size(8, 3, 0, 3), ops.conv_output_size(8, 5, 1, 4)) == (2, 2)
  y = ops.conv2d(jnp.ones((1, 8, 8, 1)), jnp.ones((3, 5, 1, 1)), stride=(3, 4), padding=(0, 1))
  assert y.shape == (1, 2, 2, 1)
  assert ops.conv_output_size(28, 2, 0, 2) == 14  # LeNet's pooling.


@SETTINGS
@given(st.integers(1, 12), st.integers(0, 3), st.integers(1, 4), st.data())
def test_conv_output_size_matches_lax_shapes(n, p, s, draw):
  k = draw.draw(st.integers(1, n + 2 * p))
  shape = jax.eval_shape(
    lambda x, w: lax_conv(x, w, (s, 1), ((p, p), (0, 0))),
    jax.ShapeDtypeStruct((1, n, 1, 1), jnp.float32),
    jax.ShapeDtypeStruct((k, 1, 1, 1), jnp.float32),
  ).shape
  assert ops.conv_output_size(n, k, p, s) == shape[1]


def test_count_params_course_example():
  params = nn.Conv(3, (3, 3)).init(jax.random.key(0), jnp.ones((1, 5, 5, 2)))["params"]
  assert ops.count_params(params) == 2 * 3 * 9 + 3 == 57
  assert ops.count_params is count_params


class _Block(nn.Module):
  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Conv(5, (1, 1))(x))
    return nn.Conv(6, (3, 3), padding="VALID")(x)


class _Nested(nn.Module):
  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.relu(nn.Conv(4, (3, 3), strides=2, name="stem")(x))
    x = _Block(name="block")(x)
    x = ops.max_pool2d(x, 2)
    self.sow("intermediates", "pool", x)
    return nn.Dense(3, name="head")(x.reshape(x.shape[0], -1))


def test_summary_matches_the_initialized_model():
  model = _Nested()
  s = ops.summary(model, (2, 12, 12, 3))
  x = jnp.ones((2, 12, 12, 3))
  variables = jax.jit(model.init)(jax.random.key(0), x)
  out, state = model.apply(variables, x, capture_intermediates=True, mutable=["intermediates"])
  inter = state["intermediates"]
  names = [r.name for r in s.layers]
  assert names == ["stem", "block", "block/Conv_0", "block/Conv_1", "pool", "head"]
  for row in s.layers:  # Shapes from a real forward pass, parameters from real init.
    node = inter
    for part in row.name.split("/"):
      node = node[part]
    value = node["__call__"][0] if isinstance(node, dict) else node[0]
    assert row.output_shape == value.shape, row
    params = variables["params"]
    for part in row.name.split("/"):
      params = params.get(part, {})
    assert row.num_params == count_params(params), row
  assert s.total_params == count_params(variables["params"])
  assert s.output_shape == out.shape == (2, 3)
  assert s.layers[1].num_params == (4 * 5 + 5) + (5 * 6 * 9 + 6)
  table = str(s)
  assert "block/Conv_1" in table and f"{s.total_params:,}" in table


@pytest.mark.parametrize(
  "call, message",
  [
    (lambda: ops.conv_output_size(4, 7, 1, 1), "larger than the padded input"),
    (lambda: ops.conv_output_size(8, 3, 0, 0), "stride s must be an integer >= 1"),
    (lambda: ops.conv_output_size(8, 3, -1, 1), "padding p must be an integer >= 0"),
    (lambda: ops.conv2d(jnp.ones((1, 4, 4, 2)), jnp.ones((5, 5, 2, 1))), "larger than the padded"),
    (lambda: ops.conv2d(jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 3, 1))), "channels"),
    (lambda: ops.conv2d(jnp.ones((4, 4, 2)), jnp.ones((3, 3, 2, 1))), "NHWC"),
    (lambda: ops.conv2d(jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 1)), stride=0), "stride"),
    (
      lambda: ops.conv2d(jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 1)), padding="FULL"),
      "'SAME' or 'VALID'",
    ),
    (lambda: ops.conv2d(jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 2)), jnp.ones(3)), "bias"),
    (lambda: ops.corr2d(jnp.ones((2, 2)), jnp.ones((3, 1))), "larger than the padded"),
    (lambda: ops.pool2d(jnp.ones((1, 4, 4, 1)), 2, mode="median"), "valid modes"),
    (lambda: ops.pool2d(jnp.ones((1, 4, 4, 1)), 0), "window must be >= 1"),
    (lambda: ops.pool2d(jnp.ones((1, 4, 4, 1)), 2, padding=-1), "padding must be >= 0"),
    (lambda: ops.pool2d(jnp.ones((1, 4, 4, 1)), 2, 2, 2), "at most window // 2 = 1"),
    (lambda: ops.pool2d(jnp.ones((1, 4, 4, 1)), 3, 1, ((0, 0), (0, 2))), "along width exceeds"),
    (lambda: ops.avg_pool2d(jnp.ones((1, 4, 4, 1)), 1, 1, 1), "at most window // 2 = 0"),
    (lambda: ops.conv1x1(jnp.ones((1, 2, 2, 3)), jnp.ones((4, 2))), "channels"),
    (lambda: ops.summary(nn.Dense(2), (0, 3)), "positive ints"),
  ],
)
def test_bad_arguments_raise_clear_errors(call, message):
  with pytest.raises(ValueError, match=message):
    call()


def _adaptive_avg_pool_by_definition(x, oh, ow):
  """Each output cell as the mean of rows ⌊i·h/oh⌋ … ⌈(i+1)·h/oh⌉ − 1 (PyTorch's rule)."""
  n, h, w, c = x.shape
  out = np.zeros((n, oh, ow, c), x.dtype)
  for i in range(oh):
    for j in range(ow):
      r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
      c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
      out[:, i, j] = x[:, r0:r1, c0:c1].mean(axis=(1, 2))
  return out


@pytest.mark.parametrize("out", [(1, 1), (6, 6), (4, 3), (13, 10), (20, 7)])
def test_adaptive_avg_pool_matches_its_definition(out):
  x = np.random.default_rng(0).normal(size=(2, 13, 10, 3)).astype(np.float32)
  np.testing.assert_allclose(
    ops.adaptive_avg_pool2d(x, out), _adaptive_avg_pool_by_definition(x, *out), atol=1e-6
  )


def test_adaptive_avg_pool_matches_torch():
  torch = pytest.importorskip("torch")
  x = np.random.default_rng(1).normal(size=(2, 11, 9, 4)).astype(np.float32)
  for out in ((6, 6), (7, 7), (3, 5)):
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x).permute(0, 3, 1, 2), out)
    np.testing.assert_allclose(
      ops.adaptive_avg_pool2d(x, out), expected.permute(0, 2, 3, 1).numpy(), atol=1e-6
    )


def _ceil_mode_size(n, k, s, p):
  """PyTorch's ceil_mode output size: round up, but no window may start in the right padding."""
  out = -(-(n + 2 * p - k) // s) + 1
  return out - 1 if (out - 1) * s >= n + p else out


@pytest.mark.parametrize("k, s, p", [(3, 2, 0), (2, 2, 0), (3, 1, 1), (3, 2, 1), (5, 3, 2)])
def test_ceil_mode_padding_gives_pytorchs_output_size(k, s, p):
  for n in range(max(k - 2 * p, 1), 40):
    lo, hi = ops.ceil_mode_padding(n, k, s, p)
    assert lo == p and hi >= p
    assert ops.conv_output_size(n + hi - lo, k, lo, s) == _ceil_mode_size(n, k, s, p), n


def test_ceil_mode_max_pool_matches_torch():
  torch = pytest.importorskip("torch")
  for n, (k, s, p) in [(112, (3, 2, 0)), (27, (3, 2, 0)), (7, (2, 2, 0)), (14, (3, 1, 1))]:
    x = np.random.default_rng(n).normal(size=(1, n, n, 2)).astype(np.float32)
    pads = (ops.ceil_mode_padding(n, k, s, p),) * 2
    expected = torch.nn.functional.max_pool2d(
      torch.tensor(x).permute(0, 3, 1, 2), k, s, p, ceil_mode=True
    )
    np.testing.assert_array_equal(ops.pool2d(x, k, s, pads), expected.permute(0, 2, 3, 1).numpy())
