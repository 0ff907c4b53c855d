"""The repositories shared by the SQL adapters (SQLite, PostgreSQL).

Both databases get the same statements, written with ``?`` placeholders and translated by
the :class:`Dialect`. What keeps stock honest is the same everywhere: a reservation is one
conditional ``UPDATE … WHERE on_hand - reserved >= ?`` per SKU, issued in sorted SKU order,
so the database itself refuses to oversell and two carts cannot deadlock; a ``CHECK``
constraint backs it up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from orderkit.adapters._common import (
    adjustment_error,
    check_claim,
    check_held,
    check_movements,
    check_new_entries,
    check_outbox_query,
    check_query,
    encode_cursor,
    over_release,
    shortage,
)
from orderkit.domain.events import NewEvent, RecordedEvent
from orderkit.domain.inventory import StockLevel, StockMovement, aggregate
from orderkit.domain.order import Order
from orderkit.errors import (
    ConcurrencyConflict,
    OrderkitError,
    OutboxEntryNotFound,
    OutboxStateError,
    StorageError,
)
from orderkit.notify.outbox import OutboxEntry, OutboxPage, OutboxQuery, OutboxStatus
from orderkit.ports import IdempotencyRecord, OrderQuery, Page
from orderkit.serialization import (
    loads,
    order_from_json,
    order_to_json,
    payload_from_json,
    payload_to_json,
)

SCHEMA_TABLE = "orderkit_schema"


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...


class Dialect:
    """What differs between databases. Subclasses override the attributes they need."""

    placeholder = "?"
    for_update = ""
    # Appended to the select of due outbox entries: concurrent dispatchers pass over the rows
    # another one is claiming instead of waiting for them. Empty where writers are serialized.
    skip_locked = ""
    # Run before appending events and held until commit, so event positions become visible
    # in order; empty where the database already serializes writers (SQLite).
    events_lock = ""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        cached = self._cache.get(statement)
        if cached is None:
            cached = statement.replace("?", self.placeholder)
            self._cache[statement] = cached
        return cached

    def to_db_time(self, value: datetime) -> Any:
        return value

    def from_db_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value

    def translate(self, exc: Exception) -> OrderkitError | None:
        """Map a driver exception to an orderkit error, or None to let it through."""
        return None


class SqlUnitOfWork:
    """A unit of work over one open database transaction."""

    def __init__(
        self,
        conn: Connection,
        dialect: Dialect,
        *,
        writable: bool,
        on_commit: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._dialect = dialect
        self._writable = writable
        self._on_commit = on_commit
        self.open = True
        self.orders = _Orders(self)
        self.stock = _Stock(self)
        self.events = _Events(self)
        self.idempotency = _Idempotency(self)
        self.sequences = _Sequences(self)
        self.outbox = _Outbox(self)

    def execute(self, statement: str, params: Sequence[Any] = (), *, write: bool = False) -> Any:
        if not self.open:
            raise StorageError("this unit of work has ended; start a new one")
        if write and not self._writable:
            raise StorageError("this is a read-only unit of work (reader()); use unit_of_work()")
        try:
            return self._conn.execute(self._dialect.sql(statement), params)
        except Exception as exc:
            translated = self._dialect.translate(exc)
            if translated is None:
                raise
            raise translated from exc

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(statement, row, write=True)

    def commit(self) -> None:
        if not self.open:
            raise StorageError("this unit of work has ended; start a new one")
        try:
            self._on_commit()
        except Exception as exc:
            translated = self._dialect.translate(exc)
            if translated is None:
                raise
            raise translated from exc
        finally:
            self.open = False

    def t(self, value: datetime) -> Any:
        return self._dialect.to_db_time(value)


def _marks(values: Sequence[object]) -> str:
    """One placeholder per value, for ``IN (…)``."""
    return ", ".join("?" for _ in values)


class _Where:
    """The filters of a paged query, and the keyset paging both ``find`` s share.

    Pages are ordered by (time, id); a page resumes strictly after the cursor's (time, id),
    so rows added meanwhile never shift a page, and one row more than the limit is read to
    know whether another page follows.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def equal(self, column: str, value: str | None) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    def any_of(self, column: str, values: frozenset[str] | None) -> None:
        """Match any of ``values`` (sorted, so equal queries make equal statements)."""
        if values is not None:
            ordered = sorted(values)
            self.add(f"{column} IN ({_marks(ordered)})", *ordered)

    def _where(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def count(self, table: str) -> int:
        """How many rows of ``table`` match the filters added so far, cursor aside."""
        row = self._uow.execute(
            f"SELECT COUNT(*) FROM {table}{self._where()}", self.params
        ).fetchone()
        return int(row[0])

    def window(self, column: str, start: datetime | None, end: datetime | None) -> None:
        """``start`` inclusive, ``end`` exclusive."""
        if start is not None:
            self.add(f"{column} >= ?", self._uow.t(start))
        if end is not None:
            self.add(f"{column} < ?", self._uow.t(end))

    def page(
        self,
        select: str,
        key: tuple[str, str],
        after: tuple[datetime, str] | None,
        limit: int,
        *,
        newest_first: bool,
    ) -> tuple[list[Any], bool]:
        """Up to ``limit`` rows after the cursor, and whether more follow."""
        time_column, id_column = key
        if after is not None:
            op = "<" if newest_first else ">"
            when = self._uow.t(after[0])
            self.add(
                f"({time_column} {op} ? OR ({time_column} = ? AND {id_column} {op} ?))",
                when,
                when,
                after[1],
            )
        direction = " DESC" if newest_first else ""
        order = f"ORDER BY {time_column}{direction}, {id_column}{direction}"
        rows = self._uow.execute(
            f"{select}{self._where()} {order} LIMIT ?",
            (*self.params, limit + 1),
        ).fetchall()
        return rows[:limit], len(rows) > limit


class _Repo:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow


class _Orders(_Repo):
    def _write_tags(self, order: Order, *, replace: bool) -> None:
        u = self._uow
        if replace:  # a new order has no tag rows yet: a statement fewer for each placement
            u.execute("DELETE FROM orderkit_order_tags WHERE order_id = ?", (order.id,), write=True)
        u.executemany(
            "INSERT INTO orderkit_order_tags (order_id, tag, created_at) VALUES (?, ?, ?)",
            [(order.id, tag, u.t(order.created_at)) for tag in order.tags],
        )

    def _write_shipments(self, order: Order) -> None:
        # Shipments are only ever added and keep their tracking number, so inserting the
        # missing rows keeps the index in step.
        u = self._uow
        for shipment in order.shipments:
            if shipment.tracking_number:
                u.execute(
                    "INSERT INTO orderkit_shipments (carrier, tracking_number, order_id) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (shipment.carrier, shipment.tracking_number, order.id),
                    write=True,
                )

    def add(self, order: Order) -> None:
        u = self._uow
        u.execute(
            "INSERT INTO orderkit_orders (id, number, customer_id, status, channel, group_key, "
            "created_at, updated_at, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.id,
                order.number,
                order.customer.id,
                order.status,
                order.channel,
                order.group,
                u.t(order.created_at),
                u.t(order.updated_at),
                order.version,
                order_to_json(order),
            ),
            write=True,
        )
        self._write_tags(order, replace=False)
        self._write_shipments(order)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        suffix = self._uow._dialect.for_update if for_update else ""
        row = self._uow.execute(
            f"SELECT data FROM orderkit_orders WHERE id = ?{suffix}", (order_id,)
        ).fetchone()
        return None if row is None else order_from_json(row[0])

    def get_by_number(self, number: str) -> Order | None:
        row = self._uow.execute(
            "SELECT data FROM orderkit_orders WHERE number = ?", (number,)
        ).fetchone()
        return None if row is None else order_from_json(row[0])

    def save(self, order: Order) -> None:
        u = self._uow
        cur = u.execute(
            "UPDATE orderkit_orders SET status = ?, channel = ?, group_key = ?, customer_id = ?, "
            "updated_at = ?, version = ?, data = ? WHERE id = ? AND version = ?",
            (
                order.status,
                order.channel,
                order.group,
                order.customer.id,
                u.t(order.updated_at),
                order.version,
                order_to_json(order),
                order.id,
                order.version - 1,
            ),
            write=True,
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflict(
                f"order {order.id} changed since it was read (expected version "
                f"{order.version - 1}); run the command again"
            )
        self._write_tags(order, replace=True)
        self._write_shipments(order)

    def find_by_tracking(self, carrier: str, tracking_number: str) -> Order | None:
        row = self._uow.execute(
            "SELECT o.data FROM orderkit_shipments s JOIN orderkit_orders o ON o.id = s.order_id "
            "WHERE s.carrier = ? AND s.tracking_number = ? "
            "ORDER BY o.created_at DESC, o.id DESC LIMIT 1",
            (carrier, tracking_number),
        ).fetchone()
        return None if row is None else order_from_json(row[0])

    def find(self, query: OrderQuery) -> Page:
        u = self._uow
        after = check_query(query)
        where = _Where(u)
        where.equal("o.customer_id", query.customer_id)
        where.any_of("o.status", query.status)
        where.any_of("o.channel", query.channel)
        where.equal("o.group_key", query.group)
        if query.tag is not None:
            tags = sorted(query.tag)
            where.add(
                "EXISTS (SELECT 1 FROM orderkit_order_tags t "
                f"WHERE t.order_id = o.id AND t.tag IN ({_marks(tags)}))",
                *tags,
            )
        where.window("o.created_at", query.placed_from, query.placed_to)
        total = where.count("orderkit_orders o") if query.with_total else None
        rows, more = where.page(
            "SELECT o.data FROM orderkit_orders o",
            ("o.created_at", "o.id"),
            after,
            query.limit,
            newest_first=True,
        )
        items = tuple(order_from_json(r[0]) for r in rows)
        cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
        return Page(items, cursor, total)


_LEVEL_COLUMNS = "sku, location, on_hand, reserved, low_stock_threshold"
_LEVEL = f"SELECT {_LEVEL_COLUMNS} FROM orderkit_stock"
# The reservation itself: the database refuses to oversell, whoever else is reserving.
_RESERVE = (
    "UPDATE orderkit_stock SET reserved = reserved + ? "
    "WHERE sku = ? AND location = ? AND on_hand - reserved >= ?"
)


def _level(row: Any) -> StockLevel:
    return StockLevel(row[0], row[1], row[2], row[3], row[4])


class _Stock(_Repo):
    def get(self, sku: str, location: str) -> StockLevel | None:
        row = self._uow.execute(
            f"{_LEVEL} WHERE sku = ? AND location = ?", (sku, location)
        ).fetchone()
        return None if row is None else _level(row)

    def _get_or_zero(self, sku: str, location: str) -> StockLevel:
        return self.get(sku, location) or StockLevel(sku, location, 0, 0)

    def all(self) -> list[StockLevel]:
        rows = self._uow.execute(f"{_LEVEL} ORDER BY sku, location").fetchall()
        return [_level(r) for r in rows]

    def _ensure(self, sku: str, location: str) -> None:
        self._uow.execute(
            "INSERT INTO orderkit_stock (sku, location, on_hand, reserved, low_stock_threshold) "
            "VALUES (?, ?, 0, 0, 0) ON CONFLICT (sku, location) DO NOTHING",
            (sku, location),
            write=True,
        )

    def receive(self, sku: str, location: str, quantity: int) -> StockLevel:
        check_movements([StockMovement(sku, location, quantity)])
        self._ensure(sku, location)
        self._uow.execute(
            "UPDATE orderkit_stock SET on_hand = on_hand + ? WHERE sku = ? AND location = ?",
            (quantity, sku, location),
            write=True,
        )
        return self._get_or_zero(sku, location)

    def adjust(self, sku: str, location: str, delta: int) -> StockLevel:
        cur = self._uow.execute(
            "UPDATE orderkit_stock SET on_hand = on_hand + ? WHERE sku = ? AND location = ? "
            "AND on_hand + ? >= reserved AND on_hand + ? >= 0",
            (delta, sku, location, delta, delta),
            write=True,
        )
        if cur.rowcount != 1:
            level = self._get_or_zero(sku, location)
            raise adjustment_error(sku, location, level.on_hand, level.reserved, delta)
        return self._get_or_zero(sku, location)

    def set_threshold(self, sku: str, location: str, threshold: int) -> StockLevel:
        self._ensure(sku, location)
        self._uow.execute(
            "UPDATE orderkit_stock SET low_stock_threshold = ? WHERE sku = ? AND location = ?",
            (threshold, sku, location),
            write=True,
        )
        return self._get_or_zero(sku, location)

    def reserve(self, order_id: str, items: Sequence[StockMovement]) -> list[StockLevel]:
        items = aggregate(items)
        check_movements(items)
        u = self._uow
        levels = []
        for item in items:  # sorted: every writer locks rows in the same order
            params = (item.quantity, item.sku, item.location, item.quantity)
            # RETURNING saves a read after the write: a round trip on a server database.
            row = u.execute(f"{_RESERVE} RETURNING {_LEVEL_COLUMNS}", params, write=True).fetchone()
            if row is None:
                raise shortage(item, self.get(item.sku, item.location))
            u.execute(
                "INSERT INTO orderkit_reservations (order_id, sku, location, quantity) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (order_id, sku, location) "
                "DO UPDATE SET quantity = orderkit_reservations.quantity + excluded.quantity",
                (order_id, item.sku, item.location, item.quantity),
                write=True,
            )
            levels.append(_level(row))
        return levels

    def _take(
        self, order_id: str, items: Sequence[StockMovement] | None, verb: str
    ) -> tuple[StockMovement, ...]:
        u = self._uow
        held = {(m.sku, m.location): m.quantity for m in self.reservations(order_id)}
        if items is None:
            items = tuple(StockMovement(s, loc, q) for (s, loc), q in sorted(held.items()))
        else:
            items = aggregate(items)
            check_movements(items)
        for item in items:
            have = held.get((item.sku, item.location), 0)
            if item.quantity > have:
                raise over_release(order_id, item, have, verb)
        shipped = 1 if verb == "commit" else 0
        for item in items:
            u.execute(
                "UPDATE orderkit_stock SET reserved = reserved - ?, on_hand = on_hand - ? "
                "WHERE sku = ? AND location = ?",
                (item.quantity, item.quantity * shipped, item.sku, item.location),
                write=True,
            )
            left = held[(item.sku, item.location)] - item.quantity
            if left:
                u.execute(
                    "UPDATE orderkit_reservations SET quantity = ? "
                    "WHERE order_id = ? AND sku = ? AND location = ?",
                    (left, order_id, item.sku, item.location),
                    write=True,
                )
            else:
                u.execute(
                    "DELETE FROM orderkit_reservations "
                    "WHERE order_id = ? AND sku = ? AND location = ?",
                    (order_id, item.sku, item.location),
                    write=True,
                )
        return tuple(items)

    def release(
        self, order_id: str, items: Sequence[StockMovement] | None = None
    ) -> tuple[StockMovement, ...]:
        return self._take(order_id, items, "release")

    def commit(self, order_id: str, items: Sequence[StockMovement]) -> tuple[StockMovement, ...]:
        return self._take(order_id, items, "commit")

    def reservations(self, order_id: str) -> tuple[StockMovement, ...]:
        rows = self._uow.execute(
            "SELECT sku, location, quantity FROM orderkit_reservations WHERE order_id = ? "
            "ORDER BY sku, location",
            (order_id,),
        ).fetchall()
        return tuple(StockMovement(r[0], r[1], r[2]) for r in rows)

    def all_reservations(self) -> list[tuple[str, StockMovement]]:
        rows = self._uow.execute(
            "SELECT order_id, sku, location, quantity FROM orderkit_reservations "
            "ORDER BY order_id, sku, location"
        ).fetchall()
        return [(r[0], StockMovement(r[1], r[2], r[3])) for r in rows]


class _Events(_Repo):
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

    def stream(self, stream: str) -> list[RecordedEvent]:
        rows = self._uow.execute(
            f"{self._SELECT} WHERE stream = ? ORDER BY position", (stream,)
        ).fetchall()
        return self._rows(rows)

    def read(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        rows = self._uow.execute(
            f"{self._SELECT} WHERE position > ? ORDER BY position LIMIT ?", (after, limit)
        ).fetchall()
        return self._rows(rows)


class _Idempotency(_Repo):
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


class _Sequences(_Repo):
    def next(self, name: str) -> int:
        row = self._uow.execute(
            "INSERT INTO orderkit_sequences (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = orderkit_sequences.value + 1 "
            "RETURNING value",
            (name,),
            write=True,
        ).fetchone()
        return int(row[0])


_OUTBOX_COLUMNS = (
    "entry_id, kind, channel, recipient, locale, payload, order_id, dedup_key, status, "
    "attempts, created_at, next_attempt_at, last_error, sent_at"
)


class _Outbox(_Repo):
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
        texts = check_new_entries(entries)
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
                    text,
                    e.order_id,
                    e.dedup_key,
                    e.status,
                    e.attempts,
                    u.t(e.created_at),
                    u.t(e.next_attempt_at),
                    e.last_error,
                    None if e.sent_at is None else u.t(e.sent_at),
                )
                for e, text in zip(entries, texts, strict=True)
            ],
        )

    def get(self, entry_id: str) -> OutboxEntry | None:
        row = self._uow.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM orderkit_outbox WHERE entry_id = ?", (entry_id,)
        ).fetchone()
        return None if row is None else self._entry(row)

    def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        channels: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        u = self._uow
        check_claim(now, limit, lease_until)
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

    def _update_held(
        self, entry_id: str, attempt: int, assignments: str, params: Sequence[Any]
    ) -> OutboxEntry:
        row = self._uow.execute(
            f"UPDATE orderkit_outbox SET {assignments} "
            f"WHERE entry_id = ? AND status = ? AND attempts = ? RETURNING {_OUTBOX_COLUMNS}",
            (*params, entry_id, OutboxStatus.SENDING, attempt),
            write=True,
        ).fetchone()
        if row is not None:
            return self._entry(row)
        entry = self.get(entry_id)
        if entry is None:
            raise OutboxEntryNotFound(entry_id)
        check_held(entry, attempt)
        raise AssertionError("unreachable: the update matched no row")  # pragma: no cover

    def mark_sent(self, entry_id: str, *, attempt: int, sent_at: datetime) -> OutboxEntry:
        return self._update_held(
            entry_id, attempt, "status = ?, sent_at = ?", (OutboxStatus.SENT, self._uow.t(sent_at))
        )

    def mark_failed(
        self, entry_id: str, *, attempt: int, error: str, retry_at: datetime | None
    ) -> OutboxEntry:
        if retry_at is None:
            return self._update_held(
                entry_id, attempt, "status = ?, last_error = ?", (OutboxStatus.DEAD, error)
            )
        return self._update_held(
            entry_id,
            attempt,
            "status = ?, last_error = ?, next_attempt_at = ?",
            (OutboxStatus.QUEUED, error, self._uow.t(retry_at)),
        )

    def requeue(self, entry_id: str, now: datetime) -> OutboxEntry:
        u = self._uow
        row = u.execute(
            "UPDATE orderkit_outbox SET status = ?, attempts = 0, next_attempt_at = ? "
            f"WHERE entry_id = ? AND status = ? RETURNING {_OUTBOX_COLUMNS}",
            (OutboxStatus.QUEUED, u.t(now), entry_id, OutboxStatus.DEAD),
            write=True,
        ).fetchone()
        if row is not None:
            return self._entry(row)
        entry = self.get(entry_id)
        if entry is None:
            raise OutboxEntryNotFound(entry_id)
        raise OutboxStateError(entry_id, entry.status, "only dead entries can be re-sent")

    def find(self, query: OutboxQuery) -> OutboxPage:
        after = check_outbox_query(query)
        where = _Where(self._uow)
        where.equal("status", query.status)
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
