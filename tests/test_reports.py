"""The receipt report: delivery, opens, clicks and send latency per kind and locale."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from _outbox_support import START, EmailNotifier, RecordingChannel, draft
from orderkit.adapters.memory import MemoryStorage
from orderkit.clock import FixedClock, SequentialIds
from orderkit.errors import ValidationError
from orderkit.notify.dispatch import Dispatcher, JsonRenderer, RetryPolicy
from orderkit.notify.outbox import OutboxQuery
from orderkit.notify.reports import ReceiptReport, ReceiptStats, receipt_report
from orderkit.service import OrderService


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(storage: MemoryStorage, clock: FixedClock) -> OrderService:
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), notifier=EmailNotifier())
    svc.receive_stock("MUG", 100, actor="warehouse")
    return svc


def send_after(
    storage: MemoryStorage, clock: FixedClock, wait: timedelta, channel: RecordingChannel
) -> None:
    clock.advance(wait)
    Dispatcher(
        storage, [channel], JsonRenderer(), clock=clock, retry=RetryPolicy(max_attempts=1)
    ).dispatch_pending()


def place(service: OrderService, clock: FixedClock, locale: str = "en") -> str:
    """Place an order a minute after the last; return its receipt's outbox entry id."""
    clock.advance(timedelta(minutes=1))
    order = service.place(draft(("MUG", 1), locale=locale))
    return next(
        e.payload.entry_id for e in service.history(order.id) if e.type == "NotificationQueued"
    )  # type: ignore[attr-defined]


def test_the_report_counts_sent_opened_and_clicked_messages_per_kind_and_locale(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    receipts = [place(service, clock) for _ in range(4)]
    place(service, clock, locale="de")
    send_after(storage, clock, timedelta(seconds=10), RecordingChannel())
    service.record_receipt_open(receipts[0])
    service.record_receipt_open(receipts[0])  # the same message again counts once
    service.record_receipt_open(receipts[1])
    service.record_receipt_click(receipts[1], "https://shop.example/track")
    report = receipt_report(storage)
    assert [("order_placed", "de", 1, 1, 0, 0), ("order_placed", "en", 4, 4, 2, 1)] == [
        (r.kind, r.locale, r.queued, r.sent, r.opened, r.clicked) for r in report.rows
    ]


def test_open_and_click_rates_are_per_sent_message(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    receipts = [place(service, clock) for _ in range(4)]
    send_after(storage, clock, timedelta(seconds=1), RecordingChannel())
    service.record_receipt_open(receipts[0])
    service.record_receipt_click(receipts[0], "https://shop.example/a")
    service.record_receipt_open(receipts[1])
    row = receipt_report(storage).row("order_placed", "en")
    assert (0.5, 0.25) == (row.open_rate, row.click_rate) if row else None


def test_rates_are_none_when_nothing_was_sent(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    place(service, clock)
    row = receipt_report(storage).row("order_placed", "en")
    assert (1, 0, None, None) == (
        (row.pending, row.sent, row.open_rate, row.click_rate) if row else None
    )


def test_dead_messages_and_failed_attempts_are_counted(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    place(service, clock)
    place(service, clock)
    send_after(storage, clock, timedelta(seconds=1), RecordingChannel(fail=1, retryable=False))
    row = receipt_report(storage).row("order_placed", "en")
    assert (2, 1, 1, 1) == ((row.queued, row.sent, row.dead, row.failed_attempts) if row else None)


def test_send_latency_runs_from_placing_the_order_to_sending_its_message(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    channel = RecordingChannel()
    for wait in (5, 1, 3, 2, 4, 60, 10, 7, 9, 8):  # seconds after each placement
        place(service, clock)
        send_after(storage, clock, timedelta(seconds=wait), channel)
    row = receipt_report(storage).row("order_placed", "en")
    assert (timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=60)) == (
        (row.latency_p50, row.latency_p90, row.latency_max) if row else None
    )


def test_send_latency_runs_from_the_event_that_called_for_the_message(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    channel = RecordingChannel()
    place(service, clock)
    send_after(storage, clock, timedelta(seconds=2), channel)
    order = service.find().items[0]
    service.pay(order.id, order.total, reference="psp-1")
    clock.advance(timedelta(days=3))
    service.ship(order.id, carrier="sf", tracking_number="SF1")
    send_after(storage, clock, timedelta(seconds=5), channel)
    row = receipt_report(storage).row("shipped", "en")
    assert timedelta(seconds=5) == (row.latency_max if row else None)


def test_the_window_selects_messages_by_when_they_were_queued(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    place(service, clock)  # 09:01
    place(service, clock)  # 09:02
    place(service, clock)  # 09:03
    report = receipt_report(
        storage, since=START + timedelta(minutes=2), until=START + timedelta(minutes=3)
    )
    assert [1] == [r.queued for r in report.rows]


def test_a_window_without_a_zone_raises_validation_error(storage: MemoryStorage) -> None:
    with pytest.raises(ValidationError) as raised:
        receipt_report(storage, since=datetime(2026, 11, 23))
    assert "since" == raised.value.field


def test_the_report_formats_as_an_aligned_table() -> None:
    seconds = timedelta(seconds=1)
    report = ReceiptReport(
        (
            ReceiptStats(
                "order_placed",
                "en",
                4,
                4,
                0,
                0,
                1,
                2,
                1,
                3 * seconds,
                90 * seconds,
                2 * 3600 * seconds,
            ),
            ReceiptStats("shipped", "zh_Hans", 1, 0, 1, 0, 3, 0, 0, None, None, None),
        )
    )
    # The expected table is wider than a line of code.
    expected = """\
kind          locale   queued  sent  dead  pending  opened  open rate  clicked  click rate   p50    p90    max
order_placed  en            4     4     0        0       2      50.0%        1       25.0%  3.0s  1m30s  2h00m
shipped       zh_Hans       1     0     1        0       0          -        0           -     -      -      -"""  # noqa: E501
    assert expected == report.format()


class EmailAndArchive(EmailNotifier):
    """Queues each receipt twice: to the customer's email and to the shop's archive."""

    def notifications(self, order, events):  # type: ignore[no-untyped-def]
        drafts = super().notifications(order, events)
        return drafts + [attrs.evolve(d, channel="archive", recipient=order.number) for d in drafts]


def test_a_channel_filter_counts_only_that_channels_messages(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), notifier=EmailAndArchive())
    svc.receive_stock("MUG", 10, actor="warehouse")
    order = svc.place(draft(("MUG", 1)))
    clock.advance(timedelta(seconds=5))
    Dispatcher(
        storage,
        [RecordingChannel("email"), RecordingChannel("archive")],
        JsonRenderer(),
        clock=clock,
    ).dispatch_pending()
    with storage.reader() as uow:
        [email] = [
            e for e in uow.outbox.find(OutboxQuery(order_id=order.id)).items if e.channel == "email"
        ]
    svc.record_receipt_open(email.entry_id)
    everything = receipt_report(storage).row("order_placed", "en")
    emailed = receipt_report(storage, channel="email").row("order_placed", "en")
    assert ((2, 0.5), (1, 1.0)) == (
        (everything.sent, everything.open_rate) if everything else None,
        (emailed.sent, emailed.open_rate) if emailed else None,
    )
