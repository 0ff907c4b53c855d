"""Placing orders through orderkit against a hand-written raw SQL floor, in the same run.

    python benchmarks/place_orders.py                                   # SQLite
    python benchmarks/place_orders.py --postgres postgresql://postgres@127.0.0.1/test
    python benchmarks/place_orders.py --sqlite --postgres DSN           # both
    python benchmarks/place_orders.py --orders 500 --rounds 1 --profile  # where time goes

Both sides place the same realistic orders (2 to 5 lines from a 40-SKU catalog, a customer,
an address, sometimes a discount, a shipping fee and tags) into the same tables, created by
the orderkit adapter, with the same durability settings.

orderkit: ``OrderService.place`` on ``SQLiteStorage`` (a file, WAL, ``synchronous=NORMAL``,
as shipped) or ``PostgresStorage``.

The floor: what a careful hand-written shop would do and nothing more. One transaction per
order (``BEGIN IMMEDIATE`` on SQLite, READ COMMITTED on PostgreSQL); per SKU in sorted order
a conditional ``UPDATE ... SET reserved = reserved + n WHERE ... AND on_hand - reserved >= n``
and a reservation row; one order row holding a JSON document of comparable size, built by
hand from the draft; its tag rows; one event row. No validation, no idempotency, no gapless
order number, no serialization library.

Prints orders per second for both and the ratio (orderkit / floor; 1.0 means as fast as the
floor), the best of ``--rounds`` runs of each side, alternating which goes first; each side
places a few warm-up orders before its clock starts. For SQLite it also prints CPU time per
order: the database runs inside the process, so that is the whole cost, and it is steadier
than wall time on a busy machine. Each run is on a fresh database: a temporary SQLite file,
or a new PostgreSQL schema, dropped afterwards. PostgreSQL runs with 1, 4 and 16 concurrent
processes (``--processes``), each with its own connection, started together behind a
barrier; the orders are split between them, and the clock runs from the barrier to the last
process done. Exits 1 if any placement fails or a database's reservations disagree with its
stock levels.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pstats
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from orderkit import (
    Address,
    Adjustment,
    Customer,
    LineDraft,
    Money,
    OrderDraft,
    OrderService,
)

SKUS = tuple(f"TEA-{i:03d}" for i in range(40))
PG_TIMEOUT = 1800.0  # seconds one PostgreSQL run may take
ON_HAND = 1_000_000  # enough that every placement succeeds: we measure the happy path
# Orders each side places before its clock starts, so one-time costs (cattrs building its
# functions, SQLite preparing statements, the first connection) are not counted.
WARMUP = 20
CHANNELS = ("web", "app", "marketplace", "pos", "social")
CITIES = (
    ("Hangzhou", "CN", "310000"),
    ("Berlin", "DE", "10115"),
    ("Osaka", "JP", "530-0001"),
    ("Portland", "US", "97201"),
)

# The floor's statements; the tables are orderkit's own (created by the adapter), so both
# sides write the same rows into the same indexes.
RESERVE = (
    "UPDATE orderkit_stock SET reserved = reserved + ? "
    "WHERE sku = ? AND location = ? AND on_hand - reserved >= ?"
)
INSERT_RESERVATION = (
    "INSERT INTO orderkit_reservations (order_id, sku, location, quantity) VALUES (?, ?, ?, ?)"
)
INSERT_ORDER = (
    "INSERT INTO orderkit_orders (id, number, customer_id, status, channel, group_key, "
    "created_at, updated_at, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TAG = "INSERT INTO orderkit_order_tags (order_id, tag, created_at) VALUES (?, ?, ?)"
INSERT_EVENT = (
    "INSERT INTO orderkit_events (stream, type, at, actor, reason, data) VALUES (?, ?, ?, ?, ?, ?)"
)


# --- the orders ----------------------------------------------------------------------------


def make_drafts(count: int, seed: int) -> list[OrderDraft]:
    """``count`` varied, valid drafts, the same for the same seed."""
    rng = random.Random(seed)
    drafts = []
    for i in range(count):
        city, country, postal = rng.choice(CITIES)
        customer = Customer(f"cust-{rng.randrange(5000):05d}", f"Customer {i}", f"c{i}@example.com")
        address = Address(
            customer.name,
            f"{rng.randrange(1, 400)} Tea Garden Rd",
            city,
            country,
            postal_code=postal,
            phone="+86 571 0000 0000",
        )
        lines = [
            LineDraft(
                sku,
                f"Tea no. {sku[-3:]}, 100 g tin",
                rng.randint(1, 3),
                Money(Decimal(rng.randrange(500, 9000)) / 100, "USD"),
                unit_cost=Money(Decimal(rng.randrange(100, 400)) / 100, "USD"),
                tax_rate=Decimal("0.08"),
                weight_grams=rng.randrange(100, 900),
                attributes={"grade": rng.choice(("first flush", "reserve", "daily"))},
            )
            for sku in rng.sample(SKUS, rng.randint(2, 5))
        ]
        adjustments = [Adjustment("shipping", "Standard shipping", Money("6.00", "USD"))]
        if rng.random() < 0.3:
            adjustments.append(Adjustment("coupon", "10% off", percent=Decimal(10), code="TEA10"))
        drafts.append(
            OrderDraft(
                customer=customer,
                shipping_address=address,
                lines=lines,
                channel=rng.choice(CHANNELS),
                adjustments=adjustments,
                tags=rng.sample(("gift", "first-order", "vip", "wholesale"), rng.randint(0, 2)),
                group=country,
            )
        )
    return drafts


def _money(m: Money | None) -> dict[str, str] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def floor_document(order_id: str, number: str, draft: OrderDraft, at: str) -> dict[str, Any]:
    """The floor's order document: what a hand-written shop would store, built by hand."""
    a = draft.shipping_address
    subtotal = sum((line.unit_price.amount * line.quantity for line in draft.lines), Decimal(0))
    return {
        "id": order_id,
        "number": number,
        "status": "pending_payment",
        "created_at": at,
        "channel": draft.channel,
        "group": draft.group,
        "tags": list(draft.tags),
        "customer": {
            "id": draft.customer.id,
            "name": draft.customer.name,
            "email": draft.customer.email,
        },
        "shipping_address": {
            "name": a.name,
            "line1": a.line1,
            "city": a.city,
            "country": a.country,
            "postal_code": a.postal_code,
            "phone": a.phone,
        },
        "lines": [
            {
                "line_id": f"L{i + 1}",
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "unit_cost": _money(line.unit_cost),
                "tax_rate": str(line.tax_rate),
                "weight_grams": line.weight_grams,
                "location": line.location,
                "attributes": dict(line.attributes),
            }
            for i, line in enumerate(draft.lines)
        ],
        "adjustments": [
            {
                "kind": adj.kind,
                "label": adj.label,
                "amount": _money(adj.amount),
                "percent": None if adj.percent is None else str(adj.percent),
                "code": adj.code,
            }
            for adj in draft.adjustments
        ],
        "subtotal": str(subtotal),
        "version": 1,
    }


