"""The ports: what orderkit needs from the world, as ``typing.Protocol`` classes.

Storage adapters implement :class:`Storage` and the repositories reached through a
:class:`UnitOfWork`; anything with the right methods will do, no subclassing required. The
contract suite in :mod:`orderkit.testing` checks an implementation behaves like the shipped
ones, errors included.

Every repository method runs inside the unit of work it was reached through; nothing is
visible to other units of work until :meth:`UnitOfWork.commit`. Leaving the
``unit_of_work()`` block without committing rolls everything back.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from orderkit.domain.address import AddressReport
from orderkit.domain.events import NewEvent, RecordedEvent
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.domain.money import Money
from orderkit.domain.order import Address, Order
from orderkit.domain.receipt import PersonalizationBlock, Receipt
from orderkit.domain.shipping import Parcel, RateQuote, ShipmentLabel, TrackingEvent
from orderkit.notify.message import Message
from orderkit.notify.outbox import (
    OutboxDraft,
    OutboxEntry,
    OutboxPage,
    OutboxQuery,
)
from orderkit.queries import IdempotencyRecord, OrderQuery, Page

__all__ = [
    "AddressChecker",
    "Carrier",
    "Channel",
    "Clock",
    "EventLog",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyStore",
    "Notifier",
    "OrderQuery",
    "OrderRepository",
    "OutboxRepository",
    "Page",
    "PaymentsPort",
    "PersonalizationProvider",
    "Renderer",
    "Sequences",
    "StockNotifier",
    "StockRepository",
    "Storage",
    "UnitOfWork",
]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time as a timezone-aware UTC datetime."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique id. Ids that sort by creation time make the best order ids."""
        ...


class OrderRepository(Protocol):
    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """The order with this id, or None. ``for_update`` locks it until the unit of work ends
        where the database has row locks (adapters without them serialize writers anyway)."""
        ...

    def save(self, order: Order) -> None:
        """Store ``order`` over the version before it: a new order (``version`` 1) is
        inserted, any later version replaces the stored order whose version is
        ``order.version - 1``.

        Raises:
            ConcurrencyConflict: for a new order, an order with this id or number already
                exists; for a later version, the stored version is not ``order.version - 1``
                (someone else saved first) or the order does not exist.
        """
        ...

    def find(self, query: OrderQuery) -> Page:
        """Orders matching every filter of ``query``, newest first, one page at a time; with
        ``query.with_total``, the page's ``total`` counts every match, all pages together.

        ``query`` checked its own filters when it was made; an adapter applies them as given
        (a status, channel or tag filter matches any of its values). Adapters index the
        ``number`` and ``carrier`` + ``tracking_number`` filters: the service looks orders up
        by them (carriers push tracking updates by number, many per parcel).

        Raises:
            ValidationError: the cursor is malformed (not one a previous page handed out).
        """
        ...


class StockRepository(Protocol):
    def all(self, *, sku: str | None = None, location: str | None = None) -> list[StockLevel]:
        """Every stock level, sorted by SKU and location; with ``sku`` or ``location``, only
        the levels of that SKU or at that location. With both, the one level, or none when
        the SKU was never stocked there: the service reads a level so before each write, so
        adapters look it up by key.
        """
        ...

    def put(self, level: StockLevel, *, expected: StockLevel | None) -> StockLevel:
        """Write ``level`` if the stored level is still ``expected`` (a compare-and-set);
        ``expected=None`` means there must be no stock record yet. Return ``level``.

        The rules (receive, adjust, thresholds: :mod:`orderkit.domain.inventory`) are
        computed above the port from a level read in the same unit of work; this write only
        checks nothing changed meanwhile.

        Raises:
            ConcurrencyConflict: the stored level is not ``expected`` (a reservation or
                another write got there first; the service runs the command again).
        """
        ...

    def reserve(self, order_id: str, items: Sequence[StockMovement]) -> list[StockLevel]:
        """Reserve every item for the order, all or nothing; return the levels after.

        The service hands ``items`` aggregated and sorted
        (:func:`orderkit.domain.inventory.aggregate`: one movement per SKU and location, so
        two lines of one SKU are checked against stock together); the adapter takes its
        locks in that order and returns the levels in it.

        Raises:
            OutOfStock: naming the first item whose available quantity is too small. The
                unit of work must then be rolled back (the service does this).
        """
        ...

    def release(
        self,
        order_id: str,
        items: Sequence[StockMovement] | None = None,
        *,
        shipped: bool = False,
    ) -> tuple[StockMovement, ...]:
        """Give back the order's reservations (all of them when ``items`` is None); with
        ``shipped``, the units left the warehouse (a commit): on hand drops with reserved.
        ``items`` come aggregated and sorted, as for :meth:`reserve`.

        Returns what was released; releasing twice releases nothing the second time.

        Raises:
            ValidationError: an item asks to release (or ship) more than the order holds.
        """
        ...

    def reservations(self, order_id: str | None = None) -> list[tuple[str, StockMovement]]:
        """Held reservations as ``(order_id, movement)``, sorted by order, SKU and location:
        the one order's with ``order_id``, every order's without (for integrity checks)."""
        ...


