"""The storage contract: one suite that every storage adapter passes, error behaviour included.

Subclass :class:`StorageContract` in a test module (its name must start with ``Test`` for
pytest to collect it) and provide one fixture, ``make_storage``: a zero-argument callable that
returns a fresh, empty storage each time it is called. The fixture owns cleanup (files,
schemas); the contract closes every storage it asks for. Nothing else is needed, and no test
is copied per backend.

The tests drive storage two ways: through :class:`~orderkit.service.OrderService`, the way a
shop uses it (a command that raises must have changed nothing), and directly through a
:class:`~orderkit.ports.UnitOfWork`, the port itself: what each method raises, what a
rollback undoes, and that what is read back equals what was written.

The builders here (:func:`sample_order`, :func:`snapshot`, …) are public so a host can write
extra tests for its own adapter in the same terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.address import Suspicion
from orderkit.domain.aftersales import RefundLine, Return, ReturnLine
from orderkit.domain.events import (
    EVENT_TYPES,
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
    RecordedEvent,
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
from orderkit.domain.inventory import ReservationPolicy, StockLevel, StockMovement, received
from orderkit.domain.lifecycle import default_order_machine
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
    OrderDraft,
    Payment,
    Refund,
    RemoveLine,
    SalesChannel,
    Shipment,
    ShipmentLine,
)
from orderkit.domain.shipping import TrackingEvent
from orderkit.domain.status import StatusMachine, Transition
from orderkit.errors import (
    ConcurrencyConflict,
    EditNotAllowed,
    EditNotFound,
    GuardRefused,
    IdempotencyConflict,
    InvalidStockAdjustment,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    Overpayment,
    RefundExceedsPayment,
    SelfApproval,
    StorageError,
    UnknownSku,
    ValidationError,
)
from orderkit.notify.outbox import OutboxEntry, OutboxQuery, OutboxStatus
from orderkit.ports import IdempotencyRecord, OrderQuery, Storage, UnitOfWork
from orderkit.service import OrderService
from orderkit.testing.outbox import OutboxContract, sample_entry

__all__ = [
    "START",
    "StorageContract",
    "StorageSnapshot",
    "probe",
    "reservations",
    "review_machine",
    "rich_order",
    "sample_event",
    "sample_order",
    "sample_payloads",
    "seed",
    "snapshot",
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


# -- reading storage back ----------------------------------------------------------------------


@attrs.frozen
class StorageSnapshot:
    """Everything a reader can see; equal snapshots mean nothing visible changed."""

    orders: tuple[Order, ...]
    stock: tuple[StockLevel, ...]
    reservations: tuple[tuple[str, StockMovement], ...]
    events: tuple[RecordedEvent, ...]
    outbox: tuple[OutboxEntry, ...] = ()


def snapshot(storage: Storage) -> StorageSnapshot:
    """Every order, stock level, reservation, event and outbox entry, read in one reader."""
    orders: list[Order] = []
    events: list[RecordedEvent] = []
    outbox: list[OutboxEntry] = []
    with storage.reader() as uow:
        cursor: str | None = None
        while True:
            page = uow.orders.find(OrderQuery(limit=1000, cursor=cursor))
            orders.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        while batch := uow.events.read(after=events[-1].position if events else 0):
            events.extend(batch)
        cursor = None
        while True:
            entries = uow.outbox.find(OutboxQuery(limit=1000, cursor=cursor))
            outbox.extend(entries.items)
            if entries.next_cursor is None:
                break
            cursor = entries.next_cursor
        return StorageSnapshot(
            tuple(orders),
            tuple(uow.stock.all()),
            tuple(uow.stock.reservations()),
            tuple(events),
            tuple(outbox),
        )


def reservations(storage: Storage, order_id: str) -> tuple[StockMovement, ...]:
    """What the order holds now."""
    with storage.reader() as uow:
        return holds(uow, order_id)


def holds(uow: UnitOfWork, order_id: str) -> tuple[StockMovement, ...]:
    """What the order holds, as movements (:meth:`StockRepository.reservations` less the
    order ids)."""
    return tuple(movement for _, movement in uow.stock.reservations(order_id))


def receive(uow: UnitOfWork, sku: str, location: str, quantity: int) -> StockLevel:
    """Receive stock through the port as the service does: the rule
    (:func:`orderkit.domain.inventory.received`) over the stored level, then a conditional
    write."""
    stored = uow.stock.get(sku, location)
    return uow.stock.put(received(stored, sku, location, quantity), expected=stored)


def stream(storage: Storage, name: str) -> list[RecordedEvent]:
    with storage.reader() as uow:
        return uow.events.stream(name)


def payloads(events: Iterable[RecordedEvent], kind: type | None = None) -> list[object]:
    return [e.payload for e in events if kind is None or isinstance(e.payload, kind)]


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


def seed(storage: Storage) -> Order:
    """Commit a small shop: ten mugs, order ``ord-1`` holding two, one event, key ``k-1``,
    sequence ``n`` at 1, outbox entry ``e-1`` queued."""
    order = sample_order()
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", HERE, 10)
        uow.orders.add(order)
        uow.stock.reserve(order.id, held(("MUG", 2)))
        uow.events.append([sample_event()])
        uow.idempotency.claim(sample_record("k-1"))
        uow.sequences.next("n")
        uow.outbox.add([sample_entry("e-1")])
        uow.commit()
    return order


def probe(storage: Storage) -> tuple[StorageSnapshot, IdempotencyRecord | None, int]:
    """A :func:`snapshot` plus what it cannot see: whether key ``k-2`` is claimed and the next
    value of sequence ``n``, asked in a unit of work that is then rolled back."""
    with storage.unit_of_work() as uow:
        claimed = uow.idempotency.claim(sample_record("k-2"))
        following = uow.sequences.next("n")
    return snapshot(storage), claimed, following


def review_machine() -> StatusMachine[Order]:
    """A host's machine: paid orders wait in ``awaiting_review`` until someone approves them."""
    return default_order_machine().extend(
        states=["awaiting_review", "review_rejected"],
        remove=[("pending_payment", "pay")],
        transitions=[
            Transition("pending_payment", "pay", "awaiting_review", ["paid_in_full"]),
            Transition("awaiting_review", "approve_review", "awaiting_shipment"),
            Transition("awaiting_review", "reject_review", "review_rejected"),
            Transition("awaiting_review", "refund_full", "closed", ["fully_refunded"]),
            Transition("review_rejected", "refund_full", "closed", ["fully_refunded"]),
        ],
        name="order-with-review",
    )


# Every way to write through a unit of work, against the shop :func:`seed` commits.
WRITES: Mapping[str, Callable[[UnitOfWork], object]] = {
    "orders.add": lambda uow: uow.orders.add(sample_order("ord-2", "T-000002")),
    "orders.save": lambda uow: uow.orders.save(attrs.evolve(sample_order(), version=2)),
    "stock.put": lambda uow: uow.stock.put(level("MUG", 11, 2), expected=level("MUG", 10, 2)),
    "stock.reserve": lambda uow: uow.stock.reserve("ord-2", held(("MUG", 1))),
    "stock.release": lambda uow: uow.stock.release("ord-1"),
    "stock.release-shipped": lambda uow: uow.stock.release("ord-1", held(("MUG", 1)), shipped=True),
    "events.append": lambda uow: uow.events.append([sample_event(text="late")]),
    "idempotency.claim": lambda uow: uow.idempotency.claim(sample_record("k-2")),
    "sequences.next": lambda uow: uow.sequences.next("n"),
    "outbox.add": lambda uow: uow.outbox.add([sample_entry("e-2")]),
    "outbox.claim_due": lambda uow: uow.outbox.claim_due(START, 10, START + timedelta(minutes=1)),
    "outbox.update": lambda uow: uow.outbox.update(
        attrs.evolve(sample_entry("e-1"), status=OutboxStatus.DEAD), expected=sample_entry("e-1")
    ),
}
READS: Mapping[str, Callable[[UnitOfWork], object]] = {
    "orders.get": lambda uow: uow.orders.get("ord-1"),
    "orders.find": lambda uow: uow.orders.find(OrderQuery()),
    "stock.get": lambda uow: uow.stock.get("MUG", HERE),
    "stock.all": lambda uow: uow.stock.all(),
    "stock.reservations": lambda uow: holds(uow, "ord-1"),
    "events.stream": lambda uow: uow.events.stream("order:ord-1"),
    "events.read": lambda uow: uow.events.read(),
    "outbox.get": lambda uow: uow.outbox.get("e-1"),
    "outbox.find": lambda uow: uow.outbox.find(OutboxQuery()),
}
USES: Mapping[str, Callable[[UnitOfWork], object]] = {
    **READS,
    **WRITES,
    "commit": lambda uow: uow.commit(),
}


