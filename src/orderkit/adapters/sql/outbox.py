"""The notification outbox in SQL: claims lease rows, outcomes are compare-and-set writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orderkit.adapters.kit import (
    decode_cursor,
    encode_cursor,
    outbox_update_refused,
)
from orderkit.adapters.sql.base import Repo, Where
from orderkit.notify.outbox import (
    OutboxEntry,
    OutboxPage,
    OutboxQuery,
    OutboxStatus,
    entry_by_id,
)
from orderkit.serialization import dumps, loads

_OUTBOX_COLUMNS = (
    "entry_id, kind, channel, recipient, locale, payload, order_id, dedup_key, status, "
    "attempts, created_at, next_attempt_at, last_error, sent_at"
)


class SqlOutbox(Repo):
    def _entry(self, row: Any) -> OutboxEntry:
        from_time = self._uow._dialect.from_db_time
        return OutboxEntry(
            entry_id=row[0],
            kind=row[1],
            channel=row[2],
            recipient=row[3],
            locale=row[4],
            payload=loads(row[5]),
            order_id=row[6],
            dedup_key=row[7],
            status=row[8],
            attempts=row[9],
            created_at=from_time(row[10]),
            next_attempt_at=from_time(row[11]),
            last_error=row[12],
            sent_at=None if row[13] is None else from_time(row[13]),
        )

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        u = self._uow
        u.executemany(
            f"INSERT INTO orderkit_outbox ({_OUTBOX_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.entry_id,
                    e.kind,
                    e.channel,
                    e.recipient,
                    e.locale,
                    dumps(e.payload),
                    e.order_id,
                    e.dedup_key,
                    e.status,
                    e.attempts,
                    u.t(e.created_at),
                    u.t(e.next_attempt_at),
                    e.last_error,
                    None if e.sent_at is None else u.t(e.sent_at),
                )
                for e in entries
            ],
        )

    def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        channels: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        u = self._uow
        only = ""
        if channels is not None:
            names = sorted(set(channels))
            if not names:
                return []
            only = f" AND channel IN ({', '.join('?' * len(names))})"
        # The CTE picks (and on PostgreSQL locks, skipping rows locked by other claims) the
        # due rows once; the update then takes exactly those.
        rows = u.execute(
            "WITH due AS (SELECT entry_id FROM orderkit_outbox "
            f"WHERE status IN (?, ?) AND next_attempt_at <= ?{only} "
            f"ORDER BY next_attempt_at, entry_id LIMIT ?{u._dialect.skip_locked}) "
            "UPDATE orderkit_outbox SET status = ?, attempts = attempts + 1, next_attempt_at = ? "
            f"WHERE entry_id IN (SELECT entry_id FROM due) RETURNING {_OUTBOX_COLUMNS}",
            (
                OutboxStatus.QUEUED,
                OutboxStatus.SENDING,
                u.t(now),
                *(names if channels is not None else ()),
                limit,
                OutboxStatus.SENDING,
                u.t(lease_until),
            ),
            write=True,
        ).fetchall()
        entries = [self._entry(r) for r in rows]
        return sorted(entries, key=lambda e: (e.created_at, e.entry_id))

    def update(self, entry: OutboxEntry, *, expected: OutboxEntry) -> OutboxEntry:
        u = self._uow
        row = u.execute(
            "UPDATE orderkit_outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
            "last_error = ?, sent_at = ? WHERE entry_id = ? AND status = ? AND attempts = ? "
            f"RETURNING {_OUTBOX_COLUMNS}",
            (
                entry.status,
                entry.attempts,
                u.t(entry.next_attempt_at),
                entry.last_error,
                None if entry.sent_at is None else u.t(entry.sent_at),
                entry.entry_id,
                expected.status,
                expected.attempts,
            ),
            write=True,
        ).fetchone()
        if row is None:
            stored = entry_by_id(self.find, entry.entry_id)
            raise outbox_update_refused(entry.entry_id, stored, expected)
        return self._entry(row)

    def find(self, query: OutboxQuery) -> OutboxPage:
        after = decode_cursor(query.cursor)
        where = Where(self._uow)
        where.equal("status", query.status)
        where.equal("entry_id", query.entry_id)
        where.equal("order_id", query.order_id)
        where.equal("kind", query.kind)
        where.window("created_at", query.created_from, query.created_to)
        rows, more = where.page(
            f"SELECT {_OUTBOX_COLUMNS} FROM orderkit_outbox",
            ("created_at", "entry_id"),
            after,
            query.limit,
            newest_first=False,
        )
        items = tuple(self._entry(r) for r in rows)
        cursor = encode_cursor(items[-1].created_at, items[-1].entry_id) if more else None
        return OutboxPage(items, cursor)
