"""The builders the storage contracts share: snapshots, a seeded shop, every use of a
unit of work (the sample data of :mod:`orderkit.testing.samples` is re-exported here).

They are public so a host can write extra tests for its own adapter in the same terms as
:mod:`orderkit.testing.storage` (the port contract) and :mod:`orderkit.testing.service`
(the service behaviour over any storage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta

import attrs
import pytest

from orderkit.domain.events import (
    RecordedEvent,
)
from orderkit.domain.inventory import StockLevel, StockMovement, received
from orderkit.domain.lifecycle import default_order_machine
from orderkit.domain.order import (
    Order,
)
from orderkit.domain.status import StatusMachine, Transition
from orderkit.notify.outbox import OutboxEntry, OutboxQuery, OutboxStatus, entry_by_id
from orderkit.ports import IdempotencyRecord, OrderQuery, Storage, UnitOfWork
from orderkit.testing.outbox import sample_entry
from orderkit.testing.samples import (
    CATALOG,
    HERE,
    HOME,
    PARCEL_1Z,
    PRICES,
    START,
    held,
    level,
    rich_order,
    sample_event,
    sample_order,
    sample_payloads,
    sample_record,
    sample_tracking,
    usd,
)

__all__ = [
    "CATALOG",
    "HERE",
    "HOME",
    "PARCEL_1Z",
    "PRICES",
    "READS",
    "START",
    "USES",
    "WRITES",
    "StorageFixture",
    "StorageSnapshot",
    "held",
    "holds",
    "level",
    "payloads",
    "probe",
    "receive",
    "reservations",
    "review_machine",
    "rich_order",
    "sample_event",
    "sample_order",
    "sample_payloads",
    "sample_record",
    "sample_tracking",
    "seed",
    "snapshot",
    "stream",
    "usd",
]


# -- reading storage back ----------------------------------------------------------------------


@attrs.frozen
class StorageSnapshot:
    """Everything a reader can see; equal snapshots mean nothing visible changed."""

    orders: tuple[Order, ...]
    stock: tuple[StockLevel, ...]
    reservations: tuple[tuple[str, StockMovement], ...]
    events: tuple[RecordedEvent, ...]
    outbox: tuple[OutboxEntry, ...] = ()


def snapshot(storage: Storage) -> StorageSnapshot:
    """Every order, stock level, reservation, event and outbox entry, read in one reader."""
    orders: list[Order] = []
    events: list[RecordedEvent] = []
    outbox: list[OutboxEntry] = []
    with storage.reader() as uow:
        cursor: str | None = None
        while True:
            page = uow.orders.find(OrderQuery(limit=1000, cursor=cursor))
            orders.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        while batch := uow.events.read(after=events[-1].position if events else 0):
            events.extend(batch)
        cursor = None
        while True:
            entries = uow.outbox.find(OutboxQuery(limit=1000, cursor=cursor))
            outbox.extend(entries.items)
            if entries.next_cursor is None:
                break
            cursor = entries.next_cursor
        return StorageSnapshot(
            tuple(orders),
            tuple(uow.stock.all()),
            tuple(uow.stock.reservations()),
            tuple(events),
            tuple(outbox),
        )


def reservations(storage: Storage, order_id: str) -> tuple[StockMovement, ...]:
    """What the order holds now."""
    with storage.reader() as uow:
        return holds(uow, order_id)


def holds(uow: UnitOfWork, order_id: str) -> tuple[StockMovement, ...]:
    """What the order holds, as movements (:meth:`StockRepository.reservations` less the
    order ids)."""
    return tuple(movement for _, movement in uow.stock.reservations(order_id))


def receive(uow: UnitOfWork, sku: str, location: str, quantity: int) -> StockLevel:
    """Receive stock through the port as the service does: the rule
    (:func:`orderkit.domain.inventory.received`) over the stored level, then a conditional
    write."""
    found = uow.stock.all(sku=sku, location=location)
    stored = found[0] if found else None
    return uow.stock.put(received(stored, sku, location, quantity), expected=stored)


def stream(storage: Storage, name: str) -> list[RecordedEvent]:
    with storage.reader() as uow:
        return uow.events.read(stream=name, limit=None)


def payloads(events: Iterable[RecordedEvent], kind: type | None = None) -> list[object]:
    return [e.payload for e in events if kind is None or isinstance(e.payload, kind)]


def seed(storage: Storage) -> Order:
    """Commit a small shop: ten mugs, order ``ord-1`` holding two, one event, key ``k-1``,
    sequence ``n`` at 1, outbox entry ``e-1`` queued."""
    order = sample_order()
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", HERE, 10)
        uow.orders.save(order)
        uow.stock.reserve(order.id, held(("MUG", 2)))
        uow.events.append([sample_event()])
        uow.idempotency.claim(sample_record("k-1"))
        uow.sequences.next("n")
        uow.outbox.add([sample_entry("e-1")])
        uow.commit()
    return order


def probe(storage: Storage) -> tuple[StorageSnapshot, IdempotencyRecord | None, int]:
    """A :func:`snapshot` plus what it cannot see: whether key ``k-2`` is claimed and the next
    value of sequence ``n``, asked in a unit of work that is then rolled back."""
    with storage.unit_of_work() as uow:
        claimed = uow.idempotency.claim(sample_record("k-2"))
        following = uow.sequences.next("n")
    return snapshot(storage), claimed, following


def review_machine() -> StatusMachine[Order]:
    """A host's machine: paid orders wait in ``awaiting_review`` until someone approves them."""
    return default_order_machine().extend(
        states=["awaiting_review", "review_rejected"],
        remove=[("pending_payment", "pay")],
        transitions=[
            Transition("pending_payment", "pay", "awaiting_review", ["paid_in_full"]),
            Transition("awaiting_review", "approve_review", "awaiting_shipment"),
            Transition("awaiting_review", "reject_review", "review_rejected"),
            Transition("awaiting_review", "refund_full", "closed", ["fully_refunded"]),
            Transition("review_rejected", "refund_full", "closed", ["fully_refunded"]),
        ],
        name="order-with-review",
    )


