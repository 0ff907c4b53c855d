"""Tax: the tax itself is rounded, once, per line or per order; shipping taxed on request.

The worked numbers here are the ones docs/money.md shows.
"""

from __future__ import annotations

import decimal
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import attrs
import pytest
from hypothesis import given

import shop
from orderkit import Money, ValidationError, minor_units
from orderkit.clock import FixedClock
from orderkit.domain.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    LineItem,
    Order,
    OrderDraft,
    OrderTotals,
    compute_totals,
    validate_draft,
)
from orderkit.domain.tax import DEFAULT_TAX_POLICY, TaxPolicy, TaxScope, exact_tax
from orderkit.serialization import dumps, loads, order_from_json, order_to_json
from strategies import discounted_orders

PER_ORDER = TaxPolicy(scope=TaxScope.ORDER)
HALF_MODES = (decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_UP, decimal.ROUND_HALF_DOWN)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def line(price: str, rate: str, line_id: str = "L1") -> LineItem:
    return LineItem(line_id, "SKU", "Item", 1, eur(price), tax_rate=Decimal(rate))


def shipping(amount: str) -> Adjustment:
    return Adjustment(AdjustmentKind.SHIPPING, "Post", amount=eur(amount))


def included(
    *lines: LineItem, fee: str = "0", policy: TaxPolicy = DEFAULT_TAX_POLICY
) -> OrderTotals:
    return compute_totals(lines, [shipping(fee)], "EUR", True, tax_policy=policy)


def excluded(
    *lines: LineItem, fee: str = "0", policy: TaxPolicy = DEFAULT_TAX_POLICY
) -> OrderTotals:
    return compute_totals(lines, [shipping(fee)], "EUR", False, tax_policy=policy)


def figures(totals: OrderTotals) -> tuple[Money, Money, Money, Money]:
    """Tax, the part of it on shipping, net revenue and total."""
    return (totals.tax, totals.shipping_tax, totals.net_revenue, totals.total)


TAXED_SHIPPING = TaxPolicy(shipping_taxable=True)


# The tax is what is rounded


@pytest.mark.parametrize(
    ("price", "tax", "net"),
    [("1.23", "0.20", "1.03"), ("9.99", "1.66", "8.33")],
)
def test_an_included_tax_at_an_exact_tie_is_rounded_half_even(
    price: str, tax: str, net: str
) -> None:
    # 1.23 x 0.2 / 1.2 = 0.205 and 9.99 x 0.2 / 1.2 = 1.665 exactly: ties, to the even cent.
    totals = included(line(price, "0.2"))
    assert (eur(tax), eur(net), eur(price)) == (totals.tax, totals.net_revenue, totals.total)


def test_the_tax_is_rounded_with_the_policys_mode() -> None:
    totals = included(line("1.23", "0.2"), policy=TaxPolicy(rounding=decimal.ROUND_HALF_UP))
    assert (eur("0.21"), eur("1.02")) == (totals.tax, totals.net_revenue)


def test_an_excluded_tax_is_the_net_times_the_rate_rounded() -> None:
    totals = excluded(line("164.02", "0.026"))  # 4.26452
    assert (eur("4.26"), eur("168.28")) == (totals.tax, totals.total)


def test_the_exact_tax_in_an_included_price_is_a_fraction() -> None:
    assert Fraction(41, 200) == exact_tax(eur("1.23"), Decimal("0.2"), included=True)


# Per line or per order


FOUR_LINES = [
    line(price, "0.026", f"L{i}") for i, price in enumerate(["41.00", "41.00", "41.00", "41.02"], 1)
]


def test_per_line_rounding_can_add_up_to_more_than_the_order_total_rounded_once() -> None:
    # Each line's 1.066 (1.06652 for the last) rounds up to 1.07: 4.28 for 164.02 at 2.6%.
    totals = excluded(*FOUR_LINES)
    assert (eur("4.28"), [eur("1.07")] * 4) == (totals.tax, [lt.tax for lt in totals.lines])


