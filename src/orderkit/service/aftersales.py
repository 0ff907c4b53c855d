"""After-sales commands of :class:`orderkit.OrderService`: returns, exchanges, refunds by line.

Each command is one unit of work on the order: the return moves along
:func:`orderkit.domain.aftersales.return_machine`, every step is an event with actor and reason
(``ReturnRequested``, ``ReturnApproved``, ``ReturnRejected``, ``ReturnReceived``,
``RefundIssued``, ``ReturnExchanged``), and stock and the order's status follow:

- received units are restocked (on hand grows, a ``StockReceived`` event) or written off
  (a ``StockWrittenOff`` event; on hand does not grow);
- a refund pays back the next unit shares of each line (:func:`orderkit.domain.aftersales.
  refund_lines`), through the optional :class:`orderkit.ports.PaymentsPort` or with the
  host's own refund reference; refunding everything paid closes the order (``refund_full``),
  a partial refund keeps its status;
- a refund-only of unshipped units takes them off the order (their reservation is released
  and, if everything else has shipped, the order moves on to ``shipped``); one for a lost
  parcel stops the order waiting for that parcel;
- an exchange reserves and ships replacement units as a shipment of their own; one whose
  replacement cannot ship is refunded instead (``convert_exchange_to_refund``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from orderkit.domain.aftersales import (
    Disposition,
    Return,
    ReturnEvent,
    ReturnKind,
    ReturnLine,
)
from orderkit.domain.checks import require_whole
from orderkit.domain.events import (
    ReturnApproved,
    ReturnExchanged,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
    StockReceived,
    StockWrittenOff,
    order_stream,
    stock_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import StockMovement
from orderkit.domain.money import Money
from orderkit.domain.order import Order, Refund, ShipmentLine
from orderkit.domain.returns import (
    check_return_request,
    move_return,
    record_return_refund,
    refund_lines,
    repeats_refund_only,
    repeats_return_refund,
)
from orderkit.domain.shipments import shipment_label
from orderkit.domain.shipping import ShipmentLabel
from orderkit.errors import (
    ConcurrencyConflict,
    RefundExceedsPayment,
    RefundNotRecorded,
    ValidationError,
)
from orderkit.service.payouts import Payout, PayoutSteps
from orderkit.service.runner import Transaction
from orderkit.service.shipping import ShippingCommands

__all__ = ["AfterSalesCommands"]

T = TypeVar("T")


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
        require_whole(f"lines[{ret_line.line_id}]", qty)
        if ret_line.line_id in seen:
            raise ValidationError(f"lines[{ret_line.line_id}]", "named twice; give it once")
        seen.add(ret_line.line_id)
    return result


def _require_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", "say why, e.g. reason='wrong size'")


class AfterSalesCommands(ShippingCommands, PayoutSteps):
    """Returns, exchanges and refunds by line; an exchange's replacement ships the way
    every parcel does."""

    # -- the return's own steps -------------------------------------------------------------

    def _move(self, order: Order, ret: Return, event: str) -> Order:
        """``order`` with ``ret`` moved along ``event`` (see :func:`move_return`)."""
        return move_return(order, ret, event, self.return_machine)

    def _request(
        self,
        tx: Transaction,
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
        check_return_request(order, ret, self.return_policy, tx.now, one_step=one_step)
        tx.record(order_stream(order.id), ReturnRequested(ret))
        return evolve(order, returns=(*order.returns, ret)), ret

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

        def change(tx: Transaction, order: Order) -> Order:
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

        def change(tx: Transaction, order: Order) -> Order:
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

        def change(tx: Transaction, order: Order) -> Order:
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
                lines.append(evolve(ret_line, disposition=chosen))
            after = self._move(order, evolve(ret, lines=tuple(lines)), ReturnEvent.RECEIVE)
            for ret_line in lines:
                line = order.line(ret_line.line_id)
                stream = stock_stream(line.sku, line.location)
                if ret_line.disposition == Disposition.RESTOCK:
                    level = self._restock(tx, line.sku, line.location, ret_line.quantity)
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
        tx: Transaction,
        order: Order,
        ret: Return,
        payout: Payout,
        refund_id: str,
        event: str = ReturnEvent.REFUND,
    ) -> Order:
        """Record the refund of ``ret``'s units, paid as ``payout`` says, and let stock and
        status follow; the return moves along ``event``.

        Raises:
            ConcurrencyConflict: the return became refundable only after the provider was
                asked (nothing was paid); the runner tries again.
            RefundNotRecorded: what the units come to now is not what the provider paid.
        """
        self.return_machine.fire(ret, ret.status, event)  # refuse early, clearly
        lines = refund_lines(order, {rl.line_id: rl.quantity for rl in ret.lines})
        amount = Money.sum((rl.amount for rl in lines), order.currency)
        if amount > order.net_paid:
            raise RefundExceedsPayment(
                f"order {order.number} holds {order.net_paid}; cannot refund {amount}"
            )
        if payout.reference is None:
            raise ConcurrencyConflict(f"order {order.number} changed while its refund was prepared")
        if payout.amount is not None and payout.amount != amount:
            raise RefundNotRecorded(order.id, payout.reference, payout.key)
        refund = Refund(
            refund_id, amount, payout.reference, tx.reason, tx.now, lines, ret.return_id
        )
        decided = record_return_refund(order, ret, refund, event, self.machine, self.return_machine)
        return self._apply(tx, decided)

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
        default one derived from the return) passed through. The provider is called before
        the unit of work opens, never while a transaction is held; if recording the refund
        then fails, :class:`RefundNotRecorded` names the provider's reference, and calling
        again with the same key records it (the provider, honouring the key, pays once).

        A ``reference`` the order already has for this return's refund is the host's notice
        again: the order is returned unchanged. With an ``idempotency_key``, sending the
        same request again returns the order as it is instead of refusing it; a different
        request with the key raises :class:`IdempotencyConflict`. A caller that retries a
        call itself (after a timeout, say) must pass an ``idempotency_key``: without one,
        each call is a new request.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not ready to refund (or is an exchange).
            RefundExceedsPayment: more than the order holds (after goodwill refunds).
            PaymentReferenceConflict: ``reference`` is recorded for another refund.
            ValidationError: no reference and no payments port.
            PaymentError: the payments port refused; nothing is recorded.
        """
        return self._refund_received(
            order_id, return_id, ReturnEvent.REFUND, reference, reason, actor, idempotency_key
        )

    def convert_exchange_to_refund(
        self,
        order_id: str,
        return_id: str,
        *,
        reference: str | None = None,
        reason: str,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Order:
        """Refund a received exchange instead of shipping its replacement (one that cannot
        ship: out of stock, discontinued): the return moves to ``refunded`` along
        ``convert_to_refund`` and its units are paid back as :meth:`refund_return` pays a
        refund return's, with the same ``reference``, payments port and idempotency rules.

        Raises:
            ReturnNotFound: no such return on the order.
            InvalidTransition: the return is not a received exchange.
            RefundExceedsPayment, PaymentReferenceConflict, ValidationError, PaymentError:
                as :meth:`refund_return`.
        """
        return self._refund_received(
            order_id,
            return_id,
            ReturnEvent.CONVERT_TO_REFUND,
            reference,
            reason,
            actor,
            idempotency_key,
        )

    def _refund_received(
        self,
        order_id: str,
        return_id: str,
        event: str,
        reference: str | None,
        reason: str,
        actor: str,
        idempotency_key: str | None,
    ) -> Order:
        """Pay back a return's units, moving it along ``event`` (``refund``, or
        ``convert_to_refund`` for an exchange)."""
        _require_reason(reason)
        refund_id = self.ids.new_id()  # drawn once: the same id on every retry of the command

        def units(order: Order) -> Mapping[str, int]:
            ret = order.return_(return_id)
            self.return_machine.fire(ret, ret.status, event)
            return {rl.line_id: rl.quantity for rl in ret.lines}

        key = idempotency_key or f"orderkit-refund:{order_id}:{return_id}"
        payout = self._pay_out(order_id, reference, key, units)

        def change(tx: Transaction, order: Order) -> Order:
            request = {"order_id": order_id, "return_id": return_id, "reference": reference}
            if self._claim(tx, idempotency_key, f"{event}_return", request, return_id):
                return order  # the same request again: it was refunded the first time
            if repeats_return_refund(order, return_id, reference):
                return order  # the host's notice again: refunded the first time
            ret = order.return_(return_id)
            return self._refund(tx, order, ret, payout, refund_id, event)

        return self._record_payout(
            order_id, payout, lambda: self._mutate(order_id, actor, reason, change)
        )

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

        A ``reference`` the order already has for a refund-only of these same units changes
        nothing. With an ``idempotency_key`` (also passed to the payments port), sending the
        same request again refunds nothing more and returns the order as it is. Without one, the
        key passed to the port is derived from the new return's id, drawn once per call: a
        retry the database asks for pays once, but a caller that retries a call itself (after
        a timeout, say) must pass an ``idempotency_key``, or each call refunds again.

        Raises:
            ReturnNotAllowed: more units than are unshipped (or in the lost parcel), or a
                parcel that is not reported lost.
            RefundExceedsPayment, PaymentReferenceConflict, ValidationError, PaymentError:
                as :meth:`refund_return`.
        """
        _require_reason(reason)

        wanted = _return_lines(lines)
        # Drawn once, before the unit of work: the default key sent to the payments port is
        # made of the return id, so a retried attempt must use the same one.
        return_id = self.ids.new_id()
        refund_id = self.ids.new_id()

        def change(tx: Transaction, order: Order) -> Order:
            request = {
                "order_id": order_id,
                "lines": [(rl.line_id, rl.quantity) for rl in wanted],
                "shipment_id": shipment_id,
                "reference": reference,
            }
            if self._claim(tx, idempotency_key, "refund_only", request, order_id):
                return order  # the same request again: it was refunded the first time
            if repeats_refund_only(order, wanted, shipment_id, reference):
                return order  # the host's notice again: refunded the first time
            after, ret = self._request(
                tx, order, wanted, ReturnKind.REFUND_ONLY, shipment_id, return_id, one_step=True
            )
            after = self._move(after, ret, ReturnEvent.APPROVE)
            ret = after.return_(ret.return_id)
            tx.record(order_stream(order.id), ReturnApproved(ret.return_id, ret.kind, ret.lines))
            return self._refund(tx, after, ret, payout, refund_id)

        def units(order: Order) -> Mapping[str, int]:
            asked = Return(
                return_id,
                ReturnKind.REFUND_ONLY,
                wanted,
                self.return_machine.initial,
                self._now(),
                actor,
                reason,
                shipment_id=shipment_id,
            )
            check_return_request(order, asked, self.return_policy, self._now(), one_step=True)
            return {rl.line_id: rl.quantity for rl in wanted}

        key = idempotency_key or f"orderkit-refund:{order_id}:{return_id}"
        payout = self._pay_out(order_id, reference, key, units)
        return self._record_payout(
            order_id, payout, lambda: self._mutate(order_id, actor, reason, change)
        )

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

        def change(tx: Transaction, order: Order) -> Order:
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
            after = evolve(
                after,
                returns=tuple(
                    evolve(r, replacement_shipment_id=replacement)
                    if r.return_id == return_id
                    else r
                    for r in after.returns
                ),
            )
            tx.record(order_stream(order.id), ReturnExchanged(return_id, replacement))
            return after

        return self._mutate(order_id, actor, reason, change)
