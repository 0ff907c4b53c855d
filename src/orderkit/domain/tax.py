"""How an order's tax is computed and rounded: per line or once per order, shipping taxed
or not.

Tax is always computed exactly first (with :class:`~fractions.Fraction`, so a tie is a true
tie) and the *tax* is what gets rounded, once, with the policy's rounding mode: for
tax-inclusive prices the net is the gross less that tax, never the other way round.

* :attr:`TaxScope.LINE` (the default) rounds each line's tax, and the tax on each line's
  share of a taxable shipping fee separately; the order's tax is their sum.
* :attr:`TaxScope.ORDER` rounds the order's exact total tax once and spreads it over the
  lines by largest remainder (:func:`orderkit.domain.money.round_together`), so the line taxes
  always add up to the order's tax.

A taxable shipping fee is taxed at the rates of the goods it carries: it is already spread
over the lines in proportion to their subtotals, and each share is taxed at its line's
rate, which is the EU's rule for a fee on goods of mixed rates.

>>> from decimal import Decimal
>>> from orderkit.domain.money import Money
>>> exact_tax(Money("1.23", "EUR"), Decimal("0.2"), included=True)
Fraction(41, 200)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import attrs

from orderkit.domain.money import DEFAULT_ROUNDING, ROUNDING_MODES, Money, round_together
from orderkit.domain.rounding import round_ratio
from orderkit.errors import ValidationError

__all__ = [
    "DEFAULT_TAX_POLICY",
    "TaxPolicy",
    "TaxScope",
    "exact_tax",
    "line_taxes",
    "validate_tax_policy",
]


class TaxScope:
    """Where tax is rounded."""

    LINE = "line"
    ORDER = "order"
    ALL = (LINE, ORDER)


@attrs.frozen
class TaxPolicy:
    """How an order's tax is rounded, carried on the order so its totals re-derive the same.

    Args:
        scope: :attr:`TaxScope.LINE` (round per line) or :attr:`TaxScope.ORDER` (round the
            order's total once and spread it over the lines).
        rounding: the decimal ROUND_* mode the tax is rounded with; half-even by default.
        shipping_taxable: tax the shipping fee at the goods' rates (EU VAT); by default the
            fee is not taxed.
    """

    scope: str = TaxScope.LINE
    rounding: str = DEFAULT_ROUNDING
    shipping_taxable: bool = False


DEFAULT_TAX_POLICY = TaxPolicy()
"""Per line, half-even, shipping untaxed: what orders stored before the policy was kept use."""


def exact_tax(amount: Money, rate: Decimal, *, included: bool) -> Fraction:
    """The exact tax in ``amount`` (``included``) or on it, at ``rate`` (0.2 for 20%)."""
    value, fraction = Fraction(amount.amount), Fraction(rate)
    return value * fraction / (1 + fraction) if included else value * fraction


def _rounded_tax(amount: Money, rate: Decimal, included: bool, rounding: str) -> Money:
    """:func:`exact_tax` rounded, in integer minor units (this runs for every line of every
    order read, so it skips building Fractions)."""
    if not rate or amount.is_zero:
        return Money.zero(amount.currency)
    numerator, denominator = rate.as_integer_ratio()
    units = round_ratio(
        amount.minor * numerator, denominator + numerator if included else denominator, rounding
    )
    return Money.from_minor(units, amount.currency)


def line_taxes(
    goods: Sequence[Money],
    shipping: Sequence[Money],
    rates: Sequence[Decimal],
    currency: str,
    *,
    included: bool,
    policy: TaxPolicy,
) -> tuple[tuple[Money, ...], Money]:
    """Each line's tax on its discounted ``goods`` and its ``shipping`` share, rounded as
    ``policy`` says, and the part of their sum charged on shipping.

    In :attr:`TaxScope.ORDER` the line taxes add up to the order's exact tax rounded once,
    and the shipping part is the exact shipping tax rounded once (so never more than the
    whole); in :attr:`TaxScope.LINE` it is the sum of the rounded shipping shares' taxes.

    Args:
        goods: each line's taxable amount (its subtotal less its discount).
        shipping: each line's share of the shipping fee.
        rates: each line's tax rate.
        currency: the order's currency.
        included: whether the amounts include the tax.
        policy: where to round, with which mode, and whether shipping is taxed.
    """
    if not goods:
        return (), Money.zero(currency)
    rounding = policy.rounding
    if policy.scope == TaxScope.LINE:
        goods_tax = tuple(
            _rounded_tax(g, r, included, rounding) for g, r in zip(goods, rates, strict=True)
        )
        if not policy.shipping_taxable:  # the common case, on every read of an order's totals
            return goods_tax, Money.zero(currency)
        shipping_tax = [
            _rounded_tax(s, r, included, rounding) for s, r in zip(shipping, rates, strict=True)
        ]
        taxes = tuple(g + s for g, s in zip(goods_tax, shipping_tax, strict=True))
        return taxes, Money.sum(shipping_tax, currency)
    on_goods = [exact_tax(g, r, included=included) for g, r in zip(goods, rates, strict=True)]
    on_shipping = [
        exact_tax(s, r, included=included) if policy.shipping_taxable else Fraction(0)
        for s, r in zip(shipping, rates, strict=True)
    ]
    exact = [g + s for g, s in zip(on_goods, on_shipping, strict=True)]
    taxes = round_together(exact, currency, rounding)
    return taxes, Money.rounded(sum(on_shipping, Fraction(0)), currency, rounding)


def validate_tax_policy(field: str, policy: TaxPolicy) -> None:
    """Refuse a policy that cannot be applied, naming the offending field.

    Raises:
        ValidationError: not a TaxPolicy, an unknown scope or rounding mode, or a
            ``shipping_taxable`` that is not a bool.
    """
    if not isinstance(policy, TaxPolicy):
        raise ValidationError(field, "must be a TaxPolicy, e.g. TaxPolicy(scope='order')")
    if policy.scope not in TaxScope.ALL:
        raise ValidationError(
            f"{field}.scope", f"{policy.scope!r} is not one of {', '.join(TaxScope.ALL)}"
        )
    if policy.rounding not in ROUNDING_MODES:
        raise ValidationError(
            f"{field}.rounding",
            f"unknown rounding mode {policy.rounding!r}; use a decimal.ROUND_* constant",
        )
    if not isinstance(policy.shipping_taxable, bool):
        raise ValidationError(f"{field}.shipping_taxable", "must be True or False")
