"""Editing a placed order: the policy that decides what needs approval, and applying edits.

An edit is a list of operations (:class:`ChangeQuantity`, :class:`ChangePrice`,
:class:`ChangeAddress`, :class:`AddLine`, :class:`RemoveLine`). :func:`apply_edit` is pure:
it returns the edited order, the field-by-field changes for the event log, and the stock to
reserve or release; the service writes them in one unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from orderkit.domain.drafts import validate_address, validate_line
from orderkit.domain.events import FieldChange
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import StockMovement
from orderkit.domain.order import (
    AddLine,
    Address,
    ChangeAddress,
    ChangePrice,
    ChangeQuantity,
    EditOp,
    EditRequest,
    LineItem,
    Order,
    RemoveLine,
)
from orderkit.errors import EditNotAllowed, Overpayment, SelfApproval, ValidationError

__all__ = ["EditOutcome", "EditPolicy", "apply_edit", "op_kind"]

_KINDS: dict[type, str] = {
    ChangeQuantity: "quantity",
    ChangePrice: "price",
    ChangeAddress: "address",
    AddLine: "add_line",
    RemoveLine: "remove_line",
}
# Operations that change what the customer owes.
_AMOUNT_KINDS = frozenset({"quantity", "price", "add_line", "remove_line"})


def op_kind(op: EditOp) -> str:
    """``"quantity"``, ``"price"``, ``"address"``, ``"add_line"`` or ``"remove_line"``."""
    try:
        return _KINDS[type(op)]
    except KeyError:
        raise ValidationError("changes", f"{op!r} is not an edit operation") from None


@attrs.frozen
class EditPolicy:
    """Which edits need a second person's approval, and in which statuses edits are allowed.

    By default price and quantity changes (and adding or removing lines) need an approver
    who is not the requester; an address change applies at once. Amounts can only change
    before payment; the address until shipment.
    """

    needs_approval: frozenset[str] = frozenset({"quantity", "price", "add_line", "remove_line"})
    editable_statuses: frozenset[str] = frozenset({"pending_payment", "awaiting_shipment"})
    amount_editable_statuses: frozenset[str] = frozenset({"pending_payment"})
    allow_self_approval: bool = False

    def requires_approval(self, changes: Sequence[EditOp]) -> bool:
        return any(op_kind(op) in self.needs_approval for op in changes)

    def check_approver(self, edit: EditRequest, approver: str) -> None:
        """Raise :class:`SelfApproval` when ``approver`` asked for ``edit`` (unless the policy
        allows it). Names are compared without case and surrounding spaces, so
        ``MEI@shop`` is the same person as ``mei@shop``."""
        if self.allow_self_approval:
            return
        if _person(edit.requested_by) == _person(approver):
            raise SelfApproval(
                f"{approver} requested edit {edit.edit_id} (as {edit.requested_by}); another "
                "person must approve it"
            )

    def check_allowed(self, order: Order, changes: Sequence[EditOp]) -> None:
        """Raise :class:`EditNotAllowed` when the order's status forbids these changes."""
        if order.status not in self.editable_statuses:
            raise EditNotAllowed(
                f"order {order.number} is {order.status!r}; edits are allowed only in "
                f"{', '.join(sorted(self.editable_statuses))}"
            )
        amount_ops = [op_kind(op) for op in changes if op_kind(op) in _AMOUNT_KINDS]
        if amount_ops and order.status not in self.amount_editable_statuses:
            raise EditNotAllowed(
                f"order {order.number} is {order.status!r}; {', '.join(amount_ops)} changes "
                f"are allowed only in {', '.join(sorted(self.amount_editable_statuses))}"
            )


def _person(actor: str) -> str:
    return actor.strip().casefold()


@attrs.frozen
class EditOutcome:
    """An applied edit: the edited order, its field changes, and the net stock to reserve and
    release per (sku, location)."""

    order: Order
    changes: tuple[FieldChange, ...]
    reserve: tuple[StockMovement, ...]
    release: tuple[StockMovement, ...]


def _address_text(address: Address) -> str:
    parts = [address.name, address.line1, address.line2, address.postal_code, address.city]
    parts += [address.region, address.country]
    return ", ".join(p for p in parts if p)


