"""The notification outbox: messages written in the same unit of work as the order change.

A command that must tell someone adds :class:`OutboxDraft` s through its unit of work; a
failed command therefore queues nothing. A dispatcher later claims due
:class:`OutboxEntry` s, renders them into :class:`orderkit.notify.message.Message` s and hands
them to channels, with retries, backoff and a dead-letter state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from orderkit.clock import require_utc
from orderkit.domain.checks import optional_text, optional_utc
from orderkit.domain.events import notification_stream, order_stream
from orderkit.errors import LeaseLost, OutboxStateError, ValidationError
from orderkit.notify.message import frozen_mapping
from orderkit.serialization import dumps

__all__ = [
    "MAX_PAGE",
    "OutboxDraft",
    "OutboxEntry",
    "OutboxPage",
    "OutboxQuery",
    "OutboxStatus",
    "check_new_entries",
    "entry_by_id",
    "entry_stream",
    "mark_failed",
    "mark_sent",
    "requeue",
    "require_limit",
]

MAX_PAGE = 1000
"""The most items one page of a ``find`` (orders or outbox entries) may ask for."""


class OutboxStatus:
    QUEUED = "queued"  # waiting for its next attempt (also after a retryable failure)
    SENDING = "sending"  # claimed by a dispatcher, lease running
    SENT = "sent"
    DEAD = "dead"  # gave up: attempts exhausted or a permanent failure; can be re-sent

    ALL = (QUEUED, SENDING, SENT, DEAD)


@attrs.frozen
class OutboxDraft:
    """A notification a command wants sent.

    ``payload`` is JSON-ready data the renderer turns into a message (for receipts: the
    unstructured :class:`~orderkit.domain.receipt.Receipt` snapshot). ``dedup_key`` defaults to
    the entry id when empty.
    """

    kind: str
    channel: str
    recipient: str
    locale: str
    payload: Mapping[str, Any] = attrs.field(converter=frozen_mapping)
    order_id: str | None = None
    dedup_key: str = ""


@attrs.frozen
class OutboxEntry:
    """An outbox row as stored, with its delivery state."""

    entry_id: str
    kind: str
    channel: str
    recipient: str
    locale: str
    payload: Mapping[str, Any] = attrs.field(converter=frozen_mapping)
    order_id: str | None
    dedup_key: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str = ""
    sent_at: datetime | None = None


def entry_stream(entry: OutboxEntry) -> str:
    """The event stream an entry's life is recorded on: its order's, else its own."""
    if entry.order_id is not None:
        return order_stream(entry.order_id)
    return notification_stream(entry.entry_id)


def _status(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and value not in OutboxStatus.ALL:
        raise ValidationError("status", f"must be one of {', '.join(OutboxStatus.ALL)}")


def require_limit(value: object) -> int:
    """``value`` if it is a whole number in 1.. :data:`MAX_PAGE` (a page or a batch size).

    Raises:
        ValidationError: naming ``limit``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValidationError("limit", f"must be a whole number between 1 and {MAX_PAGE}")
    return value


