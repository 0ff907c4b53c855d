"""Checking an order draft before anything is written: each bad field is named.

``validate_draft`` is what ``OrderService.place`` runs first; the storage contract checks
that a refused placement writes nothing, these check which field each refusal names.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from orderkit import (
    Address,
    Adjustment,
    CurrencyMismatch,
    Customer,
    LineDraft,
    LineItem,
    Money,
    OrderDraft,
    ValidationError,
)
from orderkit.domain.order import validate_draft

HOME = Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN")


def usd(amount: str) -> Money:
    return Money(amount, "USD")


DRAFT = OrderDraft(
    customer=Customer("c-1", "Lin Wei"),
    shipping_address=HOME,
    lines=[
        LineDraft("CAP", "Cap", 1, usd("7.25"), unit_cost=usd("2.00")),
        LineDraft("MUG", "Mug", 2, usd("12.50")),
    ],
)


def with_line(index: int, **changes: Any) -> Callable[[OrderDraft], OrderDraft]:
    def change(draft: OrderDraft) -> OrderDraft:
        lines = list(draft.lines)
        lines[index] = attrs.evolve(lines[index], **changes)
        return attrs.evolve(draft, lines=lines)

    return change


def with_adjustment(**fields: Any) -> Callable[[OrderDraft], OrderDraft]:
    fields = {"kind": "discount", "label": "Deal", **fields}
    return lambda draft: attrs.evolve(draft, adjustments=[Adjustment(**fields)])


def with_(**changes: Any) -> Callable[[OrderDraft], OrderDraft]:
    return lambda draft: attrs.evolve(draft, **changes)


REFUSALS = {
    "no lines": (with_(lines=[]), "lines"),
    "a customer without a name": (with_(customer=Customer("c-1", " ")), "customer.name"),
    "a lowercase country code": (
        with_(shipping_address=attrs.evolve(HOME, country="cn")),
        "shipping_address.country",
    ),
    "a billing address without a city": (
        with_(billing_address=attrs.evolve(HOME, city="")),
        "billing_address.city",
    ),
    "an empty channel": (with_(channel=""), "channel"),
    "a blank tag": (with_(tags=["gift", " "]), "tags[0]"),
    "an empty group": (with_(group=""), "group"),
    "a locale that is a language's name": (with_(locale="chinese"), "locale"),
    "a locale with a territory Babel does not know": (with_(locale="zh_CM"), "locale"),
    "an email without an @": (
        with_(customer=Customer("c-1", "Lin Wei", email="lin.example.com")),
        "customer.email",
    ),
    "an email with a space": (
        with_(customer=Customer("c-1", "Lin Wei", email="lin wei@example.com")),
        "customer.email",
    ),
    "an email whose domain has no dot": (
        with_(customer=Customer("c-1", "Lin Wei", email="lin@localhost")),
        "customer.email",
    ),
    "a first price that is not Money": (
        with_line(0, unit_price=Decimal("7.25")),
        "lines[0].unit_price",
    ),
    "a quantity of zero": (with_line(1, quantity=0), "lines[1].quantity"),
    "a quantity that is a bool": (with_line(1, quantity=True), "lines[1].quantity"),
    "a negative price": (with_line(1, unit_price=usd("-1.00")), "lines[1].unit_price"),
    "a negative cost": (with_line(0, unit_cost=usd("-0.01")), "lines[0].unit_cost"),
    "a tax rate of 100%": (with_line(0, tax_rate=Decimal(1)), "lines[0].tax_rate"),
    "a tax rate as a float": (with_line(0, tax_rate=0.13), "lines[0].tax_rate"),
    "a negative weight": (with_line(0, weight_grams=-1), "lines[0].weight_grams"),
    "an empty location": (with_line(1, location=""), "lines[1].location"),
    "an unknown adjustment kind": (
        with_adjustment(kind="gift", amount=usd("1.00")),
        "adjustments[0].kind",
    ),
    "an adjustment with amount and percent": (
        with_adjustment(amount=usd("1.00"), percent=Decimal(5)),
        "adjustments[0]",
    ),
    "an adjustment with neither amount nor percent": (with_adjustment(), "adjustments[0]"),
    "a negative discount": (with_adjustment(amount=usd("-5.00")), "adjustments[0].amount"),
    "a shipping fee as a percent": (
        with_adjustment(kind="shipping", percent=Decimal(10)),
        "adjustments[0].percent",
    ),
    "a discount of 0%": (with_adjustment(percent=Decimal(0)), "adjustments[0].percent"),
    "a discount over 100%": (with_adjustment(percent=Decimal(150)), "adjustments[0].percent"),
    "a shipping fee on one line": (
        with_adjustment(kind="shipping", amount=usd("5.00"), line_id="L1"),
        "adjustments[0].line_id",
    ),
    "a discount on a line the order does not have": (
        with_adjustment(amount=usd("1.00"), line_id="L3"),
        "adjustments[0].line_id",
    ),
    "an unknown time zone": (with_(time_zone="Mars/Olympus"), "time_zone"),
    "a time zone that is not an IANA name": (with_(time_zone="../etc/passwd"), "time_zone"),
}


def test_the_draft_the_refusals_start_from_is_valid() -> None:
    assert "USD" == validate_draft(DRAFT)


@pytest.mark.parametrize(("change", "field"), REFUSALS.values(), ids=list(REFUSALS))
def test_a_draft_with_a_bad_field_is_refused_naming_the_field(
    change: Callable[[OrderDraft], OrderDraft], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_draft(change(DRAFT))

    assert field == raised.value.field


@pytest.mark.parametrize(
    "change",
    [
        with_line(1, unit_price=Money("12.50", "EUR")),
        with_line(0, unit_cost=Money("2.00", "EUR")),
        with_adjustment(amount=Money("1.00", "EUR")),
    ],
    ids=["a price", "a cost", "a discount"],
)
def test_a_draft_mixing_currencies_is_refused_as_a_currency_mismatch(
    change: Callable[[OrderDraft], OrderDraft],
) -> None:
    with pytest.raises(CurrencyMismatch) as raised:
        validate_draft(change(DRAFT))

    assert ("USD", "EUR") == (raised.value.left, raised.value.right)


def test_a_line_made_from_a_draft_keeps_every_field_of_the_draft() -> None:
    draft = LineDraft(
        "MUG",
        "Mug",
        2,
        Money("5.00", "EUR"),
        unit_cost=Money("2.00", "EUR"),
        tax_rate=Decimal("0.19"),
        weight_grams=350,
        location="east",
        attributes=(("colour", "celadon"),),
    )

    line = LineItem.from_draft("L1", draft)

    assert attrs.asdict(draft, recurse=False) == {
        k: v for k, v in attrs.asdict(line, recurse=False).items() if k != "line_id"
    }
