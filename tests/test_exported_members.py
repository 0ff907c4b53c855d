"""The public API: what ``orderkit`` exports, and the error tree callers catch.

A name in ``__all__`` that does not exist breaks ``from orderkit import *``; an error class
missing from the tree in the ``errors`` docstring, or sharing another's ``code``, misleads
the people who match on it.
"""

from __future__ import annotations

import re

import pytest

import orderkit
from orderkit import errors

ERRORS = [getattr(errors, name) for name in errors.__all__]


def test_every_name_orderkit_exports_exists() -> None:
    assert [] == [name for name in orderkit.__all__ if not hasattr(orderkit, name)]


def test_orderkit_exports_each_name_once_in_sorted_order() -> None:
    assert sorted(set(orderkit.__all__)) == list(orderkit.__all__)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_error_is_an_orderkit_error_drawn_in_the_error_tree(error: type) -> None:
    assert issubclass(error, errors.OrderkitError)
    assert re.search(rf"^\s*[│├└─ ]*{error.__name__}\b", errors.__doc__ or "", re.MULTILINE)


def test_every_error_has_its_own_stable_code() -> None:
    codes = [error.code for error in ERRORS]

    assert sorted(set(codes)) == sorted(codes)