def test_per_order_rounding_rounds_the_total_tax_once_and_spreads_it_by_largest_remainder() -> None:
    totals = excluded(*FOUR_LINES, policy=PER_ORDER)
    expected = [eur("1.06"), eur("1.07"), eur("1.06"), eur("1.07")]
    assert (eur("4.26"), expected, eur("168.28")) == (
        totals.tax,
        [lt.tax for lt in totals.lines],
        totals.total,
    )


# Shipping


def test_shipping_is_not_taxed_unless_the_policy_says_so() -> None:
    totals = included(line("8.50", "0.07"), fee="1.65")
    assert (eur("0.56"), eur("0.00"), eur("7.94"), eur("10.15")) == figures(totals)


def test_taxable_shipping_included_is_taxed_at_the_goods_rate_and_rounded_per_line() -> None:
    # 8.50 x 7/107 = 0.5561 -> 0.56 and 1.65 x 7/107 = 0.1079 -> 0.11: 0.67 in 10.15.
    totals = included(line("8.50", "0.07"), fee="1.65", policy=TAXED_SHIPPING)
    assert (eur("0.67"), eur("0.11"), eur("7.94"), eur("10.15")) == figures(totals)


def test_taxable_shipping_included_rounded_per_order_is_one_rounding_of_the_whole() -> None:
    # 10.15 x 7/107 = 0.6640 -> 0.66, of which shipping's 0.1079 -> 0.11.
    policy = TaxPolicy(scope=TaxScope.ORDER, shipping_taxable=True)
    totals = included(line("8.50", "0.07"), fee="1.65", policy=policy)
    assert (eur("0.66"), eur("0.11"), eur("7.95"), eur("10.15")) == figures(totals)


def test_taxable_shipping_excluded_adds_its_tax_to_the_total() -> None:
    totals = excluded(line("100.00", "0.19"), fee="4.90", policy=TAXED_SHIPPING)
    assert (eur("19.93"), eur("0.93"), eur("100.00"), eur("124.83")) == figures(totals)


def test_taxable_shipping_is_taxed_at_each_lines_rate_in_proportion_to_the_goods() -> None:
    # 3.00 of shipping over 70.00 of food (7%) and 30.00 of tools (19%): 2.10 and 0.90.
    totals = excluded(
        line("70.00", "0.07"), line("30.00", "0.19", "L2"), fee="3.00", policy=TAXED_SHIPPING
    )
    assert ([eur("5.05"), eur("5.87")], eur("0.32")) == (
        [lt.tax for lt in totals.lines],
        totals.shipping_tax,
    )


# Carried on the order


AT = datetime(2026, 12, 4, tzinfo=timezone.utc)
HOME = Address("Anna", "1 Main Street", "Berlin", "DE")


def order(policy: TaxPolicy) -> Order:
    return Order(
        id="o-1",
        number="SO-1",
        customer=Customer("c-1", "Anna"),
        shipping_address=HOME,
        lines=(line("8.50", "0.07"),),
        currency="EUR",
        status="pending_payment",
        created_at=AT,
        updated_at=AT,
        prices_include_tax=True,
        adjustments=(shipping("1.65"),),
        tax_policy=policy,
    )


def test_a_stored_order_re_derives_its_tax_with_the_policy_it_was_placed_with() -> None:
    policy = TaxPolicy(scope=TaxScope.ORDER, shipping_taxable=True)
    stored = order_from_json(order_to_json(order(policy)))
    assert (policy, eur("0.66")) == (stored.tax_policy, stored.totals.tax)


def test_an_order_stored_before_the_policy_was_kept_rounds_per_line_untaxed_shipping() -> None:
    data = loads(order_to_json(order(TaxPolicy(scope=TaxScope.ORDER, shipping_taxable=True))))
    del data["tax_policy"]
    older = order_from_json(dumps(data))
    assert (TaxPolicy(), eur("0.56")) == (older.tax_policy, older.totals.tax)


