"""The rules of shipping: what a shipment carries, how tracking drives a parcel and its order.

A carrier (or a tracking aggregator) pushes :class:`~orderkit.domain.shipping.TrackingEvent` s;
:func:`track` lets one drive its parcel and order:

- the same event id twice changes nothing (the ids are kept on the shipment);
- a parcel's state only moves forward by :func:`tracking_rank`, so an ``in_transit`` that
  arrives after ``delivered`` is kept in the history but moves nothing back;
- every parcel of the order delivered moves the order to ``delivered``;
- ``exception`` records :class:`~orderkit.domain.events.ShipmentException` (the
  logistics-exception notification) and tags the order ``logistics-exception`` until the
  parcel moves on; a host machine with a ``logistics_exception`` event (into a review state,
  say) has it fired, and must allow ``deliver`` from that state too, or the order stays held
  after delivery;
- ``returned_to_sender`` records :class:`~orderkit.domain.events.ShipmentReturnedToSender`
  and tags the order ``returned-to-sender``.

Every rule here is a pure function returning a :class:`~orderkit.domain.decision.Decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from orderkit.clock import require_utc
from orderkit.domain.aftersales import ReturnStatus
from orderkit.domain.checks import require_whole
from orderkit.domain.decision import Commit, Decision, fire
from orderkit.domain.events import (
    OrderDelivered,
    OrderShipped,
    ShipmentDelivered,
    ShipmentException,
    ShipmentReturnedToSender,
    TrackingUpdated,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import StockMovement, aggregate
from orderkit.domain.lifecycle import OrderEvent, OrderStatus
from orderkit.domain.order import Order, Shipment, ShipmentLine
from orderkit.domain.shipping import Parcel, ShipmentLabel, TrackingEvent, TrackingStatus
from orderkit.domain.status import StatusMachine
from orderkit.domain.tags import tag
from orderkit.errors import ValidationError

__all__ = [
    "EXCEPTION_TAG",
    "LOGISTICS_EXCEPTION_EVENT",
    "RETURNED_TAG",
    "add_shipment",
    "arrive",
    "check_tracking_event",
    "deliver_by_hand",
    "deliver_if_all_arrived",
    "delivered_at",
    "new_shipment",
    "one_parcel",
    "ready_to_complete",
    "ship_event",
    "shipment_label",
    "shipment_lines",
    "track",
    "tracking_rank",
]

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
        require_whole(f"lines[{line_id}]", qty)
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


def check_tracking_event(event: TrackingEvent) -> None:
    """Refuse a malformed tracking event, naming the field."""
    if not isinstance(event, TrackingEvent):
        raise ValidationError("event", "must be an orderkit.domain.shipping.TrackingEvent")
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


def delivered_at(order: Order) -> datetime | None:
    """When the last of the order's parcels arrived (None while one is still on its way)."""
    if order.parcels_in_transit:
        return None
    times = [s.delivered_at for s in order.shipments if s.return_id is None and s.delivered_at]
    return max(times, default=None)


def one_parcel(order: Order, wanted: Sequence[ShipmentLine]) -> Parcel:
    """One parcel holding ``wanted``, weighing what its lines weigh.

    Raises:
        ValidationError: (``parcels``) a line has no weight, naming it.
    """
    weightless = [sl.line_id for sl in wanted if order.line(sl.line_id).weight_grams <= 0]
    if weightless:
        many = len(weightless) > 1
        raise ValidationError(
            "parcels",
            f"{'lines' if many else 'line'} {', '.join(weightless)} of order {order.number} "
            f"{'have' if many else 'has'} no weight_grams, so the parcel's weight is unknown; "
            "pass parcels=[Parcel(weight_grams, items)] or give the lines their weights",
        )
    weight = sum(order.line(sl.line_id).weight_grams * sl.quantity for sl in wanted)
    return Parcel(weight, items=sum(sl.quantity for sl in wanted))


def new_shipment(
    shipment_id: str,
    lines: Sequence[ShipmentLine],
    label: ShipmentLabel,
    at: datetime,
    *,
    return_id: str | None = None,
) -> Shipment:
    """The shipment a label makes: carrier, tracking number and URL, service, label ref."""
    return Shipment(
        shipment_id,
        tuple(lines),
        label.carrier,
        label.tracking_number,
        at,
        tracking_url=label.tracking_url,
        service=label.service,
        label_ref=label.label_ref,
        return_id=return_id,
    )


def add_shipment(
    order: Order, shipment: Shipment, machine: StatusMachine[Order]
) -> Decision[Order]:
    """Add ``shipment`` and commit the reserved stock it carries.

    The order moves to ``shipped`` or ``partially_shipped``, except for an exchange's
    replacement (``shipment.return_id``), which leaves the status as it is.

    Raises:
        InvalidTransition, GuardRefused: the order cannot ship in its status.
    """
    items = aggregate(
        StockMovement(order.line(sl.line_id).sku, order.line(sl.line_id).location, sl.quantity)
        for sl in shipment.lines
    )
    after = evolve(order, shipments=(*order.shipments, shipment))
    moved = Decision(after)
    if shipment.return_id is None:
        moved = fire(machine, order.status, after, ship_event(after))
    return moved.record(OrderShipped(shipment), Commit(items))


