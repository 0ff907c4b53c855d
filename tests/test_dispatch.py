"""The dispatcher: delivery through channels, retries with backoff, dead letters, re-sending."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _outbox_support import START, EmailNotifier, RecordingChannel, draft
from orderkit.adapters.memory import MemoryStorage
from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.events import NotificationFailed, NotificationSent, RecordedEvent
from orderkit.domain.order import Order
from orderkit.errors import (
    DeliveryFailed,
    OutboxStateError,
    TransientStorageError,
    ValidationError,
)
from orderkit.notify.dispatch import Dispatcher, DispatchReport, JsonRenderer, RetryPolicy
from orderkit.notify.message import Message
from orderkit.notify.outbox import OutboxEntry, OutboxStatus, entry_by_id
from orderkit.service import OrderService
from orderkit.testing.outbox import sample_entry
from strategies import retry_policies

#: Waits of exactly the ceiling, so retry times are predictable.
CEILING = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=30), uniform=lambda lo, hi: hi)


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    storage = MemoryStorage()
    yield storage
    storage.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(storage: MemoryStorage, clock: FixedClock) -> OrderService:
    svc = OrderService(storage, clock=clock, ids=SequentialIds("id-"), notifier=EmailNotifier())
    svc.receive_stock("MUG", 100, actor="warehouse")
    return svc


@pytest.fixture
def email() -> RecordingChannel:
    return RecordingChannel("email")


def dispatcher(
    storage: MemoryStorage, clock: FixedClock, *channels: RecordingChannel, **options: object
) -> Dispatcher:
    return Dispatcher(
        storage,
        channels,
        JsonRenderer(),
        clock=clock,
        retry=CEILING,
        **options,  # type: ignore[arg-type]
    )


def entry(storage: MemoryStorage, entry_id: str) -> OutboxEntry:
    with storage.reader() as uow:
        found = entry_by_id(uow.outbox.find, entry_id)
    assert found is not None
    return found


def add(storage: MemoryStorage, *entries: OutboxEntry) -> None:
    with storage.unit_of_work() as uow:
        uow.outbox.add(entries)
        uow.commit()


def delivery_events(service: OrderService, order: Order) -> list[RecordedEvent]:
    return [
        e
        for e in service.history(order.id)
        if isinstance(e.payload, (NotificationSent, NotificationFailed))
    ]


# -- delivering ------------------------------------------------------------------------------


def test_dispatching_sends_each_due_entry_once_and_marks_it_sent(
    service: OrderService, storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    orders = [service.place(draft(("MUG", 1))) for _ in range(3)]
    report = dispatcher(storage, clock, email).dispatch_pending()
    again = dispatcher(storage, clock, email).dispatch_pending()
    assert (
        DispatchReport(claimed=3, sent=3),
        DispatchReport(),
        sorted(o.number for o in orders),
    ) == (report, again, sorted(m.data["number"] for m in email.delivered))


def test_a_sent_entry_records_its_send_time(
    service: OrderService, storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    service.place(draft(("MUG", 1)))
    clock.advance(timedelta(seconds=4))
    dispatcher(storage, clock, email).dispatch_pending()
    sent = entry(storage, "id-000002")
    assert (OutboxStatus.SENT, START + timedelta(seconds=4)) == (sent.status, sent.sent_at)


def test_the_channel_gets_the_entry_id_as_message_id_and_the_entry_dedup_key(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1"))
    dispatcher(storage, clock, email).dispatch_pending()
    assert [("e-1", "dedup-e-1")] == [(m.message_id, m.dedup_key) for m in email.delivered]


def test_a_renderer_cannot_change_the_message_id_or_dedup_key(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    class Sloppy(JsonRenderer):
        def render(self, entry: OutboxEntry) -> Message:
            return Message("wrong", "wrong", entry.kind, entry.recipient, "Hi", "text")

    add(storage, sample_entry("e-1"))
    Dispatcher(storage, [email], Sloppy(), clock=clock).dispatch_pending()
    assert [("e-1", "dedup-e-1")] == [(m.message_id, m.dedup_key) for m in email.delivered]


def test_a_delivery_is_recorded_as_notification_sent_on_the_order_stream(
    service: OrderService, storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    order = service.place(draft(("MUG", 1)))
    dispatcher(storage, clock, email).dispatch_pending()
    assert [("dispatcher", NotificationSent("id-000002", "order_placed", "email", 1, "en"))] == [
        (e.actor, e.payload) for e in delivery_events(service, order)
    ]


def test_entries_not_yet_due_are_left_alone(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1", due=START + timedelta(minutes=1)))
    report = dispatcher(storage, clock, email).dispatch_pending()
    assert (DispatchReport(), OutboxStatus.QUEUED) == (report, entry(storage, "e-1").status)


def test_dispatching_takes_at_most_the_limit(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, *(sample_entry(f"e-{i}") for i in range(5)))
    assert 2 == dispatcher(storage, clock, email).dispatch_pending(limit=2).sent


# -- retries and dead letters ----------------------------------------------------------------


def test_a_retryable_failure_queues_the_entry_again_after_the_policy_delay(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    report = dispatcher(storage, clock, RecordingChannel(fail=1)).dispatch_pending()
    failed = entry(storage, "e-1")
    assert (
        DispatchReport(claimed=1, retried=1),
        (OutboxStatus.QUEUED, START + timedelta(seconds=30), "421 mail server busy"),
    ) == (report, (failed.status, failed.next_attempt_at, failed.last_error))


def test_the_wait_doubles_with_each_failed_attempt(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    channel = RecordingChannel(fail=2)
    waits = []
    for _ in range(2):
        dispatcher(storage, clock, channel).dispatch_pending()
        waits.append(entry(storage, "e-1").next_attempt_at - clock.now())
        clock.set(entry(storage, "e-1").next_attempt_at)
    assert [timedelta(seconds=30), timedelta(seconds=60)] == waits


def test_an_entry_that_fails_then_succeeds_is_delivered_once_on_its_retry(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    channel = RecordingChannel(fail=1)
    dispatcher(storage, clock, channel).dispatch_pending()
    clock.advance(timedelta(seconds=30))
    dispatcher(storage, clock, channel).dispatch_pending()
    assert (["e-1", "e-1"], ["e-1"], OutboxStatus.SENT) == (
        [m.message_id for m in channel.attempts],
        [m.message_id for m in channel.delivered],
        entry(storage, "e-1").status,
    )


def test_a_permanent_failure_makes_the_entry_dead_at_once_with_the_error(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    channel = RecordingChannel(fail=1, retryable=False, error="550 no such user")
    report = dispatcher(storage, clock, channel).dispatch_pending()
    dead = entry(storage, "e-1")
    assert (DispatchReport(claimed=1, dead=1), OutboxStatus.DEAD, "550 no such user") == (
        report,
        dead.status,
        dead.last_error,
    )


def test_an_entry_is_dead_after_its_last_allowed_attempt(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    channel = RecordingChannel(fail=99)
    for _ in range(5):
        dispatcher(storage, clock, channel).dispatch_pending()
        clock.advance(timedelta(hours=1))
    assert (3, OutboxStatus.DEAD) == (len(channel.attempts), entry(storage, "e-1").status)


def test_an_entry_for_an_unknown_channel_is_dead_naming_the_channels_there_are(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, attrs.evolve(sample_entry("e-2"), channel="sms"))
    dispatcher(storage, clock, email).dispatch_pending()
    assert (OutboxStatus.DEAD, "no channel named 'sms'; this dispatcher has: email") == (
        entry(storage, "e-2").status,
        entry(storage, "e-2").last_error,
    )


def test_a_render_error_makes_the_entry_dead_with_the_error(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    class Broken:
        def render(self, entry: OutboxEntry) -> Message:
            raise KeyError("customer_name")

    add(storage, sample_entry("e-1"))
    Dispatcher(storage, [email], Broken(), clock=clock).dispatch_pending()
    dead = entry(storage, "e-1")
    assert (OutboxStatus.DEAD, "rendering failed: KeyError: 'customer_name'", []) == (
        dead.status,
        dead.last_error,
        email.attempts,
    )


def test_a_channel_raising_something_other_than_delivery_failed_is_retried(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class Leaky(RecordingChannel):
        def send(self, message: Message) -> None:
            raise ConnectionResetError("peer reset")

    add(storage, sample_entry("e-1"))
    dispatcher(storage, clock, Leaky()).dispatch_pending()
    failed = entry(storage, "e-1")
    assert (OutboxStatus.QUEUED, "ConnectionResetError: peer reset") == (
        failed.status,
        failed.last_error,
    )


def test_failures_are_recorded_as_notification_failed_with_whether_they_were_final(
    service: OrderService, storage: MemoryStorage, clock: FixedClock
) -> None:
    order = service.place(draft(("MUG", 1)))
    channel = RecordingChannel(fail=3)
    for _ in range(3):
        dispatcher(storage, clock, channel).dispatch_pending()
        clock.advance(timedelta(hours=1))
    retry_1, retry_2 = START + timedelta(seconds=30), START + timedelta(hours=1, seconds=60)
    assert [
        NotificationFailed("id-000002", "order_placed", "email", 1, channel.error, False, retry_1),
        NotificationFailed("id-000002", "order_placed", "email", 2, channel.error, False, retry_2),
        NotificationFailed("id-000002", "order_placed", "email", 3, channel.error, True, None),
    ] == [e.payload for e in delivery_events(service, order)]


def test_an_entry_whose_last_attempt_never_reported_is_dead_when_claimed_again(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1"))
    for _ in range(3):  # three dispatchers each claimed it and stopped before sending
        with storage.unit_of_work() as uow:
            uow.outbox.claim_due(clock.now(), 10, clock.now() + timedelta(minutes=5))
            uow.commit()
        clock.advance(timedelta(minutes=6))
    dispatcher(storage, clock, email).dispatch_pending()
    assert (OutboxStatus.DEAD, []) == (entry(storage, "e-1").status, email.attempts)


def test_an_outcome_after_the_lease_was_taken_over_is_counted_lost_and_the_other_stands(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    lease = timedelta(minutes=5)
    fast = RecordingChannel()
    rival = Dispatcher(storage, [fast], JsonRenderer(), clock=clock, lease=lease)

    class Slow(RecordingChannel):
        def send(self, message: Message) -> None:
            clock.advance(lease + timedelta(seconds=1))  # this send outlives its lease …
            rival.dispatch_pending()  # … and another dispatcher takes the entry over
            super().send(message)

    add(storage, sample_entry("e-1"))
    slow = Slow()
    report = Dispatcher(
        storage, [slow], JsonRenderer(), clock=clock, lease=lease
    ).dispatch_pending()
    assert (DispatchReport(claimed=1, lost=1), ["dedup-e-1"], ["dedup-e-1"], 2) == (
        report,
        [m.dedup_key for m in slow.delivered],
        [m.dedup_key for m in fast.delivered],
        entry(storage, "e-1").attempts,
    )


def test_a_dispatcher_leaves_an_entry_unsent_when_less_than_half_its_lease_is_left(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    lease = timedelta(minutes=5)

    class Slow(RecordingChannel):
        def send(self, message: Message) -> None:
            super().send(message)
            clock.advance(timedelta(minutes=3))  # well inside the lease, but over half of it

    add(storage, sample_entry("e-1"), sample_entry("e-2"))
    slow, rival_channel = Slow(), Slow()
    first = Dispatcher(storage, [slow], JsonRenderer(), clock=clock, lease=lease)
    report = first.dispatch_pending()
    clock.advance(lease)  # e-2's lease runs out and another dispatcher claims it
    rival = Dispatcher(storage, [rival_channel], JsonRenderer(), clock=clock, lease=lease)
    rival_report = rival.dispatch_pending()
    assert (
        DispatchReport(claimed=2, sent=1, lost=1),
        DispatchReport(claimed=1, sent=1),
        ["e-1"],
        ["e-2"],
    ) == (
        report,
        rival_report,
        [m.message_id for m in slow.attempts],
        [m.message_id for m in rival_channel.attempts],
    )


# -- re-sending ------------------------------------------------------------------------------


def test_resending_a_dead_entry_delivers_it_again_with_the_same_dedup_key(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, sample_entry("e-1"))
    channel = RecordingChannel(fail=1, retryable=False)
    d = dispatcher(storage, clock, channel)
    d.dispatch_pending()
    d.resend("e-1")
    d.dispatch_pending()
    assert (["dedup-e-1", "dedup-e-1"], OutboxStatus.SENT) == (
        [m.dedup_key for m in channel.attempts],
        entry(storage, "e-1").status,
    )


def test_resending_an_entry_that_is_not_dead_raises_outbox_state_error(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1"))
    with pytest.raises(OutboxStateError) as raised:
        dispatcher(storage, clock, email).resend("e-1")
    assert OutboxStatus.QUEUED == raised.value.status


# -- the loop --------------------------------------------------------------------------------


def test_run_forever_drains_the_outbox_and_returns_when_stopped(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    add(storage, *(sample_entry(f"e-{i}") for i in range(5)))
    stop = threading.Event()

    class StopWhenDrained(RecordingChannel):
        def send(self, message: Message) -> None:
            super().send(message)
            if len(self.delivered) == 5:
                stop.set()

    channel = StopWhenDrained()
    loop = dispatcher(storage, clock, channel)
    total = loop.run_forever(poll_interval=0.01, stop=stop, limit=2)
    assert (DispatchReport(claimed=5, sent=5), 5) == (total, len(channel.delivered))


def test_run_forever_refuses_a_poll_interval_that_is_not_positive(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    with pytest.raises(ValidationError) as raised:
        dispatcher(storage, clock, email).run_forever(poll_interval=0)
    assert "poll_interval" == raised.value.field


# -- configuration ---------------------------------------------------------------------------


def test_two_channels_with_one_name_raise_validation_error(storage: MemoryStorage) -> None:
    with pytest.raises(ValidationError) as raised:
        Dispatcher(storage, [RecordingChannel("email"), RecordingChannel("email")], JsonRenderer())
    assert "channels" == raised.value.field


def test_channels_may_be_given_by_name(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1"))
    Dispatcher(storage, {"email": email}, JsonRenderer(), clock=clock).dispatch_pending()
    assert ["e-1"] == [m.message_id for m in email.delivered]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"base_delay": timedelta(0)}, "base_delay"),
        ({"base_delay": timedelta(minutes=5), "max_delay": timedelta(minutes=1)}, "max_delay"),
    ],
    ids=["attempts", "base", "cap"],
)
def test_a_retry_policy_out_of_range_raises_validation_error_naming_the_field(
    options: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        RetryPolicy(**options)  # type: ignore[arg-type]
    assert field == raised.value.field


def test_the_wait_ceiling_doubles_from_the_base_delay_up_to_the_cap() -> None:
    policy = RetryPolicy(
        base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=50), uniform=lambda a, b: b
    )
    assert [10, 20, 40, 50, 50] == [policy.delay(n).total_seconds() for n in range(1, 6)]


@given(policy=retry_policies(), attempt=st.integers(min_value=1, max_value=10_000))
def test_a_wait_is_never_negative_nor_above_its_ceiling(policy: RetryPolicy, attempt: int) -> None:
    doubled = policy.base_delay.total_seconds() * 2.0 ** min(attempt - 1, 1000)
    ceiling = min(policy.max_delay.total_seconds(), doubled + 1e-6)  # 1 µs of rounding
    wait = policy.delay(attempt)
    assert (True, True) == (
        timedelta(0) <= wait <= policy.max_delay,
        wait.total_seconds() <= ceiling,
    )


# -- the JSON renderer -----------------------------------------------------------------------


def test_the_json_renderer_names_the_subject_after_the_kind_and_sends_the_payload() -> None:
    message = JsonRenderer().render(sample_entry("e-1", payload={"number": "SO-1", "名": "王"}))
    assert (
        "Order placed",
        '{\n  "number": "SO-1",\n  "名": "王"\n}',
        {"number": "SO-1", "名": "王"},
    ) == (
        message.subject,
        message.text,
        dict(message.data),
    )


def test_the_json_renderer_uses_a_subject_given_for_the_kind_on_one_line() -> None:
    renderer = JsonRenderer({"order_placed": "Thanks for\r\nyour order"})
    assert "Thanks for your order" == renderer.render(sample_entry()).subject


# -- any failure pattern ---------------------------------------------------------------------


class Scripted(RecordingChannel):
    """Answers each attempt as scripted: ``ok``, ``retry`` (retryable) or ``bounce``."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = list(script)

    def send(self, message: Message) -> None:
        self.attempts.append(message)
        answer = self.script.pop(0) if self.script else "ok"
        if answer != "ok":
            raise DeliveryFailed(answer, retryable=answer == "retry")
        self.delivered.append(message)


