"""Helpers the chapter experiments share: headless matplotlib, saved figures, their ``main``."""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from typing import Any, Callable, Iterable, Sequence

from absl import app, flags

from experiments import cli


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


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str = ".4g") -> list[str]:
  """Text-table lines: a header and rows, each column as wide as its widest cell.

  Floats are written with ``fmt``, None as ``-``, anything else with ``str``.

  Example:
    >>> table(["lr", "loss"], [(0.1, 0.25), (1.0, None)])
    ['lr   loss', '0.1  0.25', '1    -']
  """
  cells = [list(header)] + [
    [format(v, fmt) if isinstance(v, float) else "-" if v is None else str(v) for v in row]
    for row in rows
  ]
  widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
  return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def flag_help(run: Callable[..., Any]) -> dict[str, str]:
  """The flags of a chapter experiment: ``run``'s keyword arguments with simple defaults.

  Every keyword-only argument of ``run`` whose default is a bool, int, float, str or a tuple
  of those is a flag of the same name and default (so every default is written once, in
  ``run``); its help text is the argument's entry in ``run``'s ``Args:`` docstring section.

  Raises:
    ValueError: a flag argument that the docstring does not document.
  """
  docs, name = {}, None
  lines = inspect.getdoc(run).splitlines()
  start = next((i + 1 for i, line in enumerate(lines) if line.strip() == "Args:"), len(lines))
  for line in lines[start:]:
    if line and not line.startswith(" "):
      break
    entry = re.match(r"\s{2}(\w+): (.*)", line)
    if entry:
      name, docs[entry.group(1)] = entry.group(1), entry.group(2)
    elif name and line.strip():
      docs[name] += " " + line.strip()
  flag_names = [
    n
    for n, p in inspect.signature(run).parameters.items()
    if p.kind is p.KEYWORD_ONLY and isinstance(p.default, (bool, int, float, str, tuple))
  ]
  undocumented = [n for n in flag_names if n not in docs]
  if undocumented:
    raise ValueError(f"{run.__module__}.run documents no Args entry for {undocumented}.")
  return {n: docs[n] for n in flag_names}


def _define_flags(run: Callable[..., Any], workdir: str) -> dict[str, str]:
  """Defines ``--workdir`` and the flags of :func:`flag_help`; returns their help texts."""
  flags.DEFINE_string("workdir", workdir, "Where the PNGs and results.json go.")
  params = inspect.signature(run).parameters
  help_texts = flag_help(run)
  definers = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float}
  for name, text in help_texts.items():
    default = params[name].default
    if isinstance(default, tuple):
      flags.DEFINE_list(name, [str(v) for v in default], text)
    else:
      definers.get(type(default), flags.DEFINE_string)(name, default, text)
  return help_texts


def _flag_value(default: Any, value: Any) -> Any:
  if isinstance(default, tuple):
    kind = type(default[0]) if default else str
    return tuple(kind(v) for v in value)
  return value


def run_as_program(
  run: Callable[..., dict], format_table: Callable[[dict], str], workdir: str
) -> None:
  """The ``__main__`` of a chapter experiment: flags → ``run`` → printed table → results.json.

  ``run(workdir, **flags)`` writes the plots and ``results.json``; the table goes to stdout.
  Errors print one ``error: ...`` line (see :mod:`experiments.cli`); ``--help`` exits 0.
  """
  help_texts = _define_flags(run, workdir)
  params = inspect.signature(run).parameters

  def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    kwargs = {n: _flag_value(params[n].default, flags.FLAGS[n].value) for n in help_texts}
    results = run(flags.FLAGS.workdir, **kwargs)
    print(format_table(results))
    print(
      f"Plots and results.json in {flags.FLAGS.workdir}", file=sys.stderr
    )  # A log line: the table ends stdout.

  cli.run(main, doc=sys.modules["__main__"].__doc__)
