"""``OrderService``: one method per command, each run in one unit of work.

A command loads what it needs, asks the domain what changes, writes the new order, the stock
changes and the events together, and commits. If anything raises, the unit of work is rolled
back: storage is exactly as it was. Commands the database asks to retry (a busy SQLite file,
a PostgreSQL serialization failure or deadlock, an optimistic version conflict) are run again
from the start, a bounded number of times.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from orderkit.address import ADDRESS_REVIEW_TAG, Suspicion
from orderkit.aftersales import ReturnPolicy, return_machine
from orderkit.clock import SystemClock, UlidGenerator, describe_duration, require_utc
from orderkit.edits import EditPolicy, apply_edit
from orderkit.errors import (
    ConcurrencyConflict,
    EditNotFound,
    IdempotencyConflict,
    InvalidTransition,
    OrderNotFound,
    OutboxEntryNotFound,
    Overpayment,
    RefundExceedsPayment,
    SelfApproval,
    TransientStorageError,
    ValidationError,
)
from orderkit.events import (
    AddressFlagged,
    EditApplied,
    EditRejected,
    EditRequested,
    LowStock,
    NewEvent,
    NoteAdded,
    NotificationQueued,
    OrderPlaced,
    OrderShipped,
    PaymentCaptured,
    PaymentReminderDue,
    ReceiptClicked,
    ReceiptOpened,
    RecordedEvent,
    RefundIssued,
    StatusChanged,
    StockAdjusted,
    StockCommitted,
    StockMovement,
    StockReceived,
    StockReleased,
    StockReserved,
    TagAdded,
    TagRemoved,
    order_stream,
    stock_stream,
)
from orderkit.inventory import ReservationPolicy, StockLevel, aggregate, integrity_problems
from orderkit.lifecycle import COMMAND_EVENTS, OrderEvent, default_order_machine
from orderkit.money import Money
from orderkit.order import (
    ChangeAddress,
    EditOp,
    EditRequest,
    LineItem,
    Note,
    Order,
    OrderDraft,
    Payment,
    Refund,
    Shipment,
    ShipmentLine,
    check_currency,
    validate_draft,
)
from orderkit.outbox import Notifier, OutboxDraft, OutboxEntry, OutboxStatus, entry_stream
from orderkit.ports import (
    AddressChecker,
    Clock,
    IdempotencyRecord,
    IdGenerator,
    OrderQuery,
    Page,
    PaymentsPort,
    Storage,
    UnitOfWork,
)
from orderkit.serialization import dumps, get_converter
from orderkit.service_aftersales import AfterSalesCommands
from orderkit.service_shipping import (
    ShippingCommands,
    _whole_positive,
    ship_event,
    shipment_label,
    shipment_lines,
)
from orderkit.shipping import ShipmentLabel
from orderkit.status import StatusMachine

__all__ = ["OrderNumbering", "OrderService"]

T = TypeVar("T")


@attrs.frozen
class OrderNumbering:
    """Readable order numbers from a gapless per-shop sequence: ``SO-2026-000123``.

    With ``yearly=True`` the counter restarts each (UTC) year.
    """

    prefix: str = "SO"
    width: int = 6
    yearly: bool = True

    def sequence_name(self, at: datetime) -> str:
        return (
            f"order-number:{self.prefix}:{at.year}"
            if self.yearly
            else f"order-number:{self.prefix}"
        )

    def format(self, value: int, at: datetime) -> str:
        middle = f"-{at.year}" if self.yearly else ""
        return f"{self.prefix}{middle}-{value:0{self.width}d}"


class _Tx:
    """One command's unit of work plus the events it will append.

    ``before_commit`` sees the order a command changed just before it commits; the service
    queues the notifier's notifications there, so no command can commit an order change
    without them.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        now: datetime,
        actor: str,
        reason: str,
        before_commit: Callable[[_Tx, Order], None],
    ) -> None:
        self.uow = uow
        self.now = now
        self.actor = actor
        self.reason = reason
        self.events: list[NewEvent] = []
        self._before_commit = before_commit

    def record(self, stream: str, payload: object) -> None:
        self.events.append(NewEvent(stream, self.now, self.actor, self.reason, payload))

    def commit(self, order: Order | None) -> None:
        """Append the events and commit. ``order`` is the order the command changed (None
        for commands about stock alone); it is required so a command cannot forget it."""
        if order is not None:
            self._before_commit(self, order)
        if self.events:
            self.uow.events.append(self.events)
        self.uow.commit()


def _require_actor(actor: str) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise ValidationError("actor", "say who is acting, e.g. actor='alice@shop' or 'system'")


