"""A small shop for the shipment and after-sales tests: storages, a service, an order.

Import it as ``import shop`` (pytest puts ``tests/`` on ``sys.path``), like ``strategies``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from orderkit.adapters.memory import MemoryStorage
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock, SequentialIds
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
from orderkit.ports import OrderQuery, Storage
from orderkit.service import OrderService

START = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
HOME = Address("Li Lei", "1 Lake Road", "Hangzhou", "CN")
WAREHOUSE = Address("Tea Shop", "9 Dock Street", "Ningbo", "CN")
BACKENDS = ("memory", "sqlite")

# sku: (unit price, grams)
CATALOG = {"TEA": ("30.00", 250), "CUP": ("20.00", 300), "POT": ("50.00", 900)}


@contextmanager
def open_storage(kind: str, folder: Path) -> Iterator[Storage]:
    """A fresh, empty ``memory`` or ``sqlite`` (a file in ``folder``) storage, closed after."""
    storage: MemoryStorage | SQLiteStorage = (
        MemoryStorage() if kind == "memory" else SQLiteStorage(folder / "shop.sqlite3")
    )
    try:
        yield storage
    finally:
        storage.close()


def service(storage: Storage, clock: FixedClock, **options: Any) -> OrderService:
    """A service on a fixed clock with readable ids, its catalog stocked (20 of each)."""
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), **options)
    for sku in CATALOG:
        svc.receive_stock(sku, 20, actor="warehouse")
    return svc


def draft(*lines: tuple[str, int], coupon: str = "0", shipping: str = "0") -> OrderDraft:
    """An order of ``(sku, quantity)`` lines in CNY, with an order-level coupon and a
    shipping fee when given."""
    adjustments = []
    if Decimal(coupon):
        adjustments.append(
            Adjustment(AdjustmentKind.COUPON, "coupon", amount=Money(coupon, "CNY"), code="HI")
        )
    if Decimal(shipping):
        adjustments.append(
            Adjustment(AdjustmentKind.SHIPPING, "shipping", amount=Money(shipping, "CNY"))
        )
    return OrderDraft(
        customer=Customer("c-1", "Li Lei"),
        shipping_address=HOME,
        lines=[
            LineDraft(
                sku,
                sku.title(),
                qty,
                Money(CATALOG[sku][0], "CNY"),
                weight_grams=CATALOG[sku][1],
            )
            for sku, qty in lines
        ],
        adjustments=adjustments,
    )


def paid(svc: OrderService, *lines: tuple[str, int], **money: str) -> str:
    """Place and pay an order; return its id."""
    order = svc.place(draft(*lines, **money))
    svc.pay(order.id, order.total, reference=f"psp-{order.id}")
    return order.id


def as_stored_before_schema_4(schema: str = "") -> list[str]:
    """SQL making the index rows of :func:`orderkit.testing.storage.rich_order` (tags gift and
    vip, tracking number SF1234567890) look as an orderkit before schema 4 wrote them."""
    table = f"{schema}." if schema else ""
    return [
        f"UPDATE {table}orderkit_schema SET version = 3",
        f"UPDATE {table}orderkit_order_tags SET tag = ' VIP' WHERE tag = 'vip'",
        f"UPDATE {table}orderkit_shipments SET tracking_number = 'sf 1234567890'",
    ]


def found_by_tag_and_tracking(storage: Storage) -> tuple[list[str], tuple[Order, ...]]:
    """The ids of the orders tagged vip, and the order shipped as SF1234567890 with sf."""
    try:
        with storage.reader() as uow:
            return (
                [o.id for o in uow.orders.find(OrderQuery(tag="vip")).items],
                uow.orders.find(OrderQuery(carrier="sf", tracking_number="SF1234567890")).items,
            )
    finally:
        storage.close()
