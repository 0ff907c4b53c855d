"""Payments and order-level refunds, and the unpaid orders a scheduler reminds or expires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from orderkit.clock import describe_duration, require_duration
from orderkit.domain.checks import require_whole
from orderkit.domain.events import (
    PaymentReminderDue,
    order_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.lifecycle import OrderEvent
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Order,
    Payment,
    Refund,
)
from orderkit.domain.payments import capture_payment, record_refund
from orderkit.errors import (
    InvalidTransition,
    ValidationError,
)
from orderkit.ports import (
    OrderQuery,
    UnitOfWork,
)
from orderkit.service.runner import CommandRunner, Transaction

__all__ = ["PaymentCommands"]


class PaymentCommands(CommandRunner):
    """Payments, order-level refunds and unpaid orders."""

    def pay(
        self,
        order_id: str,
        amount: Money,
        *,
        reference: str,
        method: str = "",
        actor: str = "system",
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """Record a captured payment; paid in full, the order moves on (``pay``).

        Partial payments are recorded and leave the status as it is. With the
        ``AT_PAYMENT`` reservation policy, paying in full reserves the stock. A payment
        whose ``reference`` the order already has, with the same amount, is the provider's
        notice again: the order is returned unchanged.

        Raises:
            PaymentReferenceConflict: the reference is recorded for another amount.
            InvalidTransition: the order is not awaiting payment.
            Overpayment: the amount exceeds the balance due.
            OutOfStock: (``AT_PAYMENT`` policy) stock ran out; the payment is not recorded.
            IdempotencyConflict: the key was used for a different request.
        """
        if not isinstance(amount, Money) or not amount.is_positive:
            raise ValidationError("amount", "must be a positive Money")
        if not isinstance(reference, str) or not reference:
            raise ValidationError("reference", "give the payment provider's reference")

        def change(tx: Transaction, order: Order) -> Order:
            payment_id = self.ids.new_id()
            request = {"order_id": order_id, "amount": amount, "reference": reference}
            if self._claim(tx, idempotency_key, "pay", request, payment_id) is not None:
                return order
            payment = Payment(payment_id, amount, reference, method, tx.now)
            return self._apply(tx, capture_payment(order, payment, self.machine))

        return self._mutate(order_id, actor, reason, change)

    def refund(
        self,
        order_id: str,
        amount: Money,
        *,
        reference: str,
        reason: str,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Order:
        """Record a refund made through the host's payment provider.

        A refund that brings what the shop holds to zero closes the order (``refund_full``)
        and releases its reservations; a partial refund keeps the status. Before the order is
        paid in full, a refund gives back everything held (the order can then be cancelled):
        a part of it would let the order be paid off short. A refund whose ``reference``
        the order already has, with the same amount, changes nothing.

        Raises:
            PaymentReferenceConflict: the reference is recorded for another refund.
            RefundExceedsPayment: more than was paid and not yet refunded.
            ValidationError: an empty ``reference``; (``amount``) a part of what is held,
                before the order is paid in full.
        """
        if not isinstance(amount, Money) or not amount.is_positive:
            raise ValidationError("amount", "must be a positive Money")
        if not isinstance(reference, str) or not reference:
            raise ValidationError("reference", "give the payment provider's refund reference")
        if not reason:
            raise ValidationError("reason", "say why the money is refunded")

        def change(tx: Transaction, order: Order) -> Order:
            refund_id = self.ids.new_id()
            request = {"order_id": order_id, "amount": amount, "reference": reference}
            if self._claim(tx, idempotency_key, "refund", request, refund_id) is not None:
                return order
            refund = Refund(refund_id, amount, reference, reason, tx.now)
            return self._apply(tx, record_refund(order, refund, self.machine))

        return self._mutate(order_id, actor, reason, change)

    def expire_unpaid(
        self, *, older_than: timedelta, actor: str = "system", limit: int = 100
    ) -> list[Order]:
        """Close orders still awaiting payment that were placed more than ``older_than`` ago.

        Each order is expired in its own unit of work; one that holds money (partly paid) or
        was paid or cancelled meanwhile is left alone and does not count towards ``limit``.
        Returns the orders expired (at most ``limit``). Run it from a scheduler.

        Raises:
            ValidationError: ``older_than`` is not a ``timedelta`` or is negative, or ``limit``
                is below 1.
        """
        reason = f"unpaid after {describe_duration(require_duration('older_than', older_than))}"

        def expire(order_id: str) -> Order | None:
            try:
                return self._close(order_id, OrderEvent.EXPIRE, actor, reason)
            except InvalidTransition:
                return None  # paid, partly paid or cancelled since we looked

        return self._scan_unpaid(
            older_than, limit, lambda uow, order: order.net_paid.is_zero, expire
        )

    def remind_unpaid(
        self, *, older_than: timedelta, actor: str = "system", limit: int = 100
    ) -> list[Order]:
        """Record ``PaymentReminderDue`` on orders still awaiting payment that were placed more
        than ``older_than`` ago and were never reminded; return those orders.

        Each order is reminded at most once, in its own unit of work (a notifier turns the
        event into a ``payment_reminder``). Run it from a scheduler, before
        :meth:`expire_unpaid` closes what stays unpaid longer.

        Raises:
            ValidationError: ``older_than`` is not a ``timedelta`` or is negative, or ``limit``
                is below 1.
        """
        return self._scan_unpaid(
            older_than,
            limit,
            lambda uow, order: not self._was_reminded(uow, order.id),
            lambda order_id: self._remind(order_id, actor, older_than),
        )

    def _scan_unpaid(
        self,
        older_than: timedelta,
        limit: int,
        wanted: Callable[[UnitOfWork, Order], bool],
        act: Callable[[str], Order | None],
    ) -> list[Order]:
        """Page through the orders in the initial status placed more than ``older_than`` ago,
        newest first, and ``act`` on each ``wanted`` one (each in its own unit of work) until
        ``limit`` of them were acted on (``act`` returns None for one it left alone)."""
        require_duration("older_than", older_than)
        require_whole("limit", limit)
        query = OrderQuery(
            status=self.machine.initial, placed_to=self._now() - older_than, limit=100
        )
        done: list[Order] = []
        while len(done) < limit:
            with self.storage.reader() as uow:
                page = uow.orders.find(query)
                due = [o.id for o in page.items if wanted(uow, o)]
            for order_id in due:
                if len(done) == limit:
                    break
                order = act(order_id)
                if order is not None:
                    done.append(order)
            if page.next_cursor is None:
                break
            query = evolve(query, cursor=page.next_cursor)
        return done

    @staticmethod
    def _was_reminded(uow: UnitOfWork, order_id: str) -> bool:
        events = uow.events.read(stream=order_stream(order_id), limit=None)
        return any(isinstance(e.payload, PaymentReminderDue) for e in events)

    def _remind(self, order_id: str, actor: str, older_than: timedelta) -> Order | None:
        reminded = False

        def change(tx: Transaction, order: Order) -> Order:
            nonlocal reminded
            # Looked at again under the order's lock: paid, or reminded by another worker.
            if order.status == self.machine.initial and not self._was_reminded(tx.uow, order.id):
                tx.record(
                    order_stream(order.id), PaymentReminderDue(order.created_at, order.balance_due)
                )
                reminded = True
            return order

        order = self._mutate(
            order_id, actor, f"unpaid after {describe_duration(older_than)}", change
        )
        return order if reminded else None
