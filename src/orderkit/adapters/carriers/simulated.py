"""A pretend carrier whose parcels move as an injected clock advances: for demos and tests.

Nothing is stored and nothing is random. The tracking number says when the parcel was booked
and which scenario it follows (``SIMN20261123090000A1B2C3``: ``SIM``, the scenario letter,
the booking time in UTC, six hex digits of the shop's reference), so :meth:`track` can replay
the scenario's script from the booking time up to ``clock.now()`` - in any process, after
any restart.

Scenarios (hours after booking, for the default Hangzhou to Shanghai route):

``normal``
    picked up (3 h), through both sorting centres, out for delivery (25 h), delivered (29 h).
``delayed``
    held two days by weather at the destination sorting centre, then delivered (77 h).
``exception``
    a failed delivery (address incomplete, 27 h), then rescheduled and delivered (53 h).
``lost``
    last scanned leaving the origin sorting centre (7 h); reported lost after a week.
``returned_to_sender``
    refused at the door (27 h), carried back, returned to the sender (57 h).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

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
from orderkit.errors import CarrierError, InvalidTrackingNumber, ValidationError
from orderkit.ports import Clock

__all__ = ["SCENARIOS", "SimulatedCarrier"]

S = TrackingStatus


@attrs.frozen
class _Step:
    minutes: int
    status: str
    code: str
    text: str
    place: str  # "{origin}" and "{destination}" are filled in from the route


_PICKED_UP = (
    _Step(0, S.LABEL_CREATED, "LC", "Shipment information received", "{origin}"),
    _Step(180, S.IN_TRANSIT, "PU", "Picked up by courier", "{origin} pickup point"),
    _Step(420, S.IN_TRANSIT, "DP", "Departed sorting centre", "{origin} sorting centre"),
)
_ARRIVED = _Step(
    960, S.IN_TRANSIT, "AR", "Arrived at sorting centre", "{destination} sorting centre"
)

_SCRIPTS: dict[str, tuple[_Step, ...]] = {
    "normal": (
        *_PICKED_UP,
        _ARRIVED,
        _Step(1500, S.OUT_FOR_DELIVERY, "OD", "Out for delivery", "{destination} delivery station"),
        _Step(1740, S.DELIVERED, "DL", "Delivered, signed for by recipient", "{destination}"),
    ),
    "delayed": (
        *_PICKED_UP,
        _ARRIVED,
        _Step(
            1200,
            S.IN_TRANSIT,
            "WX",
            "Delayed by severe weather; will be forwarded when conditions allow",
            "{destination} sorting centre",
        ),
        _Step(4380, S.OUT_FOR_DELIVERY, "OD", "Out for delivery", "{destination} delivery station"),
        _Step(4620, S.DELIVERED, "DL", "Delivered, signed for by recipient", "{destination}"),
    ),
    "exception": (
        *_PICKED_UP,
        _ARRIVED,
        _Step(1500, S.OUT_FOR_DELIVERY, "OD", "Out for delivery", "{destination} delivery station"),
        _Step(
            1620,
            S.EXCEPTION,
            "AX",
            "Delivery failed: address incomplete, contacting recipient",
            "{destination} delivery station",
        ),
        _Step(
            2400,
            S.IN_TRANSIT,
            "RS",
            "Address confirmed by recipient, delivery rescheduled",
            "{destination} delivery station",
        ),
        _Step(2940, S.OUT_FOR_DELIVERY, "OD", "Out for delivery", "{destination} delivery station"),
        _Step(3180, S.DELIVERED, "DL", "Delivered, signed for by recipient", "{destination}"),
    ),
    "lost": (
        *_PICKED_UP,
        _Step(
            10500,
            S.EXCEPTION,
            "LS",
            "Parcel cannot be located; an investigation has been opened",
            "{origin} sorting centre",
        ),
    ),
    "returned_to_sender": (
        *_PICKED_UP,
        _ARRIVED,
        _Step(1500, S.OUT_FOR_DELIVERY, "OD", "Out for delivery", "{destination} delivery station"),
        _Step(
            1620,
            S.EXCEPTION,
            "RF",
            "Delivery failed: recipient refused the parcel",
            "{destination} delivery station",
        ),
        _Step(2040, S.IN_TRANSIT, "RT", "Returning to sender", "{destination} sorting centre"),
        _Step(2880, S.IN_TRANSIT, "AR", "Arrived at sorting centre", "{origin} sorting centre"),
        _Step(3420, S.RETURNED_TO_SENDER, "RD", "Returned to sender", "{origin}"),
    ),
}

SCENARIOS: tuple[str, ...] = tuple(_SCRIPTS)
"""The scenario names, in the order the docs list them."""

_LETTERS = {"normal": "N", "delayed": "D", "exception": "X", "lost": "L", "returned_to_sender": "R"}
_BY_LETTER = {letter: name for name, letter in _LETTERS.items()}
_NUMBER = re.compile(r"SIM([A-Z])(\d{14})([0-9A-F]{6})", re.ASCII)
_STAMP = "%Y%m%d%H%M%S"

# Per parcel: (first kilogram, each further started kilogram, estimated days).
_RATES: dict[str, tuple[Decimal, Decimal, tuple[int, int]]] = {
    "standard": (Decimal("12.00"), Decimal("2.00"), (2, 4)),
    "express": (Decimal("23.00"), Decimal("6.00"), (1, 2)),
}
_MAX_GRAMS = 30_000


def _check_scenario(name: str, field: str) -> str:
    if name not in _SCRIPTS:
        raise ValidationError(
            field, f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}"
        )
    return name


class SimulatedCarrier:
    """A deterministic carrier driven by ``clock``; implements :class:`orderkit.ports.Carrier`.

    Args:
        clock: what :meth:`track` reads the time from; advance a
            :class:`~orderkit.clock.FixedClock` to move parcels along.
        scenario: the scenario every booking follows, or a function from the booking's
            ``reference`` to a scenario name (to send one order astray in a demo).
        currency: the currency of the fixed rate table (per parcel: standard 12.00 for the
            first kilogram and 2.00 per further started kilogram, express 23.00 and 6.00;
            at most 30 kg a parcel).
        origin_city, destination_city: the places events are reported at.
        code: the carrier code on quotes, labels and events.

    Raises:
        ValidationError: an unknown scenario name.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        scenario: str | Callable[[str], str] = "normal",
        currency: str = "CNY",
        origin_city: str = "Hangzhou",
        destination_city: str = "Shanghai",
        code: str = "simulated",
    ) -> None:
        if isinstance(scenario, str):
            _check_scenario(scenario, "scenario")
        self._clock = clock
        self._scenario = scenario
        self._currency = Money.zero(currency).currency
        self._places = {"origin": origin_city, "destination": destination_city}
        self._code = code

    @property
    def code(self) -> str:
        return self._code

    def quote(
        self, origin: Address, destination: Address, parcels: Sequence[Parcel]
    ) -> list[RateQuote]:
        """Standard and express prices from the fixed table, cheapest first.

        Raises:
            ValidationError: no parcels, or a parcel without weight.
            CarrierError: a parcel heavier than 30 kg.
        """
        checked = check_parcels(parcels)
        for i, parcel in enumerate(checked):
            if parcel.weight_grams > _MAX_GRAMS:
                raise CarrierError(
                    f"parcels[{i}] weighs {parcel.weight_grams} g; the simulated carrier takes "
                    f"at most {_MAX_GRAMS} g a parcel to {destination.city or destination.country}"
                    "; split it into lighter parcels"
                )
        quotes = []
        for service, (first, further, days) in _RATES.items():
            total = sum(
                (first + further * ((p.weight_grams - 1) // 1000) for p in checked), Decimal(0)
            )
            quotes.append(
                RateQuote(
                    self._code,
                    service,
                    Money(total, self._currency),
                    days,
                    f"simulated {service}",
                )
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
        """Book at ``clock.now()``; the number encodes the time, the scenario and ``reference``.

        Raises:
            ValidationError: bad parcels, or the scenario function returned an unknown name.
            CarrierError: an unknown service or a parcel heavier than 30 kg.
        """
        offered = {q.service for q in self.quote(origin, destination, parcels)}
        if service not in offered:
            raise CarrierError(
                f"the simulated carrier has no service {service!r}; choose one of "
                + ", ".join(sorted(offered))
            )
        if isinstance(self._scenario, str):
            scenario = self._scenario
        else:
            scenario = _check_scenario(self._scenario(reference), "scenario(reference)")
        booked = self._clock.now().astimezone(timezone.utc)
        digest = hashlib.sha256(reference.encode("utf-8")).hexdigest()[:6].upper()
        number = f"SIM{_LETTERS[scenario]}{booked.strftime(_STAMP)}{digest}"
        return ShipmentLabel(self._code, service, number, "", self.tracking_url(number))

    def _decode(self, tracking_number: str) -> tuple[str, datetime]:
        match = _NUMBER.fullmatch(tracking_number) if isinstance(tracking_number, str) else None
        why = "expected 'SIM', a scenario letter, 14 digits of booking time and 6 hex digits"
        if match is None or match.group(1) not in _BY_LETTER:
            raise InvalidTrackingNumber(self._code, str(tracking_number), why)
        try:
            booked = datetime.strptime(match.group(2), _STAMP).replace(tzinfo=timezone.utc)
        except ValueError:
            raise InvalidTrackingNumber(
                self._code, tracking_number, f"{match.group(2)} is not a booking time"
            ) from None
        return _BY_LETTER[match.group(1)], booked

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """The scenario's events up to ``clock.now()``, oldest first; ids are stable.

        Raises:
            InvalidTrackingNumber: not a number this carrier issues.
        """
        scenario, booked = self._decode(tracking_number)
        now = self._clock.now()
        events = []
        for index, step in enumerate(_SCRIPTS[scenario]):
            at = booked + timedelta(minutes=step.minutes)
            if at > now:
                break
            events.append(
                TrackingEvent(
                    event_id=f"{tracking_number}-{index:02d}",
                    carrier=self._code,
                    tracking_number=tracking_number,
                    status=step.status,
                    at=at,
                    location=step.place.format_map(self._places),
                    carrier_code=step.code,
                    carrier_text=step.text,
                )
            )
        return events

    def tracking_url(self, tracking_number: str) -> str:
        """A made-up page on ``example.com`` (reserved for examples), with the number.

        Raises:
            InvalidTrackingNumber: not a number this carrier issues.
        """
        self._decode(tracking_number)
        return f"https://track.example.com/{self._code}/{tracking_number}"
