"""Order edits, tags and notes, over any storage."""

from __future__ import annotations

import pytest

from orderkit.domain.events import (
    EditApplied,
    EditRejected,
    EditRequested,
    FieldChange,
    TagAdded,
)
from orderkit.domain.order import (
    Address,
    ChangeAddress,
    ChangePrice,
    Order,
)
from orderkit.errors import (
    EditNotAllowed,
    EditNotFound,
    OutOfStock,
    SelfApproval,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    held,
    level,
    payloads,
    reservations,
    snapshot,
    usd,
)
from orderkit.testing.service.base import ServiceFixtures

__all__ = ["EditingBehaviour"]


class EditingBehaviour(ServiceFixtures):
    """Order edits, tags and notes, over any storage."""

    # -- edits ---------------------------------------------------------------------------------

    def _request_price_change(self, service: OrderService) -> Order:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        return service.request_edit(
            order.id, [ChangePrice("L1", usd("11.00"))], actor="alice", reason="price match"
        )

    def test_a_price_change_waits_for_approval(self, service: OrderService) -> None:
        order = self._request_price_change(service)
        stored = service.get(order.id)
        assert ([("alice", (ChangePrice("L1", usd("11.00")),))], usd("12.50")) == (
            [(e.requested_by, e.changes) for e in stored.pending_edits],
            stored.lines[0].unit_price,
        )

    def test_a_requested_edit_is_recorded_in_the_history(self, service: OrderService) -> None:
        order = self._request_price_change(service)
        assert [EditRequested(order.pending_edits[0])] == payloads(
            service.history(order.id), EditRequested
        )

    def test_the_requester_cannot_approve_their_own_edit(
        self, service: OrderService, storage: Storage
    ) -> None:
        order = self._request_price_change(service)
        before = snapshot(storage)
        with pytest.raises(SelfApproval):
            service.approve_edit(order.id, order.pending_edits[0].edit_id, actor="alice")
        assert before == snapshot(storage)

    def test_an_approved_price_change_is_applied(self, service: OrderService) -> None:
        order = self._request_price_change(service)
        service.approve_edit(order.id, order.pending_edits[0].edit_id, actor="bob")
        stored = service.get(order.id)
        assert (usd("11.00"), usd("22.00"), ()) == (
            stored.lines[0].unit_price,
            stored.total,
            stored.pending_edits,
        )

    def test_an_applied_edit_records_who_asked_who_approved_and_the_old_and_new_values(
        self, service: OrderService
    ) -> None:
        order = self._request_price_change(service)
        edit_id = order.pending_edits[0].edit_id
        service.approve_edit(order.id, edit_id, actor="bob")
        change = FieldChange("lines[L1].unit_price", str(usd("12.50")), str(usd("11.00")))
        assert [EditApplied(edit_id, "alice", "bob", (change,))] == payloads(
            service.history(order.id), EditApplied
        )

    def test_an_approved_quantity_increase_reserves_more_stock(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.approve_edit(order.id, self._request_quantity(service, order, 5), actor="bob")
        assert (level("MUG", 10, 5), held(("MUG", 5))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_an_approved_quantity_decrease_releases_stock(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 4))
        service.approve_edit(order.id, self._request_quantity(service, order, 1), actor="bob")
        assert (level("MUG", 10, 1), held(("MUG", 1))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_an_approval_that_needs_more_stock_than_is_left_is_refused_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 3})
        order = self.place(service, ("MUG", 2))
        edit_id = self._request_quantity(service, order, 5)
        before = snapshot(storage)
        with pytest.raises(OutOfStock):
            service.approve_edit(order.id, edit_id, actor="bob")
        assert before == snapshot(storage)

    def test_an_address_change_applies_at_once(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        moved = Address("Lin Wei", "9 Nanshan Road", "Hangzhou", "CN")
        service.request_edit(order.id, [ChangeAddress(moved)], actor="alice", reason="moved")
        stored = service.get(order.id)
        applied = payloads(service.history(order.id), EditApplied)
        assert (moved, (), ["alice"], [None]) == (
            stored.shipping_address,
            stored.pending_edits,
            [p.requested_by for p in applied if isinstance(p, EditApplied)],
            [p.approved_by for p in applied if isinstance(p, EditApplied)],
        )

    def test_rejecting_an_edit_drops_it_and_records_edit_rejected(
        self, service: OrderService
    ) -> None:
        order = self._request_price_change(service)
        edit_id = order.pending_edits[0].edit_id
        service.reject_edit(order.id, edit_id, actor="bob", reason="no price match on sale items")
        stored = service.get(order.id)
        assert ((), usd("12.50"), [EditRejected(edit_id, "alice", "bob")]) == (
            stored.pending_edits,
            stored.lines[0].unit_price,
            payloads(service.history(order.id), EditRejected),
        )

    def test_editing_a_shipped_order_raises_edit_not_allowed_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 1))
        service.ship(order.id)
        moved = Address("Lin Wei", "9 Nanshan Road", "Hangzhou", "CN")
        before = snapshot(storage)
        with pytest.raises(EditNotAllowed):
            service.request_edit(order.id, [ChangeAddress(moved)], actor="alice", reason="moved")
        assert before == snapshot(storage)

    def test_approving_an_unknown_edit_raises_edit_not_found_which_is_a_lookup_error(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        with pytest.raises(LookupError) as refused:
            service.approve_edit(order.id, "no-such-edit", actor="bob")
        assert EditNotFound is type(refused.value)

    # -- tags and notes ------------------------------------------------------------------------

    def test_adding_a_tag_twice_keeps_one_tag_and_records_it_once(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        service.add_tag(order.id, "vip", actor="cs")
        service.add_tag(order.id, "vip", actor="cs")
        assert (("vip",), [TagAdded("vip")]) == (
            service.get(order.id).tags,
            payloads(service.history(order.id), TagAdded),
        )

    def test_a_tagged_order_is_found_by_its_tag(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        self.place(service, ("MUG", 1), tags=["gift"])
        service.add_tag(order.id, "vip", actor="cs")
        assert [order.id] == [o.id for o in service.find(tag="vip").items]

    def test_an_order_is_no_longer_found_by_a_removed_tag(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1), tags=["vip", "gift"])
        service.remove_tag(order.id, "vip", actor="cs")
        assert ([], [order.id]) == (
            [o.id for o in service.find(tag="vip").items],
            [o.id for o in service.find(tag="gift").items],
        )

    def test_tags_differing_only_in_case_and_spacing_are_one_tag(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1), tags=["VIP"])
        service.add_tag(order.id, " Vip ", actor="cs")
        assert (("vip",), [order.id]) == (
            service.get(order.id).tags,
            [o.id for o in service.find(tag="VIP").items],
        )

    def test_removing_a_tag_matches_it_whatever_its_case(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1), tags=["vip", "gift"])
        service.remove_tag(order.id, "VIP", actor="cs")
        assert ("gift",) == service.get(order.id).tags

    def test_notes_are_appended_in_order(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1), note="leave at the door")
        service.add_note(order.id, "customer called about the colour", actor="cs")
        service.add_note(order.id, "sent the blue one", actor="warehouse")
        assert [
            ("web", "leave at the door"),
            ("cs", "customer called about the colour"),
            ("warehouse", "sent the blue one"),
        ] == [(n.actor, n.text) for n in service.get(order.id).notes]
