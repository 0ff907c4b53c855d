"""An order's financials: what it sold, net of refunds and returns.

:class:`~orderkit.domain.order.OrderTotals` is the order as charged. :func:`order_financials`
is the order as it stands: the money the shop holds for it (paid less refunded), split into
goods, shipping and tax, and the cost of the goods that left the shelf for it and did not
come back. A closed order refunded in full holds nothing, so its revenue is zero; its profit
is minus the cost of whatever goods it gave away.

The money the shop holds is split in the proportions the order was charged (goods net of
discounts and tax, shipping net of its tax, tax) with :meth:`Money.allocate`, so the three
always add up to it exactly, and an order refunded in full nets to exactly zero in each.
"""

from __future__ import annotations

import attrs

from orderkit.domain.aftersales import Disposition
from orderkit.domain.money import Money
from orderkit.domain.order import Order

__all__ = ["OrderFinancials", "order_financials"]


@attrs.frozen
class OrderFinancials:
    """An order's money net of refunds and returns (see :func:`order_financials`).

    ``revenue + shipping + tax`` is what the shop holds for the order (``Order.net_paid``);
    ``profit == revenue - (cost_of_goods - restocked_cost)``.
    """

    revenue: Money
    discounts: Money
    shipping: Money
    tax: Money
    cost_of_goods: Money
    refunds: Money
    restocked_cost: Money

    @property
    def net_cost(self) -> Money:
        """The cost of the goods that left the shelf and did not come back."""
        return self.cost_of_goods - self.restocked_cost

    @property
    def profit(self) -> Money:
        """Revenue less the net cost of goods."""
        return self.revenue - self.net_cost


def _weight(money: Money) -> int:
    return max(money.minor, 0)


def order_financials(order: Order) -> OrderFinancials:
    """The order's financials as it stands now.

    - ``revenue``: the goods' part of what the shop holds (items less discounts, without
      tax and shipping), after refunds;
    - ``discounts``: the discounts on what the shop still holds money for (the order's
      discounts in the proportion of its total still held);
    - ``shipping``, ``tax``: the shipping fee's part (without its tax) and the tax's part of
      what the shop holds;
    - ``refunds``: everything paid back, returns and refunds of the whole order alike;
    - ``cost_of_goods``: the cost of the units shipped for the order (exchange
      replacements included) and, while it is paid in full and holds money, of the units
      still to ship; units refunded before they shipped are not counted;
    - ``restocked_cost``: the cost of returned units put back on the shelf (written-off
      units stay a cost);
    - ``profit``: ``revenue - (cost_of_goods - restocked_cost)``.

    Lines without a ``unit_cost`` count no cost. The money held is split in the proportions
    the order was charged, so revenue, shipping and tax add up to ``order.net_paid``.
    """
    currency = order.currency
    zero = Money.zero(currency)
    totals = order.totals
    revenue = totals.net_revenue
    tax = totals.tax
    shipping = totals.total - revenue - tax  # the fee without its tax
    held = order.net_paid
    weights = [_weight(revenue), _weight(shipping), _weight(tax)]
    if any(weights) and held.is_positive:
        kept_revenue, kept_shipping, kept_tax = held.allocate(weights)
    else:
        kept_revenue = kept_shipping = kept_tax = zero
    if totals.discount.is_positive and held.is_positive and totals.total.is_positive:
        kept = min(_weight(held), _weight(totals.total))
        discounts = totals.discount.allocate([kept, _weight(totals.total) - kept])[0]
    else:
        discounts = zero

    def cost(line_id: str, quantity: int) -> Money:
        unit_cost = order.line(line_id).unit_cost
        return zero if unit_cost is None or not quantity else unit_cost * quantity

    to_ship = order.is_paid_in_full and held.is_positive
    cost_of_goods = Money.sum(
        (
            cost(ln.line_id, order.quantity_shipped(ln.line_id))
            + cost(ln.line_id, max(order.quantity_unshipped(ln.line_id), 0) if to_ship else 0)
            for ln in order.lines
        ),
        currency,
    ) + Money.sum(
        (
            cost(sl.line_id, sl.quantity)
            for s in order.shipments
            if s.return_id is not None
            for sl in s.lines
        ),
        currency,
    )
    restocked_cost = Money.sum(
        (
            cost(rl.line_id, rl.quantity)
            for ret in order.returns
            for rl in ret.lines
            if ret.brings_goods_back and rl.disposition == Disposition.RESTOCK
        ),
        currency,
    )
    return OrderFinancials(
        revenue=kept_revenue,
        discounts=discounts,
        shipping=kept_shipping,
        tax=kept_tax,
        cost_of_goods=cost_of_goods,
        refunds=order.amount_refunded,
        restocked_cost=restocked_cost,
    )
