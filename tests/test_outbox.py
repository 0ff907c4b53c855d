"""OrderService and the outbox: notifications queued with the command, payment reminders,
and recording opens and clicks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings

from _outbox_support import START, EmailNotifier, draft
from orderkit.adapters.memory import MemoryStorage
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.events import (
    LowStock,
    NewEvent,
    NotificationQueued,
    PaymentReminderDue,
    ReceiptClicked,
    ReceiptOpened,
    notification_stream,
)
from orderkit.domain.money import Money
from orderkit.domain.order import Order
from orderkit.errors import (
    NotFound,
    OutboxEntryNotFound,
    OutOfStock,
    Overpayment,
    ValidationError,
)
from orderkit.notify.outbox import (
    OutboxDraft,
    OutboxEntry,
    OutboxQuery,
    OutboxStatus,
    entry_by_id,
)
from orderkit.ports import Storage
from orderkit.service import OrderService
from orderkit.testing.outbox import sample_entry
from strategies import json_values


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def notifier() -> EmailNotifier:
    return EmailNotifier()


@pytest.fixture
def service(storage: MemoryStorage, clock: FixedClock, notifier: EmailNotifier) -> OrderService:
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), notifier=notifier)
    svc.receive_stock("MUG", 10, actor="warehouse")
    return svc


def outbox(storage: MemoryStorage, **filters: object) -> list[OutboxEntry]:
    with storage.reader() as uow:
        return list(uow.outbox.find(OutboxQuery(**filters)).items)  # type: ignore[arg-type]


def payloads(service: OrderService, order: Order, kind: type) -> list[object]:
    return [e.payload for e in service.history(order.id) if isinstance(e.payload, kind)]


# -- queued with the command -----------------------------------------------------------------


def test_placing_an_order_queues_the_notification_its_notifier_asks_for(
    service: OrderService, storage: MemoryStorage
) -> None:
    order = service.place(draft(("MUG", 1), locale="de"))
    assert [
        ("order_placed", "email", "lin@example.cn", "de", order.id, OutboxStatus.QUEUED, START)
    ] == [
        (e.kind, e.channel, e.recipient, e.locale, e.order_id, e.status, e.next_attempt_at)
        for e in outbox(storage)
    ]


def test_a_queued_entry_takes_its_id_from_the_id_generator_and_that_id_as_its_dedup_key(
    service: OrderService, storage: MemoryStorage
) -> None:
    service.place(draft(("MUG", 1)))  # id-000001 is the order
    (entry,) = outbox(storage)
    assert ("id-000002", "id-000002") == (entry.entry_id, entry.dedup_key)


def test_a_dedup_key_the_notifier_gives_is_kept(storage: MemoryStorage, clock: FixedClock) -> None:
    class Keyed:
        def notifications(self, order: Order, events: object) -> list[OutboxDraft]:
            return [OutboxDraft("order_placed", "email", "a@b.c", "en", {}, dedup_key="k-7")]

    service = OrderService(storage, clock=clock, notifier=Keyed())
    service.receive_stock("MUG", 1, actor="warehouse")
    service.place(draft(("MUG", 1)))
    assert ["k-7"] == [e.dedup_key for e in outbox(storage)]


def test_queueing_records_notification_queued_on_the_order_stream(
    service: OrderService,
) -> None:
    order = service.place(draft(("MUG", 1)))
    expected = NotificationQueued("id-000002", "order_placed", "email", "lin@example.cn", "en")
    assert [expected] == payloads(service, order, NotificationQueued)


def test_the_notifier_sees_the_order_after_the_command_and_the_events_the_command_recorded(
    service: OrderService, notifier: EmailNotifier
) -> None:
    order = service.place(draft(("MUG", 1)))
    service.pay(order.id, order.total, reference="psp-1")
    seen, types = notifier.seen[-1]
    assert ("awaiting_shipment", ["PaymentCaptured", "StatusChanged"]) == (seen.status, types)


def test_a_placement_refused_for_lack_of_stock_queues_nothing(
    service: OrderService, storage: MemoryStorage
) -> None:
    with pytest.raises(OutOfStock):
        service.place(draft(("MUG", 11)))
    assert [] == outbox(storage)


def test_a_refused_payment_queues_nothing(service: OrderService, storage: MemoryStorage) -> None:
    order = service.place(draft(("MUG", 1)))
    before = outbox(storage)
    with pytest.raises(Overpayment):
        service.pay(order.id, Money("99.00", "USD"), reference="psp-1")
    assert before == outbox(storage)


def test_a_notifier_that_raises_fails_the_command_which_then_changes_nothing(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class Broken:
        def notifications(self, order: Order, events: object) -> list[OutboxDraft]:
            raise RuntimeError("template missing")

    service = OrderService(storage, clock=clock, notifier=Broken())
    service.receive_stock("MUG", 1, actor="warehouse")
    with pytest.raises(RuntimeError):
        service.place(draft(("MUG", 1)))
    assert ([], 1) == (list(service.find().items), service.stock("MUG").available)


def test_a_draft_whose_payload_is_not_json_ready_fails_the_command_naming_the_payload(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class Careless:
        def notifications(self, order: Order, events: object) -> list[OutboxDraft]:
            return [OutboxDraft("order_placed", "email", "a@b.c", "en", {"total": order.total})]

    service = OrderService(storage, clock=clock, notifier=Careless())
    service.receive_stock("MUG", 1, actor="warehouse")
    with pytest.raises(ValidationError) as raised:
        service.place(draft(("MUG", 1)))
    assert ("entries[0].payload", []) == (raised.value.field, list(service.find().items))


def test_a_draft_whose_recipient_is_not_a_string_fails_the_command_naming_it(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class Careless:
        def notifications(self, order: Order, events: object) -> list[OutboxDraft]:
            return [OutboxDraft("order_placed", "email", None, "en", {})]  # type: ignore[arg-type]

    service = OrderService(storage, clock=clock, notifier=Careless())
    service.receive_stock("MUG", 1, actor="warehouse")
    with pytest.raises(ValidationError) as raised:
        service.place(draft(("MUG", 1)))
    assert ("entries[0].recipient", []) == (raised.value.field, list(service.find().items))


def test_without_a_notifier_nothing_is_queued(storage: MemoryStorage, clock: FixedClock) -> None:
    service = OrderService(storage, clock=clock)
    service.receive_stock("MUG", 1, actor="warehouse")
    service.place(draft(("MUG", 1)))
    assert [] == outbox(storage)


# -- stock notifications ---------------------------------------------------------------------


class LowStockAlerts:
    """One message to the buyer's desk for each LowStock event; remembers what it was handed."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def stock_notifications(self, events: Sequence[NewEvent]) -> list[OutboxDraft]:
        self.seen.append([e.type for e in events])
        return [
            OutboxDraft(
                "low_stock",
                "email",
                "buyer@shop.example",
                "en",
                {"sku": e.payload.sku, "available": e.payload.available},
            )
            for e in events
            if isinstance(e.payload, LowStock)
        ]


