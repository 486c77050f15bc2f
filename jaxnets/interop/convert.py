"""torchvision ``state_dict`` ⇄ Flax variables for the chapter-10 CNNs, checked by model name.

:func:`from_torch` turns a torchvision ``state_dict`` (``{key: torch tensor or numpy array}``)
into ``{"params", "batch_stats"}`` of the jaxnets model of the same name; :func:`to_torch`
turns such variables back into torchvision's keys and layouts. Both check the keys and shapes
against the named model first, so a wrong file or a wrong model name raises naming every
missing and unexpected key and each mismatched shape. The names and layouts themselves are
:mod:`jaxnets.models.torch_names`'s:

  conv ``weight`` [out, in, kh, kw]   ⇄  ``kernel`` [kh, kw, in, out]
  linear ``weight`` [out, in]         ⇄  ``kernel`` [in, out]
  BatchNorm ``weight``/``bias``       ⇄  ``scale``/``bias`` (``params``)
  ``running_mean``/``running_var``    ⇄  ``mean``/``var`` (``batch_stats``)
  ``num_batches_tracked``             —  skipped (Flax's BatchNorm keeps no counter)

VGG's and AlexNet's first linear layer needs no reordering: jaxnets flattens the last feature
map channel-major, as ``torch.flatten`` of an NCHW tensor does
(:func:`jaxnets.models.blocks.flatten_chw`), so its weight is torchvision's, transposed.

The number of classes and of input channels are read from the state dict (the stem
convolution and the head); other model fields (``small_input``, ``width_multiplier``,
``dtype``, ``param_dtype``, ...) are passed through to :func:`jaxnets.models.get_model`.

Example:
  >>> import numpy as np
  >>> shapes = torch_shapes("resnet18", num_classes=10)
  >>> len(shapes), shapes["layer2.0.downsample.0.weight"]
  (102, (128, 64, 1, 1))
  >>> rng = np.random.default_rng(0)
  >>> state_dict = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
  >>> variables = from_torch(state_dict, "resnet18")
  >>> variables["params"]["conv1"]["kernel"].shape, variables["batch_stats"]["bn1"]["var"].shape
  ((7, 7, 3, 64), (64,))
  >>> back = to_torch(variables, "resnet18")
  >>> all(np.array_equal(back[k], state_dict[k]) for k in state_dict)
  True
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jaxnets import models
from jaxnets.models import torch_names
from jaxnets.params import key_differences

# Model name -> (key of the stem convolution's weight, key of the head's weight): where the
# input channels and the classes are read from.
_STEM_AND_HEAD = {
  "alexnet": ("features.0.weight", "classifier.6.weight"),
  "vgg11": ("features.0.weight", "classifier.6.weight"),
  "vgg11_bn": ("features.0.weight", "classifier.6.weight"),
  "vgg16": ("features.0.weight", "classifier.6.weight"),
  "vgg16_bn": ("features.0.weight", "classifier.6.weight"),
  "googlenet": ("conv1.conv.weight", "fc.weight"),
  "resnet18": ("conv1.weight", "fc.weight"),
  "resnet34": ("conv1.weight", "fc.weight"),
  "resnet50": ("conv1.weight", "fc.weight"),
}

TORCHVISION_MODELS: tuple[str, ...] = tuple(sorted(_STEM_AND_HEAD))
"""The jaxnets models laid out as torchvision's (GoogLeNet: ``aux_logits=False``)."""

_IMAGE_SIDE = 224  # Any side the models accept; their variables do not depend on it.
_LISTED = 10  # Keys named in an error message, per kind.


def _check_model(model: str) -> None:
  if not isinstance(model, str) or model not in _STEM_AND_HEAD:
    raise ValueError(
      f"No torchvision layout for model {model!r}; valid models: {list(TORCHVISION_MODELS)}."
    )


def as_numpy(key: str, value: Any) -> np.ndarray:
  """A numpy array of a torch tensor (bfloat16 kept exactly), numpy or JAX array.

  Args:
    key: the value's ``state_dict`` key (for the message).
    value: a torch tensor (torch is not imported for it) or a numpy/JAX array.

  Raises:
    TypeError: anything else.

  Example:
    >>> as_numpy("fc.bias", np.zeros(3, np.float32)).dtype
    dtype('float32')
  """
  if hasattr(value, "detach") and hasattr(value, "numpy"):  # A torch tensor; torch not imported.
    value = value.detach().cpu()
    if str(value.dtype) == "torch.bfloat16":  # numpy has no bfloat16; reinterpret the bits.
      import torch

      return value.view(torch.int16).numpy().view(jnp.bfloat16)
    return value.numpy()
  if isinstance(value, (np.ndarray, np.generic, jax.Array)):
    return np.asarray(value)
  raise TypeError(
    f"state_dict[{key!r}] is a {type(value).__name__}; values must be torch tensors or numpy "
    f"(or JAX) arrays."
  )


