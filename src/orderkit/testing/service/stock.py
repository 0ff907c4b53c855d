"""Stock commands, reservation policies, a host's own machine and whole lifecycles, over
any storage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.events import (
    LowStock,
    StatusChanged,
    StockAdjusted,
    StockReceived,
)
from orderkit.domain.order import (
    Adjustment,
    AdjustmentKind,
)
from orderkit.errors import (
    InvalidStockAdjustment,
    InvalidTransition,
    OutOfStock,
    ValidationError,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    HERE,
    held,
    level,
    payloads,
    reservations,
    snapshot,
    stream,
    usd,
)
from orderkit.testing.service.base import ServiceFixtures

__all__ = ["StockBehaviour"]


class StockBehaviour(ServiceFixtures):
    """Stock commands, reservation policies, a host's own machine and whole lifecycles, over
    any storage."""

    # -- stock ---------------------------------------------------------------------------------

    def test_receiving_stock_is_an_event_on_the_stream_of_its_sku_and_location(
        self, service: OrderService, storage: Storage
    ) -> None:
        service.receive_stock("MUG", 10, actor="warehouse", reason="PO-7")
        service.receive_stock("MUG", 4, location="east", actor="warehouse")
        service.receive_stock("MUG", 2, actor="warehouse", reason="PO-8")
        assert (
            [
                ("warehouse", "PO-7", StockReceived("MUG", HERE, 10, 10)),
                ("warehouse", "PO-8", StockReceived("MUG", HERE, 2, 12)),
            ],
            [StockReceived("MUG", "east", 4, 4)],
        ) == (
            [(e.actor, e.reason, e.payload) for e in stream(storage, "stock:MUG@default")],
            payloads(stream(storage, "stock:MUG@east")),
        )

    def test_adjusting_stock_is_an_event_on_the_stream_of_its_sku_and_location(
        self, service: OrderService, storage: Storage
    ) -> None:
        service.receive_stock("MUG", 10, actor="warehouse")
        service.adjust_stock("MUG", -2, actor="audit", reason="two broke")
        adjusted = stream(storage, "stock:MUG@default")[-1]
        assert ("audit", "two broke", StockAdjusted("MUG", HERE, -2, 8), level("MUG", 8, 0)) == (
            adjusted.actor,
            adjusted.reason,
            adjusted.payload,
            service.stock("MUG"),
        )

    @pytest.mark.parametrize("delta", [-3, -11], ids=["below-reserved", "below-zero"])
    def test_adjusting_stock_below_what_is_reserved_is_refused_and_changes_nothing(
        self, service: OrderService, storage: Storage, delta: int
    ) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 8))
        before = snapshot(storage)
        with pytest.raises(InvalidStockAdjustment):
            service.adjust_stock("MUG", delta, actor="audit", reason="count")
        assert before == snapshot(storage)

    @pytest.mark.parametrize("delta", [3, -3])
    def test_adjusting_a_sku_that_was_never_stocked_is_refused(
        self, service: OrderService, storage: Storage, delta: int
    ) -> None:
        before = snapshot(storage)
        with pytest.raises(InvalidStockAdjustment):
            service.adjust_stock("GHOST", delta, actor="audit", reason="count")
        assert before == snapshot(storage)

    def test_setting_a_threshold_for_an_unstocked_sku_creates_an_empty_level(
        self, service: OrderService
    ) -> None:
        service.set_low_stock_threshold("NEW", 4)
        assert level("NEW", 0, 0, 4) == service.stock("NEW")

    def test_low_stock_is_recorded_when_available_stock_drops_below_the_threshold(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        service.set_low_stock_threshold("MUG", 3)
        self.place(service, ("MUG", 2))
        assert [] == payloads(stream(storage, "stock:MUG@default"), LowStock)
        self.place(service, ("MUG", 1))
        assert [LowStock("MUG", HERE, 2, 3)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_low_stock_is_recorded_only_when_available_stock_crosses_the_threshold(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 10})
        service.set_low_stock_threshold("MUG", 5)
        service.adjust_stock("MUG", -4, actor="audit", reason="count")  # 6: not below
        service.adjust_stock("MUG", -2, actor="audit", reason="count")  # 4: crosses
        service.adjust_stock("MUG", -1, actor="audit", reason="count")  # 3: already below
        service.receive_stock("MUG", 10, actor="warehouse")  # 13
        self.place(service, ("MUG", 9))  # 4: crosses again
        assert [LowStock("MUG", HERE, 4, 5), LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_a_threshold_set_above_what_is_available_records_low_stock_at_once(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 4})
        service.set_low_stock_threshold("MUG", 5)
        assert [LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_raising_the_threshold_of_a_level_already_low_records_nothing_more(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 4})
        service.set_low_stock_threshold("MUG", 5)
        service.set_low_stock_threshold("MUG", 8)
        service.set_low_stock_threshold("MUG", 2)  # 4 is not low any more
        assert [LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    # -- reservation at payment ----------------------------------------------------------------

    def test_with_reservation_at_payment_placing_reserves_nothing(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        assert (level("MUG", 10, 0), (), False) == (
            service.stock("MUG"),
            reservations(storage, order.id),
            order.stock_reserved,
        )

    def test_with_reservation_at_payment_paying_in_full_reserves_the_stock(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        assert level("MUG", 10, 0) == service.stock("MUG")
        service.pay(order.id, usd("27.50"), reference="psp-2")
        assert (level("MUG", 10, 3), held(("MUG", 3))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_a_free_order_is_paid_when_placed_and_reserves_its_stock_at_payment(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        free = Adjustment(AdjustmentKind.COUPON, "free", percent=Decimal(100))
        placed = service.place(attrs.evolve(self.draft(("MUG", 2)), adjustments=(free,)))
        moved = payloads(service.history(placed.id), StatusChanged)
        assert (
            "awaiting_shipment",
            [StatusChanged("pending_payment", "awaiting_shipment", "pay")],
            level("MUG", 10, 2),
        ) == (service.get(placed.id).status, moved, service.stock("MUG"))

    def test_with_reservation_at_payment_paying_when_stock_ran_out_records_no_payment(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service, {"MUG": 3})
        first = self.place(service, ("MUG", 3))
        second = self.place(service, ("MUG", 2))
        service.pay(first.id, first.total, reference="psp-1")
        before = snapshot(storage)
        with pytest.raises(OutOfStock):
            service.pay(second.id, second.total, reference="psp-2")
        assert (before, ()) == (snapshot(storage), service.get(second.id).payments)

    # -- a host's own status machine -----------------------------------------------------------

    def test_a_host_machine_can_hold_paid_orders_for_review(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        assert "awaiting_review" == service.get(order.id).status

    def test_approving_a_review_through_transition_moves_the_order_on(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.transition(order.id, "approve_review", actor="risk", reason="known customer")
        last = service.history(order.id)[-1]
        assert (
            "awaiting_shipment",
            ("risk", StatusChanged("awaiting_review", "awaiting_shipment", "approve_review")),
        ) == (service.get(order.id).status, (last.actor, last.payload))

    def test_a_rejected_review_is_refunded_into_closed_and_releases_its_stock(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.transition(order.id, "reject_review", actor="risk", reason="stolen card")
        service.refund(order.id, order.total, reference="rf-1", reason="stolen card")
        assert ("closed", level("MUG", 10, 0)) == (
            service.get(order.id).status,
            service.stock("MUG"),
        )

    def test_transition_refuses_an_event_that_has_its_own_command(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.transition(order.id, "pay", actor="risk")
        assert ("event", before) == (refused.value.field, snapshot(storage))

    def test_transition_with_an_event_the_state_does_not_allow_raises_invalid_transition(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        with pytest.raises(InvalidTransition) as refused:
            service.transition(order.id, "approve_review", actor="risk")
        assert ("pending_payment", "approve_review", ("pay", "cancel", "expire")) == (
            refused.value.state,
            refused.value.event,
            refused.value.allowed,
        )

    # -- the whole -----------------------------------------------------------------------------

    def test_integrity_holds_after_a_mix_of_operations(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        shipped = self.paid_order(service, ("MUG", 3), ("TEE", 2))
        service.ship(shipped.id, {"L1": 1})
        cancelled = self.place(service, ("MUG", 2))
        service.cancel(cancelled.id, actor="cs", reason="duplicate")
        refunded = self.paid_order(service, ("TEE", 1), ("CAP", 4))
        service.refund(refunded.id, refunded.total, reference="rf-1", reason="fraud")
        edited = self.place(service, ("CAP", 2))
        service.approve_edit(edited.id, self._request_quantity(service, edited, 5), actor="bob")
        clock.advance(timedelta(hours=2))
        service.expire_unpaid(older_than=timedelta(hours=1))  # expires `edited`
        self.place(service, ("MUG", 1))
        service.adjust_stock("CAP", -3, actor="audit", reason="count")
        assert ([], [level("CAP", 17, 0), level("MUG", 9, 3), level("TEE", 5, 2)]) == (
            service.check_integrity(),
            service.stock_levels(),
        )

    def test_whole_lifecycles_keep_their_invariants(
        self, make_storage: Callable[[], Storage]
    ) -> None:
        from orderkit.testing.lifecycle import run_lifecycles

        run_lifecycles(make_storage)
