"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
import re
import string
import urllib.parse
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

import attrs
from hypothesis import strategies as st

import orderkit.domain.aftersales
import orderkit.domain.drafts
import orderkit.domain.events
import orderkit.domain.order
import orderkit.domain.shipping
import orderkit.domain.totals
import orderkit.domain.values
from orderkit.adapters.address import POSTAL_CODES
from orderkit.domain import events
from orderkit.domain._iso4217 import MINOR_UNITS
from orderkit.domain.address import Suspicion
from orderkit.domain.inventory import StockMovement
from orderkit.domain.money import DEFAULT_ROUNDING, ROUNDING_MODES, Money, minor_units
from orderkit.domain.order import (
    AddLine,
    Address,
    Adjustment,
    AdjustmentKind,
    ChangeAddress,
    ChangePrice,
    ChangeQuantity,
    Customer,
    EditOp,
    EditRequest,
    LineDraft,
    LineItem,
    Note,
    Order,
    Payment,
    Refund,
    RemoveLine,
    Shipment,
    ShipmentLine,
)
from orderkit.domain.receipt import (
    Merchant,
    PaymentState,
    PersonalizationBlock,
    PersonalizationItem,
    Receipt,
    ReceiptDiscount,
    ReceiptKind,
    ReceiptLine,
    ReceiptShipment,
)
from orderkit.domain.shipping import Parcel
from orderkit.domain.tax import TaxPolicy, TaxScope
from orderkit.notify.dispatch import RetryPolicy

__all__ = [
    "addresses",
    "adjustments",
    "allocation_weights",
    "aware_datetimes",
    "body_text",
    "currencies",
    "customers",
    "discounted_orders",
    "edit_ops",
    "edit_requests",
    "event_payloads",
    "flipped_text",
    "header_text",
    "json_values",
    "line_drafts",
    "line_items",
    "money",
    "notes",
    "orders",
    "parcels",
    "payments",
    "priced_orders",
    "receipts",
    "refunds",
    "retry_policies",
    "s10_numbers",
    "shipments",
    "spec_s10_check",
    "spec_ups_check",
    "spec_usps_check",
    "stock_movements",
    "suspicions",
    "tax_policies",
    "ups_numbers",
    "usps_numbers",
    "utc_datetimes",
    "webhook_deliveries",
]

ALL_CURRENCIES: tuple[str, ...] = tuple(sorted(MINOR_UNITS))


def currencies() -> st.SearchStrategy[str]:
    """Any code in orderkit's ISO 4217 table, shrinking towards the start of the alphabet."""
    return st.sampled_from(ALL_CURRENCIES)


@st.composite
def money(
    draw: st.DrawFn,
    currency: str | st.SearchStrategy[str] | None = None,
    min_value: Decimal | int | str = Decimal("-1000000"),
    max_value: Decimal | int | str = Decimal("1000000"),
) -> Money:
    """Money in ``currency`` (a code, a strategy of codes, or any currency when None).

    Amounts are drawn in whole minor units between ``min_value`` and ``max_value`` inclusive
    (bounds that fall between two minor units are rounded inwards), so every amount is valid
    for its currency and shrinks towards zero.
    """
    if currency is None:
        code = draw(currencies())
    elif isinstance(currency, str):
        code = currency
    else:
        code = draw(currency)
    scale = 10 ** minor_units(code)
    low = math.ceil(Decimal(min_value) * scale)
    high = math.floor(Decimal(max_value) * scale)
    return Money.from_minor(draw(st.integers(min_value=low, max_value=high)), code)


def allocation_weights(max_size: int = 12) -> st.SearchStrategy[list[Decimal | int]]:
    """Valid weights for :meth:`Money.allocate`: non-negative, at least one above zero.

    Ints and Decimals with up to three decimal places are mixed, zeros are common, and
    repeated values make ties on the remainder likely.
    """
    weight: st.SearchStrategy[Decimal | int] = st.one_of(
        st.integers(min_value=0, max_value=5),
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=1000, places=3),
    )
    return st.lists(weight, min_size=1, max_size=max_size).filter(lambda ws: any(ws))


