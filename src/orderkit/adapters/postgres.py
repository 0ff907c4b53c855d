"""PostgreSQL storage on psycopg 3: for shops with many processes or machines.

Writers run at READ COMMITTED, the isolation the shared statements are written for: a stock
reservation is one conditional ``UPDATE`` per SKU in sorted order, which PostgreSQL re-checks
against the newest row version, so nothing is oversold and two carts cannot deadlock;
``orders.get(for_update=True)`` takes a row lock, so commands on one order run one after the
other; an idempotency claim (``INSERT … ON CONFLICT DO NOTHING``) waits for a concurrent claim
of the same key and then reads its committed row. Readers get a read-only REPEATABLE READ
snapshot. Events are appended under a per-schema advisory lock held until commit, so event
positions become visible in order and a consumer of ``events.read(after=n)`` never skips an
event committed late with a smaller position.

Nothing here retries. A serialization failure, a deadlock, a lock timeout or a lost connection
becomes :class:`TransientStorageError` and :class:`orderkit.OrderService` runs the whole
command again, up to its ``max_attempts``. PostgreSQL-compatible distributed databases
(CockroachDB, YugabyteDB) report their "restart transaction" errors as SQLSTATE 40001 too,
so they take the same path; this adapter is tested against PostgreSQL only.

psycopg is imported by this module alone: ``import orderkit`` never needs it.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any

from orderkit._extras import install_hint

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.pq import TransactionStatus
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"orderkit.adapters.postgres needs psycopg 3 ({exc}); {install_hint('postgres')}"
    ) from exc

from orderkit.adapters.sql import SCHEMA_TABLE, Dialect, SqlUnitOfWork
from orderkit.adapters.sql.connections import ThreadConnections
from orderkit.domain.checks import require_whole
from orderkit.errors import (
    ConcurrencyConflict,
    OrderkitError,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
    ValidationError,
)

__all__ = ["PostgresStorage"]

Connection = psycopg.Connection[Any]

# Each entry moves the schema up one version; never edit a released entry, add one.
# Keys and ids sort bytewise (COLLATE "C"), as in SQLite and in Python, whatever the
# database's locale; quantities are BIGINT like SQLite's 64-bit integers.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE orderkit_orders (
            id TEXT COLLATE "C" PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            status TEXT NOT NULL,
            channel TEXT NOT NULL,
            group_key TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX orderkit_orders_created ON orderkit_orders (created_at, id)",
        "CREATE INDEX orderkit_orders_customer ON orderkit_orders (customer_id, created_at, id)",
        "CREATE INDEX orderkit_orders_status ON orderkit_orders (status, created_at, id)",
        "CREATE INDEX orderkit_orders_channel ON orderkit_orders (channel, created_at, id)",
        "CREATE INDEX orderkit_orders_group ON orderkit_orders (group_key, created_at, id)",
        """CREATE TABLE orderkit_order_tags (
            order_id TEXT COLLATE "C" NOT NULL REFERENCES orderkit_orders (id),
            tag TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (tag, order_id)
        )""",
        "CREATE INDEX orderkit_order_tags_order ON orderkit_order_tags (order_id)",
        """CREATE TABLE orderkit_stock (
            sku TEXT COLLATE "C" NOT NULL,
            location TEXT COLLATE "C" NOT NULL,
            on_hand BIGINT NOT NULL,
            reserved BIGINT NOT NULL,
            low_stock_threshold BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (sku, location),
            CONSTRAINT orderkit_stock_reserved_within_on_hand
                CHECK (reserved >= 0 AND reserved <= on_hand)
        )""",
        """CREATE TABLE orderkit_reservations (
            order_id TEXT COLLATE "C" NOT NULL,
            sku TEXT COLLATE "C" NOT NULL,
            location TEXT COLLATE "C" NOT NULL,
            quantity BIGINT NOT NULL
                CONSTRAINT orderkit_reservations_quantity_positive CHECK (quantity > 0),
            PRIMARY KEY (order_id, sku, location)
        )""",
        """CREATE TABLE orderkit_events (
            position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream TEXT NOT NULL,
            type TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
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
            created_at TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE orderkit_sequences (
            name TEXT PRIMARY KEY,
            value BIGINT NOT NULL
        )""",
    ],
    # 2: the notification outbox. Due entries are found by (status, next_attempt_at); for a
    # ``sending`` entry next_attempt_at is the end of its claim's lease.
    [
        """CREATE TABLE orderkit_outbox (
            entry_id TEXT COLLATE "C" PRIMARY KEY,
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            locale TEXT NOT NULL,
            payload TEXT NOT NULL,
            order_id TEXT COLLATE "C",
            dedup_key TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            next_attempt_at TIMESTAMPTZ NOT NULL,
            last_error TEXT NOT NULL,
            sent_at TIMESTAMPTZ
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
            order_id TEXT COLLATE "C" NOT NULL REFERENCES orderkit_orders (id),
            PRIMARY KEY (carrier, tracking_number, order_id)
        )""",
        """INSERT INTO orderkit_shipments (carrier, tracking_number, order_id)
            SELECT s->>'carrier', s->>'tracking_number', o.id
            FROM orderkit_orders o, jsonb_array_elements(o.data::jsonb -> 'shipments') s
            WHERE s->>'tracking_number' <> ''
            ON CONFLICT DO NOTHING""",
    ],
    # 4: tags and tracking numbers are compared normalized (orderkit.domain.normalize and
    # tracking_numbers.normalize_tracking_number): rows stored before are normalized here,
    # as far as SQL can (ASCII letters, spaces); the rest are rewritten when their order is
    # next saved. Old shipment rows stay beside the new ones: they match nothing any more.
    [
        """INSERT INTO orderkit_order_tags (order_id, tag, created_at)
            SELECT order_id, LOWER(TRIM(tag)), created_at FROM orderkit_order_tags
            WHERE tag <> LOWER(TRIM(tag))
            ON CONFLICT DO NOTHING""",
        "DELETE FROM orderkit_order_tags WHERE tag <> LOWER(TRIM(tag))",
        """INSERT INTO orderkit_shipments (carrier, tracking_number, order_id)
            SELECT carrier, UPPER(REPLACE(tracking_number, ' ', '')), order_id
            FROM orderkit_shipments
            WHERE tracking_number <> UPPER(REPLACE(tracking_number, ' ', ''))
            ON CONFLICT DO NOTHING""",
    ],
    # 5: the event log is append-only in the database itself, not only by convention.
    # TRUNCATE skips row triggers, so it has a statement trigger of its own.
    [
        """CREATE OR REPLACE FUNCTION orderkit_events_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'orderkit_events is append-only: % is refused', TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$""",
        "DROP TRIGGER IF EXISTS orderkit_events_append_only ON orderkit_events",
        """CREATE TRIGGER orderkit_events_append_only
            BEFORE UPDATE OR DELETE ON orderkit_events
            FOR EACH ROW EXECUTE FUNCTION orderkit_events_append_only()""",
        "DROP TRIGGER IF EXISTS orderkit_events_no_truncate ON orderkit_events",
        """CREATE TRIGGER orderkit_events_no_truncate
            BEFORE TRUNCATE ON orderkit_events
            FOR EACH STATEMENT EXECUTE FUNCTION orderkit_events_append_only()""",
    ],
]

# Lowercase only, so the quoted and unquoted spellings of the name are the same schema.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# SQLSTATEs worth running the command again for, besides a lost connection: serialization
# failure (also CockroachDB's and YugabyteDB's "restart transaction"), deadlock, lock timeout,
# and the server shutting down or starting up.
_RETRYABLE = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}


def _lock_key(purpose: str, schema: str) -> int:
    """A stable 64-bit advisory lock key for one purpose in one schema."""
    digest = hashlib.blake2b(f"orderkit:{purpose}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _redact(dsn: str) -> str:
    """The DSN without its password, in ``key=value`` form."""
    params = conninfo_to_dict(dsn)
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


class PostgresDialect(Dialect):
    """psycopg's placeholders, row locks, timestamptz, and PostgreSQL's errors as orderkit's."""

    placeholder = "%s"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, schema: str) -> None:
        super().__init__()
        # Serializes event appends from here to commit; see the module docstring.
        self.events_lock = f"SELECT pg_advisory_xact_lock({_lock_key('events', schema)})"

    def to_db_time(self, value: datetime) -> Any:
        return value  # psycopg sends an aware datetime as timestamptz

    def from_db_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value.astimezone(timezone.utc)

    def translate(self, exc: Exception) -> OrderkitError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        state = exc.sqlstate or ""
        if state in _RETRYABLE or state.startswith("08"):
            return TransientStorageError(f"PostgreSQL asked for a retry ({state}): {exc}")
        if isinstance(exc, psycopg.OperationalError) and not state:
            # Raised by the client: connecting failed, the connection was lost, or the
            # pool had no connection to give within its timeout.
            return TransientStorageError(f"PostgreSQL connection problem: {exc}")
        if isinstance(exc, pg_errors.UniqueViolation):
            return ConcurrencyConflict(
                f"a concurrent write got there first ({exc.diag.constraint_name}): {exc}"
            )
        if isinstance(exc, pg_errors.CheckViolation):
            return StorageError(
                f"PostgreSQL refused a write that breaks {exc.diag.constraint_name}: {exc}"
            )
        if isinstance(exc, pg_errors.InFailedSqlTransaction):
            return StorageError(
                "an earlier statement of this unit of work failed, so PostgreSQL rolled it "
                "back; start a new unit of work"
            )
        return StorageError(f"PostgreSQL error{f' ({state})' if state else ''}: {exc}")


