"""The public API is what ``orderkit.__all__`` lists, and every listed name is importable."""

from __future__ import annotations

import orderkit


def test_every_name_in_all_is_importable_from_the_package() -> None:
    missing = [name for name in orderkit.__all__ if not hasattr(orderkit, name)]
    assert [] == missing


def test_all_has_no_duplicates_and_is_sorted() -> None:
    assert sorted(set(orderkit.__all__)) == list(orderkit.__all__)


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
