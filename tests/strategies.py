"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
import string
from decimal import Decimal

import babel.numbers
from hypothesis import strategies as st

from orderkit.money import Money, minor_units

__all__ = [
    "allocation_weights",
    "body_text",
    "currencies",
    "flipped_text",
    "header_text",
    "money",
    "webhook_deliveries",
]

# Sorted, so a failing example names the same currency on every run.
ALL_CURRENCIES: tuple[str, ...] = tuple(sorted(babel.numbers.list_currencies()))


def currencies() -> st.SearchStrategy[str]:
    """Any ISO 4217 code babel knows, shrinking towards the start of the alphabet."""
    return st.sampled_from(ALL_CURRENCIES)


@st.composite
def money(
    draw: st.DrawFn,
    currency: str | st.SearchStrategy[str] | None = None,
    min_value: Decimal | int | str = Decimal("-1000000"),
    max_value: Decimal | int | str = Decimal("1000000"),
) -> Money:
    """Money in ``currency`` (a code, a strategy of codes, or any currency when None).

    Amounts are drawn in whole minor units between ``min_value`` and ``max_value`` inclusive
    (bounds that fall between two minor units are rounded inwards), so every amount is valid
    for its currency and shrinks towards zero.
    """
    if currency is None:
        code = draw(currencies())
    elif isinstance(currency, str):
        code = currency
    else:
        code = draw(currency)
    scale = 10 ** minor_units(code)
    low = math.ceil(Decimal(min_value) * scale)
    high = math.floor(Decimal(max_value) * scale)
    return Money.from_minor(draw(st.integers(min_value=low, max_value=high)), code)


def allocation_weights(max_size: int = 12) -> st.SearchStrategy[list[Decimal | int]]:
    """Valid weights for :meth:`Money.allocate`: non-negative, at least one above zero.

    Ints and Decimals with up to three decimal places are mixed, zeros are common, and
    repeated values make ties on the remainder likely.
    """
    weight: st.SearchStrategy[Decimal | int] = st.one_of(
        st.integers(min_value=0, max_value=5),
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=1000, places=3),
    )
    return st.lists(weight, min_size=1, max_size=max_size).filter(lambda ws: any(ws))


def webhook_deliveries() -> st.SearchStrategy[tuple[str, int, bytes]]:
    """``(webhook id, Unix seconds, body)`` for one signed delivery; bodies are any bytes."""
    return st.tuples(
        st.text(alphabet=string.ascii_letters + string.digits + ":_-", min_size=1, max_size=40),
        st.integers(min_value=0, max_value=4_000_000_000),
        st.binary(min_size=1, max_size=200),
    )


@st.composite
def flipped_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with exactly one character replaced by a different one (any Unicode)."""
    index = draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = draw(st.characters(codec="utf-8").filter(lambda c: c != text[index]))
    return text[:index] + replacement + text[index + 1 :]


def header_text() -> st.SearchStrategy[str]:
    """One line of any printable Unicode (CJK, emoji, accents): what a subject may hold."""
    return st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"]))


def body_text() -> st.SearchStrategy[str]:
    """A message body: one or more lines of any printable Unicode, each ending in a newline
    (transports end a body with one)."""
    lines = st.lists(header_text(), min_size=1, max_size=6)
    return lines.map(lambda found: "".join(f"{line}\n" for line in found))
