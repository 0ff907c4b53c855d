"""Several dispatcher processes drain one outbox and deliver every message exactly once, on
SQLite (several processes on one file) and on PostgreSQL (``FOR UPDATE SKIP LOCKED``).

The children live in ``tests/_outbox_workers.py``; they append one line per delivered
message to a shared file, and turn some first attempts down so retried entries move between
processes too.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _concurrency_workers import ProcessGroup, StorageSpec, spawn_context
from _outbox_workers import drain, flaky
from orderkit.domain.events import NotificationSent
from orderkit.notify.dispatch import DispatchReport
from orderkit.notify.outbox import OutboxEntry, OutboxQuery, OutboxStatus

PROCESSES = 4
ENTRIES = 200
BATCH = 10


def queue(storage: Any, count: int) -> list[str]:
    now = datetime.now(timezone.utc)
    entries = [
        OutboxEntry(
            entry_id=f"m-{i:04d}",
            kind="order_placed",
            channel="email",
            recipient=f"c{i}@example.cn",
            locale="en",
            payload={"n": i},
            order_id=None,
            dedup_key=f"k-{i:04d}",
            status=OutboxStatus.QUEUED,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        for i in range(count)
    ]
    with storage.unit_of_work() as uow:
        uow.outbox.add(entries)
        uow.commit()
    return [e.entry_id for e in entries]


def stored(storage: Any) -> list[OutboxEntry]:
    entries: list[OutboxEntry] = []
    with storage.reader() as uow:
        query = OutboxQuery(limit=1000)
        while True:
            page = uow.outbox.find(query)
            entries.extend(page.items)
            if page.next_cursor is None:
                return entries
            query = OutboxQuery(limit=1000, cursor=page.next_cursor)


def test_dispatcher_processes_deliver_every_entry_exactly_once(
    spec: StorageSpec, storage: Any, tmp_path: Path
) -> None:
    ids = queue(storage, ENTRIES)
    out = tmp_path / "delivered.txt"
    ctx = spawn_context()
    barrier = ctx.Barrier(PROCESSES)
    started = time.monotonic()
    with ProcessGroup(ctx, timeout=60) as group:
        handles = [group.spawn(drain, spec, str(out), BATCH, barrier) for _ in range(PROCESSES)]
        reports = [DispatchReport(*r) for r in group.wait(handles)]
    elapsed = time.monotonic() - started
    lines = [line.split() for line in out.read_text().splitlines()]
    total = sum(reports, DispatchReport())
    print(f"\n[outbox {spec.backend}] {ENTRIES} entries x {PROCESSES} processes: {elapsed:.1f}s")
    print(f"[outbox {spec.backend}] {total}")

    # Every entry reached the channel exactly once, with its own dedup key.
    assert dict.fromkeys(ids, 1) == dict(Counter(message_id for message_id, _, _ in lines))
    assert [] == [m for m, key, _ in lines if key != f"k-{m[2:]}"]
    # Storage agrees: every entry sent, one NotificationSent each, no outcome lost.
    assert [OutboxStatus.SENT] * ENTRIES == [e.status for e in stored(storage)]
    with storage.reader() as uow:
        events = uow.events.read(limit=10_000)
    assert ENTRIES == sum(isinstance(e.payload, NotificationSent) for e in events)
    assert (ENTRIES, 0, 0) == (total.sent, total.lost, total.dead)
    # Each turned-down first attempt was retried; the work was really shared.
    assert total.retried >= sum(map(flaky, ids))
    assert len({pid for _, _, pid in lines}) >= 2, "one process delivered everything"