def _reservations(draft: OrderDraft) -> list[tuple[str, str, int]]:
    wanted: dict[tuple[str, str], int] = {}
    for line in draft.lines:
        key = (line.sku, line.location)
        wanted[key] = wanted.get(key, 0) + line.quantity
    # Sorted, as the adapter does: two carts never take the same rows in opposite orders.
    return [(sku, loc, qty) for (sku, loc), qty in sorted(wanted.items())]


def _utc_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the SQLite adapter's time format


class OutOfStockInFloor(Exception):
    """The floor's conditional update matched no row (never expected: stock is plenty)."""


def place_raw(conn: Any, placeholder: str, draft: OrderDraft, order_id: str, number: str) -> None:
    """Place one order the floor's way, in the transaction open on ``conn``."""
    now = datetime.now(timezone.utc)
    sqlite = placeholder == "?"
    at: Any = _utc_text(now) if sqlite else now

    def sql(statement: str) -> str:
        return statement if sqlite else statement.replace("?", "%s")

    for sku, location, quantity in _reservations(draft):
        cur = conn.execute(sql(RESERVE), (quantity, sku, location, quantity))
        if cur.rowcount != 1:
            raise OutOfStockInFloor(sku)
        conn.execute(sql(INSERT_RESERVATION), (order_id, sku, location, quantity))
    document = json.dumps(floor_document(order_id, number, draft, now.isoformat()))
    conn.execute(
        sql(INSERT_ORDER),
        (
            order_id,
            number,
            draft.customer.id,
            "pending_payment",
            draft.channel,
            draft.group,
            at,
            at,
            1,
            document,
        ),
    )
    for tag in draft.tags:
        conn.execute(sql(INSERT_TAG), (order_id, tag, at))
    event = json.dumps({"number": number, "lines": len(draft.lines)})
    conn.execute(sql(INSERT_EVENT), (f"order:{order_id}", "OrderPlaced", at, "bench", "", event))


