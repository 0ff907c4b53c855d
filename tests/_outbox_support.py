"""Small real parts for the outbox tests: a notifier, a channel that records, a shop builder.

The channel here stands in for the memory/file/SMTP/webhook channels built elsewhere; it is a
real :class:`orderkit.ports.Channel` (it keeps what it was given and can be told to fail),
not a mock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from orderkit.domain.events import NewEvent, order_stream
from orderkit.domain.money import Money
from orderkit.domain.order import Address, Customer, LineDraft, Order, OrderDraft
from orderkit.errors import DeliveryFailed
from orderkit.notify.message import Message
from orderkit.notify.outbox import OutboxDraft

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
HOME = Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN", postal_code="310000")

#: Which of an order's event types become which notification kind.
KINDS = {
    "OrderPlaced": "order_placed",
    "PaymentReminderDue": "payment_reminder",
    "OrderShipped": "shipped",
}


class EmailNotifier:
    """Queues one email to the customer per event of the order whose type is in ``KINDS``."""

    def __init__(self, kinds: dict[str, str] | None = None) -> None:
        self.kinds = KINDS if kinds is None else kinds
        self.seen: list[tuple[Order, list[str]]] = []

    def notifications(self, order: Order, events: Sequence[NewEvent]) -> list[OutboxDraft]:
        self.seen.append((order, [e.type for e in events]))
        return [
            OutboxDraft(
                kind=self.kinds[e.type],
                channel="email",
                recipient=order.customer.email,
                locale=order.locale,
                payload={"number": order.number, "status": order.status},
            )
            for e in events
            if e.type in self.kinds and e.stream == order_stream(order.id)
        ]


class RecordingChannel:
    """A channel that keeps every message it is handed; told to, it fails the first ``fail``.

    ``attempts`` holds every message it was given, ``delivered`` those it accepted.
    """

    def __init__(
        self,
        name: str = "email",
        *,
        fail: int = 0,
        retryable: bool = True,
        error: str = "421 mail server busy",
    ) -> None:
        self.name = name
        self.fail = fail
        self.retryable = retryable
        self.error = error
        self.attempts: list[Message] = []
        self.delivered: list[Message] = []

    def send(self, message: Message) -> None:
        self.attempts.append(message)
        if self.fail > 0:
            self.fail -= 1
            raise DeliveryFailed(self.error, retryable=self.retryable)
        self.delivered.append(message)


def draft(*lines: tuple[str, int], email: str = "lin@example.cn", locale: str = "en") -> OrderDraft:
    """An order for ``(sku, quantity)`` lines at 12.50 USD each."""
    return OrderDraft(
        customer=Customer("c-1", "Lin Wei", email=email),
        shipping_address=HOME,
        lines=tuple(LineDraft(sku, sku.title(), qty, Money("12.50", "USD")) for sku, qty in lines),
        locale=locale,
    )
