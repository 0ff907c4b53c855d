"""The default order machine's guards: each refusal says which guard and why.

The orders are real ones, made by the service on the in-memory adapter; the machine is
asked directly, as ``OrderService`` asks it before each command changes anything.
"""

from __future__ import annotations

import pytest

from orderkit import (
    Address,
    Customer,
    GuardRefused,
    LineDraft,
    Money,
    Order,
    OrderDraft,
    OrderService,
)
from orderkit.domain.lifecycle import default_order_machine


def usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.fixture
def service(memory_service: OrderService) -> OrderService:
    memory_service.receive_stock("MUG", 10, actor="warehouse")
    return memory_service


@pytest.fixture
def placed(service: OrderService) -> Order:
    draft = OrderDraft(
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN"),
        lines=[LineDraft("MUG", "Mug", 2, usd("12.50"))],
    )
    return service.place(draft, actor="web")


@pytest.fixture
def paid(service: OrderService, placed: Order) -> Order:
    return service.pay(placed.id, placed.total, reference="psp-1")


def refusal(order: Order, event: str) -> tuple[str, str]:
    with pytest.raises(GuardRefused) as raised:
        default_order_machine().fire(order, order.status, event)
    return raised.value.guard, raised.value.reason


def test_paying_part_of_an_order_is_refused_by_paid_in_full_saying_how_much_is_paid(
    service: OrderService, placed: Order
) -> None:
    part = service.pay(placed.id, usd("5.00"), reference="psp-deposit")

    assert ("paid_in_full", "paid 5.00 USD of 25.00 USD") == refusal(part, "pay")


def test_shipping_with_units_left_is_refused_by_fully_shipped_counting_them(paid: Order) -> None:
    assert ("fully_shipped", "2 unit(s) are not shipped yet") == refusal(paid, "ship")


def test_a_partial_shipment_of_nothing_is_refused_by_partly_shipped(paid: Order) -> None:
    assert ("partly_shipped", "nothing shipped yet") == refusal(paid, "ship_partial")


def test_a_full_refund_of_an_order_not_fully_refunded_is_refused_by_fully_refunded(
    service: OrderService, paid: Order
) -> None:
    partly = service.refund(paid.id, usd("10.00"), reference="r-1", reason="one broke")

    assert ("fully_refunded", "refunded 10.00 USD of 25.00 USD paid") == refusal(
        partly, "refund_full"
    )
