"""Placing, paying, shipping, delivering and completing orders, over any storage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderkit.clock import FixedClock
from orderkit.domain.events import (
    StatusChanged,
)
from orderkit.domain.order import (
    Order,
)
from orderkit.domain.shipping import TrackingEvent
from orderkit.errors import (
    InvalidTransition,
    OutOfStock,
    Overpayment,
    UnknownSku,
    ValidationError,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    HERE,
    START,
    held,
    level,
    payloads,
    reservations,
    snapshot,
    usd,
)
from orderkit.testing.service.base import ServiceFixtures

__all__ = ["OrderingBehaviour"]


class OrderingBehaviour(ServiceFixtures):
    """Placing, paying, shipping, delivering and completing orders, over any storage."""

    # -- placing -------------------------------------------------------------------------------

    def test_placing_an_order_reserves_its_stock(self, service: OrderService) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 3), ("TEE", 1))
        assert [level("MUG", 10, 3), level("TEE", 5, 1)] == [
            service.stock("MUG"),
            service.stock("TEE"),
        ]

    def test_placing_an_order_records_what_it_holds(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("TEE", 1), ("MUG", 3))
        assert held(("MUG", 3), ("TEE", 1)) == reservations(storage, order.id)

    def test_a_placed_order_reads_back_equal_to_the_one_returned(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3), tags=["gift"], group="north", note="ring twice")
        assert order == service.get(order.id)

    def test_orders_are_numbered_from_one_without_gaps(self, service: OrderService) -> None:
        self.stock_catalog(service)
        numbers = [self.place(service, ("MUG", 1)).number for _ in range(3)]
        assert ["SO-2026-000001", "SO-2026-000002", "SO-2026-000003"] == numbers

    def test_a_placement_refused_for_lack_of_stock_names_the_short_sku(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"CAP": 5, "MUG": 1})
        with pytest.raises(OutOfStock) as refused:
            service.place(self.draft(("CAP", 2), ("MUG", 2)))
        assert ("MUG", HERE, 2, 1) == (
            refused.value.sku,
            refused.value.location,
            refused.value.requested,
            refused.value.available,
        )

    def test_placing_an_order_for_a_sku_never_stocked_raises_unknown_sku_an_out_of_stock(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        with pytest.raises(OutOfStock) as refused:
            self.place(service, ("MUG", 1), ("MUGG", 2))
        assert (UnknownSku, "MUGG", 2, 0) == (
            type(refused.value),
            refused.value.sku,
            refused.value.requested,
            refused.value.available,
        )

    def test_a_placement_refused_for_lack_of_stock_writes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        # CAP sorts before MUG, so CAP is reserved before MUG runs out: that must be undone.
        self.stock_catalog(service, {"CAP": 5, "MUG": 1})
        self.place(service, ("CAP", 1))
        before = snapshot(storage)
        with pytest.raises(OutOfStock):
            service.place(self.draft(("CAP", 2), ("MUG", 2)))
        assert before == snapshot(storage)

    def test_a_placement_refused_as_invalid_writes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.place(self.draft(("MUG", 1), ("TEE", 0)))
        assert ("lines[1].quantity", before) == (refused.value.field, snapshot(storage))

    def test_a_refused_placement_leaves_no_gap_in_the_order_numbers(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 2})
        first = self.place(service, ("MUG", 1))
        with pytest.raises(OutOfStock):
            service.place(self.draft(("MUG", 5)))
        with pytest.raises(ValidationError):
            service.place(self.draft(("MUG", 1), customer_id=""))
        second = self.place(service, ("MUG", 1))
        assert ["SO-2026-000001", "SO-2026-000002"] == [first.number, second.number]

    def test_two_lines_of_one_sku_are_checked_together_against_stock(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        with pytest.raises(OutOfStock) as refused:
            service.place(self.draft(("MUG", 3), ("MUG", 3)))
        assert (6, 5) == (refused.value.requested, refused.value.available)

    def test_two_lines_of_one_sku_reserve_their_sum(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        order = self.place(service, ("MUG", 3), ("MUG", 2))
        assert (level("MUG", 5, 5), held(("MUG", 5))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    # -- paying --------------------------------------------------------------------------------

    def test_paying_in_full_moves_the_order_to_awaiting_shipment(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("25.00"), reference="psp-1")
        stored = service.get(order.id)
        assert ("awaiting_shipment", usd("25.00"), usd("0.00")) == (
            stored.status,
            stored.amount_paid,
            stored.balance_due,
        )

    def test_a_partial_payment_keeps_the_order_pending_with_the_balance_due(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        stored = service.get(order.id)
        assert ("pending_payment", usd("15.00")) == (stored.status, stored.balance_due)

    def test_an_overpayment_is_refused_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        before = snapshot(storage)
        with pytest.raises(Overpayment):
            service.pay(order.id, usd("15.01"), reference="psp-2")
        assert before == snapshot(storage)

    def test_paying_a_closed_order_raises_invalid_transition_naming_state_event_and_allowed(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.cancel(order.id, actor="cs", reason="customer changed their mind")
        with pytest.raises(InvalidTransition) as refused:
            service.pay(order.id, order.total, reference="late")
        assert ("closed", "pay", ()) == (
            refused.value.state,
            refused.value.event,
            refused.value.allowed,
        )

    def test_paying_a_paid_order_again_lists_the_events_its_state_allows(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        with pytest.raises(InvalidTransition) as refused:
            service.pay(order.id, usd("1.00"), reference="again")
        assert ("awaiting_shipment", ("ship", "ship_partial", "cancel", "refund_full")) == (
            refused.value.state,
            refused.value.allowed,
        )

    # -- shipping, delivering, completing ------------------------------------------------------

    def test_shipping_part_of_an_order_marks_it_partially_shipped(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2}, carrier="sf", tracking_number="SF1")
        assert "partially_shipped" == service.get(order.id).status

    def test_shipping_part_of_an_order_commits_stock_for_that_part_only(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2}, carrier="sf", tracking_number="SF1")
        assert ([level("MUG", 8, 1), level("TEE", 5, 1)], held(("MUG", 1), ("TEE", 1))) == (
            [service.stock("MUG"), service.stock("TEE")],
            reservations(storage, order.id),
        )

    def test_shipping_more_than_is_left_raises_validation_error_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.ship(order.id, {"L1": 2})
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.ship(order.id, {"L1": 2})
        assert ("lines[L1]", before) == (refused.value.field, snapshot(storage))

    def test_shipping_the_rest_marks_the_order_shipped_and_commits_the_rest(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2})
        service.ship(order.id)
        assert ("shipped", [level("MUG", 7, 0), level("TEE", 4, 0)], ()) == (
            service.get(order.id).status,
            [service.stock("MUG"), service.stock("TEE")],
            reservations(storage, order.id),
        )

    def test_delivering_marks_the_order_and_every_shipment_delivered(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.ship(order.id, {"L1": 1})
        service.ship(order.id)
        arrived = clock.advance(timedelta(days=2))
        delivered = service.get(service.deliver(order.id).id)
        assert ("delivered", [arrived, arrived]) == (
            delivered.status,
            [s.delivered_at for s in delivered.shipments],
        )

    def test_completing_a_delivered_order_marks_it_completed(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 1))
        service.ship(order.id)
        service.deliver(order.id)
        service.complete(order.id)
        assert "completed" == service.get(order.id).status

    def _whole_lifecycle(self, service: OrderService) -> Order:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2})
        service.ship(order.id)
        service.deliver(order.id)
        return service.complete(order.id)

    def test_an_order_history_lists_every_event_of_its_lifecycle_in_order(
        self, service: OrderService
    ) -> None:
        order = self._whole_lifecycle(service)
        assert [
            "OrderPlaced",
            "StockReserved",
            "PaymentCaptured",
            "StatusChanged",
            "StatusChanged",
            "OrderShipped",
            "StockCommitted",
            "StatusChanged",
            "OrderShipped",
            "StockCommitted",
            "ShipmentDelivered",
            "ShipmentDelivered",
            "StatusChanged",
            "OrderDelivered",
            "StatusChanged",
        ] == [e.type for e in service.history(order.id)]

    def test_the_status_changes_in_an_order_history_trace_its_path(
        self, service: OrderService
    ) -> None:
        order = self._whole_lifecycle(service)
        assert [
            StatusChanged("pending_payment", "awaiting_shipment", "pay"),
            StatusChanged("awaiting_shipment", "partially_shipped", "ship_partial"),
            StatusChanged("partially_shipped", "shipped", "ship"),
            StatusChanged("shipped", "delivered", "deliver"),
            StatusChanged("delivered", "completed", "complete"),
        ] == payloads(service.history(order.id), StatusChanged)

    def test_an_order_history_records_who_acted_and_why(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        service.cancel(order.id, actor="cs@shop", reason="duplicate order")
        last = service.history(order.id)[-1]
        assert ("cs@shop", "duplicate order", START) == (last.actor, last.reason, last.at)

    @pytest.mark.parametrize(
        ("shipped", "reported"),
        [("SF1234567890", " sf 1234 567 890"), ("sf 1234 567 890", "SF1234567890")],
        ids=["update-typed-loosely", "number-shipped-loosely"],
    )
    def test_a_tracking_number_in_lower_case_with_spaces_is_the_same_number(
        self, service: OrderService, shipped: str, reported: str
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 1))
        service.ship(order.id, carrier="sf-express", tracking_number=shipped)
        event = TrackingEvent("ev-1", "sf-express", reported, "in_transit", START)
        tracked = service.ingest_tracking(event)
        assert ("SF1234567890", "in_transit") == (
            tracked.shipments[0].tracking_number,
            tracked.shipments[0].tracking_status,
        )