@pytest.fixture
def alerts() -> LowStockAlerts:
    return LowStockAlerts()


@pytest.fixture
def stocked(storage: MemoryStorage, clock: FixedClock, alerts: LowStockAlerts) -> OrderService:
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), stock_notifier=alerts)
    svc.receive_stock("MUG", 10, actor="warehouse")
    svc.set_low_stock_threshold("MUG", 5)
    return svc


def test_low_stock_from_an_adjustment_is_handed_to_the_stock_notifier_and_queued(
    stocked: OrderService, storage: MemoryStorage
) -> None:
    stocked.adjust_stock("MUG", -6, actor="audit", reason="breakage")

    assert [("low_stock", None, {"sku": "MUG", "available": 4})] == [
        (e.kind, e.order_id, e.payload) for e in outbox(storage)
    ]


def test_a_low_stock_notification_is_recorded_as_queued_on_its_own_stream(
    stocked: OrderService, storage: MemoryStorage
) -> None:
    stocked.adjust_stock("MUG", -6, actor="audit", reason="breakage")
    (entry,) = outbox(storage)

    with storage.reader() as uow:
        recorded = [
            e.payload
            for e in uow.events.read(stream=notification_stream(entry.entry_id), limit=None)
        ]
    assert [
        NotificationQueued(entry.entry_id, "low_stock", "email", "buyer@shop.example", "en")
    ] == (recorded)


