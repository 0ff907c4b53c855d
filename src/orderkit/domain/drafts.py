"""What a host hands in to place an order, and the checks it passes before anything is
written."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from decimal import Decimal

import attrs

from orderkit.domain.money import Money
from orderkit.domain.normalize import check_email, locale_identifier
from orderkit.domain.tax import DEFAULT_TAX_POLICY, TaxPolicy, validate_tax_policy
from orderkit.domain.values import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    LineItem,
    SalesChannel,
    _adjustments,
    _line_drafts,
    _tags,
)
from orderkit.errors import CurrencyMismatch, ValidationError

__all__ = [
    "OrderDraft",
    "check_currency",
    "validate_address",
    "validate_adjustment",
    "validate_draft",
    "validate_line",
    "zone_info",
]


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
