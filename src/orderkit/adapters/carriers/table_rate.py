"""A carrier priced from a rate table (:mod:`orderkit.adapters.carriers.rate_table`: the file,
which zone a destination is in, and what a service costs).

**Tracking.** This carrier is for couriers without an API: booking issues a tracking number
(``TR`` + an id from the injected id generator) and remembers it in this process; tracking a
number it issued reports ``label_created`` at the booking time and nothing more, and a
well-formed number it does not remember (booked before a restart) has no events. Use a real
carrier's adapter for progress beyond that.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from orderkit.adapters.carriers.rate_table import (
    RateTable,
    ServiceRate,
    WeightBand,
    Zone,
    ZoneRule,
    describe_destination,
    example_rate_table,
)
from orderkit.clock import UlidGenerator
from orderkit.domain.money import Money
from orderkit.domain.order import Address
from orderkit.domain.shipping import (
    Parcel,
    RateQuote,
    ShipmentLabel,
    TrackingEvent,
    TrackingStatus,
    check_parcels,
)
from orderkit.errors import (
    CarrierError,
    CurrencyMismatch,
    InvalidTrackingNumber,
)
from orderkit.ports import Clock, IdGenerator

__all__ = [
    "RateTable",
    "ServiceRate",
    "TableRateCarrier",
    "WeightBand",
    "Zone",
    "ZoneRule",
    "example_rate_table",
]

_NUMBER = re.compile(r"TR[0-9A-Za-z_\-]{1,60}", re.ASCII)


class TableRateCarrier:
    """A :class:`orderkit.ports.Carrier` priced from a :class:`RateTable`.

    Args:
        table: the loaded rate table.
        clock: the time labels are created at.
        ids: where tracking numbers come from (``TR`` + ``ids.new_id()``); ULIDs by default.
    """

    def __init__(self, table: RateTable, *, clock: Clock, ids: IdGenerator | None = None) -> None:
        self.table = table
        self._clock = clock
        self._ids: IdGenerator = ids if ids is not None else UlidGenerator()
        self._lock = threading.Lock()
        self._by_reference: dict[str, ShipmentLabel] = {}
        self._booked: dict[str, TrackingEvent] = {}

    @classmethod
    def from_file(
        cls, path: str | Path, *, clock: Clock, ids: IdGenerator | None = None
    ) -> TableRateCarrier:
        """Load ``path`` with :meth:`RateTable.from_file` and build a carrier on it."""
        return cls(RateTable.from_file(path), clock=clock, ids=ids)

    @property
    def code(self) -> str:
        return self.table.carrier

    def quote(
        self,
        origin: Address,
        destination: Address,
        parcels: Sequence[Parcel],
        *,
        order_value: Money | None = None,
    ) -> list[RateQuote]:
        """The services of the destination's zone that can carry ``parcels``, cheapest first.

        ``origin`` is not used: a table describes prices from one shop. Pass ``order_value``
        (the goods' total) to apply free-shipping thresholds.

        Raises:
            ValidationError: no parcels, or a parcel without weight.
            CurrencyMismatch: ``order_value`` is not in the table's currency.
            CarrierError: no zone covers the destination, or the parcels are too heavy for
                every service in its zone.
        """
        checked = check_parcels(parcels)
        if order_value is not None and order_value.currency != self.table.currency:
            raise CurrencyMismatch(order_value.currency, self.table.currency)
        zone = self.table.zone_for(destination)
        if zone is None:
            raise CarrierError(
                f"{self.code}: no zone in {self.table.source} covers "
                f"{describe_destination(destination)}; "
                'add a rule for its country, or a "*" zone for the rest of the world'
            )
        quotes = []
        for service in zone.services:
            amount = service.price(checked)
            if amount is None:
                continue
            description = f"{zone.name} {service.name}"
            free = service.free_above
            if order_value is not None and free is not None and order_value >= free:
                amount = Money.zero(self.table.currency)
                description += f" (free above {free.amount} {free.currency})"
            quotes.append(RateQuote(self.code, service.name, amount, service.days, description))
        if not quotes:
            heaviest = max(p.weight_grams for p in checked)
            limit = max(s.bands[-1].max_grams for s in zone.services)
            raise CarrierError(
                f"{self.code}: a {heaviest} g parcel to {describe_destination(destination)} (zone "
                f"{zone.name}) is over the {limit} g limit of every service; split the parcel"
            )
        return sorted(quotes, key=lambda q: (q.amount.amount, q.service))

    def create_shipment(
        self,
        origin: Address,
        destination: Address,
        parcels: Sequence[Parcel],
        *,
        service: str,
        reference: str,
    ) -> ShipmentLabel:
        """Issue a tracking number; booking the same ``reference`` again returns the first label
        (whatever the other arguments), so a retried booking never issues two numbers.

        Raises:
            ValidationError: bad parcels.
            CarrierError: the route is not served, or ``service`` is not offered for it.
        """
        offered = [q.service for q in self.quote(origin, destination, parcels)]
        if service not in offered:
            raise CarrierError(
                f"{self.code}: service {service!r} is not offered to "
                f"{describe_destination(destination)} for these parcels; "
                f"choose one of {', '.join(offered)}"
            )
        with self._lock:
            if reference in self._by_reference:
                return self._by_reference[reference]
            number = f"TR{self._ids.new_id()}"
            label = ShipmentLabel(self.code, service, number, "", self.tracking_url(number))
            self._by_reference[reference] = label
            self._booked[number] = TrackingEvent(
                event_id=f"{number}-label",
                carrier=self.code,
                tracking_number=number,
                status=TrackingStatus.LABEL_CREATED,
                at=self._clock.now(),
                location=origin.city,
                carrier_code="label_created",
                carrier_text=f"Label created for {reference}",
            )
            return label

    def _check(self, tracking_number: str) -> str:
        if not isinstance(tracking_number, str) or not _NUMBER.fullmatch(tracking_number):
            raise InvalidTrackingNumber(
                self.code, str(tracking_number), "expected 'TR' followed by an id"
            )
        return tracking_number

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """``label_created`` for a number booked by this instance; nothing for other numbers.

        Raises:
            InvalidTrackingNumber: not ``TR`` followed by an id.
        """
        number = self._check(tracking_number)
        with self._lock:
            event = self._booked.get(number)
        return [event] if event is not None else []

    def tracking_url(self, tracking_number: str) -> str:
        """The table's ``tracking_url`` with the number filled in.

        Raises:
            InvalidTrackingNumber: not ``TR`` followed by an id.
        """
        return self.table.tracking_url.replace("{tracking_number}", self._check(tracking_number))
