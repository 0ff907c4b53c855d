"""Exact amounts of money in ISO 4217 currencies.

A :class:`Money` always holds an exact :class:`~decimal.Decimal` with exactly as many digits
after the point as its currency has minor units in ISO 4217 (two for USD, COP and HUF, none
for JPY, three for KWD; from the table frozen in ``orderkit.domain._iso4217``, not from babel), so
``Money("10", "USD")`` *is* ``Money("10.00", "USD")``. Nothing is ever rounded behind the
caller's back: the constructor refuses ``10.001 USD`` and points at :meth:`Money.rounded`;
multiplying rounds half-even to the minor unit (or as :meth:`Money.multiply` is told); and
:meth:`Money.allocate` splits an amount into parts that always add up to it exactly.

>>> Money("19.99", "USD") * 3
Money('59.97', 'USD')
>>> Money("10.00", "USD").allocate([1, 1, 1])
(Money('3.33', 'USD'), Money('3.34', 'USD'), Money('3.33', 'USD'))

All arithmetic runs in a private exact decimal context, so it does not depend on (or change)
the precision of the caller's :func:`decimal.getcontext`.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs
import babel
import babel.numbers

from orderkit.domain.currency import (
    currency_info,
    format_amount,
    minor_units,
    parse_locale,
    set_currency_exponent,
)
from orderkit.domain.rounding import round_units, spread_units
from orderkit.errors import (
    CurrencyMismatch,
    ValidationError,
)

__all__ = [
    "DEFAULT_ROUNDING",
    "ROUNDING_MODES",
    "Money",
    "format_amount",
    "minor_units",
    "round_together",
    "set_currency_exponent",
]

DEFAULT_ROUNDING: str = decimal.ROUND_HALF_EVEN
"""Banker's rounding: halves go to the even neighbour, so rounding errors do not drift one way."""

ROUNDING_MODES: frozenset[str] = frozenset(
    {
        decimal.ROUND_05UP,
        decimal.ROUND_CEILING,
        decimal.ROUND_DOWN,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_UP,
    }
)
"""Every rounding mode :meth:`Money.rounded` and :meth:`Money.multiply` accept."""

# Precision is unlimited so that adding, multiplying and quantizing are exact whatever the
# caller's thread context says; the only rounding is the one we ask quantize() for.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

# With unlimited precision, Money("1e999999999", "USD") would quietly build a billion-digit
# number; amounts arrive as strings from outside, so bound them far above any real amount.
_MAX_INTEGER_DIGITS = 30

_FLOAT_HINT = (
    "binary floats cannot hold most decimal amounts exactly; pass a Decimal or a string, "
    "e.g. Money(Decimal('19.99'), 'USD') or Money('19.99', 'USD')"
)


def _check_rounding(rounding: str) -> None:
    if rounding not in ROUNDING_MODES:
        raise ValidationError(
            "rounding",
            f"unknown rounding mode {rounding!r}; use one of the decimal module's ROUND_* "
            "constants, e.g. decimal.ROUND_HALF_EVEN or decimal.ROUND_HALF_UP",
        )


def _to_decimal(amount: object) -> Decimal:
    """Read an amount exactly, refusing floats and anything that is not a finite number."""
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, (bool, float)):
        # bool is an int subclass, but Money(True, "USD") is always a bug.
        raise TypeError(
            f"Money amount must not be a {type(amount).__name__} ({amount!r}); " + _FLOAT_HINT
        )
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, str):
        try:
            value = _EXACT.create_decimal(amount)
        except decimal.InvalidOperation:
            raise ValidationError(
                "amount", f"{amount!r} is not a decimal number; write it like '19.99'"
            ) from None
    else:
        raise TypeError(
            f"Money amount must be a Decimal, int or str, not {type(amount).__name__}; "
            + _FLOAT_HINT
        )
    if not value.is_finite():
        raise ValidationError("amount", f"must be a finite number, not {value}")
    return value


def _too_large(value: Decimal) -> ValidationError:
    return ValidationError(
        "amount",
        f"{value} is too large; amounts have at most {_MAX_INTEGER_DIGITS} digits before the "
        "decimal point",
    )


