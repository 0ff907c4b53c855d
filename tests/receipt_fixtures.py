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
from orderkit.money import Money
from orderkit.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
)
from orderkit.receipt import Merchant, PersonalizationBlock, PersonalizationItem, Receipt

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


def service() -> OrderService:
    storage = MemoryStorage()
    svc = OrderService(storage, clock=FixedClock(T0), ids=SequentialIds("ord-"))
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
) -> Order:
    draft = OrderDraft(
        customer=Customer(id="c-1", name=name, email=email),
        shipping_address=Address(
            name=name, line1=line1, city="Shanghai", country="CN", postal_code="200120"
        ),
        lines=(
            LineDraft(
                sku="TEA-1",
                name="Longjing green tea 250 g",
                quantity=2,
                unit_price=Money("18.50", currency),
                tax_rate=Decimal("0.13"),
            ),
            LineDraft(
                sku="CUP-2",
                name="Celadon tea cup",
                quantity=1,
                unit_price=Money("12.00", currency),
                tax_rate=Decimal("0.13"),
            ),
        ),
        adjustments=(
            Adjustment(
                kind=AdjustmentKind.COUPON,
                label="Welcome coupon",
                code="HELLO5",
                amount=Money("5.00", currency),
            ),
            Adjustment(
                kind=AdjustmentKind.SHIPPING,
                label="Standard shipping",
                amount=Money("6.00", currency),
            ),
        ),
        locale=locale,
    )
    return svc.place(draft, actor="customer")


def receipt(order: Order, kind: str = "order_placed", **kwargs: Any) -> Receipt:
    return Receipt.from_order(
        order,
        kind=kind,
        receipt_number=f"{order.number}-1",
        issued_at=T0,
        merchant=MERCHANT,
        blocks=BLOCKS,
        estimated_ship_date=date(2026, 11, 25),
        **kwargs,
    )
