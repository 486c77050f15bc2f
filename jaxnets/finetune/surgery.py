"""Model surgery: find the output layer, and put pretrained layers under a new head.

The head of a classifier is what depends on its number of classes: :func:`class_axes`
initializes the model abstractly (``jax.eval_shape``, nothing computed) with ``num_classes``
and with one class more, and the parameter axes that differ are the class axes. The head is
the top-level modules holding them (``fc`` of a ResNet, ``classifier_6`` of VGG/AlexNet,
``Dense_1`` of an MLP, ``block4`` of NiN).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxnets.params import named_parameters


def _shapes(model: nn.Module, sample_x: Any) -> dict[str, tuple[int, ...]]:
  init = lambda x: model.init(jax.random.key(0), x, train=False)["params"]
  return {k: tuple(v.shape) for k, v in named_parameters(jax.eval_shape(init, sample_x)).items()}


def class_axes(model: nn.Module, sample_x: Any) -> dict[str, tuple[int, ...]]:
  """``{parameter path: axes whose size is the number of classes}``, for the paths that have any.

  Args:
    model: a classifier with a ``num_classes`` field.
    sample_x: one input batch (only its shape and dtype are used).

  Raises:
    ValueError: the model has no ``num_classes`` field.

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets import models
    >>> class_axes(models.MLP(hidden=(8,), num_classes=3), jnp.zeros((1, 4)))
    {'Dense_1/bias': (0,), 'Dense_1/kernel': (1,)}
  """
  classes = getattr(model, "num_classes", None)
  if not isinstance(classes, int):
    raise ValueError(
      f"{type(model).__name__} has no num_classes field, so its head cannot be found; name it "
      "(config.finetune.head)."
    )
  now, more = _shapes(model, sample_x), _shapes(model.clone(num_classes=classes + 1), sample_x)
  axes = {}
  for path, shape in now.items():
    differ = tuple(i for i, (a, b) in enumerate(zip(shape, more[path], strict=True)) if a != b)
    if differ:
      axes[path] = differ
  return axes


def find_head(model: nn.Module, sample_x: Any) -> tuple[str, ...]:
  """The top-level module names holding the parameters sized by the number of classes.

  Example:
    >>> import jax.numpy as jnp
    >>> from jaxnets import models
    >>> model = models.get_model("resnet18", num_classes=5, width_multiplier=0.125)
    >>> find_head(model, jnp.zeros((1, 32, 32, 3)))
    ('fc',)
  """
  return tuple(sorted({path.split("/")[0] for path in class_axes(model, sample_x)}))


def _top(path: str) -> str:
  return path.split("/")[0]


def _check_body(kind: str, pretrained: Any, fresh: Any, head: set[str], source: str) -> None:
  """Raises naming the first missing, unexpected or mismatched pretrained array outside the head."""
  stored = {k: v for k, v in named_parameters(pretrained).items() if _top(k) not in head}
  wanted = {k: v for k, v in named_parameters(fresh).items() if _top(k) not in head}
  missing = [k for k in wanted if k not in stored]
  if missing:
    raise ValueError(
      f"The pretrained {kind} of {source} have no {missing[0]!r} (the model's has shape "
      f"{tuple(np.shape(wanted[missing[0]]))}); {len(missing)} missing in all. Is it another model?"
    )
  extra = [k for k in stored if k not in wanted]
  if extra:
    raise ValueError(
      f"The pretrained {kind} of {source} hold {extra[0]!r}, which the model does not have "
      f"({len(extra)} such arrays); is it another model, or does config.finetune.head miss a layer?"
    )
  bad = [k for k in wanted if tuple(np.shape(stored[k])) != tuple(np.shape(wanted[k]))]
  if bad:
    k = bad[0]
    raise ValueError(
      f"The pretrained {kind} of {source} do not fit the model: {k!r} has shape "
      f"{tuple(np.shape(stored[k]))} there but {tuple(np.shape(wanted[k]))} in the model "
      f"({len(bad)} mismatched arrays; same architecture and width?)."
    )


def _replace_top(fresh: Mapping[str, Any], pretrained: Mapping[str, Any], head: set[str]) -> Any:
  def cast(p, f):
    return jnp.asarray(p, dtype=jnp.asarray(f).dtype)

  return {
    name: sub if name in head else jax.tree_util.tree_map(cast, pretrained[name], sub)
    for name, sub in fresh.items()
  }


def _reuse_rows(
  fresh: Mapping[str, Any],
  pretrained: Mapping[str, Any],
  axes: Mapping[str, tuple[int, ...]],
  shared: Sequence[tuple[int, int]],
  source: str,
) -> Any:
  """Head arrays with the class entries ``target`` copied from the pretrained ``source`` ones."""
  flat_fresh, flat_pre = named_parameters(fresh), named_parameters(pretrained)
  values = {}
  for path, array in flat_fresh.items():
    if path not in axes:
      values[path] = array
      continue
    if axes[path] != (np.ndim(array) - 1,):
      raise ValueError(
        f"config.finetune.shared_classes needs a head whose only class axis is the last one; "
        f"{path!r} has class axes {axes[path]}."
      )
    old = flat_pre.get(path)
    if old is None or tuple(np.shape(old))[:-1] != tuple(np.shape(array))[:-1]:
      got = None if old is None else tuple(np.shape(old))
      raise ValueError(
        f"Cannot reuse head rows: the pretrained {path!r} of {source} has shape {got}, the "
        f"model's {tuple(np.shape(array))} (they may differ only in the number of classes)."
      )
    n_source, n_target = np.shape(old)[-1], np.shape(array)[-1]
    for target, src in shared:
      if not (0 <= target < n_target and 0 <= src < n_source):
        raise ValueError(
          f"config.finetune.shared_classes pair ({target}, {src}) is out of range: target classes "
          f"are 0..{n_target - 1}, source classes 0..{n_source - 1}."
        )
    targets = np.array([t for t, _ in shared], np.int32)
    sources = np.array([s for _, s in shared], np.int32)
    array = jnp.asarray(array)
    values[path] = array.at[..., targets].set(jnp.asarray(old)[..., sources].astype(array.dtype))
  leaves = [values[path] for path in flat_fresh]  # named_parameters keeps the leaf order.
  return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(fresh), leaves)


def transplant(
  fresh: Mapping[str, Any],
  pretrained: Mapping[str, Any],
  head: Iterable[str],
  *,
  shared_classes: Sequence[tuple[int, int]] = (),
  class_axes: Mapping[str, tuple[int, ...]] | None = None,
  source: str = "the checkpoint",
) -> dict[str, Any]:
  """Fresh variables with every top-level module but the head taken from ``pretrained``.

  Args:
    fresh: ``{"params", "batch_stats"?}`` of the new model, freshly initialized (its head
      stays as initialized).
    pretrained: ``{"params", "batch_stats"?}`` to start from (any number of classes).
    head: top-level names of the output layer(s) (:func:`find_head`).
    shared_classes: ``(target class, source class)`` pairs whose head entries are copied
      from the pretrained head (the weights column and the bias of that class).
    class_axes: the head's class axes (:func:`class_axes`), needed with ``shared_classes``.
    source: where ``pretrained`` comes from, for messages.

  Returns:
    ``{"params", "batch_stats"}`` shaped and typed as ``fresh``.

  Raises:
    ValueError: outside the head, a pretrained array is missing, unexpected, or of another
      shape (the first one is named with both shapes); a shared class is out of range.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jaxnets import models
    >>> x = jnp.zeros((1, 4))
    >>> old = models.MLP(hidden=(8,), num_classes=3).init(jax.random.key(0), x)
    >>> new = models.MLP(hidden=(8,), num_classes=2).init(jax.random.key(1), x)
    >>> out = transplant(new, old, ["Dense_1"])
    >>> bool((out["params"]["Dense_0"]["kernel"] == old["params"]["Dense_0"]["kernel"]).all())
    True
    >>> out["params"]["Dense_1"]["kernel"].shape
    (8, 2)
  """
  head = set(head)
  out = {}
  for kind in ("params", "batch_stats"):
    new, old = fresh.get(kind, {}), pretrained.get(kind, {}) or {}
    _check_body(kind, old, new, head, source)
    out[kind] = _replace_top(new, old, head) if new else {}
  if shared_classes:
    if class_axes is None:
      raise ValueError("transplant needs class_axes to reuse head rows for shared_classes.")
    heads = {name: out["params"][name] for name in head}
    old_heads = {name: pretrained["params"].get(name, {}) for name in head}
    out["params"].update(_reuse_rows(heads, old_heads, class_axes, shared_classes, source))
  return out
