"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal

import babel.numbers
from hypothesis import strategies as st

from orderkit.money import Money, minor_units
from orderkit.order import Address, Adjustment, AdjustmentKind, Customer, LineItem, Order

__all__ = ["allocation_weights", "currencies", "money", "priced_orders"]

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


_AT = datetime(2026, 5, 1, tzinfo=timezone.utc)


@st.composite
def priced_orders(
    draw: st.DrawFn, currency: str | None = None, max_lines: int = 4, max_quantity: int = 5
) -> Order:
    """A placed order with awkward money: 1..``max_lines`` lines (free ones too), tax rates,
    tax-inclusive or exclusive prices, an order-level discount (amount or percent), a coupon on
    one line and a shipping fee, each present or not. In CNY, JPY or KWD unless told."""
    code = currency or draw(st.sampled_from(("CNY", "JPY", "KWD")))
    count = draw(st.integers(min_value=1, max_value=max_lines))
    lines = tuple(
        LineItem(
            f"L{i + 1}",
            f"SKU-{i + 1}",
            f"Item {i + 1}",
            draw(st.integers(min_value=1, max_value=max_quantity)),
            draw(money(code, 0, 500)),
            tax_rate=draw(st.sampled_from((Decimal(0), Decimal("0.06"), Decimal("0.13")))),
        )
        for i in range(count)
    )
    adjustments = []
    if draw(st.booleans()):
        if draw(st.booleans()):
            amount = draw(money(code, 0, 50))
            adjustments.append(Adjustment(AdjustmentKind.DISCOUNT, "off", amount=amount))
        else:
            percent = Decimal(draw(st.integers(min_value=1, max_value=100)))
            adjustments.append(Adjustment(AdjustmentKind.DISCOUNT, "off", percent=percent))
    if draw(st.booleans()):
        line_id = draw(st.sampled_from([line.line_id for line in lines]))
        coupon = draw(money(code, 0, 20))
        adjustments.append(
            Adjustment(AdjustmentKind.COUPON, "coupon", amount=coupon, line_id=line_id)
        )
    if draw(st.booleans()):
        fee = draw(money(code, 0, 30))
        adjustments.append(Adjustment(AdjustmentKind.SHIPPING, "shipping", amount=fee))
    return Order(
        id="ord-1",
        number="SO-1",
        customer=Customer("c-1", "Customer"),
        shipping_address=Address("Customer", "1 Road", "City", "CN"),
        lines=lines,
        currency=code,
        status="awaiting_shipment",
        created_at=_AT,
        updated_at=_AT,
        prices_include_tax=draw(st.booleans()),
        adjustments=tuple(adjustments),
    )
