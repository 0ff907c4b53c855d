"""Placing orders: validate, check addresses, number, reserve, record."""

from __future__ import annotations

from orderkit.domain.address import Suspicion
from orderkit.domain.events import (
    NewEvent,
    order_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.normalize import locale_identifier
from orderkit.domain.order import (
    Order,
    OrderDraft,
    validate_draft,
)
from orderkit.domain.placement import flag_address, new_order, placed, reserve_at_placement
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
            draft = evolve(draft, locale=locale)
        request = draft
        draft, suspicions = self._check_addresses(draft)

        def body(tx: Transaction) -> Order:
            order_id = self.ids.new_id()
            original = self._claim(tx, idempotency_key, "place", request, order_id)
            if original is not None:
                return self._load(tx.uow, original)
            order = new_order(draft, order_id, currency, tx.now, tx.actor, self.machine.initial)
            order = self._apply(tx, reserve_at_placement(order, self.reservation_policy))
            order = self._apply(
                tx, flag_address(order, suspicions, self.machine, self.address_review_event)
            )
            # The number is drawn last: the sequence row is a hot spot, held briefly.
            number = self.numbering.format(
                tx.uow.sequences.next(self.numbering.sequence_name(tx.now)), tx.now
            )
            order = evolve(order, number=number)
            order = self._pay_if_settled(tx, order)  # a free order has nothing to pay
            # OrderPlaced opens the order's stream, before what placing it reserved.
            tx.events.insert(
                0, NewEvent(order_stream(order.id), tx.now, tx.actor, tx.reason, placed(order))
            )
            tx.uow.orders.save(order)
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
        draft = evolve(draft, shipping_address=shipping.address, billing_address=billing)
        return draft, shipping.suspicions
