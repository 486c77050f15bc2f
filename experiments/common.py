"""Helpers the chapter experiments share: headless matplotlib and saving figures."""

from __future__ import annotations

import json
import os
from typing import Any


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
