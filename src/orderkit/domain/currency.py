"""Currencies: how many decimals each has (ISO 4217, never babel's CLDR data), and how an
amount in one is shown to people.

Exponents are part of the format of every stored amount, so they come from the ISO 4217
table frozen in the package (:mod:`orderkit.domain._iso4217`), with what the host adds or
overrides at start-up (:func:`set_currency_exponent`) on top. Babel supplies only symbols,
names and layout.
"""

from __future__ import annotations

import copy
import functools
import threading
from decimal import Decimal

import babel
import babel.numbers

from orderkit.domain._iso4217 import MINOR_UNITS
from orderkit.errors import CurrencyExponentInUse, UnknownCurrency, ValidationError

__all__ = ["currency_info", "format_amount", "minor_units", "parse_locale", "set_currency_exponent"]


# Exponents are read from the frozen ISO 4217 table (never from babel, whose CLDR data
# moves between releases), with the host's additions on top. Once an amount in a currency
# has been made, its exponent is fixed for the life of the process: _resolved remembers it.
# Reads go through a plain dict (atomic under the GIL); writes take the lock.
_overrides: dict[str, int] = {}
_resolved: dict[str, tuple[str, Decimal, int]] = {}
_table_lock = threading.Lock()

# Finer than any currency ISO 4217 has had (CLF and UYW have 4), and still money-sized.
_MAX_MINOR_UNITS = 6


def currency_info(currency: str) -> tuple[str, Decimal, int]:
    """The normalized code, quantum (``Decimal('0.01')`` for USD) and minor units of a currency."""
    info = _resolved.get(currency)
    if info is not None:
        return info
    if not isinstance(currency, str):
        raise TypeError(
            f"currency must be a str such as 'USD', not {type(currency).__name__} {currency!r}"
        )
    code = currency.upper()
    with _table_lock:
        info = _resolved.get(code)
        if info is None:
            digits = _overrides.get(code, MINOR_UNITS.get(code))
            if digits is None:
                raise UnknownCurrency(currency)
            info = (code, Decimal(1).scaleb(-digits), digits)
            _resolved[code] = info
        # Only known codes are remembered, under at most their 8 letter-case spellings, so
        # bad input cannot grow the dict.
        _resolved[currency] = info
    return info


def minor_units(currency: str) -> int:
    """Digits after the decimal point in ``currency``, per orderkit's ISO 4217 table.

    The table is ISO 4217 List One as shipped in the package (see
    ``orderkit.domain._iso4217.LIST_ONE_PUBLISHED``) with the host's :func:`set_currency_exponent`
    calls on top; it does not depend on the installed babel.

    Args:
        currency: an ISO 4217 code, in any letter case.

    Returns:
        0 for JPY, 2 for USD, EUR, COP or HUF, 3 for KWD, BHD or JOD, 4 for CLF, and so on.

    Raises:
        UnknownCurrency: the code is not in the table and was not added by the host.
    """
    return currency_info(currency)[2]


def set_currency_exponent(currency: str, minor_units: int) -> None:
    """Give ``currency`` ``minor_units`` digits in this process, overriding ISO 4217 or adding
    a code the shipped table does not have yet (e.g. ``set_currency_exponent("XCG", 2)``).

    An exponent is part of the format of every stored amount in the currency: call this at
    start-up, in the one place the host wires orderkit, and keep the call for as long as
    orders in the currency are stored. An amount stored with more digits than the exponent
    allows no longer reads back. Setting the exponent a currency already has is a no-op,
    from any thread; changing it once an amount in it has been made is refused.

    Raises:
        ValidationError: ``currency`` is not three ASCII letters, or ``minor_units`` is not
            a whole number from 0 to 6.
        CurrencyExponentInUse: an amount in the currency was already made with another
            exponent in this process.
    """
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
    ):
        raise ValidationError(
            "currency", f"{currency!r} is not a three-letter currency code such as 'XCG'"
        )
    if (
        isinstance(minor_units, bool)
        or not isinstance(minor_units, int)
        or not 0 <= minor_units <= _MAX_MINOR_UNITS
    ):
        raise ValidationError(
            "minor_units",
            f"must be a whole number of digits from 0 to {_MAX_MINOR_UNITS}, got {minor_units!r}",
        )
    code = currency.upper()
    with _table_lock:
        in_use = _resolved.get(code)
        if in_use is not None and in_use[2] != minor_units:
            raise CurrencyExponentInUse(code, in_use[2], minor_units)
        _overrides[code] = minor_units


@functools.lru_cache(maxsize=64)
def parse_locale(locale: str | babel.Locale) -> babel.Locale:
    try:
        return babel.Locale.parse(locale)
    except (babel.UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValidationError(
            "locale", f"unknown locale {locale!r} ({exc}); use an identifier such as 'en_US'"
        ) from None


@functools.lru_cache(maxsize=64)
def _currency_pattern(locale: babel.Locale, digits: int) -> babel.numbers.NumberPattern:
    """The locale's standard currency pattern, showing exactly ``digits`` decimals."""
    pattern: babel.numbers.NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


def format_amount(amount: Decimal, currency: str, locale: str | babel.Locale = "en_US") -> str:
    """Format ``amount`` in ``currency`` for ``locale`` with exactly the ISO 4217 decimals.

    babel's ``format_currency`` rounds to CLDR's digits, which differ from ISO 4217 for some
    codes (0 for COP, HUF, IDR); this keeps the locale's symbol, grouping and layout and
    shows every digit the stored amount has.

    >>> format_amount(Decimal("1500.25"), "COP", "es_CO")
    '$1.500,25'

    Raises:
        UnknownCurrency: ``currency`` is not in the ISO 4217 table.
        ValidationError: babel does not know ``locale``.
    """
    code, _, digits = currency_info(currency)
    pattern = _currency_pattern(parse_locale(locale), digits)
    return str(pattern.apply(amount, parse_locale(locale), currency=code, currency_digits=False))
