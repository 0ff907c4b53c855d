"""Paying refunds through the host's payment provider, with no transaction open.

The provider is called before the unit of work that records the refund, never while one is
held; if recording then fails, :class:`~orderkit.errors.RefundNotRecorded` names the
provider's reference, and calling the command again with the same key records it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import attrs

from orderkit.domain.money import Money
from orderkit.domain.order import Order
from orderkit.domain.returns import (
    refund_lines,
)
from orderkit.errors import (
    OrderkitError,
    RefundNotRecorded,
    ValidationError,
)
from orderkit.service.runner import CommandRunner

__all__ = ["Payout", "PayoutSteps"]

_log = logging.getLogger(__name__)


@attrs.frozen
class Payout:
    """How a refund is paid: the reference to record; ``amount`` is what the payments port
    paid (None when the host paid, or nothing was paid because the refund cannot be made)."""

    reference: str | None
    amount: Money | None
    key: str


class PayoutSteps(CommandRunner):
    """The steps the after-sales refunds share: pay before the unit of work, then record."""

    def _pay_out(
        self,
        order_id: str,
        reference: str | None,
        key: str,
        units: Callable[[Order], Mapping[str, int]],
    ) -> Payout:
        """Have the payments port pay the refund before the unit of work opens, so no
        transaction is held across the provider's call; the host's own ``reference`` skips it.

        ``units`` gives the units to refund from the order as it is now; when it raises (the
        request cannot be refunded now, or was refunded by an earlier call with the same key)
        nothing is paid, and the unit of work says why or returns the earlier result.
        """
        if reference is not None:
            return Payout(reference, None, key)
        if self.payments is None:
            raise ValidationError(
                "reference",
                "give the reference of the refund your provider made, or wire "
                "OrderService(payments=...) to make it",
            )
        order = self.get(order_id)
        try:
            lines = refund_lines(order, units(order))
        except OrderkitError:
            return Payout(None, None, key)
        amount = Money.sum((rl.amount for rl in lines), order.currency)
        if amount > order.net_paid:
            return Payout(None, None, key)
        if amount.is_zero:
            return Payout("", None, key)  # refunded already by the order's own refunds
        return Payout(self.payments.refund(order, amount, idempotency_key=key), amount, key)

    def _record_payout(self, order_id: str, payout: Payout, record: Callable[[], Order]) -> Order:
        """Run ``record`` (the command's unit of work); if the provider has paid and recording
        fails, say so with a typed error naming the reference, and log it for reconciliation."""
        try:
            return record()
        except Exception as exc:
            if payout.amount is None or payout.reference is None:
                raise
            _log.error(
                "refund %s for order %s was paid by the provider but not recorded",
                payout.reference,
                order_id,
                exc_info=True,
            )
            raise RefundNotRecorded(order_id, payout.reference, payout.key) from exc
