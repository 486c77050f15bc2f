"""Helpers the chapter experiments share: headless matplotlib and saving figures."""

from __future__ import annotations

import os
from typing import Any


def pyplot() -> Any:
  """``matplotlib.pyplot`` on the headless Agg backend, or an error naming the extra."""
  try:
    import matplotlib
  except ImportError as err:
    raise ImportError("The experiments draw their figures with matplotlib: "
                      "pip install -e '.[plots]'") from err
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
    fig.tight_layout()
    fig.savefig(path, dpi=self.dpi)
    self.plt.close(fig)
    self.paths.append(path)
    return path
