"""After-sales: the return machine, refund allocation, and the return commands of the service."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import shop
from orderkit.clock import FixedClock
from orderkit.domain.aftersales import (
    Disposition,
    Return,
    ReturnKind,
    ReturnLine,
    ReturnPolicy,
    return_machine,
)
from orderkit.domain.events import OrderDelivered
from orderkit.domain.money import Money
from orderkit.domain.order import Order
from orderkit.domain.returns import refund_lines, unit_shares
from orderkit.domain.shipping import TrackingEvent
from orderkit.errors import (
    GuardRefused,
    IdempotencyConflict,
    InvalidTransition,
    PaymentReferenceConflict,
    RefundExceedsPayment,
    RefundNotRecorded,
    ReturnNotAllowed,
    ReturnWindowClosed,
    TransientStorageError,
    ValidationError,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from strategies import priced_orders

DOC = Path(__file__).resolve().parents[1] / "docs" / "after-sales.md"


class LedgerPayments:
    """A payment provider kept in a dict: one refund per idempotency key, like real ones."""

    def __init__(self) -> None:
        self.refunds: dict[str, tuple[str, Money]] = {}

    def refund(self, order: Order, amount: Money, *, idempotency_key: str) -> str:
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = (f"rf-{len(self.refunds) + 1}", amount)
        return self.refunds[idempotency_key][0]


@pytest.fixture(params=shop.BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with shop.open_storage(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(shop.START)


@pytest.fixture
def svc(storage: Storage, clock: FixedClock) -> OrderService:
    return shop.service(storage, clock)


def delivered(svc: OrderService, **money: str) -> Order:
    """A paid order of 3 TEA (L1), 2 CUP (L2) and 1 POT (L3), shipped and delivered."""
    order_id = shop.paid(svc, ("TEA", 3), ("CUP", 2), ("POT", 1), **money)
    svc.ship(order_id)
    return svc.deliver(order_id)


def returned(svc: OrderService, order_id: str, lines: dict[str, int], kind: str = "refund") -> str:
    """Request, approve and (for goods) receive a return; return its id."""
    ret = svc.request_return(order_id, lines, kind=kind, reason="not as pictured").returns[-1]
    svc.approve_return(order_id, ret.return_id, actor="cs")
    if kind != ReturnKind.REFUND_ONLY:
        svc.receive_return(order_id, ret.return_id, actor="warehouse")
    return ret.return_id


def types(svc: OrderService, order_id: str) -> list[str]:
    return [e.type for e in svc.history(order_id)]


# -- the return machine -------------------------------------------------------------------------


def test_the_return_machine_in_the_docs_is_the_one_in_the_code() -> None:
    diagram = re.search(r"```mermaid\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert diagram is not None, "docs/after-sales.md needs the return machine as ```mermaid"
    assert return_machine().to_mermaid() == diagram.group(1)


def test_a_requested_return_may_be_approved_or_rejected() -> None:
    assert ("approve", "reject") == return_machine().allowed_events("requested")


def test_a_refund_only_return_cannot_be_received() -> None:
    request = _request(ReturnKind.REFUND_ONLY)
    with pytest.raises(GuardRefused) as refused:
        return_machine().fire(request, "approved", "receive")
    assert "brings_goods_back" == refused.value.guard


def test_goods_must_be_received_before_they_are_refunded() -> None:
    with pytest.raises(GuardRefused):
        return_machine().fire(_request(ReturnKind.REFUND), "approved", "refund")


def test_an_exchange_is_never_refunded() -> None:
    with pytest.raises(GuardRefused):
        return_machine().fire(_request(ReturnKind.EXCHANGE), "received", "refund")


def _request(kind: str) -> Return:
    return Return("r-1", kind, [ReturnLine("L1", 1)], "requested", shop.START, "c-1")


def test_a_negative_return_window_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        ReturnPolicy(window_days=-1)
    assert "window_days" == refused.value.field


def test_an_unknown_return_kind_in_a_policy_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        ReturnPolicy(kinds=("refund", "store_credit"))
    assert "kinds" == refused.value.field


# -- refund allocation --------------------------------------------------------------------------


@given(priced_orders())
def test_the_unit_shares_of_every_line_add_up_to_the_order_total(order: Order) -> None:
    shares = [s for line in order.lines for s in unit_shares(order, line.line_id)]
    assert order.total == Money.sum(shares, order.currency)


@given(priced_orders())
def test_refunding_every_unit_of_every_line_refunds_the_line_totals_exactly(order: Order) -> None:
    lines = refund_lines(order, {line.line_id: line.quantity for line in order.lines})
    assert [lt.total for lt in order.totals.lines] == [rl.amount for rl in lines]


def test_a_second_refund_of_a_line_takes_the_next_unit_shares(svc: OrderService) -> None:
    order = delivered(svc, coupon="10.00", shipping="12.00")
    first = refund_lines(order, {"L2": 1})[0].amount
    svc.refund_return(order.id, returned(svc, order.id, {"L2": 1}), reference="r1", reason="x")
    second = refund_lines(svc.get(order.id), {"L2": 1})[0].amount
    assert order.totals.lines[1].total == first + second


def test_refunding_more_units_than_a_line_has_left_raises_refund_exceeds_payment(
    svc: OrderService,
) -> None:
    order = delivered(svc)
    with pytest.raises(RefundExceedsPayment):
        refund_lines(order, {"L3": 2})


# -- requesting ---------------------------------------------------------------------------------


def test_a_return_request_is_recorded_on_the_order_with_who_asked_and_why(
    svc: OrderService,
) -> None:
    order = delivered(svc)
    after = svc.request_return(order.id, {"L1": 2}, reason="too strong", actor="c-1")
    ret = after.returns[-1]
    event = svc.history(order.id)[-1]
    assert ("requested", "c-1", "too strong", "ReturnRequested", "c-1") == (
        ret.status,
        ret.requested_by,
        ret.reason,
        event.type,
        event.actor,
    )


def test_more_units_than_were_delivered_cannot_be_returned(svc: OrderService) -> None:
    order = delivered(svc)
    svc.request_return(order.id, {"L2": 1}, reason="chipped")
    with pytest.raises(ReturnNotAllowed):
        svc.request_return(order.id, {"L2": 2}, reason="chipped")


def test_units_still_on_their_way_cannot_be_returned(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 1))
    svc.ship(order_id)
    with pytest.raises(ReturnNotAllowed):
        svc.request_return(order_id, {"L1": 1}, reason="changed my mind")


def test_a_return_past_the_window_raises_return_window_closed(
    svc: OrderService, clock: FixedClock
) -> None:
    order = delivered(svc)
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(ReturnWindowClosed) as refused:
        svc.request_return(order.id, {"L1": 1}, reason="changed my mind")
    assert ("L1", 7) == (refused.value.line_id, refused.value.window_days)


def test_a_return_on_the_last_day_of_the_window_is_accepted(
    svc: OrderService, clock: FixedClock
) -> None:
    order = delivered(svc)
    clock.advance(timedelta(days=7))
    assert "requested" == svc.request_return(order.id, {"L1": 1}, reason="x").returns[-1].status


def test_a_kind_the_policy_refuses_raises_return_not_allowed(
    storage: Storage, clock: FixedClock
) -> None:
    svc = shop.service(storage, clock, return_policy=ReturnPolicy(kinds=(ReturnKind.REFUND,)))
    order = delivered(svc)
    with pytest.raises(ReturnNotAllowed):
        svc.request_return(order.id, {"L1": 1}, kind=ReturnKind.EXCHANGE, reason="size")


def test_a_return_request_needs_a_reason(svc: OrderService) -> None:
    order = delivered(svc)
    with pytest.raises(ValidationError) as refused:
        svc.request_return(order.id, {"L1": 1}, reason=" ")
    assert "reason" == refused.value.field


def test_unshipped_units_are_refunded_in_one_step_not_requested(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 2))
    with pytest.raises(ReturnNotAllowed) as refused:
        svc.request_return(order_id, {"L1": 1}, kind=ReturnKind.REFUND_ONLY, reason="slow")
    assert "refund_only" in str(refused.value)


def test_a_rejected_return_frees_its_units_to_be_asked_for_again(svc: OrderService) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L3": 1}, reason="x").returns[-1]
    svc.reject_return(order.id, ret.return_id, actor="cs", reason="used")
    again = svc.request_return(order.id, {"L3": 1}, reason="x").returns[-1]
    assert ("rejected", "requested") == (svc.get(order.id).returns[0].status, again.status)


def test_approving_a_return_records_return_approved(svc: OrderService) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L3": 1}, reason="x").returns[-1]
    svc.approve_return(order.id, ret.return_id, actor="cs", reason="fine")
    event = svc.history(order.id)[-1]
    assert ("ReturnApproved", "cs", "fine") == (event.type, event.actor, event.reason)


# -- receiving ----------------------------------------------------------------------------------


def test_restocked_units_go_back_on_hand(svc: OrderService) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L1": 2}, reason="x").returns[-1]
    svc.approve_return(order.id, ret.return_id, actor="cs")
    svc.receive_return(order.id, ret.return_id, Disposition.RESTOCK, actor="warehouse")
    assert 20 - 3 + 2 == svc.stock("TEA").on_hand


def test_written_off_units_are_recorded_but_not_put_on_hand(svc: OrderService) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L2": 1}, reason="broken").returns[-1]
    svc.approve_return(order.id, ret.return_id, actor="cs")
    after = svc.receive_return(order.id, ret.return_id, {"L2": "write_off"}, actor="warehouse")
    assert (18, "write_off") == (svc.stock("CUP").on_hand, after.returns[0].lines[0].disposition)


def test_a_line_without_a_disposition_is_refused(svc: OrderService) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L2": 1}, reason="broken").returns[-1]
    svc.approve_return(order.id, ret.return_id, actor="cs")
    with pytest.raises(ValidationError) as refused:
        svc.receive_return(order.id, ret.return_id, {"L1": "restock"}, actor="warehouse")
    assert "dispositions[L2]" == refused.value.field


# -- refunding ----------------------------------------------------------------------------------


def test_a_partial_refund_keeps_the_order_status_and_records_the_lines_paid_back(
    svc: OrderService,
) -> None:
    order = delivered(svc, coupon="10.00", shipping="12.00")
    ret_id = returned(svc, order.id, {"L2": 1})
    after = svc.refund_return(order.id, ret_id, reference="alipay-r1", reason="returned")
    refund = after.refunds[-1]
    assert ("delivered", refund_lines(order, {"L2": 1}), ret_id, "alipay-r1") == (
        after.status,
        refund.lines,
        refund.return_id,
        refund.reference,
    )


def test_refunding_every_line_returns_exactly_what_was_paid_and_closes_the_order(
    svc: OrderService,
) -> None:
    order = delivered(svc, coupon="10.00", shipping="12.00")
    for line_id, qty in (("L1", 3), ("L2", 2), ("L3", 1)):
        ret_id = returned(svc, order.id, {line_id: qty})
        after = svc.refund_return(order.id, ret_id, reference=f"r-{line_id}", reason="all back")
    assert (order.amount_paid, "closed") == (after.amount_refunded, after.status)


def test_the_payments_port_pays_the_refund_with_an_idempotency_key(
    storage: Storage, clock: FixedClock
) -> None:
    payments = LedgerPayments()
    svc = shop.service(storage, clock, payments=payments)
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    after = svc.refund_return(order.id, ret_id, reason="returned", idempotency_key="rk-1")
    assert ({"rk-1": ("rf-1", Money("50.00", "CNY"))}, "rf-1") == (
        payments.refunds,
        after.refunds[-1].reference,
    )


class BusyOnce:
    """A storage whose next ``fail`` commits raise TransientStorageError (a busy database)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.fail = 0

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        with self.inner.unit_of_work() as uow:
            outer = self

            class Busy:
                def __getattr__(self, name: str) -> Any:
                    return getattr(uow, name)

                def commit(self) -> None:
                    if outer.fail:
                        outer.fail -= 1
                        raise TransientStorageError("database is locked")
                    uow.commit()

            yield Busy()

    def reader(self) -> Any:
        return self.inner.reader()

    def close(self) -> None:
        self.inner.close()


