"""Tests for jaxnets.data.pipeline: shuffling before batching, fixed shapes, streaming."""

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


def test_one_epoch_order_for_every_path():
  order = data.epoch_order(3, 2, 10)
  assert sorted(order) == list(range(10))
  np.testing.assert_array_equal(data.epoch_order(3, 2, 10), order)  # A function of (s, e).
  # Distinct (seed, epoch) pairs give distinct orders, also when seed + epoch coincide.
  assert not np.array_equal(data.epoch_order(0, 1, 50), data.epoch_order(1, 0, 50))
  idx = data.epoch_indices(3, 2, 10, 3)
  assert idx.shape == (3, 3) and idx.dtype == np.int32
  np.testing.assert_array_equal(idx.ravel(), order[:9])
  batched = np.concatenate([b["y"] for b in data.batches(_toy(10), 3, seed=3, epoch=2)])
  np.testing.assert_array_equal(batched, order[:9])


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_seeds(bad):
  with pytest.raises(ValueError, match="non-negative integer"):
    data.epoch_order(bad, 0, 5)


def test_stream_batches_follow_the_in_memory_order_and_shard_rows():
  source = [{"x": np.float32(i), "y": np.int32(i)} for i in range(12)]
  toy = {"x": np.arange(12, dtype=np.float32), "y": np.arange(12, dtype=np.int32)}
  for epoch in (0, 1):
    streamed = [b["y"] for b in data.stream_batches(source, 4, seed=7, epoch=epoch)]
    in_memory = [b["y"] for b in data.batches(toy, 4, seed=7, epoch=epoch)]
    np.testing.assert_array_equal(np.stack(streamed), np.stack(in_memory))
  # Two hosts each read half of every global batch; together they read the global batch.
  shard0 = [b["y"] for b in data.stream_batches(source, 4, seed=7, shard_index=0, shard_count=2)]
  shard1 = [b["y"] for b in data.stream_batches(source, 4, seed=7, shard_index=1, shard_count=2)]
  joined = [np.concatenate([a, b]) for a, b in zip(shard0, shard1, strict=True)]
  first_epoch = [b["y"] for b in data.batches(toy, 4, seed=7, epoch=0)]
  np.testing.assert_array_equal(np.stack(joined), np.stack(first_epoch))
  with pytest.raises(ValueError, match="divisible by the number of hosts"):
    next(data.stream_batches(source, 3, shard_count=2))


def test_stream_batches_from_tfds_data_source():
  with tfds.testing.mock_data(num_examples=16, policy=tfds.testing.MockPolicy.USE_CODE):
    source = tfds.data_source("mnist", split="train")
    batches = list(
      data.stream_batches(
        source,
        8,
        transform=data.to_example,
      )
    )
  assert len(batches) == 2 and batches[0]["x"].shape == (8, 28, 28, 1)