# Every way to write through a unit of work, against the shop :func:`seed` commits.
WRITES: Mapping[str, Callable[[UnitOfWork], object]] = {
    "orders.save-new": lambda uow: uow.orders.save(sample_order("ord-2", "T-000002")),
    "orders.save": lambda uow: uow.orders.save(attrs.evolve(sample_order(), version=2)),
    "stock.put": lambda uow: uow.stock.put(level("MUG", 11, 2), expected=level("MUG", 10, 2)),
    "stock.reserve": lambda uow: uow.stock.reserve("ord-2", held(("MUG", 1))),
    "stock.release": lambda uow: uow.stock.release("ord-1"),
    "stock.release-shipped": lambda uow: uow.stock.release("ord-1", held(("MUG", 1)), shipped=True),
    "events.append": lambda uow: uow.events.append([sample_event(text="late")]),
    "idempotency.claim": lambda uow: uow.idempotency.claim(sample_record("k-2")),
    "sequences.next": lambda uow: uow.sequences.next("n"),
    "outbox.add": lambda uow: uow.outbox.add([sample_entry("e-2")]),
    "outbox.claim_due": lambda uow: uow.outbox.claim_due(START, 10, START + timedelta(minutes=1)),
    "outbox.update": lambda uow: uow.outbox.update(
        attrs.evolve(sample_entry("e-1"), status=OutboxStatus.DEAD), expected=sample_entry("e-1")
    ),
}
READS: Mapping[str, Callable[[UnitOfWork], object]] = {
    "orders.get": lambda uow: uow.orders.get("ord-1"),
    "orders.find": lambda uow: uow.orders.find(OrderQuery()),
    "stock.all-one": lambda uow: uow.stock.all(sku="MUG", location=HERE),
    "stock.all": lambda uow: uow.stock.all(),
    "stock.reservations": lambda uow: holds(uow, "ord-1"),
    "events.read-stream": lambda uow: uow.events.read(stream="order:ord-1", limit=None),
    "events.read": lambda uow: uow.events.read(),
    "outbox.find-entry": lambda uow: entry_by_id(uow.outbox.find, "e-1"),
    "outbox.find": lambda uow: uow.outbox.find(OutboxQuery()),
}
USES: Mapping[str, Callable[[UnitOfWork], object]] = {
    **READS,
    **WRITES,
    "commit": lambda uow: uow.commit(),
}


class StorageFixture:
    """The ``storage`` fixture both contracts stand on: a fresh, empty storage from the
    host's ``make_storage``, closed after the test."""

    @pytest.fixture
    def storage(self, make_storage: Callable[[], Storage]) -> Iterator[Storage]:
        storage = make_storage()
        yield storage
        storage.close()