def test_a_refund_only_the_database_retries_pays_through_the_provider_under_one_key(
    storage: Storage, clock: FixedClock
) -> None:
    payments = LedgerPayments()
    busy = BusyOnce(storage)
    svc = shop.service(busy, clock, payments=payments)  # type: ignore[arg-type]
    order_id = shop.paid(svc, ("TEA", 2), ("CUP", 1))
    busy.fail = 1
    after = svc.refund_only(order_id, {"L1": 1}, reason="out of stock")
    assert (1, ["rf-1"]) == (len(payments.refunds), [r.reference for r in after.refunds])


class BusyPayments(LedgerPayments):
    """A provider that, while it pays, lets the shop do something through the service: that
    only works if no transaction is held across the call."""

    def __init__(self, meanwhile: Callable[[OrderService, Order, Money], object]) -> None:
        super().__init__()
        self.meanwhile = meanwhile
        self.service: OrderService | None = None

    def refund(self, order: Order, amount: Money, *, idempotency_key: str) -> str:
        assert self.service is not None
        if not self.refunds:
            self.meanwhile(self.service, order, amount)
        return super().refund(order, amount, idempotency_key=idempotency_key)


def note_the_payment(svc: OrderService, order: Order, amount: Money) -> None:
    svc.add_note(order.id, f"paying back {amount}", actor="psp")


