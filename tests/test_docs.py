"""Every ```python block of README.md, BUILD.md and docs/**/*.md runs, so the guide cannot rot.

The blocks of one page run in order in one namespace (a page's later snippets may use the
names its earlier ones defined), in a temporary working directory, so that snippets writing
files (``runs/...``) write there.

A block is skipped when its fence is ```` ```python no-run ```` or the line before it is
``<!-- no-run -->``: for commands that need a GPU/TPU, the network or minutes of training.
Shell commands are ```bash blocks and never run here.
"""

import pathlib
import re

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "BUILD.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
  """The fenced python blocks of a markdown text: ``(first line number, code, runs)``.

  Args:
    text: markdown.

  Returns:
    One tuple per ```python block, in order; ``runs`` is False for a block marked
    ``no-run`` (on its fence line or in a ``<!-- no-run -->`` comment on the line before).

  Raises:
    ValueError: for a fence that is never closed.
  """
  lines = text.splitlines()
  blocks, i = [], 0
  while i < len(lines):
    match = _FENCE.match(lines[i])
    if not match:
      i += 1
      continue
    lang, info = match.group(1), match.group(2)
    start = i + 1
    end = start
    while end < len(lines) and lines[end].rstrip() != "```":
      end += 1
    if end == len(lines):
      raise ValueError(f"the code fence opened on line {i + 1} is never closed")
    if lang == "python":
      before = lines[i - 1].strip() if i > 0 else ""
      runs = "no-run" not in info and before != "<!-- no-run -->"
      blocks.append((start + 1, "\n".join(lines[start:end]) + "\n", runs))
    i = end + 1
  return blocks


def test_python_blocks_parser_reads_fences_and_markers():
  text = "\n".join(
    [
      "# t",
      "```python",
      "a = 1",
      "```",
      "```bash",
      "echo no",
      "```",
      "<!-- no-run -->",
      "```python",
      "b = 2",
      "```",
      "```python no-run",
      "c = 3",
      "```",
    ]
  )
  assert python_blocks(text) == [
    (3, "a = 1\n", True),
    (10, "b = 2\n", False),
    (13, "c = 3\n", False),
  ]
  with pytest.raises(ValueError, match="never closed"):
    python_blocks("```python\nx = 1\n")


def test_every_page_with_code_is_found():
  names = {p.relative_to(ROOT).as_posix() for p in PAGES}
  assert "README.md" in names and "docs/pytorch_to_jax.md" in names
  chapters = sorted(p.name for p in (ROOT / "docs" / "chapters").glob("[01]*.md"))
  assert [c[:2] for c in chapters] == [f"{i:02d}" for i in range(1, 12)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_snippets_run(page, tmp_path, monkeypatch):
  blocks = python_blocks(page.read_text())
  monkeypatch.chdir(tmp_path)
  namespace = {"__name__": "__docs__"}
  for line, code, runs in blocks:
    if not runs:  # Skipped blocks must still parse (IPython's ! and % lines aside).
      python = "\n".join(c for c in code.splitlines() if not c.lstrip().startswith(("!", "%")))
      compile(python, f"{page.name}:{line}", "exec")
      continue
    try:
      exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
    except Exception as e:  # noqa: BLE001 - re-raised with the block's location.
      raise AssertionError(f"{page.relative_to(ROOT)} block at line {line} failed: {e!r}") from e
  import matplotlib.pyplot as plt

  plt.close("all")


# Guides written on other branches at the same time (issue 12); chapter 11 links them. Remove
# a name once its page has landed: the test below then checks its link like any other.
PENDING: set[str] = set()
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_resolve():
  broken = []
  for page in PAGES:
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(), flags=re.S)  # no code
    for target in _LINK.findall(prose):
      if re.match(r"[a-z]+:", target) or target.startswith("#"):
        continue  # URLs and same-page anchors.
      path = (page.parent / target.split("#")[0]).resolve()
      rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
      if not path.exists() and rel not in PENDING:
        broken.append(f"{page.relative_to(ROOT)} -> {target}")
  assert not broken, broken
  landed = sorted(p for p in PENDING if (ROOT / p).exists())
  assert not landed, f"remove {landed} from PENDING in tests/test_docs.py"