class EventLog(Protocol):
    def append(self, events: Sequence[NewEvent]) -> None:
        """Append events in order. The log is append-only: nothing updates or deletes."""
        ...

    def read(
        self, after: int = 0, limit: int | None = 1000, *, stream: str | None = None
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events with ``position > after``, oldest first (every one with
        ``limit=None``); with ``stream``, only that stream's (``read(stream=name,
        limit=None)`` is a whole stream, as the service loads an order's history).

        Adapters index the ``stream`` filter: the service reads one order's stream often.
        """
        ...


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store ``record`` unless its key exists; return the existing record if it does.

        Where the database allows concurrent writers, a second claim of a key whose first
        claim is not yet committed waits for that unit of work to finish.
        """
        ...


class Sequences(Protocol):
    def next(self, name: str) -> int:
        """The next value (1, 2, 3, …) of a named counter; gapless, rolled back with the
        unit of work."""
        ...


class OutboxRepository(Protocol):
    """Notifications waiting to be delivered, and their delivery state.

    A dispatcher claims due entries (status ``sending`` with a lease), sends them outside any
    unit of work, then records the outcome for the attempt it claimed. ``attempts`` counts
    claims, so a dispatcher that dies mid-send still uses up an attempt.
    """

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        """Insert new entries, all or nothing; store each payload as
        :func:`orderkit.serialization.dumps` writes it, and read it back as JSON reads.

        The caller checked them (:func:`orderkit.notify.outbox.check_new_entries`): each is
        ``queued`` with no attempts, its fields of the right types, its payload JSON-ready.

        Raises:
            ConcurrencyConflict: an entry with this id already exists.
        """
        ...

    def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        channels: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        """Claim up to ``limit`` entries that are due, oldest due first; return them oldest
        created first.

        Due means ``queued`` with ``next_attempt_at <= now``, or ``sending`` whose lease
        (``next_attempt_at``) ran out by ``now``; with ``channels``, only entries for one of
        those channels. Each claimed entry becomes ``sending`` with
        ``next_attempt_at = lease_until`` and one more attempt. Entries another unit of
        work is claiming at the same moment are skipped, never claimed twice.

        The caller (the dispatcher) hands a ``limit`` in 1..1000, aware datetimes and a
        ``lease_until`` after ``now``; the adapter trusts them.
        """
        ...

    def update(self, entry: OutboxEntry, *, expected: OutboxEntry) -> OutboxEntry:
        """Store ``entry`` (its status, attempts, times and error) if the stored entry is
        still in the state of ``expected``: the same ``status`` and ``attempts``, the claim
        token (a compare-and-set). Return ``entry``.

        The next state is computed above the port by the pure functions of
        :mod:`orderkit.notify.outbox` (:func:`~orderkit.notify.outbox.mark_sent`,
        :func:`~orderkit.notify.outbox.mark_failed`, :func:`~orderkit.notify.outbox.requeue`).

        Raises:
            OutboxEntryNotFound: there is no such entry.
            LeaseLost: the stored entry is not in the state of ``expected`` any more (its
                lease ran out and it was claimed again, or its outcome was already recorded).
        """
        ...

    def find(self, query: OutboxQuery) -> OutboxPage:
        """Entries matching every filter of ``query``, oldest first, one page at a time.

        ``query`` checked its own filters when it was made. The ``entry_id`` filter is how
        one entry is read (:func:`orderkit.notify.outbox.entry_by_id`): adapters look it up
        by key.

        Raises:
            ValidationError: the cursor is malformed (not one a previous page handed out).
        """
        ...


class UnitOfWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def sequences(self) -> Sequences: ...
    @property
    def outbox(self) -> OutboxRepository: ...

    def commit(self) -> None:
        """Make every change of this unit of work durable and visible, atomically.

        Raises:
            TransientStorageError: the database asked for a retry (the whole command is
                then run again by the service).
        """
        ...


