"""Compiled programs shared by every run and sweep of the process, keyed by their StableHLO.

Each :class:`~jaxnets.train.loop.EpochRunner` builds its step functions afresh (a new
optimizer, loss and model object per run), so ``jax.jit``'s own caches, which key on those
Python objects, never hit across runs. :func:`compile_shared` instead lowers the call (a
trace, cheap) and keys the compiled executable on the lowered module's full text (every
constant printed, no source locations), the devices and the inputs' shardings: two calls
share an executable exactly when they would compile the very same program. A call that hits
reuses the earlier executable and maps its flat inputs and outputs onto the new call's pytrees
(whose static fields, e.g. the optimizer object, may differ but describe the same
computation). :class:`~jaxnets.train.evaluation.Evaluator` compiles its step through it too.

Example:
  >>> import jax, jax.numpy as jnp
  >>> before = cache_info()["misses"]
  >>> f = compile_shared(lambda x: x * 2 + 1, jnp.ones(3))
  >>> g = compile_shared(lambda y: y * 2 + 1, jnp.zeros(3))  # A new function object.
  >>> cache_info()["misses"] - before, g(jnp.arange(3.0)).tolist()
  (1, [1.0, 3.0, 5.0])
"""

import collections
import hashlib
import threading
from typing import Any, Callable

import jax

_MAX_ENTRIES = 64  # Executables kept (least recently used dropped first).
_cache: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
_stats = {"hits": 0, "misses": 0}
_lock = threading.Lock()  # Sweeps may compile from several threads (the MNIST-1D table does).


class _Reused:
  """An executable compiled for an earlier call, called with this call's pytrees."""

  def __init__(self, compiled: Any, out_tree: Any):
    self._compiled, self._out_tree = compiled, out_tree
    self._in_tree = compiled.in_tree  # ((args...), {kwargs}) of the earlier call.

  def __call__(self, *args: Any) -> Any:
    leaves = jax.tree_util.tree_leaves(args)
    old_args, _ = jax.tree_util.tree_unflatten(self._in_tree, leaves)
    out = self._compiled(*old_args)
    return jax.tree_util.tree_unflatten(self._out_tree, jax.tree_util.tree_leaves(out))


def compile_shared(
  fn: Callable[..., Any], *args: Any, donate_argnums: int | tuple[int, ...] = ()
) -> Callable[..., Any]:
  """``jax.jit(fn).lower(*args).compile()``, reusing an identical program compiled before.

  The program keeps every argument, used or not (``keep_unused=True``), so its parameters
  are the flat leaves of ``args`` in order and equal text means an equal computation of
  them.

  Args:
    fn: the function to compile (donation and shardings are part of the key).
    *args: example arguments (arrays or ``jax.ShapeDtypeStruct``), positional only.
    donate_argnums: as for ``jax.jit``.

  Returns:
    A callable taking arguments of the same shapes as ``args``.
  """
  lowered = jax.jit(fn, donate_argnums=donate_argnums, keep_unused=True).lower(*args)
  devices = tuple(str(d) for d in jax.devices())
  # The inputs' shardings too: an executable called with other (if equivalent) shardings
  # would compile a transfer on every call.
  shardings = tuple(str(getattr(a, "sharding", None)) for a in jax.tree_util.tree_leaves(args))
  text = lowered.as_text() + repr(devices) + repr(shardings)
  key = hashlib.sha256(text.encode()).hexdigest()
  with _lock:
    hit = _cache.get(key)
    if hit is not None:
      _stats["hits"] += 1
      _cache.move_to_end(key)
      return _Reused(hit, lowered.out_tree)
    _stats["misses"] += 1
  compiled = lowered.compile()  # Outside the lock: other threads keep compiling meanwhile.
  with _lock:
    _cache[key] = compiled
    while len(_cache) > _MAX_ENTRIES:
      _cache.popitem(last=False)
  return compiled


def cache_info() -> dict[str, int]:
  """``{"hits", "misses", "size"}``: compilations saved and done so far, executables kept.

  Example:
    >>> sorted(cache_info())
    ['hits', 'misses', 'size']
  """
  return dict(_stats, size=len(_cache))


def clear_cache() -> None:
  """Drops every kept executable (the counters stay).

  Example:
    >>> clear_cache(); cache_info()["size"]
    0
  """
  with _lock:
    _cache.clear()


__all__ = ["cache_info", "clear_cache", "compile_shared"]
