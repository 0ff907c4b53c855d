"""The event log, idempotency keys and gapless sequences in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderkit.adapters.sql.base import Repo
from orderkit.domain.events import NewEvent, RecordedEvent
from orderkit.ports import IdempotencyRecord
from orderkit.serialization import payload_from_json, payload_to_json


class SqlEvents(Repo):
    _SELECT = "SELECT position, stream, type, at, actor, reason, data FROM orderkit_events"

    def append(self, events: Sequence[NewEvent]) -> None:
        u = self._uow
        if events and u._dialect.events_lock:
            u.execute(u._dialect.events_lock, write=True)
        u.executemany(
            "INSERT INTO orderkit_events (stream, type, at, actor, reason, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.stream, e.type, u.t(e.at), e.actor, e.reason, payload_to_json(e.payload))
                for e in events
            ],
        )

    def _rows(self, rows: list[Any]) -> list[RecordedEvent]:
        from_time = self._uow._dialect.from_db_time
        return [
            RecordedEvent(
                r[0], r[1], r[2], from_time(r[3]), r[4], r[5], payload_from_json(r[2], r[6])
            )
            for r in rows
        ]

    def read(
        self, after: int = 0, limit: int | None = 1000, *, stream: str | None = None
    ) -> list[RecordedEvent]:
        where = "position > ?" if stream is None else "position > ? AND stream = ?"
        params: tuple[object, ...] = (after,) if stream is None else (after, stream)
        sql = f"{self._SELECT} WHERE {where} ORDER BY position"
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", (*params, limit)
        return self._rows(self._uow.execute(sql, params).fetchall())


class SqlIdempotency(Repo):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        u = self._uow
        cur = u.execute(
            "INSERT INTO orderkit_idempotency (key, command, request_hash, result_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (
                record.key,
                record.command,
                record.request_hash,
                record.result_id,
                u.t(record.created_at),
            ),
            write=True,
        )
        if cur.rowcount == 1:
            return None
        row = u.execute(
            "SELECT key, command, request_hash, result_id, created_at FROM orderkit_idempotency "
            "WHERE key = ?",
            (record.key,),
        ).fetchone()
        return IdempotencyRecord(row[0], row[1], row[2], row[3], u._dialect.from_db_time(row[4]))


class SqlSequences(Repo):
    def next(self, name: str) -> int:
        row = self._uow.execute(
            "INSERT INTO orderkit_sequences (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = orderkit_sequences.value + 1 "
            "RETURNING value",
            (name,),
            write=True,
        ).fetchone()
        return int(row[0])
