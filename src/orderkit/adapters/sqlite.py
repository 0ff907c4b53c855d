"""SQLite storage on the standard library: orderkit's embedded default.

One file holds a shop. Writers take the database's write lock up front (``BEGIN
IMMEDIATE``) so a unit of work never fails half-way on a lock upgrade, and wait for it up to
``busy_timeout`` seconds; readers see a consistent snapshot alongside a writer (WAL). Several
processes may share one file. ``synchronous="normal"`` (the default) keeps the database
consistent after a crash but may lose the last transactions on power loss; ``"full"``
keeps every committed transaction at some cost in write speed. See ``docs/storage.md``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orderkit.adapters.sql import SCHEMA_TABLE, Dialect, SqlUnitOfWork
from orderkit.adapters.sql.connections import ThreadConnections
from orderkit.errors import (
    ConcurrencyConflict,
    OrderkitError,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
    ValidationError,
)

__all__ = ["SQLiteStorage"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: The oldest SQLite with ``UPDATE … RETURNING`` (2021), which claims and reservations use.
MIN_SQLITE = (3, 35, 0)


def require_sqlite(version: tuple[int, ...]) -> None:
    """Refuse an SQLite older than :data:`MIN_SQLITE`.

    Raises:
        StorageError: naming the version found and what to do.
    """
    if tuple(version) < MIN_SQLITE:
        found = ".".join(map(str, version))
        raise StorageError(
            f"orderkit needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer (it uses "
            f"RETURNING); this Python links SQLite {found}. Use a Python built against a "
            "newer SQLite (any python.org or distribution build since 2021)"
        )


# Each entry moves the schema up one version; never edit a released entry, add one.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE orderkit_orders (
            id TEXT PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            status TEXT NOT NULL,
            channel TEXT NOT NULL,
            group_key TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX orderkit_orders_created ON orderkit_orders (created_at, id)",
        "CREATE INDEX orderkit_orders_customer ON orderkit_orders (customer_id, created_at, id)",
        "CREATE INDEX orderkit_orders_status ON orderkit_orders (status, created_at, id)",
        "CREATE INDEX orderkit_orders_channel ON orderkit_orders (channel, created_at, id)",
        "CREATE INDEX orderkit_orders_group ON orderkit_orders (group_key, created_at, id)",
        """CREATE TABLE orderkit_order_tags (
            order_id TEXT NOT NULL REFERENCES orderkit_orders (id),
            tag TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (tag, order_id)
        )""",
        "CREATE INDEX orderkit_order_tags_order ON orderkit_order_tags (order_id)",
        """CREATE TABLE orderkit_stock (
            sku TEXT NOT NULL,
            location TEXT NOT NULL,
            on_hand INTEGER NOT NULL,
            reserved INTEGER NOT NULL,
            low_stock_threshold INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (sku, location),
            CHECK (reserved >= 0 AND reserved <= on_hand)
        )""",
        """CREATE TABLE orderkit_reservations (
            order_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            location TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            PRIMARY KEY (order_id, sku, location)
        )""",
        """CREATE TABLE orderkit_events (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            stream TEXT NOT NULL,
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX orderkit_events_stream ON orderkit_events (stream, position)",
        """CREATE TABLE orderkit_idempotency (
            key TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            result_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE orderkit_sequences (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        )""",
    ],
    # 2: the notification outbox. Due entries are found by (status, next_attempt_at); for a
    # ``sending`` entry next_attempt_at is the end of its claim's lease.
    [
        """CREATE TABLE orderkit_outbox (
            entry_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            locale TEXT NOT NULL,
            payload TEXT NOT NULL,
            order_id TEXT,
            dedup_key TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT NOT NULL,
            sent_at TEXT
        )""",
        "CREATE INDEX orderkit_outbox_due ON orderkit_outbox (status, next_attempt_at)",
        "CREATE INDEX orderkit_outbox_created ON orderkit_outbox (created_at, entry_id)",
        "CREATE INDEX orderkit_outbox_order ON orderkit_outbox (order_id, created_at)",
    ],
    # 3: shipments by carrier and tracking number, for tracking ingest; filled from the
    # orders already stored.
    [
        """CREATE TABLE orderkit_shipments (
            carrier TEXT NOT NULL,
            tracking_number TEXT NOT NULL,
            order_id TEXT NOT NULL REFERENCES orderkit_orders (id),
            PRIMARY KEY (carrier, tracking_number, order_id)
        )""",
        """INSERT OR IGNORE INTO orderkit_shipments (carrier, tracking_number, order_id)
            SELECT json_extract(s.value, '$.carrier'), json_extract(s.value, '$.tracking_number'),
                   o.id
            FROM orderkit_orders o, json_each(o.data, '$.shipments') s
            WHERE json_extract(s.value, '$.tracking_number') != ''""",
    ],
    # 4: tags and tracking numbers are compared normalized (orderkit.domain.normalize and
    # tracking_numbers.normalize_tracking_number): rows stored before are normalized here,
    # as far as SQL can (ASCII letters, spaces); the rest are rewritten when their order is
    # next saved. Old shipment rows stay beside the new ones: they match nothing any more.
    [
        """INSERT OR IGNORE INTO orderkit_order_tags (order_id, tag, created_at)
            SELECT order_id, LOWER(TRIM(tag)), created_at FROM orderkit_order_tags
            WHERE tag != LOWER(TRIM(tag))""",
        "DELETE FROM orderkit_order_tags WHERE tag != LOWER(TRIM(tag))",
        """INSERT OR IGNORE INTO orderkit_shipments (carrier, tracking_number, order_id)
            SELECT carrier, UPPER(REPLACE(tracking_number, ' ', '')), order_id
            FROM orderkit_shipments
            WHERE tracking_number != UPPER(REPLACE(tracking_number, ' ', ''))""",
    ],
    # 5: the event log is append-only in the database itself, not only by convention.
    [
        """CREATE TRIGGER IF NOT EXISTS orderkit_events_no_update BEFORE UPDATE ON orderkit_events
            BEGIN SELECT RAISE(ABORT, 'orderkit_events is append-only: UPDATE is refused'); END""",
        """CREATE TRIGGER IF NOT EXISTS orderkit_events_no_delete BEFORE DELETE ON orderkit_events
            BEGIN SELECT RAISE(ABORT, 'orderkit_events is append-only: DELETE is refused'); END""",
    ],
]


