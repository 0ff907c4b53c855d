"""Shipping values shared by carriers and the order service.

Carriers (:class:`orderkit.ports.Carrier`) quote :class:`RateQuote` s for :class:`Parcel` s,
create a :class:`ShipmentLabel`, and report :class:`TrackingEvent` s whose ``status`` is one
of the normalized :class:`TrackingStatus` values; the carrier's own code and text are kept
beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from orderkit.domain.checks import require_whole
from orderkit.domain.money import Money
from orderkit.domain.tracking_numbers import normalize_tracking_number
from orderkit.errors import ValidationError

__all__ = [
    "Parcel",
    "RateQuote",
    "ShipmentLabel",
    "TrackingEvent",
    "TrackingStatus",
    "check_parcels",
]


class TrackingStatus:
    """The normalized tracking statuses every carrier maps its own codes onto."""

    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"

    ALL = (
        LABEL_CREATED,
        IN_TRANSIT,
        OUT_FOR_DELIVERY,
        DELIVERED,
        EXCEPTION,
        RETURNED_TO_SENDER,
    )


@attrs.frozen
class Parcel:
    """One box: its weight and, where a carrier prices by volume, its size in centimetres."""

    weight_grams: int
    length_cm: int = 0
    width_cm: int = 0
    height_cm: int = 0
    items: int = 1


@attrs.frozen
class RateQuote:
    """A price a carrier offers for a service level (``standard``, ``express``, …)."""

    carrier: str
    service: str
    amount: Money
    estimated_days: tuple[int, int] | None = None
    description: str = ""


@attrs.frozen
class ShipmentLabel:
    """What creating a shipment with a carrier gives back."""

    carrier: str
    service: str
    tracking_number: str = attrs.field(converter=normalize_tracking_number)
    label_ref: str = ""
    tracking_url: str = ""


@attrs.frozen
class TrackingEvent:
    """One tracking update, normalized.

    ``event_id`` is unique per carrier event (ingesting the same id twice changes nothing);
    ``carrier_code`` and ``carrier_text`` keep what the carrier said, untranslated.
    """

    event_id: str
    carrier: str
    tracking_number: str = attrs.field(converter=normalize_tracking_number)
    status: str
    at: datetime
    location: str = ""
    carrier_code: str = ""
    carrier_text: str = ""


def check_parcels(parcels: Sequence[Parcel]) -> tuple[Parcel, ...]:
    """``parcels`` as a tuple, each a :class:`Parcel` with a positive weight and item count.

    Carriers call this first in ``quote`` and ``create_shipment`` so that every carrier
    refuses the same bad input with the same error (the carrier contract checks it).

    Raises:
        ValidationError: no parcels, or a parcel that is not one or weighs nothing;
            ``field`` names it (``parcels[1].weight_grams``).
    """
    checked = tuple(parcels)
    if not checked:
        raise ValidationError("parcels", "give at least one Parcel to quote or ship")
    for i, parcel in enumerate(checked):
        if not isinstance(parcel, Parcel):
            raise ValidationError(
                f"parcels[{i}]", f"must be an orderkit.domain.shipping.Parcel, not {parcel!r}"
            )
        for name in ("weight_grams", "items"):
            value = getattr(parcel, name)
            require_whole(f"parcels[{i}].{name}", value)
    return checked
