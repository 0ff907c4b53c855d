"""What to tell someone whose optional dependency is missing."""

from __future__ import annotations


def install_hint(extra: str) -> str:
    """How to install the ``extra``, from the package index and from a checkout of orderkit.

    >>> install_hint("postgres")
    "install it with: pip install 'orderkit[postgres]' (in a checkout of orderkit: pip install -e '.[postgres]')"
    """  # noqa: E501 - a doctest's expected output is one line
    return (
        f"install it with: pip install 'orderkit[{extra}]' "
        f"(in a checkout of orderkit: pip install -e '.[{extra}]')"
    )
