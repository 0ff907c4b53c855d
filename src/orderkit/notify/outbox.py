"""The notification outbox: messages written in the same unit of work as the order change.

A command that must tell someone adds :class:`OutboxDraft` s through its unit of work; a
failed command therefore queues nothing. A dispatcher later claims due
:class:`OutboxEntry` s, renders them into :class:`orderkit.notify.message.Message` s and hands
them to channels, with retries, backoff and a dead-letter state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from orderkit.domain.events import notification_stream, order_stream
from orderkit.notify.message import frozen_mapping

__all__ = [
    "OutboxDraft",
    "OutboxEntry",
    "OutboxPage",
    "OutboxQuery",
    "OutboxStatus",
    "entry_stream",
]


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


@attrs.frozen
class OutboxQuery:
    """Filters for listing outbox entries; every filter given must match.

    Entries come oldest first (by ``created_at``, then id). ``created_from`` is inclusive
    and ``created_to`` exclusive. Pass a page's ``next_cursor`` back as ``cursor`` for the
    next page.
    """

    status: str | None = None
    order_id: str | None = None
    kind: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 100
    cursor: str | None = None


@attrs.frozen
class OutboxPage:
    items: tuple[OutboxEntry, ...]
    next_cursor: str | None
