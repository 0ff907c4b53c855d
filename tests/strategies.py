"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

import babel.numbers
from hypothesis import strategies as st

from orderkit.address import POSTAL_CODES, Suspicion
from orderkit.money import Money, minor_units
from orderkit.order import Address

__all__ = ["addresses", "allocation_weights", "currencies", "money", "suspicions"]

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


# Countries whose addresses need no region, so any name, street, city and a postal code of
# the country's pattern make a plausible address.
REGIONLESS_COUNTRIES = ("AT", "CH", "DE", "FR", "GB", "NL")
_NAME_CHARS = st.characters(codec="latin-1", categories=["Lu", "Ll"], exclude_characters="ªºµÿ")


def _words(min_size: int = 1) -> st.SearchStrategy[str]:
    word = st.text(_NAME_CHARS, min_size=1, max_size=12)
    return st.lists(word, min_size=min_size, max_size=3).map(" ".join)


@st.composite
def addresses(draw: st.DrawFn, countries: tuple[str, ...] = REGIONLESS_COUNTRIES) -> Address:
    """An address in one of ``countries`` whose postal code has the country's shape
    (:data:`orderkit.address.POSTAL_CODES`); names and streets are Latin-1 words."""
    country = draw(st.sampled_from(countries))
    rule = POSTAL_CODES[country]
    number = draw(st.integers(min_value=1, max_value=999))
    return Address(
        name=draw(_words()),
        line1=f"{draw(_words())} {number}",
        city=draw(_words()),
        country=country,
        postal_code=draw(st.from_regex(re.compile(rule.pattern, re.ASCII), fullmatch=True)),
    )


def suspicions() -> st.SearchStrategy[Suspicion]:
    return st.builds(
        Suspicion,
        field=st.sampled_from(["line1", "line2", "company", "city", "phone"]),
        code=st.sampled_from(["po_box", "missing_house_number", "phone_implausible"]),
        message=st.text(),
    )