class Storage(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """Begin a writing unit of work. Leaving the block without ``commit()`` rolls back.

        Raises:
            TransientStorageError: the database stayed busy past its timeout.
        """
        ...

    def reader(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only unit of work on a consistent snapshot; writes through it are errors."""
        ...

    def close(self) -> None:
        """Release connections. The storage may not be used afterwards."""
        ...


class Channel(Protocol):
    """A way to reach people or systems: email, a webhook, SMS, a folder of files.

    Channels are called by the outbox dispatcher, outside any unit of work.
    """

    @property
    def name(self) -> str:
        """The name outbox entries use to pick this channel (``email``, ``webhook``, …)."""
        ...

    def send(self, message: Message) -> None:
        """Deliver one message; return only once the receiving side has accepted it.

        Pass ``message.dedup_key`` on where the receiving side can honour it.

        Raises:
            DeliveryFailed: it was not delivered; ``retryable`` says whether trying again
                later can help (a timeout, a 5xx) or not (an address that does not exist).
        """
        ...


class Carrier(Protocol):
    """A shipping carrier: rates, labels, tracking."""

    @property
    def code(self) -> str:
        """The carrier's short code (``sf-express``, ``ups``, ``table-rate``, …)."""
        ...

    def quote(
        self, origin: Address, destination: Address, parcels: Sequence[Parcel]
    ) -> list[RateQuote]:
        """The services and prices offered for these parcels, cheapest first.

        Raises:
            ValidationError: no parcels, or a parcel weighing nothing (``field`` names it).
            CarrierError: the carrier cannot serve this route or these parcels.
        """
        ...

    def create_shipment(
        self,
        origin: Address,
        destination: Address,
        parcels: Sequence[Parcel],
        *,
        service: str,
        reference: str,
    ) -> ShipmentLabel:
        """Book the shipment and return its tracking number and label reference.

        ``reference`` is the shop's own (the order number); carriers that accept an
        idempotency key use it so a retried booking does not book twice.

        Raises:
            ValidationError: no parcels, or a parcel weighing nothing.
            CarrierError: the booking was refused (e.g. a service the carrier does not offer).
        """
        ...

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """Every tracking event known for the number, oldest first.

        Raises:
            InvalidTrackingNumber: the number is not one this carrier issues.
            CarrierError: the carrier could not be asked.
        """
        ...

    def tracking_url(self, tracking_number: str) -> str:
        """A page where the customer can follow the parcel; it contains the number.

        Raises:
            InvalidTrackingNumber: the number is not one this carrier issues.
        """
        ...


class AddressChecker(Protocol):
    """Decides whether an address can be shipped to and whether it deserves a look.

    :class:`orderkit.adapters.address.AddressValidator` is the shipped one; a host may plug in an
    address verification service instead.
    """

    def validate(self, address: Address, *, field: str = "address") -> AddressReport:
        """The address normalized, with its suspicions (empty when nothing is odd).

        ``field`` prefixes the field names in errors (``shipping_address.postal_code``).

        Raises:
            AddressInvalid: the address cannot be used; the error names the field.
        """
        ...


class PaymentsPort(Protocol):
    """The host's payment provider, for paying refunds back (optional: without it, the host
    pays the refund itself and passes its provider's reference)."""

    def refund(self, order: Order, amount: Money, *, idempotency_key: str) -> str:
        """Pay ``amount`` back to the customer of ``order``; return the provider's reference.

        The same ``idempotency_key`` may arrive again when orderkit retries a command: pass
        it to the provider so the money goes out once.

        Raises:
            PaymentError: the provider refused the refund; nothing is recorded.
        """
        ...


class PersonalizationProvider(Protocol):
    """The host's personal touch on receipts: recommended products, a coupon, a thank-you."""

    def blocks_for(self, receipt: Receipt, kind: str) -> Sequence[PersonalizationBlock]:
        """The blocks to show on ``receipt``, a receipt of ``kind`` (a :class:`ReceiptKind`).

        Called when the receipt is rendered for sending (by the dispatcher, with no
        transaction open), so it may call a recommendation service. Return plain data;
        return nothing to show nothing.

        Raises:
            Anything: the receipt is sent without blocks and the failure is logged (logger
            ``orderkit.notify.receipt_notifier``); no order or message waits for it.
        """
        ...


class Notifier(Protocol):
    def notifications(self, order: Order, events: Sequence[NewEvent]) -> list[OutboxDraft]:
        """The notifications a command's events call for, given the order after it.

        Pure: no I/O. Called inside the command's unit of work; what it returns is queued
        in the same transaction.
        """
        ...


class StockNotifier(Protocol):
    def stock_notifications(self, events: Sequence[NewEvent]) -> list[OutboxDraft]:
        """The notifications a command's stock events call for (``LowStock`` above all).

        Handed the events a command recorded on stock streams (``stock:SKU@location``),
        whether the command is about stock alone (``adjust_stock``,
        ``set_low_stock_threshold``) or about an order (a placement reserving the last
        units); commands that record none do not call it. There is no order to go with
        the events, so a draft's ``order_id`` stays None unless the notifier names one.

        Pure: no I/O. Called inside the command's unit of work; what it returns is queued
        in the same transaction.
        """
        ...


class Renderer(Protocol):
    def render(self, entry: OutboxEntry) -> Message:
        """The message for one outbox entry, in the entry's locale.

        The dispatcher sets the message's ``message_id`` and ``dedup_key`` from the entry.

        Raises:
            Exception: anything; the dispatcher records the error and makes the entry
                ``dead`` (a message that cannot be rendered now will not render later).
        """
        ...
