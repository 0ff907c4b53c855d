"""Rounding in whole minor units, exactly: a fraction to an integer by any decimal ROUND_*
mode, and which parts receive the units left over when a total is shared out."""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Sequence
from fractions import Fraction

__all__ = ["round_ratio", "round_units", "spread_units"]


def spread_units(leftover: int, remainders: Sequence[int]) -> list[int]:
    """Indices of the parts that receive one of the ``leftover`` units.

    ``remainders`` are numerators over one common denominator. Largest remainders first; when
    a group of ``m`` parts ties at the cut and only ``k`` units remain, the units go to
    positions ``floor((j + 1/2) * m / k)`` of the group, so ties are spread evenly rather than
    always landing on the first lines.
    """
    # sorted() is stable, also in reverse, so tied parts stay in index order.
    order = sorted(
        (i for i, r in enumerate(remainders) if r), key=remainders.__getitem__, reverse=True
    )
    chosen: list[int] = []
    for _, group in itertools.groupby(order, key=remainders.__getitem__):
        if leftover == 0:
            break
        tied = list(group)
        m, k = len(tied), min(leftover, len(tied))
        if k == m:
            chosen.extend(tied)
        else:
            chosen.extend(tied[(2 * j + 1) * m // (2 * k)] for j in range(k))
        leftover -= k
    # Each remainder is below one unit and together they make up the leftover units, so more
    # parts than leftover units have a remainder: the loop always hands out every unit.
    assert leftover == 0
    return chosen


def round_units(value: Fraction, rounding: str) -> int:
    """``value`` rounded to a whole number with a decimal ROUND_* mode, exactly."""
    return round_ratio(value.numerator, value.denominator, rounding)


def round_ratio(numerator: int, denominator: int, rounding: str) -> int:
    """``numerator / denominator`` (``denominator > 0``) rounded to a whole number with a
    decimal ROUND_* mode, in integers only (orderkit.domain.tax rounds line taxes with it)."""
    sign = -1 if numerator < 0 else 1
    toward_zero, remainder = divmod(abs(numerator), denominator)
    if not remainder:
        return sign * toward_zero
    twice = 2 * remainder
    # One comparison per mode, in the order they are met (this runs for every line's tax).
    if rounding == decimal.ROUND_HALF_EVEN:
        away = twice > denominator or (twice == denominator and toward_zero % 2 == 1)
    elif rounding == decimal.ROUND_HALF_UP:
        away = twice >= denominator
    elif rounding == decimal.ROUND_HALF_DOWN:
        away = twice > denominator
    elif rounding == decimal.ROUND_DOWN:
        away = False
    elif rounding == decimal.ROUND_UP:
        away = True
    elif rounding == decimal.ROUND_CEILING:
        away = sign > 0
    elif rounding == decimal.ROUND_FLOOR:
        away = sign < 0
    elif rounding == decimal.ROUND_05UP:
        away = toward_zero % 10 in (0, 5)
    else:
        raise KeyError(rounding)
    return sign * (toward_zero + away)