# --- SQLite --------------------------------------------------------------------------------


@dataclass
class Result:
    orders: int
    seconds: float
    document_bytes: float  # mean size of the stored order document
    # CPU seconds of the placing process. With SQLite the database runs inside it, so this
    # is the whole cost, and unlike wall time it barely moves when the machine is busy.
    cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.orders / self.seconds


def stock_up(service: OrderService) -> None:
    for sku in SKUS:
        service.receive_stock(sku, ON_HAND, actor="bench")


def mean_document_size(conn: Any) -> float:
    row = conn.execute("SELECT AVG(LENGTH(data)) FROM orderkit_orders").fetchone()
    return float(row[0] or 0)


def sqlite_orderkit(path: Path, drafts: Sequence[OrderDraft], keys: bool, profile: bool) -> Result:
    from orderkit.adapters.sqlite import SQLiteStorage

    storage = SQLiteStorage(path)
    try:
        service = OrderService(storage)
        stock_up(service)
        for i, draft in enumerate(drafts):
            if i == WARMUP:
                profiler = cProfile.Profile() if profile else None
                started, cpu = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
            service.place(draft, actor="bench", idempotency_key=f"c-{i}" if keys else None)
        if profiler is not None:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            print("\n  where orderkit's time goes (cProfile, cumulative, top 25):")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        with storage.reader() as uow:
            size = mean_document_size(uow)
        return Result(len(drafts) - WARMUP, seconds, size, cpu)
    finally:
        storage.close()


def sqlite_floor(path: Path, drafts: Sequence[OrderDraft]) -> Result:
    from orderkit.adapters.sqlite import SQLiteStorage

    storage = SQLiteStorage(path)  # the same schema, indexes and constraints
    try:
        stock_up(OrderService(storage))
    finally:
        storage.close()
    # The adapter's connection settings, exactly.
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        for i, draft in enumerate(drafts):
            if i == WARMUP:
                started, cpu = time.perf_counter(), time.process_time()
            conn.execute("BEGIN IMMEDIATE")
            try:
                place_raw(conn, "?", draft, f"raw-{i:08d}", f"RAW-{i:08d}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return Result(len(drafts) - WARMUP, seconds, mean_document_size(conn), cpu)
    finally:
        conn.close()


@contextmanager
def temporary_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="orderkit-bench-") as folder:
        yield Path(folder)


def check_sqlite_counts(path: Path, expected: int) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        orders = conn.execute("SELECT COUNT(*) FROM orderkit_orders").fetchone()[0]
        reserved = conn.execute("SELECT SUM(reserved) FROM orderkit_stock").fetchone()[0]
        held = conn.execute("SELECT SUM(quantity) FROM orderkit_reservations").fetchone()[0]
    finally:
        conn.close()
    problems = []
    if orders != expected:
        problems.append(f"{path.name}: {orders} orders stored, expected {expected}")
    if reserved != held:
        problems.append(f"{path.name}: {reserved} units reserved but {held} in reservations")
    return problems


