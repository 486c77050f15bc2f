"""Augmentation ops: identities, shapes and ranges, keys, crops inside the image, dm-pix."""

import functools
import os
import subprocess
import sys
import textwrap

import dm_pix as pix
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnets.data import augment

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Two policies that between them use every op; built once, so each compiles once.
RGB = augment.get_policy(
  "flip_crop_color", crop_padding=2, brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1
)
GREY = augment.get_policy("flip_resized_crop", scale=(0.3, 1.0))
_run = jax.jit(augment.apply_batch, static_argnums=0)


def _images(n=6, size=8, channels=3, seed=0):
  return jax.random.uniform(jax.random.key(seed), (n, size, size, channels))


@jax.jit
def _flips(key, image):
  out = []
  for flip in (augment.flip_left_right, augment.flip_up_down):
    once = flip(key, image, probability=1.0)
    # With probability 1/2 the same key makes the same decision twice.
    out += [once, flip(key, once, probability=1.0), flip(key, flip(key, image))]
  return out + [pix.flip_left_right(image), pix.flip_up_down(image)]


def test_flipping_twice_is_the_identity():
  image = _images(1)[0]
  lr, lr2, lr_half, ud, ud2, ud_half, pix_lr, pix_ud = _flips(jax.random.key(3), image)
  for once, twice, half in ((lr, lr2, lr_half), (ud, ud2, ud_half)):
    assert not np.array_equal(once, image)
    np.testing.assert_array_equal(twice, image)
    np.testing.assert_array_equal(half, image)
  np.testing.assert_array_equal(lr, pix_lr)
  np.testing.assert_array_equal(ud, pix_ud)


def test_zero_strength_colour_change_is_the_identity():
  images = _images()
  zero = lambda k, x: [
    augment.random_brightness(k, x, 0.0),
    augment.random_contrast(k, x, 0.0),
    augment.random_saturation(k, x, 0.0),
    augment.random_hue(k, x, 0.0),
  ]
  for out in jax.jit(zero)(jax.random.key(1), images[0]):
    np.testing.assert_allclose(out, images[0], atol=1e-6)
  colour = augment.get_policy("color", brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)
  np.testing.assert_array_equal(augment.apply_batch(colour, jax.random.key(1), images), images)


def test_policies_keep_shape_dtype_and_range_and_follow_their_keys():
  for policy, images in ((RGB, _images()), (GREY, _images(channels=1))):
    out = _run(policy, jax.random.key(5), images)
    assert out.shape == images.shape and out.dtype == jnp.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not np.array_equal(out, images)
    np.testing.assert_array_equal(out, _run(policy, jax.random.key(5), images))
    assert not np.array_equal(out, _run(policy, jax.random.key(6), images))
  # One key per example: identical images in one batch come out differently.
  same = jnp.repeat(_images(channels=1)[:1], 6, axis=0)
  out = _run(GREY, jax.random.key(0), same)
  assert len({np.asarray(o).tobytes() for o in out}) == 6


def test_padded_crop_is_a_window_of_the_zero_padded_image():
  image = jnp.arange(1.0, 6 * 7 + 1).reshape(6, 7, 1) / 50
  padded = np.pad(np.asarray(image), ((2, 2), (2, 2), (0, 0)))
  windows = {padded[r : r + 6, c : c + 7].tobytes() for r in range(5) for c in range(5)}
  keys = jax.random.split(jax.random.key(0), 40)
  both = jax.jit(
    jax.vmap(
      lambda k: (augment.random_crop(k, image, padding=2), pix.random_crop(k, padded, (6, 7, 1)))
    )
  )
  ours, theirs = (np.asarray(a) for a in both(keys))
  np.testing.assert_array_equal(ours, theirs)  # dm-pix's crop of the padded image, same key.
  seen = {o.tobytes() for o in ours}
  assert seen <= windows and len(seen) > 10
  np.testing.assert_array_equal(augment.random_crop(keys[0], image, padding=0), image)


