"""The money of an order, derived from its lines and adjustments, never stored.

The arithmetic is chosen so that every total is exactly the sum of its rounded parts:
order-level discounts and the shipping fee are spread over lines with
:meth:`~orderkit.domain.money.Money.allocate`, tax is rounded per line or once per order and
spread over the lines (the order's :class:`~orderkit.domain.tax.TaxPolicy`), and the order's
totals add the per-line figures up. That per-line breakdown is also what a refund of one
line is computed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import attrs

from orderkit.domain.money import Money
from orderkit.domain.tax import DEFAULT_TAX_POLICY, TaxPolicy, line_taxes
from orderkit.domain.values import Adjustment, AdjustmentKind, LineItem

__all__ = ["LineTotals", "OrderTotals", "compute_totals"]


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
        """Net revenue minus the cost of goods captured on the lines, as the order was charged:
        before refunds and returns (:func:`~orderkit.domain.financials.order_financials`
        gives the figures net of them)."""
        return self.net_revenue - self.cost


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
