"""Hypothesis strategies for orderkit's values, shared by every test module.

Import them as ``from strategies import money`` (pytest puts ``tests/`` on ``sys.path``).
Extend this module when you add a model rather than writing strategies in a test file.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import TypeVar

import babel.numbers
from hypothesis import strategies as st

from orderkit import events
from orderkit.money import Money, minor_units
from orderkit.order import (
    AddLine,
    Address,
    Adjustment,
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

__all__ = [
    "addresses",
    "adjustments",
    "allocation_weights",
    "currencies",
    "customers",
    "edit_ops",
    "edit_requests",
    "event_payloads",
    "line_drafts",
    "line_items",
    "money",
    "notes",
    "orders",
    "payments",
    "refunds",
    "shipments",
    "stock_movements",
    "utc_datetimes",
]

# Sorted, so a failing example names the same currency on every run.
ALL_CURRENCIES: tuple[str, ...] = tuple(sorted(babel.numbers.list_currencies()))


def currencies() -> st.SearchStrategy[str]:
    """Any ISO 4217 code babel knows, shrinking towards the start of the alphabet."""
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

# --- orders and events ---------------------------------------------------------------------
#
# These draw every field of the models, valid or not for the domain (a round trip through
# the converter must not care). Text comes from a fixed alphabet of what JSON has to escape
# or encode (quotes, backslashes, control characters, accents, CJK, an astral emoji): drawing
# from all of Unicode costs hypothesis seconds of set-up per process and finds nothing more.

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


def addresses() -> st.SearchStrategy[Address]:
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
        st.builds(ChangeAddress, addresses()),
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
        shipping_address=draw(addresses()),
        lines=draw(_tuples(line_items(currency), max_size=3)),
        currency=currency,
        status=draw(st.sampled_from(("pending_payment", "awaiting_shipment", "shipped", "closed"))),
        created_at=draw(utc_datetimes()),
        updated_at=draw(utc_datetimes()),
        billing_address=draw(st.none() | addresses()),
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
    )


def stock_movements(
    skus: st.SearchStrategy[str] = ids, locations: st.SearchStrategy[str] = texts
) -> st.SearchStrategy[events.StockMovement]:
    return st.builds(events.StockMovement, skus, locations, quantities)


def _movements() -> st.SearchStrategy[tuple[events.StockMovement, ...]]:
    return _tuples(stock_movements(), max_size=4)


#: A strategy per registered event type; ``test_serialization`` checks none is missing.
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
        addresses(),
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


def event_payloads() -> st.SearchStrategy[object]:
    """A payload of any registered event type."""
    return st.one_of(*EVENT_PAYLOADS.values())