class _Boom(Exception):
    """Raised inside a unit of work to prove an exception rolls it back."""


class StorageContract(OutboxContract):
    """The behaviour every storage adapter shares; subclass it and provide ``make_storage``.

    Fixtures provided: ``storage`` (a fresh storage, closed afterwards), ``clock`` (a
    :class:`FixedClock` at 2026-11-23 09:00 UTC), ``ids`` (sequential ids) and ``service``
    (an :class:`OrderService` over them). Builders: :meth:`draft`, :meth:`stock_catalog`,
    :meth:`place`, :meth:`paid_order`.
    """

    # -- fixtures ------------------------------------------------------------------------------

    @pytest.fixture
    def storage(self, make_storage: Callable[[], Storage]) -> Iterator[Storage]:
        """A fresh, empty storage from the host's ``make_storage``; closed after the test."""
        storage = make_storage()
        yield storage
        storage.close()

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(START)

    @pytest.fixture
    def ids(self) -> SequentialIds:
        return SequentialIds("id-")

    @pytest.fixture
    def service(self, storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        return OrderService(storage, clock=clock, ids=ids)

    # -- builders ------------------------------------------------------------------------------

    @staticmethod
    def draft(
        *lines: tuple[str, int],
        customer_id: str = "c-1",
        channel: str = SalesChannel.WEB,
        tags: Iterable[str] = (),
        group: str | None = None,
        note: str = "",
    ) -> OrderDraft:
        """An order draft for ``(sku, quantity)`` lines at the catalog's prices (USD)."""
        return OrderDraft(
            customer=Customer(customer_id, "Lin Wei"),
            shipping_address=HOME,
            lines=tuple(
                LineDraft(sku, sku.title(), qty, PRICES.get(sku, usd("1.00"))) for sku, qty in lines
            ),
            channel=channel,
            tags=tuple(tags),
            group=group,
            note=note,
        )

    @staticmethod
    def stock_catalog(service: OrderService, levels: Mapping[str, int] = CATALOG) -> None:
        """Receive stock at the default location: 20 caps, 10 mugs and 5 tees unless told."""
        for sku, quantity in levels.items():
            service.receive_stock(sku, quantity, actor="warehouse")

    def place(self, service: OrderService, *lines: tuple[str, int], **options: Any) -> Order:
        """Place an order for ``(sku, quantity)`` lines; ``options`` go to :meth:`draft`."""
        return service.place(self.draft(*lines, **options), actor="web")

    def paid_order(self, service: OrderService, *lines: tuple[str, int], **options: Any) -> Order:
        """Place an order and pay it in full."""
        order = self.place(service, *lines, **options)
        return service.pay(order.id, order.total, reference=f"psp-{order.id}")

    @staticmethod
    def at_payment(storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        """A service that reserves stock when an order is paid, not when it is placed."""
        return OrderService(
            storage, clock=clock, ids=ids, reservation_policy=ReservationPolicy.AT_PAYMENT
        )

    @staticmethod
    def with_review(storage: Storage, clock: FixedClock, ids: SequentialIds) -> OrderService:
        return OrderService(storage, clock=clock, ids=ids, machine=review_machine())

    # -- placing -------------------------------------------------------------------------------

    def test_placing_an_order_reserves_its_stock(self, service: OrderService) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 3), ("TEE", 1))
        assert [level("MUG", 10, 3), level("TEE", 5, 1)] == [
            service.stock("MUG"),
            service.stock("TEE"),
        ]

    def test_placing_an_order_records_what_it_holds(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("TEE", 1), ("MUG", 3))
        assert held(("MUG", 3), ("TEE", 1)) == reservations(storage, order.id)

    def test_a_placed_order_reads_back_equal_to_the_one_returned(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3), tags=["gift"], group="north", note="ring twice")
        assert order == service.get(order.id)

    def test_orders_are_numbered_from_one_without_gaps(self, service: OrderService) -> None:
        self.stock_catalog(service)
        numbers = [self.place(service, ("MUG", 1)).number for _ in range(3)]
        assert ["SO-2026-000001", "SO-2026-000002", "SO-2026-000003"] == numbers

    def test_a_placement_refused_for_lack_of_stock_names_the_short_sku(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"CAP": 5, "MUG": 1})
        with pytest.raises(OutOfStock) as refused:
            service.place(self.draft(("CAP", 2), ("MUG", 2)))
        assert ("MUG", HERE, 2, 1) == (
            refused.value.sku,
            refused.value.location,
            refused.value.requested,
            refused.value.available,
        )

    def test_placing_an_order_for_a_sku_never_stocked_raises_unknown_sku_an_out_of_stock(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        with pytest.raises(OutOfStock) as refused:
            self.place(service, ("MUG", 1), ("MUGG", 2))
        assert (UnknownSku, "MUGG", 2, 0) == (
            type(refused.value),
            refused.value.sku,
            refused.value.requested,
            refused.value.available,
        )

    def test_a_placement_refused_for_lack_of_stock_writes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        # CAP sorts before MUG, so CAP is reserved before MUG runs out: that must be undone.
        self.stock_catalog(service, {"CAP": 5, "MUG": 1})
        self.place(service, ("CAP", 1))
        before = snapshot(storage)
        with pytest.raises(OutOfStock):
            service.place(self.draft(("CAP", 2), ("MUG", 2)))
        assert before == snapshot(storage)

    def test_a_placement_refused_as_invalid_writes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.place(self.draft(("MUG", 1), ("TEE", 0)))
        assert ("lines[1].quantity", before) == (refused.value.field, snapshot(storage))

    def test_a_refused_placement_leaves_no_gap_in_the_order_numbers(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 2})
        first = self.place(service, ("MUG", 1))
        with pytest.raises(OutOfStock):
            service.place(self.draft(("MUG", 5)))
        with pytest.raises(ValidationError):
            service.place(self.draft(("MUG", 1), customer_id=""))
        second = self.place(service, ("MUG", 1))
        assert ["SO-2026-000001", "SO-2026-000002"] == [first.number, second.number]

    def test_two_lines_of_one_sku_are_checked_together_against_stock(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        with pytest.raises(OutOfStock) as refused:
            service.place(self.draft(("MUG", 3), ("MUG", 3)))
        assert (6, 5) == (refused.value.requested, refused.value.available)

    def test_two_lines_of_one_sku_reserve_their_sum(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        order = self.place(service, ("MUG", 3), ("MUG", 2))
        assert (level("MUG", 5, 5), held(("MUG", 5))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    # -- paying --------------------------------------------------------------------------------

    def test_paying_in_full_moves_the_order_to_awaiting_shipment(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("25.00"), reference="psp-1")
        stored = service.get(order.id)
        assert ("awaiting_shipment", usd("25.00"), usd("0.00")) == (
            stored.status,
            stored.amount_paid,
            stored.balance_due,
        )

    def test_a_partial_payment_keeps_the_order_pending_with_the_balance_due(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        stored = service.get(order.id)
        assert ("pending_payment", usd("15.00")) == (stored.status, stored.balance_due)

    def test_an_overpayment_is_refused_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        before = snapshot(storage)
        with pytest.raises(Overpayment):
            service.pay(order.id, usd("15.01"), reference="psp-2")
        assert before == snapshot(storage)

    def test_paying_a_closed_order_raises_invalid_transition_naming_state_event_and_allowed(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.cancel(order.id, actor="cs", reason="customer changed their mind")
        with pytest.raises(InvalidTransition) as refused:
            service.pay(order.id, order.total, reference="late")
        assert ("closed", "pay", ()) == (
            refused.value.state,
            refused.value.event,
            refused.value.allowed,
        )

    def test_paying_a_paid_order_again_lists_the_events_its_state_allows(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        with pytest.raises(InvalidTransition) as refused:
            service.pay(order.id, usd("1.00"), reference="again")
        assert ("awaiting_shipment", ("ship", "ship_partial", "cancel", "refund_full")) == (
            refused.value.state,
            refused.value.allowed,
        )

    # -- shipping, delivering, completing ------------------------------------------------------

    def test_shipping_part_of_an_order_marks_it_partially_shipped(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2}, carrier="sf", tracking_number="SF1")
        assert "partially_shipped" == service.get(order.id).status

    def test_shipping_part_of_an_order_commits_stock_for_that_part_only(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2}, carrier="sf", tracking_number="SF1")
        assert ([level("MUG", 8, 1), level("TEE", 5, 1)], held(("MUG", 1), ("TEE", 1))) == (
            [service.stock("MUG"), service.stock("TEE")],
            reservations(storage, order.id),
        )

    def test_shipping_more_than_is_left_raises_validation_error_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.ship(order.id, {"L1": 2})
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.ship(order.id, {"L1": 2})
        assert ("lines[L1]", before) == (refused.value.field, snapshot(storage))

    def test_shipping_the_rest_marks_the_order_shipped_and_commits_the_rest(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2})
        service.ship(order.id)
        assert ("shipped", [level("MUG", 7, 0), level("TEE", 4, 0)], ()) == (
            service.get(order.id).status,
            [service.stock("MUG"), service.stock("TEE")],
            reservations(storage, order.id),
        )

    def test_delivering_marks_the_order_and_every_shipment_delivered(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.ship(order.id, {"L1": 1})
        service.ship(order.id)
        arrived = clock.advance(timedelta(days=2))
        delivered = service.get(service.deliver(order.id).id)
        assert ("delivered", [arrived, arrived]) == (
            delivered.status,
            [s.delivered_at for s in delivered.shipments],
        )

    def test_completing_a_delivered_order_marks_it_completed(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 1))
        service.ship(order.id)
        service.deliver(order.id)
        service.complete(order.id)
        assert "completed" == service.get(order.id).status

    def _whole_lifecycle(self, service: OrderService) -> Order:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3), ("TEE", 1))
        service.ship(order.id, {"L1": 2})
        service.ship(order.id)
        service.deliver(order.id)
        return service.complete(order.id)

    def test_an_order_history_lists_every_event_of_its_lifecycle_in_order(
        self, service: OrderService
    ) -> None:
        order = self._whole_lifecycle(service)
        assert [
            "OrderPlaced",
            "StockReserved",
            "PaymentCaptured",
            "StatusChanged",
            "StatusChanged",
            "OrderShipped",
            "StockCommitted",
            "StatusChanged",
            "OrderShipped",
            "StockCommitted",
            "ShipmentDelivered",
            "ShipmentDelivered",
            "StatusChanged",
            "OrderDelivered",
            "StatusChanged",
        ] == [e.type for e in service.history(order.id)]

    def test_the_status_changes_in_an_order_history_trace_its_path(
        self, service: OrderService
    ) -> None:
        order = self._whole_lifecycle(service)
        assert [
            StatusChanged("pending_payment", "awaiting_shipment", "pay"),
            StatusChanged("awaiting_shipment", "partially_shipped", "ship_partial"),
            StatusChanged("partially_shipped", "shipped", "ship"),
            StatusChanged("shipped", "delivered", "deliver"),
            StatusChanged("delivered", "completed", "complete"),
        ] == payloads(service.history(order.id), StatusChanged)

    def test_an_order_history_records_who_acted_and_why(self, service: OrderService) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 1))
        service.cancel(order.id, actor="cs@shop", reason="duplicate order")
        last = service.history(order.id)[-1]
        assert ("cs@shop", "duplicate order", START) == (last.actor, last.reason, last.at)

    # -- cancelling and refunding --------------------------------------------------------------

    def test_cancelling_an_unpaid_order_closes_it_and_releases_its_reservation(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert ("closed", level("MUG", 10, 0), ()) == (
            service.get(order.id).status,
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_cancelling_a_paid_order_is_refused_with_a_reason_that_mentions_refund(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        with pytest.raises(GuardRefused) as refused:
            service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert ("nothing_paid", True) == (refused.value.guard, "refund" in refused.value.reason)

    def test_a_refused_cancellation_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        before = snapshot(storage)
        with pytest.raises(GuardRefused):
            service.cancel(order.id, actor="cs", reason="customer changed their mind")
        assert before == snapshot(storage)

    def test_a_full_refund_closes_the_order_and_releases_its_stock(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, order.total, reference="rf-1", reason="cannot deliver")
        assert ("closed", level("MUG", 10, 0), ()) == (
            service.get(order.id).status,
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_a_partial_refund_keeps_the_status_and_the_reservation(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        stored = service.get(order.id)
        assert ("awaiting_shipment", usd("32.50"), held(("MUG", 3))) == (
            stored.status,
            stored.net_paid,
            reservations(storage, order.id),
        )

    def test_a_refund_is_recorded_with_the_total_refunded_so_far(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 3))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        service.refund(order.id, usd("2.50"), reference="rf-2", reason="late")
        issued = payloads(service.history(order.id), RefundIssued)
        assert [usd("5.00"), usd("7.50")] == [
            p.total_refunded for p in issued if isinstance(p, RefundIssued)
        ]

    def test_refunding_more_than_is_held_raises_refund_exceeds_payment_and_changes_nothing(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.refund(order.id, usd("5.00"), reference="rf-1", reason="scratched")
        before = snapshot(storage)
        with pytest.raises(RefundExceedsPayment):
            service.refund(order.id, usd("20.01"), reference="rf-2", reason="more")
        assert before == snapshot(storage)

    # -- expiring ------------------------------------------------------------------------------

    def test_expiring_closes_only_unpaid_orders_older_than_the_cutoff(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        old_unpaid = self.place(service, ("MUG", 1))
        old_paid = self.paid_order(service, ("MUG", 1))
        clock.advance(timedelta(minutes=30))
        young_unpaid = self.place(service, ("MUG", 1))
        clock.advance(timedelta(minutes=31))
        expired = service.expire_unpaid(older_than=timedelta(hours=1))
        assert (
            [old_unpaid.id],
            ["closed", "awaiting_shipment", "pending_payment"],
        ) == (
            [o.id for o in expired],
            [service.get(o.id).status for o in (old_unpaid, old_paid, young_unpaid)],
        )

    def test_an_expired_order_releases_its_stock(
        self, service: OrderService, storage: Storage, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 4))
        clock.advance(timedelta(hours=2))
        service.expire_unpaid(older_than=timedelta(hours=1))
        assert (level("MUG", 10, 0), ()) == (service.stock("MUG"), reservations(storage, order.id))

    def test_expiring_looks_past_partly_paid_orders_to_the_limit_of_expired_ones(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        old = self.place(service, ("MUG", 1))
        clock.advance(timedelta(minutes=1))
        partly_paid = self.place(service, ("MUG", 1))
        service.pay(partly_paid.id, usd("1.00"), reference="psp-deposit")
        clock.advance(timedelta(hours=2))
        expired = service.expire_unpaid(older_than=timedelta(hours=1), limit=1)
        assert ([old.id], "pending_payment") == (
            [o.id for o in expired],
            service.get(partly_paid.id).status,
        )

    # -- idempotency ---------------------------------------------------------------------------

    def test_placing_again_with_the_same_key_returns_the_original_order(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        draft = self.draft(("MUG", 2))
        first = service.place(draft, idempotency_key="cart-42")
        again = service.place(draft, idempotency_key="cart-42")
        assert first == again

    def test_placing_again_with_the_same_key_stores_one_order_and_reserves_once(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        draft = self.draft(("MUG", 2))
        first = service.place(draft, idempotency_key="cart-42")
        service.place(draft, idempotency_key="cart-42")
        assert ([first.id], level("MUG", 10, 2)) == (
            [o.id for o in snapshot(storage).orders],
            service.stock("MUG"),
        )

    def test_reusing_a_placement_key_for_a_different_draft_raises_idempotency_conflict(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        service.place(self.draft(("MUG", 2)), idempotency_key="cart-42")
        before = snapshot(storage)
        with pytest.raises(IdempotencyConflict) as refused:
            service.place(self.draft(("MUG", 3)), idempotency_key="cart-42")
        assert ("cart-42", before) == (refused.value.key, snapshot(storage))

    def test_a_refused_placement_does_not_use_up_its_idempotency_key(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service, {"MUG": 1})
        draft = self.draft(("MUG", 2))
        with pytest.raises(OutOfStock):
            service.place(draft, idempotency_key="cart-42")
        service.receive_stock("MUG", 5, actor="warehouse")
        order = service.place(draft, idempotency_key="cart-42")
        assert order == service.get(order.id)

    def test_paying_again_with_the_same_key_records_one_payment(
        self, service: OrderService
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, order.total, reference="psp-1", idempotency_key="pay-1")
        again = service.pay(order.id, order.total, reference="psp-1", idempotency_key="pay-1")
        assert ("awaiting_shipment", 1, 1) == (
            again.status,
            len(service.get(order.id).payments),
            len(payloads(service.history(order.id), PaymentCaptured)),
        )

    def test_reusing_a_payment_key_for_a_different_amount_raises_idempotency_conflict(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        service.pay(order.id, usd("10.00"), reference="psp-1", idempotency_key="pay-1")
        before = snapshot(storage)
        with pytest.raises(IdempotencyConflict):
            service.pay(order.id, usd("11.00"), reference="psp-1", idempotency_key="pay-1")
        assert before == snapshot(storage)

    # -- edits ---------------------------------------------------------------------------------

    def _request_price_change(self, service: OrderService) -> Order:
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        return service.request_edit(
            order.id, [ChangePrice("L1", usd("11.00"))], actor="alice", reason="price match"
        )

    def _request_quantity(self, service: OrderService, order: Order, quantity: int) -> str:
        edited = service.request_edit(
            order.id, [ChangeQuantity("L1", quantity)], actor="alice", reason="customer called"
        )
        return edited.pending_edits[-1].edit_id

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

    # -- queries -------------------------------------------------------------------------------

    def test_getting_an_unknown_order_raises_order_not_found_which_is_a_lookup_error(
        self, service: OrderService
    ) -> None:
        with pytest.raises(LookupError) as refused:
            service.get("no-such-order")
        assert OrderNotFound is type(refused.value)

    def test_an_order_is_found_by_its_number(self, service: OrderService) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 1))
        second = self.place(service, ("TEE", 1))
        assert second == service.get_by_number("SO-2026-000002")

    def test_an_unknown_number_raises_order_not_found(self, service: OrderService) -> None:
        with pytest.raises(OrderNotFound) as refused:
            service.get_by_number("SO-2026-999999")
        assert "SO-2026-999999" == refused.value.ref

    def _orders_for_queries(self, service: OrderService, clock: FixedClock) -> dict[str, Order]:
        """a 09:00 c-1 web north vip; b 10:00 c-2 app south paid; c 11:00 c-1 pos gift;
        d 11:00 c-3 web north cancelled."""
        self.stock_catalog(service)
        a = self.place(service, ("MUG", 1), group="north", tags=["vip"])
        clock.set(START + timedelta(hours=1))
        b = self.paid_order(service, ("TEE", 1), customer_id="c-2", channel="app", group="south")
        clock.set(START + timedelta(hours=2))
        c = self.place(service, ("CAP", 1), channel="pos", tags=["gift"])
        d = self.place(service, ("CAP", 2), customer_id="c-3", group="north")
        service.cancel(d.id, actor="cs", reason="duplicate")
        return {"a": a, "b": b, "c": c, "d": d}

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, "dcba"),
            ({"customer_id": "c-1"}, "ca"),
            ({"customer_id": "c-9"}, ""),
            ({"status": "awaiting_shipment"}, "b"),
            ({"status": "closed"}, "d"),
            ({"channel": "web"}, "da"),
            ({"tag": "vip"}, "a"),
            ({"group": "north"}, "da"),
            ({"placed_from": START + timedelta(hours=1)}, "dcb"),
            ({"placed_to": START + timedelta(hours=2)}, "ba"),
            (
                {
                    "placed_from": START + timedelta(hours=1),
                    "placed_to": START + timedelta(hours=2),
                },
                "b",
            ),
            ({"customer_id": "c-1", "channel": "pos"}, "c"),
            ({"group": "north", "status": "pending_payment"}, "a"),
            ({"status": ["awaiting_shipment", "closed"]}, "db"),
            ({"channel": ("web", "pos")}, "dca"),
            ({"tag": {"vip", "gift"}}, "ca"),
            ({"tag": "VIP"}, "a"),
            ({"status": frozenset({"closed", "pending_payment"}), "channel": "web"}, "da"),
        ],
        ids=[
            "no-filter",
            "customer",
            "unknown-customer",
            "status",
            "status-closed",
            "channel",
            "tag",
            "group",
            "placed-from-inclusive",
            "placed-to-exclusive",
            "placed-range",
            "customer-and-channel",
            "group-and-status",
            "several-statuses",
            "several-channels",
            "several-tags",
            "tag-in-another-case",
            "several-statuses-and-a-channel",
        ],
    )
    def test_find_returns_the_orders_matching_every_filter_newest_first(
        self,
        service: OrderService,
        clock: FixedClock,
        filters: dict[str, Any],
        expected: str,
    ) -> None:
        orders = self._orders_for_queries(service, clock)
        assert [orders[name].id for name in expected] == [
            o.id for o in service.find(**filters).items
        ]

    def _place_over_time(self, service: OrderService, clock: FixedClock) -> list[Order]:
        """Seven orders, several sharing a timestamp, so paging must break ties by id."""
        self.stock_catalog(service)
        placed = []
        for minute in (0, 0, 0, 1, 1, 2, 2):
            clock.set(START + timedelta(minutes=minute))
            placed.append(self.place(service, ("CAP", 1)))
        return placed

    @staticmethod
    def _all_pages(service: OrderService, **filters: Any) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        for _ in range(50):  # far more than any test needs; a cursor that loops fails here
            page = service.find(cursor=cursor, **filters)
            pages.append([o.id for o in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor
        pytest.fail("paging did not end after 50 pages")

    @pytest.mark.parametrize("limit", [1, 3, 7])
    def test_paging_returns_every_order_exactly_once_newest_first(
        self, service: OrderService, clock: FixedClock, limit: int
    ) -> None:
        placed = self._place_over_time(service, clock)
        pages = self._all_pages(service, limit=limit)
        assert ([o.id for o in reversed(placed)], math.ceil(7 / limit)) == (
            [order_id for page in pages for order_id in page],
            len(pages),
        )

    def test_paging_keeps_the_filters_on_every_page(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        placed = self._place_over_time(service, clock)
        for order in placed[::2]:
            service.pay(order.id, order.total, reference=f"psp-{order.id}")
        pages = self._all_pages(service, limit=2, status="pending_payment")
        assert [[placed[5].id, placed[3].id], [placed[1].id]] == pages

    @pytest.mark.parametrize(
        "cursor",
        [
            "not-a-cursor",
            "|id-000001",
            "2026-11-23T09:00:00+00:00|",
            "yesterday|id-000001",
            "2026-11-23T09:00:00|id-000001",
        ],
        ids=["garbage", "no-time", "no-id", "bad-time", "time-without-offset"],
    )
    def test_a_malformed_cursor_raises_validation_error(
        self, service: OrderService, cursor: str
    ) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 1))
        with pytest.raises(ValidationError) as refused:
            service.find(cursor=cursor)
        assert "cursor" == refused.value.field

    @pytest.mark.parametrize("limit", [0, -1, 1001])
    def test_a_limit_outside_one_to_a_thousand_raises_validation_error(
        self, service: OrderService, limit: int
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            service.find(limit=limit)
        assert "limit" == refused.value.field

    @pytest.mark.parametrize("field", ["placed_from", "placed_to"])
    def test_finding_orders_with_a_naive_datetime_raises_validation_error_naming_the_field(
        self, service: OrderService, field: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            OrderQuery(**{field: datetime(2026, 1, 1)})  # type: ignore[arg-type]
        assert field == refused.value.field

    @pytest.mark.parametrize(
        ("filters", "field"),
        [
            ({"customer_id": 7}, "customer_id"),
            ({"status": 3}, "status"),
            ({"status": []}, "status"),
            ({"channel": ["web", None]}, "channel"),
            ({"tag": ("vip", 5)}, "tag"),
            ({"tag": " "}, "tag"),
            ({"group": ["north"]}, "group"),
            ({"cursor": 12}, "cursor"),
            ({"limit": "10"}, "limit"),
            ({"with_total": "yes"}, "with_total"),
            ({"stauts": "closed"}, "stauts"),
        ],
        ids=[
            "integer-customer",
            "integer-status",
            "no-statuses",
            "none-among-channels",
            "integer-among-tags",
            "blank-tag",
            "list-of-groups",
            "integer-cursor",
            "text-limit",
            "text-with-total",
            "misspelt-filter",
        ],
    )
    def test_a_malformed_filter_raises_validation_error_naming_it_on_every_backend(
        self, service: OrderService, clock: FixedClock, filters: dict[str, Any], field: str
    ) -> None:
        self._orders_for_queries(service, clock)
        with pytest.raises(ValidationError) as refused:
            service.find(**filters)
        assert field == refused.value.field

    def test_an_unknown_status_raises_validation_error_listing_the_statuses(
        self, service: OrderService
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            service.find(status=["pending_payment", "shiped"])
        assert (
            "status: 'shiped' is not a status of this shop; statuses: "
            + ", ".join(service.machine.states)
        ) == str(refused.value)

    def test_a_status_a_host_machine_adds_can_be_queried(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        held_for_review = self.paid_order(service, ("MUG", 1))
        self.place(service, ("MUG", 1))
        assert [held_for_review.id] == [o.id for o in service.find(status="awaiting_review").items]

    def test_a_page_with_total_counts_every_matching_order_on_every_page(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        placed = self._place_over_time(service, clock)
        service.cancel(placed[0].id, actor="cs", reason="duplicate")
        first = service.find(limit=4, with_total=True, status="pending_payment")
        second = service.find(
            limit=4, with_total=True, status="pending_payment", cursor=first.next_cursor
        )
        assert ((4, 6), (2, 6)) == (
            (len(first.items), first.total),
            (len(second.items), second.total),
        )

    def test_a_page_without_total_does_not_count(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self._place_over_time(service, clock)
        assert None is service.find(limit=2).total

    def test_a_total_with_nothing_matching_is_zero(self, service: OrderService) -> None:
        assert (0, ()) == (
            service.find(customer_id="nobody", with_total=True).total,
            service.find(customer_id="nobody", with_total=True).items,
        )

    # -- stock ---------------------------------------------------------------------------------

    def test_receiving_stock_is_an_event_on_the_stream_of_its_sku_and_location(
        self, service: OrderService, storage: Storage
    ) -> None:
        service.receive_stock("MUG", 10, actor="warehouse", reason="PO-7")
        service.receive_stock("MUG", 4, location="east", actor="warehouse")
        service.receive_stock("MUG", 2, actor="warehouse", reason="PO-8")
        assert (
            [
                ("warehouse", "PO-7", StockReceived("MUG", HERE, 10, 10)),
                ("warehouse", "PO-8", StockReceived("MUG", HERE, 2, 12)),
            ],
            [StockReceived("MUG", "east", 4, 4)],
        ) == (
            [(e.actor, e.reason, e.payload) for e in stream(storage, "stock:MUG@default")],
            payloads(stream(storage, "stock:MUG@east")),
        )

    def test_adjusting_stock_is_an_event_on_the_stream_of_its_sku_and_location(
        self, service: OrderService, storage: Storage
    ) -> None:
        service.receive_stock("MUG", 10, actor="warehouse")
        service.adjust_stock("MUG", -2, actor="audit", reason="two broke")
        adjusted = stream(storage, "stock:MUG@default")[-1]
        assert ("audit", "two broke", StockAdjusted("MUG", HERE, -2, 8), level("MUG", 8, 0)) == (
            adjusted.actor,
            adjusted.reason,
            adjusted.payload,
            service.stock("MUG"),
        )

    @pytest.mark.parametrize("delta", [-3, -11], ids=["below-reserved", "below-zero"])
    def test_adjusting_stock_below_what_is_reserved_is_refused_and_changes_nothing(
        self, service: OrderService, storage: Storage, delta: int
    ) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 8))
        before = snapshot(storage)
        with pytest.raises(InvalidStockAdjustment):
            service.adjust_stock("MUG", delta, actor="audit", reason="count")
        assert before == snapshot(storage)

    @pytest.mark.parametrize("delta", [3, -3])
    def test_adjusting_a_sku_that_was_never_stocked_is_refused(
        self, service: OrderService, storage: Storage, delta: int
    ) -> None:
        before = snapshot(storage)
        with pytest.raises(InvalidStockAdjustment):
            service.adjust_stock("GHOST", delta, actor="audit", reason="count")
        assert before == snapshot(storage)

    def test_setting_a_threshold_for_an_unstocked_sku_creates_an_empty_level(
        self, service: OrderService
    ) -> None:
        service.set_low_stock_threshold("NEW", 4)
        assert level("NEW", 0, 0, 4) == service.stock("NEW")

    def test_low_stock_is_recorded_when_available_stock_drops_below_the_threshold(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 5})
        service.set_low_stock_threshold("MUG", 3)
        self.place(service, ("MUG", 2))
        assert [] == payloads(stream(storage, "stock:MUG@default"), LowStock)
        self.place(service, ("MUG", 1))
        assert [LowStock("MUG", HERE, 2, 3)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_low_stock_is_recorded_only_when_available_stock_crosses_the_threshold(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 10})
        service.set_low_stock_threshold("MUG", 5)
        service.adjust_stock("MUG", -4, actor="audit", reason="count")  # 6: not below
        service.adjust_stock("MUG", -2, actor="audit", reason="count")  # 4: crosses
        service.adjust_stock("MUG", -1, actor="audit", reason="count")  # 3: already below
        service.receive_stock("MUG", 10, actor="warehouse")  # 13
        self.place(service, ("MUG", 9))  # 4: crosses again
        assert [LowStock("MUG", HERE, 4, 5), LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_a_threshold_set_above_what_is_available_records_low_stock_at_once(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 4})
        service.set_low_stock_threshold("MUG", 5)
        assert [LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    def test_raising_the_threshold_of_a_level_already_low_records_nothing_more(
        self, service: OrderService, storage: Storage
    ) -> None:
        self.stock_catalog(service, {"MUG": 4})
        service.set_low_stock_threshold("MUG", 5)
        service.set_low_stock_threshold("MUG", 8)
        service.set_low_stock_threshold("MUG", 2)  # 4 is not low any more
        assert [LowStock("MUG", HERE, 4, 5)] == payloads(
            stream(storage, "stock:MUG@default"), LowStock
        )

    # -- reservation at payment ----------------------------------------------------------------

    def test_with_reservation_at_payment_placing_reserves_nothing(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        assert (level("MUG", 10, 0), (), False) == (
            service.stock("MUG"),
            reservations(storage, order.id),
            order.stock_reserved,
        )

    def test_with_reservation_at_payment_paying_in_full_reserves_the_stock(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 3))
        service.pay(order.id, usd("10.00"), reference="psp-1")
        assert level("MUG", 10, 0) == service.stock("MUG")
        service.pay(order.id, usd("27.50"), reference="psp-2")
        assert (level("MUG", 10, 3), held(("MUG", 3))) == (
            service.stock("MUG"),
            reservations(storage, order.id),
        )

    def test_a_free_order_is_paid_when_placed_and_reserves_its_stock_at_payment(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service)
        free = Adjustment(AdjustmentKind.COUPON, "free", percent=Decimal(100))
        placed = service.place(attrs.evolve(self.draft(("MUG", 2)), adjustments=(free,)))
        moved = payloads(service.history(placed.id), StatusChanged)
        assert (
            "awaiting_shipment",
            [StatusChanged("pending_payment", "awaiting_shipment", "pay")],
            level("MUG", 10, 2),
        ) == (service.get(placed.id).status, moved, service.stock("MUG"))

    def test_with_reservation_at_payment_paying_when_stock_ran_out_records_no_payment(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.at_payment(storage, clock, ids)
        self.stock_catalog(service, {"MUG": 3})
        first = self.place(service, ("MUG", 3))
        second = self.place(service, ("MUG", 2))
        service.pay(first.id, first.total, reference="psp-1")
        before = snapshot(storage)
        with pytest.raises(OutOfStock):
            service.pay(second.id, second.total, reference="psp-2")
        assert (before, ()) == (snapshot(storage), service.get(second.id).payments)

    # -- a host's own status machine -----------------------------------------------------------

    def test_a_host_machine_can_hold_paid_orders_for_review(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        assert "awaiting_review" == service.get(order.id).status

    def test_approving_a_review_through_transition_moves_the_order_on(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.transition(order.id, "approve_review", actor="risk", reason="known customer")
        last = service.history(order.id)[-1]
        assert (
            "awaiting_shipment",
            ("risk", StatusChanged("awaiting_review", "awaiting_shipment", "approve_review")),
        ) == (service.get(order.id).status, (last.actor, last.payload))

    def test_a_rejected_review_is_refunded_into_closed_and_releases_its_stock(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 2))
        service.transition(order.id, "reject_review", actor="risk", reason="stolen card")
        service.refund(order.id, order.total, reference="rf-1", reason="stolen card")
        assert ("closed", level("MUG", 10, 0)) == (
            service.get(order.id).status,
            service.stock("MUG"),
        )

    def test_transition_refuses_an_event_that_has_its_own_command(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        before = snapshot(storage)
        with pytest.raises(ValidationError) as refused:
            service.transition(order.id, "pay", actor="risk")
        assert ("event", before) == (refused.value.field, snapshot(storage))

    def test_transition_with_an_event_the_state_does_not_allow_raises_invalid_transition(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        order = self.place(service, ("MUG", 2))
        with pytest.raises(InvalidTransition) as refused:
            service.transition(order.id, "approve_review", actor="risk")
        assert ("pending_payment", "approve_review", ("pay", "cancel", "expire")) == (
            refused.value.state,
            refused.value.event,
            refused.value.allowed,
        )

    # -- the port: orders ----------------------------------------------------------------------

    def test_an_order_reads_back_equal_to_the_one_written(self, storage: Storage) -> None:
        order = rich_order()
        with storage.unit_of_work() as uow:
            uow.orders.add(order)
            uow.commit()
        with storage.reader() as uow:
            assert (order, order, (order,)) == (
                uow.orders.get(order.id),
                next(iter(uow.orders.find(OrderQuery(number=order.number)).items)),
                uow.orders.find(OrderQuery()).items,
            )

    def test_an_order_is_found_by_a_shipment_tracking_number(self, storage: Storage) -> None:
        order = rich_order()
        with storage.unit_of_work() as uow:
            uow.orders.add(order)
            uow.commit()
        with storage.reader() as uow:
            assert ((order,), ()) == (
                uow.orders.find(OrderQuery(carrier="sf", tracking_number="SF1234567890")).items,
                uow.orders.find(OrderQuery(carrier="ups", tracking_number="SF1234567890")).items,
            )

    @pytest.mark.parametrize(
        ("shipped", "reported"),
        [("SF1234567890", " sf 1234 567 890"), ("sf 1234 567 890", "SF1234567890")],
        ids=["update-typed-loosely", "number-shipped-loosely"],
    )
    def test_a_tracking_number_in_lower_case_with_spaces_is_the_same_number(
        self, service: OrderService, shipped: str, reported: str
    ) -> None:
        self.stock_catalog(service)
        order = self.paid_order(service, ("MUG", 1))
        service.ship(order.id, carrier="sf-express", tracking_number=shipped)
        event = TrackingEvent("ev-1", "sf-express", reported, "in_transit", START)
        tracked = service.ingest_tracking(event)
        assert ("SF1234567890", "in_transit") == (
            tracked.shipments[0].tracking_number,
            tracked.shipments[0].tracking_status,
        )

    def test_a_shipment_added_by_a_save_is_found_by_its_tracking_number(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        parcel = Shipment("sh-9", (ShipmentLine("L1", 1),), "ups", "1Z999", START)
        saved = attrs.evolve(order, version=2, shipments=(parcel,))
        with storage.unit_of_work() as uow:
            uow.orders.save(saved)
            uow.commit()
        with storage.reader() as uow:
            assert (saved,) == uow.orders.find(PARCEL_1Z).items

    def test_a_rolled_back_shipment_is_not_found_by_its_tracking_number(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        parcel = Shipment("sh-9", (ShipmentLine("L1", 1),), "ups", "1Z999", START)
        with storage.unit_of_work() as uow:
            uow.orders.save(attrs.evolve(order, version=2, shipments=(parcel,)))
        with storage.reader() as uow:
            assert () == uow.orders.find(PARCEL_1Z).items

    def test_an_unknown_order_reads_back_as_none(self, storage: Storage) -> None:
        with storage.reader() as uow:
            assert (None, ()) == (
                uow.orders.get("nope"),
                uow.orders.find(OrderQuery(number="nope")).items,
            )

    def test_adding_an_order_whose_id_exists_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.add(sample_order("ord-1", "T-000002"))

    def test_adding_an_order_whose_number_exists_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.add(sample_order("ord-2", "T-000001"))

    def test_a_saved_order_reads_back_as_saved_and_is_found_by_its_new_fields(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        saved = attrs.evolve(order, version=2, status="closed", tags=("late",))
        with storage.unit_of_work() as uow:
            uow.orders.save(saved)
            uow.commit()
        with storage.reader() as uow:
            assert (saved, (saved,), (saved,), ()) == (
                uow.orders.get(order.id),
                uow.orders.find(OrderQuery(status="closed")).items,
                uow.orders.find(OrderQuery(tag="late")).items,
                uow.orders.find(OrderQuery(status="pending_payment")).items,
            )

    def test_saving_an_order_with_a_stale_version_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        order = seed(storage)
        with storage.unit_of_work() as uow:
            uow.orders.save(attrs.evolve(order, version=2, status="closed"))
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(attrs.evolve(order, version=2, status="awaiting_shipment"))

    def test_a_stale_save_leaves_the_newer_order_in_place(self, storage: Storage) -> None:
        order = seed(storage)
        newer = attrs.evolve(order, version=2, status="closed")
        with storage.unit_of_work() as uow:
            uow.orders.save(newer)
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyConflict):
                uow.orders.save(attrs.evolve(order, version=2, status="awaiting_shipment"))
            uow.commit()
        with storage.reader() as uow:
            assert newer == uow.orders.get(order.id)

    def test_saving_an_order_that_was_never_added_raises_concurrency_conflict(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.orders.save(attrs.evolve(sample_order(), version=2))

    # -- the port: units of work ---------------------------------------------------------------

    @pytest.mark.parametrize("write", list(WRITES.values()), ids=list(WRITES))
    def test_a_write_through_a_reader_raises_storage_error_and_changes_nothing(
        self, storage: Storage, write: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        before = probe(storage)
        with storage.reader() as uow, pytest.raises(StorageError):
            write(uow)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_unit_of_work_cannot_be_used_after_its_block_ended(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as ended:
            pass
        before = probe(storage)
        with pytest.raises(StorageError):
            use(ended)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_unit_of_work_cannot_be_used_after_it_committed(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        before = probe(storage)
        with storage.unit_of_work() as uow:
            uow.commit()
            with pytest.raises(StorageError):
                use(uow)
        assert before == probe(storage)

    @pytest.mark.parametrize("use", list(USES.values()), ids=list(USES))
    def test_a_reader_cannot_be_used_after_its_block_ended(
        self, storage: Storage, use: Callable[[UnitOfWork], object]
    ) -> None:
        seed(storage)
        with storage.reader() as ended:
            pass
        with pytest.raises(StorageError):
            use(ended)

    @staticmethod
    def _write_everything(uow: UnitOfWork) -> None:
        """One of every write, against the shop :func:`seed` commits."""
        uow.orders.add(sample_order("ord-2", "T-000002", tags=["new"]))
        uow.orders.save(attrs.evolve(sample_order(), version=2, status="closed", tags=("x",)))
        receive(uow, "MUG", HERE, 5)
        receive(uow, "CAP", HERE, 3)
        uow.stock.put(level("MUG", 14, 2), expected=level("MUG", 15, 2))
        uow.stock.put(level("MUG", 14, 2, 4), expected=level("MUG", 14, 2))
        uow.stock.put(level("TEE", 0, 0, 2), expected=None)
        uow.stock.reserve("ord-2", held(("CAP", 1), ("MUG", 1)))
        uow.stock.release("ord-1", held(("MUG", 1)))
        uow.stock.release("ord-1", held(("MUG", 1)), shipped=True)
        uow.events.append([sample_event("order:ord-2"), sample_event("stock:CAP@default")])
        assert uow.idempotency.claim(sample_record("k-2")) is None
        assert 2 == uow.sequences.next("n")
        assert 1 == uow.sequences.next("m")
        uow.outbox.add([sample_entry("e-2")])
        assert ["e-1", "e-2"] == [
            e.entry_id for e in uow.outbox.claim_due(START, 10, START + timedelta(minutes=1))
        ]

    def _assert_seed_only(self, storage: Storage, before: StorageSnapshot) -> None:
        assert before == snapshot(storage)
        with storage.reader() as uow:
            assert () == uow.orders.find(OrderQuery(tag="new")).items
        with storage.unit_of_work() as uow:
            assert (None, 2, 1) == (
                uow.idempotency.claim(sample_record("k-2")),
                uow.sequences.next("n"),
                uow.sequences.next("m"),
            )

    def test_leaving_a_unit_of_work_without_commit_rolls_back_everything(
        self, storage: Storage
    ) -> None:
        seed(storage)
        before = snapshot(storage)
        with storage.unit_of_work() as uow:
            self._write_everything(uow)
        self._assert_seed_only(storage, before)

    def test_an_exception_inside_a_unit_of_work_rolls_back_everything_and_propagates(
        self, storage: Storage
    ) -> None:
        seed(storage)
        before = snapshot(storage)

        def fail_half_way() -> None:
            with storage.unit_of_work() as uow:
                self._write_everything(uow)
                raise _Boom

        with pytest.raises(_Boom):
            fail_half_way()
        self._assert_seed_only(storage, before)

    def test_a_committed_unit_of_work_keeps_everything(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            self._write_everything(uow)
            uow.commit()
        with storage.reader() as uow:
            assert (
                [level("CAP", 3, 1), level("MUG", 13, 1, 4), level("TEE", 0, 0, 2)],
                [
                    ("ord-2", StockMovement("CAP", HERE, 1)),
                    ("ord-2", StockMovement("MUG", HERE, 1)),
                ],
                ["ord-2"],
                3,
            ) == (
                uow.stock.all(),
                uow.stock.reservations(),
                [o.id for o in uow.orders.find(OrderQuery(tag="new")).items],
                len(uow.events.read()),
            )

    @pytest.mark.parametrize(
        ("outer", "inner"),
        [
            ("unit_of_work", "unit_of_work"),
            ("unit_of_work", "reader"),
            ("reader", "unit_of_work"),
            ("reader", "reader"),
        ],
    )
    def test_a_nested_unit_of_work_in_the_same_thread_raises_storage_error(
        self, storage: Storage, outer: str, inner: str
    ) -> None:
        with getattr(storage, outer)(), ExitStack() as nested, pytest.raises(StorageError):
            nested.enter_context(getattr(storage, inner)())

    def test_a_refused_nested_unit_of_work_leaves_the_outer_one_working(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, ExitStack() as nested:
            with pytest.raises(StorageError):
                nested.enter_context(storage.unit_of_work())
            receive(uow, "MUG", HERE, 3)
            uow.commit()
        with storage.reader() as uow:
            assert level("MUG", 3, 0) == uow.stock.get("MUG", HERE)

    # -- the port: stock -----------------------------------------------------------------------

    def test_stock_levels_are_listed_by_sku_and_location(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for sku, location in (("TEE", HERE), ("MUG", "east"), ("MUG", HERE)):
                receive(uow, sku, location, 1)
            uow.commit()
        with storage.reader() as uow:
            assert [("MUG", HERE), ("MUG", "east"), ("TEE", HERE)] == [
                (s.sku, s.location) for s in uow.stock.all()
            ]

    def test_a_sku_never_stocked_has_no_level(self, storage: Storage) -> None:
        with storage.reader() as uow:
            assert None is uow.stock.get("GHOST", HERE)

    def test_a_level_put_over_the_one_read_reads_back_as_put(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            uow.stock.put(level("MUG", 12, 2, 3), expected=level("MUG", 10, 2))
            uow.stock.put(level("CAP", 4, 0), expected=None)
            uow.commit()
        with storage.reader() as uow:
            assert [level("CAP", 4, 0), level("MUG", 12, 2, 3)] == uow.stock.all()

    @pytest.mark.parametrize(
        "expected",
        [level("MUG", 10, 1), level("MUG", 9, 2), level("MUG", 10, 2, 5), None],
        ids=["reserved-moved", "on-hand-moved", "threshold-moved", "expected-none"],
    )
    def test_a_level_put_over_a_stale_one_raises_concurrency_conflict_and_changes_nothing(
        self, storage: Storage, expected: StockLevel | None
    ) -> None:
        seed(storage)
        before = snapshot(storage)
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
            uow.stock.put(level("MUG", 20, 2), expected=expected)
        assert before == snapshot(storage)

    def test_reserving_aggregates_the_items_and_returns_the_levels_after(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            levels = uow.stock.reserve("ord-2", held(("MUG", 1), ("CAP", 2), ("MUG", 2)))
            assert (
                [level("CAP", 5, 2), level("MUG", 10, 5)],
                held(("CAP", 2), ("MUG", 3)),
            ) == (levels, holds(uow, "ord-2"))

    def test_reserving_more_than_is_available_raises_out_of_stock_naming_the_short_item(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            with pytest.raises(OutOfStock) as refused:
                uow.stock.reserve("ord-2", held(("CAP", 1), ("MUG", 9)))
        assert ("MUG", 9, 8) == (
            refused.value.sku,
            refused.value.requested,
            refused.value.available,
        )

    def test_reserving_a_sku_never_stocked_raises_out_of_stock_with_nothing_available(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow, pytest.raises(OutOfStock) as refused:
            uow.stock.reserve("ord-1", held(("GHOST", 1)))
        assert ("GHOST", 0) == (refused.value.sku, refused.value.available)

    def test_reserving_a_sku_never_stocked_raises_unknown_sku_saying_it_has_no_stock_record(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(UnknownSku) as refused:
            uow.stock.reserve("ord-1", held(("MUG", 1), ("MUGG", 1)))
        assert (
            f"SKU 'MUGG' has no stock record at {HERE!r}: check the SKU, or receive stock for "
            "it first (OrderService.receive_stock)"
        ) == str(refused.value)

    def test_reserving_a_stocked_sku_beyond_what_is_available_is_not_an_unknown_sku(
        self, storage: Storage
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow, pytest.raises(OutOfStock) as refused:
            uow.stock.reserve("ord-1", held(("MUG", 99)))
        assert "out_of_stock" == refused.value.code

    @pytest.mark.parametrize(
        "items",
        [held(("MUG", 3)), held(("CAP", 1)), held(("MUG", 1), ("CAP", 1))],
        ids=["more-than-held", "not-held", "one-of-two-not-held"],
    )
    @pytest.mark.parametrize("shipped", [False, True], ids=["release", "ship"])
    def test_releasing_or_shipping_more_than_an_order_holds_raises_validation_error(
        self, storage: Storage, shipped: bool, items: tuple[StockMovement, ...]
    ) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            receive(uow, "CAP", HERE, 5)
            with pytest.raises(ValidationError):
                uow.stock.release("ord-1", items, shipped=shipped)
            assert ([level("CAP", 5, 0), level("MUG", 10, 2)], held(("MUG", 2))) == (
                uow.stock.all(),
                holds(uow, "ord-1"),
            )

    def test_releasing_shipped_stock_lowers_on_hand_and_reserved(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            committed = uow.stock.release("ord-1", held(("MUG", 1)), shipped=True)
            assert (held(("MUG", 1)), level("MUG", 9, 1), held(("MUG", 1))) == (
                committed,
                uow.stock.get("MUG", HERE),
                holds(uow, "ord-1"),
            )

    def test_releasing_twice_releases_nothing_the_second_time(self, storage: Storage) -> None:
        seed(storage)
        with storage.unit_of_work() as uow:
            first = uow.stock.release("ord-1")
            second = uow.stock.release("ord-1")
            assert (held(("MUG", 2)), (), level("MUG", 10, 0)) == (
                first,
                second,
                uow.stock.get("MUG", HERE),
            )

    # -- the port: events, idempotency, sequences ----------------------------------------------

    def test_event_positions_strictly_increase_and_read_pages_through_the_log(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:a", str(i)) for i in range(3)])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:b", str(i)) for i in range(3, 5)])
            uow.commit()
        with storage.reader() as uow:
            everything = uow.events.read()
            pages = [uow.events.read(after=0, limit=2)]
            while pages[-1]:
                pages.append(uow.events.read(after=pages[-1][-1].position, limit=2))
        positions = [e.position for e in everything]
        assert (
            ["0", "1", "2", "3", "4"],
            sorted(set(positions)),
            [2, 2, 1, 0],
            everything,
        ) == (
            [p.text for p in payloads(everything) if isinstance(p, NoteAdded)],
            positions,
            [len(page) for page in pages],
            [e for page in pages for e in page],
        )

    def test_a_stream_holds_only_its_own_events_oldest_first(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.events.append(
                [sample_event(name, f"{name} {i}") for i in range(2) for name in ("a", "b")]
            )
            uow.commit()
        assert [NoteAdded("a 0"), NoteAdded("a 1")] == payloads(stream(storage, "a"))

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE orderkit_events SET reason = 'rewritten'", "DELETE FROM orderkit_events"],
    )
    def test_stored_events_cannot_be_changed_or_deleted_even_with_plain_sql(
        self, storage: Storage, statement: str
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.events.append([sample_event("order:a")])
            uow.commit()
        with storage.unit_of_work() as uow:
            execute = getattr(uow, "execute", None)
            if execute is None:
                pytest.skip("this storage runs no SQL; its event log offers only append")
            with pytest.raises(StorageError, match="append-only"):
                execute(statement, write=True)
        assert [("because", NoteAdded("hello"))] == [
            (e.reason, e.payload) for e in stream(storage, "order:a")
        ]

    def test_event_payloads_read_back_equal_to_the_ones_written(self, storage: Storage) -> None:
        written = sample_payloads()
        missing = sorted(set(EVENT_TYPES) - {type(p).__name__ for p in written})
        if missing:
            pytest.fail(f"add a sample of {', '.join(missing)} to sample_payloads()")
        at = datetime(2026, 11, 23, 9, 0, 1, 654321, tzinfo=timezone.utc)
        events = [
            NewEvent(f"order:{i}", at + timedelta(seconds=i), "tester ✓", "why — 因为", p)
            for i, p in enumerate(written)
        ]
        with storage.unit_of_work() as uow:
            uow.events.append(events)
            uow.commit()
        with storage.reader() as uow:
            read = uow.events.read()
        assert [(e.stream, e.type, e.at, e.actor, e.reason, e.payload) for e in events] == [
            (e.stream, e.type, e.at, e.actor, e.reason, e.payload) for e in read
        ]

    def test_claiming_a_key_twice_returns_the_first_record(self, storage: Storage) -> None:
        first = IdempotencyRecord(
            "k-1", "place", "hash-1", "ord-1", START + timedelta(microseconds=7)
        )
        with storage.unit_of_work() as uow:
            assert None is uow.idempotency.claim(first)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert first == uow.idempotency.claim(sample_record("k-1", "hash-2"))

    def test_sequences_count_from_one_separately_per_name(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            counted = [uow.sequences.next(name) for name in ("a", "a", "b", "a")]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert ([1, 2, 1, 3], 4) == (counted, uow.sequences.next("a"))

    # -- the whole -----------------------------------------------------------------------------

    def test_integrity_holds_after_a_mix_of_operations(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self.stock_catalog(service)
        shipped = self.paid_order(service, ("MUG", 3), ("TEE", 2))
        service.ship(shipped.id, {"L1": 1})
        cancelled = self.place(service, ("MUG", 2))
        service.cancel(cancelled.id, actor="cs", reason="duplicate")
        refunded = self.paid_order(service, ("TEE", 1), ("CAP", 4))
        service.refund(refunded.id, refunded.total, reference="rf-1", reason="fraud")
        edited = self.place(service, ("CAP", 2))
        service.approve_edit(edited.id, self._request_quantity(service, edited, 5), actor="bob")
        clock.advance(timedelta(hours=2))
        service.expire_unpaid(older_than=timedelta(hours=1))  # expires `edited`
        self.place(service, ("MUG", 1))
        service.adjust_stock("CAP", -3, actor="audit", reason="count")
        assert ([], [level("CAP", 17, 0), level("MUG", 9, 3), level("TEE", 5, 2)]) == (
            service.check_integrity(),
            service.stock_levels(),
        )

    def test_whole_lifecycles_keep_their_invariants(
        self, make_storage: Callable[[], Storage]
    ) -> None:
        from orderkit.testing.lifecycle import run_lifecycles

        run_lifecycles(make_storage)
