"""Shipping commands of :class:`orderkit.OrderService`: carriers, tracking, receipt, auto-complete.

A carrier (or a tracking aggregator) pushes :class:`~orderkit.shipping.TrackingEvent` s;
:meth:`ShippingCommands.ingest_tracking` finds the parcel by carrier and tracking number
(an indexed lookup in every storage adapter) and lets the event drive the order:

- the same event id twice changes nothing (the ids are kept on the shipment);
- a parcel's state only moves forward by :func:`tracking_rank`, so an ``in_transit`` that
  arrives after ``delivered`` is kept in the history but moves nothing back;
- every parcel of the order delivered moves the order to ``delivered``;
- ``exception`` records :class:`~orderkit.events.ShipmentException` (the logistics-exception
  notification) and tags the order ``logistics-exception`` until the parcel moves on; a host
  machine with a ``logistics_exception`` event (into a review state, say) has it fired, and
  must allow ``deliver`` from that state too, or the order stays held after delivery;
- ``returned_to_sender`` records :class:`~orderkit.events.ShipmentReturnedToSender` and tags
  the order ``returned-to-sender``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import attrs

from orderkit.aftersales import ReturnStatus
from orderkit.clock import describe_duration, require_utc
from orderkit.errors import InvalidTransition, ShipmentNotFound, ValidationError
from orderkit.events import (
    OrderDelivered,
    ReceiptConfirmed,
    ShipmentDelivered,
    ShipmentException,
    ShipmentReturnedToSender,
    TagAdded,
    TagRemoved,
    TrackingUpdated,
    order_stream,
)
from orderkit.lifecycle import OrderEvent, OrderStatus
from orderkit.order import Address, Order, Shipment, ShipmentLine
from orderkit.ports import Carrier, OrderQuery, Storage, UnitOfWork
from orderkit.shipping import Parcel, ShipmentLabel, TrackingEvent, TrackingStatus
from orderkit.status import StatusMachine

if TYPE_CHECKING:
    from collections.abc import Callable

    from orderkit.service import _Tx

__all__ = [
    "EXCEPTION_TAG",
    "LOGISTICS_EXCEPTION_EVENT",
    "RETURNED_TAG",
    "ShippingCommands",
    "ship_event",
    "shipment_label",
    "shipment_lines",
    "tracking_rank",
]

T = TypeVar("T")

EXCEPTION_TAG = "logistics-exception"
RETURNED_TAG = "returned-to-sender"
LOGISTICS_EXCEPTION_EVENT = "logistics_exception"
"""Fired on the order when a parcel reports an exception, if the order machine has it (the
default machine does not, so the status stays). The state it leads to needs a ``deliver``
transition, or the order stays there once its parcels arrive (see docs/shipments.md)."""

_STAGE = {
    TrackingStatus.LABEL_CREATED: 0,
    TrackingStatus.IN_TRANSIT: 1,
    TrackingStatus.OUT_FOR_DELIVERY: 1,
    TrackingStatus.EXCEPTION: 1,
    TrackingStatus.DELIVERED: 2,
    TrackingStatus.RETURNED_TO_SENDER: 2,
}
_SETTLED = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER})


def tracking_rank(event: TrackingEvent) -> tuple[int, datetime]:
    """How far along a parcel an event puts it: its stage, then its time.

    Stages: ``label_created`` < moving (``in_transit``, ``out_for_delivery``, ``exception``)
    < settled (``delivered``, ``returned_to_sender``). Within a stage the newer event wins,
    so a parcel can go from ``exception`` back to ``in_transit``; a settled parcel never
    moves again.
    """
    return _STAGE[event.status], event.at


def _whole_positive(field: str, quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError(field, f"must be a whole number of at least 1, got {quantity!r}")


def shipment_lines(order: Order, lines: Mapping[str, int] | None) -> list[ShipmentLine]:
    """The lines a shipment of ``lines`` (everything unshipped when None) would carry.

    Raises:
        ValidationError: an unknown line, a quantity below 1 or above what is left to ship,
            or nothing left to ship at all.
    """
    wanted = (
        {ln.line_id: order.quantity_unshipped(ln.line_id) for ln in order.lines}
        if lines is None
        else dict(lines)
    )
    wanted = {k: v for k, v in wanted.items() if v > 0 or lines is not None}
    if not wanted:
        raise ValidationError("lines", f"order {order.number} has nothing left to ship")
    result = []
    for line_id, qty in wanted.items():
        order.line(line_id)
        _whole_positive(f"lines[{line_id}]", qty)
        left = order.quantity_unshipped(line_id)
        if qty > left:
            raise ValidationError(
                f"lines[{line_id}]", f"{qty} requested but only {left} left to ship"
            )
        result.append(ShipmentLine(line_id, qty))
    return result


def ship_event(shipped: Order) -> str:
    """The event an order fires once a shipment is added to it: ``ship`` when nothing is
    left to ship, ``ship_partial`` otherwise."""
    return OrderEvent.SHIP if shipped.is_fully_shipped else OrderEvent.SHIP_PARTIAL


def shipment_label(
    carrier: str | None, tracking_number: str, tracking_url: str, label: ShipmentLabel | None
) -> ShipmentLabel:
    """The label a shipment is made from: ``label`` as a carrier gave it, or one built from
    the carrier code (``manual`` when None), tracking number and URL given by hand.

    Raises:
        ValidationError: ``carrier`` contradicts the label's carrier.
    """
    if label is None:
        return ShipmentLabel(carrier or "manual", "", tracking_number, tracking_url=tracking_url)
    if carrier is not None and carrier != label.carrier:
        raise ValidationError(
            "carrier", f"{carrier!r} contradicts the label's carrier {label.carrier!r}"
        )
    return label


def _check_event(event: TrackingEvent) -> None:
    if not isinstance(event, TrackingEvent):
        raise ValidationError("event", "must be an orderkit.shipping.TrackingEvent")
    for name in ("event_id", "carrier", "tracking_number"):
        value = getattr(event, name)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"event.{name}", "must be a non-empty string")
    if event.status not in TrackingStatus.ALL:
        raise ValidationError(
            "event.status",
            f"{event.status!r} is not a normalized tracking status; map the carrier's code "
            f"onto one of {', '.join(TrackingStatus.ALL)}",
        )
    require_utc("event.at", event.at)


def _delivered_at(order: Order) -> datetime | None:
    """When the last of the order's parcels arrived (None while one is still on its way)."""
    if order.parcels_in_transit:
        return None
    times = [s.delivered_at for s in order.shipments if s.return_id is None and s.delivered_at]
    return max(times, default=None)