def test_resized_crops_never_read_outside_the_image():
  # Reading outside would bring in zeros (padding) or garbage: a constant image stays constant.
  ones = jnp.ones((500, 9, 12, 1))
  crop = functools.partial(augment.random_resized_crop, scale=(0.01, 1.0), ratio=(0.1, 10.0))
  box = functools.partial(
    augment.random_box, height=9, width=12, scale=(0.01, 1.0), ratio=(0.1, 10.0)
  )
  out, boxes = jax.jit(lambda keys: (jax.vmap(crop)(keys, ones), jax.vmap(lambda k: box(k))(keys)))(
    jax.random.split(jax.random.key(0), 500)
  )
  np.testing.assert_array_equal(out, ones)
  top, left, h, w = np.asarray(boxes).T
  assert (top >= 0).all() and (left >= 0).all() and (h >= 1).all() and (w >= 1).all()
  assert (top + h <= 9 + 1e-5).all() and (left + w <= 12 + 1e-5).all()


def test_random_box_follows_the_scale_and_ratio_ranges():
  keys = jax.random.split(jax.random.key(1), 2000)
  boxes = jax.jit(jax.vmap(lambda k: augment.random_box(k, 32, 32, (0.2, 0.6), (0.8, 1.25))))(keys)
  boxes = np.asarray(boxes)
  area = boxes[:, 2] * boxes[:, 3] / (32 * 32)
  aspect = boxes[:, 3] / boxes[:, 2]
  assert area.min() > 0.2 - 1e-5 and area.max() < 0.6 + 1e-5
  assert aspect.min() > 0.8 - 1e-5 and aspect.max() < 1.25 + 1e-5
  assert abs(area.mean() - 0.4) < 0.02  # Uniform area: mean at the middle of the range.
  assert abs(np.log(aspect).mean()) < 0.02  # Log-uniform ratio: symmetric around 1.


@jax.jit
def _crops(image):
  """Ours, jax.image.resize's and dm-pix's resize of the window rows 2:6, columns 1:6."""
  window = image[2:6, 1:6]
  ours = augment.crop_and_resize(image, jnp.array([2.0, 1.0, 4.0, 5.0]))
  resized = jax.image.resize(window, image.shape, "bilinear")
  # dm-pix maps output pixel o to input coordinate matrix @ o + offset (bilinear, clamped).
  matrix = jnp.diag(jnp.array([4 / 8, 5 / 7, 1.0]))
  offset = jnp.array([0.5 * 4 / 8 - 0.5, 0.5 * 5 / 7 - 0.5, 0.0])
  # dm-pix keeps the input's shape: the window edge-padded to the image's (what lies beyond
  # the window repeats its edge, as clamping does).
  canvas = jnp.pad(window, ((0, 4), (0, 2), (0, 0)), mode="edge")
  affine = pix.affine_transform(canvas, matrix, offset=offset, order=1, mode="nearest")
  whole = augment.crop_and_resize(image, jnp.array([0.0, 0.0, 8.0, 7.0]))
  return ours, resized, affine, whole


def test_crop_and_resize_equals_jax_image_resize_and_dm_pix_of_the_window():
  image = _images(1)[0][:, :7]
  ours, resized, affine, whole = _crops(image)
  np.testing.assert_allclose(ours, resized, atol=1e-6)
  np.testing.assert_allclose(ours, affine, atol=1e-6)
  np.testing.assert_allclose(whole, image, atol=1e-6)


def test_colour_ops_equal_dm_pix_adjustments_clipped():
  image = _images(1)[0]
  key = jax.random.key(2)

  @jax.jit
  def both(image):
    delta = jax.random.uniform(key, (), minval=-0.3, maxval=0.3)  # dm-pix's draws.
    factor = jax.random.uniform(key, (), minval=0.7, maxval=1.3)
    ours = (
      augment.random_brightness(key, image, 0.3),
      augment.random_contrast(key, image, 0.3),
      augment.random_saturation(key, image, 0.3),
    )
    theirs = (
      pix.adjust_brightness(image, delta),
      pix.adjust_contrast(image, factor),
      pix.adjust_saturation(image, factor),
    )
    return ours, tuple(jnp.clip(t, 0, 1) for t in theirs)

  ours, theirs = both(image)
  for a, b in zip(ours, theirs, strict=True):
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, image)


