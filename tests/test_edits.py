"""Editing placed orders: adding and removing lines, and the edits that are refused.

Quantity, price and address edits, approval and rejection are in the storage contract
(``orderkit.testing``) and run on every adapter; these tests cover the rest of
:func:`orderkit.domain.edits.apply_edit` through the service, on the in-memory adapter.
"""

from __future__ import annotations

from typing import Any

import pytest

from orderkit import (
    AddLine,
    Address,
    Adjustment,
    ChangePrice,
    ChangeQuantity,
    Customer,
    EditPolicy,
    IdempotencyConflict,
    LineDraft,
    Money,
    Order,
    OrderDraft,
    OrderService,
    Overpayment,
    RemoveLine,
    SelfApproval,
    ValidationError,
)
from orderkit.domain.events import EditApplied, FieldChange
from orderkit.domain.inventory import StockMovement

HOME = Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN")


def usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.fixture
def service(memory_service: OrderService) -> OrderService:
    service = memory_service
    for sku, quantity in {"CAP": 20, "MUG": 10, "TEE": 5}.items():
        service.receive_stock(sku, quantity, actor="warehouse")
    return service


def place(service: OrderService, *lines: tuple[str, int], **options: Any) -> Order:
    draft = OrderDraft(
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=HOME,
        lines=[LineDraft(sku, sku.title(), qty, usd("10.00")) for sku, qty in lines],
        **options,
    )
    return service.place(draft, actor="web")


def edit(service: OrderService, order: Order, *changes: Any) -> Order:
    """Request an edit as the clerk and have the manager approve it."""
    requested = service.request_edit(order.id, changes, actor="clerk", reason="customer call")
    edit_id = requested.pending_edits[-1].edit_id
    return service.approve_edit(order.id, edit_id, actor="manager")


def available(service: OrderService, sku: str) -> int:
    return service.stock(sku).available


def held(service: OrderService, order_id: str) -> tuple[StockMovement, ...]:
    """The stock the order holds, as storage records it."""
    with service.storage.reader() as uow:
        return tuple(m for _, m in uow.stock.reservations(order_id))


def test_an_added_line_joins_the_order_with_the_next_line_id(service: OrderService) -> None:
    order = place(service, ("CAP", 1), ("MUG", 1))

    edited = edit(service, order, AddLine(LineDraft("TEE", "Tee", 2, usd("19.99"))))

    assert [("L1", "CAP", 1), ("L2", "MUG", 1), ("L3", "TEE", 2)] == [
        (line.line_id, line.sku, line.quantity) for line in edited.lines
    ]


def test_an_added_line_reserves_its_stock(service: OrderService) -> None:
    order = place(service, ("CAP", 1))

    edit(service, order, AddLine(LineDraft("TEE", "Tee", 2, usd("19.99"))))

    assert (3, (StockMovement("CAP", "default", 1), StockMovement("TEE", "default", 2))) == (
        available(service, "TEE"),
        held(service, order.id),
    )


def test_a_line_added_and_resized_in_one_edit_reserves_only_its_final_quantity(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1))

    edit(service, order, AddLine(LineDraft("TEE", "Tee", 2, usd("19.99"))), ChangeQuantity("L2", 1))

    assert (4, (StockMovement("CAP", "default", 1), StockMovement("TEE", "default", 1))) == (
        available(service, "TEE"),
        held(service, order.id),
    )


def test_an_added_line_is_recorded_as_a_new_line_in_the_history(service: OrderService) -> None:
    order = place(service, ("CAP", 1))

    edit(service, order, AddLine(LineDraft("TEE", "Tee", 2, usd("19.99"))))

    applied = [e.payload for e in service.history(order.id) if isinstance(e.payload, EditApplied)]
    assert [(FieldChange("lines[L2]", "", "2 x TEE @ 19.99 USD"),)] == [a.changes for a in applied]


def test_a_removed_line_leaves_the_order_and_releases_its_stock(service: OrderService) -> None:
    order = place(service, ("CAP", 2), ("MUG", 3))

    edited = edit(service, order, RemoveLine("L2"))

    assert (["L1"], 10, (StockMovement("CAP", "default", 2),)) == (
        [line.line_id for line in edited.lines],
        available(service, "MUG"),
        held(service, order.id),
    )


def test_a_line_added_after_a_removal_never_takes_the_removed_lines_id(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1), ("MUG", 1))
    edit(service, order, RemoveLine("L2"))

    edited = edit(service, order, AddLine(LineDraft("TEE", "Tee", 1, usd("19.99"))))

    assert ["L1", "L3"] == [line.line_id for line in edited.lines]


def test_removing_a_line_drops_the_discount_given_on_that_line(service: OrderService) -> None:
    coupon = Adjustment("coupon", "Mug deal", amount=usd("2.00"), line_id="L2")
    order = place(service, ("CAP", 1), ("MUG", 1), adjustments=[coupon])

    edited = edit(service, order, RemoveLine("L2"))

    applied = [e.payload for e in service.history(order.id) if isinstance(e.payload, EditApplied)]
    assert ((), usd("10.00"), FieldChange("adjustments[Mug deal]", "2.00 USD", "")) == (
        edited.adjustments,
        edited.total,
        applied[-1].changes[-1],
    )


