"""Receipts: an immutable snapshot of an order at one moment, ready to be rendered.

A :class:`Receipt` holds everything a customer-facing message about an order shows: the
lines with their discount, tax and total already computed from :attr:`Order.totals`, the
order's discounts, shipping and tax, what was paid and refunded, the shipping address,
shipments with their tracking links, the merchant's contact details and the host's
personalization blocks (recommended products, a coupon). It is plain data (frozen attrs,
every amount a :class:`~orderkit.domain.money.Money`) and round-trips through
:func:`orderkit.serialization.get_converter`, so it can travel in an outbox payload and be
rendered later, exactly as it was when it was issued.

Rendering lives elsewhere (:mod:`orderkit.notify.render`); this module imports no template engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

import attrs

from orderkit.domain.money import Money
from orderkit.domain.order import Address, AdjustmentKind, Order
from orderkit.domain.shipping import RateQuote
from orderkit.errors import ValidationError

__all__ = [
    "Merchant",
    "PaymentState",
    "PersonalizationBlock",
    "PersonalizationItem",
    "Receipt",
    "ReceiptDiscount",
    "ReceiptKind",
    "ReceiptLine",
    "ReceiptShipment",
    "estimated_arrival",
]


class ReceiptKind:
    """What a receipt is about; each kind has its own subject, text and HTML templates."""

    ORDER_PLACED = "order_placed"  # the order receipt itself (订单回执)
    PAYMENT_RECEIVED = "payment_received"
    SHIPPED = "shipped"
    LOGISTICS_EXCEPTION = "logistics_exception"
    RETURNED_TO_SENDER = "returned_to_sender"  # the carrier is bringing a parcel back
    DELIVERED = "delivered"
    ORDER_CLOSED = "order_closed"  # cancelled, expired unpaid, or fully refunded
    REFUND_ISSUED = "refund_issued"
    RETURN_APPROVED = "return_approved"
    PAYMENT_REMINDER = "payment_reminder"

    ALL = (
        ORDER_PLACED,
        PAYMENT_RECEIVED,
        SHIPPED,
        LOGISTICS_EXCEPTION,
        RETURNED_TO_SENDER,
        DELIVERED,
        ORDER_CLOSED,
        REFUND_ISSUED,
        RETURN_APPROVED,
        PAYMENT_REMINDER,
    )


class PaymentState:
    """Where the order's money stands, as the customer sees it."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"

    @staticmethod
    def of(order: Order) -> str:
        paid, refunded = order.amount_paid, order.amount_refunded
        if refunded.is_positive:
            return PaymentState.REFUNDED if refunded >= paid else PaymentState.PARTIALLY_REFUNDED
        if order.is_paid_in_full:
            return PaymentState.PAID
        return PaymentState.PARTIALLY_PAID if paid.is_positive else PaymentState.UNPAID


def _blocks(value: Iterable[PersonalizationBlock]) -> tuple[PersonalizationBlock, ...]:
    return tuple(value)


def _products(value: Iterable[PersonalizationItem]) -> tuple[PersonalizationItem, ...]:
    return tuple(value)


def _is_web_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL, the only links a receipt carries."""
    return value.lower().startswith(("https://", "http://"))


def _web_url(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Links end up in an ``href``: an empty string or an http(s) URL, never ``javascript:``."""
    if value and not (isinstance(value, str) and _is_web_url(value)):
        raise ValidationError(
            f"{type(instance).__name__.lower()}.{attribute.name}",
            f"must be an http(s) URL or empty, got {value!r}",
        )


@attrs.frozen
class Merchant:
    """The shop as the receipt presents it: who to contact with a question.

    Raises:
        ValidationError: ``url`` or ``logo_url`` is not an http(s) URL.
    """

    name: str
    email: str = ""
    phone: str = ""
    url: str = attrs.field(default="", validator=_web_url)
    logo_url: str = attrs.field(default="", validator=_web_url)


@attrs.frozen
class PersonalizationItem:
    """A product the host recommends: a name, a link, an image and a price, all optional but
    the name.

    Raises:
        ValidationError: ``url`` or ``image_url`` is not an http(s) URL.
    """

    name: str
    url: str = attrs.field(default="", validator=_web_url)
    image_url: str = attrs.field(default="", validator=_web_url)
    price: Money | None = None


