"""Tests for jaxnets.data.pipeline: shuffling before batching, fixed shapes, streaming."""

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxnets import data


def _toy(n=10):
  return {"x": np.arange(n, dtype=np.float32)[:, None], "y": np.arange(n, dtype=np.int32)}


def test_each_epoch_is_a_permutation_and_epochs_differ():
  d = _toy(12)
  e0 = np.concatenate([b["y"] for b in data.batches(d, 4, seed=0, epoch=0)])
  e1 = np.concatenate([b["y"] for b in data.batches(d, 4, seed=0, epoch=1)])
  assert sorted(e0) == sorted(e1) == list(range(12))
  assert not np.array_equal(e0, e1)
  # Batch *membership* changes between epochs: the shuffle happens before batching.
  first0 = set(next(data.batches(d, 4, seed=0, epoch=0))["y"])
  first1 = set(next(data.batches(d, 4, seed=0, epoch=1))["y"])
  assert first0 != first1


def test_reproducible_from_seed():
  d = _toy()
  a = [b["y"] for b in data.batches(d, 3, seed=7, epoch=2)]
  b = [b["y"] for b in data.batches(d, 3, seed=7, epoch=2)]
  np.testing.assert_array_equal(np.stack(a), np.stack(b))


def test_drop_remainder_and_padding_keep_shapes_fixed():
  d = _toy(10)
  dropped = list(data.batches(d, 4, seed=0))
  assert [len(b["y"]) for b in dropped] == [4, 4]
  padded = list(data.batches(d, 4, seed=0, shuffle=False, drop_remainder=False))
  assert [len(b["y"]) for b in padded] == [4, 4, 4]
  np.testing.assert_array_equal(padded[-1]["mask"], [1, 1, 0, 0])
  real = np.concatenate([b["y"][b["mask"] > 0] for b in padded])
  np.testing.assert_array_equal(real, np.arange(10))


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_batch_sizes(bad):
  with pytest.raises(ValueError, match="positive integer"):
    next(data.batches(_toy(), bad))


def test_batch_larger_than_dataset():
  with pytest.raises(ValueError, match="larger than the dataset"):
    next(data.batches(_toy(10), 11))


def test_mismatched_lengths():
  with pytest.raises(ValueError, match="leading size"):
    next(data.batches({"x": np.zeros(3), "y": np.zeros(4)}, 2))


def test_epoch_permutation_device_resident():
  idx = data.epoch_permutation(jax.random.PRNGKey(0), 10, 3)
  assert idx.shape == (3, 3) and isinstance(idx, jax.Array)
  assert len(set(np.asarray(idx).ravel())) == 9
  other = data.epoch_permutation(jax.random.PRNGKey(1), 10, 3)
  assert not np.array_equal(idx, other)


def test_stream_batches_shuffles_each_epoch_and_shards():
  source = [{"x": np.float32(i), "y": np.int32(i)} for i in range(12)]
  batches = list(data.stream_batches(source, 4, seed=0, num_epochs=2))
  assert len(batches) == 6 and all(b["y"].shape == (4,) for b in batches)
  e0 = np.concatenate([b["y"] for b in batches[:3]])
  e1 = np.concatenate([b["y"] for b in batches[3:]])
  assert sorted(e0) == sorted(e1) == list(range(12)) and not np.array_equal(e0, e1)
  shard0 = np.concatenate(
    [b["y"] for b in data.stream_batches(source, 2, shard_index=0, shard_count=2)]
  )
  shard1 = np.concatenate(
    [b["y"] for b in data.stream_batches(source, 2, shard_index=1, shard_count=2)]
  )
  assert not set(shard0) & set(shard1) and len(shard0) + len(shard1) == 12


def test_stream_batches_from_tfds_data_source():
  with tfds.testing.mock_data(num_examples=16, policy=tfds.testing.MockPolicy.USE_CODE):
    source = tfds.data_source("mnist", split="train")
    batches = list(
      data.stream_batches(
        source,
        8,
        transform=lambda r: {"x": r["image"].astype(np.float32) / 255, "y": np.int32(r["label"])},
      )
    )
  assert len(batches) == 2 and batches[0]["x"].shape == (8, 28, 28, 1)
