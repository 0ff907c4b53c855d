"""The domain's rules, tested without storage: each returns a Decision and touches nothing.

A decision is the order after the rule and the steps that got it there (events for the
order's stream, stock to reserve, release or commit), in the order the service carries them
out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderkit import (
    Address,
    Customer,
    InvalidTransition,
    LineDraft,
    Money,
    Overpayment,
    PaymentReferenceConflict,
    RefundExceedsPayment,
    ReturnNotAllowed,
    ValidationError,
)
from orderkit.domain.address import ADDRESS_REVIEW_TAG, Suspicion
from orderkit.domain.aftersales import Return, ReturnLine, ReturnPolicy, return_machine
from orderkit.domain.decision import Commit, Decision, Release, Reserve
from orderkit.domain.drafts import OrderDraft
from orderkit.domain.events import (
    AddressFlagged,
    OrderDelivered,
    OrderShipped,
    PaymentCaptured,
    RefundIssued,
    ShipmentDelivered,
    ShipmentException,
    StatusChanged,
    TagAdded,
    TagRemoved,
    TrackingUpdated,
)
from orderkit.domain.evolve import evolve
from orderkit.domain.financials import OrderFinancials, order_financials
from orderkit.domain.inventory import ReservationPolicy, StockMovement
from orderkit.domain.lifecycle import default_order_machine
from orderkit.domain.order import (
    Adjustment,
    AdjustmentKind,
    LineItem,
    Order,
    Payment,
    Refund,
    ShipmentLine,
)
from orderkit.domain.payments import capture_payment, close, record_refund, settle_if_paid
from orderkit.domain.placement import flag_address, new_order, placed, reserve_at_placement
from orderkit.domain.returns import (
    check_return_request,
    record_return_refund,
    refund_lines,
    refundable_shares,
    settle_after_refund,
)
from orderkit.domain.shipments import (
    EXCEPTION_TAG,
    add_shipment,
    deliver_by_hand,
    new_shipment,
    track,
)
from orderkit.domain.shipping import ShipmentLabel, TrackingEvent, TrackingStatus
from orderkit.domain.status import Transition
from orderkit.domain.tags import tag

MACHINE = default_order_machine()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def an_order(**changes: object) -> Order:
    """A pending order of two mugs at 5.00 EUR (10.00 EUR), stock reserved at placement."""
    order = Order(
        id="O1",
        number="SO-2026-000001",
        customer=Customer("c1", "Lin Wei", "lin@example.cn"),
        shipping_address=Address("Lin Wei", "90 Wensan Rd", "Hangzhou", "CN"),
        lines=(LineItem("L1", "MUG", "Mug", 2, eur("5.00")),),
        currency="EUR",
        status="pending_payment",
        created_at=NOW,
        updated_at=NOW,
        stock_reserved=True,
    )
    return attrs.evolve(order, **changes)


def paid(**changes: object) -> Order:
    payment = Payment("P1", eur("10.00"), "psp-1", "card", NOW)
    return an_order(status="awaiting_shipment", payments=(payment,), **changes)


def shipped() -> Order:
    shipment = new_shipment("S1", [ShipmentLine("L1", 2)], ShipmentLabel("ups", "", "1Z1"), NOW)
    return add_shipment(paid(), shipment, MACHINE).order


def event(status: str, at: datetime, event_id: str = "e1") -> TrackingEvent:
    return TrackingEvent(event_id, "ups", "1Z1", status, at)


# -- payments ---------------------------------------------------------------------------------


def test_a_partial_payment_is_recorded_and_leaves_the_status() -> None:
    payment = Payment("P1", eur("3.00"), "psp-1", "card", NOW)

    decided = capture_payment(an_order(), payment, MACHINE)

    assert "pending_payment" == decided.order.status
    assert (PaymentCaptured(payment, eur("7.00")),) == decided.steps


def test_paying_in_full_moves_the_order_along_pay() -> None:
    payment = Payment("P1", eur("10.00"), "psp-1", "card", NOW)

    decided = capture_payment(an_order(), payment, MACHINE)

    assert "awaiting_shipment" == decided.order.status
    assert (
        PaymentCaptured(payment, eur("0.00")),
        StatusChanged("pending_payment", "awaiting_shipment", "pay"),
    ) == decided.steps


def test_paying_in_full_reserves_first_when_nothing_is_reserved() -> None:
    payment = Payment("P1", eur("10.00"), "psp-1", "card", NOW)

    decided = capture_payment(an_order(stock_reserved=False), payment, MACHINE)

    assert Reserve((StockMovement("MUG", "default", 2),)) == decided.steps[1]
    assert decided.order.stock_reserved


def test_paying_more_than_is_due_is_refused() -> None:
    with pytest.raises(Overpayment):
        capture_payment(an_order(), Payment("P1", eur("10.01"), "r", "", NOW), MACHINE)


def test_paying_a_paid_order_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        capture_payment(paid(), Payment("P2", eur("1.00"), "r", "", NOW), MACHINE)


def test_a_payment_noticed_again_with_its_reference_and_amount_changes_nothing() -> None:
    once = capture_payment(an_order(), Payment("P1", eur("3.00"), "psp-42", "card", NOW), MACHINE)

    again = capture_payment(once.order, Payment("P2", eur("3.00"), "psp-42", "card", NOW), MACHINE)

    assert Decision(once.order) == again
    assert eur("7.00") == again.order.balance_due


def test_a_payment_noticed_again_after_it_settled_the_order_changes_nothing() -> None:
    settled = paid()

    assert Decision(settled) == capture_payment(
        settled, Payment("P2", eur("10.00"), "psp-1", "card", NOW), MACHINE
    )


def test_a_payment_reference_recorded_for_another_amount_is_a_conflict() -> None:
    once = capture_payment(an_order(), Payment("P1", eur("3.00"), "psp-42", "card", NOW), MACHINE)

    with pytest.raises(PaymentReferenceConflict) as raised:
        capture_payment(once.order, Payment("P2", eur("4.00"), "psp-42", "card", NOW), MACHINE)

    assert ("payment_reference_conflict", "psp-42") == (raised.value.code, raised.value.reference)


def test_an_order_with_nothing_to_pay_is_settled_along_pay() -> None:
    free = an_order(lines=(LineItem("L1", "MUG", "Mug", 1, eur("0.00")),))

    assert "awaiting_shipment" == settle_if_paid(free, MACHINE).order.status


def test_an_order_with_money_due_is_not_settled() -> None:
    assert Decision(an_order()) == settle_if_paid(an_order(), MACHINE)


# -- refunds ----------------------------------------------------------------------------------


def test_a_partial_refund_of_a_paid_order_keeps_its_status_and_stock() -> None:
    refund = Refund("R1", eur("4.00"), "psp-r1", "damaged", NOW)

    decided = record_refund(paid(), refund, MACHINE)

    assert "awaiting_shipment" == decided.order.status
    assert (RefundIssued(refund, eur("4.00")),) == decided.steps


def test_refunding_everything_closes_the_order_and_releases_its_stock() -> None:
    refund = Refund("R1", eur("10.00"), "psp-r1", "cancelled", NOW)

    decided = record_refund(paid(), refund, MACHINE)

    assert "closed" == decided.order.status
    assert not decided.order.stock_reserved
    assert Release() == decided.steps[-1]


def test_refunding_more_than_was_paid_is_refused() -> None:
    with pytest.raises(RefundExceedsPayment):
        record_refund(paid(), Refund("R1", eur("10.01"), "r", "x", NOW), MACHINE)


def test_a_refund_noticed_again_with_its_reference_and_amount_changes_nothing() -> None:
    once = record_refund(paid(), Refund("R1", eur("4.00"), "psp-r1", "damaged", NOW), MACHINE)

    again = record_refund(once.order, Refund("R2", eur("4.00"), "psp-r1", "damaged", NOW), MACHINE)

    assert Decision(once.order) == again
    assert eur("6.00") == again.order.net_paid


def test_a_refund_reference_recorded_for_another_amount_is_a_conflict() -> None:
    once = record_refund(paid(), Refund("R1", eur("4.00"), "psp-r1", "damaged", NOW), MACHINE)

    with pytest.raises(PaymentReferenceConflict):
        record_refund(once.order, Refund("R2", eur("5.00"), "psp-r1", "damaged", NOW), MACHINE)


def test_an_order_level_refund_comes_off_every_unit_by_what_it_still_holds() -> None:
    once = record_refund(paid(), Refund("R1", eur("4.00"), "psp-r1", "late", NOW), MACHINE)

    assert {"L1": (eur("3.00"), eur("3.00"))} == refundable_shares(once.order)
    assert eur("3.00") == refund_lines(once.order, {"L1": 1})[0].amount


def test_an_order_level_refund_after_a_unit_was_refunded_comes_off_the_units_left() -> None:
    one_back = Refund("R1", eur("5.00"), "psp-r1", "broken", NOW, refund_lines(paid(), {"L1": 1}))
    goodwill = Refund("R2", eur("2.00"), "psp-r2", "late", NOW)

    order = paid(refunds=(one_back, goodwill))

    assert {"L1": (eur("0.00"), eur("3.00"))} == refundable_shares(order)


def test_refunding_part_of_a_partial_payment_is_refused_naming_the_amount() -> None:
    partly = an_order(payments=(Payment("P1", eur("6.00"), "psp", "", NOW),))

    with pytest.raises(ValidationError) as raised:
        record_refund(partly, Refund("R1", eur("1.00"), "r", "x", NOW), MACHINE)

    assert "amount" == raised.value.field


# -- shipments and tracking -------------------------------------------------------------------


def test_a_shipment_of_everything_ships_the_order_and_commits_its_stock() -> None:
    label = ShipmentLabel("ups", "", "1Z1")
    shipment = new_shipment("S1", [ShipmentLine("L1", 2)], label, NOW)

    decided = add_shipment(paid(), shipment, MACHINE)

    assert "shipped" == decided.order.status
    assert (
        StatusChanged("awaiting_shipment", "shipped", "ship"),
        OrderShipped(shipment),
        Commit((StockMovement("MUG", "default", 2),)),
    ) == decided.steps


def test_a_shipment_of_part_leaves_the_order_partially_shipped() -> None:
    shipment = new_shipment("S1", [ShipmentLine("L1", 1)], ShipmentLabel("ups", "", "1Z1"), NOW)

    assert "partially_shipped" == add_shipment(paid(), shipment, MACHINE).order.status


def test_a_delivered_event_delivers_the_parcel_and_the_order() -> None:
    at = NOW + timedelta(days=2)

    decided = track(shipped(), event(TrackingStatus.DELIVERED, at), MACHINE)

    assert "delivered" == decided.order.status
    assert ShipmentDelivered("S1", at) in decided.steps
    assert OrderDelivered(("S1",)) in decided.steps


def test_the_same_tracking_event_twice_changes_nothing() -> None:
    once = track(shipped(), event(TrackingStatus.IN_TRANSIT, NOW), MACHINE).order

    assert Decision(once) == track(once, event(TrackingStatus.IN_TRANSIT, NOW), MACHINE)


def test_a_late_in_transit_never_moves_a_delivered_parcel_back() -> None:
    delivered = track(shipped(), event(TrackingStatus.DELIVERED, NOW, "e1"), MACHINE).order
    late = event(TrackingStatus.IN_TRANSIT, NOW - timedelta(hours=1), "e2")

    decided = track(delivered, late, MACHINE)

    assert TrackingStatus.DELIVERED == decided.order.shipments[0].tracking_status
    assert (TrackingUpdated("S1", late, TrackingStatus.DELIVERED, False),) == decided.steps


def test_an_exception_records_it_and_tags_the_order_until_the_parcel_moves_on() -> None:
    stuck = event(TrackingStatus.EXCEPTION, NOW, "e1")
    held = track(shipped(), stuck, MACHINE)
    moving = track(
        held.order, event(TrackingStatus.IN_TRANSIT, NOW + timedelta(hours=1), "e2"), MACHINE
    )

    assert ShipmentException("S1", "ups", "1Z1", stuck) in held.steps
    assert EXCEPTION_TAG in held.order.tags
    assert TagRemoved(EXCEPTION_TAG) in moving.steps
    assert EXCEPTION_TAG not in moving.order.tags


def test_delivering_by_hand_marks_the_parcels_and_the_order_delivered() -> None:
    decided = deliver_by_hand(shipped(), NOW, MACHINE)

    assert "delivered" == decided.order.status
    assert NOW == decided.order.shipments[0].delivered_at


_STAGE = {
    TrackingStatus.LABEL_CREATED: 0,
    TrackingStatus.IN_TRANSIT: 1,
    TrackingStatus.OUT_FOR_DELIVERY: 1,
    TrackingStatus.EXCEPTION: 1,
    TrackingStatus.DELIVERED: 2,
    TrackingStatus.RETURNED_TO_SENDER: 2,
}


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(TrackingStatus.ALL)), st.integers(0, 10_000)),
        min_size=1,
        max_size=12,
    )
)
def test_tracking_never_moves_a_parcel_back_whatever_order_events_arrive_in(
    arrivals: list[tuple[str, int]],
) -> None:
    order = shipped()
    for i, (status, minutes) in enumerate(arrivals):
        before = order.shipments[0].tracking_status
        update = event(status, NOW + timedelta(minutes=minutes), f"e{i}")
        order = track(order, update, MACHINE).order
        after = order.shipments[0].tracking_status
        if before:  # a parcel starts untracked ('')
            assert _STAGE[before] <= _STAGE[after]
            assert _STAGE[before] < 2 or before == after
        assert len(order.shipments[0].tracking) == i + 1


# -- tags and returns -------------------------------------------------------------------------


def test_tagging_twice_records_the_tag_once() -> None:
    once = tag(an_order(), "vip", present=True)

    assert (TagAdded("vip"),) == once.steps
    assert Decision(once.order) == tag(once.order, "vip", present=True)


def test_a_return_before_full_payment_is_refused() -> None:
    ret = Return("RT1", "refund", (ReturnLine("L1", 1),), "requested", NOW, "lin")

    with pytest.raises(ReturnNotAllowed):
        check_return_request(an_order(), ret, ReturnPolicy(), NOW, one_step=False)


def test_a_return_of_goods_not_yet_delivered_is_refused() -> None:
    ret = Return("RT1", "refund", (ReturnLine("L1", 1),), "requested", NOW, "lin")

    with pytest.raises(ReturnNotAllowed):
        check_return_request(shipped(), ret, ReturnPolicy(), NOW, one_step=False)


# -- placing and closing ----------------------------------------------------------------------


def a_draft(**changes: object) -> OrderDraft:
    draft = OrderDraft(
        customer=Customer("c1", "Lin Wei", "lin@example.cn"),
        shipping_address=Address("Lin Wei", "90 Wensan Rd", "Hangzhou", "CN"),
        lines=[LineDraft("MUG", "Mug", 2, eur("5.00")), LineDraft("TEA", "Tea", 1, eur("8.00"))],
        note="gift wrap, please",
    )
    return attrs.evolve(draft, **changes)


def test_a_draft_makes_an_unnumbered_order_with_lines_numbered_in_order() -> None:
    order = new_order(a_draft(), "O9", "EUR", NOW, "web", "pending_payment")

    assert ("O9", "", "pending_payment") == (order.id, order.number, order.status)
    assert [("L1", "MUG"), ("L2", "TEA")] == [(ln.line_id, ln.sku) for ln in order.lines]
    assert [("web", "gift wrap, please")] == [(n.actor, n.text) for n in order.notes]
    assert eur("18.00") == order.total


def test_reserving_at_placement_reserves_every_line() -> None:
    order = new_order(a_draft(), "O9", "EUR", NOW, "web", "pending_payment")

    decided = reserve_at_placement(order, ReservationPolicy.AT_PLACEMENT)

    wanted = (StockMovement("MUG", "default", 2), StockMovement("TEA", "default", 1))
    assert (Reserve(wanted),) == decided.steps
    assert decided.order.stock_reserved


def test_reserving_at_payment_reserves_nothing_at_placement() -> None:
    order = new_order(a_draft(), "O9", "EUR", NOW, "web", "pending_payment")

    assert Decision(order) == reserve_at_placement(order, ReservationPolicy.AT_PAYMENT)


def test_a_suspicious_address_is_recorded_and_tagged_and_held_where_the_machine_can() -> None:
    hold = MACHINE.extend(
        states=["awaiting_review"],
        transitions=[
            Transition("pending_payment", "flag", "awaiting_review"),
            Transition("awaiting_review", "approve", "pending_payment"),
        ],
    )
    suspicion = Suspicion("line1", "po_box", "a PO box")

    decided = flag_address(an_order(), (suspicion,), hold, "flag")

    assert (
        AddressFlagged("shipping_address", (suspicion,)),
        TagAdded(ADDRESS_REVIEW_TAG),
        StatusChanged("pending_payment", "awaiting_review", "flag"),
    ) == decided.steps


def test_a_suspicious_address_is_only_tagged_when_the_machine_has_no_hold() -> None:
    decided = flag_address(an_order(), (Suspicion("line1", "po_box", "x"),), MACHINE, "flag")

    assert "pending_payment" == decided.order.status
    assert ADDRESS_REVIEW_TAG in decided.order.tags


def test_the_placed_event_carries_the_numbered_orders_money_and_lines() -> None:
    event = placed(an_order())

    assert ("SO-2026-000001", eur("10.00"), 1) == (event.number, event.total, len(event.lines))


def test_cancelling_closes_the_order_and_releases_all_it_holds() -> None:
    decided = close(an_order(), "cancel", MACHINE)

    assert ("closed", False) == (decided.order.status, decided.order.stock_reserved)
    assert Release() == decided.steps[-1]


def test_an_order_holding_money_cannot_be_cancelled() -> None:
    with pytest.raises(InvalidTransition):
        close(paid(), "cancel", MACHINE)


# -- financials -------------------------------------------------------------------------------

MUGS_AT_COST = (LineItem("L1", "MUG", "Mug", 2, eur("5.00"), unit_cost=eur("2.00")),)


def costed_and_shipped(**changes: object) -> Order:
    """Two mugs at 5.00 EUR costing 2.00 EUR each, paid and shipped."""
    shipment = new_shipment("S1", [ShipmentLine("L1", 2)], ShipmentLabel("ups", "", "1Z1"), NOW)
    return add_shipment(paid(lines=MUGS_AT_COST, **changes), shipment, MACHINE).order


def test_a_paid_order_earns_its_revenue_less_the_cost_of_its_goods() -> None:
    assert OrderFinancials(
        revenue=eur("10.00"),
        discounts=eur("0.00"),
        shipping=eur("0.00"),
        tax=eur("0.00"),
        cost_of_goods=eur("4.00"),
        refunds=eur("0.00"),
        restocked_cost=eur("0.00"),
    ) == order_financials(paid(lines=MUGS_AT_COST))


def test_a_closed_order_refunded_in_full_earns_nothing_and_loses_the_goods_it_gave() -> None:
    refund = Refund("R1", eur("10.00"), "psp-r1", "lost in the post", NOW)
    closed = record_refund(costed_and_shipped(), refund, MACHINE).order

    figures = order_financials(closed)

    assert ("closed", eur("0.00"), eur("10.00"), eur("-4.00")) == (
        closed.status,
        figures.revenue,
        figures.refunds,
        figures.profit,
    )


def test_a_unit_returned_to_the_shelf_and_refunded_costs_nothing() -> None:
    order = costed_and_shipped()
    back = Return(
        "RT1", "refund", (ReturnLine("L1", 1, disposition="restock"),), "refunded", NOW, "lin"
    )
    refund = Refund("R1", eur("5.00"), "r", "returned", NOW, refund_lines(order, {"L1": 1}), "RT1")

    figures = order_financials(attrs.evolve(order, returns=(back,), refunds=(refund,)))

    assert (eur("5.00"), eur("2.00"), eur("3.00")) == (
        figures.revenue,
        figures.net_cost,
        figures.profit,
    )


def test_an_order_refunded_before_it_shipped_costs_nothing() -> None:
    refund = Refund("R1", eur("10.00"), "psp-r1", "cancelled", NOW)
    closed = record_refund(paid(lines=MUGS_AT_COST), refund, MACHINE).order

    assert eur("0.00") == order_financials(closed).profit


def test_an_unpaid_order_has_sold_nothing_yet() -> None:
    assert (eur("0.00"), eur("0.00")) == (
        order_financials(an_order(lines=MUGS_AT_COST)).revenue,
        order_financials(an_order(lines=MUGS_AT_COST)).cost_of_goods,
    )


def test_what_an_order_holds_is_split_into_revenue_shipping_and_tax_by_its_charges() -> None:
    taxed = (LineItem("L1", "MUG", "Mug", 2, eur("5.00"), tax_rate=Decimal("0.20")),)
    fee = (Adjustment(AdjustmentKind.SHIPPING, "post", amount=eur("3.00")),)
    payment = Payment("P1", eur("15.00"), "p", "", NOW)
    order = an_order(lines=taxed, adjustments=fee, payments=(payment,), status="awaiting_shipment")
    refunded = record_refund(order, Refund("R1", eur("7.50"), "r", "half back", NOW), MACHINE)

    figures = order_financials(refunded.order)

    # Charged 10.00 goods, 3.00 shipping, 2.00 tax; half of the 15.00 is held.
    assert (eur("5.00"), eur("1.50"), eur("1.00")) == (
        figures.revenue,
        figures.shipping,
        figures.tax,
    )


# -- evolving values --------------------------------------------------------------------------


def test_evolve_makes_what_attrs_evolve_makes() -> None:
    order = paid(tags=("gift",))

    for changes in ({"status": "shipped"}, {"tags": ("VIP", " gift ")}, {"version": 7}):
        assert attrs.evolve(order, **changes) == evolve(order, **changes)


def test_evolve_converts_only_what_changes_and_keeps_the_rest() -> None:
    order = an_order(tags=("gift",))

    evolved = evolve(order, tags=("VIP",))

    assert (("vip",), order.lines, order.total) == (evolved.tags, evolved.lines, evolved.total)


def test_evolve_refuses_a_field_the_value_does_not_have() -> None:
    with pytest.raises(TypeError, match="stauts"):
        evolve(an_order(), stauts="closed")


def test_evolve_leaves_a_value_with_validators_to_attrs() -> None:
    @attrs.frozen
    class Checked:
        quantity: int = attrs.field(validator=attrs.validators.gt(0))

    with pytest.raises(ValueError, match="quantity"):
        evolve(Checked(1), quantity=0)


# -- after-sales refunds ----------------------------------------------------------------------


RETURNS = return_machine()


def test_refunding_unshipped_units_gives_their_reservation_back() -> None:
    ret = Return("RT1", "refund_only", (ReturnLine("L1", 1),), "approved", NOW, "lin")
    order = paid(returns=(ret,))
    refund = Refund("R1", eur("5.00"), "psp-r", "out of stock", NOW, (), "RT1")

    decided = record_return_refund(order, ret, refund, "refund", MACHINE, RETURNS)

    assert RefundIssued(refund, eur("5.00")) == decided.steps[0]
    assert Release((StockMovement("MUG", "default", 1),)) == decided.steps[1]
    assert ("refunded", "R1") == (
        decided.order.returns[0].status,
        decided.order.returns[0].refund_id,
    )


def test_an_order_with_nothing_paid_left_after_a_refund_closes_and_releases_its_stock() -> None:
    refunded = paid(refunds=(Refund("R1", eur("10.00"), "psp-r", "all", NOW),))

    decided = settle_after_refund(refunded, MACHINE)

    assert ("closed", False) == (decided.order.status, decided.order.stock_reserved)
    assert Release() == decided.steps[-1]


def test_an_order_with_money_left_after_a_refund_keeps_its_status() -> None:
    refunded = paid(refunds=(Refund("R1", eur("4.00"), "psp-r", "part", NOW),))

    assert Decision(refunded) == settle_after_refund(refunded, MACHINE)


def test_evolve_leaves_a_value_with_a_cached_hash_to_attrs() -> None:
    @attrs.frozen(cache_hash=True)
    class Hashed:
        name: str

    assert hash(Hashed("b")) == hash(evolve(Hashed("a"), name="b"))
