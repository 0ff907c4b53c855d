"""Sample data for the storage contracts: a catalog, orders, events, every payload type.

Public so a host can write extra tests for its own adapter in the same terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from orderkit.domain.address import Suspicion
from orderkit.domain.aftersales import RefundLine, Return, ReturnLine
from orderkit.domain.events import (
    AddressFlagged,
    EditApplied,
    EditRejected,
    EditRequested,
    FieldChange,
    LowStock,
    NewEvent,
    NoteAdded,
    NotificationFailed,
    NotificationQueued,
    NotificationSent,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
    PaymentCaptured,
    PaymentReminderDue,
    ReceiptClicked,
    ReceiptConfirmed,
    ReceiptOpened,
    RefundIssued,
    ReturnApproved,
    ReturnExchanged,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
    ShipmentDelivered,
    ShipmentException,
    ShipmentReturnedToSender,
    StatusChanged,
    StockAdjusted,
    StockCommitted,
    StockReceived,
    StockReleased,
    StockReserved,
    StockWrittenOff,
    TagAdded,
    TagRemoved,
    TrackingUpdated,
)
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.domain.money import Money
from orderkit.domain.order import (
    AddLine,
    Address,
    Adjustment,
    AdjustmentKind,
    ChangeAddress,
    ChangePrice,
    ChangeQuantity,
    Customer,
    EditRequest,
    LineDraft,
    LineItem,
    Note,
    Order,
    Payment,
    Refund,
    RemoveLine,
    SalesChannel,
    Shipment,
    ShipmentLine,
)
from orderkit.domain.shipping import TrackingEvent
from orderkit.ports import IdempotencyRecord, OrderQuery

__all__ = [
    "CATALOG",
    "HERE",
    "HOME",
    "PARCEL_1Z",
    "PRICES",
    "START",
    "held",
    "level",
    "rich_order",
    "sample_event",
    "sample_order",
    "sample_payloads",
    "sample_record",
    "sample_tracking",
    "usd",
]

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
"""Where the contract's clock starts: 2026-11-23 09:00 UTC."""

PRICES: Mapping[str, Money] = {
    "CAP": Money("7.25", "USD"),
    "MUG": Money("12.50", "USD"),
    "TEE": Money("19.99", "USD"),
}
CATALOG: Mapping[str, int] = {"CAP": 20, "MUG": 10, "TEE": 5}
HOME = Address("Lin Wei", "1 West Lake Road", "Hangzhou", "CN", postal_code="310000")
HERE = "default"
PARCEL_1Z = OrderQuery(carrier="ups", tracking_number="1Z999")


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def level(sku: str, on_hand: int, reserved: int, threshold: int = 0) -> StockLevel:
    """A stock level at the default location."""
    return StockLevel(sku, HERE, on_hand, reserved, threshold)


def held(*items: tuple[str, int]) -> tuple[StockMovement, ...]:
    """Reservations at the default location, as :meth:`StockRepository.reservations` lists them."""
    return tuple(StockMovement(sku, HERE, quantity) for sku, quantity in items)


# -- sample data for the port-level tests --------------------------------------------------------


def sample_order(
    order_id: str = "ord-1",
    number: str = "T-000001",
    *,
    created_at: datetime = START,
    tags: Iterable[str] = (),
) -> Order:
    """A small, valid order (two mugs, unpaid) to write through the port directly."""
    return Order(
        id=order_id,
        number=number,
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=HOME,
        lines=(LineItem("L1", "MUG", "Mug", 2, PRICES["MUG"]),),
        currency="USD",
        status="pending_payment",
        created_at=created_at,
        updated_at=created_at,
        tags=tuple(tags),
    )