def _quantize(value: Decimal, quantum: Decimal, rounding: str) -> Decimal:
    """Round ``value`` to the exponent of ``quantum``, refusing amounts too large to be money."""
    # The check comes first so a huge value is never expanded digit by digit.
    if value and value.adjusted() >= _MAX_INTEGER_DIGITS:
        raise _too_large(value)
    result = value.quantize(quantum, rounding=rounding, context=_EXACT)
    if not result:
        # Rounding -0.001 or multiplying 0.00 by -1 gives -0.00, which prints as "-0.00".
        return result.copy_abs()
    if result.adjusted() >= _MAX_INTEGER_DIGITS:  # 999…9.995 rounded up to 1000…0.00
        raise _too_large(result)
    return result


def _new(amount: Decimal, currency: str) -> Money:
    """Build a Money from an already normalized amount and code, skipping validation."""
    money = object.__new__(Money)
    object.__setattr__(money, "amount", amount)
    object.__setattr__(money, "currency", currency)
    return money


def _exact_weight(weight: object, index: int) -> tuple[int, int]:
    if isinstance(weight, (bool, float)) or not isinstance(weight, (int, Decimal)):
        raise TypeError(
            f"weights[{index}] is a {type(weight).__name__} ({weight!r}); weights must be "
            "Decimal or int, e.g. Decimal('0.5') rather than 0.5"
        )
    if isinstance(weight, Decimal) and not weight.is_finite():
        raise ValidationError("weights", f"weights[{index}] must be finite, not {weight}")
    if weight < 0:
        raise ValidationError("weights", f"weights[{index}] is {weight}; weights must be >= 0")
    # As numerator and denominator: exact, and cheaper than building a Fraction per part.
    return weight.as_integer_ratio()


