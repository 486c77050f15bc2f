"""Every docstring example in the package runs and prints what it claims."""

import doctest
import importlib
import pkgutil

import pytest

import jaxnets


def _modules():
  names = [jaxnets.__name__]
  for info in pkgutil.walk_packages(jaxnets.__path__, prefix="jaxnets."):
    names.append(info.name)
  return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
  module = importlib.import_module(name)
  flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
  result = doctest.testmod(module, optionflags=flags, verbose=False)
  assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
