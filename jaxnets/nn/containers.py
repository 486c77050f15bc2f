"""Containers of layers: the course's ``nn.Sequential`` and ``nn.ModuleDict``, as linen modules.

* :class:`Sequential` applies layers (linen modules or plain functions) in order and passes
  the ``train`` flag to every layer that takes one, so Dropout and BatchNorm switch between
  training and evaluation with the whole model.
* :class:`ModuleDict` holds sub-modules under the names you give; their parameters appear
  under those names (``"conv1/kernel"``), as in PyTorch's ``named_parameters()``.

Both keep the insertion order of a dict. Parameter names: a list of layers gets Flax's
names (``layers_0``, ``layers_1``, ...); a dict of layers gets its keys.

Example:
  >>> import jax, jax.numpy as jnp, flax.linen as nn
  >>> from jaxnets import params as P
  >>> net = Sequential({"hidden": nn.Dense(4), "act": nn.relu, "out": nn.Dense(2)})
  >>> variables = net.init(jax.random.key(0), jnp.ones((1, 3)))
  >>> sorted(P.named_parameters(variables["params"]))
  ['hidden/bias', 'hidden/kernel', 'out/bias', 'out/kernel']
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

import flax.linen as nn

Layer = Callable[..., Any]
Layers = Union[Sequence[Layer], Mapping[str, Layer]]


def _train_kwargs(layer: Layer, train: bool) -> dict[str, bool]:
  """The keyword that tells ``layer`` whether it is training, if it takes one.

  ``train=`` is passed to layers whose call signature has it (the jaxnets convention);
  Flax's own ``nn.Dropout`` gets ``deterministic=not train`` and ``nn.BatchNorm`` gets
  ``use_running_average=not train``, unless that attribute was fixed at construction.
  """
  fn = layer.__call__ if isinstance(layer, nn.Module) else layer
  try:
    names = inspect.signature(fn).parameters
  except (TypeError, ValueError):  # Builtins without a signature take no flag.
    return {}
  if "train" in names:
    return {"train": train}
  for flag in ("deterministic", "use_running_average"):
    if flag in names and getattr(layer, flag, None) is None:
      return {flag: not train}
  return {}


def _as_pairs(owner: str, layers: Any, allow_empty: bool) -> tuple:
  """Validates ``layers``; a mapping becomes a tuple of ``(name, layer)`` pairs (order kept).

  Flax re-sorts dict attributes when it adopts sub-modules, so the order is frozen here.
  """
  if isinstance(layers, Mapping):
    items = tuple(layers.items())
  elif isinstance(layers, (list, tuple)):
    items = tuple(layers)
  else:
    raise ValueError(
      f"{owner} takes a list/tuple of layers or a dict name -> layer, got {type(layers).__name__}."
    )
  if not items and not allow_empty:
    raise ValueError(f"{owner} needs at least one layer, got none.")
  named = [isinstance(it, tuple) and len(it) == 2 and isinstance(it[0], str) for it in items]
  if isinstance(layers, Mapping) or (items and all(named)):
    seen = set()
    for name, layer in items:
      if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(
          f"{owner} layer names must be non-empty strings without '/', got {name!r}."
        )
      if name in seen:
        raise ValueError(f"{owner} layer name {name!r} is used twice; names must be unique.")
      seen.add(name)
      if not callable(layer):
        raise ValueError(
          f"{owner} layer {name!r} is a {type(layer).__name__}, which is not "
          f"callable; use linen modules or functions of an array."
        )
    return items
  for i, layer in enumerate(items):
    if not callable(layer):
      raise ValueError(
        f"{owner} layer {i} is a {type(layer).__name__}, which is not callable; "
        f"use linen modules or functions of an array."
      )
  return items


def _is_named(items: tuple) -> bool:
  return bool(items) and all(isinstance(it, tuple) and len(it) == 2 for it in items)


def _bind_named(parent: nn.Module, items: tuple) -> dict[str, Layer]:
  """Attaches each module to ``parent`` under its name (plain functions and own children as is).

  Modules built inside another module's ``@nn.compact`` method were already attached to that
  module; cloning puts a copy under ``parent`` so that the parameters nest under it.
  """

  def attach(name, layer):
    if not isinstance(layer, nn.Module) or (layer.parent is parent and layer.name == name):
      return layer
    return layer.clone(parent=parent, name=name)

  return {name: attach(name, layer) for name, layer in items}


class Sequential(nn.Module):
  """Applies layers in order: the ``nn.Sequential`` of the course, aware of ``train``.

  Unlike ``flax.linen.Sequential``, the ``train`` flag reaches every layer that accepts it
  (see :func:`_train_kwargs`), so one model call switches Dropout/BatchNorm between modes.

  Its parameters nest under the Sequential's own name wherever it is built (at top level,
  in a parent's ``setup``, or inline in a parent's ``@nn.compact`` method — where, unlike
  ``flax.linen.Sequential``, the layers do not leak into the parent's scope; they only
  advance the parent's automatic names).

  Attributes:
    layers: a list of layers (named ``layers_0``, ``layers_1``, ... in the parameter tree)
      or a dict ``{name: layer}`` (named by its keys, in its order, like
      ``nn.Sequential(OrderedDict(...))``). Layers are linen modules or functions
      of one array, such as ``nn.relu``.

  Example:
    >>> import jax, jax.numpy as jnp, flax.linen as nn
    >>> net = Sequential([nn.Dense(8), nn.relu, nn.Dropout(0.5), nn.Dense(3)])
    >>> x = jnp.ones((2, 4))
    >>> variables = net.init(jax.random.key(0), x)
    >>> net.apply(variables, x).shape  # train=False: dropout is off, no rng needed.
    (2, 3)
    >>> net.apply(variables, x, train=True, rngs={"dropout": jax.random.key(1)}).shape
    (2, 3)
  """

  layers: Layers

  def __post_init__(self):
    object.__setattr__(self, "layers", _as_pairs("Sequential", self.layers, allow_empty=False))
    super().__post_init__()

  def setup(self):
    items = self.layers
    if not _is_named(items):  # Flax's names; also re-homes layers built in a parent's compact.
      items = tuple((f"layers_{i}", layer) for i, layer in enumerate(items))
    self._ordered = tuple(_bind_named(self, items).values())

  def __call__(self, x: Any, train: bool = False) -> Any:
    """Runs ``x`` through every layer; ``train`` switches train-only behaviour."""
    for layer in self._ordered:
      x = layer(x, **_train_kwargs(layer, train))
    return x


class ModuleDict(nn.Module):
  """Sub-modules by name: PyTorch's ``nn.ModuleDict`` as a linen module.

  Each module's variables live under its key (``{"conv1": {"kernel": ...}}``). Inside a
  parent's ``setup``/``__call__``, ``self.blocks["conv1"](x)`` calls one module (``train``
  is not passed automatically there; pass it yourself). Calling the dict itself applies
  every module to the same input and returns ``{name: output}`` (a multi-head layer),
  which is also what :meth:`init` uses to create every module's parameters.

  Build it in the parent's ``setup`` (as PyTorch builds it in ``__init__``). In a
  ``@nn.compact`` method it works too, but the layers you construct there advance the
  parent's automatic names (the next plain ``nn.Dense`` is not ``Dense_0``).

  Attributes:
    layers: dict ``{name: linen module}``; names are non-empty and contain no ``/``.

  Example:
    >>> import jax, jax.numpy as jnp, flax.linen as nn
    >>> heads = ModuleDict({"digit": nn.Dense(10), "parity": nn.Dense(2)})
    >>> variables = heads.init(jax.random.key(0), jnp.ones((1, 5)))
    >>> {k: v.shape for k, v in heads.apply(variables, jnp.ones((3, 5))).items()}
    {'digit': (3, 10), 'parity': (3, 2)}
    >>> sorted(variables["params"])
    ['digit', 'parity']
  """

  layers: Mapping[str, nn.Module]

  def __post_init__(self):
    if not isinstance(self.layers, (Mapping, tuple)):
      raise ValueError(f"ModuleDict takes a dict name -> module, got {type(self.layers).__name__}.")
    items = _as_pairs("ModuleDict", self.layers, allow_empty=True)
    if items and not _is_named(items):
      raise ValueError(
        "ModuleDict takes a dict name -> module, not a list; use Sequential "
        "for an unnamed list of layers."
      )
    for name, layer in items:
      if not isinstance(layer, nn.Module):
        raise ValueError(
          f"ModuleDict entry {name!r} is a {type(layer).__name__}; entries must "
          f"be linen modules (wrap plain functions in a module or Sequential)."
        )
    object.__setattr__(self, "layers", items)
    super().__post_init__()

  def setup(self):
    self._modules_by_name = _bind_named(self, self.layers)

  def __getitem__(self, name: str) -> nn.Module:
    """The module registered under ``name`` (bound when this dict is bound)."""
    if name not in self._modules_by_name:
      raise KeyError(f"ModuleDict has no module {name!r}; names: {list(self.keys())}.")
    return self._modules_by_name[name]

  @nn.nowrap
  def keys(self) -> list[str]:
    """The names, in insertion order."""
    return [name for name, _ in self.layers]

  @nn.nowrap
  def __len__(self) -> int:
    return len(self.layers)

  @nn.nowrap
  def __contains__(self, name: object) -> bool:
    return name in self.keys()

  @nn.nowrap
  def __iter__(self) -> Iterator[str]:
    return iter(self.keys())

  def __call__(self, x: Any, train: bool = False) -> dict[str, Any]:
    """Applies every module to ``x``: ``{name: module(x)}`` (``train`` passed where taken)."""
    return {
      name: module(x, **_train_kwargs(module, train))
      for name, module in self._modules_by_name.items()
    }