_DUPLICATE_KEY = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def _is_duplicate_key(exc: sqlite3.IntegrityError) -> bool:
    """Whether SQLite refused a row because its key (UNIQUE or PRIMARY KEY) is taken."""
    name = getattr(exc, "sqlite_errorname", None)  # Python 3.11+
    if name is not None:
        return name in _DUPLICATE_KEY
    # Older Pythons: SQLite words both "UNIQUE constraint failed: table.column".
    return str(exc).startswith("UNIQUE constraint failed")


class SQLiteDialect(Dialect):
    def to_db_time(self, value: datetime) -> Any:
        # A fixed-width UTC text form sorts the same as the instants it names.
        return value.astimezone(timezone.utc).strftime(_TIME_FORMAT)

    def from_db_time(self, value: Any) -> datetime:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=timezone.utc)

    def translate(self, exc: Exception) -> OrderkitError | None:
        if isinstance(exc, sqlite3.IntegrityError):
            if _is_duplicate_key(exc):
                return ConcurrencyConflict(f"a concurrent write got there first: {exc}")
            # NOT NULL, CHECK, foreign key: a bad write, not a race; retrying cannot help.
            return StorageError(f"SQLite refused a write that breaks a constraint: {exc}")
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                return TransientStorageError(
                    f"the SQLite database stayed locked past the busy timeout ({exc})"
                )
            return StorageError(f"SQLite error: {exc}")
        if isinstance(exc, sqlite3.Error):
            return StorageError(f"SQLite error: {exc}")
        return None