def test_low_stock_from_a_placement_reaches_the_stock_notifier_too(
    stocked: OrderService, storage: MemoryStorage, alerts: LowStockAlerts
) -> None:
    order = stocked.place(draft(("MUG", 6)))

    assert (["LowStock"], [("low_stock", None)]) == (
        alerts.seen[-1],
        [(e.kind, e.order_id) for e in outbox(storage)],
    )
    assert "pending_payment" == stocked.get(order.id).status


def test_a_command_that_records_no_stock_event_does_not_call_the_stock_notifier(
    stocked: OrderService, alerts: LowStockAlerts
) -> None:
    stocked.place(draft(("MUG", 1)))  # reserving is an order event; 9 left is not low

    assert [["StockReceived"]] == alerts.seen


# -- payment reminders -----------------------------------------------------------------------


def test_reminding_records_payment_reminder_due_on_unpaid_orders_placed_before_the_cutoff(
    service: OrderService, clock: FixedClock
) -> None:
    old = service.place(draft(("MUG", 1)))
    clock.advance(timedelta(minutes=50))
    service.place(draft(("MUG", 1)))  # too recent
    clock.advance(timedelta(minutes=20))
    reminded = service.remind_unpaid(older_than=timedelta(hours=1))
    assert (
        [old.id],
        [PaymentReminderDue(START, Money("12.50", "USD"))],
    ) == ([o.id for o in reminded], payloads(service, old, PaymentReminderDue))