class OrderService(ShippingCommands, AfterSalesCommands):
    """The commands and queries of the order domain.

    Tracking ingest, buyer confirmation and auto-completion come from
    :class:`~orderkit.service_shipping.ShippingCommands`; returns, exchanges and refunds by
    line from :class:`~orderkit.service_aftersales.AfterSalesCommands`.

    Args:
        storage: a :class:`orderkit.ports.Storage` (memory, SQLite, PostgreSQL, or your own).
        clock: where "now" comes from; UTC system time by default.
        ids: the id generator for orders, payments and shipments; ULIDs by default.
        machine: the order status machine; :func:`default_order_machine` by default.
        numbering: how readable order numbers look.
        reservation_policy: reserve stock when the order is placed (default) or when paid.
        edit_policy: which edits need approval and when edits are allowed.
        max_attempts: how often a command is tried when storage asks for a retry.
        address_checker: checks addresses at placement beyond the basic check (e.g. an
            :class:`~orderkit.address.AddressValidator`); None runs the basic check only.
        address_review_event: the machine's event that holds an order whose address is
            flagged (e.g. ``flag`` to ``awaiting_review``); ignored when the machine has no
            such transition from the initial state.
        notifier: decides which notifications each command queues in the outbox (in the
            command's own unit of work); none are queued without one.
        return_policy: the shop's after-sales rules (return window, accepted kinds).
        payments: the host's payment provider for paying refunds back; without it, refunds
            need the reference of a refund the host made itself.
    """

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
        self.return_policy = return_policy or ReturnPolicy()
        self.return_machine = return_machine()
        self.payments = payments

    # -- running commands ------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_utc("clock.now()", self.clock.now())

    def _run(self, actor: str, reason: str, body: Callable[[_Tx], T]) -> T:
        _require_actor(actor)
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self.storage.unit_of_work() as uow:
                    return body(_Tx(uow, self._now(), actor, reason, self._queue_notifications))
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
            raise OrderNotFound(order_id)
        return order

    def _fire(self, tx: _Tx, before: Order, proposed: Order, event: str) -> Order:
        """Move ``proposed`` (the order with this command's changes) along ``event``."""
        target = self.machine.fire(proposed, before.status, event)
        tx.record(order_stream(before.id), StatusChanged(before.status, target, event))
        return attrs.evolve(proposed, status=target)

    def _save(self, tx: _Tx, before: Order, after: Order) -> Order:
        after = attrs.evolve(after, version=before.version + 1, updated_at=tx.now)
        tx.uow.orders.save(after)
        return after

    def _mutate(
        self,
        order_id: str,
        actor: str,
        reason: str,
        change: Callable[[_Tx, Order], Order],
    ) -> Order:
        def body(tx: _Tx) -> Order:
            before = self._load(tx.uow, order_id, for_update=True)
            after = change(tx, before)
            if after is not before:
                after = self._save(tx, before, after)
            tx.commit(after)
            return after

        return self._run(actor, reason, body)

    def _queue_notifications(self, tx: _Tx, order: Order) -> None:
        """Queue what the notifier makes of this command, in the command's unit of work."""
        if self.notifier is None or not tx.events:
            return
        drafts = self.notifier.notifications(order, tuple(tx.events))
        entries = [self._outbox_entry(tx, order, i, d) for i, d in enumerate(drafts)]
        if not entries:
            return
        tx.uow.outbox.add(entries)
        for e in entries:
            queued = NotificationQueued(e.entry_id, e.kind, e.channel, e.recipient, e.locale)
            tx.record(entry_stream(e), queued)

    def _outbox_entry(self, tx: _Tx, order: Order, index: int, draft: OutboxDraft) -> OutboxEntry:
        """The entry for a draft: a new id (also its dedup key unless the draft has one),
        about this order unless the draft names another, due now."""
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
            order_id=draft.order_id or order.id,
            dedup_key=draft.dedup_key or entry_id,
            status=OutboxStatus.QUEUED,
            attempts=0,
            created_at=tx.now,
            next_attempt_at=tx.now,
        )

    def _reserve(self, tx: _Tx, order: Order, items: Iterable[StockMovement]) -> None:
        wanted = aggregate(items)
        if not wanted:
            return
        levels = tx.uow.stock.reserve(order.id, wanted)
        tx.record(order_stream(order.id), StockReserved(wanted))
        by_key = {(m.sku, m.location): m.quantity for m in wanted}
        for level in levels:
            before = level.available + by_key.get((level.sku, level.location), 0)
            self._maybe_low(tx, level, before)

    def _release(self, tx: _Tx, order: Order, items: Iterable[StockMovement] | None = None) -> None:
        released = tx.uow.stock.release(order.id, None if items is None else aggregate(items))
        if released:
            tx.record(order_stream(order.id), StockReleased(released))

    def _maybe_low(self, tx: _Tx, level: StockLevel, available_before: int) -> None:
        threshold = level.low_stock_threshold
        if level.available < threshold <= available_before:
            tx.record(
                stock_stream(level.sku, level.location),
                LowStock(level.sku, level.location, level.available, threshold),
            )

    @staticmethod
    def _movements(lines: Iterable[LineItem]) -> list[StockMovement]:
        return [StockMovement(line.sku, line.location, line.quantity) for line in lines]

    @staticmethod
    def _unshipped(order: Order) -> list[StockMovement]:
        """What is left to ship: ordered units less shipped and cancelled ones."""
        return [
            StockMovement(line.sku, line.location, left)
            for line in order.lines
            if (left := order.quantity_unshipped(line.line_id)) > 0
        ]

    def _claim(
        self, tx: _Tx, key: str | None, command: str, request: Any, result_id: str
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

    def _check_addresses(self, draft: OrderDraft) -> tuple[OrderDraft, tuple[Suspicion, ...]]:
        """The draft with its addresses normalized by the checker, and the shipping address's
        suspicions. Raises AddressInvalid naming the field."""
        checker = self.address_checker
        if checker is None:
            return draft, ()
        shipping = checker.validate(draft.shipping_address, field="shipping_address")
        billing = draft.billing_address
        if billing is not None:
            billing = checker.validate(billing, field="billing_address").address
        draft = attrs.evolve(draft, shipping_address=shipping.address, billing_address=billing)
        return draft, shipping.suspicions

    def _flag_address(self, tx: _Tx, order: Order, suspicions: tuple[Suspicion, ...]) -> Order:
        """Record why the address deserves a look, tag the order, and hold it if the machine
        has a review hold."""
        stream = order_stream(order.id)
        tx.record(stream, AddressFlagged("shipping_address", suspicions))
        if ADDRESS_REVIEW_TAG not in order.tags:
            tx.record(stream, TagAdded(ADDRESS_REVIEW_TAG))
            order = attrs.evolve(order, tags=(*order.tags, ADDRESS_REVIEW_TAG))
        if self.machine.can_fire(order, order.status, self.address_review_event):
            order = self._fire(tx, order, order, self.address_review_event)
        return order

    # -- commands ---------------------------------------------------------------------------

    def place(
        self,
        draft: OrderDraft,
        *,
        actor: str = "system",
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """Place an order: validate it, number it, reserve its stock (by policy), record it.

        With an ``idempotency_key``, placing the same draft again returns the original order
        (even while the first placement is still committing elsewhere); a different draft
        with the same key raises :class:`IdempotencyConflict`.

        With an ``address_checker``, the addresses are stored as it normalized them. A
        shipping address it finds suspicious is still placed, and flagged: an
        ``AddressFlagged`` event, the ``address-review`` tag, and the machine's
        ``address_review_event`` (e.g. to ``awaiting_review``) when it has one.

        An order with nothing to pay (a total of zero) is paid in full when placed: it moves
        on along ``pay`` at once (reserving its stock under ``AT_PAYMENT``).

        Raises:
            ValidationError: a field of the draft is malformed (the error names it).
            AddressInvalid: the address checker refused an address (the error names the field).
            CurrencyMismatch: prices, costs or adjustments in different currencies.
            OutOfStock: a SKU has too little available stock; nothing is reserved.
            IdempotencyConflict: the key was used for a different request.
        """
        currency = validate_draft(draft)
        request = draft
        draft, suspicions = self._check_addresses(draft)

        def body(tx: _Tx) -> Order:
            order_id = self.ids.new_id()
            original = self._claim(tx, idempotency_key, "place", request, order_id)
            if original is not None:
                return self._load(tx.uow, original)
            lines = tuple(LineItem.from_draft(f"L{i + 1}", d) for i, d in enumerate(draft.lines))
            order = Order(
                id=order_id,
                number="",
                customer=draft.customer,
                shipping_address=draft.shipping_address,
                billing_address=draft.billing_address,
                lines=lines,
                currency=currency,
                status=self.machine.initial,
                created_at=tx.now,
                updated_at=tx.now,
                channel=draft.channel,
                prices_include_tax=draft.prices_include_tax,
                adjustments=draft.adjustments,
                tags=draft.tags,
                group=draft.group,
                locale=draft.locale,
                notes=(Note(tx.now, tx.actor, draft.note),) if draft.note else (),
                lines_issued=len(lines),
                tax_policy=draft.tax_policy,
            )
            if self.reservation_policy is ReservationPolicy.AT_PLACEMENT:
                self._reserve(tx, order, self._movements(lines))
                order = attrs.evolve(order, stock_reserved=True)
            if suspicions:
                order = self._flag_address(tx, order, suspicions)
            # The number is drawn last: the sequence row is a hot spot, held briefly.
            number = self.numbering.format(
                tx.uow.sequences.next(self.numbering.sequence_name(tx.now)), tx.now
            )
            order = attrs.evolve(order, number=number)
            order = self._pay_if_settled(tx, order)  # a free order has nothing to pay
            tx.events.insert(
                0,
                NewEvent(
                    order_stream(order.id),
                    tx.now,
                    tx.actor,
                    tx.reason,
                    OrderPlaced(
                        number,
                        draft.customer.id,
                        draft.channel,
                        currency,
                        order.total,
                        lines,
                        draft.adjustments,
                        draft.shipping_address,
                    ),
                ),
            )
            tx.uow.orders.add(order)
            tx.commit(order)
            return order

        return self._run(actor, reason, body)

    def pay(
        self,
        order_id: str,
        amount: Money,
        *,
        reference: str,
        method: str = "",
        actor: str = "system",
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """Record a captured payment; paid in full, the order moves on (``pay``).

        Partial payments are recorded and leave the status as it is. With the
        ``AT_PAYMENT`` reservation policy, paying in full reserves the stock.

        Raises:
            InvalidTransition: the order is not awaiting payment.
            Overpayment: the amount exceeds the balance due.
            OutOfStock: (``AT_PAYMENT`` policy) stock ran out; the payment is not recorded.
            IdempotencyConflict: the key was used for a different request.
        """
        if not isinstance(amount, Money) or not amount.is_positive:
            raise ValidationError("amount", "must be a positive Money")
        if not isinstance(reference, str) or not reference:
            raise ValidationError("reference", "give the payment provider's reference")

        def change(tx: _Tx, order: Order) -> Order:
            payment_id = self.ids.new_id()
            request = {"order_id": order_id, "amount": amount, "reference": reference}
            if self._claim(tx, idempotency_key, "pay", request, payment_id) is not None:
                return order
            if OrderEvent.PAY not in self.machine.allowed_events(order.status):
                raise InvalidTransition(
                    order.status, OrderEvent.PAY, self.machine.allowed_events(order.status)
                )
            check_currency(amount, order.currency)
            if amount > order.balance_due:
                raise Overpayment(
                    f"order {order.number} has {order.balance_due} due; a payment of {amount} "
                    "is too much"
                )
            payment = Payment(payment_id, amount, reference, method, tx.now)
            after = attrs.evolve(order, payments=(*order.payments, payment))
            tx.record(order_stream(order.id), PaymentCaptured(payment, after.balance_due))
            if not after.is_paid_in_full:
                return after
            return self._fire_pay(tx, after)

        return self._mutate(order_id, actor, reason, change)

    def _fire_pay(self, tx: _Tx, order: Order) -> Order:
        """Move an order paid in full along ``pay``, reserving its stock first under the
        ``AT_PAYMENT`` policy."""
        if not order.stock_reserved:
            self._reserve(tx, order, self._unshipped(order))
            order = attrs.evolve(order, stock_reserved=True)
        return self._fire(tx, order, order, OrderEvent.PAY)

    def _pay_if_settled(self, tx: _Tx, order: Order) -> Order:
        """Fire ``pay`` on an order that became paid in full without a payment (a free order
        when placed, an edit lowering the total to what was paid) when its status has it."""
        if order.is_paid_in_full and self.machine.can_fire(order, order.status, OrderEvent.PAY):
            return self._fire_pay(tx, order)
        return order

    def ship(
        self,
        order_id: str,
        lines: Mapping[str, int] | None = None,
        *,
        carrier: str | None = None,
        tracking_number: str = "",
        tracking_url: str = "",
        label: ShipmentLabel | None = None,
        actor: str = "system",
        reason: str = "",
    ) -> Order:
        """Ship some or all of what is left: ``lines`` maps line ids to quantities.

        Without ``lines`` everything unshipped goes. Stock is committed for exactly the
        shipped quantities; the order becomes ``shipped`` or ``partially_shipped``. Name the
        carrier and tracking number yourself (``carrier`` defaults to ``"manual"``), or pass
        the ``label`` a carrier booked (:meth:`ship_with` books one through a carrier).

        Raises:
            ValidationError: an unknown line, a quantity below 1 or above what is unshipped,
                or a ``carrier`` that contradicts the ``label``.
            InvalidTransition: the order cannot ship in its status (e.g. not paid).
        """
        booked = shipment_label(carrier, tracking_number, tracking_url, label)

        def change(tx: _Tx, order: Order) -> Order:
            return self._add_shipment(tx, order, shipment_lines(order, lines), booked)

        return self._mutate(order_id, actor, reason, change)

    def _add_shipment(
        self,
        tx: _Tx,
        order: Order,
        lines: Sequence[ShipmentLine],
        label: ShipmentLabel,
        *,
        return_id: str | None = None,
    ) -> Order:
        """Add a shipment of ``lines`` and commit their reserved stock.

        The order moves to ``shipped`` or ``partially_shipped``, except for an exchange's
        replacement (``return_id``), which leaves the status as it is.

        Raises:
            ValidationError: the tracking number is already on a parcel (tracking updates
                could not tell the two apart).
        """
        if label.tracking_number:
            holder = tx.uow.orders.find_by_tracking(label.carrier, label.tracking_number)
            if holder is not None:
                raise ValidationError(
                    "tracking_number",
                    f"{label.carrier} {label.tracking_number} is already on a parcel of order "
                    f"{holder.number}; every parcel needs its own tracking number",
                )
        shipment = Shipment(
            self.ids.new_id(),
            tuple(lines),
            label.carrier,
            label.tracking_number,
            tx.now,
            tracking_url=label.tracking_url,
            service=label.service,
            label_ref=label.label_ref,
            return_id=return_id,
        )
        items = aggregate(
            StockMovement(order.line(sl.line_id).sku, order.line(sl.line_id).location, sl.quantity)
            for sl in lines
        )
        after = attrs.evolve(order, shipments=(*order.shipments, shipment))
        if return_id is None:
            after = self._fire(tx, order, after, ship_event(after))
        committed = tx.uow.stock.commit(order.id, items)
        tx.record(order_stream(order.id), OrderShipped(shipment))
        tx.record(order_stream(order.id), StockCommitted(committed))
        return after

    def _simple(self, order_id: str, event: str, actor: str, reason: str) -> Order:
        def change(tx: _Tx, order: Order) -> Order:
            return self._fire(tx, order, order, event)

        return self._mutate(order_id, actor, reason, change)

    def deliver(self, order_id: str, *, actor: str = "system", reason: str = "") -> Order:
        """Mark the parcels still on their way delivered now; the order becomes ``delivered``.

        This is what the carrier reporting every parcel delivered does (a
        ``ShipmentDelivered`` for each parcel, then ``OrderDelivered`` naming the order's own
        parcels); parcels paid back as lost and an exchange's replacement parcels are left as
        they are.

        Raises:
            InvalidTransition: the order is not shipped.
        """

        def change(tx: _Tx, order: Order) -> Order:
            if not self.machine.can_fire(order, order.status, OrderEvent.DELIVER):
                self._fire(tx, order, order, OrderEvent.DELIVER)  # let the machine say why
            return self._deliver_if_all_arrived(tx, self._arrive(tx, order))

        return self._mutate(order_id, actor, reason, change)

    def complete(self, order_id: str, *, actor: str = "system", reason: str = "") -> Order:
        """Close a delivered order as a success (交易成功).

        Raises:
            InvalidTransition: the order is not delivered.
        """
        return self._simple(order_id, OrderEvent.COMPLETE, actor, reason)

    def _close(self, order_id: str, event: str, actor: str, reason: str) -> Order:
        def change(tx: _Tx, order: Order) -> Order:
            after = self._fire(tx, order, order, event)
            self._release(tx, order)
            return attrs.evolve(after, stock_reserved=False)

        return self._mutate(order_id, actor, reason, change)

    def cancel(self, order_id: str, *, actor: str, reason: str) -> Order:
        """Cancel an order that holds no money; its reservations are released.

        Raises:
            GuardRefused: money is paid and not refunded (refund it, which closes the order).
            InvalidTransition: the order is past the point where it can be cancelled.
        """
        if not reason:
            raise ValidationError("reason", "say why the order is cancelled")
        return self._close(order_id, OrderEvent.CANCEL, actor, reason)

    def expire_unpaid(
        self, *, older_than: timedelta, actor: str = "system", limit: int = 100
    ) -> list[Order]:
        """Close orders still awaiting payment that were placed more than ``older_than`` ago.

        Each order is expired in its own unit of work; one that holds money (partly paid) or
        was paid or cancelled meanwhile is left alone and does not count towards ``limit``.
        Returns the orders expired (at most ``limit``). Run it from a scheduler.

        Raises:
            ValidationError: ``older_than`` is negative or ``limit`` below 1.
        """
        reason = f"unpaid after {describe_duration(older_than)}"

        def expire(order_id: str) -> Order | None:
            try:
                return self._close(order_id, OrderEvent.EXPIRE, actor, reason)
            except InvalidTransition:
                return None  # paid, partly paid or cancelled since we looked

        return self._scan_unpaid(
            older_than, limit, lambda uow, order: order.net_paid.is_zero, expire
        )

    def remind_unpaid(
        self, *, older_than: timedelta, actor: str = "system", limit: int = 100
    ) -> list[Order]:
        """Record ``PaymentReminderDue`` on orders still awaiting payment that were placed more
        than ``older_than`` ago and were never reminded; return those orders.

        Each order is reminded at most once, in its own unit of work (a notifier turns the
        event into a ``payment_reminder``). Run it from a scheduler, before
        :meth:`expire_unpaid` closes what stays unpaid longer.

        Raises:
            ValidationError: ``older_than`` is negative or ``limit`` below 1.
        """
        return self._scan_unpaid(
            older_than,
            limit,
            lambda uow, order: not self._was_reminded(uow, order.id),
            lambda order_id: self._remind(order_id, actor, older_than),
        )

    def _scan_unpaid(
        self,
        older_than: timedelta,
        limit: int,
        wanted: Callable[[UnitOfWork, Order], bool],
        act: Callable[[str], Order | None],
    ) -> list[Order]:
        """Page through the orders in the initial status placed more than ``older_than`` ago,
        newest first, and ``act`` on each ``wanted`` one (each in its own unit of work) until
        ``limit`` of them were acted on (``act`` returns None for one it left alone)."""
        if older_than < timedelta(0):
            raise ValidationError("older_than", "must not be negative")
        _whole_positive("limit", limit)
        query = OrderQuery(
            status=self.machine.initial, placed_to=self._now() - older_than, limit=100
        )
        done: list[Order] = []
        while len(done) < limit:
            with self.storage.reader() as uow:
                page = uow.orders.find(query)
                due = [o.id for o in page.items if wanted(uow, o)]
            for order_id in due:
                if len(done) == limit:
                    break
                order = act(order_id)
                if order is not None:
                    done.append(order)
            if page.next_cursor is None:
                break
            query = attrs.evolve(query, cursor=page.next_cursor)
        return done

    @staticmethod
    def _was_reminded(uow: UnitOfWork, order_id: str) -> bool:
        events = uow.events.stream(order_stream(order_id))
        return any(isinstance(e.payload, PaymentReminderDue) for e in events)

    def _remind(self, order_id: str, actor: str, older_than: timedelta) -> Order | None:
        reminded = False

        def change(tx: _Tx, order: Order) -> Order:
            nonlocal reminded
            # Looked at again under the order's lock: paid, or reminded by another worker.
            if order.status == self.machine.initial and not self._was_reminded(tx.uow, order.id):
                tx.record(
                    order_stream(order.id), PaymentReminderDue(order.created_at, order.balance_due)
                )
                reminded = True
            return order

        order = self._mutate(
            order_id, actor, f"unpaid after {describe_duration(older_than)}", change
        )
        return order if reminded else None

    def refund(
        self,
        order_id: str,
        amount: Money,
        *,
        reference: str,
        reason: str,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Order:
        """Record a refund made through the host's payment provider.

        A refund that brings what the shop holds to zero closes the order (``refund_full``)
        and releases its reservations; a partial refund keeps the status. Before the order is
        paid in full, a refund gives back everything held (the order can then be cancelled):
        a part of it would let the order be paid off short.

        Raises:
            RefundExceedsPayment: more than was paid and not yet refunded.
            ValidationError: an empty ``reference``; (``amount``) a part of what is held,
                before the order is paid in full.
        """
        if not isinstance(amount, Money) or not amount.is_positive:
            raise ValidationError("amount", "must be a positive Money")
        if not isinstance(reference, str) or not reference:
            raise ValidationError("reference", "give the payment provider's refund reference")
        if not reason:
            raise ValidationError("reason", "say why the money is refunded")

        def change(tx: _Tx, order: Order) -> Order:
            refund_id = self.ids.new_id()
            request = {"order_id": order_id, "amount": amount, "reference": reference}
            if self._claim(tx, idempotency_key, "refund", request, refund_id) is not None:
                return order
            check_currency(amount, order.currency)
            if amount > order.net_paid:
                raise RefundExceedsPayment(
                    f"order {order.number} holds {order.net_paid}; cannot refund {amount}"
                )
            if not order.is_paid_in_full and amount != order.net_paid:
                raise ValidationError(
                    "amount",
                    f"order {order.number} is not paid in full; refund everything it holds "
                    f"({order.net_paid}) and cancel it, or refund after it is paid",
                )
            refund = Refund(refund_id, amount, reference, reason, tx.now)
            after = attrs.evolve(order, refunds=(*order.refunds, refund))
            tx.record(order_stream(order.id), RefundIssued(refund, after.amount_refunded))
            if after.net_paid.is_zero and self.machine.can_fire(
                after, order.status, OrderEvent.REFUND_FULL
            ):
                after = self._fire(tx, order, after, OrderEvent.REFUND_FULL)
                self._release(tx, order)
                after = attrs.evolve(after, stock_reserved=False)
            return after

        return self._mutate(order_id, actor, reason, change)

    def transition(self, order_id: str, event: str, *, actor: str, reason: str = "") -> Order:
        """Fire a host-defined event (e.g. ``hold`` / ``release`` of an extended machine).

        The built-in events with side effects (pay, ship, cancel, …) have their own methods
        and are refused here so their money and stock work cannot be skipped.
        """
        if event in COMMAND_EVENTS:
            raise ValidationError(
                "event", f"{event!r} has its own command; call OrderService.{event}() instead"
            )
        return self._simple(order_id, event, actor, reason)

    # -- edits ------------------------------------------------------------------------------

    def request_edit(
        self, order_id: str, changes: Sequence[EditOp], *, actor: str, reason: str
    ) -> Order:
        """Ask for changes to a placed order.

        Changes the edit policy lets through (by default, an address) apply at once; any
        other change waits in ``order.pending_edits`` for :meth:`approve_edit`. An applied
        edit that lowers the total to what is already paid moves the order on along ``pay``.

        An address change goes through the ``address_checker`` too, and is stored normalized.

        Raises:
            EditNotAllowed: the order's status does not allow these changes.
            ValidationError: a change is malformed (the error names it).
            AddressInvalid: the address checker refused a new address.
        """
        if not reason:
            raise ValidationError("reason", "say why the order is edited")
        changes = tuple(changes)
        if self.address_checker is not None:
            changes = tuple(
                ChangeAddress(
                    self.address_checker.validate(op.address, field=f"changes[{i}].address").address
                )
                if isinstance(op, ChangeAddress)
                else op
                for i, op in enumerate(changes)
            )

        def change(tx: _Tx, order: Order) -> Order:
            self.edit_policy.check_allowed(order, changes)
            if not self.edit_policy.requires_approval(changes):
                return self._apply(tx, order, changes, tx.actor, None, "direct")
            apply_edit(order, changes)  # validate now, not only at approval time
            edit = EditRequest(self.ids.new_id(), changes, tx.actor, tx.now, tx.reason)
            tx.record(order_stream(order.id), EditRequested(edit))
            return attrs.evolve(order, pending_edits=(*order.pending_edits, edit))

        return self._mutate(order_id, actor, reason, change)

    def _apply(
        self,
        tx: _Tx,
        order: Order,
        changes: Sequence[EditOp],
        requested_by: str,
        approved_by: str | None,
        edit_id: str,
    ) -> Order:
        outcome = apply_edit(order, changes)
        if order.stock_reserved:
            self._release(tx, order, outcome.release)
            self._reserve(tx, order, outcome.reserve)
        tx.record(
            order_stream(order.id),
            EditApplied(edit_id, requested_by, approved_by, outcome.changes),
        )
        return self._pay_if_settled(tx, outcome.order)

    def _pending(self, order: Order, edit_id: str) -> EditRequest:
        for edit in order.pending_edits:
            if edit.edit_id == edit_id:
                return edit
        raise EditNotFound(order.id, edit_id)

    def approve_edit(self, order_id: str, edit_id: str, *, actor: str, reason: str = "") -> Order:
        """Approve and apply a pending edit, re-checked against the order as it is now.

        Raises:
            EditNotFound: no such pending edit.
            SelfApproval: the approver asked for the edit (unless the policy allows it).
            EditNotAllowed, ValidationError, OutOfStock: the edit no longer fits the order.
        """

        def change(tx: _Tx, order: Order) -> Order:
            edit = self._pending(order, edit_id)
            if edit.requested_by == tx.actor and not self.edit_policy.allow_self_approval:
                raise SelfApproval(
                    f"{tx.actor} requested edit {edit_id}; another person must approve it"
                )
            self.edit_policy.check_allowed(order, edit.changes)
            remaining = tuple(e for e in order.pending_edits if e.edit_id != edit_id)
            base = attrs.evolve(order, pending_edits=remaining)
            return self._apply(tx, base, edit.changes, edit.requested_by, tx.actor, edit_id)

        return self._mutate(order_id, actor, reason, change)

    def reject_edit(self, order_id: str, edit_id: str, *, actor: str, reason: str) -> Order:
        """Drop a pending edit, recording who rejected it and why."""

        def change(tx: _Tx, order: Order) -> Order:
            edit = self._pending(order, edit_id)
            tx.record(order_stream(order.id), EditRejected(edit_id, edit.requested_by, tx.actor))
            remaining = tuple(e for e in order.pending_edits if e.edit_id != edit_id)
            return attrs.evolve(order, pending_edits=remaining)

        return self._mutate(order_id, actor, reason, change)

    # -- delivery tracking ------------------------------------------------------------------

    def record_receipt_open(
        self, entry_id: str, *, at: datetime | None = None, actor: str = "recipient"
    ) -> None:
        """Record that the message of outbox entry ``entry_id`` was opened (its tracking
        image was fetched). Every open is recorded; reports count each message once.

        Raises:
            OutboxEntryNotFound: there is no such entry.
            ValidationError: ``at`` is not a timezone-aware datetime.
        """
        self._record_engagement(entry_id, ReceiptOpened(entry_id), at, actor)

    def record_receipt_click(
        self, entry_id: str, url: str, *, at: datetime | None = None, actor: str = "recipient"
    ) -> None:
        """Record that a tracked link to ``url`` in the message of ``entry_id`` was followed.

        Raises:
            OutboxEntryNotFound: there is no such entry.
            ValidationError: ``url`` is empty, or ``at`` is not a timezone-aware datetime.
        """
        if not isinstance(url, str) or not url.strip():
            raise ValidationError("url", "give the link that was followed")
        self._record_engagement(entry_id, ReceiptClicked(entry_id, url), at, actor)

    def _record_engagement(
        self, entry_id: str, payload: object, at: datetime | None, actor: str
    ) -> None:
        when = None if at is None else require_utc("at", at)

        def body(tx: _Tx) -> None:
            entry = tx.uow.outbox.get(entry_id)
            if entry is None:
                raise OutboxEntryNotFound(entry_id)
            tx.events.append(
                NewEvent(entry_stream(entry), when or tx.now, tx.actor, tx.reason, payload)
            )
            tx.commit(None)

        self._run(actor, "", body)

    # -- tags and notes ---------------------------------------------------------------------

    def add_tag(self, order_id: str, tag: str, *, actor: str, reason: str = "") -> Order:
        """Tag an order (``urgent``, ``vip``, …). Adding a tag it has changes nothing."""
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError("tag", "must be a non-empty string")

        def change(tx: _Tx, order: Order) -> Order:
            if tag in order.tags:
                return order
            tx.record(order_stream(order.id), TagAdded(tag))
            return attrs.evolve(order, tags=(*order.tags, tag))

        return self._mutate(order_id, actor, reason, change)

    def remove_tag(self, order_id: str, tag: str, *, actor: str, reason: str = "") -> Order:
        """Remove a tag; removing one the order does not have changes nothing."""

        def change(tx: _Tx, order: Order) -> Order:
            if tag not in order.tags:
                return order
            tx.record(order_stream(order.id), TagRemoved(tag))
            return attrs.evolve(order, tags=tuple(t for t in order.tags if t != tag))

        return self._mutate(order_id, actor, reason, change)

    def add_note(self, order_id: str, text: str, *, actor: str) -> Order:
        """Append a note to the order's history."""
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("text", "a note needs some text")

        def change(tx: _Tx, order: Order) -> Order:
            tx.record(order_stream(order.id), NoteAdded(text))
            return attrs.evolve(order, notes=(*order.notes, Note(tx.now, tx.actor, text)))

        return self._mutate(order_id, actor, "", change)

    # -- stock ------------------------------------------------------------------------------

    def receive_stock(
        self,
        sku: str,
        quantity: int,
        *,
        location: str = "default",
        actor: str = "system",
        reason: str = "",
    ) -> StockLevel:
        """Add received goods to on-hand stock (creating the SKU's record if needed)."""
        _whole_positive("quantity", quantity)

        def body(tx: _Tx) -> StockLevel:
            level = tx.uow.stock.receive(sku, location, quantity)
            tx.record(
                stock_stream(sku, location), StockReceived(sku, location, quantity, level.on_hand)
            )
            tx.commit(None)
            return level

        return self._run(actor, reason, body)

    def adjust_stock(
        self, sku: str, delta: int, *, location: str = "default", actor: str, reason: str
    ) -> StockLevel:
        """Correct on-hand stock by ``delta`` (a count, breakage, a write-off).

        Raises:
            InvalidStockAdjustment: on hand would go below zero or below what is reserved.
        """
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
            raise ValidationError("delta", "must be a non-zero whole number")
        if not reason:
            raise ValidationError("reason", "say why stock is adjusted")

        def body(tx: _Tx) -> StockLevel:
            level = tx.uow.stock.adjust(sku, location, delta)
            tx.record(
                stock_stream(sku, location), StockAdjusted(sku, location, delta, level.on_hand)
            )
            self._maybe_low(tx, level, level.available - delta)
            tx.commit(None)
            return level

        return self._run(actor, reason, body)

    def set_low_stock_threshold(
        self, sku: str, threshold: int, *, location: str = "default", actor: str = "system"
    ) -> StockLevel:
        """Raise a ``LowStock`` event whenever available stock drops below ``threshold``."""
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValidationError("threshold", "must be a whole number, 0 or more")

        def body(tx: _Tx) -> StockLevel:
            level = tx.uow.stock.set_threshold(sku, location, threshold)
            tx.commit(None)
            return level

        return self._run(actor, "", body)

    # -- queries ----------------------------------------------------------------------------

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            OrderNotFound: there is none.
        """
        with self.storage.reader() as uow:
            return self._load(uow, order_id)

    def get_by_number(self, number: str) -> Order:
        """The order with this readable number (``SO-2026-000123``).

        Raises:
            OrderNotFound: there is none.
        """
        with self.storage.reader() as uow:
            order = uow.orders.get_by_number(number)
        if order is None:
            raise OrderNotFound(number)
        return order

    def find(self, query: OrderQuery | None = None, **filters: Any) -> Page:
        """Orders matching a query (or keyword filters of :class:`OrderQuery`), newest first."""
        query = attrs.evolve(query or OrderQuery(), **filters)
        with self.storage.reader() as uow:
            return uow.orders.find(query)

    def history(self, order_id: str) -> list[RecordedEvent]:
        """The order's event log, oldest first: its modification record."""
        with self.storage.reader() as uow:
            self._load(uow, order_id)
            return uow.events.stream(order_stream(order_id))

    def stock(self, sku: str, location: str = "default") -> StockLevel:
        """The stock level of a SKU (all zero when it was never stocked)."""
        with self.storage.reader() as uow:
            level = uow.stock.get(sku, location)
        return level or StockLevel(sku, location, 0, 0)

    def stock_levels(self) -> list[StockLevel]:
        with self.storage.reader() as uow:
            return uow.stock.all()

    def check_integrity(self) -> list[str]:
        """Problems between stock levels, reservations and orders; empty when consistent."""
        with self.storage.reader() as uow:
            return integrity_problems(uow.stock.all(), uow.stock.all_reservations())
