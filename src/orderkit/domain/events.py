"""Domain events: the append-only modification record of every order and stock item.

An event is two parts. The *payload* (``OrderPlaced``, ``PaymentCaptured``, …) says what
happened; the :class:`RecordedEvent` envelope around it says to which stream (``order:<id>``
or ``stock:<sku>@<location>``), at which position in the log, when, by whom and why. Events
are written in the same transaction as the change they describe, so the log can answer "who
changed the price of line 2, when, why, and who approved it".

Payloads are plain frozen attrs classes registered by name, so the converter in
:mod:`orderkit.serialization` can store and load them and a host can export or replay them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import attrs

from orderkit.domain.address import Suspicion
from orderkit.domain.aftersales import Return, ReturnLine
from orderkit.domain.inventory import StockMovement
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Address,
    Adjustment,
    EditRequest,
    LineItem,
    Payment,
    Refund,
    Shipment,
)
from orderkit.domain.shipping import TrackingEvent

__all__ = [
    "EVENT_TYPES",
    "AddressFlagged",
    "EditApplied",
    "EditRejected",
    "EditRequested",
    "FieldChange",
    "LowStock",
    "NewEvent",
    "NoteAdded",
    "NotificationFailed",
    "NotificationQueued",
    "NotificationSent",
    "OrderDelivered",
    "OrderPlaced",
    "OrderShipped",
    "PaymentCaptured",
    "PaymentReminderDue",
    "ReceiptClicked",
    "ReceiptConfirmed",
    "ReceiptOpened",
    "RecordedEvent",
    "RefundIssued",
    "ReturnApproved",
    "ReturnExchanged",
    "ReturnReceived",
    "ReturnRejected",
    "ReturnRequested",
    "ShipmentDelivered",
    "ShipmentException",
    "ShipmentReturnedToSender",
    "StatusChanged",
    "StockAdjusted",
    "StockCommitted",
    "StockReceived",
    "StockReleased",
    "StockReserved",
    "StockWrittenOff",
    "TagAdded",
    "TagRemoved",
    "TrackingUpdated",
    "is_stock_stream",
    "notification_stream",
    "order_stream",
    "stock_stream",
]

EVENT_TYPES: dict[str, type] = {}

E = TypeVar("E", bound=type)


def event_type(cls: E) -> E:
    """Register a payload class under its class name (the ``type`` stored with the event)."""
    EVENT_TYPES[cls.__name__] = cls
    return cls


def order_stream(order_id: str) -> str:
    return f"order:{order_id}"


def stock_stream(sku: str, location: str) -> str:
    return f"stock:{sku}@{location}"


def is_stock_stream(stream: str) -> bool:
    """Whether ``stream`` is a stock level's (:func:`stock_stream`), not an order's."""
    return stream.startswith("stock:")


def notification_stream(entry_id: str) -> str:
    """The stream of an outbox entry that belongs to no order (its life is recorded there)."""
    return f"notification:{entry_id}"


@attrs.frozen
class FieldChange:
    """One field of an order before and after an edit, as people read them."""

    field: str
    old: str
    new: str


@event_type
@attrs.frozen
class OrderPlaced:
    number: str
    customer_id: str
    channel: str
    currency: str
    total: Money
    lines: tuple[LineItem, ...]
    adjustments: tuple[Adjustment, ...]
    shipping_address: Address


@event_type
@attrs.frozen
class StatusChanged:
    from_status: str
    to_status: str
    event: str


@event_type
@attrs.frozen
class PaymentCaptured:
    payment: Payment
    balance_due: Money


@event_type
@attrs.frozen
class RefundIssued:
    refund: Refund
    total_refunded: Money


@event_type
@attrs.frozen
class StockReserved:
    items: tuple[StockMovement, ...]


@event_type
@attrs.frozen
class StockReleased:
    items: tuple[StockMovement, ...]


@event_type
@attrs.frozen
class StockCommitted:
    items: tuple[StockMovement, ...]


@event_type
@attrs.frozen
class OrderShipped:
    shipment: Shipment


@event_type
@attrs.frozen
class OrderDelivered:
    shipment_ids: tuple[str, ...]


@event_type
@attrs.frozen
class EditRequested:
    edit: EditRequest


@event_type
@attrs.frozen
class EditApplied:
    edit_id: str
    requested_by: str
    approved_by: str | None
    changes: tuple[FieldChange, ...]


@event_type
@attrs.frozen
class EditRejected:
    edit_id: str
    requested_by: str
    rejected_by: str


@event_type
@attrs.frozen
class TagAdded:
    tag: str


@event_type
@attrs.frozen
class TagRemoved:
    tag: str


@event_type
@attrs.frozen
class NoteAdded:
    text: str


@event_type
@attrs.frozen
class StockReceived:
    sku: str
    location: str
    quantity: int
    on_hand: int


@event_type
@attrs.frozen
class StockAdjusted:
    sku: str
    location: str
    delta: int
    on_hand: int


@event_type
@attrs.frozen
class LowStock:
    sku: str
    location: str
    available: int
    threshold: int


@event_type
@attrs.frozen
class TrackingUpdated:
    """A tracking event was ingested. ``applied`` is False for one that arrived late (the
    parcel had already moved past it): it is kept in the history but moved nothing."""

    shipment_id: str
    event: TrackingEvent
    status: str
    applied: bool


@event_type
@attrs.frozen
class ShipmentDelivered:
    shipment_id: str
    at: datetime


@event_type
@attrs.frozen
class ShipmentException:
    """The carrier reported a problem with a parcel (the logistics-exception notification)."""

    shipment_id: str
    carrier: str
    tracking_number: str
    event: TrackingEvent


@event_type
@attrs.frozen
class ShipmentReturnedToSender:
    shipment_id: str
    carrier: str
    tracking_number: str
    event: TrackingEvent


@event_type
@attrs.frozen
class ReceiptConfirmed:
    """The buyer confirmed receipt; ``shipment_ids`` are the parcels this marked delivered."""

    shipment_ids: tuple[str, ...]


@event_type
@attrs.frozen
class ReturnRequested:
    request: Return


@event_type
@attrs.frozen
class ReturnApproved:
    return_id: str
    kind: str
    lines: tuple[ReturnLine, ...]


@event_type
@attrs.frozen
class ReturnRejected:
    return_id: str


@event_type
@attrs.frozen
class ReturnReceived:
    """Returned goods arrived; each line says whether it was restocked or written off."""

    return_id: str
    lines: tuple[ReturnLine, ...]


@event_type
@attrs.frozen
class ReturnExchanged:
    return_id: str
    shipment_id: str


@event_type
@attrs.frozen
class StockWrittenOff:
    """Returned units that came back unsellable: recorded, never added to on hand."""

    sku: str
    location: str
    quantity: int
    return_id: str


@event_type
@attrs.frozen
class AddressFlagged:
    """An order's address is valid but deserves a look (a PO box, no house number, …)."""

    field: str
    suspicions: tuple[Suspicion, ...]


