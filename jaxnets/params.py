"""Parameter pytrees the way the course used ``nn.Module.parameters()``: listing, naming, counting.

Example:
  >>> import jax, jax.numpy as jnp, flax.linen as nn
  >>> params = nn.Dense(3).init(jax.random.key(0), jnp.ones((1, 2)))["params"]
  >>> count_params(params)
  9
  >>> sorted(named_parameters(params))
  ['bias', 'kernel']
"""

from typing import Any

import jax
import numpy as np


def _key_name(entry: Any) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(entry, attr):
      return str(getattr(entry, attr))
  return str(entry)


def named_parameters(params: Any) -> dict[str, jax.Array]:
  """Flattens a parameter pytree into ``{"Dense_0/kernel": array, ...}`` (path order)."""
  flat, _ = jax.tree_util.tree_flatten_with_path(params)
  return {"/".join(_key_name(k) for k in path): leaf for path, leaf in flat}


def count_params(params: Any) -> int:
  """Total number of scalars in a pytree of arrays."""
  return int(sum(np.prod(np.shape(leaf), dtype=np.int64)
                 for leaf in jax.tree_util.tree_leaves(params)))