def refund_the_return_meanwhile(svc: OrderService, order: Order, amount: Money) -> None:
    """Someone else records the return's refund, made by hand, while the provider pays."""
    ret_id = order.returns[-1].return_id
    svc.refund_return(order.id, ret_id, reference="by-hand", reason="refunded at the till")


def test_the_payments_port_is_called_with_no_transaction_open(
    storage: Storage, clock: FixedClock
) -> None:
    payments = BusyPayments(note_the_payment)
    svc = payments.service = shop.service(storage, clock, payments=payments)
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})

    after = svc.refund_return(order.id, ret_id, reason="returned")

    assert ["rf-1"] == [r.reference for r in after.refunds]
    assert [f"paying back {Money('50.00', 'CNY')}"] == [n.text for n in after.notes]


def test_a_refund_paid_but_not_recorded_names_the_reference_to_reconcile(
    storage: Storage, clock: FixedClock
) -> None:
    payments = BusyPayments(refund_the_return_meanwhile)
    svc = payments.service = shop.service(storage, clock, payments=payments)
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})

    with pytest.raises(RefundNotRecorded) as unrecorded:
        svc.refund_return(order.id, ret_id, reason="returned", idempotency_key="rk-9")

    assert ("rf-1", "rk-9") == (unrecorded.value.reference, unrecorded.value.idempotency_key)
    assert isinstance(unrecorded.value.__cause__, InvalidTransition)
    assert ["by-hand"] == [r.reference for r in svc.get(order.id).refunds]