def track(order: Order, event: TrackingEvent, machine: StatusMachine[Order]) -> Decision[Order]:
    """Let one tracking update drive its parcel and order (see the module docstring).

    ``order`` must have a parcel with the event's carrier and tracking number.
    """
    index, shipment = next(
        (i, s)
        for i, s in enumerate(order.shipments)
        if s.carrier == event.carrier and s.tracking_number == event.tracking_number
    )
    if event.event_id in shipment.seen_event_ids:
        return Decision(order)
    # A parcel the buyer confirmed (or a person marked delivered) is settled as well.
    settled = shipment.delivered_at is not None or shipment.tracking_status in _SETTLED
    applies = not settled and (
        not shipment.tracking
        or tracking_rank(event) > max(tracking_rank(e) for e in shipment.tracking)
    )
    updated = evolve(shipment, tracking=(*shipment.tracking, event))
    if applies:
        updated = evolve(updated, tracking_status=event.status)
    steps: list[object] = [
        TrackingUpdated(shipment.shipment_id, event, updated.tracking_status, applies)
    ]
    if applies and event.status == TrackingStatus.DELIVERED:
        updated = evolve(updated, delivered_at=event.at)
        steps.append(ShipmentDelivered(shipment.shipment_id, event.at))
    shipments = list(order.shipments)
    shipments[index] = updated
    decided = Decision(evolve(order, shipments=tuple(shipments)), tuple(steps))
    if not applies:
        return decided
    parcel = (shipment.shipment_id, event.carrier, event.tracking_number, event)
    if event.status == TrackingStatus.EXCEPTION:
        decided = decided.record(ShipmentException(*parcel))
        decided = decided.then(tag(decided.order, EXCEPTION_TAG, present=True))
        after = decided.order
        if machine.can_fire(after, after.status, LOGISTICS_EXCEPTION_EVENT):
            decided = decided.then(fire(machine, after.status, after, LOGISTICS_EXCEPTION_EVENT))
    elif not any(s.tracking_status == TrackingStatus.EXCEPTION for s in decided.order.shipments):
        decided = decided.then(tag(decided.order, EXCEPTION_TAG, present=False))
    if event.status == TrackingStatus.RETURNED_TO_SENDER:
        decided = decided.record(ShipmentReturnedToSender(*parcel))
        decided = decided.then(tag(decided.order, RETURNED_TAG, present=True))
    return decided.then(deliver_if_all_arrived(decided.order, machine))


def arrive(order: Order, now: datetime) -> Decision[Order]:
    """Mark the parcels still on their way (:attr:`Order.parcels_in_transit`: the order's
    own, not paid back as lost) delivered ``now``, each with a ``ShipmentDelivered``; an
    exchange's replacement parcels are left to their tracking."""
    arriving = {s.shipment_id for s in order.parcels_in_transit}
    steps = tuple(
        ShipmentDelivered(s.shipment_id, now) for s in order.shipments if s.shipment_id in arriving
    )
    shipments = tuple(
        evolve(s, delivered_at=now) if s.shipment_id in arriving else s for s in order.shipments
    )
    return Decision(evolve(order, shipments=shipments), steps)


def deliver_by_hand(order: Order, now: datetime, machine: StatusMachine[Order]) -> Decision[Order]:
    """Mark the parcels on their way delivered ``now``, then deliver the order if nothing of
    it is on its way any more (what a person marking it delivered, or the buyer confirming
    receipt, does)."""
    arrived = arrive(order, now)
    return arrived.then(deliver_if_all_arrived(arrived.order, machine))


def deliver_if_all_arrived(order: Order, machine: StatusMachine[Order]) -> Decision[Order]:
    """Fire ``deliver`` once nothing of the order is on its way any more."""
    if order.parcels_in_transit or not order.shipments:
        return Decision(order)
    if not machine.can_fire(order, order.status, OrderEvent.DELIVER):
        return Decision(order)
    own = tuple(s.shipment_id for s in order.shipments if s.return_id is None)
    return fire(machine, order.status, order, OrderEvent.DELIVER).record(OrderDelivered(own))


_OPEN_RETURN = frozenset({ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED})


def ready_to_complete(order: Order, cutoff: datetime) -> bool:
    """Whether a delivered order's last parcel arrived by ``cutoff`` with no return open."""
    delivered = delivered_at(order)
    return (
        order.status == OrderStatus.DELIVERED
        and delivered is not None
        and delivered <= cutoff
        and not any(r.status in _OPEN_RETURN for r in order.returns)
    )