def test_an_order_is_reminded_at_most_once(service: OrderService, clock: FixedClock) -> None:
    order = service.place(draft(("MUG", 1)))
    clock.advance(timedelta(hours=2))
    service.remind_unpaid(older_than=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    assert ([], 1) == (
        service.remind_unpaid(older_than=timedelta(hours=1)),
        len(payloads(service, order, PaymentReminderDue)),
    )


def test_a_paid_order_is_not_reminded(service: OrderService, clock: FixedClock) -> None:
    order = service.place(draft(("MUG", 1)))
    service.pay(order.id, order.total, reference="psp-1")
    clock.advance(timedelta(hours=2))
    assert [] == service.remind_unpaid(older_than=timedelta(hours=1))


def test_a_reminder_queues_a_payment_reminder_through_the_notifier(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    order = service.place(draft(("MUG", 1)))
    clock.advance(timedelta(hours=2))
    service.remind_unpaid(older_than=timedelta(hours=1))
    assert [("payment_reminder", order.id)] == [
        (e.kind, e.order_id) for e in outbox(storage, kind="payment_reminder")
    ]


def test_reminding_stops_at_the_limit_and_the_next_run_reminds_the_rest(
    service: OrderService, clock: FixedClock
) -> None:
    placed = [service.place(draft(("MUG", 1))).id for _ in range(3)]
    clock.advance(timedelta(hours=2))
    first = service.remind_unpaid(older_than=timedelta(hours=1), limit=2)
    second = service.remind_unpaid(older_than=timedelta(hours=1), limit=2)
    assert (2, sorted(placed)) == (len(first), sorted(o.id for o in first + second))


def test_reminding_with_a_negative_age_raises_validation_error(service: OrderService) -> None:
    with pytest.raises(ValidationError) as raised:
        service.remind_unpaid(older_than=timedelta(minutes=-1))
    assert "older_than" == raised.value.field


# -- opens and clicks ------------------------------------------------------------------------


def test_recording_an_open_appends_receipt_opened_to_the_order_stream_at_the_time_given(
    service: OrderService,
) -> None:
    order = service.place(draft(("MUG", 1)))
    opened_at = START + timedelta(hours=3)
    service.record_receipt_open("id-000002", at=opened_at)
    assert [("ReceiptOpened", opened_at, ReceiptOpened("id-000002"))] == [
        (e.type, e.at, e.payload) for e in service.history(order.id) if e.type == "ReceiptOpened"
    ]


def test_every_open_is_recorded(service: OrderService) -> None:
    order = service.place(draft(("MUG", 1)))
    service.record_receipt_open("id-000002")
    service.record_receipt_open("id-000002")
    assert 2 == len(payloads(service, order, ReceiptOpened))


def test_recording_a_click_appends_receipt_clicked_with_the_url(service: OrderService) -> None:
    order = service.place(draft(("MUG", 1)))
    service.record_receipt_click("id-000002", "https://shop.example/track/SO-1")
    assert [ReceiptClicked("id-000002", "https://shop.example/track/SO-1")] == payloads(
        service, order, ReceiptClicked
    )


def test_an_entry_without_an_order_records_its_opens_on_its_own_stream(
    service: OrderService, storage: MemoryStorage
) -> None:
    with storage.unit_of_work() as uow:
        uow.outbox.add([sample_entry("digest-1", order_id=None)])
        uow.commit()
    service.record_receipt_open("digest-1")
    with storage.reader() as uow:
        events = uow.events.read(stream=notification_stream("digest-1"), limit=None)
    assert [ReceiptOpened("digest-1")] == [e.payload for e in events]


@pytest.mark.parametrize(
    "record",
    [
        lambda s: s.record_receipt_open("nope"),
        lambda s: s.record_receipt_click("nope", "https://shop.example/"),
    ],
    ids=["open", "click"],
)
def test_recording_for_an_unknown_entry_raises_outbox_entry_not_found_a_not_found(
    service: OrderService, record: Callable[[OrderService], None]
) -> None:
    with pytest.raises(NotFound) as raised:
        record(service)
    assert OutboxEntryNotFound is type(raised.value)


def test_a_click_without_a_url_raises_validation_error(service: OrderService) -> None:
    service.place(draft(("MUG", 1)))
    with pytest.raises(ValidationError) as raised:
        service.record_receipt_click("id-000002", " ")
    assert "url" == raised.value.field


def test_an_open_at_a_time_without_a_zone_raises_validation_error(service: OrderService) -> None:
    service.place(draft(("MUG", 1)))
    with pytest.raises(ValidationError) as raised:
        service.record_receipt_open("id-000002", at=datetime(2026, 11, 23, 12, 0))
    assert "at" == raised.value.field


def test_the_notifier_is_not_asked_about_tracking_events(
    service: OrderService, notifier: EmailNotifier
) -> None:
    service.place(draft(("MUG", 1)))
    asked = len(notifier.seen)
    service.record_receipt_open("id-000002")
    assert asked == len(notifier.seen)


# -- payloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_any_json_ready_payload_reads_back_as_written(tmp_path: Path, backend: str) -> None:
    store: Storage = MemoryStorage() if backend == "memory" else SQLiteStorage(tmp_path / "p.db")
    numbers = itertools.count()

    @settings(max_examples=60, deadline=None)
    @given(payload=json_values())
    def check(payload: dict[str, object]) -> None:
        entry = sample_entry(f"e-{next(numbers)}", payload=payload)
        with store.unit_of_work() as uow:
            uow.outbox.add([entry])
            uow.commit()
        with store.reader() as uow:
            assert entry == entry_by_id(uow.outbox.find, entry.entry_id)

    try:
        check()
    finally:
        store.close()


def test_a_draft_without_a_channel_fails_the_command_naming_the_field(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class Nameless:
        def notifications(self, order: Order, events: object) -> list[OutboxDraft]:
            return [OutboxDraft("order_placed", " ", "a@b.c", "en", {})]

    service = OrderService(storage, clock=clock, notifier=Nameless())
    service.receive_stock("MUG", 1, actor="warehouse")
    with pytest.raises(ValidationError) as raised:
        service.place(draft(("MUG", 1)))
    assert ("notifications[0].channel", []) == (raised.value.field, list(service.find().items))