@attrs.frozen
class PersonalizationBlock:
    """A personal touch supplied by the host's :class:`~orderkit.ports.PersonalizationProvider`.

    Recommended ``products``, or a ``coupon_code`` with its ``text``, or both, under a
    ``title``. Plain data only: titles and texts are shown escaped. (Not ``items``: templates
    see the block as a dict, where ``block.items`` would be the dict's method.)
    """

    title: str
    text: str = ""
    products: tuple[PersonalizationItem, ...] = attrs.field(default=(), converter=_products)
    coupon_code: str = ""


@attrs.frozen
class ReceiptLine:
    """One order line with its share of the order's money, already computed and rounded.

    ``total`` is the line after its discounts; like the prices, it includes tax exactly when
    the order's prices do (``Receipt.prices_include_tax``). ``tax`` is the line's tax either way.
    """

    line_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Money
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    attributes: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ReceiptDiscount:
    """A discount or coupon of the order, with the amount it actually took off."""

    label: str
    amount: Money
    code: str = ""


@attrs.frozen
class ReceiptShipment:
    """A parcel on its way: carrier, tracking number and the link to follow it.

    ``carrier`` is the carrier's code (``sf``), ``carrier_name`` what customers know it as
    (``SF Express``); templates show the name, or the code when there is none."""

    shipment_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    tracking_url: str = ""
    delivered_at: datetime | None = None
    carrier_name: str = ""


@attrs.frozen
class Receipt:
    """An immutable snapshot of an order for one customer message. Build it with
    :meth:`from_order`; the renderer only reads it.

    ``detail`` is a short text about this message (a carrier's exception note) and
    ``amount`` the money it is about (this payment, this refund), where there is one.
    ``time_zone`` is the order's IANA zone times are shown in (empty: the renderer's).
    """

    kind: str
    receipt_number: str
    issued_at: datetime
    order_id: str
    order_number: str
    placed_at: datetime
    status: str
    locale: str
    customer_name: str
    customer_email: str
    shipping_address: Address
    lines: tuple[ReceiptLine, ...]
    discounts: tuple[ReceiptDiscount, ...]
    items_total: Money
    discount_total: Money
    shipping: Money
    tax: Money
    total: Money
    prices_include_tax: bool
    amount_paid: Money
    amount_refunded: Money
    balance_due: Money
    payment_state: str
    merchant: Merchant
    shipments: tuple[ReceiptShipment, ...] = ()
    estimated_ship_date: date | None = None
    blocks: tuple[PersonalizationBlock, ...] = attrs.field(default=(), converter=_blocks)
    detail: str = ""
    amount: Money | None = None
    time_zone: str = ""
    estimated_arrival_date: date | None = None

    @property
    def tracking_urls(self) -> tuple[str, ...]:
        """The tracking links of every shipment that has one."""
        return tuple(s.tracking_url for s in self.shipments if s.tracking_url)

    @classmethod
    def from_order(
        cls,
        order: Order,
        *,
        kind: str,
        receipt_number: str,
        issued_at: datetime,
        merchant: Merchant,
        blocks: Iterable[PersonalizationBlock] = (),
        estimated_ship_date: date | None = None,
        estimated_arrival_date: date | None = None,
        detail: str = "",
        amount: Money | None = None,
        carrier_names: Mapping[str, str] | None = None,
    ) -> Receipt:
        """Snapshot ``order`` for a message of ``kind``.

        Args:
            order: the order as it is after the change the receipt tells about.
            kind: one of :class:`ReceiptKind`.
            receipt_number: unique per order and kind (see :class:`ReceiptNotifier`).
            issued_at: when the receipt is issued, timezone-aware.
            merchant: the shop's name and contact details.
            blocks: personalization blocks from the host's provider.
            estimated_ship_date: when the order is expected to leave the warehouse.
            estimated_arrival_date: when it is expected to arrive (see
                :func:`estimated_arrival`); shown only beside an estimated ship date.
            detail: a short text specific to this message (a carrier's exception note).
            amount: the money this message is about: the payment received, the refund
                issued (the receipt's totals still show everything paid and refunded).
            carrier_names: carrier code -> the name customers know it by (``{"sf": "SF
                Express"}``), or ``code/service`` -> name for one service of a carrier
                (``{"manual/ups": "UPS"}``: the courier of a merchant-entered number); a
                carrier not in it is shown by its code.

        Raises:
            ValidationError: an unknown ``kind``, an empty ``receipt_number`` or a naive
                ``issued_at``.
        """
        if kind not in ReceiptKind.ALL:
            raise ValidationError(
                "kind", f"unknown receipt kind {kind!r}; use one of {', '.join(ReceiptKind.ALL)}"
            )
        if not isinstance(receipt_number, str) or not receipt_number.strip():
            raise ValidationError("receipt_number", "give a non-empty receipt number")
        if issued_at.tzinfo is None:
            raise ValidationError("issued_at", "must be timezone-aware, e.g. datetime.now(UTC)")
        totals = order.totals
        lines = tuple(
            ReceiptLine(
                line_id=line.line_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                subtotal=lt.subtotal,
                discount=lt.discount,
                tax=lt.tax,
                total=lt.subtotal - lt.discount,
                attributes=line.attributes,
            )
            for line, lt in zip(order.lines, totals.lines, strict=True)
        )
        names = carrier_names or {}
        shipments = tuple(
            ReceiptShipment(
                shipment_id=s.shipment_id,
                carrier=s.carrier,
                carrier_name=names.get(f"{s.carrier}/{s.service}") or names.get(s.carrier, ""),
                tracking_number=s.tracking_number,
                shipped_at=s.shipped_at,
                # A carrier's page link is shown only if it is a web page.
                tracking_url=s.tracking_url if _is_web_url(s.tracking_url) else "",
                delivered_at=s.delivered_at,
            )
            for s in order.shipments
        )
        return cls(
            kind=kind,
            receipt_number=receipt_number,
            issued_at=issued_at,
            order_id=order.id,
            order_number=order.number,
            placed_at=order.created_at,
            status=order.status,
            locale=order.locale,
            customer_name=order.customer.name,
            customer_email=order.customer.email,
            shipping_address=order.shipping_address,
            lines=lines,
            discounts=_discounts(order, totals.discount),
            items_total=totals.items,
            discount_total=totals.discount,
            shipping=totals.shipping,
            tax=totals.tax,
            total=totals.total,
            prices_include_tax=totals.prices_include_tax,
            amount_paid=order.amount_paid,
            amount_refunded=order.amount_refunded,
            balance_due=order.balance_due,
            payment_state=PaymentState.of(order),
            merchant=merchant,
            shipments=shipments,
            estimated_ship_date=estimated_ship_date,
            blocks=blocks,
            detail=detail,
            amount=amount,
            time_zone=order.time_zone,
            estimated_arrival_date=estimated_arrival_date if estimated_ship_date else None,
        )