@given(
    script=st.lists(st.sampled_from(["ok", "retry", "bounce"]), max_size=8),
    max_attempts=st.integers(min_value=1, max_value=6),
)
def test_an_entry_ends_sent_or_dead_as_its_first_final_answer_decides(
    script: list[str], max_attempts: int
) -> None:
    storage, clock = MemoryStorage(), FixedClock(START)
    add(storage, sample_entry("e-1"))
    channel = Scripted(script)
    policy = RetryPolicy(max_attempts=max_attempts, max_delay=timedelta(hours=1))
    dispatcher = Dispatcher(storage, [channel], JsonRenderer(), clock=clock, retry=policy)
    for _ in range(max_attempts + 2):
        dispatcher.dispatch_pending()
        clock.advance(timedelta(hours=1))
    # The answers the channel gives until one is final: a success, a bounce, or the last try.
    answers = [*script, "ok"][:max_attempts]
    final = next((i for i, a in enumerate(answers) if a != "retry"), len(answers) - 1)
    expected = OutboxStatus.SENT if answers[final] == "ok" else OutboxStatus.DEAD
    found = entry(storage, "e-1")
    assert (expected, final + 1, final + 1) == (found.status, found.attempts, len(channel.attempts))


def test_a_dispatcher_for_its_own_channels_leaves_the_others_queued(
    storage: MemoryStorage, clock: FixedClock, email: RecordingChannel
) -> None:
    add(storage, sample_entry("e-1"), attrs.evolve(sample_entry("e-2"), channel="webhook"))
    own = Dispatcher(storage, [email], JsonRenderer(), clock=clock, only_own_channels=True)
    own.dispatch_pending()
    assert (OutboxStatus.SENT, OutboxStatus.QUEUED) == (
        entry(storage, "e-1").status,
        entry(storage, "e-2").status,
    )


def test_run_forever_waits_out_a_busy_database_and_carries_on(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    class BusyOnce:
        """The real storage, except that the first unit of work finds the database busy."""

        def __init__(self, inner: MemoryStorage) -> None:
            self.inner, self.busy = inner, True

        def unit_of_work(self) -> Any:
            if self.busy:
                self.busy = False
                raise TransientStorageError("database is locked")
            return self.inner.unit_of_work()

        def reader(self) -> Any:
            return self.inner.reader()

        def close(self) -> None:
            self.inner.close()

    add(storage, sample_entry("e-1"))
    stop = threading.Event()

    class StopAfterOne(RecordingChannel):
        def send(self, message: Message) -> None:
            super().send(message)
            stop.set()

    channel = StopAfterOne()
    loop = Dispatcher(BusyOnce(storage), [channel], JsonRenderer(), clock=clock)
    assert DispatchReport(claimed=1, sent=1) == loop.run_forever(poll_interval=0.01, stop=stop)