def test_vmap_equals_the_op_on_each_example_with_its_key():
  images = _images()
  keys = jax.random.split(jax.random.key(4), len(images))
  one_by_one = jax.jit(lambda: jax.lax.map(lambda kx: RGB(*kx), (keys, images)))()
  np.testing.assert_allclose(_run(RGB, jax.random.key(4), images), one_by_one, atol=1e-6)


def test_bad_input_raises_clear_errors():
  with pytest.raises(ValueError, match=r"policy must be one of \['none', 'flip'"):
    augment.get_policy("flips")
  with pytest.raises(ValueError, match="brightness must be a number in"):
    augment.get_policy("color", brightness=-0.1)
  with pytest.raises(ValueError, match="scale must be a pair"):
    augment.get_policy("resized_crop", scale=(0.0, 1.0))
  with pytest.raises(ValueError, match="crop_padding must be an integer"):
    augment.get_policy("crop", crop_padding=1.5)
  with pytest.raises(
    ValueError, match=r"saturation needs RGB images \(3 channels\), got 1 .*saturation=0"
  ):
    jax.eval_shape(RGB, jax.random.key(0), jnp.ones((8, 8, 1)))
  with pytest.raises(ValueError, match="NHWC image batches"):
    augment.apply_batch(GREY, jax.random.key(0), jnp.ones((4, 64)))


_SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec
    from jaxnets.data import augment
    assert jax.device_count() == 8, jax.devices()
    policy = augment.get_policy("flip_resized_crop", scale=(0.3, 1.0))
    images = jax.random.uniform(jax.random.key(0), (16, 8, 8, 3))
    run = jax.jit(augment.apply_batch, static_argnums=0)
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("data",))  # As the engine makes it.
    batch_sharding = NamedSharding(mesh, PartitionSpec("data"))
    out = run(policy, jax.random.key(1), jax.device_put(images, batch_sharding))
    assert out.sharding.is_equivalent_to(batch_sharding, 4), out.sharding
    single = run(policy, jax.random.key(1), jax.device_put(images, jax.devices()[0]))
    np.testing.assert_allclose(np.asarray(out), np.asarray(single), atol=1e-6)
    assert not np.array_equal(np.asarray(out), np.asarray(images))
    # Inside the jitted train step, on a batch gathered and sharded over the 8 devices.
    import functools, optax
    from jaxnets import losses, models
    from jaxnets.train import TrainState
    from jaxnets.train.steps import train_step_on_rows
    state = TrainState.create(model=models.MLP(hidden=(8,), num_classes=3), tx=optax.sgd(0.1),
        loss_fn=losses.softmax_cross_entropy, seed=0, sample_x=images[:1])
    data = {"x": images, "y": jnp.arange(16) % 3}
    aug = functools.partial(augment.apply_batch, policy)
    step = jax.jit(train_step_on_rows, static_argnums=(3, 4))
    idx = jnp.arange(16)[::-1]
    sharded_state = step(state, data, idx, batch_sharding, aug)[0]
    plain_state = step(state, data, idx, None, aug)[0]
    no_aug_state = step(state, data, idx, None, None)[0]
    kernel = lambda s: np.asarray(s.params["Dense_0"]["kernel"])
    np.testing.assert_allclose(kernel(sharded_state), kernel(plain_state), rtol=1e-5, atol=1e-6)
    assert not np.allclose(kernel(plain_state), kernel(no_aug_state))
""")


def test_a_batch_sharded_over_eight_devices_augments_as_on_one_also_in_the_train_step():
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=8",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=_REPO,
  )
  proc = subprocess.run(
    [sys.executable, "-c", _SHARDED],
    env=env,
    cwd=_REPO,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