class PostgresStorage:
    """Storage in a PostgreSQL schema, safe for many threads, processes and machines.

    Args:
        dsn: a libpq connection string, ``"host=… dbname=…"`` or ``"postgresql://…"``.
        schema: the schema holding every orderkit table; created, with the tables, if
            missing. Lowercase letters, digits and underscores.
        pool_size: ``None`` (default) gives each thread its own connection, opened on first
            use and closed when the thread ends; a number shares a ``psycopg_pool``
            connection pool of at most that many connections between all threads, opened on
            first use. A forked child process opens its own connections either way.

    Construction connects once to create or migrate the schema (under an advisory lock, so
    processes starting together do not race) and closes that connection.

    Raises:
        ValidationError: a malformed ``dsn``, ``schema`` or ``pool_size``.
        StorageError: PostgreSQL cannot be reached, or refused to create the schema.
        SchemaVersionError: the schema was written by a newer orderkit.
        ImportError: ``pool_size`` is given but psycopg-pool is not installed.
    """

    def __init__(self, dsn: str, *, schema: str = "public", pool_size: int | None = None) -> None:
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise ValidationError(
                "schema",
                f"{schema!r} is not a plain schema name; use lowercase letters, digits and "
                "underscores, starting with a letter or underscore, at most 63 characters",
            )
        if schema.startswith("pg_"):
            raise ValidationError("schema", "names starting with 'pg_' belong to PostgreSQL")
        if pool_size is not None:
            require_whole("pool_size", pool_size)
        try:
            self._safe_dsn = _redact(dsn)
        except psycopg.Error as exc:
            raise ValidationError("dsn", f"not a PostgreSQL connection string: {exc}") from None
        if pool_size is not None:
            try:
                import psycopg_pool  # noqa: F401 - fail now, not on first use
            except ImportError as exc:
                raise ImportError(
                    f"PostgresStorage(pool_size=...) needs psycopg-pool ({exc}); "
                    + install_hint("postgres")
                ) from exc
        self._dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._dialect = PostgresDialect(schema)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: ThreadConnections[Connection] = ThreadConnections(
            lambda conn: not (conn.closed or conn.broken)
        )
        self._pool: Any = None  # psycopg_pool.ConnectionPool, opened on first use
        self._pool_pid = 0
        self._closed = False
        self._migrate()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._safe_dsn!r}, schema={self.schema!r}, "
            f"pool_size={self.pool_size!r})"
        )

    # -- connections ------------------------------------------------------------------------

    def _configure(self, conn: Connection) -> None:
        """Session settings for every new connection: our schema first, times in UTC."""
        search_path = sql.Identifier(self.schema).as_string(conn)
        conn.execute(
            "SELECT set_config('search_path', %s, false), set_config('TimeZone', 'UTC', false)",
            (search_path,),
        )
        conn.commit()

    def _connect(self) -> Connection:
        conn = psycopg.connect(self._dsn, autocommit=False)
        try:
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _shared_pool(self) -> Any:
        from psycopg_pool import ConnectionPool

        with self._lock:
            if self._closed:
                raise StorageError("this PostgresStorage is closed")
            if self._pool is None or self._pool_pid != os.getpid():
                # A pool's worker threads do not survive a fork: a child builds its own.
                self._pool = ConnectionPool(
                    self._dsn,
                    min_size=1,
                    max_size=self.pool_size,
                    open=False,
                    configure=self._configure,
                    name=f"orderkit:{self.schema}",
                )
                self._pool.open(wait=False)
                self._pool_pid = os.getpid()
            return self._pool

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._closed:
            raise StorageError("this PostgresStorage is closed")
        pool = None
        try:
            if self.pool_size is None:
                conn = self._connections.get(self._connect)
            else:
                pool = self._shared_pool()
                conn = pool.getconn()
        except psycopg.Error as exc:
            raise (self._dialect.translate(exc) or StorageError(str(exc))) from exc
        try:
            yield conn
        finally:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                try:
                    conn.rollback()
                except psycopg.Error:
                    conn.close()  # broken; the next unit of work gets a new connection
            if pool is not None:
                pool.putconn(conn)

    @contextmanager
    def _transaction(self, writable: bool) -> Iterator[SqlUnitOfWork]:
        if getattr(self._local, "busy", False):
            raise StorageError("a unit of work is already open in this thread; nest none")
        self._local.busy = True
        try:
            with self._connection() as conn:
                # psycopg puts these in the BEGIN it sends before the first statement.
                conn.isolation_level = (
                    psycopg.IsolationLevel.READ_COMMITTED
                    if writable
                    else psycopg.IsolationLevel.REPEATABLE_READ
                )
                conn.read_only = not writable

                def commit() -> None:
                    # COMMIT of a failed transaction quietly rolls back; say so instead.
                    if conn.info.transaction_status == TransactionStatus.INERROR:
                        raise StorageError(
                            "an earlier statement of this unit of work failed, so PostgreSQL "
                            "rolled it back and nothing was committed; start a new unit of work"
                        )
                    conn.commit()

                uow = SqlUnitOfWork(conn, self._dialect, writable=writable, on_commit=commit)
                try:
                    yield uow
                finally:
                    uow.open = False
        finally:
            self._local.busy = False

    def unit_of_work(self) -> AbstractContextManager[SqlUnitOfWork]:
        """A writing unit of work at READ COMMITTED; leaving it without ``commit()`` rolls back.

        Raises:
            StorageError: a unit of work is already open in this thread, or the storage is
                closed.
            TransientStorageError: no connection could be had (the server is unreachable or
                the pool stayed busy past its timeout).
        """
        return self._transaction(writable=True)

    def reader(self) -> AbstractContextManager[SqlUnitOfWork]:
        """A read-only unit of work on one REPEATABLE READ snapshot; it never blocks writers."""
        return self._transaction(writable=False)

    # -- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The version of the schema in the database (``len(MIGRATIONS)`` once migrated)."""
        with self.reader() as uow:
            row = uow.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        try:
            conn = psycopg.connect(self._dsn, autocommit=False)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({self._safe_dsn}): {exc}") from exc
        try:
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            # Held until commit: processes starting together migrate one after the other.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("migrate", self.schema),))
            found = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
            ).fetchone()
            if found is None:  # checked first: CREATE SCHEMA IF NOT EXISTS needs the privilege
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            conn.execute(
                "SELECT set_config('search_path', %s, true)",
                (sql.Identifier(self.schema).as_string(conn),),
            )
            conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version INTEGER NOT NULL)")
            row = conn.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone()
            current = 0 if row is None else int(row[0])
            if row is None:
                conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (0)")
            if current > len(MIGRATIONS):
                raise SchemaVersionError(
                    f"schema {self.schema!r} has version {current} but this orderkit knows "
                    f"{len(MIGRATIONS)}; upgrade orderkit"
                )
            for statements in MIGRATIONS[current:]:
                for statement in statements:
                    conn.execute(statement)
            if current != len(MIGRATIONS):
                conn.execute(f"UPDATE {SCHEMA_TABLE} SET version = %s", (len(MIGRATIONS),))
            conn.commit()
        except psycopg.Error as exc:
            raise (self._dialect.translate(exc) or StorageError(str(exc))) from exc
        finally:
            conn.close()  # an unfinished transaction is rolled back with the session

    def close(self) -> None:
        """Close every connection this storage opened, and its pool. Safe to call twice."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        self._connections.close_all()
        if pool is not None and self._pool_pid == os.getpid():
            pool.close()
