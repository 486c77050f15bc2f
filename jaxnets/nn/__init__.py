"""Building blocks written from scratch, each tested against its Flax/lax built-in.

Import the submodules directly: ``from jaxnets.nn import ops, layers, init``.
"""

from jaxnets.nn import containers, init, layers, ops

__all__ = [
  "containers",
  "init",
  "layers",
  "ops",
]