def test_a_refund_without_reference_or_payments_port_is_refused(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    with pytest.raises(ValidationError) as refused:
        svc.refund_return(order.id, ret_id, reason="returned")
    assert "reference" == refused.value.field


def test_a_return_after_a_goodwill_refund_pays_back_what_is_left_on_its_units(
    svc: OrderService,
) -> None:
    order = delivered(svc)  # 3 x 30.00, 2 x 20.00, 1 x 50.00
    svc.refund(order.id, Money("150.00", "CNY"), reference="gw", reason="late parcel")
    ret_id = returned(svc, order.id, {"L1": 3})

    after = svc.refund_return(order.id, ret_id, reference="r", reason="returned")

    # 150.00 came off every unit by what it held: 25.00 of each 30.00 tea.
    assert Money("15.00", "CNY") == after.refunds[-1].amount


def test_a_shipping_refund_then_a_return_of_everything_refunds_the_rest_and_closes(
    svc: OrderService,
) -> None:
    order = delivered(svc, coupon="10.00", shipping="12.00")
    svc.refund(order.id, Money("12.00", "CNY"), reference="ship", reason="parcel was late")
    ret_id = returned(svc, order.id, {"L1": 3, "L2": 2, "L3": 1})

    after = svc.refund_return(order.id, ret_id, reference="r", reason="returned")

    assert ("refunded", "closed", Money("170.00", "CNY"), after.amount_paid) == (
        after.return_(ret_id).status,
        after.status,
        after.refunds[-1].amount,
        after.amount_refunded,
    )


def test_a_received_exchange_converted_to_a_refund_pays_its_units_back(
    svc: OrderService,
) -> None:
    order = delivered(svc, coupon="10.00", shipping="12.00")
    ret_id = returned(svc, order.id, {"L2": 1}, kind=ReturnKind.EXCHANGE)

    after = svc.convert_exchange_to_refund(order.id, ret_id, reference="r", reason="no cups")

    assert ("refunded", refund_lines(order, {"L2": 1}), ret_id) == (
        after.return_(ret_id).status,
        after.refunds[-1].lines,
        after.refunds[-1].return_id,
    )


def test_an_exchange_not_yet_received_cannot_be_converted_to_a_refund(
    svc: OrderService,
) -> None:
    order = delivered(svc)
    ret = svc.request_return(order.id, {"L2": 1}, kind="exchange", reason="chipped").returns[-1]

    with pytest.raises(InvalidTransition):
        svc.convert_exchange_to_refund(order.id, ret.return_id, reference="r", reason="none")


def test_a_return_with_nothing_left_on_its_units_is_refunded_without_the_provider(
    storage: Storage, clock: FixedClock
) -> None:
    payments = LedgerPayments()
    svc = shop.service(storage, clock, payments=payments)
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    svc.refund(order.id, order.total, reference="all", reason="lost the parcel twice")

    after = svc.refund_return(order.id, ret_id, reason="returned")

    assert ({}, "refunded", Money("0.00", "CNY")) == (
        payments.refunds,
        after.return_(ret_id).status,
        after.refunds[-1].amount,
    )


def test_a_refunded_return_cannot_be_refunded_twice(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    svc.refund_return(order.id, ret_id, reference="r", reason="returned")
    with pytest.raises(InvalidTransition):
        svc.refund_return(order.id, ret_id, reference="r-2", reason="returned")


def test_a_return_refund_noticed_again_by_its_reference_changes_nothing(
    svc: OrderService,
) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    once = svc.refund_return(order.id, ret_id, reference="r", reason="returned")

    assert once == svc.refund_return(order.id, ret_id, reference="r", reason="returned")


def test_a_refund_reference_already_recorded_for_another_return_is_a_conflict(
    svc: OrderService,
) -> None:
    order = delivered(svc)
    first, second = returned(svc, order.id, {"L3": 1}), returned(svc, order.id, {"L2": 1})
    svc.refund_return(order.id, first, reference="r", reason="returned")
    before = svc.get(order.id)

    with pytest.raises(PaymentReferenceConflict):
        svc.refund_return(order.id, second, reference="r", reason="returned")

    assert before == svc.get(order.id)


def test_a_refund_only_noticed_again_by_its_reference_refunds_once(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 2))
    once = svc.refund_only(order_id, {"L1": 1}, reference="r", reason="sold out")

    assert once == svc.refund_only(order_id, {"L1": 1}, reference="r", reason="sold out")


def test_a_refund_records_refund_issued_with_actor_and_reason(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L3": 1})
    svc.refund_return(order.id, ret_id, reference="r", reason="returned", actor="finance")
    issued = [e for e in svc.history(order.id) if e.type == "RefundIssued"][-1]
    assert ("finance", "returned") == (issued.actor, issued.reason)


# -- refund only --------------------------------------------------------------------------------


def test_refunding_unshipped_units_releases_them_and_lets_the_order_finish_shipping(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 3))
    svc.ship(order_id, {"L1": 2})
    after = svc.refund_only(order_id, {"L1": 1}, reference="r", reason="out of stock")
    assert ("shipped", 0, 0) == (
        after.status,
        svc.stock("TEA").reserved,
        after.quantity_unshipped("L1"),
    )


def test_units_refunded_unshipped_can_no_longer_ship(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 3))
    svc.refund_only(order_id, {"L1": 1}, reference="r", reason="out of stock")
    with pytest.raises(ValidationError):
        svc.ship(order_id, {"L1": 3})


