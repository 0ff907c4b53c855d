"""In-memory storage: the reference adapter, for tests, docs and single-process tools.

It is a real adapter, not a mock: units of work are isolated and atomic (a failed command
leaves nothing behind), writers are serialized by one lock just as SQLite serializes them
with ``BEGIN IMMEDIATE``, and it raises the same orderkit errors as the SQL adapters. It is
thread-safe; it keeps nothing when the process ends.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

import attrs

from orderkit.adapters.kit import (
    decode_cursor,
    encode_cursor,
    outbox_update_refused,
    over_release,
    shortage,
)
from orderkit.domain.events import NewEvent, RecordedEvent
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.domain.order import Order
from orderkit.errors import ConcurrencyConflict, StorageError
from orderkit.notify.outbox import OutboxEntry, OutboxPage, OutboxQuery, OutboxStatus
from orderkit.ports import IdempotencyRecord, OrderQuery, Page
from orderkit.serialization import dumps, loads

__all__ = ["MemoryStorage"]

Key = tuple[str, str]


class _State:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.numbers: dict[str, str] = {}
        self.stock: dict[Key, StockLevel] = {}
        self.reservations: dict[str, dict[Key, int]] = {}
        self.events: list[RecordedEvent] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.sequences: dict[str, int] = {}
        self.outbox: dict[str, OutboxEntry] = {}


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._s = uow._state

    def _write(self, undo: Callable[[], None]) -> None:
        self._uow._check_writable()
        self._uow._undo.append(undo)


class _Orders(_Repo):
    def _insert(self, order: Order) -> None:
        if order.id in self._s.orders or order.number in self._s.numbers:
            raise ConcurrencyConflict(f"order {order.id} / {order.number} already exists")
        self._s.orders[order.id] = order
        self._s.numbers[order.number] = order.id

        def undo() -> None:
            del self._s.orders[order.id]
            del self._s.numbers[order.number]

        self._write(undo)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        self._uow._check_open()
        return self._s.orders.get(order_id)

    def save(self, order: Order) -> None:
        self._uow._check_writable()
        if order.version == 1:
            self._insert(order)
            return
        current = self._s.orders.get(order.id)
        if current is None or current.version != order.version - 1:
            raise ConcurrencyConflict(
                f"order {order.id} changed since it was read (stored version "
                f"{current.version if current else 'none'}, writing {order.version})"
            )
        self._s.orders[order.id] = order
        self._write(lambda: self._s.orders.__setitem__(order.id, current))

    def find(self, query: OrderQuery) -> Page:
        self._uow._check_open()
        after = decode_cursor(query.cursor)
        q = query
        if q.number is not None:  # the number is unique: no scan
            order_id = self._s.numbers.get(q.number)
            candidates = [] if order_id is None else [self._s.orders[order_id]]
        else:
            candidates = list(self._s.orders.values())
        matching = [
            o
            for o in candidates
            if (q.customer_id is None or o.customer.id == q.customer_id)
            and (q.status is None or o.status in q.status)
            and (q.channel is None or o.channel in q.channel)
            and (q.tag is None or not q.tag.isdisjoint(o.tags))
            and (q.group is None or o.group == q.group)
            and (q.placed_from is None or o.created_at >= q.placed_from)
            and (q.placed_to is None or o.created_at < q.placed_to)
            and (q.carrier is None or _has_parcel(o, q.carrier, q.tracking_number))
        ]
        rows = sorted(
            (o for o in matching if after is None or (o.created_at, o.id) < after),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        items = tuple(rows[: q.limit])
        more = len(rows) > q.limit
        cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
        return Page(items, cursor, len(matching) if q.with_total else None)


def _has_parcel(order: Order, carrier: str, tracking_number: str | None) -> bool:
    # A scan: the memory adapter serves tests and docs, where a dict index kept in step
    # with every save and rollback would cost more than it saves.
    return any(
        s.carrier == carrier and s.tracking_number == tracking_number for s in order.shipments
    )


class _Stock(_Repo):
    def _set(self, level: StockLevel) -> StockLevel:
        key = (level.sku, level.location)
        previous = self._s.stock.get(key)
        self._s.stock[key] = level

        def undo() -> None:
            if previous is None:
                del self._s.stock[key]
            else:
                self._s.stock[key] = previous

        self._write(undo)
        return level

    def _held(self, order_id: str) -> dict[Key, int]:
        return self._s.reservations.get(order_id, {})

    def _set_held(self, order_id: str, key: Key, quantity: int) -> None:
        held = self._s.reservations.setdefault(order_id, {})
        previous = held.get(key)
        if quantity:
            held[key] = quantity
        else:
            held.pop(key, None)

        def undo() -> None:
            if previous is None:
                held.pop(key, None)
            else:
                held[key] = previous

        self._write(undo)

    def all(self, *, sku: str | None = None, location: str | None = None) -> list[StockLevel]:
        self._uow._check_open()
        if sku is not None and location is not None:  # by key, as the service reads a level
            found = self._s.stock.get((sku, location))
            return [] if found is None else [found]
        keys = (k for k in self._s.stock if sku in (None, k[0]) and location in (None, k[1]))
        return [self._s.stock[k] for k in sorted(keys)]

    def put(self, level: StockLevel, *, expected: StockLevel | None) -> StockLevel:
        self._uow._check_writable()
        stored = self._s.stock.get((level.sku, level.location))
        if stored != expected:
            raise ConcurrencyConflict(
                f"stock of {level.sku}@{level.location} changed since it was read; "
                "run the command again"
            )
        return self._set(level)

    def reserve(self, order_id: str, items: Sequence[StockMovement]) -> list[StockLevel]:
        self._uow._check_writable()
        for item in items:
            level = self._s.stock.get((item.sku, item.location))
            if level is None or level.available < item.quantity:
                raise shortage(item, level)
        levels = []
        for item in items:
            key = (item.sku, item.location)
            level = self._s.stock[key]
            levels.append(self._set(attrs.evolve(level, reserved=level.reserved + item.quantity)))
            self._set_held(order_id, key, self._held(order_id).get(key, 0) + item.quantity)
        return levels

    def release(
        self,
        order_id: str,
        items: Sequence[StockMovement] | None = None,
        *,
        shipped: bool = False,
    ) -> tuple[StockMovement, ...]:
        self._uow._check_writable()
        held = self._held(order_id)
        if items is None:
            items = tuple(StockMovement(s, loc, q) for (s, loc), q in sorted(held.items()))
        else:
            items = tuple(items)
        for item in items:
            have = held.get((item.sku, item.location), 0)
            if item.quantity > have:
                raise over_release(order_id, item, have, "ship" if shipped else "release")
        for item in items:
            key = (item.sku, item.location)
            level = self._s.stock[key]
            on_hand = level.on_hand - item.quantity if shipped else level.on_hand
            self._set(attrs.evolve(level, on_hand=on_hand, reserved=level.reserved - item.quantity))
            self._set_held(order_id, key, held[key] - item.quantity)
        return tuple(items)

    def reservations(self, order_id: str | None = None) -> list[tuple[str, StockMovement]]:
        self._uow._check_open()
        orders = sorted(self._s.reservations) if order_id is None else [order_id]
        return [
            (held_by, StockMovement(s, loc, q))
            for held_by in orders
            for (s, loc), q in sorted(self._held(held_by).items())
        ]


class _Events(_Repo):
    def append(self, events: Sequence[NewEvent]) -> None:
        self._uow._check_writable()
        start = len(self._s.events)
        for event in events:
            self._s.events.append(
                RecordedEvent(
                    position=len(self._s.events) + 1,
                    stream=event.stream,
                    type=event.type,
                    at=event.at,
                    actor=event.actor,
                    reason=event.reason,
                    payload=event.payload,
                )
            )
        self._write(lambda: self._s.events.__delitem__(slice(start, None)))

    def read(
        self, after: int = 0, limit: int | None = 1000, *, stream: str | None = None
    ) -> list[RecordedEvent]:
        self._uow._check_open()
        wanted = (e for e in self._s.events if e.position > after and stream in (None, e.stream))
        return list(itertools.islice(wanted, limit))


class _Idempotency(_Repo):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        self._uow._check_writable()
        existing = self._s.idempotency.get(record.key)
        if existing is not None:
            return existing
        self._s.idempotency[record.key] = record
        self._write(lambda: self._s.idempotency.__delitem__(record.key))
        return None


class _Sequences(_Repo):
    def next(self, name: str) -> int:
        self._uow._check_writable()
        previous = self._s.sequences.get(name)
        self._s.sequences[name] = (previous or 0) + 1

        def undo() -> None:
            if previous is None:
                del self._s.sequences[name]
            else:
                self._s.sequences[name] = previous

        self._write(undo)
        return self._s.sequences[name]


class _Outbox(_Repo):
    def _replace(self, entry: OutboxEntry) -> OutboxEntry:
        previous = self._s.outbox[entry.entry_id]
        self._s.outbox[entry.entry_id] = entry
        self._write(lambda: self._s.outbox.__setitem__(entry.entry_id, previous))
        return entry

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        self._uow._check_writable()
        ids = [e.entry_id for e in entries]
        if len(set(ids)) != len(ids) or any(i in self._s.outbox for i in ids):
            raise ConcurrencyConflict(f"an outbox entry with one of the ids {ids} exists")
        for entry in entries:
            # Stored as the SQL adapters store it: the payload as its JSON reads back.
            self._s.outbox[entry.entry_id] = attrs.evolve(
                entry, payload=loads(dumps(entry.payload))
            )

        def undo() -> None:
            for entry_id in ids:
                del self._s.outbox[entry_id]

        self._write(undo)

    def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        channels: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        self._uow._check_writable()
        due = sorted(
            (
                e
                for e in self._s.outbox.values()
                if e.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING)
                and e.next_attempt_at <= now
                and (channels is None or e.channel in channels)
            ),
            key=lambda e: (e.next_attempt_at, e.entry_id),
        )[:limit]
        claimed = [
            self._replace(
                attrs.evolve(
                    e,
                    status=OutboxStatus.SENDING,
                    attempts=e.attempts + 1,
                    next_attempt_at=lease_until,
                )
            )
            for e in due
        ]
        return sorted(claimed, key=lambda e: (e.created_at, e.entry_id))

    def update(self, entry: OutboxEntry, *, expected: OutboxEntry) -> OutboxEntry:
        self._uow._check_writable()
        stored = self._s.outbox.get(entry.entry_id)
        if (
            stored is None
            or stored.status != expected.status
            or stored.attempts != expected.attempts
        ):
            raise outbox_update_refused(entry.entry_id, stored, expected)
        return self._replace(entry)

    def find(self, query: OutboxQuery) -> OutboxPage:
        self._uow._check_open()
        after = decode_cursor(query.cursor)
        q = query
        rows = sorted(
            (
                e
                for e in self._s.outbox.values()
                if (q.status is None or e.status == q.status)
                and (q.entry_id is None or e.entry_id == q.entry_id)
                and (q.order_id is None or e.order_id == q.order_id)
                and (q.kind is None or e.kind == q.kind)
                and (q.created_from is None or e.created_at >= q.created_from)
                and (q.created_to is None or e.created_at < q.created_to)
                and (after is None or (e.created_at, e.entry_id) > after)
            ),
            key=lambda e: (e.created_at, e.entry_id),
        )
        items = tuple(rows[: q.limit])
        more = len(rows) > q.limit
        cursor = encode_cursor(items[-1].created_at, items[-1].entry_id) if more else None
        return OutboxPage(items, cursor)


class MemoryUnitOfWork:
    """A unit of work over :class:`MemoryStorage`; changes are undone unless committed."""

    def __init__(self, state: _State, writable: bool) -> None:
        self._state = state
        self._writable = writable
        self._open = True
        self._undo: list[Callable[[], None]] = []
        self.orders = _Orders(self)
        self.stock = _Stock(self)
        self.events = _Events(self)
        self.idempotency = _Idempotency(self)
        self.sequences = _Sequences(self)
        self.outbox = _Outbox(self)

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError("this unit of work has ended; start a new one")

    def _check_writable(self) -> None:
        self._check_open()
        if not self._writable:
            raise StorageError("this is a read-only unit of work (reader()); use unit_of_work()")

    def commit(self) -> None:
        self._check_open()
        self._undo.clear()
        self._open = False

    def _rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self._open = False


class MemoryStorage:
    """Storage in this process's memory. Thread-safe; one writer or reader at a time."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._closed = False

    @contextmanager
    def _begin(self, writable: bool) -> Iterator[MemoryUnitOfWork]:
        if self._closed:
            raise StorageError("this storage is closed")
        if self._owner == threading.get_ident():
            raise StorageError("a unit of work is already open in this thread; nest none")
        with self._lock:
            self._owner = threading.get_ident()
            uow = MemoryUnitOfWork(self._state, writable)
            try:
                yield uow
            finally:
                if uow._open:
                    uow._rollback()
                self._owner = None

    def unit_of_work(self) -> AbstractContextManager[MemoryUnitOfWork]:
        """A writing unit of work; it waits while another one is open."""
        return self._begin(writable=True)

    def reader(self) -> AbstractContextManager[MemoryUnitOfWork]:
        """A read-only unit of work."""
        return self._begin(writable=False)

    def close(self) -> None:
        self._closed = True
