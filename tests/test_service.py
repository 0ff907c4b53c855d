"""``OrderService`` arguments: a malformed one is refused, named, before anything changes.

The commands' behaviour on valid input is the storage contract's (``orderkit.testing``),
run on every adapter; these cover the argument checks, on the in-memory adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from orderkit import (
    Address,
    Customer,
    LineDraft,
    Money,
    Order,
    OrderDraft,
    OrderNotFound,
    OrderService,
    PaymentReferenceConflict,
    ValidationError,
)
from orderkit.adapters.memory import MemoryStorage

Command = Callable[[OrderService, Order], object]


def usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.fixture
def service(memory_service: OrderService) -> OrderService:
    service = memory_service
    service.receive_stock("MUG", 10, actor="warehouse")
    return service


@pytest.fixture
def order(service: OrderService) -> Order:
    draft = OrderDraft(
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN"),
        lines=[LineDraft("MUG", "Mug", 2, usd("12.50"))],
    )
    placed = service.place(draft, actor="web")
    return service.pay(placed.id, usd("5.00"), reference="psp-deposit")


def state(service: OrderService, order: Order) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was."""
    return (service.get(order.id), len(service.history(order.id)), service.stock_levels())


BAD_CALLS: dict[str, tuple[Command, str]] = {
    "a blank actor": (lambda s, o: s.add_tag(o.id, "vip", actor=" "), "actor"),
    "a float payment": (lambda s, o: s.pay(o.id, 5.0, reference="psp"), "amount"),  # type: ignore[arg-type]
    "a zero payment": (lambda s, o: s.pay(o.id, usd("0.00"), reference="psp"), "amount"),
    "a payment without a reference": (
        lambda s, o: s.pay(o.id, usd("1.00"), reference=""),
        "reference",
    ),
    "an empty idempotency key": (
        lambda s, o: s.pay(o.id, usd("1.00"), reference="psp", idempotency_key=""),
        "idempotency_key",
    ),
    "a cancellation without a reason": (
        lambda s, o: s.cancel(o.id, actor="cs", reason=""),
        "reason",
    ),
    "a negative refund": (
        lambda s, o: s.refund(o.id, usd("-1.00"), reference="r", reason="broken"),
        "amount",
    ),
    "a refund without a reason": (
        lambda s, o: s.refund(o.id, usd("1.00"), reference="r", reason=""),
        "reason",
    ),
    "a refund without a reference": (
        lambda s, o: s.refund(o.id, usd("5.00"), reference="", reason="scratched"),
        "reference",
    ),
    "a partial refund before the order is paid in full": (
        lambda s, o: s.refund(o.id, usd("2.00"), reference="r", reason="scratched"),
        "amount",
    ),
    "an edit without a reason": (
        lambda s, o: s.request_edit(o.id, [], actor="clerk", reason=""),
        "reason",
    ),
    "an empty tag": (lambda s, o: s.add_tag(o.id, "  ", actor="cs"), "tag"),
    "an empty note": (lambda s, o: s.add_note(o.id, "", actor="cs"), "text"),
    "receiving no stock": (lambda s, o: s.receive_stock("MUG", 0, actor="wh"), "quantity"),
    "receiving a bool of stock": (
        lambda s, o: s.receive_stock("MUG", True, actor="wh"),
        "quantity",
    ),
    "adjusting stock by nothing": (
        lambda s, o: s.adjust_stock("MUG", 0, actor="wh", reason="count"),
        "delta",
    ),
    "adjusting stock without a reason": (
        lambda s, o: s.adjust_stock("MUG", -1, actor="wh", reason=""),
        "reason",
    ),
    "a negative low-stock threshold": (
        lambda s, o: s.set_low_stock_threshold("MUG", -1),
        "threshold",
    ),
    "expiring with a negative age": (
        lambda s, o: s.expire_unpaid(older_than=timedelta(minutes=-1)),
        "older_than",
    ),
    "expiring with an age that is a bare number": (
        lambda s, o: s.expire_unpaid(older_than=24),  # type: ignore[arg-type]
        "older_than",
    ),
    "reminding with an age that is a bare number": (
        lambda s, o: s.remind_unpaid(older_than=24),  # type: ignore[arg-type]
        "older_than",
    ),
    "removing an empty tag": (lambda s, o: s.remove_tag(o.id, "", actor="cs"), "tag"),
}


@pytest.mark.parametrize(("call", "field"), BAD_CALLS.values(), ids=list(BAD_CALLS))
def test_a_malformed_argument_is_refused_naming_it_and_changes_nothing(
    service: OrderService, order: Order, call: Command, field: str
) -> None:
    before = state(service, order)

    with pytest.raises(ValidationError) as raised:
        call(service, order)

    assert (field, before) == (raised.value.field, state(service, order))


