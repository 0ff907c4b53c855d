"""Orders: the aggregate, its edit requests, and every name an order is made of.

Everything here is a frozen attrs value. An order never stores a total: totals are derived
from the lines and adjustments every time (:attr:`Order.totals`), so they cannot drift. The
arithmetic is chosen so that every total is exactly the sum of its rounded parts: order-level
discounts and the shipping fee are spread over lines with :meth:`Money.allocate`, tax is
rounded per line or once per order and spread over the lines (the order's
:class:`~orderkit.domain.tax.TaxPolicy`), and the order's totals add the per-line figures up. That
per-line breakdown is also what a refund of one line is computed from.
"""

from __future__ import annotations

import functools
from datetime import datetime

import attrs

from orderkit.domain.aftersales import Return, ReturnKind, ReturnStatus
from orderkit.domain.drafts import (
    OrderDraft,
    check_currency,
    validate_draft,
    zone_info,
)
from orderkit.domain.money import Money
from orderkit.domain.tax import DEFAULT_TAX_POLICY, TaxPolicy
from orderkit.domain.totals import LineTotals, OrderTotals, compute_totals
from orderkit.domain.values import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    LineItem,
    Note,
    Payment,
    Refund,
    SalesChannel,
    Shipment,
    ShipmentLine,
    _tags,
)
from orderkit.errors import ReturnNotFound, ValidationError

__all__ = [
    "AddLine",
    "Address",
    "Adjustment",
    "AdjustmentKind",
    "ChangeAddress",
    "ChangePrice",
    "ChangeQuantity",
    "Customer",
    "EditOp",
    "EditRequest",
    "LineDraft",
    "LineItem",
    "LineTotals",
    "Note",
    "Order",
    "OrderDraft",
    "OrderTotals",
    "Payment",
    "Refund",
    "RemoveLine",
    "SalesChannel",
    "Shipment",
    "ShipmentLine",
    "check_currency",
    "compute_totals",
    "validate_draft",
    "zone_info",
]


@attrs.frozen
class ChangeQuantity:
    line_id: str
    quantity: int


@attrs.frozen
class ChangePrice:
    line_id: str
    unit_price: Money


@attrs.frozen
class ChangeAddress:
    address: Address


@attrs.frozen
class AddLine:
    line: LineDraft


@attrs.frozen
class RemoveLine:
    line_id: str


EditOp = ChangeQuantity | ChangePrice | ChangeAddress | AddLine | RemoveLine


@attrs.frozen
class EditRequest:
    """Changes to a placed order waiting for approval."""

    edit_id: str
    changes: tuple[EditOp, ...]
    requested_by: str
    requested_at: datetime
    reason: str


