"""Databases written before the outbox existed (schema version 1) upgrade in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _migration_support import old_postgres, old_sqlite
from orderkit.adapters.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.notify.outbox import OutboxQuery
from orderkit.testing.outbox import sample_entry

VERSION_1_DATA = "INSERT INTO orderkit_sequences (name, value) VALUES ('order-number:SO:2026', 41)"


def assert_upgraded(storage: SQLiteStorage | Any) -> None:
    """The storage is at the latest version (every migration is the same count on both
    adapters), its outbox works, and its version-1 data is still there."""
    with storage.unit_of_work() as uow:
        uow.outbox.add([sample_entry()])
        following = uow.sequences.next("order-number:SO:2026")
        uow.commit()
    with storage.reader() as uow:
        listed = uow.outbox.find(OutboxQuery()).items
    assert (len(SQLITE_MIGRATIONS), 42, (sample_entry(),)) == (
        storage.schema_version,
        following,
        listed,
    )


def test_a_version_1_sqlite_file_upgrades_to_the_outbox_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    with old_sqlite(tmp_path / "old.sqlite3", 1, VERSION_1_DATA) as storage:
        assert_upgraded(storage)


@pytest.mark.postgres
def test_a_version_1_postgres_schema_upgrades_to_the_outbox_and_keeps_its_data(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with old_postgres(postgres_dsn, postgres_schema, 1, VERSION_1_DATA) as storage:
        assert_upgraded(storage)
