"""After-sales, the pure part: returns, their status machine, the return policy, refund maths.

A :class:`Return` lives on its order (``Order.returns``) and moves through its own machine::

    requested ─approve─▶ approved ─receive─▶ received ─refund─▶ refunded
        │                    │                   ├──exchange─▶ exchanged
        │                    │                   └──convert_to_refund (exchange)─▶ refunded
        └─reject─▶ rejected  └─refund (refund_only)─▶ refunded

``refund`` returns send goods back and get money; ``exchange`` returns send goods back and get
a replacement shipment; ``refund_only`` gives money back for units that never shipped or were
lost in transit, so nothing comes back and nothing is received. An exchange whose
replacement cannot ship is refunded instead (``convert_to_refund``): it keeps its kind, and
its units are paid back as a ``refund`` return's are.

Refund amounts come from the order's per-line totals (:class:`orderkit.domain.order.LineTotals`),
where order-level discounts, coupons and the shipping fee are already spread over lines with
:meth:`Money.allocate`. A line's total is split over its units the same way, and a refund of
``k`` units takes the next ``k`` units not yet refunded, each for what it still holds: its
share, less its part of the refunds of the whole order made before (spread over the units
by what each holds; :func:`orderkit.domain.returns.refundable_shares`). So a line's refunds
never exceed what was paid for it, the order's never exceed what was paid, and refunding
every unit of every line gives back exactly the order's total. The shipping fee is refunded
with the units it was spread over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import attrs

from orderkit.domain.checks import require_whole
from orderkit.domain.money import Money
from orderkit.domain.status import StatusMachine, Transition
from orderkit.errors import ValidationError

__all__ = [
    "Disposition",
    "RefundLine",
    "Return",
    "ReturnEvent",
    "ReturnKind",
    "ReturnLine",
    "ReturnPolicy",
    "ReturnStatus",
    "return_machine",
]


class ReturnKind:
    """What the customer gets back."""

    REFUND = "refund"  # goods come back, money goes out
    EXCHANGE = "exchange"  # goods come back, a replacement ships
    REFUND_ONLY = "refund_only"  # money goes out, nothing comes back (unshipped or lost)

    ALL = (REFUND, EXCHANGE, REFUND_ONLY)


class ReturnStatus:
    REQUESTED = "requested"  # 退货申请
    APPROVED = "approved"  # 已同意
    REJECTED = "rejected"  # 已拒绝
    RECEIVED = "received"  # 已收货
    REFUNDED = "refunded"  # 已退款
    EXCHANGED = "exchanged"  # 已换货


class ReturnEvent:
    APPROVE = "approve"
    REJECT = "reject"
    RECEIVE = "receive"
    REFUND = "refund"
    EXCHANGE = "exchange"
    CONVERT_TO_REFUND = "convert_to_refund"  # an exchange paid back instead


class Disposition:
    """What happens to a returned unit once the warehouse has it."""

    RESTOCK = "restock"  # back on the shelf: on-hand stock grows
    WRITE_OFF = "write_off"  # damaged or unsellable: recorded, not added to on hand

    ALL = (RESTOCK, WRITE_OFF)


@attrs.frozen
class ReturnLine:
    """Units of one order line in a return, why, and (once received) what became of them."""

    line_id: str
    quantity: int
    reason: str = ""
    disposition: str | None = None


@attrs.frozen
class RefundLine:
    """The part of a refund that belongs to one order line: ``quantity`` units, ``amount``."""

    line_id: str
    quantity: int
    amount: Money


def _return_lines(value: Iterable[ReturnLine]) -> tuple[ReturnLine, ...]:
    return tuple(value)


@attrs.frozen
class Return:
    """A return (or exchange, or refund-only request) on an order.

    ``shipment_id`` names the lost parcel a ``refund_only`` return pays back, or is ``None``
    for units that never shipped. ``refund_id`` and ``replacement_shipment_id`` are set when
    the return is refunded or exchanged.
    """

    return_id: str
    kind: str
    lines: tuple[ReturnLine, ...] = attrs.field(converter=_return_lines)
    status: str
    requested_at: datetime
    requested_by: str
    reason: str = ""
    shipment_id: str | None = None
    refund_id: str | None = None
    replacement_shipment_id: str | None = None

    @property
    def is_open(self) -> bool:
        """Not rejected: its units count against what may still be returned or refunded."""
        return self.status != ReturnStatus.REJECTED

    @property
    def brings_goods_back(self) -> bool:
        return self.kind != ReturnKind.REFUND_ONLY

    def quantity(self, line_id: str) -> int:
        return sum(line.quantity for line in self.lines if line.line_id == line_id)


@attrs.frozen
class ReturnPolicy:
    """A shop's after-sales rules.

    Args:
        window_days: goods may be returned up to this many days after they were delivered
            (7 is the usual 七天无理由退货); 0 refuses returns of delivered goods.
        kinds: the return kinds the shop accepts.
    """

    window_days: int = 7
    kinds: tuple[str, ...] = ReturnKind.ALL

    def __attrs_post_init__(self) -> None:
        days = self.window_days
        require_whole("window_days", days, at_least=0)
        unknown = [k for k in self.kinds if k not in ReturnKind.ALL]
        if unknown:
            raise ValidationError(
                "kinds", f"unknown return kind(s) {unknown}; use {', '.join(ReturnKind.ALL)}"
            )

    def closes_at(self, delivered_at: datetime) -> datetime:
        """The moment the return window for goods delivered at ``delivered_at`` closes."""
        return delivered_at + timedelta(days=self.window_days)


def _kind_is(*kinds: str) -> Callable[[Return], str | None]:
    def guard(ret: Return) -> str | None:
        if ret.kind in kinds:
            return None
        return f"a {ret.kind} return cannot do this (only {' or '.join(kinds)})"

    return guard


def return_machine() -> StatusMachine[Return]:
    """The return lifecycle, validated like the order machine; guards check the kind."""
    s, e, t = ReturnStatus, ReturnEvent, Transition
    goods = _kind_is(ReturnKind.REFUND, ReturnKind.EXCHANGE)
    return StatusMachine(
        name="return",
        states=[s.REQUESTED, s.APPROVED, s.REJECTED, s.RECEIVED, s.REFUNDED, s.EXCHANGED],
        initial=s.REQUESTED,
        final=[s.REJECTED, s.REFUNDED, s.EXCHANGED],
        transitions=[
            t(s.REQUESTED, e.APPROVE, s.APPROVED),
            t(s.REQUESTED, e.REJECT, s.REJECTED),
            t(s.APPROVED, e.RECEIVE, s.RECEIVED, ["brings_goods_back"]),
            t(s.APPROVED, e.REFUND, s.REFUNDED, ["refund_only"]),
            t(s.RECEIVED, e.REFUND, s.REFUNDED, ["refund_kind"]),
            t(s.RECEIVED, e.EXCHANGE, s.EXCHANGED, ["exchange_kind"]),
            t(s.RECEIVED, e.CONVERT_TO_REFUND, s.REFUNDED, ["exchange_kind"]),
        ],
        guards={
            "brings_goods_back": goods,
            "refund_only": _kind_is(ReturnKind.REFUND_ONLY),
            "refund_kind": _kind_is(ReturnKind.REFUND),
            "exchange_kind": _kind_is(ReturnKind.EXCHANGE),
        },
        labels={
            s.REQUESTED: "退货申请 requested",
            s.APPROVED: "已同意 approved",
            s.REJECTED: "已拒绝 rejected",
            s.RECEIVED: "已收货 received",
            s.REFUNDED: "已退款 refunded",
            s.EXCHANGED: "已换货 exchanged",
        },
    )
