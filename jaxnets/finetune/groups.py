"""Parameter groups by top-level module: the new head, the pretrained body, frozen stages.

Each group gets its own transformation through ``optax.multi_transform``: typically the
body the configured optimizer, the head the same optimizer with a learning rate 10× larger,
and the frozen stages ``optax.set_to_zero()`` (no update, no optimizer state).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
import optax

HEAD, BODY, FROZEN = "head", "body", "frozen"


def resolve_names(names: Iterable[str], top_level: Sequence[str], field: str) -> tuple[str, ...]:
  """The top-level module names that ``names`` select, in ``top_level``'s order.

  A name selects the module of that name, and a stage prefix selects all its blocks:
  ``"layer1"`` is ``layer1_0``, ``layer1_1``, ...; ``"features"`` every ``features_<i>``.

  Args:
    names: the names asked for.
    top_level: the model's top-level module names (the keys of its ``params``).
    field: what the names are, for the message (e.g. ``"config.finetune.freeze"``).

  Raises:
    ValueError: a name selects nothing (the message lists the top-level names).

  Example:
    >>> resolve_names(["conv1", "layer1"], ["bn1", "conv1", "fc", "layer1_0", "layer1_1"], "freeze")
    ('conv1', 'layer1_0', 'layer1_1')
  """
  chosen = set()
  for name in names:
    matches = [t for t in top_level if t == name or t.startswith(f"{name}_")]
    if not matches:
      raise ValueError(
        f"{field}: {name!r} matches no layer of the model; its top-level names are "
        f"{list(top_level)} (a stage prefix such as 'layer1' selects 'layer1_0', 'layer1_1', ...)."
      )
    chosen.update(matches)
  return tuple(t for t in top_level if t in chosen)


def group_labels(params: Mapping[str, Any], head: Iterable[str], frozen: Iterable[str]) -> Any:
  """A tree like ``params`` of ``"head"``, ``"frozen"`` or ``"body"`` per leaf, by top-level name.

  Example:
    >>> import jax.numpy as jnp
    >>> group_labels({"conv": {"w": jnp.ones(2)}, "fc": {"w": jnp.ones(2)},
    ...               "mid": {"w": jnp.ones(1)}}, head=["fc"], frozen=["conv"])
    {'conv': {'w': 'frozen'}, 'fc': {'w': 'head'}, 'mid': {'w': 'body'}}
  """
  head, frozen = set(head), set(frozen)

  def label(name: str) -> str:
    return HEAD if name in head else FROZEN if name in frozen else BODY

  return {
    name: jax.tree_util.tree_map(lambda _, n=name: label(n), sub) for name, sub in params.items()
  }


def group_optimizer(
  body: optax.GradientTransformation,
  head: optax.GradientTransformation,
  head_names: Sequence[str],
  frozen: Sequence[str] = (),
) -> optax.GradientTransformation:
  """``optax.multi_transform``: ``head`` on the head, ``set_to_zero`` on frozen, ``body`` elsewhere.

  Args:
    body: the transformation of the pretrained, trained layers.
    head: the transformation of the new output layer (e.g. a 10× learning rate).
    head_names: top-level names of the head.
    frozen: top-level names that get no updates.

  Example:
    >>> import jax.numpy as jnp
    >>> tx = group_optimizer(optax.sgd(0.1), optax.sgd(1.0), ["fc"], frozen=["conv"])
    >>> params = {"conv": jnp.ones(1), "fc": jnp.ones(1), "mid": jnp.ones(1)}
    >>> grads = {"conv": jnp.ones(1), "fc": jnp.ones(1), "mid": jnp.ones(1)}
    >>> updates, _ = tx.update(grads, tx.init(params), params)
    >>> {k: round(float(v[0]), 6) for k, v in updates.items()}
    {'conv': 0.0, 'fc': -1.0, 'mid': -0.1}
  """
  labels: Callable[[Any], Any] = lambda params: group_labels(params, head_names, frozen)
  transforms = {BODY: body, HEAD: head, FROZEN: optax.set_to_zero()}
  return optax.multi_transform(transforms, labels)