def round_together(
    parts: Sequence[Fraction], currency: str, rounding: str = DEFAULT_ROUNDING
) -> tuple[Money, ...]:
    """Round exact amounts so the rounded parts add up to their exact total rounded once.

    The total is rounded once with ``rounding``; each part first gets its exact value rounded
    down to the minor unit, and the units left over go one each to the parts with the
    largest remainders, ties spread as in :meth:`Money.allocate`. This is how a tax rounded
    once per order is shared out over the lines.

    >>> from fractions import Fraction
    >>> round_together([Fraction("0.205"), Fraction("0.205"), Fraction("0.205")], "EUR")
    (Money('0.21', 'EUR'), Money('0.20', 'EUR'), Money('0.21', 'EUR'))

    Raises:
        TypeError: a part is not a Fraction.
        ValidationError: no parts, parts of both signs, or an unknown ``rounding`` mode.
    """
    _check_rounding(rounding)
    code, quantum, places = currency_info(currency)
    if not parts:
        raise ValidationError("parts", "give at least one part")
    for i, part in enumerate(parts):
        if not isinstance(part, Fraction):
            raise TypeError(f"parts[{i}] is a {type(part).__name__}; give exact Fractions")
    if any(p < 0 for p in parts) and any(p > 0 for p in parts):
        raise ValidationError("parts", "parts must all be >= 0 or all be <= 0")
    sign = -1 if any(p < 0 for p in parts) else 1
    scaled = [abs(p) * 10**places for p in parts]
    # Rounding the magnitude with the mirrored mode is rounding the signed total.
    total = sign * round_units(sign * sum(scaled, Fraction(0)), rounding)
    denominator = math.lcm(*(x.denominator for x in scaled))
    floors = [x.numerator // x.denominator for x in scaled]
    remainders = [(x.numerator % x.denominator) * (denominator // x.denominator) for x in scaled]
    for i in spread_units(total - sum(floors), remainders):
        floors[i] += 1
    return tuple(
        _new(_quantize(_EXACT.multiply(Decimal(sign * units), quantum), quantum, rounding), code)
        for units in floors
    )


@attrs.frozen(init=False, repr=False)
class Money:
    """An exact amount in one currency, normalized to the currency's minor unit.

    Args:
        amount: a Decimal, int or str, read exactly. Floats are refused (TypeError). A str is
            read strictly, as by ``decimal.Context.create_decimal``: no surrounding whitespace,
            no underscores.
        currency: an ISO 4217 code (see :func:`minor_units`), in any letter case; stored
            upper case.

    Raises:
        TypeError: ``amount`` is a float, bool or another non-number.
        ValidationError: ``amount`` is not finite, too large, or has more decimal places than
            the currency allows (use :meth:`Money.rounded` to round on purpose).
        UnknownCurrency: ``currency`` is not in the ISO 4217 table.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        code, quantum, places = currency_info(currency)
        value = _to_decimal(amount)
        normalized = _quantize(value, quantum, decimal.ROUND_HALF_EVEN)
        if normalized != value:
            raise ValidationError(
                "amount",
                f"{value} has more decimal places than {code} allows ({places}); round it "
                f"on purpose with Money.rounded({str(value)!r}, {code!r}, rounding=...)",
            )
        object.__setattr__(self, "amount", normalized)
        object.__setattr__(self, "currency", code)

    # Constructors

    @classmethod
    def rounded(
        cls,
        amount: Decimal | int | str | Fraction,
        currency: str,
        rounding: str = DEFAULT_ROUNDING,
    ) -> Money:
        """Round ``amount`` to the currency's minor unit: the way to make 10.005 USD.

        A :class:`~fractions.Fraction` is rounded exactly, so a value such as a tax of
        1.23 × 20/120 = 0.205 is a true tie for the rounding mode, which a Decimal quotient
        (0.20500000000000000000000000004) would not be.

        Args:
            amount: a Decimal, int or str, as for the constructor, or an exact Fraction.
            currency: an ISO 4217 code.
            rounding: one of the decimal module's ROUND_* constants.

        Raises:
            TypeError: ``amount`` is a float or bool.
            ValidationError: unknown ``rounding`` mode, or an amount that is not a finite
                number or is too large.
            UnknownCurrency: ``currency`` is not in the ISO 4217 table.
        """
        _check_rounding(rounding)
        code, quantum, places = currency_info(currency)
        if isinstance(amount, Fraction):
            units = round_units(amount * 10**places, rounding)
            return _new(
                _quantize(_EXACT.multiply(Decimal(units), quantum), quantum, rounding), code
            )
        return _new(_quantize(_to_decimal(amount), quantum, rounding), code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        code, quantum, _ = currency_info(currency)
        return _new(quantum * 0, code)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """The amount of ``units`` minor units: ``Money.from_minor(1999, "USD")`` is 19.99 USD.

        Raises:
            TypeError: ``units`` is not an int.
        """
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"units must be an int, not {type(units).__name__} {units!r}")
        code, quantum, _ = currency_info(currency)
        return _new(
            _quantize(_EXACT.multiply(Decimal(units), quantum), quantum, DEFAULT_ROUNDING), code
        )

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        """Add up ``items``, all in ``currency``; no items make zero.

        Raises:
            CurrencyMismatch: an item is in another currency.
            TypeError: an item is not a Money.
        """
        code, quantum, _ = currency_info(currency)
        total = quantum * 0
        for item in items:
            if not isinstance(item, Money):
                raise TypeError(f"Money.sum() adds Money, not {type(item).__name__} {item!r}")
            if item.currency != code:
                raise CurrencyMismatch(code, item.currency)
            total = _EXACT.add(total, item.amount)
        return _new(_quantize(total, quantum, DEFAULT_ROUNDING), code)

    # Views

    @property
    def minor(self) -> int:
        """The amount in minor units: 1999 for 19.99 USD, 1235 for 1235 JPY."""
        return int(self.amount.scaleb(currency_info(self.currency)[2], _EXACT))

    @property
    def is_zero(self) -> bool:
        return not self.amount

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    # Arithmetic

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return _new(self._checked(_EXACT.add(self.amount, other.amount)), self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return _new(self._checked(_EXACT.subtract(self.amount, other.amount)), self.currency)

    @staticmethod
    def _checked(amount: Decimal) -> Decimal:
        # Sums of normalized amounts are already normalized; only the size needs checking.
        if amount.adjusted() >= _MAX_INTEGER_DIGITS:
            raise _too_large(amount)
        return amount

    def __neg__(self) -> Money:
        # Context.minus() turns 0.00 into 0.00, where Decimal.copy_negate() would give -0.00.
        return _new(_EXACT.minus(self.amount), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _new(_EXACT.abs(self.amount), self.currency)

    def multiply(self, factor: Decimal | int, rounding: str = DEFAULT_ROUNDING) -> Money:
        """This amount times ``factor``, rounded to the minor unit with ``rounding``.

        Raises:
            TypeError: ``factor`` is a float (or not a Decimal or int).
            ValidationError: unknown ``rounding`` mode, or ``factor`` is not finite.
        """
        _check_rounding(rounding)
        return self._times(factor, rounding)

    def _times(self, factor: object, rounding: str) -> Money:
        if isinstance(factor, (bool, float)) or not isinstance(factor, (int, Decimal)):
            hint = f"Decimal({str(factor)!r})" if isinstance(factor, float) else "Decimal('1.5')"
            raise TypeError(
                f"cannot multiply Money by a {type(factor).__name__} ({factor!r}); multiply by "
                f"a Decimal or int instead, e.g. {hint}"
            )
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise ValidationError("factor", f"must be a finite number, not {factor}")
        product = _EXACT.multiply(self.amount, Decimal(factor))
        # quantize() reads only the exponent of its argument, and ours is the minor unit's.
        return _new(_quantize(product, self.amount, rounding), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, (int, float, Decimal)):
            return self._times(factor, decimal.ROUND_HALF_EVEN)
        return NotImplemented

    __rmul__ = __mul__

    # Ordering: attrs gives == (different currencies are simply unequal); < and friends
    # across currencies have no answer, so they raise instead of guessing.

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    # Splitting

    def allocate(self, weights: Sequence[Decimal | int]) -> tuple[Money, ...]:
        """Split this amount over parts in proportion to ``weights``; the parts sum to it exactly.

        Largest remainder method in integer minor units with exact rational arithmetic: each
        part first gets its exact share rounded down, then the units left over go one each to
        the parts with the largest remainders. When ``m`` parts tie on the remainder at the cut
        and only ``k`` units are left for them, the units go to the tied parts at positions
        ``floor((j + 1/2) * m / k)`` for ``j`` in ``0..k-1`` (positions counted in index order
        within the tied group), which spreads them evenly instead of always burdening the
        first line. This rule is part of the contract:

        >>> Money("10.00", "USD").allocate([1, 1, 1])
        (Money('3.33', 'USD'), Money('3.34', 'USD'), Money('3.33', 'USD'))
        >>> Money("0.02", "USD").allocate([1, 1, 1])
        (Money('0.01', 'USD'), Money('0.00', 'USD'), Money('0.01', 'USD'))

        A negative amount is split like its absolute value, negated. Zero-weight parts get
        exactly zero.

        Raises:
            TypeError: a weight is a float, or not a Decimal or int.
            ValidationError: no weights, a negative or non-finite weight, or all weights zero.
        """
        exact = [_exact_weight(w, i) for i, w in enumerate(weights)]
        if not exact:
            raise ValidationError("weights", "give at least one weight")
        # Over a common denominator the weights are integers, and so is every comparison of
        # remainders below: exact, and much faster than Fraction arithmetic per part.
        denominator = math.lcm(*(den for _, den in exact))
        scaled = [num * (denominator // den) for num, den in exact]
        total_weight = sum(scaled)
        if not total_weight:
            raise ValidationError("weights", "at least one weight must be greater than zero")
        units = self.minor
        magnitude = abs(units)
        # Part i's exact share is magnitude * w_i / total_weight = floor + remainder / total.
        floors: list[int] = []
        remainders: list[int] = []
        for weight in scaled:
            floor, remainder = divmod(magnitude * weight, total_weight)
            floors.append(floor)
            remainders.append(remainder)
        for i in spread_units(magnitude - sum(floors), remainders):
            floors[i] += 1
        sign = -1 if units < 0 else 1
        quantum = currency_info(self.currency)[1]
        return tuple(
            _new(_EXACT.multiply(Decimal(sign * part), quantum), self.currency) for part in floors
        )

    def split(self, n: int) -> tuple[Money, ...]:
        """Split into ``n`` near-equal parts that sum exactly to this amount.

        Raises:
            TypeError: ``n`` is not an int.
            ValidationError: ``n`` is less than 1.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, not {type(n).__name__} {n!r}")
        if n < 1:
            raise ValidationError("n", f"cannot split into {n} parts; n must be at least 1")
        return self.allocate([1] * n)

    # Display

    def format(self, locale: str | babel.Locale = "en_US", *, currency_digits: bool = True) -> str:
        """Format for people in ``locale`` with babel: "$19.99" (en_US), "19,99 €" (de_DE).

        Args:
            locale: a babel locale or identifier such as "en_US", "de_DE" or "zh_Hans_CN".
            currency_digits: show exactly the currency's ISO 4217 minor units (the default),
                so the text says the stored amount ("COP 1,500.25", where babel's own
                CLDR digits would show "COP 1,500"); False uses the locale pattern's.

        Raises:
            ValidationError: babel does not know ``locale``.
        """
        if not currency_digits:
            return babel.numbers.format_currency(
                self.amount, self.currency, locale=parse_locale(locale), currency_digits=False
            )
        return format_amount(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"
