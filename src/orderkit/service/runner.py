"""The runner every command builds on: units of work, retries, idempotency, the outbox.

A command loads what it needs, asks the domain what changes, writes the new order, the stock
changes and the events together, queues what the notifier makes of it, and commits. If
anything raises, the unit of work is rolled back: storage is exactly as it was. Commands the
database asks to retry (a busy SQLite file, a PostgreSQL serialization failure or deadlock,
an optimistic version conflict) are run again from the start, a bounded number of times.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from orderkit.clock import SystemClock, UlidGenerator, require_utc
from orderkit.domain.aftersales import ReturnPolicy, return_machine
from orderkit.domain.decision import Commit, Decision, Release, Reserve, fire
from orderkit.domain.edits import EditPolicy
from orderkit.domain.events import (
    LowStock,
    NewEvent,
    NotificationQueued,
    StockCommitted,
    StockReleased,
    StockReserved,
    is_stock_stream,
    order_stream,
    stock_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import (
    ReservationPolicy,
    StockLevel,
    StockMovement,
    aggregate,
    became_low,
    received,
)
from orderkit.domain.lifecycle import COMMAND_EVENTS, default_order_machine
from orderkit.domain.numbering import OrderNumbering
from orderkit.domain.order import (
    Order,
)
from orderkit.domain.payments import close, settle_if_paid
from orderkit.domain.status import StatusMachine
from orderkit.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    OrderNotFound,
    TransientStorageError,
    ValidationError,
)
from orderkit.notify.outbox import (
    OutboxDraft,
    OutboxEntry,
    OutboxStatus,
    check_new_entries,
    entry_stream,
)
from orderkit.ports import (
    AddressChecker,
    Clock,
    IdempotencyRecord,
    IdGenerator,
    Notifier,
    OrderQuery,
    PaymentsPort,
    StockNotifier,
    Storage,
    UnitOfWork,
)
from orderkit.serialization import dumps, get_converter

__all__ = ["CommandRunner", "Transaction"]

T = TypeVar("T")


class Transaction:
    """One command's unit of work, the time it runs at, who runs it, and the events it records.

    Events are appended when the runner commits (:meth:`CommandRunner._commit`), after it has
    queued the command's notifications.
    """

    def __init__(self, uow: UnitOfWork, now: datetime, actor: str, reason: str) -> None:
        self.uow = uow
        self.now = now
        self.actor = actor
        self.reason = reason
        self.events: list[NewEvent] = []

    def record(self, stream: str, payload: object) -> None:
        self.events.append(NewEvent(stream, self.now, self.actor, self.reason, payload))


def _require_actor(actor: str) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise ValidationError("actor", "say who is acting, e.g. actor='alice@shop' or 'system'")


class CommandRunner:
    """The state and the steps shared by every command module of :class:`OrderService`."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        machine: StatusMachine[Order] | None = None,
        numbering: OrderNumbering | None = None,
        reservation_policy: ReservationPolicy = ReservationPolicy.AT_PLACEMENT,
        edit_policy: EditPolicy | None = None,
        max_attempts: int = 8,
        address_checker: AddressChecker | None = None,
        address_review_event: str = "flag",
        notifier: Notifier | None = None,
        stock_notifier: StockNotifier | None = None,
        return_policy: ReturnPolicy | None = None,
        payments: PaymentsPort | None = None,
    ) -> None:
        self.storage = storage
        self.clock: Clock = clock or SystemClock()
        self.ids: IdGenerator = ids or UlidGenerator()
        self.machine = machine or default_order_machine()
        self.numbering = numbering or OrderNumbering()
        self.reservation_policy = ReservationPolicy(reservation_policy)
        self.edit_policy = edit_policy or EditPolicy()
        if max_attempts < 1:
            raise ValidationError("max_attempts", "must be at least 1")
        self.max_attempts = max_attempts
        if address_review_event in COMMAND_EVENTS:
            raise ValidationError(
                "address_review_event",
                f"{address_review_event!r} has its own command; name a hold event such as 'flag'",
            )
        self.address_checker = address_checker
        self.address_review_event = address_review_event
        self.notifier = notifier
        self.stock_notifier = stock_notifier
        self.return_policy = return_policy or ReturnPolicy()
        self.return_machine = return_machine()
        self.payments = payments

    def _now(self) -> datetime:
        return require_utc("clock.now()", self.clock.now())

    def _run(self, actor: str, reason: str, body: Callable[[Transaction], T]) -> T:
        _require_actor(actor)
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self.storage.unit_of_work() as uow:
                    return body(Transaction(uow, self._now(), actor, reason))
            except (ConcurrencyConflict, TransientStorageError):
                if attempt == self.max_attempts:
                    raise
                # Exponential backoff with full jitter keeps retrying writers from colliding
                # again in lockstep.
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _load(self, uow: UnitOfWork, order_id: str, *, for_update: bool = False) -> Order:
        order = uow.orders.get(order_id, for_update=for_update)
        if order is None:
            raise OrderNotFound(order_id, looks_like_number=self.numbering.looks_like(order_id))
        return order

    def _fire(self, tx: Transaction, before: Order, proposed: Order, event: str) -> Order:
        """Move ``proposed`` (the order with this command's changes) along ``event``."""
        return self._apply(tx, fire(self.machine, before.status, proposed, event))

    def _apply(self, tx: Transaction, decision: Decision[Order]) -> Order:
        """Carry out a rule's decision in this unit of work: record its events on the order's
        stream and move stock as its steps say, in their order. Returns the decided order."""
        order = decision.order
        stream = order_stream(order.id)
        for step in decision.steps:
            if isinstance(step, Reserve):
                self._reserve(tx, order, step.items)
            elif isinstance(step, Release):
                self._release(tx, order, step.items)
            elif isinstance(step, Commit):
                tx.record(
                    stream,
                    StockCommitted(
                        tx.uow.stock.release(order.id, aggregate(step.items), shipped=True)
                    ),
                )
            else:
                tx.record(stream, step)
        return order

    def _save(self, tx: Transaction, before: Order, after: Order) -> Order:
        after = evolve(after, version=before.version + 1, updated_at=tx.now)
        tx.uow.orders.save(after)
        return after

    def _mutate(
        self,
        order_id: str,
        actor: str,
        reason: str,
        change: Callable[[Transaction, Order], Order],
    ) -> Order:
        def body(tx: Transaction) -> Order:
            before = self._load(tx.uow, order_id, for_update=True)
            after = change(tx, before)
            if after is not before:
                after = self._save(tx, before, after)
            self._commit(tx, after)
            return after

        return self._run(actor, reason, body)

    def _commit(self, tx: Transaction, order: Order | None) -> None:
        """Queue the notifications for ``order`` (the order the command changed; None for
        commands about stock alone) and its stock events, append the events, and commit.

        Every command ends here, so none can commit a change without its notifications.
        """
        self._queue_notifications(tx, order)
        if tx.events:
            tx.uow.events.append(tx.events)
        tx.uow.commit()

    def _queue_notifications(self, tx: Transaction, order: Order | None) -> None:
        """Queue what the notifiers make of this command, in the command's unit of work."""
        drafts: list[tuple[str | None, OutboxDraft]] = []
        if self.notifier is not None and order is not None and tx.events:
            drafts += [(order.id, d) for d in self.notifier.notifications(order, tuple(tx.events))]
        stock = tuple(e for e in tx.events if is_stock_stream(e.stream))
        if self.stock_notifier is not None and stock:
            drafts += [(None, d) for d in self.stock_notifier.stock_notifications(stock)]
        entries = [self._outbox_entry(tx, about, i, d) for i, (about, d) in enumerate(drafts)]
        if not entries:
            return
        check_new_entries(entries)
        tx.uow.outbox.add(entries)
        for e in entries:
            queued = NotificationQueued(e.entry_id, e.kind, e.channel, e.recipient, e.locale)
            tx.record(entry_stream(e), queued)

    def _outbox_entry(
        self, tx: Transaction, order_id: str | None, index: int, draft: OutboxDraft
    ) -> OutboxEntry:
        """The entry for a draft: a new id (also its dedup key unless the draft has one),
        about the command's order (if any) unless the draft names another, due now."""
        for field in ("kind", "channel"):
            value = getattr(draft, field)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(
                    f"notifications[{index}].{field}", "the notifier must give a non-empty name"
                )
        entry_id = self.ids.new_id()
        return OutboxEntry(
            entry_id=entry_id,
            kind=draft.kind,
            channel=draft.channel,
            recipient=draft.recipient,
            locale=draft.locale,
            payload=draft.payload,
            order_id=draft.order_id or order_id,
            dedup_key=draft.dedup_key or entry_id,
            status=OutboxStatus.QUEUED,
            attempts=0,
            created_at=tx.now,
            next_attempt_at=tx.now,
        )

    def _reserve(self, tx: Transaction, order: Order, items: Iterable[StockMovement]) -> None:
        wanted = aggregate(items)
        if not wanted:
            return
        levels = tx.uow.stock.reserve(order.id, wanted)
        tx.record(order_stream(order.id), StockReserved(wanted))
        by_key = {(m.sku, m.location): m.quantity for m in wanted}
        for level in levels:
            before = level.available + by_key.get((level.sku, level.location), 0)
            self._maybe_low(tx, level, before)

    def _release(
        self, tx: Transaction, order: Order, items: Iterable[StockMovement] | None = None
    ) -> None:
        released = tx.uow.stock.release(order.id, None if items is None else aggregate(items))
        if released:
            tx.record(order_stream(order.id), StockReleased(released))

    def _put_stock(
        self,
        tx: Transaction,
        sku: str,
        location: str,
        rule: Callable[[StockLevel | None], StockLevel],
    ) -> tuple[StockLevel | None, StockLevel]:
        """Apply a stock rule of :mod:`orderkit.domain.inventory` to the level as stored and
        write the result if nothing changed meanwhile; return the levels before and after."""
        found = tx.uow.stock.all(sku=sku, location=location)
        before = found[0] if found else None
        return before, tx.uow.stock.put(rule(before), expected=before)

    def _restock(self, tx: Transaction, sku: str, location: str, quantity: int) -> StockLevel:
        """Add ``quantity`` to on hand (creating the SKU's record if needed)."""
        _, level = self._put_stock(
            tx, sku, location, lambda stored: received(stored, sku, location, quantity)
        )
        return level

    def _by_tracking(self, uow: UnitOfWork, carrier: str, tracking_number: str) -> Order | None:
        """The most recently placed order with a parcel of this carrier and number, or None."""
        query = OrderQuery(carrier=carrier, tracking_number=tracking_number, limit=1)
        return next(iter(uow.orders.find(query).items), None)

    def _maybe_low(
        self,
        tx: Transaction,
        level: StockLevel,
        available_before: int,
        threshold_before: int | None = None,
    ) -> None:
        before = level.low_stock_threshold if threshold_before is None else threshold_before
        if became_low(level, available_before, before):
            tx.record(
                stock_stream(level.sku, level.location),
                LowStock(level.sku, level.location, level.available, level.low_stock_threshold),
            )

    def _claim(
        self, tx: Transaction, key: str | None, command: str, request: Any, result_id: str
    ) -> str | None:
        """Claim an idempotency key; return the original result id if it was used before."""
        if key is None:
            return None
        if not isinstance(key, str) or not key:
            raise ValidationError("idempotency_key", "must be a non-empty string")
        digest = hashlib.sha256(dumps(get_converter().unstructure(request)).encode()).hexdigest()
        existing = tx.uow.idempotency.claim(
            IdempotencyRecord(key, command, digest, result_id, tx.now)
        )
        if existing is None:
            return None
        if existing.command != command or existing.request_hash != digest:
            raise IdempotencyConflict(key, command)
        return existing.result_id

    def _pay_if_settled(self, tx: Transaction, order: Order) -> Order:
        """Move an order paid in full without a payment along ``pay`` (see
        :func:`~orderkit.domain.payments.settle_if_paid`)."""
        return self._apply(tx, settle_if_paid(order, self.machine))

    def _simple(self, order_id: str, event: str, actor: str, reason: str) -> Order:
        def change(tx: Transaction, order: Order) -> Order:
            return self._fire(tx, order, order, event)

        return self._mutate(order_id, actor, reason, change)

    def _close(self, order_id: str, event: str, actor: str, reason: str) -> Order:
        def change(tx: Transaction, order: Order) -> Order:
            return self._apply(tx, close(order, event, self.machine))

        return self._mutate(order_id, actor, reason, change)

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            OrderNotFound: there is none.
        """
        with self.storage.reader() as uow:
            return self._load(uow, order_id)
