"""Shipping commands: by hand or through a carrier, tracking ingest, delivery, buyer
confirmation of receipt and auto-completion.

The rules (what a shipment carries, how a tracking event moves a parcel and its order) are
the domain's, in :mod:`orderkit.domain.shipments`; these commands load, ask them, and write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from orderkit.clock import describe_duration
from orderkit.domain.checks import require_whole
from orderkit.domain.events import (
    ReceiptConfirmed,
    order_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.lifecycle import OrderEvent, OrderStatus
from orderkit.domain.order import Address, Order, Shipment, ShipmentLine
from orderkit.domain.shipments import (
    add_shipment,
    check_tracking_event,
    deliver_by_hand,
    new_shipment,
    one_parcel,
    ready_to_complete,
    ship_event,
    shipment_label,
    shipment_lines,
    track,
)
from orderkit.domain.shipping import Parcel, ShipmentLabel, TrackingEvent
from orderkit.errors import InvalidTransition, ShipmentNotFound, ValidationError
from orderkit.ports import Carrier, OrderQuery
from orderkit.service.runner import CommandRunner, Transaction

__all__ = ["ShippingCommands"]


class ShippingCommands(CommandRunner):
    """Shipping by hand or through a carrier, tracking ingest, delivery, buyer confirmation
    and auto-completion."""

    # -- shipping by hand -----------------------------------------------------------------

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

        def change(tx: Transaction, order: Order) -> Order:
            return self._add_shipment(tx, order, shipment_lines(order, lines), booked)

        return self._mutate(order_id, actor, reason, change)

    def _add_shipment(
        self,
        tx: Transaction,
        order: Order,
        lines: Sequence[ShipmentLine],
        label: ShipmentLabel,
        *,
        return_id: str | None = None,
    ) -> Order:
        """Add a shipment of ``lines`` (see :func:`~orderkit.domain.shipments.add_shipment`).

        Raises:
            ValidationError: the tracking number is already on a parcel (tracking updates
                could not tell the two apart).
        """
        if label.tracking_number:
            holder = self._by_tracking(tx.uow, label.carrier, label.tracking_number)
            if holder is not None:
                raise ValidationError(
                    "tracking_number",
                    f"{label.carrier} {label.tracking_number} is already on a parcel of order "
                    f"{holder.number}; every parcel needs its own tracking number",
                )
        shipment = new_shipment(self.ids.new_id(), lines, label, tx.now, return_id=return_id)
        return self._apply(tx, add_shipment(order, shipment, self.machine))

    def deliver(self, order_id: str, *, actor: str = "system", reason: str = "") -> Order:
        """Mark the parcels still on their way delivered now; the order becomes ``delivered``.

        This is what the carrier reporting every parcel delivered does (a
        ``ShipmentDelivered`` for each parcel, then ``OrderDelivered`` naming the order's own
        parcels); parcels paid back as lost and an exchange's replacement parcels are left as
        they are.

        Raises:
            InvalidTransition: the order is not shipped.
        """

        def change(tx: Transaction, order: Order) -> Order:
            if not self.machine.can_fire(order, order.status, OrderEvent.DELIVER):
                self._fire(tx, order, order, OrderEvent.DELIVER)  # let the machine say why
            return self._apply(tx, deliver_by_hand(order, tx.now, self.machine))

        return self._mutate(order_id, actor, reason, change)

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
        shipped = evolve(order, shipments=(*order.shipments, planned))
        self.machine.fire(shipped, order.status, ship_event(shipped))
        if parcels is None:
            parcels = [one_parcel(order, wanted)]
        # One reference per parcel: carriers key bookings (and idempotent re-bookings) on it.
        reference = f"{order.number}/{len(order.shipments) + 1}"
        booked = carrier.create_shipment(
            origin, order.shipping_address, parcels, service=service, reference=reference
        )
        if not booked.tracking_url:
            booked = evolve(booked, tracking_url=carrier.tracking_url(booked.tracking_number))
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
        check_tracking_event(event)

        def body(tx: Transaction) -> Order:
            found = self._by_tracking(tx.uow, event.carrier, event.tracking_number)
            if found is None:
                raise ShipmentNotFound(event.carrier, event.tracking_number)
            before = self._load(tx.uow, found.id, for_update=True)
            after = self._apply(tx, track(before, event, self.machine))
            if after is not before:
                after = self._save(tx, before, after)
            self._commit(tx, after)
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
            check_tracking_event(event)
        batch.sort(key=lambda event: event.at)
        with self.storage.reader() as uow:
            for event in batch:
                if self._by_tracking(uow, event.carrier, event.tracking_number) is None:
                    raise ShipmentNotFound(event.carrier, event.tracking_number)
        return [self.ingest_tracking(event, actor=actor) for event in batch]

    # -- receipt and completion -------------------------------------------------------------

    def confirm_receipt(self, order_id: str, *, actor: str = "customer", reason: str = "") -> Order:
        """The buyer confirms receipt (确认收货): the order completes (交易成功).

        A shipped order whose parcels the carrier has not reported delivered is delivered
        first (its parcels are marked delivered now), then completed: two transitions of
        the default machine, both in the log, so the machine needs no shortcut.

        Raises:
            InvalidTransition: the order is not fully shipped or delivered.
        """

        def change(tx: Transaction, order: Order) -> Order:
            if order.status == OrderStatus.DELIVERED:
                tx.record(order_stream(order.id), ReceiptConfirmed(()))
                return self._fire(tx, order, order, OrderEvent.COMPLETE)
            if not self.machine.can_fire(order, order.status, OrderEvent.DELIVER):
                # Let the machine say why, naming the allowed events.
                self._fire(tx, order, order, OrderEvent.COMPLETE)
            arriving = {s.shipment_id for s in order.parcels_in_transit}
            tx.record(order_stream(order.id), ReceiptConfirmed(tuple(sorted(arriving))))
            delivered = self._apply(tx, deliver_by_hand(order, tx.now, self.machine))
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
        require_whole("limit", limit)
        cutoff = self._now() - older_than
        due: list[str] = []
        cursor: str | None = None
        # An order delivered before the cutoff was placed before it, which narrows the scan.
        query = OrderQuery(status=OrderStatus.DELIVERED, placed_to=cutoff, limit=200)
        while len(due) < limit:
            with self.storage.reader() as uow:
                page = uow.orders.find(evolve(query, cursor=cursor))
            due.extend(o.id for o in page.items if ready_to_complete(o, cutoff))
            cursor = page.next_cursor
            if cursor is None:
                break
        reason = f"auto-confirmed {describe_duration(older_than)} after delivery"
        completed = []
        for order_id in due[:limit]:

            def change(tx: Transaction, order: Order) -> Order:
                if not ready_to_complete(order, cutoff):
                    return order
                return self._fire(tx, order, order, OrderEvent.COMPLETE)

            try:
                after = self._mutate(order_id, actor, reason, change)
            except InvalidTransition:
                continue
            if after.status == OrderStatus.COMPLETED:
                completed.append(after)
        return completed
