"""README's table of configs and expected results agrees with the configs' own docstrings."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "experiments" / "configs"

_NUMBER = re.compile(r"-?\d+\.\d{3,}")  # Stated results: 0.9889, 1.9992, -3.3997, 4.2000.


def _normalize(text: str) -> str:
  return text.replace("−", "-").replace("–", "-").replace("~", "").replace("\\\\", "")


def readme_rows(text: str) -> dict[str, tuple[str, str]]:
  """``{config file: (expected-result cell, time cell)}`` from README's configs table."""
  section = text.split("## Configs and expected results", 1)[1].split("\n## ", 1)[0]
  rows = {}
  for line in section.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    match = re.match(r"`(\w+\.py)`", cells[0]) if len(cells) == 4 else None
    if match:
      rows[match.group(1)] = (cells[2], cells[3])
  return rows


def stated_numbers(text: str) -> set[float]:
  return {float(n) for n in _NUMBER.findall(_normalize(text))}


README = (ROOT / "README.md").read_text()
ROWS = readme_rows(README)


def test_every_config_has_one_row_and_the_table_is_unbroken():
  configs = sorted(p.name for p in CONFIGS.glob("*.py") if p.name != "__init__.py")
  assert sorted(ROWS) == configs
  section = README.split("## Configs and expected results", 1)[1].split("\n## ", 1)[0]
  table = [line for line in section.strip().splitlines() if line.startswith("|")]
  lines = section.strip().splitlines()
  first = lines.index(table[0])
  assert lines[first : first + len(table)] == table, "a blank line splits the table"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_readme_results_and_times_are_the_configs(name):
  doc = _normalize(ast.get_docstring(ast.parse((CONFIGS / name).read_text())) or "")
  expected, time = ROWS[name]
  numbers = stated_numbers(expected)
  assert numbers, f"README states no measured result for {name}: {expected!r}"
  missing = numbers - stated_numbers(doc)
  assert not missing, f"{name}: README states {sorted(missing)}, its docstring does not"
  stated_time = _normalize(time).split("(")[0].strip()
  assert stated_time and stated_time in " ".join(doc.split()), (name, stated_time)


def test_stated_numbers_reads_signs_and_decimals():
  assert stated_numbers("w = [1.9992, −3.3997], b = 4.2000 (true [2, −3.4]) 0.99") == {
    1.9992,
    -3.3997,
    4.2,
  }
  assert readme_rows("## Configs and expected results\n| `a.py` | d | 0.9 | 1 s |\n## X") == {
    "a.py": ("0.9", "1 s")
  }
