"""After-sales commands of :class:`orderkit.OrderService`: returns, exchanges, refunds by line.

Each command is one unit of work on the order: the return moves along
:func:`orderkit.aftersales.return_machine`, every step is an event with actor and reason
(``ReturnRequested``, ``ReturnApproved``, ``ReturnRejected``, ``ReturnReceived``,
``RefundIssued``, ``ReturnExchanged``), and stock and the order's status follow:

- received units are restocked (on hand grows, a ``StockReceived`` event) or written off
  (a ``StockWrittenOff`` event; on hand does not grow);
- a refund pays back the next unit shares of each line (:func:`orderkit.aftersales.
  refund_lines`), through the optional :class:`orderkit.ports.PaymentsPort` or with the
  host's own refund reference; refunding everything paid closes the order (``refund_full``),
  a partial refund keeps its status;
- a refund-only of unshipped units takes them off the order (their reservation is released
  and, if everything else has shipped, the order moves on to ``shipped``); one for a lost
  parcel stops the order waiting for that parcel;
- an exchange reserves and ships replacement units as a shipment of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from orderkit.aftersales import (
    Disposition,
    Return,
    ReturnEvent,
    ReturnKind,
    ReturnLine,
    ReturnPolicy,
    ReturnStatus,
    refund_lines,
)
from orderkit.errors import (
    RefundExceedsPayment,
    ReturnNotAllowed,
    ReturnWindowClosed,
    ValidationError,
)
from orderkit.events import (
    RefundIssued,
    ReturnApproved,
    ReturnExchanged,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
    StockMovement,
    StockReceived,
    StockWrittenOff,
    order_stream,
    stock_stream,
)
from orderkit.lifecycle import OrderEvent
from orderkit.money import Money
from orderkit.order import Order, Refund, ShipmentLine
from orderkit.ports import IdGenerator, PaymentsPort
from orderkit.service_shipping import shipment_label
from orderkit.shipping import ShipmentLabel, TrackingStatus
from orderkit.status import StatusMachine

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from orderkit.service import _Tx

__all__ = ["AfterSalesCommands"]

T = TypeVar("T")

_LOST = frozenset({TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER})


def _return_lines(lines: Mapping[str, int] | Iterable[ReturnLine]) -> tuple[ReturnLine, ...]:
    if isinstance(lines, Mapping):
        result = tuple(ReturnLine(line_id, qty) for line_id, qty in lines.items())
    else:
        result = tuple(lines)
    if not result:
        raise ValidationError("lines", "name at least one line and quantity to return")
    seen: set[str] = set()
    for ret_line in result:
        if not isinstance(ret_line, ReturnLine):
            raise ValidationError("lines", "give {line_id: quantity} or ReturnLine values")
        qty = ret_line.quantity
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise ValidationError(
                f"lines[{ret_line.line_id}]", f"must be a whole number of at least 1: {qty!r}"
            )
        if ret_line.line_id in seen:
            raise ValidationError(f"lines[{ret_line.line_id}]", "named twice; give it once")
        seen.add(ret_line.line_id)
    return result


def _require_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", "say why, e.g. reason='wrong size'")


def _check_request(
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


class AfterSalesCommands:
    """After-sales commands, mixed into :class:`orderkit.OrderService` (which supplies the
    unit-of-work machinery declared below for the type checker)."""

    if TYPE_CHECKING:
        ids: IdGenerator
        machine: StatusMachine[Order]
        return_machine: StatusMachine[Return]
        return_policy: ReturnPolicy
        payments: PaymentsPort | None

        def _fire(self, tx: _Tx, before: Order, proposed: Order, event: str) -> Order: ...
        def _mutate(
            self, order_id: str, actor: str, reason: str, change: Callable[[_Tx, Order], Order]
        ) -> Order: ...
        def _reserve(self, tx: _Tx, order: Order, items: Iterable[StockMovement]) -> None: ...
        def _release(
            self, tx: _Tx, order: Order, items: Iterable[StockMovement] | None = None
        ) -> None: ...
        def _claim(
            self, tx: _Tx, key: str | None, command: str, request: Any, result_id: str
        ) -> str | None: ...
        def _add_shipment(
            self,
            tx: _Tx,
            order: Order,
            lines: Sequence[ShipmentLine],
            label: ShipmentLabel,
            *,
            return_id: str | None,
        ) -> Order: ...
        def _deliver_if_all_arrived(self, tx: _Tx, order: Order) -> Order: ...

    # -- the return's own steps -------------------------------------------------------------

    def _move(self, order: Order, ret: Return, event: str) -> Order:
        """Fire ``event`` on ``ret`` (which may carry this step's other changes already) and
        put it back on the order in its new status."""
        target = self.return_machine.fire(ret, ret.status, event)
        moved = attrs.evolve(ret, status=target)
        returns = tuple(moved if r.return_id == ret.return_id else r for r in order.returns)
        return attrs.evolve(order, returns=returns)

    def _request(
        self,
        tx: _Tx,
        order: Order,
        lines: Mapping[str, int] | Iterable[ReturnLine],
        kind: str,
        shipment_id: str | None,
        return_id: str,
        *,
        one_step: bool = False,
    ) -> tuple[Order, Return]:
        ret = Return(
            return_id,
            kind,
            _return_lines(lines),
            self.return_machine.initial,
            tx.now,
            tx.actor,
            tx.reason,
            shipment_id=shipment_id,
        )
        _check_request(order, ret, self.return_policy, tx.now, one_step=one_step)
        tx.record(order_stream(order.id), ReturnRequested(ret))
        return attrs.evolve(order, returns=(*order.returns, ret)), ret

    def request_return(
        self,
        order_id: str,
        lines: Mapping[str, int] | Iterable[ReturnLine],
        *,
        kind: str = ReturnKind.REFUND,
        reason: str,
        shipment_id: str | None = None,
        actor: str = "customer",
    ) -> Order:
        """Ask to return units (``{line_id: quantity}`` or :class:`ReturnLine` s with reasons).

        ``refund`` and ``exchange`` returns take delivered units within the policy's window;
        ``refund_only`` takes (with ``shipment_id``) units of a parcel the carrier reported
        as an exception or returned to sender; units not shipped yet are refunded in one step
        with :meth:`refund_only`. The new return is the last of ``order.returns``.

        Raises:
            ReturnWindowClosed: the goods were delivered longer ago than the window allows.
            ReturnNotAllowed: more units than can go back, a parcel that is not lost, an
                order not paid in full, or a kind the policy refuses.
            ValidationError: an unknown line, a quantity below 1, no reason.
        """
        _require_reason(reason)
        return_id = self.ids.new_id()  # drawn once: the same id on every retry of the command
        return self._mutate(
            order_id,
            actor,
            reason,
            lambda tx, order: self._request(tx, order, lines, kind, shipment_id, return_id)[0],
        )

    def approve_return(
        self, order_id: str, return_id: str, *, actor: str, reason: str = ""
    ) -> Order:
        """Accept a requested return (the return-approved notification goes out).

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not waiting for a decision.
        """

        def change(tx: _Tx, order: Order) -> Order:
            ret = order.return_(return_id)
            after = self._move(order, ret, ReturnEvent.APPROVE)
            tx.record(order_stream(order.id), ReturnApproved(return_id, ret.kind, ret.lines))
            return after

        return self._mutate(order_id, actor, reason, change)

    def reject_return(self, order_id: str, return_id: str, *, actor: str, reason: str) -> Order:
        """Refuse a requested return; its units may be asked for again.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not waiting for a decision.
        """
        _require_reason(reason)

        def change(tx: _Tx, order: Order) -> Order:
            after = self._move(order, order.return_(return_id), ReturnEvent.REJECT)
            tx.record(order_stream(order.id), ReturnRejected(return_id))
            return after

        return self._mutate(order_id, actor, reason, change)

    def receive_return(
        self,
        order_id: str,
        return_id: str,
        dispositions: Mapping[str, str] | str = Disposition.RESTOCK,
        *,
        actor: str,
        reason: str = "",
    ) -> Order:
        """Record the returned goods' arrival: each line is restocked or written off.

        ``dispositions`` is one :class:`Disposition` for every line or one per line id.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not approved, or is a refund_only return.
            ValidationError: an unknown disposition, or a line without one.
        """

        def change(tx: _Tx, order: Order) -> Order:
            ret = order.return_(return_id)
            lines = []
            for ret_line in ret.lines:
                chosen = (
                    dispositions
                    if isinstance(dispositions, str)
                    else dispositions.get(ret_line.line_id)
                )
                if chosen not in Disposition.ALL:
                    raise ValidationError(
                        f"dispositions[{ret_line.line_id}]",
                        f"{chosen!r} is not one of {', '.join(Disposition.ALL)}",
                    )
                lines.append(attrs.evolve(ret_line, disposition=chosen))
            after = self._move(order, attrs.evolve(ret, lines=tuple(lines)), ReturnEvent.RECEIVE)
            for ret_line in lines:
                line = order.line(ret_line.line_id)
                stream = stock_stream(line.sku, line.location)
                if ret_line.disposition == Disposition.RESTOCK:
                    level = tx.uow.stock.receive(line.sku, line.location, ret_line.quantity)
                    tx.record(
                        stream,
                        StockReceived(line.sku, line.location, ret_line.quantity, level.on_hand),
                    )
                else:
                    tx.record(
                        stream,
                        StockWrittenOff(line.sku, line.location, ret_line.quantity, return_id),
                    )
            tx.record(order_stream(order.id), ReturnReceived(return_id, tuple(lines)))
            return after

        return self._mutate(order_id, actor, reason, change)

    # -- money ------------------------------------------------------------------------------

    def _refund(
        self,
        tx: _Tx,
        before: Order,
        order: Order,
        ret: Return,
        reference: str | None,
        idempotency_key: str | None,
        refund_id: str,
    ) -> Order:
        """Pay back ``ret``'s units, record it, and let stock and status follow.

        ``refund_id`` (and ``ret``'s id, which the default idempotency key is made of) are
        drawn by the command before its unit of work, so a retried attempt calls the payments
        port with the same key as the attempt before it."""
        self.return_machine.fire(ret, ret.status, ReturnEvent.REFUND)  # refuse early, clearly
        lines = refund_lines(order, {rl.line_id: rl.quantity for rl in ret.lines})
        amount = Money.sum((rl.amount for rl in lines), order.currency)
        if amount > order.net_paid:
            raise RefundExceedsPayment(
                f"order {order.number} holds {order.net_paid}; cannot refund {amount}"
            )
        if reference is None:
            if self.payments is None:
                raise ValidationError(
                    "reference",
                    "give the reference of the refund your provider made, or wire "
                    "OrderService(payments=...) to make it",
                )
            key = idempotency_key or f"orderkit-refund:{order.id}:{ret.return_id}"
            reference = self.payments.refund(order, amount, idempotency_key=key)
        refund = Refund(refund_id, amount, reference, tx.reason, tx.now, lines, ret.return_id)
        after = self._move(order, attrs.evolve(ret, refund_id=refund_id), ReturnEvent.REFUND)
        after = attrs.evolve(after, refunds=(*after.refunds, refund))
        tx.record(order_stream(order.id), RefundIssued(refund, after.amount_refunded))
        if ret.kind == ReturnKind.REFUND_ONLY and ret.shipment_id is None and order.stock_reserved:
            self._release(
                tx,
                order,
                [
                    StockMovement(
                        order.line(rl.line_id).sku, order.line(rl.line_id).location, rl.quantity
                    )
                    for rl in ret.lines
                ],
            )
        return self._settle(tx, before, after)

    def _settle(self, tx: _Tx, before: Order, after: Order) -> Order:
        """Move the order on after a refund: closed when nothing paid is left, shipped once
        what is left has all shipped, delivered once what shipped has all arrived."""
        if after.net_paid.is_zero and self.machine.can_fire(
            after, after.status, OrderEvent.REFUND_FULL
        ):
            closed = self._fire(tx, after, after, OrderEvent.REFUND_FULL)
            self._release(tx, before)
            return attrs.evolve(closed, stock_reserved=False)
        own = [s for s in after.shipments if s.return_id is None]
        if (
            own
            and after.is_fully_shipped
            and self.machine.can_fire(after, after.status, OrderEvent.SHIP)
        ):
            after = self._fire(tx, after, after, OrderEvent.SHIP)
        return self._deliver_if_all_arrived(tx, after)

    def refund_return(
        self,
        order_id: str,
        return_id: str,
        *,
        reference: str | None = None,
        reason: str,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Order:
        """Refund a received return (or an approved refund_only one), line by line.

        With ``reference`` the host has already paid the money back and gives its provider's
        reference; without it the :class:`PaymentsPort` pays, with ``idempotency_key`` (by
        default one derived from the return) passed through. The provider is called inside
        the unit of work, so a command the database retries calls it again with the same
        key (the ids it needs are drawn once, before the first attempt): the provider must
        honour it (every major payment API does).

        With an ``idempotency_key``, sending the same request again returns the order as it
        is instead of refusing it; a different request with the key raises
        :class:`IdempotencyConflict`. A caller that retries a call itself (after a timeout,
        say) must pass an ``idempotency_key``: without one, each call is a new request.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not ready to refund (or is an exchange).
            RefundExceedsPayment: more than the order holds (after goodwill refunds).
            ValidationError: no reference and no payments port.
            PaymentError: the payments port refused; nothing is recorded.
        """
        _require_reason(reason)
        refund_id = self.ids.new_id()  # drawn once: the same id on every retry of the command

        def change(tx: _Tx, order: Order) -> Order:
            request = {"order_id": order_id, "return_id": return_id, "reference": reference}
            if self._claim(tx, idempotency_key, "refund_return", request, return_id):
                return order  # the same request again: it was refunded the first time
            ret = order.return_(return_id)
            return self._refund(tx, order, order, ret, reference, idempotency_key, refund_id)

        return self._mutate(order_id, actor, reason, change)

    def refund_only(
        self,
        order_id: str,
        lines: Mapping[str, int] | Iterable[ReturnLine],
        *,
        reason: str,
        shipment_id: str | None = None,
        reference: str | None = None,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Order:
        """Refund units that never shipped, or (``shipment_id``) units of a lost parcel, in
        one step: a ``refund_only`` return requested, approved and refunded together.

        With an ``idempotency_key`` (also passed to the payments port), sending the same
        request again refunds nothing more and returns the order as it is. Without one, the
        key passed to the port is derived from the new return's id, drawn once per call: a
        retry the database asks for pays once, but a caller that retries a call itself (after
        a timeout, say) must pass an ``idempotency_key``, or each call refunds again.

        Raises:
            ReturnNotAllowed: more units than are unshipped (or in the lost parcel), or a
                parcel that is not reported lost.
            RefundExceedsPayment, ValidationError, PaymentError: as :meth:`refund_return`.
        """
        _require_reason(reason)

        wanted = _return_lines(lines)
        # Drawn once, before the unit of work: the default key sent to the payments port is
        # made of the return id, so a retried attempt must use the same one.
        return_id = self.ids.new_id()
        refund_id = self.ids.new_id()

        def change(tx: _Tx, order: Order) -> Order:
            request = {
                "order_id": order_id,
                "lines": [(rl.line_id, rl.quantity) for rl in wanted],
                "shipment_id": shipment_id,
                "reference": reference,
            }
            if self._claim(tx, idempotency_key, "refund_only", request, order_id):
                return order  # the same request again: it was refunded the first time
            after, ret = self._request(
                tx, order, wanted, ReturnKind.REFUND_ONLY, shipment_id, return_id, one_step=True
            )
            after = self._move(after, ret, ReturnEvent.APPROVE)
            ret = after.return_(ret.return_id)
            tx.record(order_stream(order.id), ReturnApproved(ret.return_id, ret.kind, ret.lines))
            return self._refund(tx, order, after, ret, reference, idempotency_key, refund_id)

        return self._mutate(order_id, actor, reason, change)

    def exchange(
        self,
        order_id: str,
        return_id: str,
        *,
        carrier: str | None = None,
        tracking_number: str = "",
        tracking_url: str = "",
        label: ShipmentLabel | None = None,
        actor: str = "system",
        reason: str = "",
    ) -> Order:
        """Ship the replacement for a received exchange: its units are reserved and shipped
        as a shipment of their own (``shipment.return_id``), tracked like any other.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not a received exchange.
            OutOfStock: the replacement units are not available; nothing changes.
            ValidationError: ``carrier`` contradicts the ``label``.
        """
        booked = shipment_label(carrier, tracking_number, tracking_url, label)

        def change(tx: _Tx, order: Order) -> Order:
            ret = order.return_(return_id)
            after = self._move(order, ret, ReturnEvent.EXCHANGE)
            units = [
                StockMovement(
                    order.line(rl.line_id).sku, order.line(rl.line_id).location, rl.quantity
                )
                for rl in ret.lines
            ]
            self._reserve(tx, order, units)
            lines = [ShipmentLine(rl.line_id, rl.quantity) for rl in ret.lines]
            after = self._add_shipment(tx, after, lines, booked, return_id=return_id)
            replacement = after.shipments[-1].shipment_id
            after = attrs.evolve(
                after,
                returns=tuple(
                    attrs.evolve(r, replacement_shipment_id=replacement)
                    if r.return_id == return_id
                    else r
                    for r in after.returns
                ),
            )
            tx.record(order_stream(order.id), ReturnExchanged(return_id, replacement))
            return after

        return self._mutate(order_id, actor, reason, change)
