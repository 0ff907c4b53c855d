"""The rules of money coming in and going back at the order level: payments, refunds, and
closing an order that holds none.

Each rule is a pure function returning a :class:`~orderkit.domain.decision.Decision`; the
payment or refund value (its id, its time) is made by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from orderkit.domain.decision import Decision, Release, Reserve, fire
from orderkit.domain.events import PaymentCaptured, RefundIssued
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import unshipped
from orderkit.domain.lifecycle import OrderEvent
from orderkit.domain.order import Order, Payment, Refund, check_currency
from orderkit.domain.status import StatusMachine
from orderkit.errors import (
    InvalidTransition,
    Overpayment,
    PaymentReferenceConflict,
    RefundExceedsPayment,
    ValidationError,
)

__all__ = [
    "capture_payment",
    "close",
    "describe_refund",
    "move_along_pay",
    "record_refund",
    "repeats_refund",
    "settle_if_paid",
]


def describe_refund(refund: Refund) -> str:
    """A refund as an error message names it: its amount, and the return it settles."""
    if refund.return_id is None:
        return f"a refund of {refund.amount}"
    return f"the refund of return {refund.return_id} ({refund.amount})"


def repeats_refund(
    order: Order, reference: str | None, same: Callable[[Refund], bool], asked: str
) -> bool:
    """Whether the refund the provider made as ``reference`` is recorded on the order
    already, for this same request (``same`` says which recorded refund would be it).

    Providers retry their notices; a retry changes nothing.

    Raises:
        PaymentReferenceConflict: the reference is recorded for another refund (``asked``
            names the one asked for now).
    """
    earlier = next((r for r in order.refunds if reference and r.reference == reference), None)
    if earlier is None:
        return False
    if same(earlier):
        return True
    raise PaymentReferenceConflict(
        order.number, "refund", earlier.reference, describe_refund(earlier), asked
    )


def move_along_pay(order: Order, machine: StatusMachine[Order]) -> Decision[Order]:
    """Move an order paid in full along ``pay``, reserving what is left to ship first when
    nothing is reserved yet (the ``AT_PAYMENT`` policy)."""
    decided = Decision(order)
    if not order.stock_reserved:
        decided = Decision(evolve(order, stock_reserved=True), (Reserve(unshipped(order)),))
    return decided.then(fire(machine, order.status, decided.order, OrderEvent.PAY))


def settle_if_paid(order: Order, machine: StatusMachine[Order]) -> Decision[Order]:
    """Move an order that became paid in full without a payment (a free order when placed,
    an edit lowering the total to what was paid) along ``pay``, when its status has it."""
    if order.is_paid_in_full and machine.can_fire(order, order.status, OrderEvent.PAY):
        return move_along_pay(order, machine)
    return Decision(order)


def capture_payment(
    order: Order, payment: Payment, machine: StatusMachine[Order]
) -> Decision[Order]:
    """Record a captured payment; paid in full, the order moves along ``pay``.

    A payment whose provider reference is recorded already, with the same amount, is the
    provider's notice again: the decision changes nothing (whatever the status is now).

    Raises:
        PaymentReferenceConflict: the reference is recorded for another amount.
        InvalidTransition: the order is not awaiting payment.
        CurrencyMismatch: the payment is in another currency.
        Overpayment: the amount exceeds the balance due.
    """
    earlier = next((p for p in order.payments if p.reference == payment.reference), None)
    if earlier is not None:
        if earlier.amount == payment.amount:
            return Decision(order)
        raise PaymentReferenceConflict(
            order.number,
            "payment",
            payment.reference,
            f"a payment of {earlier.amount}",
            f"a payment of {payment.amount}",
        )
    allowed = machine.allowed_events(order.status)
    if OrderEvent.PAY not in allowed:
        raise InvalidTransition(order.status, OrderEvent.PAY, allowed)
    check_currency(payment.amount, order.currency)
    if payment.amount > order.balance_due:
        raise Overpayment(
            f"order {order.number} has {order.balance_due} due; a payment of {payment.amount} "
            "is too much"
        )
    after = evolve(order, payments=(*order.payments, payment))
    decided = Decision(after, (PaymentCaptured(payment, after.balance_due),))
    if not after.is_paid_in_full:
        return decided
    return decided.then(move_along_pay(after, machine))


def record_refund(order: Order, refund: Refund, machine: StatusMachine[Order]) -> Decision[Order]:
    """Record a refund the host made; one that brings what the shop holds to zero closes the
    order (``refund_full``) and releases its reservations. Before the order is paid in full,
    only everything held may be refunded: a part of it would let the order be paid off short.

    A refund whose provider reference is recorded already, with the same amount, is the
    provider's notice again: the decision changes nothing.

    Raises:
        PaymentReferenceConflict: the reference is recorded for another refund.
        CurrencyMismatch: the refund is in another currency.
        RefundExceedsPayment: more than was paid and not yet refunded.
        ValidationError: (``amount``) a part of what is held, before the order is paid in full.
    """
    amount = refund.amount
    if repeats_refund(
        order, refund.reference, lambda r: r.amount == amount, f"a refund of {amount}"
    ):
        return Decision(order)
    check_currency(amount, order.currency)
    if amount > order.net_paid:
        raise RefundExceedsPayment(
            f"order {order.number} holds {order.net_paid}; cannot refund {amount}"
        )
    if not order.is_paid_in_full and amount != order.net_paid:
        raise ValidationError(
            "amount",
            f"order {order.number} is not paid in full; refund everything it holds "
            f"({order.net_paid}) and cancel it, or refund after it is paid",
        )
    after = evolve(order, refunds=(*order.refunds, refund))
    decided = Decision(after, (RefundIssued(refund, after.amount_refunded),))
    if after.net_paid.is_zero and machine.can_fire(after, order.status, OrderEvent.REFUND_FULL):
        closed = fire(machine, order.status, after, OrderEvent.REFUND_FULL)
        decided = decided.then(closed).record(Release()).evolve(stock_reserved=False)
    return decided


def close(order: Order, event: str, machine: StatusMachine[Order]) -> Decision[Order]:
    """Close an order along ``event`` (``cancel``, ``expire``) and release all it reserved.

    Raises:
        InvalidTransition, GuardRefused: the machine does not close it from its status (a
            guard such as ``nothing_paid`` says why).
    """
    closed = fire(machine, order.status, order, event).record(Release())
    return closed.evolve(stock_reserved=False)
