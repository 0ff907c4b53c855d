"""Commands on an order's own record: cancelling, status moves, edits, tags, notes, engagement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orderkit.clock import require_utc
from orderkit.domain.edits import apply_edit
from orderkit.domain.events import (
    EditApplied,
    EditRejected,
    EditRequested,
    NewEvent,
    NoteAdded,
    ReceiptClicked,
    ReceiptOpened,
    order_stream,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.lifecycle import COMMAND_EVENTS, OrderEvent
from orderkit.domain.normalize import check_tag
from orderkit.domain.order import (
    ChangeAddress,
    EditOp,
    EditRequest,
    Note,
    Order,
)
from orderkit.domain.tags import tag as set_tag
from orderkit.errors import (
    EditNotFound,
    OutboxEntryNotFound,
    ValidationError,
)
from orderkit.notify.outbox import entry_by_id, entry_stream
from orderkit.service.runner import CommandRunner, Transaction

__all__ = ["OrderCommands"]


class OrderCommands(CommandRunner):
    """Cancelling, status moves, edits with approval, tags, notes, receipt engagement."""

    def cancel(self, order_id: str, *, actor: str, reason: str) -> Order:
        """Cancel an order that holds no money; its reservations are released.

        Raises:
            GuardRefused: money is paid and not refunded (refund it, which closes the order).
            InvalidTransition: the order is past the point where it can be cancelled.
        """
        if not reason:
            raise ValidationError("reason", "say why the order is cancelled")
        return self._close(order_id, OrderEvent.CANCEL, actor, reason)

    def complete(self, order_id: str, *, actor: str = "system", reason: str = "") -> Order:
        """Close a delivered order as a success (交易成功).

        Raises:
            InvalidTransition: the order is not delivered.
        """
        return self._simple(order_id, OrderEvent.COMPLETE, actor, reason)

    def transition(self, order_id: str, event: str, *, actor: str, reason: str = "") -> Order:
        """Fire a host-defined event (e.g. ``hold`` / ``release`` of an extended machine).

        The built-in events with side effects (pay, ship, cancel, …) have their own methods
        and are refused here so their money and stock work cannot be skipped.
        """
        if event in COMMAND_EVENTS:
            raise ValidationError(
                "event", f"{event!r} has its own command; call OrderService.{event}() instead"
            )
        return self._simple(order_id, event, actor, reason)

    def request_edit(
        self,
        order_id: str,
        changes: Sequence[EditOp],
        *,
        actor: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Order:
        """Ask for changes to a placed order.

        Changes the edit policy lets through (by default, an address) apply at once; any
        other change waits in ``order.pending_edits`` for :meth:`approve_edit`. An applied
        edit that lowers the total to what is already paid moves the order on along ``pay``.

        An address change goes through the ``address_checker`` too, and is stored normalized.
        A request repeated with the same ``idempotency_key`` (a double submit) changes
        nothing and returns the order as it is.

        Raises:
            EditNotAllowed: the order's status does not allow these changes.
            ValidationError: a change is malformed (the error names it).
            AddressInvalid: the address checker refused a new address.
            IdempotencyConflict: the key was used for a different request.
        """
        if not reason:
            raise ValidationError("reason", "say why the order is edited")
        changes = tuple(changes)
        if self.address_checker is not None:
            changes = tuple(
                ChangeAddress(
                    self.address_checker.validate(op.address, field=f"changes[{i}].address").address
                )
                if isinstance(op, ChangeAddress)
                else op
                for i, op in enumerate(changes)
            )

        def change(tx: Transaction, order: Order) -> Order:
            request = {"order_id": order_id, "changes": changes}
            if self._claim(tx, idempotency_key, "request_edit", request, order_id) is not None:
                return order
            self.edit_policy.check_allowed(order, changes)
            if not self.edit_policy.requires_approval(changes):
                return self._apply_edit(tx, order, changes, tx.actor, None, "direct")
            apply_edit(order, changes)  # validate now, not only at approval time
            edit = EditRequest(self.ids.new_id(), changes, tx.actor, tx.now, tx.reason)
            tx.record(order_stream(order.id), EditRequested(edit))
            return evolve(order, pending_edits=(*order.pending_edits, edit))

        return self._mutate(order_id, actor, reason, change)

    def _apply_edit(
        self,
        tx: Transaction,
        order: Order,
        changes: Sequence[EditOp],
        requested_by: str,
        approved_by: str | None,
        edit_id: str,
    ) -> Order:
        outcome = apply_edit(order, changes)
        if order.stock_reserved:
            self._release(tx, order, outcome.release)
            self._reserve(tx, order, outcome.reserve)
        tx.record(
            order_stream(order.id),
            EditApplied(edit_id, requested_by, approved_by, outcome.changes),
        )
        return self._pay_if_settled(tx, outcome.order)

    def _pending(self, order: Order, edit_id: str) -> EditRequest:
        for edit in order.pending_edits:
            if edit.edit_id == edit_id:
                return edit
        raise EditNotFound(order.id, edit_id)

    def approve_edit(self, order_id: str, edit_id: str, *, actor: str, reason: str = "") -> Order:
        """Approve and apply a pending edit, re-checked against the order as it is now.

        Raises:
            EditNotFound: no such pending edit.
            SelfApproval: the approver asked for the edit, whatever the case of their name
                (unless the policy allows it).
            EditNotAllowed, ValidationError, OutOfStock: the edit no longer fits the order.
        """

        def change(tx: Transaction, order: Order) -> Order:
            edit = self._pending(order, edit_id)
            self.edit_policy.check_approver(edit, tx.actor)
            self.edit_policy.check_allowed(order, edit.changes)
            remaining = tuple(e for e in order.pending_edits if e.edit_id != edit_id)
            base = evolve(order, pending_edits=remaining)
            return self._apply_edit(tx, base, edit.changes, edit.requested_by, tx.actor, edit_id)

        return self._mutate(order_id, actor, reason, change)

    def reject_edit(self, order_id: str, edit_id: str, *, actor: str, reason: str) -> Order:
        """Drop a pending edit, recording who rejected it and why."""

        def change(tx: Transaction, order: Order) -> Order:
            edit = self._pending(order, edit_id)
            tx.record(order_stream(order.id), EditRejected(edit_id, edit.requested_by, tx.actor))
            remaining = tuple(e for e in order.pending_edits if e.edit_id != edit_id)
            return evolve(order, pending_edits=remaining)

        return self._mutate(order_id, actor, reason, change)

    def record_receipt_open(
        self, entry_id: str, *, at: datetime | None = None, actor: str = "recipient"
    ) -> None:
        """Record that the message of outbox entry ``entry_id`` was opened (its tracking
        image was fetched). Every open is recorded; reports count each message once.

        Raises:
            OutboxEntryNotFound: there is no such entry.
            ValidationError: ``at`` is not a timezone-aware datetime.
        """
        self._record_engagement(entry_id, ReceiptOpened(entry_id), at, actor)

    def record_receipt_click(
        self, entry_id: str, url: str, *, at: datetime | None = None, actor: str = "recipient"
    ) -> None:
        """Record that a tracked link to ``url`` in the message of ``entry_id`` was followed.

        Raises:
            OutboxEntryNotFound: there is no such entry.
            ValidationError: ``url`` is empty, or ``at`` is not a timezone-aware datetime.
        """
        if not isinstance(url, str) or not url.strip():
            raise ValidationError("url", "give the link that was followed")
        self._record_engagement(entry_id, ReceiptClicked(entry_id, url), at, actor)

    def _record_engagement(
        self, entry_id: str, payload: object, at: datetime | None, actor: str
    ) -> None:
        when = None if at is None else require_utc("at", at)

        def body(tx: Transaction) -> None:
            entry = entry_by_id(tx.uow.outbox.find, entry_id)
            if entry is None:
                raise OutboxEntryNotFound(entry_id)
            tx.events.append(
                NewEvent(entry_stream(entry), when or tx.now, tx.actor, tx.reason, payload)
            )
            self._commit(tx, None)

        self._run(actor, "", body)

    def add_tag(self, order_id: str, tag: str, *, actor: str, reason: str = "") -> Order:
        """Tag an order (``urgent``, ``vip``, …). Adding a tag it has changes nothing.

        Tags are kept normalized: ``VIP`` and `` vip `` are the tag ``vip``."""
        tag = check_tag("tag", tag)

        def change(tx: Transaction, order: Order) -> Order:
            return self._apply(tx, set_tag(order, tag, present=True))

        return self._mutate(order_id, actor, reason, change)

    def remove_tag(self, order_id: str, tag: str, *, actor: str, reason: str = "") -> Order:
        """Remove a tag (compared normalized); removing one the order does not have changes
        nothing."""
        tag = check_tag("tag", tag)

        def change(tx: Transaction, order: Order) -> Order:
            return self._apply(tx, set_tag(order, tag, present=False))

        return self._mutate(order_id, actor, reason, change)

    def add_note(self, order_id: str, text: str, *, actor: str) -> Order:
        """Append a note to the order's history."""
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("text", "a note needs some text")

        def change(tx: Transaction, order: Order) -> Order:
            tx.record(order_stream(order.id), NoteAdded(text))
            return evolve(order, notes=(*order.notes, Note(tx.now, tx.actor, text)))

        return self._mutate(order_id, actor, "", change)
