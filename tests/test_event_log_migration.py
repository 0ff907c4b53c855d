"""Databases written before the event log refused changes (schema version 3) upgrade in
place: their events are kept, and from then on cannot be changed or deleted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orderkit.adapters.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.errors import StorageError
from orderkit.ports import Storage

VERSION_3_EVENT = (
    "INSERT INTO orderkit_events (stream, type, at, actor, reason, data) "
    "VALUES ('order:old', 'NoteAdded', '2026-01-02T03:04:05.000000Z', 'clerk', 'kept', "
    '\'{"text": "written at version 3"}\')'
)


def assert_append_only(storage: Storage) -> None:
    """The old event reads back, and an UPDATE of it is refused."""
    with storage.unit_of_work() as uow, pytest.raises(StorageError, match="append-only"):
        uow.execute("UPDATE orderkit_events SET reason = 'rewritten'", write=True)  # type: ignore[attr-defined]
    with storage.reader() as uow:
        assert [("order:old", "kept")] == [(e.stream, e.reason) for e in uow.events.read()]


def test_a_version_3_sqlite_file_upgrades_to_an_append_only_event_log(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for statements in SQLITE_MIGRATIONS[:3]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("CREATE TABLE orderkit_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO orderkit_schema (version) VALUES (3)")
        conn.execute(VERSION_3_EVENT)
    conn.close()

    storage = SQLiteStorage(path)
    try:
        assert_append_only(storage)
    finally:
        storage.close()


@pytest.mark.postgres
def test_a_version_3_postgres_schema_upgrades_to_an_append_only_event_log(
    postgres_dsn: str, postgres_schema: str
) -> None:
    import psycopg
    from psycopg import sql

    from orderkit.adapters.postgres import MIGRATIONS, PostgresStorage

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))
        for statements in MIGRATIONS[:3]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("CREATE TABLE orderkit_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO orderkit_schema (version) VALUES (3)")
        conn.execute(VERSION_3_EVENT)

    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    try:
        assert_append_only(storage)
    finally:
        storage.close()