def test_placing_an_order_keeps_the_drafts_tax_policy_through_storage(tmp_path: Path) -> None:
    policy = TaxPolicy(scope=TaxScope.ORDER, shipping_taxable=True)
    with shop.open_storage("sqlite", tmp_path) as storage:
        svc = shop.service(storage, FixedClock(shop.START))
        draft = attrs.evolve(shop.draft(("TEA", 1), shipping="10.00"), tax_policy=policy)
        placed = svc.place(draft)
        assert policy == svc.get(placed.id).tax_policy


DRAFT = OrderDraft(
    customer=Customer("c-1", "Anna"),
    shipping_address=HOME,
    lines=[LineDraft("TEA", "Tea", 1, eur("8.50"), tax_rate=Decimal("0.07"))],
)


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (TaxPolicy(scope="invoice"), "tax_policy.scope"),
        (TaxPolicy(rounding="half-even"), "tax_policy.rounding"),
        (TaxPolicy(shipping_taxable="yes"), "tax_policy.shipping_taxable"),  # type: ignore[arg-type]
        ("order", "tax_policy"),
    ],
    ids=["an unknown scope", "an unknown rounding mode", "a non-bool", "not a policy"],
)
def test_a_draft_with_a_bad_tax_policy_is_refused_naming_the_field(
    policy: TaxPolicy, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_draft(attrs.evolve(DRAFT, tax_policy=policy))
    assert field == raised.value.field


# Properties


@given(discounted_orders())
def test_per_order_line_taxes_add_up_to_the_exact_order_tax_rounded_once(o: Order) -> None:
    o = attrs.evolve(o, tax_policy=attrs.evolve(o.tax_policy, scope=TaxScope.ORDER))
    totals = o.totals
    policy = o.tax_policy
    exact = sum(
        (
            exact_tax(lt.subtotal - lt.discount, ln.tax_rate, included=o.prices_include_tax)
            + (
                exact_tax(lt.shipping, ln.tax_rate, included=o.prices_include_tax)
                if policy.shipping_taxable
                else 0
            )
            for lt, ln in zip(totals.lines, o.lines, strict=True)
        ),
        Fraction(0),
    )
    once = Money.rounded(exact, o.currency, policy.rounding)
    assert (once, once) == (Money.sum((lt.tax for lt in totals.lines), o.currency), totals.tax)


@given(discounted_orders())
def test_included_prices_split_into_a_net_and_a_tax_within_half_a_unit_that_add_up(
    o: Order,
) -> None:
    policy = TaxPolicy(rounding=HALF_MODES[len(o.lines) % 3])
    o = attrs.evolve(o, prices_include_tax=True, tax_policy=policy)
    half = Fraction(1, 2 * 10 ** minor_units(o.currency))
    wrong = []
    for lt, ln in zip(o.totals.lines, o.lines, strict=True):
        gross = lt.subtotal - lt.discount
        net = gross - lt.tax
        exact = exact_tax(gross, ln.tax_rate, included=True)
        if net + lt.tax != gross or abs(Fraction(lt.tax.amount) - exact) > half:
            wrong.append((gross, net, lt.tax))
    assert [] == wrong


@given(discounted_orders())
def test_per_line_each_lines_tax_is_its_exact_goods_and_shipping_taxes_each_rounded(
    o: Order,
) -> None:
    o = attrs.evolve(o, tax_policy=attrs.evolve(o.tax_policy, scope=TaxScope.LINE))
    included, policy = o.prices_include_tax, o.tax_policy

    def rounded(exact: Fraction) -> Money:
        return Money.rounded(exact, o.currency, policy.rounding)

    expected = [
        rounded(exact_tax(lt.subtotal - lt.discount, ln.tax_rate, included=included))
        + (
            rounded(exact_tax(lt.shipping, ln.tax_rate, included=included))
            if policy.shipping_taxable
            else Money.zero(o.currency)
        )
        for lt, ln in zip(o.totals.lines, o.lines, strict=True)
    ]
    assert expected == [lt.tax for lt in o.totals.lines]
