"""The default order status machine, built from data with named guards.

::

    pending_payment ─pay─▶ awaiting_shipment ─ship─▶ shipped ─deliver─▶ delivered ─complete─▶
          │                   └─ship_partial─▶ partially_shipped ─ship─┘               completed
          └─cancel / expire─▶ closed ◀─refund_full── (any paid state)

Hosts extend it with :meth:`StatusMachine.extend`; see ``docs/status-machine.md``.
"""

from __future__ import annotations

from orderkit.domain.order import Order
from orderkit.domain.status import StatusMachine, Transition

__all__ = ["COMMAND_EVENTS", "OrderEvent", "OrderStatus", "default_order_machine"]


class OrderStatus:
    PENDING_PAYMENT = "pending_payment"  # 待付款
    AWAITING_SHIPMENT = "awaiting_shipment"  # 待发货
    PARTIALLY_SHIPPED = "partially_shipped"  # 部分发货
    SHIPPED = "shipped"  # 已发货
    DELIVERED = "delivered"  # 已签收
    COMPLETED = "completed"  # 交易成功
    CLOSED = "closed"  # 交易关闭


class OrderEvent:
    PAY = "pay"
    SHIP = "ship"
    SHIP_PARTIAL = "ship_partial"
    DELIVER = "deliver"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND_FULL = "refund_full"


# Events with side effects beyond the status (money, stock, shipments): only the service's
# own command methods may fire them, never the generic ``OrderService.transition``.
COMMAND_EVENTS = frozenset(
    {
        OrderEvent.PAY,
        OrderEvent.SHIP,
        OrderEvent.SHIP_PARTIAL,
        OrderEvent.DELIVER,
        OrderEvent.COMPLETE,
        OrderEvent.CANCEL,
        OrderEvent.EXPIRE,
        OrderEvent.REFUND_FULL,
    }
)


def paid_in_full(order: Order) -> str | None:
    if order.is_paid_in_full:
        return None
    return f"paid {order.amount_paid} of {order.total}"


def nothing_paid(order: Order) -> str | None:
    if order.net_paid.is_zero:
        return None
    return f"{order.net_paid} is paid and not refunded; refund it (OrderService.refund) first"


def fully_shipped(order: Order) -> str | None:
    if order.is_fully_shipped:
        return None
    left = sum(order.quantity_unshipped(line.line_id) for line in order.lines)
    return f"{left} unit(s) are not shipped yet"


def partly_shipped(order: Order) -> str | None:
    if order.shipments and not order.is_fully_shipped:
        return None
    return "nothing shipped yet" if not order.shipments else "everything is shipped"


def fully_refunded(order: Order) -> str | None:
    if order.amount_paid.is_positive and order.net_paid.is_zero:
        return None
    return f"refunded {order.amount_refunded} of {order.amount_paid} paid"


GUARDS = {
    "paid_in_full": paid_in_full,
    "nothing_paid": nothing_paid,
    "fully_shipped": fully_shipped,
    "partly_shipped": partly_shipped,
    "fully_refunded": fully_refunded,
}

LABELS = {
    OrderStatus.PENDING_PAYMENT: "待付款 pending payment",
    OrderStatus.AWAITING_SHIPMENT: "待发货 awaiting shipment",
    OrderStatus.PARTIALLY_SHIPPED: "部分发货 partially shipped",
    OrderStatus.SHIPPED: "已发货 shipped",
    OrderStatus.DELIVERED: "已签收 delivered",
    OrderStatus.COMPLETED: "交易成功 completed",
    OrderStatus.CLOSED: "交易关闭 closed",
}


def default_order_machine() -> StatusMachine[Order]:
    """The order lifecycle most shops want; build variants with ``.extend(...)``."""
    s, e = OrderStatus, OrderEvent
    t = Transition
    return StatusMachine(
        name="order",
        states=[
            s.PENDING_PAYMENT,
            s.AWAITING_SHIPMENT,
            s.PARTIALLY_SHIPPED,
            s.SHIPPED,
            s.DELIVERED,
            s.COMPLETED,
            s.CLOSED,
        ],
        initial=s.PENDING_PAYMENT,
        final=[s.COMPLETED, s.CLOSED],
        transitions=[
            t(s.PENDING_PAYMENT, e.PAY, s.AWAITING_SHIPMENT, ["paid_in_full"]),
            t(s.PENDING_PAYMENT, e.CANCEL, s.CLOSED, ["nothing_paid"]),
            t(s.PENDING_PAYMENT, e.EXPIRE, s.CLOSED, ["nothing_paid"]),
            t(s.AWAITING_SHIPMENT, e.SHIP, s.SHIPPED, ["fully_shipped"]),
            t(s.AWAITING_SHIPMENT, e.SHIP_PARTIAL, s.PARTIALLY_SHIPPED, ["partly_shipped"]),
            t(s.AWAITING_SHIPMENT, e.CANCEL, s.CLOSED, ["nothing_paid"]),
            t(s.AWAITING_SHIPMENT, e.REFUND_FULL, s.CLOSED, ["fully_refunded"]),
            t(s.PARTIALLY_SHIPPED, e.SHIP_PARTIAL, s.PARTIALLY_SHIPPED, ["partly_shipped"]),
            t(s.PARTIALLY_SHIPPED, e.SHIP, s.SHIPPED, ["fully_shipped"]),
            t(s.PARTIALLY_SHIPPED, e.REFUND_FULL, s.CLOSED, ["fully_refunded"]),
            t(s.SHIPPED, e.DELIVER, s.DELIVERED),
            t(s.SHIPPED, e.REFUND_FULL, s.CLOSED, ["fully_refunded"]),
            t(s.DELIVERED, e.COMPLETE, s.COMPLETED),
            t(s.DELIVERED, e.REFUND_FULL, s.CLOSED, ["fully_refunded"]),
            t(s.COMPLETED, e.REFUND_FULL, s.CLOSED, ["fully_refunded"]),
        ],
        guards=GUARDS,
        labels=LABELS,
    )
