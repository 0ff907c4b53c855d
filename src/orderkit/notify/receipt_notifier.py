"""Receipts through the outbox: which events call for which receipt, and rendering them.

:class:`ReceiptNotifier` is both halves of the outbox's contract for receipts. Inside a
command's unit of work, :meth:`~ReceiptNotifier.notifications` turns the command's events
into :class:`~orderkit.notify.outbox.OutboxDraft` s whose payload is the unstructured
:class:`~orderkit.domain.receipt.Receipt` snapshot. Later, in the dispatcher,
:meth:`~ReceiptNotifier.render` turns a stored entry back into a
:class:`~orderkit.notify.message.Message` in the entry's locale. The snapshot is taken when the
event happens, so a receipt sent after a retry an hour later still shows the order as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date

import attrs

from orderkit.domain.events import NewEvent
from orderkit.domain.money import Money
from orderkit.domain.order import Order
from orderkit.domain.receipt import (
    Merchant,
    PersonalizationBlock,
    Receipt,
    ReceiptKind,
    estimated_arrival,
)
from orderkit.domain.shipping import RateQuote
from orderkit.errors import ValidationError
from orderkit.notify.message import Message
from orderkit.notify.outbox import OutboxDraft, OutboxEntry
from orderkit.notify.render import ReceiptRenderer
from orderkit.ports import PersonalizationProvider
from orderkit.serialization import get_converter

__all__ = ["EVENT_KINDS", "ReceiptNotifier", "customer_email"]

_log = logging.getLogger(__name__)

# Event type names (``NewEvent.type``) and the receipt each calls for. PaymentCaptured and
# StatusChanged are conditional (see ``ReceiptNotifier._kind``).
EVENT_KINDS: Mapping[str, str] = {
    "OrderPlaced": ReceiptKind.ORDER_PLACED,
    "PaymentCaptured": ReceiptKind.PAYMENT_RECEIVED,
    "OrderShipped": ReceiptKind.SHIPPED,
    "ShipmentException": ReceiptKind.LOGISTICS_EXCEPTION,
    "ShipmentReturnedToSender": ReceiptKind.RETURNED_TO_SENDER,
    "OrderDelivered": ReceiptKind.DELIVERED,
    "StatusChanged": ReceiptKind.ORDER_CLOSED,
    "RefundIssued": ReceiptKind.REFUND_ISSUED,
    "ReturnApproved": ReceiptKind.RETURN_APPROVED,
    "PaymentReminderDue": ReceiptKind.PAYMENT_REMINDER,
}

# Attributes of an event payload that may carry a short text for the customer.
_DETAIL_FIELDS = ("detail", "description", "carrier_text")


def customer_email(order: Order) -> str:
    """The order's customer email address (empty when there is none: nothing is sent)."""
    return order.customer.email


def _email_only() -> Mapping[str, Callable[[Order], str]]:
    return {"email": customer_email}