def run_sqlite(args: argparse.Namespace) -> list[str]:
    drafts = make_drafts(WARMUP + args.orders, args.seed)
    keys = args.idempotency_keys
    print(f"SQLite (file, WAL, synchronous=NORMAL): {args.orders} orders, best of {args.rounds}")
    runs: dict[str, list[Result]] = {"floor": [], "orderkit": []}
    problems: list[str] = []
    with temporary_folder() as folder:
        for round_no in range(args.rounds):
            profile = args.profile and round_no == 0
            sides: list[tuple[str, Callable[[Path], Result]]] = [
                ("floor", lambda p: sqlite_floor(p, drafts)),
                ("orderkit", lambda p, prof=profile: sqlite_orderkit(p, drafts, keys, prof)),
            ]
            if round_no % 2:  # alternate who goes first, so neither always gets a warm cache
                sides.reverse()
            for name, side in sides:
                path = folder / f"{name}-{round_no}.sqlite3"
                result = side(path)
                problems += check_sqlite_counts(path, len(drafts))
                print(
                    f"  round {round_no + 1} {name:>8}: {result.rate:8.0f} orders/s, "
                    f"{cpu_per_order(result):5.0f} us CPU per order"
                )
                runs[name].append(result)
    report("SQLite", runs["orderkit"], runs["floor"])
    return problems


def cpu_per_order(result: Result) -> float:
    return (result.cpu_seconds or 0.0) / result.orders * 1e6


def report(label: str, orderkit: list[Result], floor: list[Result]) -> None:
    """The best wall-clock rate of each side, their ratio, and (SQLite) the least CPU."""
    mine = max(orderkit, key=lambda r: r.rate)
    base = max(floor, key=lambda r: r.rate)
    ratio = mine.rate / base.rate
    print(
        f"  {label}: orderkit {mine.rate:.0f} orders/s, floor {base.rate:.0f} orders/s, "
        f"ratio {ratio:.2f} (floor is {1 / ratio:.2f}x faster); order document "
        f"{mine.document_bytes / 1000:.1f} kB vs {base.document_bytes / 1000:.1f} kB"
    )
    if all(r.cpu_seconds for r in (*orderkit, *floor)):
        mine_cpu = min(cpu_per_order(r) for r in orderkit)
        base_cpu = min(cpu_per_order(r) for r in floor)
        print(
            f"  {label} CPU per order: orderkit {mine_cpu:.0f} us, floor {base_cpu:.0f} us, "
            f"ratio {base_cpu / mine_cpu:.2f} (floor is {mine_cpu / base_cpu:.2f}x cheaper)"
        )


# --- PostgreSQL ----------------------------------------------------------------------------


def pg_worker(
    side: str,
    dsn: str,
    schema: str,
    count: int,
    seed: int,
    worker: int,
    keys: bool,
    barrier: Any,
) -> tuple[float, float, int]:
    """One process's share: ``count`` orders; returns (start, end, failures)."""
    drafts = make_drafts(WARMUP + count, seed)
    failures = 0
    if side == "orderkit":
        from orderkit.adapters.postgres import PostgresStorage

        storage = PostgresStorage(dsn, schema=schema)
        try:
            service = OrderService(storage)
            for i, draft in enumerate(drafts):
                if i == WARMUP:
                    barrier.wait()
                    start = time.monotonic()
                try:
                    key = f"w{worker}-{i}" if keys else None
                    service.place(draft, actor="bench", idempotency_key=key)
                except Exception:
                    failures += 1
            end = time.monotonic()
        finally:
            storage.close()
        return start, end, failures
    import psycopg

    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
        conn.commit()
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        for i, draft in enumerate(drafts):
            if i == WARMUP:
                barrier.wait()
                start = time.monotonic()
            order_id = f"raw-{worker:02d}-{i:08d}"
            try:
                place_raw(conn, "%s", draft, order_id, order_id.upper())
                conn.commit()
            except Exception:
                conn.rollback()
                failures += 1
        end = time.monotonic()
    return start, end, failures


def _pg_child(queue: Any, *args: Any) -> None:
    try:
        queue.put(pg_worker(*args))
    except BaseException as exc:  # the parent reports it; a child never hangs the run
        queue.put(exc)
        raise