class ShippingCommands:
    """Shipping commands, mixed into :class:`orderkit.OrderService` (which supplies the
    unit-of-work machinery declared below for the type checker)."""

    if TYPE_CHECKING:
        storage: Storage
        machine: StatusMachine[Order]

        def _now(self) -> datetime: ...
        def _run(self, actor: str, reason: str, body: Callable[[_Tx], T]) -> T: ...
        def _load(self, uow: UnitOfWork, order_id: str, *, for_update: bool = False) -> Order: ...
        def _fire(self, tx: _Tx, before: Order, proposed: Order, event: str) -> Order: ...
        def _save(self, tx: _Tx, before: Order, after: Order) -> Order: ...
        def _mutate(
            self, order_id: str, actor: str, reason: str, change: Callable[[_Tx, Order], Order]
        ) -> Order: ...
        def get(self, order_id: str) -> Order: ...
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
        ) -> Order: ...

    # -- carriers ---------------------------------------------------------------------------

    def ship_with(
        self,
        order_id: str,
        carrier: Carrier,
        lines: Mapping[str, int] | None = None,
        *,
        origin: Address,
        service: str,
        parcels: Sequence[Parcel] | None = None,
        actor: str = "system",
        reason: str = "",
    ) -> Order:
        """Book a shipment with ``carrier`` and ship ``lines`` (everything left when None).

        Without ``parcels`` the goods go in one parcel weighing what the lines' weights add
        up to; every line shipped must then have a ``weight_grams`` (there is no default
        weight: a guessed one would buy the wrong label). The carrier gets the reference
        ``<order number>/<parcel number>``
        (``SO-2026-000123/2`` for an order's second parcel), one per parcel, so carriers that
        key bookings on it never hand two parcels one number. The lines, and whether the
        order's status lets them ship, are checked before anything is booked; the booking is
        then made before the order is written, so if the order changes in between (paid back
        or shipped by someone else) shipping fails with the error :meth:`ship` raises, and the
        label stays booked but unused (orderkit does not cancel it with the carrier).

        Raises:
            ValidationError: as :meth:`ship`, checked before anything is booked; or
                ``parcels`` is None and a line shipped has no weight.
            InvalidTransition: the order cannot ship in its status (e.g. unpaid or closed),
                checked before anything is booked.
            CarrierError: the carrier refused the booking; nothing is written.
        """
        order = self.get(order_id)
        wanted = shipment_lines(order, lines)
        # Ask the machine (guards included) before a real label is bought.
        planned = Shipment("(planned)", tuple(wanted), "", "", self._now())
        shipped = attrs.evolve(order, shipments=(*order.shipments, planned))
        self.machine.fire(shipped, order.status, ship_event(shipped))
        if parcels is None:
            parcels = [_one_parcel(order, wanted)]
        # One reference per parcel: carriers key bookings (and idempotent re-bookings) on it.
        reference = f"{order.number}/{len(order.shipments) + 1}"
        booked = carrier.create_shipment(
            origin, order.shipping_address, parcels, service=service, reference=reference
        )
        if not booked.tracking_url:
            booked = attrs.evolve(booked, tracking_url=carrier.tracking_url(booked.tracking_number))
        return self.ship(
            order_id,
            {sl.line_id: sl.quantity for sl in wanted},
            label=booked,
            actor=actor,
            reason=reason,
        )

    # -- tracking ---------------------------------------------------------------------------

    def ingest_tracking(self, event: TrackingEvent, *, actor: str = "carrier") -> Order:
        """Let one tracking update drive its parcel and order; see the module docstring.

        Idempotent by ``event.event_id``; safe against events arriving in any order.

        Raises:
            ValidationError: the event is malformed (an unknown status, a naive time, …).
            ShipmentNotFound: no order has a parcel with this carrier and tracking number.
        """
        _check_event(event)

        def body(tx: _Tx) -> Order:
            found = tx.uow.orders.find_by_tracking(event.carrier, event.tracking_number)
            if found is None:
                raise ShipmentNotFound(event.carrier, event.tracking_number)
            before = self._load(tx.uow, found.id, for_update=True)
            after = self._track(tx, before, event)
            if after is not before:
                after = self._save(tx, before, after)
            tx.commit(after)
            return after

        return self._run(actor, event.carrier_text or event.status, body)

    def ingest_tracking_batch(
        self, events: Iterable[TrackingEvent], *, actor: str = "carrier"
    ) -> list[Order]:
        """Ingest several updates (a carrier's batched push), oldest first, each in its own
        unit of work; returns the order after each. Every event is checked, and every parcel
        looked up, before the first is applied.

        Raises:
            ValidationError: an event is malformed; nothing is ingested.
            ShipmentNotFound: an event names an unknown parcel; nothing is ingested.
        """
        batch = list(events)
        for event in batch:
            _check_event(event)
        batch.sort(key=lambda event: event.at)
        with self.storage.reader() as uow:
            for event in batch:
                if uow.orders.find_by_tracking(event.carrier, event.tracking_number) is None:
                    raise ShipmentNotFound(event.carrier, event.tracking_number)
        return [self.ingest_tracking(event, actor=actor) for event in batch]

    def _track(self, tx: _Tx, order: Order, event: TrackingEvent) -> Order:
        stream = order_stream(order.id)
        index, shipment = next(
            (i, s)
            for i, s in enumerate(order.shipments)
            if s.carrier == event.carrier and s.tracking_number == event.tracking_number
        )
        if event.event_id in shipment.seen_event_ids:
            return order
        # A parcel the buyer confirmed (or a person marked delivered) is settled as well.
        settled = shipment.delivered_at is not None or shipment.tracking_status in _SETTLED
        applies = not settled and (
            not shipment.tracking
            or tracking_rank(event) > max(tracking_rank(e) for e in shipment.tracking)
        )
        updated = attrs.evolve(shipment, tracking=(*shipment.tracking, event))
        if applies:
            updated = attrs.evolve(updated, tracking_status=event.status)
        tx.record(
            stream, TrackingUpdated(shipment.shipment_id, event, updated.tracking_status, applies)
        )
        if applies and event.status == TrackingStatus.DELIVERED:
            updated = attrs.evolve(updated, delivered_at=event.at)
            tx.record(stream, ShipmentDelivered(shipment.shipment_id, event.at))
        shipments = list(order.shipments)
        shipments[index] = updated
        after = attrs.evolve(order, shipments=tuple(shipments))
        if not applies:
            return after
        parcel = (shipment.shipment_id, event.carrier, event.tracking_number, event)
        if event.status == TrackingStatus.EXCEPTION:
            tx.record(stream, ShipmentException(*parcel))
            after = self._tag(tx, after, EXCEPTION_TAG, add=True)
            if self.machine.can_fire(after, after.status, LOGISTICS_EXCEPTION_EVENT):
                after = self._fire(tx, after, after, LOGISTICS_EXCEPTION_EVENT)
        elif not any(s.tracking_status == TrackingStatus.EXCEPTION for s in after.shipments):
            after = self._tag(tx, after, EXCEPTION_TAG, add=False)
        if event.status == TrackingStatus.RETURNED_TO_SENDER:
            tx.record(stream, ShipmentReturnedToSender(*parcel))
            after = self._tag(tx, after, RETURNED_TAG, add=True)
        return self._deliver_if_all_arrived(tx, after)

    def _tag(self, tx: _Tx, order: Order, tag: str, *, add: bool) -> Order:
        if add == (tag in order.tags):
            return order
        if add:
            tx.record(order_stream(order.id), TagAdded(tag))
            return attrs.evolve(order, tags=(*order.tags, tag))
        tx.record(order_stream(order.id), TagRemoved(tag))
        return attrs.evolve(order, tags=tuple(t for t in order.tags if t != tag))

    def _arrive(self, tx: _Tx, order: Order) -> Order:
        """Mark the parcels still on their way (:attr:`Order.parcels_in_transit`: the order's
        own, not paid back as lost) delivered now, each with a ``ShipmentDelivered``; an
        exchange's replacement parcels are left to their tracking."""
        arriving = {s.shipment_id for s in order.parcels_in_transit}
        for shipment in order.shipments:
            if shipment.shipment_id in arriving:
                tx.record(order_stream(order.id), ShipmentDelivered(shipment.shipment_id, tx.now))
        return attrs.evolve(
            order,
            shipments=tuple(
                attrs.evolve(s, delivered_at=tx.now) if s.shipment_id in arriving else s
                for s in order.shipments
            ),
        )

    def _deliver_if_all_arrived(self, tx: _Tx, order: Order) -> Order:
        """Fire ``deliver`` once nothing of the order is on its way any more."""
        if order.parcels_in_transit or not order.shipments:
            return order
        if not self.machine.can_fire(order, order.status, OrderEvent.DELIVER):
            return order
        after = self._fire(tx, order, order, OrderEvent.DELIVER)
        own = tuple(s.shipment_id for s in order.shipments if s.return_id is None)
        tx.record(order_stream(order.id), OrderDelivered(own))
        return after

    # -- receipt and completion -------------------------------------------------------------

    def confirm_receipt(self, order_id: str, *, actor: str = "customer", reason: str = "") -> Order:
        """The buyer confirms receipt (确认收货): the order completes (交易成功).

        A shipped order whose parcels the carrier has not reported delivered is delivered
        first (its parcels are marked delivered now), then completed: two transitions of
        the default machine, both in the log, so the machine needs no shortcut.

        Raises:
            InvalidTransition: the order is not fully shipped or delivered.
        """

        def change(tx: _Tx, order: Order) -> Order:
            if order.status == OrderStatus.DELIVERED:
                tx.record(order_stream(order.id), ReceiptConfirmed(()))
                return self._fire(tx, order, order, OrderEvent.COMPLETE)
            if not self.machine.can_fire(order, order.status, OrderEvent.DELIVER):
                # Let the machine say why, naming the allowed events.
                self._fire(tx, order, order, OrderEvent.COMPLETE)
            arriving = {s.shipment_id for s in order.parcels_in_transit}
            tx.record(order_stream(order.id), ReceiptConfirmed(tuple(sorted(arriving))))
            delivered = self._deliver_if_all_arrived(tx, self._arrive(tx, order))
            return self._fire(tx, delivered, delivered, OrderEvent.COMPLETE)

        return self._mutate(order_id, actor, reason, change)

    def complete_delivered(
        self, *, older_than: timedelta, actor: str = "system", limit: int = 100
    ) -> list[Order]:
        """Complete orders delivered more than ``older_than`` ago (auto-confirm, 自动确认收货).

        Run it from a scheduler. Each order completes in its own unit of work; one the buyer
        completed meanwhile, or with a return still open, is left alone. Returns the orders
        completed (at most ``limit``).

        Raises:
            ValidationError: ``older_than`` is negative or ``limit`` below 1.
        """
        if older_than < timedelta(0):
            raise ValidationError("older_than", "must not be negative")
        _whole_positive("limit", limit)
        cutoff = self._now() - older_than
        due: list[str] = []
        cursor: str | None = None
        # An order delivered before the cutoff was placed before it, which narrows the scan.
        query = OrderQuery(status=OrderStatus.DELIVERED, placed_to=cutoff, limit=200)
        while len(due) < limit:
            with self.storage.reader() as uow:
                page = uow.orders.find(attrs.evolve(query, cursor=cursor))
            due.extend(o.id for o in page.items if _ready(o, cutoff))
            cursor = page.next_cursor
            if cursor is None:
                break
        reason = f"auto-confirmed {describe_duration(older_than)} after delivery"
        completed = []
        for order_id in due[:limit]:

            def change(tx: _Tx, order: Order) -> Order:
                if not _ready(order, cutoff):
                    return order
                return self._fire(tx, order, order, OrderEvent.COMPLETE)

            try:
                after = self._mutate(order_id, actor, reason, change)
            except InvalidTransition:
                continue
            if after.status == OrderStatus.COMPLETED:
                completed.append(after)
        return completed


_OPEN_RETURN = frozenset({ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED})


def _ready(order: Order, cutoff: datetime) -> bool:
    delivered = _delivered_at(order)
    return (
        order.status == OrderStatus.DELIVERED
        and delivered is not None
        and delivered <= cutoff
        and not any(r.status in _OPEN_RETURN for r in order.returns)
    )


def _one_parcel(order: Order, wanted: Sequence[ShipmentLine]) -> Parcel:
    """One parcel holding ``wanted``, weighing what its lines weigh.

    Raises:
        ValidationError: (``parcels``) a line has no weight, naming it.
    """
    weightless = [sl.line_id for sl in wanted if order.line(sl.line_id).weight_grams <= 0]
    if weightless:
        raise ValidationError(
            "parcels",
            f"{'lines' if len(weightless) > 1 else 'line'} {', '.join(weightless)} of order "
            f"{order.number} {'have' if len(weightless) > 1 else 'has'} no weight_grams, so the "
            "parcel's weight is unknown; pass parcels=[Parcel(weight_grams, items)] or give "
            "the lines their weights",
        )
    weight = sum(order.line(sl.line_id).weight_grams * sl.quantity for sl in wanted)
    return Parcel(weight, items=sum(sl.quantity for sl in wanted))
