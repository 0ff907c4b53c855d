"""Whole after-sales lives under hypothesis, on memory, SQLite and PostgreSQL.

A ``RuleBasedStateMachine`` drives one shop through any sequence of placing and paying,
partial shipments with several carriers, tracking updates in any order (duplicates and late
ones included), the buyer confirming receipt, auto-completion, returns requested, approved,
rejected, received (restocked or written off), refunded, exchanged or converted from an
exchange to a refund, refund-only of unshipped units and of lost parcels, order-level refunds
(a goodwill part, the shipping fee, everything held, a cent too much) interleaved with all of
those, and providers' refund notices arriving again. A command may be refused with an
orderkit error (the rules do not second-guess the domain), but a refused command must change
nothing, and after every step these invariants hold:

- shipped per line never above ordered (cancelled units included);
- returned never above delivered, delivered never above shipped;
- refunded never above paid, per line and in total; refunding every unit of every line
  refunds exactly what was paid;
- what the units can still be refunded for adds up to what the order holds, and every return
  waiting for its refund (or an exchange waiting for its replacement) can be refunded;
- stock on hand plus stock shipped out equals stock received minus write-offs (and the
  stock records agree with the reservations);
- the order's status is the one the default machine allows for its shipments and refunds.

Run sizes (``max_examples`` x ``stateful_step_count``) are in ``RUNS`` below.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import shop
from orderkit.adapters.memory import MemoryStorage
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock
from orderkit.domain.aftersales import Disposition, ReturnEvent, ReturnKind, ReturnStatus
from orderkit.domain.money import Money
from orderkit.domain.order import Order
from orderkit.domain.returns import refund_lines, refundable_shares
from orderkit.domain.shipping import TrackingEvent, TrackingStatus
from orderkit.errors import OrderkitError
from orderkit.ports import OrderQuery, Storage
from orderkit.service import OrderService

# backend: (max_examples, stateful_step_count)
RUNS = {"memory": (100, 50), "sqlite": (25, 40), "postgres": (8, 30)}
SKUS = tuple(shop.CATALOG)
STOCKED = 20  # shop.service receives this many of each SKU
CARRIERS = ("sf", "yto")
ACTIONS = (
    *["ship_some"] * 3,
    *["track"] * 3,
    "replay_a_tracking_event",
    *["buyer_confirms_receipt"] * 2,
    *["request_return"] * 3,
    *["handle_a_return"] * 3,
    "claim_a_lost_parcel",
    "refund_unshipped",
    *["refund_part_of_an_order"] * 2,
    "replay_a_refund_notice",
)
GOODS_BACK = frozenset({ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED})

Opener = Callable[[], tuple[Storage, Callable[[], None]]]


def expected_statuses(order: Order) -> set[str]:
    """The statuses the default machine allows for what this order has shipped and refunded."""
    if order.amount_paid.is_positive and order.net_paid.is_zero:
        return {"closed"}
    own = [s for s in order.shipments if s.return_id is None]
    if not own:
        return {"awaiting_shipment"}
    if not order.is_fully_shipped:
        return {"partially_shipped"}
    if order.parcels_in_transit:
        return {"shipped"}
    return {"delivered", "completed"}


class AfterSalesLives(RuleBasedStateMachine):
    """One shop's after-sales under random commands; ``open_storage`` is set per backend."""

    open_storage: Opener

    def __init__(self) -> None:
        super().__init__()
        self.storage, self.cleanup = type(self).open_storage()
        self.clock = FixedClock(shop.START)
        self.svc: OrderService = shop.service(self.storage, self.clock)
        self.order_ids: list[str] = []
        self.sent: list[TrackingEvent] = []
        self.serial = 0

    def teardown(self) -> None:
        self.cleanup()

    def _next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def _attempt(self, order_id: str, command: Callable[[], Any]) -> None:
        """Run a command; if orderkit refuses it, the order must be exactly as before."""
        before = self.svc.get(order_id)
        try:
            command()
        except OrderkitError:
            assert before == self.svc.get(order_id)

    def _order(self, data: st.DataObject) -> Order:
        return self.svc.get(data.draw(st.sampled_from(self.order_ids), label="order"))

    # -- rules ------------------------------------------------------------------------------

    @initialize(
        first=st.sampled_from(SKUS), second=st.sampled_from(SKUS), quantity=st.integers(1, 3)
    )
    def two_paid_orders(self, first: str, second: str, quantity: int) -> None:
        self.order_ids.append(shop.paid(self.svc, (first, quantity), shipping="8.00"))
        lines = [(first, 1)] if first == second else [(first, 1), (second, quantity)]
        self.order_ids.append(shop.paid(self.svc, *lines, coupon="7.77"))

    @precondition(lambda self: len(self.order_ids) < 4)
    @rule(
        lines=st.lists(
            st.tuples(st.sampled_from(SKUS), st.integers(1, 3)),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line[0],
        ),
        coupon=st.sampled_from(["0", "5.00", "7.77"]),
        shipping=st.sampled_from(["0", "8.00", "10.01"]),
    )
    def place_and_pay(self, lines: list[tuple[str, int]], coupon: str, shipping: str) -> None:
        draft = shop.draft(*lines, coupon=coupon, shipping=shipping)
        try:
            order = self.svc.place(draft)
        except OrderkitError:
            return  # out of stock: nothing was placed
        self.svc.pay(order.id, order.total, reference=self._next("psp-"))
        self.order_ids.append(order.id)

    def ship_some(self, data: st.DataObject) -> None:
        carrier = data.draw(st.sampled_from(CARRIERS), label="carrier")
        open_orders = [o for o in self._orders() if not o.is_fully_shipped]
        if not open_orders:
            return
        order = data.draw(st.sampled_from(open_orders), label="order")
        left = {ln.line_id: order.quantity_unshipped(ln.line_id) for ln in order.lines}
        left = {k: v for k, v in left.items() if v > 0}
        chosen = data.draw(st.sets(st.sampled_from(sorted(left)), min_size=1), label="lines")
        wanted = {k: data.draw(st.integers(1, left[k]), label=k) for k in sorted(chosen)}
        number = self._next("T")
        self._attempt(
            order.id,
            lambda: self.svc.ship(order.id, wanted, carrier=carrier, tracking_number=number),
        )

    def track(self, data: st.DataObject) -> None:
        # Delivered three times as likely as the others, so goods reach customers to return.
        statuses = (*TrackingStatus.ALL, *[TrackingStatus.DELIVERED] * 2)
        status = data.draw(st.sampled_from(statuses), label="status")
        minutes = data.draw(st.integers(0, 60 * 24 * 5), label="minutes")
        parcels = [(o, s) for o in self._orders() for s in o.shipments]
        if not parcels:
            return
        order, parcel = data.draw(st.sampled_from(parcels), label="parcel")
        event = TrackingEvent(
            self._next("ev-"),
            parcel.carrier,
            parcel.tracking_number,
            status,
            shop.START + timedelta(minutes=minutes),
        )
        self.sent.append(event)
        self._attempt(order.id, lambda: self.svc.ingest_tracking(event))

    def replay_a_tracking_event(self, data: st.DataObject) -> None:
        if not self.sent:
            return
        event = data.draw(st.sampled_from(self.sent), label="event")
        with self.storage.reader() as uow:
            query = OrderQuery(carrier=event.carrier, tracking_number=event.tracking_number)
            [before] = uow.orders.find(query).items
        assert before == self.svc.ingest_tracking(event)

    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def act_on_orders(self, data: st.DataObject, action: str) -> None:
        """One after-sales action, drawn from ``ACTIONS`` (weighted by repetition) rather
        than left to rule selection, so whole lifecycles fit in a run's steps."""
        getattr(self, action)(data)

    @rule(hours=st.integers(1, 60))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    def buyer_confirms_receipt(self, data: st.DataObject) -> None:
        arriving = [o for o in self._orders() if o.status in ("shipped", "delivered")]
        if not arriving:
            return
        order = data.draw(st.sampled_from(arriving), label="order")
        self._attempt(order.id, lambda: self.svc.confirm_receipt(order.id))

    @rule(days=st.integers(0, 10))
    def auto_complete(self, days: int) -> None:
        self.svc.complete_delivered(older_than=timedelta(days=days))

    def request_return(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from([ReturnKind.REFUND, ReturnKind.EXCHANGE]), label="kind")
        delivered = [
            (o, ln) for o in self._orders() for ln in o.lines if o.quantity_delivered(ln.line_id)
        ]
        if not delivered:
            return
        order, line = data.draw(st.sampled_from(delivered), label="line")
        # Up to one unit more than could go back, so refusals are exercised too.
        most = order.quantity_delivered(line.line_id) - order.quantity_returned(line.line_id)
        quantity = data.draw(st.integers(1, most + 1), label="quantity")
        before = len(order.returns)
        self._attempt(
            order.id,
            lambda: self.svc.request_return(
                order.id, {line.line_id: quantity}, kind=kind, reason="does not fit"
            ),
        )
        after = self.svc.get(order.id)
        if len(after.returns) > before:  # requested: often see it through at once
            disposition = data.draw(st.sampled_from(Disposition.ALL), label="disposition")
            steps = data.draw(st.integers(0, 4), label="steps")
            self._advance(data, order.id, after.returns[-1].return_id, disposition, steps)

    def claim_a_lost_parcel(self, data: st.DataObject) -> None:
        quantity = data.draw(st.integers(1, 3), label="quantity")
        lost = [
            (o, s)
            for o in self._orders()
            for s in o.shipments
            if s.tracking_status in (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER)
        ]
        if not lost:
            return
        order, parcel = data.draw(st.sampled_from(lost), label="parcel")
        line_id = parcel.lines[0].line_id
        at_once = data.draw(st.booleans(), label="at_once")

        def claim() -> object:
            if at_once:
                return self.svc.refund_only(
                    order.id,
                    {line_id: quantity},
                    shipment_id=parcel.shipment_id,
                    reference=self._next("rf-"),
                    reason="lost",
                )
            return self.svc.request_return(
                order.id,
                {line_id: quantity},
                kind=ReturnKind.REFUND_ONLY,
                shipment_id=parcel.shipment_id,
                reason="lost",
            )

        self._attempt(order.id, claim)

    def refund_unshipped(self, data: st.DataObject) -> None:
        unshipped = [
            (o, ln) for o in self._orders() for ln in o.lines if o.quantity_unshipped(ln.line_id)
        ]
        if not unshipped:
            return
        order, line = data.draw(st.sampled_from(unshipped), label="line")
        most = order.quantity_unshipped(line.line_id)
        quantity = data.draw(st.integers(1, most + 1), label="quantity")
        self._attempt(
            order.id,
            lambda: self.svc.refund_only(
                order.id, {line.line_id: quantity}, reference=self._next("rf-"), reason="sold out"
            ),
        )

    def refund_part_of_an_order(self, data: st.DataObject) -> None:
        """An order-level refund: the shipping fee, a part, everything held, or a cent over."""
        holding = [o for o in self._orders() if o.net_paid.is_positive]
        if not holding:
            return
        order = data.draw(st.sampled_from(holding), label="order")
        held = order.net_paid
        cent = Money("0.01", order.currency)
        amounts = [order.totals.shipping, held, held + cent, cent]
        part = data.draw(st.integers(1, held.minor), label="part")
        amount = data.draw(st.sampled_from([*amounts, held.allocate([part, held.minor])[0]]))
        if not amount.is_positive:
            return
        self._attempt(
            order.id,
            lambda: self.svc.refund(
                order.id, amount, reference=self._next("gw-"), reason="goodwill"
            ),
        )

    def replay_a_refund_notice(self, data: st.DataObject) -> None:
        """The provider sends a refund's notice again: nothing changes."""
        refunded = [(o, r) for o in self._orders() for r in o.refunds if r.reference]
        if not refunded:
            return
        order, refund = data.draw(st.sampled_from(refunded), label="refund")
        if refund.return_id is None:
            again = self.svc.refund(
                order.id, refund.amount, reference=refund.reference, reason="again"
            )
        else:
            again = self.svc.refund_return(
                order.id, refund.return_id, reference=refund.reference, reason="again"
            )
        assert order == again == self.svc.get(order.id)

    def handle_a_return(self, data: st.DataObject) -> None:
        disposition = data.draw(st.sampled_from(Disposition.ALL), label="disposition")
        machine = self.svc.return_machine
        pending = [
            (o.id, r.return_id)
            for o in self._orders()
            for r in o.returns
            if not machine.is_final(r.status)
        ]
        if pending:
            order_id, ret_id = data.draw(st.sampled_from(pending), label="return")
            self._advance(data, order_id, ret_id, disposition, data.draw(st.integers(1, 4)))

    def _advance(
        self, data: st.DataObject, order_id: str, ret_id: str, disposition: str, steps: int
    ) -> None:
        """Move a return up to ``steps`` steps along its machine (approve, receive, refund,
        exchange, reject), each step drawn from the events its status allows."""
        machine, svc = self.svc.return_machine, self.svc
        commands: dict[str, Callable[[], object]] = {
            "approve": lambda: svc.approve_return(order_id, ret_id, actor="cs"),
            "reject": lambda: svc.reject_return(order_id, ret_id, actor="cs", reason="used"),
            "receive": lambda: svc.receive_return(order_id, ret_id, disposition, actor="wh"),
            "refund": lambda: svc.refund_return(
                order_id, ret_id, reference=self._next("rf-"), reason="returned"
            ),
            "exchange": lambda: svc.exchange(
                order_id, ret_id, carrier="sf", tracking_number=self._next("X")
            ),
            ReturnEvent.CONVERT_TO_REFUND: lambda: svc.convert_exchange_to_refund(
                order_id, ret_id, reference=self._next("rf-"), reason="no replacement"
            ),
        }
        for _ in range(steps):
            status = svc.get(order_id).return_(ret_id).status
            if machine.is_final(status):
                return
            step = data.draw(st.sampled_from(machine.allowed_events(status)), label="step")
            self._attempt(order_id, commands[step])

    # -- invariants -------------------------------------------------------------------------

    def _orders(self) -> list[Order]:
        return [self.svc.get(order_id) for order_id in self.order_ids]

    @invariant()
    def shipped_returned_and_refunded_stay_within_their_bounds(self) -> None:
        for order in self._orders():
            totals = {lt.line_id: lt.total for lt in order.totals.lines}
            for line in order.lines:
                lid = line.line_id
                assert order.quantity_shipped(lid) + order.quantity_cancelled(lid) <= line.quantity
                assert order.quantity_returned(lid) <= order.quantity_delivered(lid)
                assert order.quantity_delivered(lid) <= order.quantity_shipped(lid)
                assert order.units_refunded(lid) <= line.quantity
                assert order.amount_refunded_for(lid) <= totals[lid]
            assert order.amount_refunded <= order.amount_paid

    @invariant()
    def refunding_every_unit_refunds_exactly_what_was_paid(self) -> None:
        for order in self._orders():
            if all(order.units_refunded(ln.line_id) == ln.quantity for ln in order.lines):
                assert order.amount_paid == order.amount_refunded

    @invariant()
    def every_return_waiting_for_money_can_be_refunded_for_what_its_units_hold(self) -> None:
        machine = self.svc.return_machine
        for order in self._orders():
            shares = refundable_shares(order)
            held = Money.sum((m for units in shares.values() for m in units), order.currency)
            assert order.net_paid == held, (order.net_paid, held)
            for ret in order.returns:
                events = {ReturnEvent.REFUND, ReturnEvent.CONVERT_TO_REFUND}
                if not events & set(machine.allowed_events(ret.status)):
                    continue
                if ret.kind == ReturnKind.REFUND_ONLY and ret.status != ReturnStatus.APPROVED:
                    continue
                lines = refund_lines(order, {rl.line_id: rl.quantity for rl in ret.lines})
                assert Money.sum((rl.amount for rl in lines), order.currency) <= order.net_paid

    @invariant()
    def stock_on_hand_and_out_add_up_to_stock_received_less_write_offs(self) -> None:
        shipped_out = dict.fromkeys(SKUS, 0)
        written_off = dict.fromkeys(SKUS, 0)
        for order in self._orders():
            sku = {line.line_id: line.sku for line in order.lines}
            for shipment in order.shipments:
                for sl in shipment.lines:
                    shipped_out[sku[sl.line_id]] += sl.quantity
            for ret in order.returns:
                if ret.brings_goods_back and ret.status in GOODS_BACK:
                    for rl in ret.lines:
                        shipped_out[sku[rl.line_id]] -= rl.quantity
                        if rl.disposition == Disposition.WRITE_OFF:
                            written_off[sku[rl.line_id]] += rl.quantity
        for code in SKUS:
            on_hand = self.svc.stock(code).on_hand
            assert on_hand + shipped_out[code] == STOCKED - written_off[code], code
        assert [] == self.svc.check_integrity()

    @invariant()
    def every_status_is_one_the_machine_allows_for_shipments_and_refunds(self) -> None:
        for order in self._orders():
            assert order.status in expected_statuses(order), (order.status, order)


