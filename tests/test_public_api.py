"""The stated public surface: ``__all__`` in every package, no private names across modules."""

import ast
import importlib
import pathlib
import pkgutil

import pytest

import jaxnets

ROOT = pathlib.Path(__file__).resolve().parents[1]
OWN = ("jaxnets", "experiments", "benchmarks")


def _packages():
  names = [jaxnets.__name__]
  for info in pkgutil.walk_packages(jaxnets.__path__, prefix="jaxnets."):
    if info.ispkg:
      names.append(info.name)
  return names


@pytest.mark.parametrize("name", _packages())
def test_every_package_states_its_public_names(name):
  package = importlib.import_module(name)
  assert hasattr(package, "__all__"), f"{name} has no __all__"
  missing = [n for n in package.__all__ if not hasattr(package, n)]
  assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def _sources():
  for folder in (*OWN, "tests"):
    yield from sorted((ROOT / folder).rglob("*.py"))


def _private_uses(path: pathlib.Path) -> list[str]:
  """``from own.module import _name`` and ``module._name`` on an imported own module."""
  tree = ast.parse(path.read_text())
  modules, found = set(), []
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OWN:
      for alias in node.names:
        if alias.name.startswith("_"):
          found.append(f"from {node.module} import {alias.name}")
        modules.add(alias.asname or alias.name)
    elif isinstance(node, ast.Import):
      for alias in node.names:
        if alias.name.split(".")[0] in OWN:
          modules.add(alias.asname or alias.name.split(".")[0])
  for node in ast.walk(tree):
    if (
      isinstance(node, ast.Attribute)
      and isinstance(node.value, ast.Name)
      and node.value.id in modules
      and node.attr.startswith("_")
      and not node.attr.startswith("__")
    ):
      found.append(f"{node.value.id}.{node.attr}")
  return found


def test_no_module_uses_another_modules_private_names():
  offenders = {str(p.relative_to(ROOT)): u for p in _sources() if (u := _private_uses(p))}
  assert not offenders, offenders


def test_library_tests_do_not_import_the_experiments():
  offenders = []
  for path in sorted((ROOT / "tests").rglob("*.py")):
    if "experiments" in path.relative_to(ROOT / "tests").parts:
      continue
    for node in ast.walk(ast.parse(path.read_text())):
      names = []
      if isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module]
      elif isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      if any(n.split(".")[0] == "experiments" for n in names):
        offenders.append(str(path.relative_to(ROOT)))
  assert not offenders, offenders
