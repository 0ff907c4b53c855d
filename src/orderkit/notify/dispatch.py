"""Delivering the outbox: claim due entries, render them, hand them to channels, record how it went.

A :class:`Dispatcher` works in three steps per batch, so no database transaction is held open
while a mail server or webhook endpoint takes its time:

1. claim up to ``limit`` due entries in one short unit of work (each becomes ``sending`` with
   a lease; on PostgreSQL concurrent dispatchers skip each other's rows);
2. render each entry with the :class:`Renderer` and send it through the channel it names,
   outside any unit of work; an entry whose turn comes with less than half the lease left
   is not sent, and it and the rest of the batch are claimed again once the lease ends;
3. record each outcome in its own short unit of work, with a ``NotificationSent`` or
   ``NotificationFailed`` event on the entry's stream (its order's when it has one).

A retryable :class:`~orderkit.errors.DeliveryFailed` queues the entry again after a backoff
from the :class:`RetryPolicy`; a permanent failure, the last allowed attempt, an unknown
channel or a render error makes it ``dead`` with the error kept, until :meth:`Dispatcher.resend`.
Several dispatchers (threads, processes, machines) may run against one storage: a claimed entry
is held by one of them until its lease ends, and a send shorter than half the lease is made
by one dispatcher only.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from orderkit.clock import SystemClock, require_utc
from orderkit.domain.checks import require_whole
from orderkit.domain.events import (
    NewEvent,
    NotificationFailed,
    NotificationQueued,
    NotificationSent,
)
from orderkit.errors import (
    DeliveryFailed,
    LeaseLost,
    OutboxEntryNotFound,
    TransientStorageError,
    ValidationError,
)
from orderkit.notify.message import Message
from orderkit.notify.outbox import (
    OutboxEntry,
    entry_by_id,
    entry_stream,
    mark_failed,
    mark_sent,
    requeue,
    require_limit,
)
from orderkit.ports import Channel, Clock, Renderer, Storage

__all__ = ["DispatchReport", "Dispatcher", "JsonRenderer", "Renderer", "RetryPolicy"]

#: Longest error text kept on an entry and in its event; the rest is cut.
MAX_ERROR_LENGTH = 2000
#: How often recording an outcome is tried when the database asks for a retry.
RECORD_ATTEMPTS = 5


class JsonRenderer:
    """Renders any entry as its payload: the subject from the kind, the text as indented JSON.

    Useful for webhooks and machine recipients (``data`` is the payload itself), for a
    development inbox, and as a fallback while templates are being written.

    Args:
        subjects: a subject per kind (``{"order_placed": "Thanks for your order"}``);
            other kinds get their name in words (``order_placed`` -> ``Order placed``).
    """

    def __init__(self, subjects: Mapping[str, str] | None = None) -> None:
        self.subjects = dict(subjects or {})

    def render(self, entry: OutboxEntry) -> Message:
        subject = self.subjects.get(entry.kind) or entry.kind.replace("_", " ").capitalize()
        return Message(
            message_id=entry.entry_id,
            dedup_key=entry.dedup_key,
            kind=entry.kind,
            recipient=entry.recipient,
            subject=" ".join(subject.split()),  # a subject is one line
            text=json.dumps(entry.payload, ensure_ascii=False, indent=2, sort_keys=True),
            data=entry.payload,
            locale=entry.locale,
        )


def _positive(name: str) -> Callable[[object, attrs.Attribute[timedelta], timedelta], None]:
    def check(_: object, __: attrs.Attribute[timedelta], value: timedelta) -> None:
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise ValidationError(name, "must be a positive timedelta")

    return check


def _check_attempts(_: object, __: attrs.Attribute[int], value: int) -> None:
    require_whole("max_attempts", value)


@attrs.frozen
class RetryPolicy:
    """How often and when a failed delivery is tried again.

    After failed attempt ``n`` the entry waits a random time between zero and
    ``min(max_delay, base_delay * 2 ** (n - 1))`` ("full jitter", so dispatchers that failed
    together do not retry together). Attempt ``max_attempts`` is the last.

    Args:
        max_attempts: attempts in all, the first included.
        base_delay: the ceiling of the first wait.
        max_delay: the largest ceiling.
        uniform: ``uniform(low, high)`` drawing the wait in seconds; ``random.uniform``
            unless a test wants it fixed.

    Raises:
        ValidationError: a value out of range (``max_delay`` below ``base_delay``, …).
    """

    max_attempts: int = attrs.field(default=8, validator=_check_attempts)
    base_delay: timedelta = attrs.field(
        default=timedelta(seconds=30), validator=_positive("base_delay")
    )
    max_delay: timedelta = attrs.field(default=timedelta(hours=2), validator=_positive("max_delay"))
    uniform: Callable[[float, float], float] = attrs.field(
        default=random.uniform, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        if self.max_delay < self.base_delay:
            raise ValidationError("max_delay", "must not be below base_delay")

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt ``attempt`` (1 for the first)."""
        # The exponent is bounded so a huge attempt number cannot overflow the float.
        ceiling = min(
            self.max_delay.total_seconds(),
            self.base_delay.total_seconds() * 2.0 ** min(attempt - 1, 64),
        )
        # Clamped: rounding to whole microseconds must not carry a wait past the cap.
        return min(self.max_delay, timedelta(seconds=self.uniform(0.0, ceiling)))