def test_refunding_every_unshipped_unit_closes_the_order(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 2), shipping="8.00")
    after = svc.refund_only(order_id, {"L1": 2}, reference="r", reason="cannot ship")
    assert ("closed", 0) == (after.status, svc.stock("TEA").reserved)


def test_a_lost_parcel_is_refunded_and_the_order_is_delivered_with_the_rest(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 1), ("CUP", 1))
    svc.ship(order_id, {"L1": 1}, carrier="sf", tracking_number="SF1")
    order = svc.ship(order_id, {"L2": 1}, carrier="sf", tracking_number="SF2")
    at = shop.START + timedelta(hours=1)
    svc.ingest_tracking(TrackingEvent("e1", "sf", "SF1", "exception", at))
    svc.ingest_tracking(TrackingEvent("e2", "sf", "SF2", "delivered", at))
    lost = order.shipments[0].shipment_id
    after = svc.refund_only(order_id, {"L1": 1}, shipment_id=lost, reference="r", reason="lost")
    assert ("delivered", Money("30.00", "CNY")) == (after.status, after.amount_refunded)


def test_delivering_by_hand_leaves_lost_and_replacement_parcels_out_of_the_delivery(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 1), ("CUP", 1), ("POT", 1))
    for line_id, number in (("L1", "SF1"), ("L2", "SF2"), ("L3", "SF3")):
        order = svc.ship(order_id, {line_id: 1}, carrier="sf", tracking_number=number)
    at = shop.START + timedelta(hours=1)
    svc.ingest_tracking(TrackingEvent("e1", "sf", "SF1", "delivered", at))
    svc.ingest_tracking(TrackingEvent("e2", "sf", "SF2", "exception", at))
    lost = order.shipments[1].shipment_id
    svc.refund_only(order_id, {"L2": 1}, shipment_id=lost, reference="r", reason="lost")
    ret_id = returned(svc, order_id, {"L1": 1}, kind=ReturnKind.EXCHANGE)
    svc.exchange(order_id, ret_id, carrier="sf", tracking_number="SF-X")
    after = svc.deliver(order_id, actor="cs")
    announced = [e.payload for e in svc.history(order_id) if isinstance(e.payload, OrderDelivered)]
    own = tuple(s.shipment_id for s in order.shipments)
    assert ([True, False, True, False], [OrderDelivered(own)]) == (
        [s.delivered_at is not None for s in after.shipments],
        announced,
    )


