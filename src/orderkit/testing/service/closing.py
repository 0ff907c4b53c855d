"""Cancelling, refunding and expiring orders, and idempotent commands, over any storage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderkit.clock import FixedClock
from orderkit.domain.events import (
    PaymentCaptured,
    RefundIssued,
)
from orderkit.errors import (
    GuardRefused,
    IdempotencyConflict,
    OutOfStock,
    RefundExceedsPayment,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    held,
    level,
    payloads,
    reservations,
    snapshot,
    usd,
)
from orderkit.testing.service.base import ServiceFixtures

__all__ = ["ClosingBehaviour"]


class ClosingBehaviour(ServiceFixtures):
    """Cancelling, refunding and expiring orders, and idempotent commands, over any storage."""

    # -- cancelling and refunding --------------------------------------------------------------

    def test_cancelling_an_unpaid_order_closes_it_and_releases_its_reservation(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert ("closed", level("MUG", 10, 0), ()) == (
            service.get(order.id).status,
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_cancelling_a_paid_order_is_refused_with_a_reason_that_mentions_refund(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        with pytest.raises(GuardRefused) as refused:
            service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert ("nothing_paid", True) == (refused.value.guard, "refund" in refused.value.reason)

    def test_a_refused_cancellation_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        before = snapshot(storage)
        with pytest.raises(GuardRefused):
            service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert before == snapshot(storage)

    def test_a_full_refund_closes_the_order_and_releases_its_stock(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, order.total, reference="rf-1", reason="cannot deliver")
        assert ("closed", level("MUG", 10, 0), ()) == (
            service.get(order.id).status,
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_a_partial_refund_keeps_the_status_and_the_reservation(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        stored = service.get(order.id)
        assert ("awaiting_shipment", usd("32.50"), held(("MUG", 3))) == (
            stored.status,
            stored.net_paid,
            reservations(storage, order.id),
        )

    def test_a_refund_is_recorded_with_the_total_refunded_so_far(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        service.refund(order.id, usd("2.50"), reference="rf-2", reason="late")
        issued = payloads(service.history(order.id), RefundIssued)
        assert [usd("5.00"), usd("7.50")] == [
            p.total_refunded for p in issued if isinstance(p, RefundIssued)
        ]

    def test_refunding_more_than_is_held_raises_refund_exceeds_payment_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        before = snapshot(storage)
        with pytest.raises(RefundExceedsPayment):
            service.refund(order.id, usd("20.01"), reference="rf-2", reason="more")
        assert before == snapshot(storage)

    # -- expiring ------------------------------------------------------------------------------

    def test_expiring_closes_only_unpaid_orders_older_than_the_cutoff(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        old_unpaid = self.place(service, ("MUG", 1))
        old_paid = self.paid_order(service, ("MUG", 1))
        clock.advance(timedelta(minutes=30))
        young_unpaid = self.place(service, ("MUG", 1))
        clock.advance(timedelta(minutes=31))
        expired = service.expire_unpaid(older_than=timedelta(hours=1))
        assert (
            [old_unpaid.id],
            ["closed", "awaiting_shipment", "pending_payment"],
        ) == (
            [o.id for o in expired],
            [service.get(o.id).status for o in (old_unpaid, old_paid, young_unpaid)],
        )

    def test_an_expired_order_releases_its_stock(
        self, service: OrderService, storage: Storage, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 4))
        clock.advance(timedelta(hours=2))
        service.expire_unpaid(older_than=timedelta(hours=1))
        assert (level("MUG", 10, 0), ()) == (service.stock("MUG"), reservations(storage, order.id))

    def test_expiring_looks_past_partly_paid_orders_to_the_limit_of_expired_ones(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        old = self.place(service, ("MUG", 1))
        clock.advance(timedelta(minutes=1))
        partly_paid = self.place(service, ("MUG", 1))
        service.pay(partly_paid.id, usd("1.00"), reference="psp-deposit")
        clock.advance(timedelta(hours=2))
        expired = service.expire_unpaid(older_than=timedelta(hours=1), limit=1)
        assert ([old.id], "pending_payment") == (
            [o.id for o in expired],
            service.get(partly_paid.id).status,
        )

    # -- idempotency ---------------------------------------------------------------------------

    def test_placing_again_with_the_same_key_returns_the_original_order(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        draft = self.draft(("MUG", 2))
        first = service.place(draft, idempotency_key="cart-42")
        again = service.place(draft, idempotency_key="cart-42")
        assert first == again

    def test_placing_again_with_the_same_key_stores_one_order_and_reserves_once(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        draft = self.draft(("MUG", 2))
        first = service.place(draft, idempotency_key="cart-42")
        service.place(draft, idempotency_key="cart-42")
        assert ([first.id], level("MUG", 10, 2)) == (
            [o.id for o in snapshot(storage).orders],
            service.stock("MUG"),
        )

    def test_reusing_a_placement_key_for_a_different_draft_raises_idempotency_conflict(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        service.place(self.draft(("MUG", 2)), idempotency_key="cart-42")
        before = snapshot(storage)
        with pytest.raises(IdempotencyConflict) as refused:
            service.place(self.draft(("MUG", 3)), idempotency_key="cart-42")
        assert ("cart-42", before) == (refused.value.key, snapshot(storage))

    def test_a_refused_placement_does_not_use_up_its_idempotency_key(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 1})
        draft = self.draft(("MUG", 2))
        with pytest.raises(OutOfStock):
            service.place(draft, idempotency_key="cart-42")
        service.receive_stock("MUG", 5, actor="warehouse")
        order = service.place(draft, idempotency_key="cart-42")
        assert order == service.get(order.id)

    def test_paying_again_with_the_same_key_records_one_payment(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, order.total, reference="psp-1", idempotency_key="pay-1")
        again = service.pay(order.id, order.total, reference="psp-1", idempotency_key="pay-1")
        assert ("awaiting_shipment", 1, 1) == (
            again.status,
            len(service.get(order.id).payments),
            len(payloads(service.history(order.id), PaymentCaptured)),
        )

    def test_reusing_a_payment_key_for_a_different_amount_raises_idempotency_conflict(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1", idempotency_key="pay-1")
        before = snapshot(storage)
        with pytest.raises(IdempotencyConflict):
            service.pay(order.id, usd("11.00"), reference="psp-1", idempotency_key="pay-1")
        assert before == snapshot(storage)
