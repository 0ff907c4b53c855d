"""Orders and receipts for the receipt, rendering and browser tests.

Built through the real ``OrderService`` on the in-memory storage, so every amount is what the
library computes.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from orderkit import FixedClock, OrderService, SequentialIds
from orderkit.adapters.memory import MemoryStorage
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
)
from orderkit.domain.receipt import Merchant, PersonalizationBlock, PersonalizationItem, Receipt

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)

MERCHANT = Merchant(
    name="Lotus Tea House",
    email="help@lotus-tea.example",
    phone="+86 21 5555 0100",
    url="https://lotus-tea.example",
)

BLOCKS = (
    PersonalizationBlock(
        title="You may also like",
        products=(
            PersonalizationItem(
                name="Celadon tea cup",
                url="https://lotus-tea.example/p/cup",
                price=Money("12.00", "USD"),
            ),
        ),
    ),
    PersonalizationBlock(
        title="10% off your next order", text="Valid for 30 days.", coupon_code="THANKS10"
    ),
)


def service(**options: Any) -> OrderService:
    storage = MemoryStorage()
    svc = OrderService(storage, clock=FixedClock(T0), ids=SequentialIds("ord-"), **options)
    for sku in ("TEA-1", "CUP-2"):
        svc.receive_stock(sku, 100, actor="test")
    return svc


def place(
    svc: OrderService,
    *,
    name: str = "Mei Lin",
    email: str = "mei@example.com",
    locale: str = "en",
    currency: str = "USD",
    line1: str = "88 Century Avenue",
    address: Address | None = None,
    prices: tuple[str, str, str, str] = ("18.50", "12.00", "5.00", "6.00"),
    names: tuple[str, str] = ("Longjing green tea 250 g", "Celadon tea cup"),
    labels: tuple[str, str] = ("Welcome coupon", "Standard shipping"),
    time_zone: str = "",
) -> Order:
    """An order of two lines with a coupon and a shipping fee; ``prices`` are the two unit
    prices, the coupon and the fee (whole numbers for currencies without minor units)."""
    draft = OrderDraft(
        customer=Customer(id="c-1", name=name, email=email),
        shipping_address=address
        or Address(name=name, line1=line1, city="Shanghai", country="CN", postal_code="200120"),
        lines=(
            LineDraft(
                sku="TEA-1",
                name=names[0],
                quantity=2,
                unit_price=Money(prices[0], currency),
                tax_rate=Decimal("0.13"),
            ),
            LineDraft(
                sku="CUP-2",
                name=names[1],
                quantity=1,
                unit_price=Money(prices[1], currency),
                tax_rate=Decimal("0.13"),
            ),
        ),
        adjustments=(
            Adjustment(
                kind=AdjustmentKind.COUPON,
                label=labels[0],
                code="HELLO5",
                amount=Money(prices[2], currency),
            ),
            Adjustment(
                kind=AdjustmentKind.SHIPPING,
                label=labels[1],
                amount=Money(prices[3], currency),
            ),
        ),
        locale=locale,
        time_zone=time_zone,
    )
    return svc.place(draft, actor="customer")


def receipt(
    order: Order,
    kind: str = "order_placed",
    *,
    merchant: Merchant = MERCHANT,
    blocks: tuple[PersonalizationBlock, ...] = BLOCKS,
    **kwargs: Any,
) -> Receipt:
    return Receipt.from_order(
        order,
        kind=kind,
        receipt_number=f"{order.number}-1",
        issued_at=T0,
        merchant=merchant,
        blocks=blocks,
        estimated_ship_date=date(2026, 11, 25),
        **kwargs,
    )
