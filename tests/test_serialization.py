"""The one cattrs converter: every model and event payload survives a round trip unchanged.

Storage keeps orders and event payloads as the JSON this converter writes, and hosts export
events with it, so ``structure(unstructure(x)) == x`` must hold for every value, with the
money as text and the edit operations tagged by kind.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderkit import ChangePrice, Money, Order, ValidationError
from orderkit.domain.events import EVENT_TYPES, RecordedEvent, TagAdded
from orderkit.domain.order import (
    Address,
    Adjustment,
    Customer,
    EditOp,
    EditRequest,
    LineDraft,
    LineItem,
    Note,
    Payment,
    Refund,
    Shipment,
)
from orderkit.serialization import (
    event_from_dict,
    event_to_dict,
    get_converter,
    loads,
    order_from_json,
    order_to_json,
    payload_from_json,
    payload_to_json,
)
from orderkit.testing.storage import rich_order
from strategies import (
    EVENT_PAYLOADS,
    adjustments,
    any_addresses,
    customers,
    edit_requests,
    event_payloads,
    line_drafts,
    line_items,
    notes,
    orders,
    payments,
    refunds,
    shipments,
    utc_datetimes,
)

MODELS: list[tuple[type, st.SearchStrategy[Any]]] = [
    (Address, any_addresses()),
    (Customer, customers()),
    (LineDraft, line_drafts()),
    (LineItem, line_items()),
    (Adjustment, adjustments()),
    (Payment, payments()),
    (Refund, refunds()),
    (Shipment, shipments()),
    (Note, notes()),
    (EditRequest, edit_requests()),
]


@pytest.mark.parametrize(("cls", "strategy"), MODELS, ids=lambda v: getattr(v, "__name__", ""))
@given(data=st.data())
def test_every_model_round_trips_through_the_converter(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy)

    assert value == get_converter().structure(loads(payload_to_json(value)), cls)


# A whole order is a large value to draw; on a busy machine one example can pass the default
# 200 ms deadline, which would make this test fail for reasons that are not its own.
@settings(deadline=None)
@given(orders())
def test_every_order_round_trips_through_its_stored_json(order: Order) -> None:
    assert order == order_from_json(order_to_json(order))


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_event_type_round_trips_through_its_stored_json(
    name: str, data: st.DataObject
) -> None:
    payload = data.draw(EVENT_PAYLOADS[name])
    assert payload == payload_from_json(name, payload_to_json(payload))


@given(
    st.integers(min_value=1, max_value=2**62),
    utc_datetimes(),
    st.text(max_size=12),
    event_payloads(),
)
def test_a_recorded_event_round_trips_through_its_export_dict(
    position: int, at: datetime, actor: str, payload: object
) -> None:
    event = RecordedEvent(position, "order:01J", type(payload).__name__, at, actor, "", payload)

    assert event == event_from_dict(event_to_dict(event))


@settings(max_examples=10)
@given(order=orders())
def test_an_order_stored_before_orders_had_a_time_zone_reads_back_without_one(
    order: Order,
) -> None:
    stored = loads(order_to_json(order))
    del stored["time_zone"]
    assert "" == order_from_json(json.dumps(stored)).time_zone


def test_money_is_stored_as_text_never_as_a_float() -> None:
    assert {"amount": "19.99", "currency": "USD"} == get_converter().unstructure(
        Money("19.99", "USD")
    )


def test_decimals_are_stored_as_text() -> None:
    line = LineItem("L1", "TEA", "Tea", 1, Money("5.00", "EUR"), tax_rate=Decimal("0.19"))

    assert "0.19" == get_converter().unstructure(line)["tax_rate"]


def test_an_edit_operation_is_stored_tagged_with_its_kind() -> None:
    op = ChangePrice("L2", Money("9.50", "USD"))

    assert {
        "op": "ChangePrice",
        "line_id": "L2",
        "unit_price": {"amount": "9.50", "currency": "USD"},
    } == (get_converter().unstructure(op, EditOp))


def test_datetimes_are_stored_in_iso_8601_with_their_utc_offset() -> None:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)

    assert (
        "2026-11-23T09:30:00+00:00"
        == event_to_dict(RecordedEvent(1, "order:1", "TagAdded", at, "web", "", TagAdded("gift")))[
            "at"
        ]
    )


def test_loading_an_unknown_event_type_raises_validation_error_naming_the_type() -> None:
    with pytest.raises(ValidationError, match="'Teleported'") as raised:
        payload_from_json("Teleported", "{}")

    assert "type" == raised.value.field


def test_importing_an_exported_event_of_an_unknown_type_raises_validation_error() -> None:
    exported = event_to_dict(
        RecordedEvent(
            1, "order:1", "TagAdded", datetime.now(timezone.utc), "web", "", TagAdded("x")
        )
    )

    with pytest.raises(ValidationError, match="'TagVanished'"):
        event_from_dict({**exported, "type": "TagVanished"})


def test_an_order_stored_before_normalization_reads_back_with_its_tags_and_numbers_normalized() -> (
    None
):
    stored = (
        order_to_json(rich_order())
        .replace('"tags":["gift","vip"]', '"tags":["Gift","VIP"," vip "]')
        .replace('"tracking_number":"SF1234567890"', '"tracking_number":"sf 1234567890"')
    )
    assert '"VIP"' in stored
    assert '"sf 1234567890"' in stored

    order = order_from_json(stored)

    assert (("gift", "vip"), "SF1234567890") == (order.tags, order.shipments[0].tracking_number)


# Stored orders and the currency table. The exponent of each amount comes from the ISO 4217
# table frozen in the package, never from the installed babel, so these read the same under
# any babel release (babel 2.19 gives HUF no decimals, babel 2.12 gave it two).

STORED = Path(__file__).parent / "data"


def test_an_order_stored_with_the_shipped_iso_4217_table_reads_back_unchanged() -> None:
    text = (STORED / "order-stored-huf-iso-4217.json").read_text(encoding="utf-8")
    order = order_from_json(text)
    stored, rewritten = loads(text), loads(order_to_json(order))
    changed = {key: value for key, value in stored.items() if rewritten[key] != value}
    assert (Money("1990.50", "HUF"), {}) == (order.lines[0].unit_price, changed)


def test_an_order_stored_when_babel_gave_forints_no_decimals_reads_back_as_stored() -> None:
    text = (STORED / "order-stored-huf-cldr-babel-2.19.json").read_text(encoding="utf-8")
    order = order_from_json(text)
    amounts = (order.lines[0].unit_price, order.adjustments[0].amount, order.amount_paid)
    assert ["1990.00", "990.00", "4970.00"] == [str(m.amount) for m in amounts]
