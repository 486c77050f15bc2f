"""Helpers the chapter experiments share: headless matplotlib, saved figures, their ``main``."""

from __future__ import annotations

import inspect
import json
import os
from typing import Any, Callable, Mapping, Sequence

from absl import app, flags


def pyplot() -> Any:
  """``matplotlib.pyplot`` on the headless Agg backend, or an error naming the extra."""
  try:
    import matplotlib
  except ImportError as err:
    raise ImportError(
      "The experiments draw their figures with matplotlib: pip install -e '.[plots]'"
    ) from err
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  return plt


class FigureSaver:
  """Saves figures as PNGs into ``workdir``, closes them and remembers their paths.

  Example:
    >>> import tempfile
    >>> plt = pyplot()
    >>> save = FigureSaver(tempfile.mkdtemp(), plt)
    >>> path = save(plt.figure(), "empty.png")
    >>> save.paths == [path]
    True
  """

  def __init__(self, workdir: str, plt: Any, dpi: int = 100):
    self.workdir, self.plt, self.dpi = workdir, plt, dpi
    self.paths: list[str] = []

  def __call__(self, fig: Any, name: str) -> str:
    path = os.path.join(self.workdir, name)
    if fig.get_layout_engine() is None:  # Respect a layout chosen at creation.
      fig.tight_layout()
    fig.savefig(path, dpi=self.dpi)
    self.plt.close(fig)
    self.paths.append(path)
    return path


def write_json(
  workdir: str, results: Any, name: str = "results.json", indent: int | None = 2
) -> str:
  """Writes ``results`` as JSON into ``workdir``; returns the path."""
  path = os.path.join(workdir, name)
  with open(path, "w") as f:
    json.dump(results, f, indent=indent)
  return path


def engine_config(**fields: Any) -> Any:
  """A quiet training config for the engine (no progress bar; whole-split evaluations).

  ``fields`` replace (not merge into) the defaults of ``jaxnets.train.default_config()``.

  Example:
    >>> engine_config(model={"name": "softmax", "num_classes": 10}).model.to_dict()
    {'name': 'softmax', 'num_classes': 10}
  """
  from jaxnets import train

  config = train.default_config()
  config.progress_bar, config.eval_train = False, True
  for field, value in fields.items():
    config[field] = value
  return config


def define_flags(run: Callable[..., Any], help_texts: Mapping[str, str], workdir: str) -> None:
  """Defines ``--workdir`` and one flag per keyword argument of ``run`` named in ``help_texts``.

  Each flag takes its type and default from ``run``'s signature, so every default is written
  once (in ``run``). Tuple defaults become comma-separated list flags.
  """
  flags.DEFINE_string("workdir", workdir, "Where the PNGs and results.json go.")
  params = inspect.signature(run).parameters
  for name, text in help_texts.items():
    default = params[name].default
    if isinstance(default, bool):
      flags.DEFINE_bool(name, default, text)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, text)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, text)
    elif isinstance(default, str):
      flags.DEFINE_string(name, default, text)
    elif isinstance(default, tuple):
      flags.DEFINE_list(name, [str(v) for v in default], text)
    else:
      raise TypeError(f"No flag type for {name}={default!r}.")


def _flag_value(default: Any, value: Any) -> Any:
  if isinstance(default, tuple):
    kind = type(default[0]) if default else str
    return tuple(kind(v) for v in value)
  return value


def run_as_program(
  run: Callable[..., dict],
  format_table: Callable[[dict], str],
  help_texts: Mapping[str, str],
  workdir: str,
) -> None:
  """The ``__main__`` of a chapter experiment: flags → ``run`` → printed table → results.json.

  ``run(workdir, **flags)`` writes the plots and ``results.json``; the table goes to stdout.
  """
  define_flags(run, help_texts, workdir)
  params = inspect.signature(run).parameters

  def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    kwargs = {n: _flag_value(params[n].default, flags.FLAGS[n].value) for n in help_texts}
    results = run(flags.FLAGS.workdir, **kwargs)
    print(format_table(results))
    print(f"\nPlots and results.json in {flags.FLAGS.workdir}")

  app.run(main)