def test_a_parcel_that_is_not_lost_cannot_be_refunded_as_lost(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 1))
    shipment = svc.ship(order_id, carrier="sf", tracking_number="SF1").shipments[0]
    with pytest.raises(ReturnNotAllowed):
        svc.refund_only(
            order_id, {"L1": 1}, shipment_id=shipment.shipment_id, reference="r", reason="lost"
        )


def test_a_refund_only_sent_twice_with_one_key_refunds_once(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 3))
    first = svc.refund_only(
        order_id, {"L1": 1}, reference="r", reason="sold out", idempotency_key="k-1"
    )
    again = svc.refund_only(
        order_id, {"L1": 1}, reference="r", reason="sold out", idempotency_key="k-1"
    )
    assert (first, Money("30.00", "CNY")) == (again, again.amount_refunded)


def test_a_different_refund_only_with_a_used_key_raises_idempotency_conflict(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 3))
    svc.refund_only(order_id, {"L1": 1}, reference="r", reason="sold out", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        svc.refund_only(
            order_id, {"L1": 2}, reference="r", reason="sold out", idempotency_key="k-1"
        )


def test_an_unpaid_order_cannot_be_refunded(svc: OrderService) -> None:
    order = svc.place(shop.draft(("TEA", 1)))
    with pytest.raises(ReturnNotAllowed):
        svc.refund_only(order.id, {"L1": 1}, reference="r", reason="x")


def test_a_partly_paid_order_cannot_be_refunded_by_line_and_nothing_changes(
    svc: OrderService,
) -> None:
    order = svc.place(shop.draft(("TEA", 2)))
    svc.pay(order.id, Money("40.00", "CNY"), reference="p-1")
    before = (svc.get(order.id), len(svc.history(order.id)), svc.stock("TEA"))
    with pytest.raises(ReturnNotAllowed):
        svc.refund_only(order.id, {"L1": 1}, reference="r", reason="one is out")
    assert before == (svc.get(order.id), len(svc.history(order.id)), svc.stock("TEA"))


# -- exchanges ----------------------------------------------------------------------------------


def test_an_exchange_ships_a_replacement_through_the_shipment_path(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L2": 1}, kind=ReturnKind.EXCHANGE)
    after = svc.exchange(order.id, ret_id, carrier="sf", tracking_number="SF-X")
    replacement = after.shipments[-1]
    assert (ret_id, "delivered", 2, "exchanged", replacement.shipment_id) == (
        replacement.return_id,
        after.status,
        after.quantity_shipped("L2"),
        after.returns[-1].status,
        after.returns[-1].replacement_shipment_id,
    )


def test_an_exchange_takes_the_replacement_from_stock(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L2": 1}, kind=ReturnKind.EXCHANGE)
    svc.exchange(order.id, ret_id)
    # 20 received, 2 shipped, 1 restocked on receipt, 1 replacement shipped.
    assert (18, 0) == (svc.stock("CUP").on_hand, svc.stock("CUP").reserved)


def test_a_replacement_parcel_is_tracked_like_any_other(svc: OrderService) -> None:
    order = delivered(svc)
    ret_id = returned(svc, order.id, {"L2": 1}, kind=ReturnKind.EXCHANGE)
    svc.exchange(order.id, ret_id, carrier="sf", tracking_number="SF-X")
    at = shop.START + timedelta(days=1)
    after = svc.ingest_tracking(TrackingEvent("x1", "sf", "SF-X", "delivered", at))
    assert (at, "delivered") == (after.shipments[-1].delivered_at, after.status)
