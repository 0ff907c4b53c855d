"""What is particular to the SQLite adapter: its settings, its schema version, and how
SQLite's errors become orderkit's. Everything the adapters share is in the contract suite.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

import shop
from orderkit import (
    ConcurrencyConflict,
    OrderService,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
    ValidationError,
)
from orderkit.adapters.sqlite import MIGRATIONS, SQLiteDialect, SQLiteStorage
from orderkit.testing.storage import rich_order


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "shop.sqlite3"


@pytest.fixture
def storage(path: Path) -> Iterator[SQLiteStorage]:
    storage = SQLiteStorage(path, busy_timeout=0.05)
    yield storage
    storage.close()


@pytest.fixture
def locked(path: Path, storage: SQLiteStorage) -> Iterator[None]:
    """A second connection, as another process would hold it, holding the write lock."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")


@pytest.mark.parametrize("path_text", [":memory:", "file::memory:?cache=shared"])
def test_an_in_memory_database_is_refused_pointing_to_memory_storage(path_text: str) -> None:
    with pytest.raises(ValidationError, match="MemoryStorage") as info:
        SQLiteStorage(path_text)
    assert "path" == info.value.field


def test_an_unknown_synchronous_setting_is_refused(path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        SQLiteStorage(path, synchronous="off")
    assert "synchronous" == info.value.field


@pytest.mark.parametrize(("setting", "pragma"), [("normal", 1), ("full", 2), ("FULL", 2)])
def test_the_synchronous_setting_is_applied_to_the_connection(
    path: Path, setting: str, pragma: int
) -> None:
    storage = SQLiteStorage(path, synchronous=setting)
    try:
        with storage.reader() as uow:
            assert pragma == uow.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        storage.close()


def test_the_database_runs_in_wal_mode(storage: SQLiteStorage) -> None:
    with storage.reader() as uow:
        assert "wal" == uow.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_new_file_gets_the_current_schema_version(storage: SQLiteStorage) -> None:
    assert len(MIGRATIONS) == storage.schema_version


def test_a_file_written_by_a_newer_orderkit_is_refused_and_left_alone(path: Path) -> None:
    SQLiteStorage(path).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE orderkit_schema SET version = ?", (len(MIGRATIONS) + 1,))

    with pytest.raises(SchemaVersionError, match="upgrade orderkit"):
        SQLiteStorage(path)

    with closing(sqlite3.connect(path)) as conn:
        assert (len(MIGRATIONS) + 1,) == conn.execute(
            "SELECT version FROM orderkit_schema"
        ).fetchone()


def open_descriptors(path: Path) -> int:
    """How many of this process's file descriptors point at ``path``."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc to count open files")
    count = 0
    for fd in fds.iterdir():
        try:
            count += Path(os.readlink(fd)) == path
        except OSError:
            continue
    return count


def test_a_file_written_by_a_newer_orderkit_is_refused_with_no_connection_left_open(
    path: Path,
) -> None:
    SQLiteStorage(path).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE orderkit_schema SET version = ?", (len(MIGRATIONS) + 1,))
    before = open_descriptors(path)
    with pytest.raises(SchemaVersionError):
        SQLiteStorage(path)
    assert before == open_descriptors(path)


def test_a_file_that_is_not_a_database_is_a_storage_error_with_no_connection_left_open(
    path: Path,
) -> None:
    path.write_bytes(b"not a database, just text " * 100)
    before = open_descriptors(path)
    with pytest.raises(StorageError) as info:
        SQLiteStorage(path)
    assert (True, before) == (
        isinstance(info.value.__cause__, sqlite3.DatabaseError),
        open_descriptors(path),
    )


def test_a_new_file_locked_past_the_busy_timeout_while_opening_is_transient(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(TransientStorageError) as info:
            SQLiteStorage(path, busy_timeout=0.05)
        other.execute("ROLLBACK")
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


@pytest.mark.usefixtures("locked")
def test_opening_a_current_file_does_not_wait_for_the_write_lock(path: Path) -> None:
    SQLiteStorage(path, busy_timeout=0.05).close()


def test_the_connections_of_finished_threads_are_closed(path: Path, storage: SQLiteStorage) -> None:
    def run_threads(count: int) -> int:
        for _ in range(count):
            worker = threading.Thread(target=lambda: OrderService(storage).stock("MUG"))
            worker.start()
            worker.join()
        gc.collect()
        return open_descriptors(path)

    OrderService(storage).stock("MUG")  # this thread's connection, kept
    # SQLite keeps a closed connection's file descriptor for reuse while another connection
    # of the process holds a lock on the file, so the count is taken after a first thread.
    after_one = run_threads(1)
    assert after_one == run_threads(20)


@pytest.mark.usefixtures("locked")
def test_a_write_lock_held_past_the_busy_timeout_is_transient(storage: SQLiteStorage) -> None:
    with pytest.raises(TransientStorageError, match="busy timeout") as info, storage.unit_of_work():
        pass
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


@pytest.mark.usefixtures("locked")
def test_the_service_gives_up_on_a_locked_database_after_its_attempts(
    storage: SQLiteStorage,
) -> None:
    service = OrderService(storage, max_attempts=2)

    with pytest.raises(TransientStorageError):
        service.receive_stock("MUG", 1)


@pytest.mark.usefixtures("locked")
def test_readers_are_not_blocked_by_a_writer(storage: SQLiteStorage) -> None:
    assert 0 == OrderService(storage).stock("MUG").on_hand


def test_other_sqlite_errors_become_storage_errors(storage: SQLiteStorage) -> None:
    with storage.reader() as uow, pytest.raises(StorageError) as info:
        uow.execute("SELECT * FROM no_such_table")
    assert StorageError is type(info.value)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


def constraint_failure(statement: str) -> sqlite3.IntegrityError:
    """The IntegrityError SQLite raises for ``statement`` against a small constrained table."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("CREATE TABLE parent (id TEXT PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE t (id TEXT PRIMARY KEY, code TEXT UNIQUE, name TEXT NOT NULL, "
            "n INTEGER CHECK (n >= 0), parent TEXT REFERENCES parent (id))"
        )
        conn.execute("INSERT INTO t (id, code, name, n) VALUES ('a', 'A', 'x', 1)")
        with pytest.raises(sqlite3.IntegrityError) as info:
            conn.execute(statement)
    return info.value


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("INSERT INTO t (id, code, name) VALUES ('a', 'B', 'x')", ConcurrencyConflict),
        ("INSERT INTO t (id, code, name) VALUES ('b', 'A', 'x')", ConcurrencyConflict),
        ("INSERT INTO t (id, name) VALUES ('b', NULL)", StorageError),
        ("INSERT INTO t (id, name, n) VALUES ('b', 'x', -1)", StorageError),
        ("INSERT INTO t (id, name, parent) VALUES ('b', 'x', 'nobody')", StorageError),
    ],
    ids=["primary-key", "unique", "not-null", "check", "foreign-key"],
)
def test_only_a_unique_or_primary_key_failure_is_a_concurrency_conflict(
    statement: str, expected: type[Exception]
) -> None:
    assert expected is type(SQLiteDialect().translate(constraint_failure(statement)))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("UNIQUE constraint failed: t.code", ConcurrencyConflict),
        ("NOT NULL constraint failed: t.name", StorageError),
    ],
)
def test_without_an_error_name_the_constraint_is_read_from_the_message(
    message: str, expected: type[Exception]
) -> None:
    # Pythons before 3.11 give no sqlite_errorname; the message names the constraint.
    assert expected is type(SQLiteDialect().translate(sqlite3.IntegrityError(message)))