def check_limit(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    """The attrs validator of a page's ``limit`` (see :func:`require_limit`)."""
    require_limit(value)


@attrs.frozen
class OutboxQuery:
    """Filters for listing outbox entries; every filter given must match.

    Entries come oldest first (by ``created_at``, then id). ``entry_id`` picks one entry
    (:func:`entry_by_id` reads it so). ``created_from`` is inclusive and ``created_to``
    exclusive. Pass a page's ``next_cursor`` back as ``cursor`` for the
    next page. A query checks itself when it is made, so every adapter is handed a
    well-formed one.

    Raises:
        ValidationError: naming the filter: a status not in :attr:`OutboxStatus.ALL`, an
            empty or non-string id, a naive datetime, a limit outside 1..1000.
    """

    status: str | None = attrs.field(default=None, validator=_status)
    entry_id: str | None = attrs.field(default=None, validator=optional_text)
    order_id: str | None = attrs.field(default=None, validator=optional_text)
    kind: str | None = attrs.field(default=None, validator=optional_text)
    created_from: datetime | None = attrs.field(default=None, validator=optional_utc)
    created_to: datetime | None = attrs.field(default=None, validator=optional_utc)
    limit: int = attrs.field(default=100, validator=check_limit)
    cursor: str | None = attrs.field(default=None, validator=optional_text)


@attrs.frozen
class OutboxPage:
    items: tuple[OutboxEntry, ...]
    next_cursor: str | None


def entry_by_id(find: Callable[[OutboxQuery], OutboxPage], entry_id: str) -> OutboxEntry | None:
    """The entry with this id, or None, through an outbox's ``find`` (``uow.outbox.find``).

    Raises:
        ValidationError: ``entry_id`` is not a non-empty string.
    """
    found = find(OutboxQuery(entry_id=entry_id)).items
    return found[0] if found else None


_ENTRY_TEXT_FIELDS = ("entry_id", "kind", "channel", "recipient", "locale", "dedup_key")


def _check_entry_fields(i: int, entry: OutboxEntry) -> None:
    for name in _ENTRY_TEXT_FIELDS:
        if not isinstance(getattr(entry, name), str):
            raise ValidationError(f"entries[{i}].{name}", "must be a str")
    if entry.order_id is not None and not isinstance(entry.order_id, str):
        raise ValidationError(f"entries[{i}].order_id", "must be a str or None")
    if not isinstance(entry.last_error, str):
        raise ValidationError(f"entries[{i}].last_error", "must be a str")
    require_utc(f"entries[{i}].created_at", entry.created_at)
    require_utc(f"entries[{i}].next_attempt_at", entry.next_attempt_at)
    if entry.sent_at is not None:
        require_utc(f"entries[{i}].sent_at", entry.sent_at)


def check_new_entries(entries: Sequence[OutboxEntry]) -> None:
    """Refuse entries that cannot be added as new: the runner checks what it queues before
    ``outbox.add``, so every backend is handed the same well-formed entries (rather than a
    NOT NULL failure on one, a bad timestamp on another, nothing on a third).

    Raises:
        ValidationError: naming the entry (``entries[i]``) or its field: not ``queued``
            with no attempts, a field of the wrong type, a payload that is not JSON-ready.
    """
    for i, entry in enumerate(entries):
        _check_entry_fields(i, entry)
        if entry.status != OutboxStatus.QUEUED or entry.attempts != 0:
            raise ValidationError(
                f"entries[{i}]", "a new outbox entry must be queued with no attempts"
            )
        try:
            dumps(entry.payload)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"entries[{i}].payload",
                f"must be JSON-ready (dicts, lists, strings, numbers, bools, None): {exc}",
            ) from None


# -- the delivery state, as pure functions over an entry ------------------------------------
# Each returns the entry's next state; the dispatcher stores it with
# ``uow.outbox.update(next, expected=entry)``, which refuses if the entry changed meanwhile.


def _held(entry: OutboxEntry) -> None:
    if entry.status != OutboxStatus.SENDING:
        raise LeaseLost(entry.entry_id, entry.attempts, entry.status, entry.attempts)


def mark_sent(entry: OutboxEntry, *, sent_at: datetime) -> OutboxEntry:
    """``entry``, a claimed one, as delivered at ``sent_at``.

    Raises:
        LeaseLost: the entry is not ``sending`` (its outcome was already recorded).
    """
    _held(entry)
    return attrs.evolve(entry, status=OutboxStatus.SENT, sent_at=sent_at)


def mark_failed(entry: OutboxEntry, *, error: str, retry_at: datetime | None) -> OutboxEntry:
    """``entry``, a claimed one, after a failed attempt: ``queued`` again until
    ``retry_at``, or ``dead`` (given up) when ``retry_at`` is None; ``error`` kept.

    Raises:
        LeaseLost: the entry is not ``sending`` (its outcome was already recorded).
    """
    _held(entry)
    if retry_at is None:
        return attrs.evolve(entry, status=OutboxStatus.DEAD, last_error=error)
    return attrs.evolve(
        entry, status=OutboxStatus.QUEUED, last_error=error, next_attempt_at=retry_at
    )


def requeue(entry: OutboxEntry, now: datetime) -> OutboxEntry:
    """``entry``, a dead one, queued again (a manual re-send): due at ``now``, attempts from
    0, its last error kept until the next attempt.

    Raises:
        OutboxStateError: the entry is not dead.
    """
    if entry.status != OutboxStatus.DEAD:
        raise OutboxStateError(entry.entry_id, entry.status, "only dead entries can be re-sent")
    return attrs.evolve(entry, status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now)
