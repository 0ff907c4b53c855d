"""Reports over what orderkit has recorded.

:func:`receipt_report` answers "do our messages arrive, and are they read?": per notification
kind and locale, how many were queued, sent and given up on, how many were opened and
clicked (each message counted once however often it was opened), and how long each message
took to go out after the event that called for it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from orderkit.clock import require_utc
from orderkit.domain.events import (
    NotificationFailed,
    ReceiptClicked,
    ReceiptOpened,
    RecordedEvent,
)
from orderkit.notify.outbox import OutboxEntry, OutboxQuery, OutboxStatus, entry_stream
from orderkit.ports import Storage, UnitOfWork

__all__ = ["ReceiptReport", "ReceiptStats", "receipt_report"]


def _percentile(ordered: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile of sorted values (None for no values)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen
class ReceiptStats:
    """Delivery and engagement of the messages of one kind in one locale.

    Attributes:
        queued: messages written to the outbox.
        sent: messages a channel accepted.
        dead: messages given up on (each can still be re-sent).
        pending: messages still waiting (queued or being sent).
        failed_attempts: delivery attempts that failed, retried ones included.
        opened: sent messages opened at least once.
        clicked: sent messages with at least one tracked link followed.
        latency: for sent messages, the time from the event that called for the message
            (the placement for ``order_placed``, the shipment for ``shipped``, …) to the
            message being sent, as nearest-rank p50, p90 and max (None when there is none).
            The entry is queued in the unit of work that records that event, so its
            ``created_at`` is the event's time.
    """

    kind: str
    locale: str
    queued: int
    sent: int
    dead: int
    pending: int
    failed_attempts: int
    opened: int
    clicked: int
    latency_p50: timedelta | None
    latency_p90: timedelta | None
    latency_max: timedelta | None

    @property
    def open_rate(self) -> float | None:
        """Opened messages per sent message (None when nothing was sent)."""
        return _rate(self.opened, self.sent)

    @property
    def click_rate(self) -> float | None:
        """Clicked messages per sent message (None when nothing was sent)."""
        return _rate(self.clicked, self.sent)


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@attrs.frozen
class ReceiptReport:
    """:class:`ReceiptStats` per (kind, locale), sorted, for messages queued in a window."""

    rows: tuple[ReceiptStats, ...]
    since: datetime | None = None
    until: datetime | None = None

    def row(self, kind: str, locale: str) -> ReceiptStats | None:
        """The stats of one kind and locale, or None when no message of them was queued."""
        return next((r for r in self.rows if (r.kind, r.locale) == (kind, locale)), None)

    def format(self) -> str:
        """The report as a plain-text table, one line per kind and locale."""
        header = (
            "kind",
            "locale",
            "queued",
            "sent",
            "dead",
            "pending",
            "opened",
            "open rate",
            "clicked",
            "click rate",
            "p50",
            "p90",
            "max",
        )
        lines = [
            (
                r.kind,
                r.locale,
                str(r.queued),
                str(r.sent),
                str(r.dead),
                str(r.pending),
                str(r.opened),
                _percent(r.open_rate),
                str(r.clicked),
                _percent(r.click_rate),
                _duration(r.latency_p50),
                _duration(r.latency_p90),
                _duration(r.latency_max),
            )
            for r in self.rows
        ]
        widths = [max(len(cells[i]) for cells in (header, *lines)) for i in range(len(header))]

        def render(cells: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(cells[:2], widths[:2], strict=True)]
            right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
            return "  ".join(left + right).rstrip()

        return "\n".join([render(header), *(render(cells) for cells in lines)])


def _entries(
    uow: UnitOfWork, since: datetime | None, until: datetime | None
) -> Iterator[OutboxEntry]:
    query = OutboxQuery(created_from=since, created_to=until, limit=1000)
    while True:
        page = uow.outbox.find(query)
        yield from page.items
        if page.next_cursor is None:
            return
        query = attrs.evolve(query, cursor=page.next_cursor)


@attrs.define
class _Tally:
    queued: int = 0
    sent: int = 0
    dead: int = 0
    pending: int = 0
    failed_attempts: int = 0
    opened: int = 0
    clicked: int = 0
    latencies: list[timedelta] = attrs.Factory(list)

    def add(self, entry: OutboxEntry, events: Sequence[RecordedEvent]) -> None:
        mine = [e.payload for e in events if getattr(e.payload, "entry_id", None) == entry.entry_id]
        self.queued += 1
        self.dead += entry.status == OutboxStatus.DEAD
        self.pending += entry.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING)
        self.failed_attempts += sum(isinstance(p, NotificationFailed) for p in mine)
        if entry.status != OutboxStatus.SENT or entry.sent_at is None:
            return
        self.sent += 1
        self.opened += any(isinstance(p, ReceiptOpened) for p in mine)
        self.clicked += any(isinstance(p, ReceiptClicked) for p in mine)
        self.latencies.append(entry.sent_at - entry.created_at)

    def stats(self, kind: str, locale: str) -> ReceiptStats:
        ordered = sorted(self.latencies)
        return ReceiptStats(
            kind,
            locale,
            self.queued,
            self.sent,
            self.dead,
            self.pending,
            self.failed_attempts,
            self.opened,
            self.clicked,
            _percentile(ordered, 0.5),
            _percentile(ordered, 0.9),
            ordered[-1] if ordered else None,
        )


def receipt_report(
    storage: Storage,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    channel: str | None = None,
) -> ReceiptReport:
    """Delivery and engagement per notification kind and locale.

    Counts the messages queued from ``since`` (inclusive) to ``until`` (exclusive), on one
    ``channel`` when given (open and click rates mean most for a channel people read, such
    as ``email``); opens and clicks are counted whenever they happened. Reads one snapshot;
    each order's events are read once.

    Raises:
        ValidationError: ``since`` or ``until`` is not a timezone-aware datetime.
    """
    since = None if since is None else require_utc("since", since)
    until = None if until is None else require_utc("until", until)
    tallies: defaultdict[tuple[str, str], _Tally] = defaultdict(_Tally)
    streams: dict[str, list[RecordedEvent]] = {}
    with storage.reader() as uow:
        for entry in _entries(uow, since, until):
            if channel is not None and entry.channel != channel:
                continue
            name = entry_stream(entry)
            if name not in streams:
                streams[name] = uow.events.read(stream=name, limit=None)
            tallies[(entry.kind, entry.locale)].add(entry, streams[name])
    rows = tuple(tallies[key].stats(*key) for key in sorted(tallies))
    return ReceiptReport(rows, since, until)
