"""Placing orders: validate, check addresses, number, reserve, record."""

from __future__ import annotations

import attrs

from orderkit.domain.address import ADDRESS_REVIEW_TAG, Suspicion
from orderkit.domain.events import (
    AddressFlagged,
    NewEvent,
    OrderPlaced,
    order_stream,
)
from orderkit.domain.inventory import (
    ReservationPolicy,
    line_movements,
)
from orderkit.domain.normalize import locale_identifier
from orderkit.domain.order import (
    LineItem,
    Note,
    Order,
    OrderDraft,
    validate_draft,
)
from orderkit.domain.tags import tag
from orderkit.service.runner import CommandRunner, Transaction

__all__ = ["PlacementCommands"]


class PlacementCommands(CommandRunner):
    """Placing an order."""

    def place(
        self,
        draft: OrderDraft,
        *,
        actor: str = "system",
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Order:
        """Place an order: validate it, number it, reserve its stock (by policy), record it.

        With an ``idempotency_key``, placing the same draft again returns the original order
        (even while the first placement is still committing elsewhere); a different draft
        with the same key raises :class:`IdempotencyConflict`.

        With an ``address_checker``, the addresses are stored as it normalized them. A
        shipping address it finds suspicious is still placed, and flagged: an
        ``AddressFlagged`` event, the ``address-review`` tag, and the machine's
        ``address_review_event`` (e.g. to ``awaiting_review``) when it has one.

        An order with nothing to pay (a total of zero) is paid in full when placed: it moves
        on along ``pay`` at once (reserving its stock under ``AT_PAYMENT``).

        Raises:
            ValidationError: a field of the draft is malformed (the error names it).
            AddressInvalid: the address checker refused an address (the error names the field).
            CurrencyMismatch: prices, costs or adjustments in different currencies.
            OutOfStock: a SKU has too little available stock; nothing is reserved.
            IdempotencyConflict: the key was used for a different request.
        """
        currency = validate_draft(draft)
        locale = locale_identifier("locale", draft.locale)
        if locale != draft.locale:
            draft = attrs.evolve(draft, locale=locale)
        request = draft
        draft, suspicions = self._check_addresses(draft)

        def body(tx: Transaction) -> Order:
            order_id = self.ids.new_id()
            original = self._claim(tx, idempotency_key, "place", request, order_id)
            if original is not None:
                return self._load(tx.uow, original)
            lines = tuple(LineItem.from_draft(f"L{i + 1}", d) for i, d in enumerate(draft.lines))
            order = Order(
                id=order_id,
                number="",
                customer=draft.customer,
                shipping_address=draft.shipping_address,
                billing_address=draft.billing_address,
                lines=lines,
                currency=currency,
                status=self.machine.initial,
                created_at=tx.now,
                updated_at=tx.now,
                channel=draft.channel,
                prices_include_tax=draft.prices_include_tax,
                adjustments=draft.adjustments,
                tags=draft.tags,
                group=draft.group,
                locale=draft.locale,
                time_zone=draft.time_zone,
                notes=(Note(tx.now, tx.actor, draft.note),) if draft.note else (),
                lines_issued=len(lines),
                tax_policy=draft.tax_policy,
            )
            if self.reservation_policy is ReservationPolicy.AT_PLACEMENT:
                self._reserve(tx, order, line_movements(lines))
                order = attrs.evolve(order, stock_reserved=True)
            if suspicions:
                order = self._flag_address(tx, order, suspicions)
            # The number is drawn last: the sequence row is a hot spot, held briefly.
            number = self.numbering.format(
                tx.uow.sequences.next(self.numbering.sequence_name(tx.now)), tx.now
            )
            order = attrs.evolve(order, number=number)
            order = self._pay_if_settled(tx, order)  # a free order has nothing to pay
            tx.events.insert(
                0,
                NewEvent(
                    order_stream(order.id),
                    tx.now,
                    tx.actor,
                    tx.reason,
                    OrderPlaced(
                        number,
                        draft.customer.id,
                        draft.channel,
                        currency,
                        order.total,
                        lines,
                        draft.adjustments,
                        draft.shipping_address,
                    ),
                ),
            )
            tx.uow.orders.add(order)
            self._commit(tx, order)
            return order

        return self._run(actor, reason, body)

    def _check_addresses(self, draft: OrderDraft) -> tuple[OrderDraft, tuple[Suspicion, ...]]:
        """The draft with its addresses normalized by the checker, and the shipping address's
        suspicions. Raises AddressInvalid naming the field."""
        checker = self.address_checker
        if checker is None:
            return draft, ()
        shipping = checker.validate(draft.shipping_address, field="shipping_address")
        billing = draft.billing_address
        if billing is not None:
            billing = checker.validate(billing, field="billing_address").address
        draft = attrs.evolve(draft, shipping_address=shipping.address, billing_address=billing)
        return draft, shipping.suspicions

    def _flag_address(
        self, tx: Transaction, order: Order, suspicions: tuple[Suspicion, ...]
    ) -> Order:
        """Record why the address deserves a look, tag the order, and hold it if the machine
        has a review hold."""
        stream = order_stream(order.id)
        tx.record(stream, AddressFlagged("shipping_address", suspicions))
        order = self._apply(tx, tag(order, ADDRESS_REVIEW_TAG, present=True))
        if self.machine.can_fire(order, order.status, self.address_review_event):
            order = self._fire(tx, order, order, self.address_review_event)
        return order