def _abstract_variables(module: Any, in_channels: int) -> dict[str, Any]:
  """``{"params", "batch_stats"}`` as shape structs, in the order the model creates them."""
  order: list[tuple[str, ...]] = []

  def init(key: jax.Array, x: jax.Array) -> Any:
    variables = module.init(key, x)
    order.extend(flax.traverse_util.flatten_dict(variables))  # eval_shape sorts; this does not.
    return variables

  x = jax.ShapeDtypeStruct((1, _IMAGE_SIDE, _IMAGE_SIDE, in_channels), jnp.float32)
  flat = flax.traverse_util.flatten_dict(jax.eval_shape(init, jax.random.key(0), x))
  variables = flax.traverse_util.unflatten_dict({path: flat[path] for path in order})
  return {"params": variables.get("params", {}), "batch_stats": variables.get("batch_stats", {})}


def _template(
  model: str, in_channels: int, num_classes: int, model_kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
  """The model's abstract variables (not to be mutated) and a description for messages."""
  extra = "".join(f", {k}={v!r}" for k, v in sorted(model_kwargs.items()))
  described = f"{model} ({num_classes} classes, {in_channels} input channels{extra})"
  fields = tuple(sorted(model_kwargs.items()))
  x64 = jax.dtypes.canonicalize_dtype(np.float64) == np.float64  # Float64 parameters or not.
  try:
    hash(fields)
  except TypeError:  # Unhashable fields (e.g. a list): build it afresh.
    return _build_template.__wrapped__(model, in_channels, num_classes, fields, x64), described
  return _build_template(model, in_channels, num_classes, fields, x64), described


@functools.lru_cache(maxsize=16)
def _build_template(
  model: str, in_channels: int, num_classes: int, fields: tuple, x64: bool
) -> dict:
  del x64  # Only a key of the cache: the same fields give float32 shapes without x64.
  module = models.get_model(model, num_classes=num_classes, **dict(fields))
  return _abstract_variables(module, in_channels)


def _fields(model: str, shapes: Mapping[str, tuple[int, ...]], model_kwargs: dict) -> tuple:
  """Input channels and classes read from the stem and head shapes (3 and 1000 if absent)."""
  stem, head = _STEM_AND_HEAD[model]
  in_channels = shapes[stem][1] if len(shapes.get(stem, ())) == 4 else 3
  num_classes = shapes[head][0] if len(shapes.get(head, ())) == 2 else 1000
  return model_kwargs.pop("in_channels", in_channels), model_kwargs.pop("num_classes", num_classes)


def _listed(keys: list[str]) -> str:
  more = f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else ""
  return f"{keys[:_LISTED]}{more}"


def _check_shapes(
  got: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]], what: str, model: str
) -> None:
  """Raises a ValueError naming missing and unexpected keys and mismatched shapes."""
  missing, unexpected, mismatched = key_differences(dict(got), dict(expected))
  shapes = [f"{k}: {what} {tuple(got[k])}, model {tuple(expected[k])}" for k in mismatched]
  if missing or unexpected or shapes:
    parts = [
      f"missing keys {_listed(missing)}" if missing else "",
      f"unexpected keys {_listed(unexpected)}" if unexpected else "",
      f"shape mismatches (PyTorch layout) {_listed(shapes)}" if shapes else "",
    ]
    raise ValueError(
      f"The {what} and torchvision's {model} differ: " + "; ".join(p for p in parts if p) + "."
    )


def torch_shapes(model: str = "resnet18", **model_kwargs: Any) -> dict[str, tuple[int, ...]]:
  """The keys and shapes of the torchvision ``state_dict`` of a model, in torchvision's order.

  ``num_batches_tracked`` counters are not listed (they carry no weights).

  Args:
    model: a name in :data:`TORCHVISION_MODELS`.
    **model_kwargs: fields of the jaxnets model (``num_classes`` defaults to 1000 and
      ``in_channels`` to 3).

  Returns:
    ``{torch key: shape in PyTorch's layout}``.

  Example:
    >>> shapes = torch_shapes("vgg11", num_classes=10)
    >>> shapes["features.0.weight"], shapes["classifier.0.weight"], shapes["classifier.6.bias"]
    ((64, 3, 3, 3), (4096, 25088), (10,))
  """
  _check_model(model)
  model_kwargs = dict(model_kwargs)
  in_channels = model_kwargs.pop("in_channels", 3)
  num_classes = model_kwargs.pop("num_classes", 1000)
  template, _ = _template(model, in_channels, num_classes, model_kwargs)
  return torch_names.torch_shapes(template)


