"""The Receipt snapshot: what it takes from the order, and that it survives serialization."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import given

from orderkit.domain.money import Money
from orderkit.domain.order import Order, Shipment
from orderkit.domain.receipt import (
    Merchant,
    PaymentState,
    PersonalizationItem,
    Receipt,
    ReceiptKind,
)
from orderkit.errors import ValidationError
from orderkit.serialization import dumps, get_converter, loads
from receipt_fixtures import MERCHANT, T0, place, receipt, service
from strategies import discounted_orders, receipts


@given(receipts())
def test_a_receipt_survives_unstructuring_and_structuring(r: Receipt) -> None:
    converter = get_converter()
    assert r == converter.structure(converter.unstructure(r, Receipt), Receipt)


@given(receipts())
def test_an_unstructured_receipt_survives_a_json_round_trip(r: Receipt) -> None:
    converter = get_converter()
    data = loads(dumps(converter.unstructure(r, Receipt)))
    assert r == converter.structure(data, Receipt)


def test_a_receipt_carries_the_order_totals() -> None:
    order = place(service())
    totals = order.totals
    r = receipt(order)
    expected = (totals.items, totals.discount, totals.shipping, totals.tax, totals.total)
    assert expected == (r.items_total, r.discount_total, r.shipping, r.tax, r.total)


def test_receipt_lines_carry_each_lines_discount_and_tax() -> None:
    order = place(service())
    r = receipt(order)
    expected = [(lt.discount, lt.tax) for lt in order.totals.lines]
    assert expected == [(line.discount, line.tax) for line in r.lines]


def test_a_receipt_line_total_is_its_subtotal_less_its_discount() -> None:
    r = receipt(place(service()))
    assert [ln.subtotal - ln.discount for ln in r.lines] == [ln.total for ln in r.lines]


def test_the_receipts_discount_rows_sum_to_the_order_discount() -> None:
    r = receipt(place(service()))
    assert r.discount_total == Money.sum((d.amount for d in r.discounts), "USD")


def test_a_coupon_shows_its_label_code_and_amount() -> None:
    r = receipt(place(service()))
    assert [("Welcome coupon", "HELLO5", Money("5.00", "USD"))] == [
        (d.label, d.code, d.amount) for d in r.discounts
    ]


def test_an_unpaid_order_has_the_unpaid_payment_state_and_owes_its_total() -> None:
    r = receipt(place(service()))
    assert (PaymentState.UNPAID, r.total) == (r.payment_state, r.balance_due)


def test_a_paid_order_has_the_paid_payment_state() -> None:
    svc = service()
    order = place(svc)
    paid = svc.pay(order.id, order.total, reference="pay-1", actor="psp")
    assert PaymentState.PAID == receipt(paid, ReceiptKind.PAYMENT_RECEIVED).payment_state


def test_a_shipped_order_gives_the_receipt_its_tracking_url() -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="pay-1", actor="psp")
    shipped = svc.ship(order.id, carrier="sf-express", tracking_number="SF1234567890")
    url = "https://track.example/SF1234567890"
    with_url = attrs.evolve(
        shipped, shipments=tuple(attrs.evolve(s, tracking_url=url) for s in shipped.shipments)
    )
    assert (url,) == receipt(with_url, ReceiptKind.SHIPPED).tracking_urls


def test_an_unknown_kind_is_refused() -> None:
    order = place(service())
    with pytest.raises(ValidationError) as info:
        Receipt.from_order(
            order, kind="invoice", receipt_number="R-1", issued_at=T0, merchant=MERCHANT
        )
    assert "kind" == info.value.field


def test_a_naive_issue_time_is_refused() -> None:
    order = place(service())
    with pytest.raises(ValidationError) as info:
        Receipt.from_order(
            order,
            kind=ReceiptKind.ORDER_PLACED,
            receipt_number="R-1",
            issued_at=datetime(2026, 1, 1),
            merchant=MERCHANT,
        )
    assert "issued_at" == info.value.field


def test_an_empty_receipt_number_is_refused() -> None:
    order = place(service())
    with pytest.raises(ValidationError) as info:
        Receipt.from_order(
            order,
            kind=ReceiptKind.ORDER_PLACED,
            receipt_number=" ",
            issued_at=T0,
            merchant=MERCHANT,
        )
    assert "receipt_number" == info.value.field


@given(discounted_orders())
def test_the_discount_rows_of_any_order_sum_to_its_discount(order: Order) -> None:
    r = receipt(order)
    assert r.discount_total == Money.sum((d.amount for d in r.discounts), order.currency)


@given(discounted_orders())
def test_the_lines_of_any_receipt_sum_to_the_items_less_the_discount(order: Order) -> None:
    r = receipt(order)
    assert r.items_total - r.discount_total == Money.sum(
        (line.total for line in r.lines), order.currency
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: Merchant("Shop", url="javascript:alert(1)"),
        lambda: Merchant("Shop", logo_url="data:image/svg+xml,<svg onload=alert(1)>"),
        lambda: PersonalizationItem("Mug", url="javascript:alert(1)"),
        lambda: PersonalizationItem("Mug", image_url="file:///etc/passwd"),
    ],
    ids=["merchant url", "merchant logo", "product url", "product image"],
)
def test_a_link_that_is_not_a_web_page_is_refused_when_it_is_configured(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


def test_a_tracking_link_that_is_not_a_web_page_is_left_off_the_receipt() -> None:
    order = place(service())
    shipped = attrs.evolve(
        order,
        shipments=(
            Shipment("s-1", (), "odd", "N1", T0, tracking_url="javascript:alert(1)"),
            Shipment("s-2", (), "sf", "SF1", T0, tracking_url="https://sf.example/SF1"),
        ),
    )
    snapshot = Receipt.from_order(
        shipped, kind=ReceiptKind.SHIPPED, receipt_number="R-1", issued_at=T0, merchant=MERCHANT
    )
    assert ["", "https://sf.example/SF1"] == [s.tracking_url for s in snapshot.shipments]


def test_a_receipt_names_a_carrier_or_one_service_of_it_as_customers_know_it() -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    shipped = svc.ship(order.id, carrier="manual", tracking_number="1Z999AA10123456784")
    shipped = attrs.evolve(
        shipped, shipments=tuple(attrs.evolve(s, service="ups") for s in shipped.shipments)
    )
    names = {"manual/ups": "UPS", "manual": "Merchant's courier"}
    assert ("UPS", "") == (
        receipt(shipped, "shipped", carrier_names=names).shipments[0].carrier_name,
        receipt(shipped, "shipped").shipments[0].carrier_name,
    )
