"""The experiments' shared main: every flag documented, defaults taken from ``run``."""

import importlib

import pytest

from experiments import common

EXPERIMENTS = (
  "calculus",
  "conv_basics",
  "curvature",
  "generalization",
  "mlp_basics",
  "mnist1d_table",
  "optimizers",
  "stability",
)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_flag_is_documented_in_run(name):
  module = importlib.import_module(f"experiments.{name}")
  help_texts = common.flag_help(module.run)
  assert help_texts and all(text.strip() for text in help_texts.values())


def test_an_undocumented_flag_is_refused():
  def run(workdir, *, epochs: int = 3, seed: int = 0):
    """Runs.

    Args:
      workdir: where.
      epochs: how long.
    """

  with pytest.raises(ValueError, match=r"no Args entry for \['seed'\]"):
    common.flag_help(run)