def from_torch(
  state_dict: Mapping[str, Any], model: str = "resnet18", **model_kwargs: Any
) -> dict[str, Any]:
  """Flax variables of a jaxnets model from a torchvision-layout ``state_dict``.

  Args:
    state_dict: ``{torch key: torch tensor or numpy array}``, e.g. ``net.state_dict()`` or
      :func:`jaxnets.interop.load_state_dict`'s; ``num_batches_tracked`` entries are skipped.
    model: a name in :data:`TORCHVISION_MODELS`.
    **model_kwargs: fields of the jaxnets model; ``num_classes`` is read from the head and the
      input channels from the stem convolution. ``param_dtype`` sets the dtype of the
      parameters (float32 by default; float64 needs ``jax.enable_x64``); the BatchNorm
      statistics are float32, as Flax keeps them, or float64 with float64 parameters.

  Returns:
    ``{"params": ..., "batch_stats": ...}`` of numpy arrays in Flax's layout (``batch_stats``
    is ``{}`` for models without BatchNorm), ready for ``model.apply``.

  Raises:
    ValueError: an unknown model, or a ``state_dict`` whose keys or shapes differ from the
      model's (every missing and unexpected key and each mismatched shape named).
    TypeError: a value that is not a tensor or array.

  Example:
    >>> import numpy as np
    >>> state_dict = {k: np.zeros(s, np.float32) for k, s in torch_shapes("alexnet").items()}
    >>> variables = from_torch(state_dict, "alexnet")
    >>> variables["params"]["classifier_1"]["kernel"].shape, variables["batch_stats"]
    ((9216, 4096), {})
  """
  _check_model(model)
  if not isinstance(state_dict, Mapping):
    raise TypeError(
      f"state_dict must be a mapping from torch keys to tensors or arrays, got "
      f"{type(state_dict).__name__}."
    )
  arrays = {
    key: as_numpy(key, value)
    for key, value in state_dict.items()
    if not str(key).endswith("num_batches_tracked")
  }
  model_kwargs = dict(model_kwargs)
  shapes = {key: array.shape for key, array in arrays.items()}
  in_channels, num_classes = _fields(model, shapes, model_kwargs)
  template, described = _template(model, in_channels, num_classes, model_kwargs)
  _check_shapes(shapes, torch_names.torch_shapes(template), "state_dict", described)
  variables = torch_names.from_torch_state_dict(arrays, template)
  # Flax keeps BatchNorm statistics in float32 whatever param_dtype is; float64 parameters
  # get float64 statistics, so a float64 model computes in float64 throughout.
  stats_dtype = jnp.promote_types(
    jax.tree_util.tree_leaves(template["params"])[0].dtype, jnp.float32
  )
  batch_stats = jax.tree_util.tree_map(
    lambda a: a.astype(jnp.promote_types(a.dtype, stats_dtype)), variables.get("batch_stats", {})
  )
  return {"params": variables.get("params", {}), "batch_stats": batch_stats}


def to_torch(
  variables: Mapping[str, Any], model: str = "resnet18", **model_kwargs: Any
) -> dict[str, np.ndarray]:
  """A torchvision-layout ``state_dict`` of a jaxnets model's variables: :func:`from_torch` undone.

  The keys come in torchvision's order; ``num_batches_tracked`` is not written (PyTorch's
  ``load_state_dict`` fills it in, also with ``strict=True``). Load it into a torchvision
  network with ``net.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.

  Args:
    variables: ``{"params": ..., "batch_stats": ...}`` of the model.
    model: a name in :data:`TORCHVISION_MODELS`.
    **model_kwargs: fields of the jaxnets model (as for :func:`from_torch`).

  Returns:
    ``{torch key: numpy array in PyTorch's layout}``.

  Raises:
    ValueError: an unknown model, or variables that are not the model's (keys and shapes
      named as by :func:`from_torch`).

  Example:
    >>> import numpy as np
    >>> shapes = torch_shapes("resnet18", num_classes=10)
    >>> variables = from_torch({k: np.ones(s, np.float32) for k, s in shapes.items()}, "resnet18")
    >>> state_dict = to_torch(variables, "resnet18")
    >>> list(state_dict)[:3], state_dict["fc.weight"].shape
    (['conv1.weight', 'bn1.weight', 'bn1.bias'], (10, 512))
  """
  _check_model(model)
  if not isinstance(variables, Mapping) or "params" not in variables:
    found = sorted(variables) if isinstance(variables, Mapping) else type(variables).__name__
    raise TypeError(f"variables must be a mapping with 'params' (and 'batch_stats'), got {found}.")
  exported = torch_names.to_torch_state_dict(variables)
  model_kwargs = dict(model_kwargs)
  shapes = {key: array.shape for key, array in exported.items()}
  in_channels, num_classes = _fields(model, shapes, model_kwargs)
  template, described = _template(model, in_channels, num_classes, model_kwargs)
  expected = torch_names.torch_shapes(template)
  _check_shapes(shapes, expected, "variables", described)
  return {key: exported[key] for key in expected}