T = TypeVar("T")

_ALPHABET = 'aZ09 -_.:@"\\/\n\t\x00\x7féßøÅ中文字ー＃€😀'

texts = st.text(alphabet=_ALPHABET, max_size=8)

ids = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=26)

quantities = st.integers(min_value=0, max_value=10**6)

rates = st.decimals(min_value=0, max_value=1, places=4)


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes, as the clock gives them, to the microsecond."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(timezone.utc),
    )


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes with fixed offsets (UTC and whole-minute offsets)."""
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
    )


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)

_numbers = st.from_regex(r"[A-Z]{1,4}-[0-9]{4}-[0-9]{6}(-[0-9]{1,3})?", fullmatch=True)


def _web_urls() -> st.SearchStrategy[str]:
    """What receipts carry as links: nothing, or an http(s) URL with any path."""
    return st.just("") | st.text(max_size=20).map(
        lambda path: f"https://shop.example/{urllib.parse.quote(path)}"
    )


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    """Receipts with every part filled in arbitrarily, all money in one currency."""
    code = draw(currencies())
    amount = money(code, min_value=0, max_value=10**6)
    address = st.builds(Address, name=_text, line1=_text, city=_text, country=st.just("CN"))
    line = st.builds(
        ReceiptLine,
        line_id=_text,
        sku=_text,
        name=_text,
        quantity=st.integers(min_value=1, max_value=1000),
        unit_price=amount,
        subtotal=amount,
        discount=amount,
        tax=amount,
        total=amount,
        attributes=st.lists(st.tuples(_text, _text), max_size=2).map(tuple),
    )
    item = st.builds(PersonalizationItem, name=_text, url=_web_urls(), price=st.none() | amount)
    block = st.builds(
        PersonalizationBlock,
        title=_text,
        text=_text,
        products=st.lists(item, max_size=2),
        coupon_code=_text,
    )
    shipment = st.builds(
        ReceiptShipment,
        shipment_id=_text,
        carrier=_text,
        tracking_number=_text,
        shipped_at=aware_datetimes(),
        tracking_url=_web_urls(),
        delivered_at=st.none() | aware_datetimes(),
    )
    return Receipt(
        kind=draw(st.sampled_from(ReceiptKind.ALL)),
        receipt_number=draw(_numbers),
        issued_at=draw(aware_datetimes()),
        order_id=draw(_text),
        order_number=draw(_numbers),
        placed_at=draw(aware_datetimes()),
        status=draw(_text),
        locale=draw(st.sampled_from(["en", "de", "ja", "zh_Hans", "zh_Hant", "fr_CA"])),
        time_zone=draw(st.sampled_from(["", "Europe/Berlin", "America/New_York"])),
        customer_name=draw(_text),
        customer_email=draw(_text),
        shipping_address=draw(address),
        lines=tuple(draw(st.lists(line, max_size=3))),
        discounts=tuple(
            draw(st.lists(st.builds(ReceiptDiscount, label=_text, amount=amount), max_size=2))
        ),
        items_total=draw(amount),
        discount_total=draw(amount),
        shipping=draw(amount),
        tax=draw(amount),
        total=draw(amount),
        prices_include_tax=draw(st.booleans()),
        amount_paid=draw(amount),
        amount_refunded=draw(amount),
        balance_due=draw(amount),
        payment_state=draw(
            st.sampled_from(
                [
                    PaymentState.UNPAID,
                    PaymentState.PARTIALLY_PAID,
                    PaymentState.PAID,
                    PaymentState.PARTIALLY_REFUNDED,
                    PaymentState.REFUNDED,
                ]
            )
        ),
        merchant=draw(st.builds(Merchant, name=_text, email=_text, url=_web_urls())),
        shipments=tuple(draw(st.lists(shipment, max_size=2))),
        estimated_ship_date=draw(st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1))),
        blocks=draw(st.lists(block, max_size=2)),
        detail=draw(_text),
        amount=draw(st.none() | amount),
    )


def tax_policies() -> st.SearchStrategy[TaxPolicy]:
    """Every scope and rounding mode, with shipping taxed or not; the default shrinks first."""
    return st.builds(
        TaxPolicy,
        scope=st.sampled_from(TaxScope.ALL),
        rounding=st.sampled_from(sorted(ROUNDING_MODES, key=lambda m: m != DEFAULT_ROUNDING)),
        shipping_taxable=st.booleans(),
    )


@st.composite
def discounted_orders(draw: st.DrawFn) -> Order:
    """Placed orders of 1-4 lines with order- and line-level discounts (amounts and
    percents, sometimes larger than what they apply to), a shipping fee and tax."""
    code = draw(st.sampled_from(["USD", "JPY", "EUR", "KWD"]))
    price = money(code, min_value=0, max_value=500)
    lines = tuple(
        LineItem(
            line_id=f"L{i + 1}",
            sku=f"SKU-{i}",
            name=f"Item {i}",
            quantity=draw(st.integers(min_value=1, max_value=5)),
            unit_price=draw(price),
            tax_rate=draw(st.sampled_from([Decimal(0), Decimal("0.07"), Decimal("0.19")])),
        )
        for i in range(draw(st.integers(min_value=1, max_value=4)))
    )
    discount = st.one_of(
        st.builds(
            lambda amount: Adjustment(AdjustmentKind.COUPON, "Coupon", amount=amount),
            money(code, min_value=Decimal("0.01") if code != "JPY" else 1, max_value=600),
        ),
        st.builds(
            lambda percent: Adjustment(AdjustmentKind.DISCOUNT, "Sale", percent=percent),
            st.decimals(min_value=Decimal("0.5"), max_value=100, places=1),
        ),
        st.builds(
            lambda line, percent: Adjustment(
                AdjustmentKind.DISCOUNT, "Line sale", percent=percent, line_id=line
            ),
            st.sampled_from([line.line_id for line in lines]),
            st.decimals(min_value=1, max_value=100, places=0),
        ),
    )
    adjustments = [*draw(st.lists(discount, max_size=3))]
    if draw(st.booleans()):
        adjustments.append(Adjustment(AdjustmentKind.SHIPPING, "Shipping", amount=draw(price)))
    at = datetime(2026, 11, 23, tzinfo=timezone.utc)
    return Order(
        id="ord-1",
        number="SO-2026-000001",
        customer=Customer("c-1", "Customer"),
        shipping_address=Address("Customer", "1 Main St", "Springfield", "US"),
        lines=lines,
        currency=code,
        status="pending_payment",
        created_at=at,
        updated_at=at,
        prices_include_tax=draw(st.booleans()),
        adjustments=tuple(adjustments),
        tax_policy=draw(tax_policies()),
    )


def spec_s10_check(serial: str) -> int:
    """UPU S10: weights 8 6 4 2 3 5 9 7; 11 - (sum mod 11), with 10 -> 0 and 11 -> 5."""
    weights = [8, 6, 4, 2, 3, 5, 9, 7]
    total = 0
    for position in range(8):
        total += weights[position] * int(serial[position])
    check = 11 - total % 11
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def spec_ups_check(body: str) -> int:
    """UPS 1Z: letters A..Z as (ord - 63) mod 10; odd positions once, even positions twice."""
    odd = even = 0
    for position, char in enumerate(body, start=1):
        value = int(char) if char in "0123456789" else (ord(char) - 63) % 10
        if position % 2:
            odd += value
        else:
            even += value
    remainder = (odd + 2 * even) % 10
    return 0 if remainder == 0 else 10 - remainder


def spec_usps_check(data: str) -> int:
    """USPS Publication 199 MOD 10: from the right, odd positions times 3 plus even positions;
    the check digit is what brings the sum up to the next multiple of 10."""
    reversed_digits = [int(d) for d in reversed(data)]
    odd = sum(reversed_digits[0::2])
    even = sum(reversed_digits[1::2])
    total = 3 * odd + even
    next_ten = (total + 9) // 10 * 10
    return next_ten - total


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_DIGITS = "0123456789"


@st.composite
def s10_numbers(draw: st.DrawFn, country: str | None = None) -> str:
    """A valid UPU S10 number, e.g. ``RR123456785CN``."""
    service = draw(st.text(_LETTERS, min_size=2, max_size=2))
    serial = draw(st.text(_DIGITS, min_size=8, max_size=8))
    issuer = country or draw(st.text(_LETTERS, min_size=2, max_size=2))
    return f"{service}{serial}{spec_s10_check(serial)}{issuer}"


@st.composite
def ups_numbers(draw: st.DrawFn) -> str:
    """A valid UPS ``1Z`` number: 6 shipper characters, 2 service digits, 7 package digits."""
    shipper = draw(st.text(_DIGITS + _LETTERS, min_size=6, max_size=6))
    rest = draw(st.text(_DIGITS, min_size=9, max_size=9))
    body = shipper + rest
    return f"1Z{body}{spec_ups_check(body)}"


@st.composite
def usps_numbers(draw: st.DrawFn) -> str:
    """A valid USPS IMpb number of 20, 21 or 22 digits."""
    data = draw(st.text(_DIGITS, min_size=19, max_size=21))
    return f"{data}{spec_usps_check(data)}"


def parcels(max_grams: int = 5000, max_size: int = 4) -> st.SearchStrategy[list[Parcel]]:
    """One to ``max_size`` parcels of 1 g to ``max_grams`` each, with one to five items."""
    parcel = st.builds(
        Parcel, weight_grams=st.integers(1, max_grams), items=st.integers(min_value=1, max_value=5)
    )
    return st.lists(parcel, min_size=1, max_size=max_size)


REGIONLESS_COUNTRIES = ("AT", "CH", "DE", "FR", "GB", "NL")

_NAME_CHARS = st.characters(codec="latin-1", categories=["Lu", "Ll"], exclude_characters="ªºµÿ")


def _words(min_size: int = 1) -> st.SearchStrategy[str]:
    word = st.text(_NAME_CHARS, min_size=1, max_size=12)
    return st.lists(word, min_size=min_size, max_size=3).map(" ".join)


@st.composite
def addresses(draw: st.DrawFn, countries: tuple[str, ...] = REGIONLESS_COUNTRIES) -> Address:
    """An address in one of ``countries`` whose postal code has the country's shape
    (:data:`orderkit.adapters.address.POSTAL_CODES`); names and streets are Latin-1 words."""
    country = draw(st.sampled_from(countries))
    rule = POSTAL_CODES[country]
    number = draw(st.integers(min_value=1, max_value=999))
    return Address(
        name=draw(_words()),
        line1=f"{draw(_words())} {number}",
        city=draw(_words()),
        country=country,
        postal_code=draw(st.from_regex(re.compile(rule.pattern, re.ASCII), fullmatch=True)),
    )


def any_addresses() -> st.SearchStrategy[Address]:
    """Any address, valid or not: for round trips through storage and the converter."""
    return st.builds(
        Address,
        texts,
        texts,
        texts,
        st.sampled_from(("CN", "DE", "JP", "US")),
        line2=texts,
        region=texts,
        postal_code=texts,
        phone=texts,
        company=texts,
    )


def customers() -> st.SearchStrategy[Customer]:
    return st.builds(Customer, ids, texts, email=texts, phone=texts)


def _line_fields(currency: str | None) -> dict[str, st.SearchStrategy[object]]:
    return {
        "sku": ids,
        "name": texts,
        "quantity": quantities,
        "unit_price": money(currency),
        "unit_cost": st.none() | money(currency),
        "tax_rate": rates,
        "weight_grams": quantities,
        "location": st.sampled_from(("default", "shanghai", "berlin")),
        "attributes": st.dictionaries(texts, texts, max_size=3),
    }


def line_drafts(currency: str | None = None) -> st.SearchStrategy[LineDraft]:
    return st.builds(LineDraft, **_line_fields(currency))


def line_items(currency: str | None = None) -> st.SearchStrategy[LineItem]:
    return st.builds(
        LineItem,
        line_id=st.integers(min_value=1, max_value=99).map(lambda n: f"L{n}"),
        **_line_fields(currency),
    )


def adjustments(currency: str | None = None) -> st.SearchStrategy[Adjustment]:
    return st.builds(
        Adjustment,
        kind=st.sampled_from(("discount", "coupon", "shipping")),
        label=texts,
        amount=st.none() | money(currency, min_value=0),
        percent=st.none() | st.decimals(min_value=0, max_value=100, places=2),
        code=texts,
        line_id=st.none() | st.just("L1"),
    )


def payments(currency: str | None = None) -> st.SearchStrategy[Payment]:
    return st.builds(Payment, ids, money(currency, min_value=0), texts, texts, utc_datetimes())


def refunds(currency: str | None = None) -> st.SearchStrategy[Refund]:
    return st.builds(Refund, ids, money(currency, min_value=0), texts, texts, utc_datetimes())


def shipments() -> st.SearchStrategy[Shipment]:
    return st.builds(
        Shipment,
        ids,
        st.lists(st.builds(ShipmentLine, st.just("L1"), quantities), max_size=3).map(tuple),
        texts,
        texts,
        utc_datetimes(),
        delivered_at=st.none() | utc_datetimes(),
        tracking_url=texts,
    )


def notes() -> st.SearchStrategy[Note]:
    return st.builds(Note, utc_datetimes(), texts, texts)


def edit_ops(currency: str | None = None) -> st.SearchStrategy[EditOp]:
    """One of each kind of edit operation."""
    return st.one_of(
        st.builds(ChangeQuantity, st.just("L1"), quantities),
        st.builds(ChangePrice, st.just("L1"), money(currency)),
        st.builds(ChangeAddress, any_addresses()),
        st.builds(AddLine, line_drafts(currency)),
        st.builds(RemoveLine, st.just("L2")),
    )


def edit_requests(currency: str | None = None) -> st.SearchStrategy[EditRequest]:
    return st.builds(
        EditRequest,
        ids,
        st.lists(edit_ops(currency), min_size=1, max_size=3).map(tuple),
        texts,
        utc_datetimes(),
        texts,
    )


def _tuples(strategy: st.SearchStrategy[T], max_size: int = 2) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, max_size=max_size).map(tuple)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """An order with every field drawn, its money in one currency."""
    currency = draw(currencies())
    return Order(
        id=draw(ids),
        number=draw(texts),
        customer=draw(customers()),
        shipping_address=draw(any_addresses()),
        lines=draw(_tuples(line_items(currency), max_size=3)),
        currency=currency,
        status=draw(st.sampled_from(("pending_payment", "awaiting_shipment", "shipped", "closed"))),
        created_at=draw(utc_datetimes()),
        updated_at=draw(utc_datetimes()),
        billing_address=draw(st.none() | any_addresses()),
        channel=draw(st.sampled_from(("web", "app", "marketplace", "pos", "social"))),
        prices_include_tax=draw(st.booleans()),
        adjustments=draw(_tuples(adjustments(currency))),
        tags=draw(st.frozensets(texts, max_size=3)),
        group=draw(st.none() | texts),
        locale=draw(st.sampled_from(("en", "zh_Hans", "ja", "de"))),
        payments=draw(_tuples(payments(currency))),
        refunds=draw(_tuples(refunds(currency))),
        shipments=draw(_tuples(shipments())),
        notes=draw(_tuples(notes())),
        pending_edits=draw(_tuples(edit_requests(currency), max_size=1)),
        stock_reserved=draw(st.booleans()),
        version=draw(st.integers(min_value=1, max_value=10**6)),
        time_zone=draw(st.sampled_from(("", "UTC", "Europe/Berlin", "Asia/Shanghai"))),
        tax_policy=draw(tax_policies()),
    )


def stock_movements(
    skus: st.SearchStrategy[str] = ids, locations: st.SearchStrategy[str] = texts
) -> st.SearchStrategy[StockMovement]:
    return st.builds(StockMovement, skus, locations, quantities)


def _movements() -> st.SearchStrategy[tuple[StockMovement, ...]]:
    return _tuples(stock_movements(), max_size=4)


EVENT_PAYLOADS: dict[str, st.SearchStrategy[object]] = {
    "OrderPlaced": st.builds(
        events.OrderPlaced,
        texts,
        ids,
        texts,
        st.just("USD"),
        money("USD"),
        _tuples(line_items("USD")),
        _tuples(adjustments("USD")),
        any_addresses(),
    ),
    "StatusChanged": st.builds(events.StatusChanged, texts, texts, texts),
    "PaymentCaptured": st.builds(events.PaymentCaptured, payments("EUR"), money("EUR")),
    "RefundIssued": st.builds(events.RefundIssued, refunds("JPY"), money("JPY")),
    "StockReserved": st.builds(events.StockReserved, _movements()),
    "StockReleased": st.builds(events.StockReleased, _movements()),
    "StockCommitted": st.builds(events.StockCommitted, _movements()),
    "OrderShipped": st.builds(events.OrderShipped, shipments()),
    "OrderDelivered": st.builds(events.OrderDelivered, _tuples(ids)),
    "EditRequested": st.builds(events.EditRequested, edit_requests()),
    "EditApplied": st.builds(
        events.EditApplied,
        ids,
        texts,
        st.none() | texts,
        _tuples(st.builds(events.FieldChange, texts, texts, texts)),
    ),
    "EditRejected": st.builds(events.EditRejected, ids, texts, texts),
    "TagAdded": st.builds(events.TagAdded, texts),
    "TagRemoved": st.builds(events.TagRemoved, texts),
    "NoteAdded": st.builds(events.NoteAdded, texts),
    "StockReceived": st.builds(events.StockReceived, ids, texts, quantities, quantities),
    "StockAdjusted": st.builds(
        events.StockAdjusted, ids, texts, st.integers(-(10**6), 10**6), quantities
    ),
    "LowStock": st.builds(events.LowStock, ids, texts, quantities, quantities),
}


# Value types for payloads built from their type hints: a valid Money, a finite Decimal, and
# an aware datetime as the clock gives it.
st.register_type_strategy(Money, money("USD"))
st.register_type_strategy(
    Decimal,
    st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False),
)
st.register_type_strategy(datetime, utc_datetimes())
# Event types without a hand-written strategy above are built from their attrs type hints, so
# every registered type is round-tripped (tests/test_serialization.py draws each one). The
# hints are strings (postponed annotations) until attrs resolves them, module by module.
for _module in (
    orderkit.domain.order,
    orderkit.domain.values,
    orderkit.domain.totals,
    orderkit.domain.drafts,
    orderkit.domain.events,
    orderkit.domain.aftersales,
    orderkit.domain.shipping,
):
    for _value in vars(_module).values():
        if attrs.has(_value) and _value.__module__ == _module.__name__:
            attrs.resolve_types(_value)
for _name, _cls in events.EVENT_TYPES.items():
    EVENT_PAYLOADS.setdefault(_name, st.builds(_cls))


def event_payloads() -> st.SearchStrategy[object]:
    """A payload of any registered event type."""
    return st.one_of(*EVENT_PAYLOADS.values())


def suspicions() -> st.SearchStrategy[Suspicion]:
    return st.builds(
        Suspicion,
        field=st.sampled_from(["line1", "line2", "company", "city", "phone"]),
        code=st.sampled_from(["po_box", "missing_house_number", "phone_implausible"]),
        message=st.text(),
    )


def webhook_deliveries() -> st.SearchStrategy[tuple[str, int, bytes]]:
    """``(webhook id, Unix seconds, body)`` for one signed delivery; bodies are any bytes."""
    return st.tuples(
        st.text(alphabet=string.ascii_letters + string.digits + ":_-", min_size=1, max_size=40),
        st.integers(min_value=0, max_value=4_000_000_000),
        st.binary(min_size=1, max_size=200),
    )


@st.composite
def retry_policies(draw: st.DrawFn) -> RetryPolicy:
    """Valid retry policies with the real random wait: a base from a millisecond to a day
    and a cap at or above it."""
    base = draw(st.integers(min_value=1, max_value=86_400_000))
    cap = draw(st.integers(min_value=base, max_value=base * 10_000))
    return RetryPolicy(
        max_attempts=draw(st.integers(min_value=1, max_value=50)),
        base_delay=timedelta(milliseconds=base),
        max_delay=timedelta(milliseconds=cap),
    )


def json_values() -> st.SearchStrategy[dict[str, object]]:
    """JSON-ready outbox payloads: objects of strings (any Unicode), whole numbers, finite
    floats, bools, None, nested lists and objects."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    )
    nested = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
        ),
        max_leaves=12,
    )
    return st.dictionaries(st.text(), nested, max_size=6)


