"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import babel.numbers
from hypothesis import strategies as st

from orderkit.dispatch import RetryPolicy
from orderkit.money import Money, minor_units

__all__ = ["allocation_weights", "currencies", "json_values", "money", "retry_policies"]

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


@st.composite
def retry_policies(draw: st.DrawFn) -> RetryPolicy:
    """Valid retry policies with the real random wait: a base from a millisecond to a day
    and a cap at or above it."""
    base = draw(st.integers(min_value=1, max_value=86_400_000))
    cap = draw(st.integers(min_value=base, max_value=base * 10_000))
    return RetryPolicy(
        max_attempts=draw(st.integers(min_value=1, max_value=50)),
        base_delay=timedelta(milliseconds=base),
        max_delay=timedelta(milliseconds=cap),
    )


def json_values() -> st.SearchStrategy[dict[str, object]]:
    """JSON-ready outbox payloads: objects of strings (any Unicode), whole numbers, finite
    floats, bools, None, nested lists and objects."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    )
    nested = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
        ),
        max_leaves=12,
    )
    return st.dictionaries(st.text(), nested, max_size=6)
