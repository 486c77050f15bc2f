"""The per-epoch table, the progress bar and where results go."""

import io
import sys

import numpy as np

from jaxnets.train import reporting


def test_table_columns_keep_their_width_for_any_number():
  header = reporting.table_header()
  rows = [
    reporting.table_row(1, {"train_loss": 2.5e26, "test_loss": -3.1e-9, "examples_per_sec": 5.5}),
    reporting.table_row(10, {"train_loss": 0.25, "train_accuracy": 0.5, "test_loss": np.nan}),
    reporting.table_row(2, {"train_loss": -1e300, "examples_per_sec": 1.23e12}),
  ]
  bars = [i for i, c in enumerate(header) if c == "|"]
  for row in rows:
    assert len(row) == len(header), row
    assert [i for i, c in enumerate(row) if c == "|"] == bars, row
  cells = [c.strip() for c in rows[0].split("|")]
  assert float(cells[1]) == 2.5e26 and float(cells[3]) == -3.1e-9
  assert cells[-1] == "6"  # Examples/s as a whole number.
  assert [float(c) for c in rows[2].split("|")[1::4]] == [-1e300, 1.23e12]


def test_format_cell_matches_python_formatting():
  assert reporting.format_cell(0.12345) == format(0.12345, ".4f")
  assert reporting.format_cell(2.5e26) == format(2.5e26, ".3e")
  assert reporting.format_cell(1234567) == "1234567"


def test_results_go_to_stdout_and_messages_to_stderr(capsys):
  reporting.result("Final test accuracy: 0.5000")
  reporting.say("Training ...")
  out, err = capsys.readouterr()
  assert out == "Final test accuracy: 0.5000\n"
  assert "Final" not in err


class _Terminal(io.StringIO):
  def isatty(self):
    return True


def test_progress_bar_draws_only_on_a_terminal(monkeypatch):
  redirected = io.StringIO()
  monkeypatch.setattr(sys, "stderr", redirected)
  bar = reporting.ProgressBar(total=10)
  bar.update(4, "loss 0.5")
  bar.close()
  assert redirected.getvalue() == "" and bar.done == 4
  terminal = _Terminal()
  monkeypatch.setattr(sys, "stderr", terminal)
  bar = reporting.ProgressBar(total=10)
  bar.update(4, "loss 0.5")
  bar.update(6)
  bar.close()
  drawn = terminal.getvalue()
  assert "/10 [" in drawn and "step/s" in drawn and "\r" in drawn and bar.done == 10


def test_linear_parameters_reports_kernel_and_bias():
  params = {"Dense_0": {"kernel": np.array([[1.99921], [-3.39968]]), "bias": np.array([4.2])}}
  assert reporting.linear_parameters(params) == "Learned w = [1.9992, -3.3997], b = 4.2000"