@st.composite
def flipped_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with exactly one character replaced by a different one (any Unicode)."""
    index = draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = draw(st.characters(codec="utf-8").filter(lambda c: c != text[index]))
    return text[:index] + replacement + text[index + 1 :]


def header_text() -> st.SearchStrategy[str]:
    """One line of any printable Unicode (CJK, emoji, accents): what a subject may hold."""
    return st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"]))


def body_text() -> st.SearchStrategy[str]:
    """A message body: one or more lines of any printable Unicode, each ending in a newline
    (transports end a body with one)."""
    lines = st.lists(header_text(), min_size=1, max_size=6)
    return lines.map(lambda found: "".join(f"{line}\n" for line in found))


_AT = datetime(2026, 5, 1, tzinfo=timezone.utc)


@st.composite
def priced_orders(
    draw: st.DrawFn, currency: str | None = None, max_lines: int = 4, max_quantity: int = 5
) -> Order:
    """A placed order with awkward money: 1..``max_lines`` lines (free ones too), tax rates,
    tax-inclusive or exclusive prices, an order-level discount (amount or percent), a coupon on
    one line and a shipping fee, each present or not. In CNY, JPY or KWD unless told."""
    code = currency or draw(st.sampled_from(("CNY", "JPY", "KWD")))
    count = draw(st.integers(min_value=1, max_value=max_lines))
    lines = tuple(
        LineItem(
            f"L{i + 1}",
            f"SKU-{i + 1}",
            f"Item {i + 1}",
            draw(st.integers(min_value=1, max_value=max_quantity)),
            draw(money(code, 0, 500)),
            tax_rate=draw(st.sampled_from((Decimal(0), Decimal("0.06"), Decimal("0.13")))),
        )
        for i in range(count)
    )
    adjustments = []
    if draw(st.booleans()):
        if draw(st.booleans()):
            amount = draw(money(code, 0, 50))
            adjustments.append(Adjustment(AdjustmentKind.DISCOUNT, "off", amount=amount))
        else:
            percent = Decimal(draw(st.integers(min_value=1, max_value=100)))
            adjustments.append(Adjustment(AdjustmentKind.DISCOUNT, "off", percent=percent))
    if draw(st.booleans()):
        line_id = draw(st.sampled_from([line.line_id for line in lines]))
        coupon = draw(money(code, 0, 20))
        adjustments.append(
            Adjustment(AdjustmentKind.COUPON, "coupon", amount=coupon, line_id=line_id)
        )
    if draw(st.booleans()):
        fee = draw(money(code, 0, 30))
        adjustments.append(Adjustment(AdjustmentKind.SHIPPING, "shipping", amount=fee))
    return Order(
        id="ord-1",
        number="SO-1",
        customer=Customer("c-1", "Customer"),
        shipping_address=Address("Customer", "1 Road", "City", "CN"),
        lines=lines,
        currency=code,
        status="awaiting_shipment",
        created_at=_AT,
        updated_at=_AT,
        prices_include_tax=draw(st.booleans()),
        adjustments=tuple(adjustments),
    )