@attrs.frozen
class DispatchReport:
    """What one or more dispatch runs did.

    ``lost`` counts claimed entries this dispatcher did not see through: outcomes not recorded
    because the entry's lease had been taken over by another dispatcher (see
    :class:`~orderkit.errors.LeaseLost`), and entries left unsent because less than half of
    the lease was left when their turn came (they are claimed again once it ends).
    """

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


@attrs.frozen
class _Failure:
    error: str
    retryable: bool


@attrs.frozen
class _Delivered:
    locale: str  # what the renderer made of the entry's locale


class Dispatcher:
    """Delivers due outbox entries through channels, with retries and a dead-letter state.

    Args:
        storage: where the outbox lives.
        channels: the channels by name, or a sequence of channels (named by ``.name``).
        renderer: turns an entry into a :class:`~orderkit.notify.message.Message`.
        clock: where "now" comes from; UTC system time by default.
        retry: the :class:`RetryPolicy`; eight attempts from 30 s to 2 h apart by default.
        lease: how long a claimed batch is held before another dispatcher may take its
            entries over. A send is started only while at least half the lease is left (the
            rest of the batch waits for the lease to end and is claimed again), so a message
            goes out twice only if one send takes longer than half the lease: make it more
            than twice the slowest send.
        only_own_channels: claim only entries for this dispatcher's channels, leaving the
            rest to other dispatchers (one worker for email, another for webhooks). By
            default every due entry is claimed and one for an unknown channel is dead.
        actor: who the delivery events name.

    Raises:
        ValidationError: two channels with one name, or a lease that is not positive.
    """

    def __init__(
        self,
        storage: Storage,
        channels: Mapping[str, Channel] | Sequence[Channel],
        renderer: Renderer,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        only_own_channels: bool = False,
        actor: str = "dispatcher",
    ) -> None:
        if isinstance(channels, Mapping):
            self.channels: dict[str, Channel] = dict(channels)
        else:
            self.channels = {}
            for channel in channels:
                if channel.name in self.channels:
                    raise ValidationError(
                        "channels", f"two channels are named {channel.name!r}; names must differ"
                    )
                self.channels[channel.name] = channel
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise ValidationError("lease", "must be a positive timedelta")
        self.storage = storage
        self.renderer = renderer
        self.clock: Clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.only_own_channels = only_own_channels
        self.actor = actor

    def _now(self) -> datetime:
        return require_utc("clock.now()", self.clock.now())

    # -- dispatching -----------------------------------------------------------------------

    def dispatch_pending(self, limit: int = 100) -> DispatchReport:
        """Deliver up to ``limit`` due entries once; call it from a worker or cron job.

        Raises:
            ValidationError: ``limit`` is not in 1..1000.
            TransientStorageError: the database stayed busy: while claiming, nothing was
                claimed; while recording (after a few tries), the entries of this batch not
                yet recorded are sent again once their lease ends, with the same dedup key.
        """
        require_limit(limit)
        now = self._now()
        with self.storage.unit_of_work() as uow:
            claimed = uow.outbox.claim_due(
                now,
                limit,
                now + self.lease,
                channels=sorted(self.channels) if self.only_own_channels else None,
            )
            uow.commit()
        report = DispatchReport(claimed=len(claimed))
        for index, entry in enumerate(claimed):
            # The whole batch shares one lease. A send started with less than half of it
            # left could outlive it while another dispatcher sends the same entry, so the
            # rest of the batch is left to be claimed again once the lease ends.
            if entry.next_attempt_at - self._now() < self.lease / 2:
                return report + DispatchReport(lost=len(claimed) - index)
            outcome = self._record(entry, self._deliver(entry))
            report = report + DispatchReport(**{outcome: 1})
        return report

    def run_forever(
        self,
        poll_interval: float = 5.0,
        stop: threading.Event | None = None,
        *,
        limit: int = 100,
    ) -> DispatchReport:
        """Dispatch until ``stop`` is set (forever without one); return what was done.

        Full batches follow each other at once; after a batch that was not full the loop
        waits ``poll_interval`` seconds (or until ``stop`` is set). A database that stays
        busy only delays the next batch; entries of a batch whose outcome could not be
        recorded are sent again once their lease ends (with the same dedup key).
        """
        if poll_interval <= 0:
            raise ValidationError("poll_interval", "must be a positive number of seconds")
        stop = stop or threading.Event()
        total = DispatchReport()
        while not stop.is_set():
            try:
                report = self.dispatch_pending(limit)
            except TransientStorageError:
                report = DispatchReport()
            total = total + report
            if report.claimed < limit:
                stop.wait(poll_interval)
        return total

    def resend(self, entry_id: str) -> OutboxEntry:
        """Queue a dead entry again, due now with a fresh set of attempts.

        Raises:
            OutboxEntryNotFound: there is no such entry.
            OutboxStateError: the entry is not dead.
        """
        now = self._now()
        with self.storage.unit_of_work() as uow:
            stored = entry_by_id(uow.outbox.find, entry_id)
            if stored is None:
                raise OutboxEntryNotFound(entry_id)
            entry = uow.outbox.update(requeue(stored, now), expected=stored)
            event = NotificationQueued(
                entry.entry_id, entry.kind, entry.channel, entry.recipient, entry.locale
            )
            uow.events.append([NewEvent(entry_stream(entry), now, self.actor, "resend", event)])
            uow.commit()
        return entry

    # -- one entry -------------------------------------------------------------------------

    def _deliver(self, entry: OutboxEntry) -> _Failure | _Delivered:
        """Render and send one claimed entry; the failure, or the locale it was sent in."""
        if entry.attempts > self.retry.max_attempts:
            return _Failure(
                f"attempt {entry.attempts - 1} ended without an outcome (the dispatcher stopped "
                "or its lease ran out) and was the last allowed",
                retryable=False,
            )
        channel = self.channels.get(entry.channel)
        if channel is None:
            known = ", ".join(sorted(self.channels)) or "none"
            return _Failure(
                f"no channel named {entry.channel!r}; this dispatcher has: {known}",
                retryable=False,
            )
        try:
            message = self.renderer.render(entry)
        except Exception as exc:  # a render bug dead-letters this entry, not the whole batch
            return _Failure(f"rendering failed: {type(exc).__name__}: {exc}", retryable=False)
        message = attrs.evolve(message, message_id=entry.entry_id, dedup_key=entry.dedup_key)
        try:
            channel.send(message)
        except DeliveryFailed as exc:
            return _Failure(str(exc), exc.retryable)
        except Exception as exc:
            # A channel should raise DeliveryFailed; anything else (a network error it let
            # escape) is retried rather than lost.
            return _Failure(f"{type(exc).__name__}: {exc}", retryable=True)
        return _Delivered(message.locale)

    def _record(self, entry: OutboxEntry, outcome: _Failure | _Delivered) -> str:
        """Record one outcome; return the :class:`DispatchReport` field it counts under."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                return self._record_once(entry, outcome)
            except TransientStorageError:
                if attempt == RECORD_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_once(self, entry: OutboxEntry, outcome: _Failure | _Delivered) -> str:
        now = self._now()
        outbox_id, attempt = entry.entry_id, entry.attempts
        payload: object
        with self.storage.unit_of_work() as uow:
            try:
                if isinstance(outcome, _Delivered):
                    uow.outbox.update(mark_sent(entry, sent_at=now), expected=entry)
                    payload = NotificationSent(
                        outbox_id, entry.kind, entry.channel, attempt, outcome.locale
                    )
                    counted = "sent"
                else:
                    error = outcome.error[:MAX_ERROR_LENGTH]
                    final = not outcome.retryable or attempt >= self.retry.max_attempts
                    retry_at = None if final else now + self.retry.delay(attempt)
                    after = mark_failed(entry, error=error, retry_at=retry_at)
                    uow.outbox.update(after, expected=entry)
                    payload = NotificationFailed(
                        outbox_id, entry.kind, entry.channel, attempt, error, final, retry_at
                    )
                    counted = "dead" if final else "retried"
            except LeaseLost:
                return "lost"
            uow.events.append([NewEvent(entry_stream(entry), now, self.actor, "", payload)])
            uow.commit()
        return counted
