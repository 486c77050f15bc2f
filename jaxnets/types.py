"""Type aliases shared across jaxnets."""

from typing import Any, Mapping

import jax

Params = Any  # A pytree of arrays, e.g. {"Dense_0": {"kernel": f32[in, out], "bias": f32[out]}}.
Variables = Mapping[str, Any]  # {"params": Params, "batch_stats": ...} as Flax returns them.
PRNGKey = jax.Array  # A typed or raw JAX PRNG key.
Batch = Mapping[str, Any]  # {"x": f32[B, ...], "y": i32[B] (labels) or f32[B, ...] (targets)}.
Metrics = Mapping[str, jax.Array]  # Scalar metrics, kept on device until logged.