def test_removing_the_only_line_is_refused_naming_the_change(service: OrderService) -> None:
    order = place(service, ("CAP", 1))

    with pytest.raises(ValidationError, match="cancel the order instead") as raised:
        service.request_edit(order.id, [RemoveLine("L1")], actor="clerk", reason="oops")

    assert "changes[0].line_id" == raised.value.field


def test_editing_a_line_the_order_does_not_have_is_refused_naming_the_change(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1))

    with pytest.raises(ValidationError) as raised:
        service.request_edit(
            order.id,
            [ChangeQuantity("L1", 2), ChangePrice("L9", usd("1.00"))],
            actor="clerk",
            reason="price match",
        )

    assert "changes[1].line_id" == raised.value.field


def test_a_quantity_below_one_is_refused_pointing_to_remove_line(service: OrderService) -> None:
    order = place(service, ("CAP", 2), ("MUG", 1))

    with pytest.raises(ValidationError, match="RemoveLine") as raised:
        service.request_edit(order.id, [ChangeQuantity("L1", 0)], actor="clerk", reason="none")

    assert "changes[0].quantity" == raised.value.field


def test_an_edit_without_changes_is_refused(service: OrderService) -> None:
    order = place(service, ("CAP", 1))

    with pytest.raises(ValidationError) as raised:
        service.request_edit(order.id, [], actor="clerk", reason="nothing")

    assert "changes" == raised.value.field


def test_something_that_is_not_an_edit_operation_is_refused(service: OrderService) -> None:
    order = place(service, ("CAP", 1))

    with pytest.raises(ValidationError, match="not an edit operation") as raised:
        service.request_edit(order.id, [("L1", 2)], actor="clerk", reason="tuple")  # type: ignore[list-item]

    assert "changes" == raised.value.field


def test_an_edit_that_would_total_less_than_is_paid_is_refused_and_changes_nothing(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1), ("MUG", 1))
    order = service.pay(order.id, usd("15.00"), reference="psp-deposit")

    with pytest.raises(Overpayment, match="refund the difference first"):
        service.request_edit(order.id, [RemoveLine("L2")], actor="clerk", reason="no mugs")

    assert (order, 9) == (service.get(order.id), available(service, "MUG"))


def test_an_edit_lowering_the_total_to_what_is_paid_moves_the_order_on_to_shipping(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 2))
    service.pay(order.id, usd("10.00"), reference="psp-1")

    edited = edit(service, order, ChangeQuantity("L1", 1))

    assert ("awaiting_shipment", "shipped") == (
        edited.status,
        service.ship(order.id, carrier="sf", tracking_number="SF1").status,
    )


def test_a_host_policy_cannot_reduce_a_line_below_what_has_shipped(
    service: OrderService,
) -> None:
    service.edit_policy = EditPolicy(
        editable_statuses=frozenset({"partially_shipped"}),
        amount_editable_statuses=frozenset({"partially_shipped"}),
    )
    order = place(service, ("CAP", 3), ("MUG", 1))
    order = service.pay(order.id, order.total, reference="psp-1")
    order = service.ship(order.id, carrier="sf", tracking_number="SF1", lines={"L1": 2})

    with pytest.raises(ValidationError, match="2 already shipped") as raised:
        service.request_edit(order.id, [ChangeQuantity("L1", 1)], actor="clerk", reason="short")

    assert "changes[0].quantity" == raised.value.field


# -- double submits and approvers ---------------------------------------------------------------


def test_an_edit_requested_twice_with_one_key_is_queued_once(service: OrderService) -> None:
    order = place(service, ("CAP", 1))
    add_tee = [AddLine(LineDraft("TEE", "Tee", 1, usd("19.99")))]
    for _ in range(2):
        service.request_edit(
            order.id, add_tee, actor="clerk", reason="customer call", idempotency_key="form-7"
        )

    assert [tuple(add_tee)] == [e.changes for e in service.get(order.id).pending_edits]


def test_reusing_an_edit_key_for_other_changes_raises_idempotency_conflict(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1))
    service.request_edit(
        order.id, [ChangeQuantity("L1", 2)], actor="clerk", reason="call", idempotency_key="k"
    )

    with pytest.raises(IdempotencyConflict):
        service.request_edit(
            order.id, [ChangeQuantity("L1", 3)], actor="clerk", reason="call", idempotency_key="k"
        )


def test_the_requester_cannot_approve_their_own_edit_under_another_spelling(
    service: OrderService,
) -> None:
    order = place(service, ("CAP", 1))
    requested = service.request_edit(
        order.id, [ChangeQuantity("L1", 2)], actor="mei@shop", reason="customer call"
    )

    with pytest.raises(SelfApproval, match="MEI@shop requested edit"):
        service.approve_edit(order.id, requested.pending_edits[0].edit_id, actor=" MEI@shop")

    assert 1 == len(service.get(order.id).pending_edits)