def _memory() -> tuple[Storage, Callable[[], None]]:
    storage = MemoryStorage()
    return storage, storage.close


def _sqlite() -> tuple[Storage, Callable[[], None]]:
    folder = Path(tempfile.mkdtemp(prefix="orderkit-props-"))
    storage = SQLiteStorage(folder / "shop.sqlite3")

    def cleanup() -> None:
        storage.close()
        shutil.rmtree(folder, ignore_errors=True)

    return storage, cleanup


def _postgres(dsn: str) -> Opener:
    def open_storage() -> tuple[Storage, Callable[[], None]]:
        import psycopg
        from psycopg import sql

        from orderkit.adapters.postgres import PostgresStorage

        name = f"ok_props_{secrets.token_hex(6)}"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        storage = PostgresStorage(dsn, schema=name)

        def cleanup() -> None:
            storage.close()
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))

        return storage, cleanup

    return open_storage


def _run(backend: str, opener: Opener) -> None:
    examples, steps = RUNS[backend]
    machine = type(f"AfterSalesOn{backend.title()}", (AfterSalesLives,), {})
    machine.open_storage = staticmethod(opener)  # type: ignore[assignment]
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_after_sales_invariants_hold_on_memory() -> None:
    _run("memory", _memory)


def test_after_sales_invariants_hold_on_sqlite() -> None:
    _run("sqlite", _sqlite)


@pytest.mark.postgres
def test_after_sales_invariants_hold_on_postgres(postgres_dsn: str) -> None:
    _run("postgres", _postgres(postgres_dsn))