class SQLiteStorage:
    """Storage in one SQLite file, safe for many threads and processes.

    Args:
        path: the database file; created with its schema if missing. Its folder must exist.
        create_dirs: create the file's missing folders instead of refusing the path (a
            mistyped path would otherwise make a new, empty shop somewhere unexpected).
        busy_timeout: seconds a writer waits for another process's write lock.
        synchronous: ``"normal"`` (default, WAL-safe) or ``"full"`` (durable on power loss).

    Raises:
        ValidationError: ``":memory:"`` (use :class:`MemoryStorage`), a path whose folder
            does not exist (without ``create_dirs``), or an unknown ``synchronous`` value.
        SchemaVersionError: the file was written by a newer orderkit.
        StorageError: the file is not an SQLite database, or SQLite refused to open it.
        TransientStorageError: the file had to be created or migrated and another process
            held its write lock past ``busy_timeout``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: str = "normal",
        create_dirs: bool = False,
    ) -> None:
        text = os.fspath(path)
        if text == ":memory:" or text.startswith("file::memory:"):
            raise ValidationError(
                "path", "an in-memory SQLite database cannot be shared; use MemoryStorage"
            )
        if synchronous.lower() not in ("normal", "full"):
            raise ValidationError("synchronous", "must be 'normal' or 'full'")
        require_sqlite(sqlite3.sqlite_version_info)
        self.path = Path(text)
        if not create_dirs and not self.path.parent.is_dir():
            raise ValidationError(
                "path",
                f"the folder {str(self.path.parent)!r} does not exist; check the path, or pass "
                "create_dirs=True to create it",
            )
        self._create_dirs = create_dirs
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self._dialect = SQLiteDialect()
        self._connections: ThreadConnections[sqlite3.Connection] = ThreadConnections()
        self._closed = False
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("this storage is closed")
        return self._connections.get(self._open_connection)

    def _open_connection(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._translated(exc) from exc
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:  # not a database, or locked past the busy timeout
            conn.close()
            raise self._translated(exc) from exc
        return conn

    @contextmanager
    def _transaction(self, writable: bool) -> Iterator[SqlUnitOfWork]:
        conn = self._connect()
        if conn.in_transaction:
            raise StorageError("a unit of work is already open in this thread; nest none")
        try:
            conn.execute("BEGIN IMMEDIATE" if writable else "BEGIN")
        except sqlite3.Error as exc:
            raise self._translated(exc) from exc
        uow = SqlUnitOfWork(conn, self._dialect, writable=writable, on_commit=conn.commit)
        try:
            yield uow
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            uow.open = False

    def unit_of_work(self) -> AbstractContextManager[SqlUnitOfWork]:
        """A writing unit of work holding the database's write lock until it ends."""
        return self._transaction(writable=True)

    def reader(self) -> AbstractContextManager[SqlUnitOfWork]:
        """A read-only unit of work on a snapshot; it does not block writers."""
        return self._transaction(writable=False)

    @property
    def schema_version(self) -> int:
        with self.reader() as uow:
            row = uow.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone()
        return int(row[0])

    def _translated(self, exc: sqlite3.Error) -> OrderkitError:
        return self._dialect.translate(exc) or StorageError(f"SQLite error: {exc}")

    def _migrate(self) -> None:
        """Bring the file's schema up to date; on any failure close what was opened."""
        try:
            if self._create_dirs:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            # A file already up to date is only read, so opening it never waits for a writer.
            if self._schema_version(conn) != len(MIGRATIONS):
                self._upgrade(conn)
        except BaseException as exc:
            self.close()
            if isinstance(exc, sqlite3.Error):
                raise self._translated(exc) from exc
            raise

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        """The schema version stored in the file (0 for a new file), refusing a newer one."""
        table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)
        ).fetchone()
        row = (
            None
            if table is None
            else conn.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone()
        )
        current = 0 if row is None else int(row[0])
        if current > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path} has schema version {current} but this orderkit knows "
                f"{len(MIGRATIONS)}; upgrade orderkit"
            )
        return current

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version INTEGER NOT NULL)")
            if conn.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone() is None:
                conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (0)")
            # Read again under the write lock: another process may have migrated meanwhile.
            current = self._schema_version(conn)
            for statements in MIGRATIONS[current:]:
                for statement in statements:
                    conn.execute(statement)
            if current != len(MIGRATIONS):
                conn.execute(f"UPDATE {SCHEMA_TABLE} SET version = ?", (len(MIGRATIONS),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close every connection this storage opened."""
        self._closed = True
        self._connections.close_all()