@attrs.frozen
class Order:
    """A placed order. Build new versions with :func:`attrs.evolve`; never mutate."""

    id: str
    number: str
    customer: Customer
    shipping_address: Address
    lines: tuple[LineItem, ...]
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime
    billing_address: Address | None = None
    channel: str = SalesChannel.WEB
    prices_include_tax: bool = False
    adjustments: tuple[Adjustment, ...] = ()
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    group: str | None = None
    locale: str = "en"
    payments: tuple[Payment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    returns: tuple[Return, ...] = ()
    notes: tuple[Note, ...] = ()
    pending_edits: tuple[EditRequest, ...] = ()
    stock_reserved: bool = False
    version: int = 1
    #: The highest line number issued so far (``L1`` … ``Ln``), removed lines included, so an
    #: added line never takes a removed line's id. 0 on orders stored before it was kept.
    lines_issued: int = 0
    #: The IANA time zone receipts show times in; empty (as on orders stored before it was
    #: kept) for the receipt renderer's default.
    time_zone: str = ""
    #: How the order's tax is rounded and whether its shipping is taxed (see orderkit.domain.tax);
    #: orders stored before it was kept round per line and do not tax shipping.
    tax_policy: TaxPolicy = DEFAULT_TAX_POLICY

    @functools.cached_property
    def totals(self) -> OrderTotals:
        """Derived from the lines and adjustments (never stored); computed once per order
        value, which is immutable, so the figures cannot go stale."""
        return compute_totals(
            self.lines,
            self.adjustments,
            self.currency,
            self.prices_include_tax,
            tax_policy=self.tax_policy,
        )

    @property
    def total(self) -> Money:
        return self.totals.total

    @property
    def amount_paid(self) -> Money:
        return Money.sum((p.amount for p in self.payments), self.currency)

    @property
    def amount_refunded(self) -> Money:
        return Money.sum((r.amount for r in self.refunds), self.currency)

    @property
    def net_paid(self) -> Money:
        """Paid minus refunded: the money the shop currently holds for this order."""
        return self.amount_paid - self.amount_refunded

    @property
    def balance_due(self) -> Money:
        """What the customer still owes; never negative."""
        due = self.total - self.amount_paid
        return due if due.is_positive else Money.zero(self.currency)

    @property
    def is_paid_in_full(self) -> bool:
        return self.amount_paid >= self.total

    def line(self, line_id: str) -> LineItem:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        known = ", ".join(line.line_id for line in self.lines)
        raise ValidationError("line_id", f"order {self.number} has no line {line_id!r} ({known})")

    def quantity_shipped(self, line_id: str) -> int:
        """Units of the line shipped against the order (exchange replacements not counted)."""
        return sum(s.quantity(line_id) for s in self.shipments if s.return_id is None)

    def quantity_cancelled(self, line_id: str) -> int:
        """Units of the line refunded before they shipped, and so taken off the order."""
        return sum(
            r.quantity(line_id)
            for r in self.returns
            if r.status == ReturnStatus.REFUNDED
            and r.kind == ReturnKind.REFUND_ONLY
            and r.shipment_id is None
        )

    def quantity_unshipped(self, line_id: str) -> int:
        """Units of the line still to ship: ordered, less shipped, less cancelled."""
        return (
            self.line(line_id).quantity
            - self.quantity_shipped(line_id)
            - self.quantity_cancelled(line_id)
        )

    def quantity_delivered(self, line_id: str) -> int:
        return sum(
            s.quantity(line_id)
            for s in self.shipments
            if s.return_id is None and s.delivered_at is not None
        )

    def quantity_returned(self, line_id: str) -> int:
        """Units of the line in open returns that bring goods back (refunds and exchanges)."""
        return sum(r.quantity(line_id) for r in self.returns if r.is_open and r.brings_goods_back)

    def units_refunded(self, line_id: str) -> int:
        return sum(rl.quantity for r in self.refunds for rl in r.lines if rl.line_id == line_id)

    def amount_refunded_for(self, line_id: str) -> Money:
        return Money.sum(
            (rl.amount for r in self.refunds for rl in r.lines if rl.line_id == line_id),
            self.currency,
        )

    @property
    def is_fully_shipped(self) -> bool:
        return all(self.quantity_unshipped(ln.line_id) <= 0 for ln in self.lines)

    def shipment(self, shipment_id: str) -> Shipment:
        for shipment in self.shipments:
            if shipment.shipment_id == shipment_id:
                return shipment
        raise ValidationError("shipment_id", f"order {self.number} has no shipment {shipment_id!r}")

    def return_(self, return_id: str) -> Return:
        """The return with this id (``return`` is a keyword, hence the underscore)."""
        for ret in self.returns:
            if ret.return_id == return_id:
                return ret
        raise ReturnNotFound(self.id, return_id)

    @property
    def parcels_in_transit(self) -> tuple[Shipment, ...]:
        """Shipments of the order's own units not delivered yet and not paid back as lost."""
        lost = {
            r.shipment_id
            for r in self.returns
            if r.status == ReturnStatus.REFUNDED and r.shipment_id is not None
        }
        return tuple(
            s
            for s in self.shipments
            if s.return_id is None and s.delivered_at is None and s.shipment_id not in lost
        )

    @property
    def placed_at(self) -> datetime:
        return self.created_at
