"""The public API is what ``orderkit.__all__`` lists, and every listed name is importable."""

from __future__ import annotations

import re

import orderkit


def test_every_name_in_all_is_importable_from_the_package() -> None:
    missing = [name for name in orderkit.__all__ if not hasattr(orderkit, name)]
    assert [] == missing


def test_all_has_no_duplicates() -> None:
    # Its order is ruff's job (RUF022).
    assert len(set(orderkit.__all__)) == len(orderkit.__all__)


def test_every_public_class_and_function_defined_by_orderkit_is_listed() -> None:
    unlisted = sorted(
        name
        for name, value in vars(orderkit).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("orderkit")
        and name not in orderkit.__all__
    )
    assert [] == unlisted


def test_every_error_class_is_exported() -> None:
    from orderkit import errors

    assert sorted(errors.__all__) == sorted(
        name for name in orderkit.__all__ if name in set(errors.__all__)
    )


def test_the_error_tree_in_the_errors_docstring_names_every_error() -> None:
    from orderkit import errors

    assert errors.__doc__ is not None
    drawn = set(re.findall(r"[─]{2} (\w+)", errors.__doc__)) | {"OrderkitError"}
    assert sorted(errors.__all__) == sorted(drawn)


def test_every_error_is_an_orderkit_error() -> None:
    from orderkit import errors

    strays = [n for n in errors.__all__ if not issubclass(getattr(errors, n), errors.OrderkitError)]
    assert [] == strays


def test_every_error_has_its_own_stable_code() -> None:
    from orderkit import errors

    codes = [getattr(errors, name).code for name in errors.__all__]
    assert sorted(set(codes)) == sorted(codes)
