"""jaxnets: the foundations of deep learning as a functional JAX library.

Models are Flax linen modules, optimizers are Optax gradient transformations,
training is one jitted pure step, and :mod:`jaxnets.analysis` computes exact
gradients, Hessians and curvature spectra.

Example:
  >>> import jaxnets
  >>> data = jaxnets.data.load("synthetic_linear", split="train")
  >>> data["x"].shape
  (1000, 2)
"""

__version__ = "0.1.0"

from jaxnets import (  # noqa: E402
  analysis,
  data,
  finetune,
  interop,
  losses,
  models,
  nn,
  optim,
  params,
  train,
)

__all__ = [
  "__version__",
  "analysis",
  "data",
  "finetune",
  "interop",
  "losses",
  "models",
  "nn",
  "optim",
  "params",
  "train",
]