def estimated_arrival(ship_date: date | None, quote: RateQuote | None) -> date | None:
    """The day a parcel shipped on ``ship_date`` should arrive by: the last day of the
    carrier's quoted range (``estimated_days``, calendar days), or None when either is
    unknown."""
    if ship_date is None or quote is None or quote.estimated_days is None:
        return None
    return ship_date + timedelta(days=max(quote.estimated_days))


def _discounts(order: Order, total: Money) -> tuple[ReceiptDiscount, ...]:
    """Each discount with what it took off; the amounts sum exactly to ``total``.

    A discount's face value (its amount, or its percent of what it applies to) is what it
    takes off unless discounts together exceed a line's price, which caps them; spreading
    the capped total over the discounts by face value keeps every row honest and the rows'
    sum equal to the totals' discount.
    """
    adjustments = [a for a in order.adjustments if a.kind != AdjustmentKind.SHIPPING]
    if not adjustments or total.is_zero:
        return ()
    subtotals = {line.line_id: line.subtotal for line in order.lines}
    items = Money.sum(subtotals.values(), order.currency)
    faces = []
    for adj in adjustments:
        if adj.amount is not None:
            faces.append(adj.amount.amount)
        else:
            base = subtotals[adj.line_id] if adj.line_id is not None else items
            faces.append(base.amount * (adj.percent or 0) / 100)
    weights = faces if any(faces) else [1] * len(adjustments)
    shares = total.allocate(weights)
    return tuple(
        ReceiptDiscount(label=adj.label, amount=share, code=adj.code)
        for adj, share in zip(adjustments, shares, strict=True)
    )