@attrs.frozen
class ReceiptNotifier:
    """Queues a receipt for each event that calls for one, and renders queued receipts.

    Args:
        renderer: renders entries in :meth:`render` (the entry keeps the order's own
            locale, ``zh_TW`` say: the renderer picks the catalog and the regional formats).
        merchant: the shop's name and contact details shown on every receipt.
        channels: channel name -> how to find the recipient on that channel; a channel
            whose recipient is empty is skipped. Email to the customer by default.
        personalization: the host's provider of personalization blocks, if any.
        estimate_ship_date: the expected ship date of an order, if the host knows one.
        shipping_quote: the carrier's quote the order was shipped at, if the host kept it:
            with an estimated ship date, its ``estimated_days`` give the receipt an
            estimated arrival date.
        carrier_names: carrier code (or ``code/service``) -> the name shown to customers
            (``{"sf": "SF Express", "manual/ups": "UPS"}``); a carrier without one is shown
            by its code.
        kinds: the receipt kinds to send; all by default.
        closed_statuses: statuses that count as closed for ``order_closed``.
        event_kinds: event type name -> receipt kind; :data:`EVENT_KINDS` by default. Pass
            a copy with additions when your own commands record other events.

    Receipt numbers are ``{order number}-{order version}`` (``SO-2026-000123-3``), with
    ``.2``, ``.3`` … when one command queues several receipts: the order's version rises
    with every command that changes it, so the number is unique per order and kind and the
    same if the command is retried. The dedup key adds the order id, kind and channel.
    """

    renderer: ReceiptRenderer
    merchant: Merchant
    channels: Mapping[str, Callable[[Order], str]] = attrs.field(factory=_email_only)
    personalization: PersonalizationProvider | None = None
    estimate_ship_date: Callable[[Order], date | None] | None = None
    shipping_quote: Callable[[Order], RateQuote | None] | None = None
    carrier_names: Mapping[str, str] = attrs.field(factory=dict)
    kinds: frozenset[str] = frozenset(ReceiptKind.ALL)
    closed_statuses: frozenset[str] = frozenset({"closed"})
    event_kinds: Mapping[str, str] = EVENT_KINDS

    def _kind(self, order: Order, event: NewEvent) -> str | None:
        kind = self.event_kinds.get(event.type)
        if event.type == "PaymentCaptured":
            balance = getattr(event.payload, "balance_due", None)
            paid_in_full = balance.is_zero if balance is not None else order.is_paid_in_full
            return kind if paid_in_full else None
        if event.type == "StatusChanged":
            to_status = getattr(event.payload, "to_status", None)
            return kind if to_status in self.closed_statuses else None
        if event.type == "RefundIssued":
            # A return whose units hold nothing any more is settled with a zero refund: no
            # money moved, so there is nothing to tell the customer.
            amount = _amount(event)
            return None if amount is not None and amount.is_zero else kind
        return kind

    def notifications(self, order: Order, events: Sequence[NewEvent]) -> list[OutboxDraft]:
        """Drafts for every receipt ``events`` call for, given the order after the command.

        A full refund both issues a refund and closes the order; the customer then gets
        one ``order_closed`` receipt, which states the refund, rather than two messages.
        """
        wanted: list[tuple[str, NewEvent]] = []
        for event in events:
            kind = self._kind(order, event)
            if kind is not None and kind in self.kinds:
                wanted.append((kind, event))
        kinds = {kind for kind, _ in wanted}
        if ReceiptKind.ORDER_CLOSED in kinds:
            wanted = [(k, e) for k, e in wanted if k != ReceiptKind.REFUND_ISSUED]
        converter = get_converter()
        drafts: list[OutboxDraft] = []
        for index, (kind, event) in enumerate(wanted, start=1):
            suffix = f".{index}" if index > 1 else ""
            number = f"{order.number}-{order.version}{suffix}"
            ship_date = self.estimate_ship_date(order) if self.estimate_ship_date else None
            quote = self.shipping_quote(order) if self.shipping_quote else None
            receipt = Receipt.from_order(
                order,
                kind=kind,
                receipt_number=number,
                issued_at=event.at,
                merchant=self.merchant,
                estimated_ship_date=ship_date,
                estimated_arrival_date=estimated_arrival(ship_date, quote),
                detail=_detail(event),
                amount=_amount(event),
                carrier_names=self.carrier_names,
            )
            payload = converter.unstructure(receipt, Receipt)
            for channel, recipient_of in self.channels.items():
                recipient = recipient_of(order)
                if not recipient:
                    continue
                drafts.append(
                    OutboxDraft(
                        kind=kind,
                        channel=channel,
                        recipient=recipient,
                        locale=order.locale,
                        payload=payload,
                        order_id=order.id,
                        dedup_key=f"{order.id}:{kind}:{number}:{channel}",
                    )
                )
        return drafts

    def _blocks(self, receipt: Receipt, kind: str) -> tuple[PersonalizationBlock, ...]:
        """The provider's blocks for this receipt; none when it fails, with the reason logged
        (a recommendation service that is down never holds a receipt back)."""
        assert self.personalization is not None
        try:
            return tuple(self.personalization.blocks_for(receipt, kind))
        except Exception:
            _log.warning(
                "personalization for %s receipt %s failed; sending it without blocks",
                kind,
                receipt.receipt_number,
                exc_info=True,
            )
            return ()

    def render(self, entry: OutboxEntry) -> Message:
        """The message for a queued receipt, rendered in the entry's locale.

        Raises:
            ValidationError: the payload is not a receipt (e.g. an entry of another kind).
            RenderError: a template failed (see :meth:`ReceiptRenderer.render`).
        """
        receipt = _receipt_from_payload(entry.payload)
        if self.personalization is not None and not receipt.blocks:
            receipt = attrs.evolve(receipt, blocks=self._blocks(receipt, entry.kind))
        rendered = self.renderer.render(
            receipt, entry.kind, entry.locale, message_id=entry.entry_id
        )
        return Message(
            message_id=entry.entry_id,
            dedup_key=entry.dedup_key,
            kind=entry.kind,
            recipient=entry.recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            data=entry.payload,
            locale=rendered.locale,
        )


def _detail(event: NewEvent) -> str:
    # A tracking event nested in the payload (ShipmentException) says what the carrier said.
    for source in (event.payload, getattr(event.payload, "event", None)):
        for name in _DETAIL_FIELDS:
            value = getattr(source, name, None)
            if isinstance(value, str) and value:
                return value
    return ""


def _amount(event: NewEvent) -> Money | None:
    """The money an event is about: ``PaymentCaptured.payment``, ``RefundIssued.refund``."""
    for name in ("payment", "refund"):
        amount = getattr(getattr(event.payload, name, None), "amount", None)
        if isinstance(amount, Money):
            return amount
    return None


def _receipt_from_payload(payload: Mapping[str, object]) -> Receipt:
    try:
        return get_converter().structure(dict(payload), Receipt)
    except Exception as exc:  # cattrs raises its own exception groups; name the field
        raise ValidationError(
            "payload", f"not a receipt snapshot ({type(exc).__name__}: {exc})"
        ) from None