def rich_order() -> Order:
    """An order using every field, with values that trip up serialization."""
    at = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=timezone.utc)
    cny = "CNY"
    new_address = Address("王芳", "滨江区 88 号", "杭州", "CN", region="浙江")
    return Order(
        id="ord-rich",
        number="SO-2026-000123",
        customer=Customer("c-9", "王芳", email="wang@example.cn", phone="+86 571 8888 0000"),
        shipping_address=Address(
            "王芳",
            "西湖区 1 号",
            "杭州",
            "CN",
            line2='Room 2, "Lake" building',
            region="浙江",
            postal_code="310000",
            phone="+86 571 8888 0000",
            company="Lake & Co",
        ),
        billing_address=Address("Wang Fang", "1 West Lake Road", "Hangzhou", "CN"),
        lines=(
            LineItem(
                "L1",
                "MUG-CEL-01",
                "青瓷杯 Celadon mug",
                2,
                Money("89.00", cny),
                unit_cost=Money("31.40", cny),
                tax_rate=Decimal("0.13"),
                weight_grams=420,
                attributes={"colour": "青", "size": "M"},
            ),
            LineItem("L2", "TEA-LJ-50", "龙井 50 g", 1, Money("0.00", cny), location="hangzhou"),
        ),
        currency=cny,
        status="partially_shipped",
        created_at=at,
        updated_at=at + timedelta(hours=3),
        channel=SalesChannel.MARKETPLACE,
        prices_include_tax=True,
        adjustments=(
            Adjustment(AdjustmentKind.DISCOUNT, "10% off", percent=Decimal("10")),
            Adjustment(
                AdjustmentKind.COUPON, "Welcome", amount=Money("5.00", cny), code="HI", line_id="L1"
            ),
            Adjustment(AdjustmentKind.SHIPPING, "SF Express", amount=Money("12.00", cny)),
        ),
        tags=("vip", "gift"),
        group="east",
        locale="zh_Hans",
        payments=(Payment("pay-1", Money("100.00", cny), "alipay-1", "alipay", at),),
        refunds=(
            Refund("rf-1", Money("10.00", cny), "alipay-rf-1", "damaged", at),
            Refund(
                "rf-2",
                Money("0.00", cny),
                "alipay-rf-2",
                "不想要了",
                at,
                (RefundLine("L2", 1, Money("0.00", cny)),),
                "ret-1",
            ),
        ),
        shipments=(
            Shipment(
                "sh-1",
                (ShipmentLine("L1", 1),),
                "sf",
                "SF1234567890",
                at,
                tracking_url="https://sf.example/track?n=SF1234567890&lang=zh",
                service="次日达",
                label_ref="lbl/1",
                tracking_status="exception",
                tracking=(sample_tracking("e-2", "exception", at), sample_tracking("e-1")),
            ),
            Shipment("sh-2", (ShipmentLine("L2", 1),), "manual", "", at, delivered_at=at),
            Shipment("sh-3", (ShipmentLine("L2", 1),), "manual", "", at, return_id="ret-2"),
        ),
        returns=(
            Return(
                "ret-1",
                "refund_only",
                (ReturnLine("L2", 1, "lost"),),
                "refunded",
                at,
                "cs@shop",
                refund_id="rf-2",
                shipment_id="sh-2",
            ),
            Return(
                "ret-2",
                "exchange",
                (ReturnLine("L2", 1, "尺码不合适", "write_off"),),
                "exchanged",
                at,
                "c-9",
                reason="wrong size",
                replacement_shipment_id="sh-3",
            ),
        ),
        notes=(Note(at, "cs@shop", "多谢 — thanks\nsecond line"),),
        pending_edits=(
            EditRequest(
                "ed-1",
                (
                    ChangeQuantity("L1", 3),
                    ChangePrice("L1", Money("79.00", cny)),
                    ChangeAddress(new_address),
                    AddLine(LineDraft("CUP", "Cup", 1, Money("9.90", cny))),
                    RemoveLine("L2"),
                ),
                "alice",
                at,
                "customer called",
            ),
        ),
        stock_reserved=True,
    )


