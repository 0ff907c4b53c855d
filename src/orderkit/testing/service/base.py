"""What the service-behaviour suites stand on: fixtures and builders over any storage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.inventory import ReservationPolicy
from orderkit.domain.order import (
    ChangeQuantity,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
    SalesChannel,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    CATALOG,
    HOME,
    PRICES,
    START,
    StorageFixture,
    review_machine,
    usd,
)

__all__ = ["ServiceFixtures"]


class ServiceFixtures(StorageFixture):
    """Fixtures: ``storage`` (a fresh storage, closed afterwards), ``clock`` (a
    :class:`FixedClock` at 2026-11-23 09:00 UTC), ``ids`` (sequential ids) and ``service``
    (an :class:`OrderService` over them). Builders: :meth:`draft`, :meth:`stock_catalog`,
    :meth:`place`, :meth:`paid_order`.
    """

    # -- fixtures ------------------------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(START)

    @pytest.fixture
    def ids(self) -> SequentialIds:
        return SequentialIds("id-")

    @pytest.fixture
    def service(self, storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        return OrderService(storage, clock=clock, ids=ids)

    # -- builders ------------------------------------------------------------------------------

    @staticmethod
    def draft(
        *lines: tuple[str, int],
        customer_id: str = "c-1",
        channel: str = SalesChannel.WEB,
        tags: Iterable[str] = (),
        group: str | None = None,
        note: str = "",
    ) -> OrderDraft:
        """An order draft for ``(sku, quantity)`` lines at the catalog's prices (USD)."""
        return OrderDraft(
            customer=Customer(customer_id, "Lin Wei"),
            shipping_address=HOME,
            lines=tuple(
                LineDraft(sku, sku.title(), qty, PRICES.get(sku, usd("1.00"))) for sku, qty in lines
            ),
            channel=channel,
            tags=tuple(tags),
            group=group,
            note=note,
        )

    @staticmethod
    def stock_catalog(service: OrderService, levels: Mapping[str, int] = CATALOG) -> None:
        """Receive stock at the default location: 20 caps, 10 mugs and 5 tees unless told."""
        for sku, quantity in levels.items():
            service.receive_stock(sku, quantity, actor="warehouse")

    def place(self, service: OrderService, *lines: tuple[str, int], **options: Any) -> Order:
        """Place an order for ``(sku, quantity)`` lines; ``options`` go to :meth:`draft`."""
        return service.place(self.draft(*lines, **options), actor="web")

    def paid_order(self, service: OrderService, *lines: tuple[str, int], **options: Any) -> Order:
        """Place an order and pay it in full."""
        order = self.place(service, *lines, **options)
        return service.pay(order.id, order.total, reference=f"psp-{order.id}")

    @staticmethod
    def at_payment(storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        """A service that reserves stock when an order is paid, not when it is placed."""
        return OrderService(
            storage, clock=clock, ids=ids, reservation_policy=ReservationPolicy.AT_PAYMENT
        )

    @staticmethod
    def with_review(storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        return OrderService(storage, clock=clock, ids=ids, machine=review_machine())

    def _request_quantity(self, service: OrderService, order: Order, quantity: int) -> str:
        edited = service.request_edit(
            order.id, [ChangeQuantity("L1", quantity)], actor="alice", reason="customer called"
        )
        return edited.pending_edits[-1].edit_id