@event_type
@attrs.frozen
class PaymentReminderDue:
    """An order is still unpaid long after it was placed; a notifier turns this into a
    ``payment_reminder``. Recorded at most once per order."""

    placed_at: datetime
    balance_due: Money


@event_type
@attrs.frozen
class NotificationQueued:
    """A notification was written to the outbox (or re-queued by a manual re-send)."""

    entry_id: str
    kind: str
    channel: str
    recipient: str
    locale: str


@event_type
@attrs.frozen
class NotificationSent:
    """A channel accepted the message on delivery attempt ``attempt`` (1 for the first).

    ``locale`` is the one the message was rendered in: what the renderer negotiated from the
    entry's (``de_AT`` is sent in ``de``); empty on events recorded before it was kept.
    """

    entry_id: str
    kind: str
    channel: str
    attempt: int
    locale: str = ""


@event_type
@attrs.frozen
class NotificationFailed:
    """A delivery attempt failed: retried at ``retry_at``, or ``dead`` (given up) when None."""

    entry_id: str
    kind: str
    channel: str
    attempt: int
    error: str
    dead: bool
    retry_at: datetime | None = None


@event_type
@attrs.frozen
class ReceiptOpened:
    """The recipient opened the message (its tracking image was fetched); repeats are kept."""

    entry_id: str


@event_type
@attrs.frozen
class ReceiptClicked:
    """The recipient followed a tracked link in the message."""

    entry_id: str
    url: str


@attrs.frozen
class NewEvent:
    """An event about to be appended; storage gives it a position."""

    stream: str
    at: datetime
    actor: str
    reason: str
    payload: object

    @property
    def type(self) -> str:
        return type(self.payload).__name__


@attrs.frozen
class RecordedEvent:
    """An event as stored: ``position`` orders the whole log, oldest first."""

    position: int
    stream: str
    type: str
    at: datetime
    actor: str
    reason: str
    payload: object
