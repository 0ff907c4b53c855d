"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import babel.numbers
from hypothesis import strategies as st

from orderkit.money import Money, minor_units
from orderkit.order import Address, Adjustment, AdjustmentKind, Customer, LineItem, Order
from orderkit.receipt import (
    Merchant,
    PaymentState,
    PersonalizationBlock,
    PersonalizationItem,
    Receipt,
    ReceiptDiscount,
    ReceiptKind,
    ReceiptLine,
    ReceiptShipment,
)

__all__ = [
    "allocation_weights",
    "aware_datetimes",
    "currencies",
    "discounted_orders",
    "money",
    "receipts",
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


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes with fixed offsets (UTC and whole-minute offsets)."""
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
    )


# Text as customers and merchants type it: any printable characters, markup included.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
# Order and receipt numbers as OrderNumbering makes them (they appear in one-line subjects).
_numbers = st.from_regex(r"[A-Z]{1,4}-[0-9]{4}-[0-9]{6}(-[0-9]{1,3})?", fullmatch=True)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    """Receipts with every part filled in arbitrarily, all money in one currency."""
    code = draw(currencies())
    amount = money(code, min_value=0, max_value=10**6)
    address = st.builds(Address, name=_text, line1=_text, city=_text, country=st.just("CN"))
    line = st.builds(
        ReceiptLine,
        line_id=_text,
        sku=_text,
        name=_text,
        quantity=st.integers(min_value=1, max_value=1000),
        unit_price=amount,
        subtotal=amount,
        discount=amount,
        tax=amount,
        total=amount,
        attributes=st.lists(st.tuples(_text, _text), max_size=2).map(tuple),
    )
    item = st.builds(PersonalizationItem, name=_text, url=_text, price=st.none() | amount)
    block = st.builds(
        PersonalizationBlock,
        title=_text,
        text=_text,
        products=st.lists(item, max_size=2),
        coupon_code=_text,
    )
    shipment = st.builds(
        ReceiptShipment,
        shipment_id=_text,
        carrier=_text,
        tracking_number=_text,
        shipped_at=aware_datetimes(),
        tracking_url=_text,
        delivered_at=st.none() | aware_datetimes(),
    )
    return Receipt(
        kind=draw(st.sampled_from(ReceiptKind.ALL)),
        receipt_number=draw(_numbers),
        issued_at=draw(aware_datetimes()),
        order_id=draw(_text),
        order_number=draw(_numbers),
        placed_at=draw(aware_datetimes()),
        status=draw(_text),
        locale=draw(st.sampled_from(["en", "de", "ja", "zh_Hans", "zh_Hant", "fr_CA"])),
        customer_name=draw(_text),
        customer_email=draw(_text),
        shipping_address=draw(address),
        lines=tuple(draw(st.lists(line, max_size=3))),
        discounts=tuple(
            draw(st.lists(st.builds(ReceiptDiscount, label=_text, amount=amount), max_size=2))
        ),
        items_total=draw(amount),
        discount_total=draw(amount),
        shipping=draw(amount),
        tax=draw(amount),
        total=draw(amount),
        prices_include_tax=draw(st.booleans()),
        amount_paid=draw(amount),
        amount_refunded=draw(amount),
        balance_due=draw(amount),
        payment_state=draw(
            st.sampled_from(
                [
                    PaymentState.UNPAID,
                    PaymentState.PARTIALLY_PAID,
                    PaymentState.PAID,
                    PaymentState.PARTIALLY_REFUNDED,
                    PaymentState.REFUNDED,
                ]
            )
        ),
        merchant=draw(st.builds(Merchant, name=_text, email=_text, url=_text)),
        shipments=tuple(draw(st.lists(shipment, max_size=2))),
        estimated_ship_date=draw(st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1))),
        blocks=draw(st.lists(block, max_size=2)),
        detail=draw(_text),
        amount=draw(st.none() | amount),
    )


@st.composite
def discounted_orders(draw: st.DrawFn) -> Order:
    """Placed orders of 1-4 lines with order- and line-level discounts (amounts and
    percents, sometimes larger than what they apply to), a shipping fee and tax."""
    code = draw(st.sampled_from(["USD", "JPY", "EUR", "KWD"]))
    price = money(code, min_value=0, max_value=500)
    lines = tuple(
        LineItem(
            line_id=f"L{i + 1}",
            sku=f"SKU-{i}",
            name=f"Item {i}",
            quantity=draw(st.integers(min_value=1, max_value=5)),
            unit_price=draw(price),
            tax_rate=draw(st.sampled_from([Decimal(0), Decimal("0.07"), Decimal("0.19")])),
        )
        for i in range(draw(st.integers(min_value=1, max_value=4)))
    )
    discount = st.one_of(
        st.builds(
            lambda amount: Adjustment(AdjustmentKind.COUPON, "Coupon", amount=amount),
            money(code, min_value=Decimal("0.01") if code != "JPY" else 1, max_value=600),
        ),
        st.builds(
            lambda percent: Adjustment(AdjustmentKind.DISCOUNT, "Sale", percent=percent),
            st.decimals(min_value=Decimal("0.5"), max_value=100, places=1),
        ),
        st.builds(
            lambda line, percent: Adjustment(
                AdjustmentKind.DISCOUNT, "Line sale", percent=percent, line_id=line
            ),
            st.sampled_from([line.line_id for line in lines]),
            st.decimals(min_value=1, max_value=100, places=0),
        ),
    )
    adjustments = [*draw(st.lists(discount, max_size=3))]
    if draw(st.booleans()):
        adjustments.append(Adjustment(AdjustmentKind.SHIPPING, "Shipping", amount=draw(price)))
    at = datetime(2026, 11, 23, tzinfo=timezone.utc)
    return Order(
        id="ord-1",
        number="SO-2026-000001",
        customer=Customer("c-1", "Customer"),
        shipping_address=Address("Customer", "1 Main St", "Springfield", "US"),
        lines=lines,
        currency=code,
        status="pending_payment",
        created_at=at,
        updated_at=at,
        prices_include_tax=draw(st.booleans()),
        adjustments=tuple(adjustments),
    )