def apply_edit(order: Order, changes: Sequence[EditOp]) -> EditOutcome:
    """Apply ``changes`` to ``order`` in sequence.

    Raises:
        ValidationError: naming the change (``changes[1].quantity``) that is malformed or
            refers to a line the order does not have.
        Overpayment: when the edited total would fall below what is already paid.
    """
    if not changes:
        raise ValidationError("changes", "an edit needs at least one change")
    lines = list(order.lines)
    adjustments = list(order.adjustments)
    address = order.shipping_address
    field_changes: list[FieldChange] = []
    reserve: list[StockMovement] = []
    release: list[StockMovement] = []
    # Never reuse the number of a removed line: the event log names lines by id.
    next_index = max(order.lines_issued, *(int(line.line_id[1:]) for line in order.lines)) + 1

    def find(field: str, line_id: str) -> int:
        for i, line in enumerate(lines):
            if line.line_id == line_id:
                return i
        raise ValidationError(field, f"order {order.number} has no line {line_id!r}")

    for n, op in enumerate(changes):
        field = f"changes[{n}]"
        op_kind(op)  # refuses anything that is not an edit operation
        if isinstance(op, ChangeQuantity):
            i = find(f"{field}.line_id", op.line_id)
            line = lines[i]
            shipped = order.quantity_shipped(line.line_id)
            if isinstance(op.quantity, bool) or not isinstance(op.quantity, int) or op.quantity < 1:
                raise ValidationError(
                    f"{field}.quantity",
                    "must be a whole number of at least 1 (use RemoveLine to drop a line)",
                )
            if op.quantity < shipped:
                raise ValidationError(f"{field}.quantity", f"{shipped} already shipped")
            delta = op.quantity - line.quantity
            movement = StockMovement(line.sku, line.location, abs(delta))
            if delta > 0:
                reserve.append(movement)
            elif delta < 0:
                release.append(movement)
            lines[i] = evolve(line, quantity=op.quantity)
            field_changes.append(
                FieldChange(f"lines[{line.line_id}].quantity", str(line.quantity), str(op.quantity))
            )
        elif isinstance(op, ChangePrice):
            i = find(f"{field}.line_id", op.line_id)
            line = lines[i]
            candidate = evolve(line, unit_price=op.unit_price)
            validate_line(field, candidate, order.currency)
            lines[i] = candidate
            field_changes.append(
                FieldChange(
                    f"lines[{line.line_id}].unit_price", str(line.unit_price), str(op.unit_price)
                )
            )
        elif isinstance(op, ChangeAddress):
            validate_address(f"{field}.address", op.address)
            field_changes.append(
                FieldChange("shipping_address", _address_text(address), _address_text(op.address))
            )
            address = op.address
        elif isinstance(op, AddLine):
            validate_line(f"{field}.line", op.line, order.currency)
            line = LineItem.from_draft(f"L{next_index}", op.line)
            next_index += 1
            lines.append(line)
            reserve.append(StockMovement(line.sku, line.location, line.quantity))
            field_changes.append(
                FieldChange(
                    f"lines[{line.line_id}]",
                    "",
                    f"{line.quantity} x {line.sku} @ {line.unit_price}",
                )
            )
        else:
            assert isinstance(op, RemoveLine)
            i = find(f"{field}.line_id", op.line_id)
            line = lines[i]
            if order.quantity_shipped(line.line_id):
                raise ValidationError(f"{field}.line_id", f"line {line.line_id} has shipped units")
            if len(lines) == 1:
                raise ValidationError(
                    f"{field}.line_id", "cannot remove the last line; cancel the order instead"
                )
            del lines[i]
            release.append(StockMovement(line.sku, line.location, line.quantity))
            dropped = [a for a in adjustments if a.line_id == line.line_id]
            adjustments = [a for a in adjustments if a.line_id != line.line_id]
            field_changes.append(
                FieldChange(
                    f"lines[{line.line_id}]",
                    f"{line.quantity} x {line.sku} @ {line.unit_price}",
                    "",
                )
            )
            field_changes.extend(
                FieldChange(f"adjustments[{a.label}]", str(a.amount or f"{a.percent}%"), "")
                for a in dropped
            )

    edited = evolve(
        order,
        lines=tuple(lines),
        adjustments=tuple(adjustments),
        shipping_address=address,
        lines_issued=next_index - 1,
    )
    if edited.total < order.amount_paid:
        raise Overpayment(
            f"the edit would make order {order.number} total {edited.total}, below the "
            f"{order.amount_paid} already paid; refund the difference first"
        )
    reserve_net, release_net = _net(reserve, release)
    return EditOutcome(edited, tuple(field_changes), reserve_net, release_net)


def _net(
    reserve: Sequence[StockMovement], release: Sequence[StockMovement]
) -> tuple[tuple[StockMovement, ...], tuple[StockMovement, ...]]:
    """The net stock change per (sku, location) of an edit's operations, as what to reserve
    and what to release: a line added and then shrunk in one edit reserves its final
    quantity, rather than releasing units it never held."""
    delta: dict[tuple[str, str], int] = {}
    for m in reserve:
        delta[m.sku, m.location] = delta.get((m.sku, m.location), 0) + m.quantity
    for m in release:
        delta[m.sku, m.location] = delta.get((m.sku, m.location), 0) - m.quantity
    return (
        tuple(StockMovement(sku, loc, n) for (sku, loc), n in delta.items() if n > 0),
        tuple(StockMovement(sku, loc, -n) for (sku, loc), n in delta.items() if n < 0),
    )
