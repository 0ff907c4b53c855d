"""The values an order is made of: addresses, customers, lines, adjustments, payments,
refunds, shipments and notes. Frozen attrs values, validated where the order is placed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from orderkit.domain.aftersales import RefundLine
from orderkit.domain.money import Money
from orderkit.domain.normalize import normalize_tag
from orderkit.domain.shipping import TrackingEvent
from orderkit.domain.tracking_numbers import normalize_tracking_number

__all__ = [
    "DEFAULT_LOCATION",
    "Address",
    "Adjustment",
    "AdjustmentKind",
    "Customer",
    "LineDraft",
    "LineItem",
    "Note",
    "Payment",
    "Refund",
    "SalesChannel",
    "Shipment",
    "ShipmentLine",
]

DEFAULT_LOCATION = "default"


class SalesChannel:
    """Well-known sales channels. Any non-empty string is accepted; these are conventions."""

    WEB = "web"
    APP = "app"
    MARKETPLACE = "marketplace"
    POS = "pos"
    SOCIAL = "social"


class AdjustmentKind:
    DISCOUNT = "discount"
    COUPON = "coupon"
    SHIPPING = "shipping"


def _attributes(
    value: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


def _tags(value: Iterable[str]) -> tuple[str, ...]:
    # Orders stored before tags were normalized read back normalized too.
    return tuple(sorted({normalize_tag(t) if isinstance(t, str) else t for t in value}))


# Typed converters: with a bare ``converter=tuple`` mypy sees the parameter as
# ``Iterable[_T_co]`` with nothing to solve ``_T_co`` from, so no call type-checks.
def _line_drafts(value: Iterable[LineDraft]) -> tuple[LineDraft, ...]:
    return tuple(value)


def _adjustments(value: Iterable[Adjustment]) -> tuple[Adjustment, ...]:
    return tuple(value)


@attrs.frozen
class Address:
    """A postal address. ``country`` is an ISO 3166-1 alpha-2 code such as ``"CN"``."""

    name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    company: str = ""


@attrs.frozen
class Customer:
    """Who placed the order. ``id`` is the host's own customer reference."""

    id: str
    name: str
    email: str = ""
    phone: str = ""


@attrs.frozen
class LineDraft:
    """A line as the host describes it when placing an order or adding a line by edit.

    ``unit_cost`` is the cost of goods per unit at the time of the order; it is kept on the
    line so profit can be reported later even when costs change.
    """

    sku: str
    name: str
    quantity: int
    unit_price: Money
    unit_cost: Money | None = None
    tax_rate: Decimal = Decimal(0)
    weight_grams: int = 0
    location: str = DEFAULT_LOCATION
    attributes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_attributes)


@attrs.frozen
class LineItem:
    """A line of a placed order. ``line_id`` (``L1``, ``L2``, …) is stable across edits."""

    line_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Money
    unit_cost: Money | None = None
    tax_rate: Decimal = Decimal(0)
    weight_grams: int = 0
    location: str = DEFAULT_LOCATION
    attributes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_attributes)

    @classmethod
    def from_draft(cls, line_id: str, draft: LineDraft) -> LineItem:
        return cls(
            line_id,
            draft.sku,
            draft.name,
            draft.quantity,
            draft.unit_price,
            draft.unit_cost,
            draft.tax_rate,
            draft.weight_grams,
            draft.location,
            draft.attributes,
        )

    @property
    def subtotal(self) -> Money:
        """Unit price times quantity, before discounts (tax included if the order's prices are)."""
        return self.unit_price * self.quantity


@attrs.frozen
class Adjustment:
    """A discount, coupon or shipping fee on the order (or, with ``line_id``, on one line).

    Discounts and coupons give either a fixed ``amount`` or a ``percent`` of the items they
    apply to; a shipping fee is always an ``amount``. Amounts are positive: a discount of
    ``Money("5.00", "USD")`` takes five dollars off.
    """

    kind: str
    label: str
    amount: Money | None = None
    percent: Decimal | None = None
    code: str = ""
    line_id: str | None = None


@attrs.frozen
class Payment:
    payment_id: str
    amount: Money
    reference: str
    method: str
    at: datetime


@attrs.frozen
class Refund:
    """Money paid back. ``lines`` says which units it paid for (empty for a refund of the
    order as a whole, e.g. a goodwill gesture); ``return_id`` names the return it settles."""

    refund_id: str
    amount: Money
    reference: str
    reason: str
    at: datetime
    lines: tuple[RefundLine, ...] = ()
    return_id: str | None = None


@attrs.frozen
class ShipmentLine:
    line_id: str
    quantity: int


@attrs.frozen
class Shipment:
    """A parcel: which units it carries, with which carrier, and how its tracking stands.

    ``tracking`` is every tracking event ingested for it, in arrival order, late and
    out-of-order ones included; ``tracking_status`` is the latest state it has reached (see
    :func:`orderkit.domain.shipments.tracking_rank`). ``return_id`` marks a replacement
    shipped for an exchange: its units are not counted as shipped against the order lines.
    """

    shipment_id: str
    lines: tuple[ShipmentLine, ...]
    carrier: str
    tracking_number: str = attrs.field(converter=normalize_tracking_number)
    shipped_at: datetime
    delivered_at: datetime | None = None
    tracking_url: str = ""
    service: str = ""
    label_ref: str = ""
    tracking_status: str = ""
    tracking: tuple[TrackingEvent, ...] = ()
    return_id: str | None = None

    @property
    def seen_event_ids(self) -> frozenset[str]:
        """Ids of the tracking events already ingested (ingesting one again changes nothing)."""
        return frozenset(event.event_id for event in self.tracking)

    def quantity(self, line_id: str) -> int:
        return sum(sl.quantity for sl in self.lines if sl.line_id == line_id)


@attrs.frozen
class Note:
    at: datetime
    actor: str
    text: str