@contextmanager
def fresh_schema(dsn: str, label: str) -> Iterator[str]:
    """A new PostgreSQL schema holding orderkit's tables, stocked; dropped afterwards."""
    import psycopg
    from psycopg import sql

    from orderkit.adapters.postgres import PostgresStorage

    schema = f"ok_bench_{label}_{secrets.token_hex(4)}"
    try:
        storage = PostgresStorage(dsn, schema=schema)
        try:
            stock_up(OrderService(storage))
        finally:
            storage.close()
        yield schema
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def pg_counts(dsn: str, schema: str) -> tuple[int, int, int, float]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
        orders, size = conn.execute(
            "SELECT COUNT(*), COALESCE(AVG(LENGTH(data)), 0) FROM orderkit_orders"
        ).fetchone()
        reserved = conn.execute("SELECT SUM(reserved) FROM orderkit_stock").fetchone()[0]
        held = conn.execute("SELECT SUM(quantity) FROM orderkit_reservations").fetchone()[0]
    return int(orders), int(reserved or 0), int(held or 0), float(size)


def run_pg_side(
    dsn: str, side: str, processes: int, orders: int, seed: int, keys: bool
) -> tuple[Result, list[str]]:
    """One side at one process count on a fresh schema; the clock runs from the barrier."""
    per_process = orders // processes
    ctx = multiprocessing.get_context("spawn")
    with fresh_schema(dsn, f"{side[:3]}{processes}") as schema:
        barrier = ctx.Barrier(processes)
        results = ctx.Queue()
        children = [
            ctx.Process(
                target=_pg_child,
                args=(results, side, dsn, schema, per_process, seed + w, w, keys, barrier),
            )
            for w in range(processes)
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=PG_TIMEOUT) for _ in children]
        for child in children:
            child.join()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        stored, reserved, held, size = pg_counts(dsn, schema)
    seconds = max(end for _, end, _ in outcomes) - min(start for start, _, _ in outcomes)
    failures = sum(f for _, _, f in outcomes)
    expected = (WARMUP + per_process) * processes
    problems = []
    if failures or stored != expected:
        problems.append(f"{side} x{processes}: {stored} of {expected} stored, {failures} failed")
    if reserved != held:
        problems.append(f"{side} x{processes}: {reserved} reserved but {held} in reservations")
    return Result(per_process * processes, seconds, size), problems


def run_postgres(args: argparse.Namespace) -> list[str]:
    problems: list[str] = []
    print(
        f"PostgreSQL (READ COMMITTED): {args.orders} orders split over the processes, "
        f"best of {args.rounds}"
    )
    for processes in args.processes:
        runs: dict[str, list[Result]] = {"floor": [], "orderkit": []}
        for round_no in range(args.rounds):
            sides = ["floor", "orderkit"] if round_no % 2 == 0 else ["orderkit", "floor"]
            for side in sides:
                result, found = run_pg_side(
                    args.postgres, side, processes, args.orders, args.seed, args.idempotency_keys
                )
                problems += found
                runs[side].append(result)
        label = f"{processes:>2} process{'es' if processes > 1 else '  '}"
        report(label, runs["orderkit"], runs["floor"])
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sqlite", action="store_true", help="run SQLite (the default when no --postgres)"
    )
    parser.add_argument("--postgres", metavar="DSN", help="also run PostgreSQL against DSN")
    parser.add_argument(
        "--orders", type=int, default=2000, help="orders per run (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of each side; the best counts (default: %(default)s)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="PostgreSQL process counts (default: 1 4 16)",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--idempotency-keys",
        action="store_true",
        help="orderkit places each order with an idempotency key (the floor has none)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile orderkit's first SQLite round"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.rounds < 1 or min(args.processes) < 1:
        parser.error("--orders, --rounds and --processes must be at least 1")

    problems: list[str] = []
    if args.sqlite or not args.postgres:
        problems += run_sqlite(args)
    if args.postgres:
        problems += run_postgres(args)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