def sample_tracking(
    event_id: str = "e-1", status: str = "in_transit", at: datetime = START
) -> TrackingEvent:
    """A tracking event of parcel ``SF1234567890`` with the carrier's own words kept."""
    return TrackingEvent(
        event_id,
        "sf",
        "SF1234567890",
        status,
        at,
        location="杭州转运中心",
        carrier_code="30",
        carrier_text="快件已发车 — departed",
    )


def sample_payloads() -> list[object]:
    """One payload of every event type orderkit records, with awkward values."""
    order = rich_order()
    edit = order.pending_edits[0]
    moves = (StockMovement("MUG-CEL-01", HERE, 2), StockMovement("TEA-LJ-50", "hangzhou", 1))
    return [
        OrderPlaced(
            order.number,
            order.customer.id,
            order.channel,
            order.currency,
            Money("178.00", "CNY"),
            order.lines,
            order.adjustments,
            order.shipping_address,
        ),
        StatusChanged("pending_payment", "awaiting_shipment", "pay"),
        PaymentCaptured(order.payments[0], Money("0", "JPY")),
        RefundIssued(order.refunds[0], Money("1.250", "KWD")),
        StockReserved(moves),
        StockReleased(moves[:1]),
        StockCommitted(()),
        OrderShipped(order.shipments[0]),
        OrderDelivered(("sh-1", "sh-2")),
        EditRequested(edit),
        EditApplied("ed-1", "alice", None, (FieldChange("lines[L1].quantity", "2", "3"),)),
        EditRejected("ed-2", "alice", "bob"),
        TagAdded("vip"),
        TagRemoved("急"),
        NoteAdded('she said "leave it at the door"\n门口 ✓'),
        StockReceived("MUG", HERE, 10, 10),
        StockAdjusted("MUG", HERE, -3, 7),
        LowStock("MUG", HERE, 1, 3),
        AddressFlagged(
            "shipping_address",
            (
                Suspicion(
                    "line1", "po_box", "'邮政信箱 100号' looks like a 邮政信箱 (PO box) — \"?\""
                ),
                Suspicion(
                    "phone", "phone_implausible", "'+86 139 9999 9999' looks like a placeholder"
                ),
            ),
        ),
        PaymentReminderDue(order.created_at, Money("178.00", "CNY")),
        NotificationQueued("e-1", "order_placed", "email", "wang@example.cn", "zh_Hans"),
        NotificationSent("e-1", "order_placed", "email", 2),
        NotificationFailed("e-1", "shipped", "sms", 3, "550 no such user\n用户不存在", dead=True),
        NotificationFailed("e-2", "shipped", "email", 1, "timeout", dead=False, retry_at=START),
        ReceiptOpened("e-1"),
        ReceiptClicked("e-1", "https://shop.example/track?o=SO-2026-000123&l=zh_Hans#top"),
        TrackingUpdated("sh-1", sample_tracking(), "in_transit", False),
        ShipmentDelivered("sh-2", START),
        ShipmentException("sh-1", "sf", "SF1234567890", sample_tracking("e-2", "exception")),
        ShipmentReturnedToSender(
            "sh-1", "sf", "SF1234567890", sample_tracking("e-3", "returned_to_sender")
        ),
        ReceiptConfirmed(("sh-1",)),
        ReturnRequested(order.returns[1]),
        ReturnApproved("ret-2", "exchange", order.returns[1].lines),
        ReturnRejected("ret-3"),
        ReturnReceived("ret-2", order.returns[1].lines),
        ReturnExchanged("ret-2", "sh-3"),
        StockWrittenOff("MUG", HERE, 1, "ret-2"),
    ]


def sample_event(stream: str = "order:ord-1", text: str = "hello") -> NewEvent:
    return NewEvent(stream, START, "tester", "because", NoteAdded(text))


def sample_record(key: str, request_hash: str = "hash-1") -> IdempotencyRecord:
    return IdempotencyRecord(key, "place", request_hash, "ord-1", START)
