"""Databases written before the event log refused changes (schema version 3) upgrade in
place: their events are kept, and from then on cannot be changed or deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from _migration_support import old_postgres, old_sqlite
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
    with old_sqlite(tmp_path / "old.sqlite3", 3, VERSION_3_EVENT) as storage:
        assert_append_only(storage)


@pytest.mark.postgres
def test_a_version_3_postgres_schema_upgrades_to_an_append_only_event_log(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with old_postgres(postgres_dsn, postgres_schema, 3, VERSION_3_EVENT) as storage:
        assert_append_only(storage)
