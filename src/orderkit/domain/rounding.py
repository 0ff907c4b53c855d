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
    away = {
        decimal.ROUND_DOWN: False,
        decimal.ROUND_UP: True,
        decimal.ROUND_CEILING: sign > 0,
        decimal.ROUND_FLOOR: sign < 0,
        decimal.ROUND_HALF_UP: twice >= denominator,
        decimal.ROUND_HALF_DOWN: twice > denominator,
        decimal.ROUND_HALF_EVEN: twice > denominator
        or (twice == denominator and toward_zero % 2 == 1),
        decimal.ROUND_05UP: toward_zero % 10 in (0, 5),
    }[rounding]
    return sign * (toward_zero + away)
