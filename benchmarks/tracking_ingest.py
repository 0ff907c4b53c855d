"""Tracking ingest throughput, against a baseline command of the same shape in the same run.

    python benchmarks/tracking_ingest.py --backend sqlite --orders 200 --events 5
    python benchmarks/tracking_ingest.py --backend postgres --dsn "host=127.0.0.1 user=postgres"

Ships ``--orders`` orders in two parcels each, then pushes ``--events`` tracking updates per
parcel (shuffled, with every fifth one sent twice) through ``OrderService.ingest_tracking``.
The baseline is ``OrderService.add_note`` on the same orders, the same number of times: one
load-change-save-append unit of work without the lookup by tracking number. Prints both
rates and their ratio; exits 1 unless every order ends delivered.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from orderkit import Address, Customer, LineDraft, Money, OrderDraft, OrderService
from orderkit.domain.shipping import TrackingEvent
from orderkit.ports import Storage

START = datetime(2026, 6, 1, tzinfo=timezone.utc)
STEPS = ("label_created", "in_transit", "out_for_delivery", "in_transit", "delivered")


@contextmanager
def storage_for(backend: str, dsn: str) -> Iterator[Storage]:
    if backend == "sqlite":
        from orderkit.adapters.sqlite import SQLiteStorage

        with tempfile.TemporaryDirectory() as folder:
            storage = SQLiteStorage(Path(folder) / "bench.sqlite3")
            try:
                yield storage
            finally:
                storage.close()
        return
    import psycopg
    from psycopg import sql

    from orderkit.adapters.postgres import PostgresStorage

    schema = f"ok_bench_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    storage = PostgresStorage(dsn, schema=schema)
    try:
        yield storage
    finally:
        storage.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def shipped_orders(service: OrderService, count: int) -> list[str]:
    service.receive_stock("TEA", 2 * count, actor="bench")
    service.receive_stock("CUP", count, actor="bench")
    ids = []
    for i in range(count):
        order = service.place(
            OrderDraft(
                customer=Customer(f"c-{i}", "Bench"),
                shipping_address=Address("Bench", "1 Road", "City", "CN"),
                lines=[
                    LineDraft("TEA", "Tea", 2, Money("30.00", "CNY")),
                    LineDraft("CUP", "Cup", 1, Money("20.00", "CNY")),
                ],
            )
        )
        service.pay(order.id, order.total, reference=f"p-{i}")
        service.ship(order.id, {"L1": 2}, carrier="sf", tracking_number=f"SF{i:08d}")
        service.ship(order.id, {"L2": 1}, carrier="yto", tracking_number=f"YT{i:08d}")
        ids.append(order.id)
    return ids


def updates(count: int, per_parcel: int, rng: random.Random) -> list[TrackingEvent]:
    events = []
    for i in range(count):
        for carrier, prefix in (("sf", "SF"), ("yto", "YT")):
            steps = STEPS[-per_parcel:]
            for n, status in enumerate(steps):
                at = START + timedelta(hours=n)
                events.append(
                    TrackingEvent(f"{prefix}{i}-{n}", carrier, f"{prefix}{i:08d}", status, at)
                )
    rng.shuffle(events)
    return events + events[::5]  # retried pushes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dsn", default=os.environ.get("ORDERKIT_TEST_POSTGRES_DSN", ""))
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--events", type=int, default=5, choices=range(1, len(STEPS) + 1))
    args = parser.parse_args()
    with storage_for(args.backend, args.dsn) as storage:
        service = OrderService(storage)
        ids = shipped_orders(service, args.orders)
        events = updates(args.orders, args.events, random.Random(7))

        began = time.perf_counter()
        for i in range(len(events)):
            service.add_note(ids[i % len(ids)], "baseline", actor="bench")
        baseline = len(events) / (time.perf_counter() - began)

        began = time.perf_counter()
        for event in events:
            service.ingest_tracking(event)
        ingest = len(events) / (time.perf_counter() - began)

        delivered = sum(service.get(order_id).status == "delivered" for order_id in ids)
    print(f"{args.backend}: {args.orders} orders, {len(events)} tracking pushes")
    print(f"  baseline add_note      {baseline:8.0f} commands/s")
    print(f"  ingest_tracking        {ingest:8.0f} events/s   ratio {ingest / baseline:.2f}")
    print(f"  delivered              {delivered}/{len(ids)}")
    return 0 if delivered == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main())
