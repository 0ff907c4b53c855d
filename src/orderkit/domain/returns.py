"""After-sales rules: a return asked for is possible, a unit is never paid back twice.

Whether a return may be asked for, and what a refund pays back. The after-sales values and
their machine live in :mod:`orderkit.domain.aftersales`; the rules here read an
:class:`~orderkit.domain.order.Order`, which holds those values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from orderkit.domain.aftersales import (
    RefundLine,
    Return,
    ReturnKind,
    ReturnLine,
    ReturnPolicy,
    ReturnStatus,
)
from orderkit.domain.checks import require_whole
from orderkit.domain.decision import Decision, Release, fire
from orderkit.domain.events import RefundIssued
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import StockMovement
from orderkit.domain.lifecycle import OrderEvent
from orderkit.domain.money import Money
from orderkit.domain.order import Order, Refund
from orderkit.domain.payments import repeats_refund
from orderkit.domain.shipments import deliver_if_all_arrived
from orderkit.domain.shipping import TrackingStatus
from orderkit.domain.status import StatusMachine
from orderkit.errors import (
    RefundExceedsPayment,
    ReturnNotAllowed,
    ReturnWindowClosed,
    ValidationError,
)

__all__ = [
    "check_return_request",
    "move_return",
    "record_return_refund",
    "refund_lines",
    "refundable_shares",
    "repeats_refund_only",
    "repeats_return_refund",
    "settle_after_refund",
    "unit_shares",
]

_LOST = frozenset({TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER})
"""Parcel states a ``refund_only`` return may name as lost."""


def unit_shares(order: Order, line_id: str) -> tuple[Money, ...]:
    """What each unit of a line cost the customer, discounts, tax and shipping share included.

    The line's total is split over its units with :meth:`Money.allocate`, so the shares add
    up to the line's total exactly.
    """
    line = order.line(line_id)
    totals = {lt.line_id: lt for lt in order.totals.lines}
    return totals[line_id].total.allocate([1] * line.quantity)


def refundable_shares(order: Order) -> dict[str, tuple[Money, ...]]:
    """What each unit of each line can still be refunded for, by line id.

    A unit starts at its :func:`unit_shares` share. The order's refunds are then taken in
    the order they were made: a refund of units (a return, a refund-only) takes the line's
    next units, which then hold nothing; a refund of the order as a whole (``refund``: a
    goodwill gesture, the shipping fee) is split with :meth:`Money.allocate` over every unit
    in proportion to what it still holds, and each unit holds that much less. So what the
    units hold always adds up to what the order holds (paid in full, less refunded), a
    unit never gives back more than it cost, and every return can be refunded for what is
    left on its units, whatever was refunded before it.
    """
    zero = Money.zero(order.currency)
    left = {line.line_id: list(unit_shares(order, line.line_id)) for line in order.lines}
    done = dict.fromkeys(left, 0)
    for refund in order.refunds:
        if refund.lines:
            for rl in refund.lines:
                units = left.get(rl.line_id, [])
                start = done.get(rl.line_id, 0)
                for i in range(start, min(start + rl.quantity, len(units))):
                    units[i] = zero
                done[rl.line_id] = start + rl.quantity
            continue
        places = [(line_id, i) for line_id, units in left.items() for i in range(len(units))]
        weights = [left[line_id][i].minor for line_id, i in places]
        if not any(weights):
            continue  # nothing left on any unit: the refund has nothing to come off
        for (line_id, i), part in zip(places, refund.amount.allocate(weights), strict=True):
            left[line_id][i] = max(left[line_id][i] - part, zero)
    return {line_id: tuple(units) for line_id, units in left.items()}


def refund_lines(order: Order, quantities: Mapping[str, int]) -> tuple[RefundLine, ...]:
    """The amount to refund for ``quantities`` more units per line, line by line.

    Each line refunds its next units not refunded yet, each for what it still holds
    (:func:`refundable_shares`: its unit share, less its part of the order-level refunds
    made before), so the same unit is never paid back twice, a line's refunds sum at most to
    its total, and the order's refunds at most to what was paid.

    Raises:
        ValidationError: an unknown line or a quantity below 1.
        RefundExceedsPayment: more units than the line has left to refund.
    """
    result = []
    refundable = refundable_shares(order)
    for line_id, quantity in quantities.items():
        line = order.line(line_id)
        require_whole(f"lines[{line_id}]", quantity)
        done = order.units_refunded(line_id)
        if done + quantity > line.quantity:
            raise RefundExceedsPayment(
                f"line {line_id} of order {order.number}: {done} of {line.quantity} unit(s) "
                f"are refunded already; cannot refund {quantity} more"
            )
        shares = refundable[line_id][done : done + quantity]
        result.append(RefundLine(line_id, quantity, Money.sum(shares, order.currency)))
    return tuple(result)


def repeats_return_refund(order: Order, return_id: str, reference: str | None) -> bool:
    """Whether ``reference`` is recorded already as the refund of this return (the host's
    notice again: nothing more to do).

    Raises:
        PaymentReferenceConflict: the reference is recorded for another refund.
    """
    return repeats_refund(
        order, reference, lambda r: r.return_id == return_id, f"the refund of return {return_id}"
    )


def repeats_refund_only(
    order: Order, lines: Iterable[ReturnLine], shipment_id: str | None, reference: str | None
) -> bool:
    """Whether ``reference`` is recorded already as the refund of a refund-only return of
    these same units (of the same lost parcel, or unshipped).

    Raises:
        PaymentReferenceConflict: the reference is recorded for another refund.
    """
    wanted = sorted((rl.line_id, rl.quantity) for rl in lines)

    def same(refund: Refund) -> bool:
        ret = next((r for r in order.returns if r.return_id == refund.return_id), None)
        return (
            ret is not None
            and ret.kind == ReturnKind.REFUND_ONLY
            and ret.shipment_id == shipment_id
            and sorted((rl.line_id, rl.quantity) for rl in ret.lines) == wanted
        )

    units = ", ".join(f"{qty} x {line_id}" for line_id, qty in wanted)
    return repeats_refund(order, reference, same, f"a refund only of {units}")


def check_return_request(
    order: Order, ret: Return, policy: ReturnPolicy, now: datetime, *, one_step: bool
) -> None:
    """Everything that makes a return impossible for this order, as typed errors."""
    if ret.kind not in ReturnKind.ALL:
        raise ValidationError("kind", f"{ret.kind!r} is not one of {', '.join(ReturnKind.ALL)}")
    if ret.kind not in policy.kinds:
        raise ReturnNotAllowed(f"this shop does not accept {ret.kind} returns")
    if not order.is_paid_in_full:
        raise ReturnNotAllowed(
            f"order {order.number} is not paid in full ({order.amount_paid} of {order.total}); "
            "refund what it holds (OrderService.refund) and cancel it instead"
        )
    lost = None
    if ret.shipment_id is not None:
        if ret.kind != ReturnKind.REFUND_ONLY:
            raise ValidationError("shipment_id", "only a refund_only return names a lost parcel")
        lost = order.shipment(ret.shipment_id)
        if lost.tracking_status not in _LOST or lost.delivered_at is not None:
            raise ReturnNotAllowed(
                f"parcel {lost.tracking_number or lost.shipment_id} is "
                f"{lost.tracking_status or 'not tracked'}, not lost; return the goods instead"
            )
    pending_refund = {
        line.line_id: sum(
            r.quantity(line.line_id)
            for r in order.returns
            if r.is_open and r.kind != ReturnKind.EXCHANGE and r.status != ReturnStatus.REFUNDED
        )
        for line in order.lines
    }
    for ret_line in ret.lines:
        line_id = ret_line.line_id
        line = order.line(line_id)
        qty = ret_line.quantity
        if ret.kind != ReturnKind.EXCHANGE:
            left = line.quantity - order.units_refunded(line_id) - pending_refund[line_id]
            if qty > left:
                raise ReturnNotAllowed(
                    f"line {line_id}: {qty} unit(s) asked, {left} left to refund"
                )
        if lost is not None:
            claimed = sum(
                r.quantity(line_id)
                for r in order.returns
                if r.is_open and r.shipment_id == lost.shipment_id
            )
            left = lost.quantity(line_id) - claimed
            what = "in that parcel not yet claimed"
        elif ret.kind == ReturnKind.REFUND_ONLY:
            if not one_step:
                # Units waiting for a decision could neither ship nor count as cancelled
                # without the order's status contradicting its shipments: refund at once.
                raise ReturnNotAllowed(
                    "unshipped units are refunded in one step; call OrderService.refund_only"
                )
            left = order.quantity_unshipped(line_id)
            what = "not shipped"
        else:
            left = order.quantity_delivered(line_id) - order.quantity_returned(line_id)
            what = "delivered and not already returned"
            delivered = [
                s.delivered_at
                for s in order.shipments
                if s.return_id is None and s.delivered_at and s.quantity(line_id)
            ]
            if delivered and now > policy.closes_at(max(delivered)):
                raise ReturnWindowClosed(line_id, max(delivered), policy.window_days)
        if qty > left:
            raise ReturnNotAllowed(f"line {line_id}: {qty} unit(s) asked, {left} {what}")


def move_return(order: Order, ret: Return, event: str, machine: StatusMachine[Return]) -> Order:
    """``order`` with ``ret`` (which may carry this step's other changes already) moved along
    ``event`` of the return machine, in its place among the order's returns.

    Raises:
        InvalidTransition: the return's machine refuses ``event`` from its status.
    """
    target = machine.fire(ret, ret.status, event)
    moved = evolve(ret, status=target)
    return evolve(
        order, returns=tuple(moved if r.return_id == ret.return_id else r for r in order.returns)
    )


def record_return_refund(
    order: Order,
    ret: Return,
    refund: Refund,
    event: str,
    machine: StatusMachine[Order],
    returns: StatusMachine[Return],
) -> Decision[Order]:
    """Record ``refund`` (the units of ``ret``, already paid back) and let stock and status
    follow: the return moves along ``event``; refunded units that never shipped give their
    reservation back; the order then settles (:func:`settle_after_refund`).

    Raises:
        InvalidTransition: the return cannot move along ``event``.
    """
    after = move_return(order, evolve(ret, refund_id=refund.refund_id), event, returns)
    after = evolve(after, refunds=(*after.refunds, refund))
    decided = Decision(after, (RefundIssued(refund, after.amount_refunded),))
    if ret.kind == ReturnKind.REFUND_ONLY and ret.shipment_id is None and order.stock_reserved:
        unshipped = tuple(
            StockMovement(order.line(rl.line_id).sku, order.line(rl.line_id).location, rl.quantity)
            for rl in ret.lines
        )
        decided = decided.record(Release(unshipped))
    return decided.then(settle_after_refund(after, machine))


def settle_after_refund(order: Order, machine: StatusMachine[Order]) -> Decision[Order]:
    """Move an order on after a refund: closed (its reservations released) when nothing paid
    is left, shipped once what is left has all shipped, delivered once what shipped has all
    arrived."""
    if order.net_paid.is_zero and machine.can_fire(order, order.status, OrderEvent.REFUND_FULL):
        closed = fire(machine, order.status, order, OrderEvent.REFUND_FULL).record(Release())
        return closed.evolve(stock_reserved=False)
    decided = Decision(order)
    own = [s for s in order.shipments if s.return_id is None]
    if own and order.is_fully_shipped and machine.can_fire(order, order.status, OrderEvent.SHIP):
        decided = fire(machine, order.status, order, OrderEvent.SHIP)
    return decided.then(deliver_if_all_arrived(decided.order, machine))
