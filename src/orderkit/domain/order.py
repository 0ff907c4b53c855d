"""Orders, their lines and adjustments, and the totals derived from them.

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
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from orderkit.domain.aftersales import RefundLine, Return, ReturnKind, ReturnStatus
from orderkit.domain.money import Money
from orderkit.domain.normalize import check_email, locale_identifier, normalize_tag
from orderkit.domain.shipping import TrackingEvent
from orderkit.domain.tax import DEFAULT_TAX_POLICY, TaxPolicy, line_taxes, validate_tax_policy
from orderkit.domain.tracking_numbers import normalize_tracking_number
from orderkit.errors import CurrencyMismatch, ReturnNotFound, ValidationError

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
    "compute_totals",
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
        return cls(line_id=line_id, **attrs.asdict(draft, recurse=False))

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
class OrderDraft:
    """Everything the host supplies to place an order.

    The currency is taken from the lines' prices, which must all agree.
    """

    customer: Customer
    shipping_address: Address
    lines: tuple[LineDraft, ...] = attrs.field(converter=_line_drafts)
    billing_address: Address | None = None
    channel: str = SalesChannel.WEB
    prices_include_tax: bool = False
    adjustments: tuple[Adjustment, ...] = attrs.field(default=(), converter=_adjustments)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    group: str | None = None
    locale: str = "en"
    note: str = ""
    #: The IANA time zone receipts show times in (``Europe/Berlin``): the customer's, or
    #: the shop's; empty for the receipt renderer's default.
    time_zone: str = ""
    #: How tax is rounded (per line or per order) and whether shipping is taxed; kept on
    #: the order, so its totals re-derive the same for as long as it is stored.
    tax_policy: TaxPolicy = DEFAULT_TAX_POLICY


@attrs.frozen
class LineTotals:
    """One line's share of the order's money, all rounded, all summing to the order totals.

    ``total`` is what the customer pays for this line, its share of shipping included: the
    most that can ever be refunded for it. ``tax`` is the line's tax, with the tax on its
    shipping share when shipping is taxable.
    """

    line_id: str
    subtotal: Money
    discount: Money
    tax: Money
    shipping: Money
    total: Money
    cost: Money | None


@attrs.frozen
class OrderTotals:
    """The order's money.

    ``total == items - discount + shipping``, plus ``tax`` when prices exclude it. ``tax``
    includes ``shipping_tax``, the part charged on a taxable shipping fee (zero otherwise).
    """

    items: Money
    discount: Money
    shipping: Money
    tax: Money
    shipping_tax: Money
    total: Money
    cost: Money
    lines: tuple[LineTotals, ...]
    prices_include_tax: bool = False

    @property
    def net_revenue(self) -> Money:
        """What the goods brought in: items less discounts, without tax and shipping."""
        revenue = self.items - self.discount
        goods_tax = self.tax - self.shipping_tax
        return revenue - goods_tax if self.prices_include_tax else revenue

    @property
    def profit(self) -> Money:
        """Net revenue minus the cost of goods captured on the lines."""
        return self.net_revenue - self.cost


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


def _discount_amount(adj: Adjustment, base: Money) -> Money:
    if adj.amount is not None:
        return adj.amount
    assert adj.percent is not None  # validated at placement
    return base.multiply(adj.percent / Decimal(100))


def compute_totals(
    lines: Iterable[LineItem],
    adjustments: Iterable[Adjustment],
    currency: str,
    prices_include_tax: bool,
    *,
    tax_policy: TaxPolicy = DEFAULT_TAX_POLICY,
) -> OrderTotals:
    """Derive an order's totals from its lines and adjustments.

    Order-level discounts are spread over lines in proportion to line subtotals, line-level
    ones stay on their line; the shipping fee is spread over lines by subtotal (by quantity
    when every line is free) so that each line knows the most that can be refunded for it.
    Tax is computed exactly on each line's discounted amount (and its shipping share when
    ``tax_policy.shipping_taxable``) and rounded as ``tax_policy`` says: per line, or once
    for the order and spread over the lines (see :mod:`orderkit.domain.tax`).
    """
    lines = tuple(lines)
    adjustments = tuple(adjustments)
    zero = Money.zero(currency)
    subtotals = [line.subtotal for line in lines]
    discounts = [zero] * len(lines)
    index = {line.line_id: i for i, line in enumerate(lines)}
    for adj in adjustments:
        if adj.kind == AdjustmentKind.SHIPPING:
            continue
        if adj.line_id is not None:
            i = index[adj.line_id]
            discounts[i] += _discount_amount(adj, subtotals[i])
            continue
        base = Money.sum(subtotals, currency)
        amount = _discount_amount(adj, base)
        if base.is_zero:
            continue
        weights = [s.amount for s in subtotals]
        for i, share in enumerate(amount.allocate(weights)):
            discounts[i] += share
    # A discount never takes a line below zero: what it cannot absorb is simply not given.
    discounts = [min(d, s) for d, s in zip(discounts, subtotals, strict=True)]

    shipping = Money.sum(
        (a.amount for a in adjustments if a.kind == AdjustmentKind.SHIPPING and a.amount),
        currency,
    )
    if lines and not shipping.is_zero:
        weights = [s.amount for s in subtotals]
        if not any(weights):
            weights = [Decimal(line.quantity) for line in lines]
        shipping_shares = list(shipping.allocate(weights))
    else:
        shipping_shares = [zero] * len(lines)

    taxables = [s - d for s, d in zip(subtotals, discounts, strict=True)]
    taxes, shipping_tax = line_taxes(
        taxables,
        shipping_shares,
        [line.tax_rate for line in lines],
        currency,
        included=prices_include_tax,
        policy=tax_policy,
    )
    line_totals = []
    for line, subtotal, discount, taxable, tax, ship in zip(
        lines, subtotals, discounts, taxables, taxes, shipping_shares, strict=True
    ):
        total = taxable + ship if prices_include_tax else taxable + tax + ship
        cost = line.unit_cost * line.quantity if line.unit_cost is not None else None
        line_totals.append(LineTotals(line.line_id, subtotal, discount, tax, ship, total, cost))

    return OrderTotals(
        items=Money.sum(subtotals, currency),
        discount=Money.sum((lt.discount for lt in line_totals), currency),
        shipping=shipping,
        tax=Money.sum((lt.tax for lt in line_totals), currency),
        shipping_tax=shipping_tax,
        total=Money.sum((lt.total for lt in line_totals), currency),
        cost=Money.sum((lt.cost for lt in line_totals if lt.cost is not None), currency),
        lines=tuple(line_totals),
        prices_include_tax=prices_include_tax,
    )


def check_currency(money: Money, currency: str) -> None:
    if money.currency != currency:
        raise CurrencyMismatch(currency, money.currency)


def _require_text(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")


def validate_address(field: str, address: Address) -> None:
    """The basic check every address gets: the fields a parcel cannot do without."""
    for name in ("name", "line1", "city"):
        _require_text(f"{field}.{name}", getattr(address, name))
    country = address.country
    if not (
        isinstance(country, str) and len(country) == 2 and country.isalpha() and country.isupper()
    ):
        raise ValidationError(
            f"{field}.country",
            f"{country!r} is not an ISO 3166-1 alpha-2 code such as 'CN' or 'US'",
        )


def validate_line(field: str, line: LineDraft | LineItem, currency: str) -> None:
    _require_text(f"{field}.sku", line.sku)
    _require_text(f"{field}.name", line.name)
    _require_text(f"{field}.location", line.location)
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
        raise ValidationError(
            f"{field}.quantity", f"must be a whole number of at least 1, got {line.quantity!r}"
        )
    if not isinstance(line.unit_price, Money):
        raise ValidationError(f"{field}.unit_price", "must be a Money, e.g. Money('19.99', 'USD')")
    check_currency(line.unit_price, currency)
    if line.unit_price.is_negative:
        raise ValidationError(f"{field}.unit_price", "must not be negative")
    if line.unit_cost is not None:
        check_currency(line.unit_cost, currency)
        if line.unit_cost.is_negative:
            raise ValidationError(f"{field}.unit_cost", "must not be negative")
    if not isinstance(line.tax_rate, Decimal) or not (0 <= line.tax_rate < 1):
        raise ValidationError(
            f"{field}.tax_rate",
            f"must be a Decimal fraction in [0, 1), e.g. Decimal('0.13'); got {line.tax_rate!r}",
        )
    if (
        isinstance(line.weight_grams, bool)
        or not isinstance(line.weight_grams, int)
        or line.weight_grams < 0
    ):
        raise ValidationError(f"{field}.weight_grams", "must be a whole number of grams, 0 or more")


def validate_adjustment(
    field: str, adj: Adjustment, currency: str, line_ids: Iterable[str]
) -> None:
    kinds = (AdjustmentKind.DISCOUNT, AdjustmentKind.COUPON, AdjustmentKind.SHIPPING)
    if adj.kind not in kinds:
        raise ValidationError(f"{field}.kind", f"{adj.kind!r} is not one of {', '.join(kinds)}")
    if (adj.amount is None) == (adj.percent is None):
        raise ValidationError(field, "give exactly one of amount or percent")
    if adj.amount is not None:
        check_currency(adj.amount, currency)
        if adj.amount.is_negative:
            raise ValidationError(
                f"{field}.amount", "must not be negative; a discount is a positive amount taken off"
            )
    if adj.percent is not None:
        if adj.kind == AdjustmentKind.SHIPPING:
            raise ValidationError(f"{field}.percent", "a shipping fee is an amount, not a percent")
        if not isinstance(adj.percent, Decimal) or not (0 < adj.percent <= 100):
            raise ValidationError(
                f"{field}.percent", "must be a Decimal in (0, 100], e.g. Decimal('25')"
            )
    if adj.line_id is not None:
        if adj.kind == AdjustmentKind.SHIPPING:
            raise ValidationError(f"{field}.line_id", "shipping fees apply to the whole order")
        if adj.line_id not in set(line_ids):
            raise ValidationError(f"{field}.line_id", f"no line {adj.line_id!r} on this order")


def zone_info(field: str, name: str) -> zoneinfo.ZoneInfo:
    """The time zone an IANA name stands for (``Asia/Shanghai``, ``UTC``).

    Raises:
        ValidationError: naming ``field``, when ``name`` is not a known IANA zone (on a
            system without a zone database, such as Windows, install ``tzdata``).
    """
    try:
        return zoneinfo.ZoneInfo(name)  # cached by zoneinfo itself
    except (ValueError, TypeError, LookupError, OSError):
        raise ValidationError(
            field,
            f"unknown time zone {name!r}; use an IANA name like 'Europe/Berlin' or 'UTC'",
        ) from None


def validate_draft(draft: OrderDraft) -> str:
    """Check a draft completely before anything is written; return its currency.

    Raises:
        ValidationError: naming the first offending field, e.g. ``lines[1].quantity``.
        CurrencyMismatch: when prices, costs or adjustments are in different currencies.
    """
    if not draft.lines:
        raise ValidationError("lines", "an order needs at least one line")
    if not isinstance(draft.customer, Customer):
        raise ValidationError("customer", "must be a Customer")
    _require_text("customer.id", draft.customer.id)
    _require_text("customer.name", draft.customer.name)
    validate_address("shipping_address", draft.shipping_address)
    if draft.billing_address is not None:
        validate_address("billing_address", draft.billing_address)
    _require_text("channel", draft.channel)
    locale_identifier("locale", draft.locale)
    if draft.customer.email:
        check_email("customer.email", draft.customer.email)
    if draft.time_zone:
        zone_info("time_zone", draft.time_zone)
    for i, tag in enumerate(draft.tags):
        _require_text(f"tags[{i}]", tag)
    if draft.group is not None:
        _require_text("group", draft.group)
    first = draft.lines[0].unit_price
    if not isinstance(first, Money):
        raise ValidationError("lines[0].unit_price", "must be a Money, e.g. Money('19.99', 'USD')")
    currency = first.currency
    for i, line in enumerate(draft.lines):
        validate_line(f"lines[{i}]", line, currency)
    line_ids = [f"L{i + 1}" for i in range(len(draft.lines))]
    for i, adj in enumerate(draft.adjustments):
        validate_adjustment(f"adjustments[{i}]", adj, currency, line_ids)
    validate_tax_policy("tax_policy", draft.tax_policy)
    return currency