def test_sqlite_errors_that_are_not_operational_become_storage_errors() -> None:
    translated = SQLiteDialect().translate(sqlite3.ProgrammingError("closed database"))

    assert StorageError is type(translated)


def test_exceptions_that_are_not_sqlites_are_left_alone() -> None:
    assert SQLiteDialect().translate(ValueError("x")) is None


def test_a_closed_storage_refuses_units_of_work(storage: SQLiteStorage) -> None:
    storage.close()

    with pytest.raises(StorageError, match="closed"), storage.reader():
        pass


def test_an_sqlite_without_returning_is_refused_naming_its_version() -> None:
    from orderkit.adapters.sqlite import require_sqlite
    from orderkit.errors import StorageError

    require_sqlite((3, 35, 0))
    with pytest.raises(StorageError, match=r"SQLite 3\.35\.0 or newer .* links SQLite 3\.34\.1"):
        require_sqlite((3, 34, 1))


def test_a_path_in_a_folder_that_does_not_exist_is_refused_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError) as info:
        SQLiteStorage(tmp_path / "shpo" / "shop.sqlite3")
    assert ("path", []) == (info.value.field, list(tmp_path.iterdir()))


def test_a_missing_folder_is_created_when_the_host_asks_for_it(tmp_path: Path) -> None:
    SQLiteStorage(tmp_path / "data" / "shop.sqlite3", create_dirs=True).close()
    assert (tmp_path / "data" / "shop.sqlite3").is_file()


def test_upgrading_a_file_normalizes_the_tags_and_tracking_numbers_it_indexes(
    path: Path,
) -> None:
    order = rich_order()
    storage = SQLiteStorage(path)
    with storage.unit_of_work() as uow:
        uow.orders.save(order)
        uow.commit()
    storage.close()
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in shop.as_stored_before_schema_4():
            conn.execute(statement)

    assert ([order.id], (order,)) == shop.found_by_tag_and_tracking(SQLiteStorage(path))
