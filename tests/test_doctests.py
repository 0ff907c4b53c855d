"""The ``>>>`` examples in orderkit's docstrings run, like the docs' code blocks."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import orderkit

# ``python -m orderkit`` runs the command line when imported; it has no examples.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(orderkit.__path__, "orderkit.")
    if info.name != "orderkit.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_a_module_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert 0 == result.failed