def test_a_service_needs_at_least_one_attempt_per_command() -> None:
    with pytest.raises(ValidationError) as raised:
        OrderService(MemoryStorage(), max_attempts=0)
    assert "max_attempts" == raised.value.field


def test_shipping_an_order_with_nothing_left_to_ship_is_refused_naming_lines(
    service: OrderService, order: Order
) -> None:
    service.pay(order.id, order.balance_due, reference="psp-rest")
    service.ship(order.id, carrier="sf", tracking_number="SF1")

    with pytest.raises(ValidationError, match="nothing left to ship") as raised:
        service.ship(order.id, carrier="sf", tracking_number="SF2")
    assert "lines" == raised.value.field


def test_refunding_again_with_the_same_key_records_one_refund(
    service: OrderService, order: Order
) -> None:
    for _ in range(2):
        refunded = service.refund(
            order.id, usd("5.00"), reference="r-1", reason="scratched", idempotency_key="rf-1"
        )

    assert (1, usd("5.00")) == (len(refunded.refunds), service.get(order.id).amount_refunded)


def test_a_payment_noticed_twice_by_its_reference_counts_once(
    service: OrderService, order: Order
) -> None:
    service.pay(order.id, usd("3.00"), reference="psp-42")
    before = state(service, order)

    again = service.pay(order.id, usd("3.00"), reference="psp-42")

    assert (usd("17.00"), before) == (again.balance_due, state(service, order))


def test_a_payment_reference_used_again_for_another_amount_is_refused_changing_nothing(
    service: OrderService, order: Order
) -> None:
    service.pay(order.id, usd("3.00"), reference="psp-42")
    before = state(service, order)

    with pytest.raises(PaymentReferenceConflict):
        service.pay(order.id, usd("4.00"), reference="psp-42")

    assert before == state(service, order)


def test_a_refund_noticed_twice_by_its_reference_counts_once(
    service: OrderService, order: Order
) -> None:
    service.pay(order.id, usd("20.00"), reference="psp-rest")
    service.refund(order.id, usd("2.00"), reference="r-1", reason="scratched")
    before = state(service, order)

    again = service.refund(order.id, usd("2.00"), reference="r-1", reason="scratched")

    assert (usd("23.00"), before) == (again.net_paid, state(service, order))


def test_refunding_everything_held_before_payment_lets_the_order_be_cancelled(
    service: OrderService, order: Order
) -> None:
    service.refund(order.id, usd("5.00"), reference="r-1", reason="changed their mind")

    assert "closed" == service.cancel(order.id, actor="cs", reason="changed their mind").status


def test_removing_a_tag_the_order_does_not_have_changes_nothing(
    service: OrderService, order: Order
) -> None:
    before = state(service, order)

    service.remove_tag(order.id, "vip", actor="cs")

    assert before == state(service, order)


def test_an_age_that_is_a_bare_number_is_refused_asking_for_a_timedelta(
    service: OrderService,
) -> None:
    with pytest.raises(ValidationError) as raised:
        service.expire_unpaid(older_than=24)  # type: ignore[arg-type]

    assert "older_than: must be a datetime.timedelta such as timedelta(hours=24), not 24" == str(
        raised.value
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("zh-hant-tw", "zh_Hant_TW"),
        ("zh_TW", "zh_TW"),
        ("en-US", "en_US"),
        ("ja", "ja"),
        ("DE_de", "de_DE"),
    ],
)
def test_an_order_keeps_the_locale_babel_makes_of_its_draft_locale(
    service: OrderService, given: str, stored: str
) -> None:
    draft = OrderDraft(
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN"),
        lines=[LineDraft("MUG", "Mug", 1, usd("12.50"))],
        locale=given,
    )

    assert stored == service.place(draft, actor="web").locale


def test_getting_an_order_by_its_number_as_if_it_were_an_id_points_to_get_by_number(
    service: OrderService, order: Order
) -> None:
    with pytest.raises(OrderNotFound) as raised:
        service.get(order.number)

    assert (
        f"no order {order.number!r}; it looks like an order number: look it up with "
        "get_by_number" == str(raised.value)
    )


def test_getting_an_unknown_id_says_to_check_the_id_or_number(service: OrderService) -> None:
    with pytest.raises(OrderNotFound) as raised:
        service.get("01JD0000000000000000000000")

    assert "no order '01JD0000000000000000000000'; check the order id or number" == str(
        raised.value
    )
