"""The PostgreSQL adapter: schema and migrations, error translation, connections, locking.

The storage contract itself (what every adapter must do) is tested in
``tests/test_storage_contract.py``; this file covers what is PostgreSQL's own.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import make_conninfo

import shop
from orderkit.adapters.postgres import MIGRATIONS, PostgresDialect, PostgresStorage, _redact
from orderkit.adapters.sql import SqlUnitOfWork
from orderkit.domain.events import NewEvent, StockReceived
from orderkit.domain.money import Money
from orderkit.domain.order import Address, Customer, LineDraft, OrderDraft
from orderkit.errors import (
    ConcurrencyConflict,
    OrderkitError,
    OutOfStock,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
    ValidationError,
)
from orderkit.ports import IdempotencyRecord
from orderkit.service import OrderService
from orderkit.testing.storage import receive, rich_order

pytestmark = pytest.mark.postgres

AT = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def storage(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStorage]:
    s = PostgresStorage(postgres_dsn, schema=postgres_schema)
    try:
        yield s
    finally:
        s.close()


def admin(dsn: str) -> psycopg.Connection[Any]:
    """A raw autocommit connection, for looking at and poking the database from outside."""
    return psycopg.connect(dsn, autocommit=True)


def draft(sku: str = "MUG", quantity: int = 1) -> OrderDraft:
    return OrderDraft(
        customer=Customer("c-1", "Lin Wei"),
        shipping_address=Address("Lin Wei", "1 Road", "Hangzhou", "CN"),
        lines=[LineDraft(sku, sku.title(), quantity, Money("12.50", "USD"))],
    )


def event(sku: str = "MUG", at: datetime = AT) -> NewEvent:
    return NewEvent(f"stock:{sku}", at, "tester", "", StockReceived(sku, "default", 1, 1))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def backend_pid(s: PostgresStorage) -> int:
    with s.reader() as uow:
        return int(uow.execute("SELECT pg_backend_pid()").fetchone()[0])


def backend_alive(dsn: str, pid: int) -> bool:
    with admin(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return bool(row.fetchone()[0])


def scratch_table(dsn: str, schema: str) -> str:
    """A two-row table in the test schema, for provoking driver errors on raw connections."""
    name = f"{schema}.scratch"
    with admin(dsn) as conn:
        conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 0), (2, 0)")
    return name


# -- schema and migrations -------------------------------------------------------------------


def test_a_missing_schema_is_created_with_the_current_version(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with admin(postgres_dsn) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(postgres_schema)))

    s = PostgresStorage(postgres_dsn, schema=postgres_schema)
    try:
        assert len(MIGRATIONS) == s.schema_version
    finally:
        s.close()
    with admin(postgres_dsn) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (postgres_schema,),
        ).fetchall()
    assert [
        ("orderkit_events",),
        ("orderkit_idempotency",),
        ("orderkit_order_tags",),
        ("orderkit_orders",),
        ("orderkit_outbox",),
        ("orderkit_reservations",),
        ("orderkit_schema",),
        ("orderkit_sequences",),
        ("orderkit_shipments",),
        ("orderkit_stock",),
    ] == tables


def test_a_second_storage_on_the_schema_keeps_its_version_and_sees_the_data(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", "default", 5)
        uow.commit()

    second = PostgresStorage(postgres_dsn, schema=storage.schema)
    try:
        assert len(MIGRATIONS) == second.schema_version
        with second.reader() as uow:
            levels = uow.stock.all(sku="MUG", location="default")
    finally:
        second.close()
    assert [5] == [level.on_hand for level in levels]


def test_storages_starting_together_migrate_the_schema_once(
    postgres_dsn: str, postgres_schema: str
) -> None:
    started: list[PostgresStorage] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            started.append(PostgresStorage(postgres_dsn, schema=postgres_schema))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert [] == failures
        assert [len(MIGRATIONS)] * 6 == [s.schema_version for s in started]
    finally:
        for s in started:
            s.close()
    with admin(postgres_dsn) as conn:
        rows = conn.execute(f"SELECT version FROM {postgres_schema}.orderkit_schema").fetchall()
    assert [(len(MIGRATIONS),)] == rows


def test_a_schema_written_by_a_newer_orderkit_is_refused(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    with admin(postgres_dsn) as conn:
        conn.execute(
            f"UPDATE {storage.schema}.orderkit_schema SET version = %s", (len(MIGRATIONS) + 1,)
        )

    with pytest.raises(SchemaVersionError, match="upgrade orderkit"):
        PostgresStorage(postgres_dsn, schema=storage.schema)


@pytest.mark.parametrize(
    "schema",
    ["", "Shop", "shop-1", "1shop", "shop; DROP TABLE x", 'sh"op', "pg_shop", "s" * 64, None],
)
def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(
    postgres_dsn: str, schema: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        PostgresStorage(postgres_dsn, schema=schema)
    assert "schema" == info.value.field


@pytest.mark.parametrize("pool_size", [0, -1, True, 2.5])
def test_a_pool_size_below_one_or_not_whole_is_refused(postgres_dsn: str, pool_size: Any) -> None:
    with pytest.raises(ValidationError) as info:
        PostgresStorage(postgres_dsn, pool_size=pool_size)
    assert "pool_size" == info.value.field


def test_a_malformed_dsn_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        PostgresStorage("this is not a dsn")
    assert "dsn" == info.value.field


def test_an_unreachable_server_at_construction_is_a_plain_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot connect") as info:
        PostgresStorage("host=127.0.0.1 port=1 dbname=nope connect_timeout=2")
    assert StorageError is type(info.value)  # not worth retrying: the settings are wrong


# -- error translation -----------------------------------------------------------------------


def test_a_serialization_failure_is_transient(postgres_dsn: str, postgres_schema: str) -> None:
    table = scratch_table(postgres_dsn, postgres_schema)
    with psycopg.connect(postgres_dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        uow = SqlUnitOfWork(
            conn, PostgresDialect(postgres_schema), writable=True, on_commit=conn.commit
        )
        uow.execute(f"SELECT v FROM {table} WHERE id = 1")  # takes the snapshot
        with admin(postgres_dsn) as other:
            other.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 1")

        with pytest.raises(TransientStorageError) as info:
            uow.execute(f"UPDATE {table} SET v = v + 1 WHERE id = ?", (1,), write=True)
    assert isinstance(info.value.__cause__, pg_errors.SerializationFailure)


def test_a_deadlock_is_transient(postgres_dsn: str, postgres_schema: str) -> None:
    table = scratch_table(postgres_dsn, postgres_schema)
    dialect = PostgresDialect(postgres_schema)
    errors: list[OrderkitError] = []
    with psycopg.connect(postgres_dsn) as a, psycopg.connect(postgres_dsn) as b:
        uows = {c: SqlUnitOfWork(c, dialect, writable=True, on_commit=c.commit) for c in (a, b)}
        for conn, row in ((a, 1), (b, 2)):
            uows[conn].execute("SET lock_timeout = '20s'")  # a safety net, not the test
            uows[conn].execute(f"UPDATE {table} SET v = 1 WHERE id = ?", (row,), write=True)

        def lock_other(conn: psycopg.Connection[Any], row: int) -> None:
            try:
                uows[conn].execute(f"UPDATE {table} SET v = 2 WHERE id = ?", (row,), write=True)
            except OrderkitError as exc:
                errors.append(exc)
                conn.rollback()  # the victim lets the survivor through

        first = threading.Thread(target=lock_other, args=(a, 2))
        first.start()
        time.sleep(0.2)
        lock_other(b, 1)
        first.join()

    assert 1 == len(errors)
    assert isinstance(errors[0], TransientStorageError)
    assert isinstance(errors[0].__cause__, pg_errors.DeadlockDetected)


def test_a_lock_timeout_is_transient(postgres_dsn: str, storage: PostgresStorage) -> None:
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", "default", 1)
        uow.commit()
    with psycopg.connect(postgres_dsn) as holder:
        holder.execute(
            f"SELECT * FROM {storage.schema}.orderkit_stock WHERE sku = 'MUG' FOR UPDATE"
        )
        with storage.unit_of_work() as uow:
            uow.execute("SET LOCAL lock_timeout = '100ms'")
            with pytest.raises(TransientStorageError) as info:
                receive(uow, "MUG", "default", 1)
    assert isinstance(info.value.__cause__, pg_errors.LockNotAvailable)


def test_adding_an_order_twice_is_a_concurrency_conflict(storage: PostgresStorage) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 1)
    order = service.place(draft())

    with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict) as info:
        uow.orders.save(order)
    assert isinstance(info.value.__cause__, pg_errors.UniqueViolation)


def test_a_write_breaking_the_stock_check_names_the_constraint(storage: PostgresStorage) -> None:
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", "default", 1)
        with pytest.raises(StorageError, match="orderkit_stock_reserved_within_on_hand") as info:
            uow.execute("UPDATE orderkit_stock SET reserved = on_hand + 1", write=True)
    assert isinstance(info.value.__cause__, pg_errors.CheckViolation)


def test_other_driver_errors_become_storage_errors(storage: PostgresStorage) -> None:
    with storage.reader() as uow, pytest.raises(StorageError) as info:
        uow.execute("SELECT * FROM no_such_table")
    assert StorageError is type(info.value)
    assert isinstance(info.value.__cause__, pg_errors.UndefinedTable)


def test_exceptions_that_are_not_the_drivers_are_left_alone(postgres_schema: str) -> None:
    assert PostgresDialect(postgres_schema).translate(ValueError("x")) is None


def test_committing_after_a_failed_statement_raises_instead_of_dropping_the_writes(
    storage: PostgresStorage,
) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 1)
    order = service.place(draft())

    with storage.unit_of_work() as uow:
        receive(uow, "CAP", "default", 3)
        with pytest.raises(ConcurrencyConflict):
            uow.orders.save(order)
        with pytest.raises(StorageError, match="nothing was committed"):
            uow.commit()
    with storage.reader() as uow:
        assert [] == uow.stock.all(sku="CAP", location="default")


def test_a_lost_connection_is_transient_and_the_next_unit_of_work_reconnects(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    with admin(postgres_dsn) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 5000)", (backend_pid(storage),))

    with pytest.raises(TransientStorageError) as info, storage.unit_of_work() as uow:
        uow.stock.all(sku="MUG", location="default")
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    with storage.reader() as uow:
        assert [] == uow.stock.all(sku="MUG", location="default")


def test_the_service_retries_a_command_whose_connection_was_lost(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    service = OrderService(storage)
    with admin(postgres_dsn) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 5000)", (backend_pid(storage),))

    level = service.receive_stock("MUG", 4)

    assert 4 == level.on_hand


# -- units of work ---------------------------------------------------------------------------


def test_a_reader_refuses_writes(storage: PostgresStorage) -> None:
    with storage.reader() as uow, pytest.raises(StorageError, match="read-only"):
        receive(uow, "MUG", "default", 1)


def test_a_reader_is_read_only_in_the_database_too(storage: PostgresStorage) -> None:
    with storage.reader() as uow, pytest.raises(StorageError) as info:
        uow.execute("INSERT INTO orderkit_sequences (name, value) VALUES ('x', 1)")
    assert isinstance(info.value.__cause__, pg_errors.ReadOnlySqlTransaction)


def test_a_reader_sees_one_snapshot_while_writers_commit(storage: PostgresStorage) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 1)

    with storage.reader() as uow:
        before = uow.stock.all(sku="MUG", location="default")
        writer = threading.Thread(target=service.receive_stock, args=("MUG", 5))
        writer.start()
        writer.join()  # a reader never blocks a writer
        during = uow.stock.all(sku="MUG", location="default")

    assert before == during
    assert 6 == service.stock("MUG").on_hand


def test_leaving_a_unit_of_work_without_commit_rolls_it_back(storage: PostgresStorage) -> None:
    with storage.unit_of_work() as uow:
        receive(uow, "MUG", "default", 2)

    with storage.reader() as uow:
        assert [] == uow.stock.all(sku="MUG", location="default")


@pytest.mark.parametrize("inner", ["unit_of_work", "reader"])
def test_a_nested_unit_of_work_in_one_thread_is_refused(
    storage: PostgresStorage, inner: str
) -> None:
    with storage.unit_of_work(), pytest.raises(StorageError, match="nest none"):
        getattr(storage, inner)().__enter__()
    with storage.reader() as uow:  # the refusal left the thread usable
        assert [] == uow.stock.all()


def test_a_closed_storage_refuses_units_of_work(storage: PostgresStorage) -> None:
    storage.close()
    storage.close()

    with pytest.raises(StorageError, match="closed"), storage.reader():
        pass


# -- events, times, idempotency --------------------------------------------------------------


def test_event_positions_increase_and_read_after_returns_only_later_ones(
    storage: PostgresStorage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.events.append([event("A"), event("B")])
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.events.append([event("C")])
        uow.commit()

    with storage.reader() as uow:
        every = uow.events.read()
        after_first = uow.events.read(after=every[0].position)
        limited = uow.events.read(after=0, limit=2)
    positions = [e.position for e in every]
    assert ["stock:A", "stock:B", "stock:C"] == [e.stream for e in every]
    assert sorted(set(positions)) == positions
    assert every[1:] == after_first
    assert every[:2] == limited


def test_an_event_append_waits_for_an_earlier_appender_to_commit(
    storage: PostgresStorage,
) -> None:
    # Otherwise a later, smaller position could appear behind a reader's read(after=...).
    done = threading.Event()

    def append_second() -> None:
        with storage.unit_of_work() as uow:
            uow.events.append([event("SECOND")])
            uow.commit()
        done.set()

    with storage.unit_of_work() as uow:
        uow.events.append([event("FIRST")])
        second = threading.Thread(target=append_second)
        second.start()
        assert not done.wait(0.3)
        uow.commit()
    second.join()

    with storage.reader() as uow:
        assert ["stock:FIRST", "stock:SECOND"] == [e.stream for e in uow.events.read()]


def test_times_come_back_as_the_same_instant_in_utc(storage: PostgresStorage) -> None:
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    with storage.unit_of_work() as uow:
        uow.events.append([event(at=shanghai)])
        uow.commit()

    with storage.reader() as uow:
        (recorded,) = uow.events.read()
    assert AT == recorded.at
    assert timezone.utc == recorded.at.tzinfo


def test_a_second_claim_of_an_idempotency_key_waits_for_the_first_and_sees_it(
    storage: PostgresStorage,
) -> None:
    first = IdempotencyRecord("key-1", "place", "hash-a", "order-1", AT)
    seen: list[IdempotencyRecord | None] = []

    def claim_again() -> None:
        with storage.unit_of_work() as uow:
            seen.append(uow.idempotency.claim(attrs.evolve(first, result_id="order-2")))
            uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.idempotency.claim(first) is None
        other = threading.Thread(target=claim_again)
        other.start()
        time.sleep(0.3)
        assert [] == seen
        uow.commit()
    other.join()

    assert [first] == seen


# -- concurrency and connections -------------------------------------------------------------


def place_concurrently(service: OrderService, threads: int, orders_each: int) -> list[str]:
    """Place one-MUG orders from many threads; return each outcome's class name."""
    outcomes: list[str] = []
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(orders_each):
            try:
                service.place(draft("MUG", 1))
                outcomes.append("placed")
            except OutOfStock:
                outcomes.append("OutOfStock")
            except BaseException as exc:
                outcomes.append(repr(exc))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(outcomes)


def test_concurrent_orders_never_oversell(storage: PostgresStorage) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 10)

    outcomes = place_concurrently(service, threads=8, orders_each=2)

    assert ["OutOfStock"] * 6 + ["placed"] * 10 == outcomes
    level = service.stock("MUG")
    assert (10, 10) == (level.on_hand, level.reserved)
    assert [] == service.check_integrity()


def test_a_pooled_storage_serves_many_threads_with_at_most_pool_size_connections(
    postgres_dsn: str, postgres_schema: str
) -> None:
    app = f"ok_pool_{postgres_schema}"

    def connections() -> int:
        with admin(postgres_dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()
        return int(row[0])

    pooled = PostgresStorage(
        make_conninfo(postgres_dsn, application_name=app), schema=postgres_schema, pool_size=4
    )
    try:
        assert wait_until(lambda: connections() == 0)  # the pool opens on first use only
        service = OrderService(pooled)
        service.receive_stock("MUG", 20)

        outcomes = place_concurrently(service, threads=8, orders_each=3)

        assert ["OutOfStock"] * 4 + ["placed"] * 20 == outcomes
        assert 1 <= connections() <= 4
        assert [] == service.check_integrity()
    finally:
        pooled.close()
    assert wait_until(lambda: connections() == 0)


def test_a_threads_connection_is_closed_when_the_thread_ends(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    pids: list[int] = []
    worker = threading.Thread(target=lambda: pids.append(backend_pid(storage)))
    worker.start()
    worker.join()
    gc.collect()

    assert wait_until(lambda: not backend_alive(postgres_dsn, pids[0]))
    assert backend_pid(storage) != pids[0]  # this thread has a connection of its own


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(
    storage: PostgresStorage,
) -> None:
    service = OrderService(storage)
    parent_backend = backend_pid(storage)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            service.receive_stock("FORKED", 3)
            code = 0 if backend_pid(storage) != parent_backend else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)

    assert 0 == os.waitstatus_to_exitcode(status)
    assert parent_backend == backend_pid(storage)
    assert 3 == service.stock("FORKED").on_hand


# -- the whole service -----------------------------------------------------------------------


def test_an_order_goes_from_placed_to_completed(storage: PostgresStorage) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 5)

    order = service.place(draft("MUG", 2), idempotency_key="cart-1")
    assert order == service.place(draft("MUG", 2), idempotency_key="cart-1")
    service.pay(order.id, order.total, reference="psp-1")
    service.ship(order.id, tracking_number="T1")
    service.deliver(order.id)
    done = service.complete(order.id)

    assert "completed" == done.status
    assert done == service.get_by_number(order.number)
    assert 3 == service.stock("MUG").on_hand
    assert 0 == service.stock("MUG").reserved
    history = service.history(order.id)
    assert "OrderPlaced" == history[0].type
    assert [e.position for e in history] == sorted(e.position for e in history)
    assert [] == service.check_integrity()


def test_cancelling_an_order_releases_its_stock(storage: PostgresStorage) -> None:
    service = OrderService(storage)
    service.receive_stock("MUG", 5)
    order = service.place(draft("MUG", 2))
    assert 2 == service.stock("MUG").reserved

    service.cancel(order.id, actor="support", reason="changed mind")

    assert 0 == service.stock("MUG").reserved
    assert 5 == service.stock("MUG").available
    with storage.reader() as uow:
        assert [] == uow.stock.reservations(order.id)


# -- repr and the import guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://shop:hunter2@db.example:5432/shop",
        "host=db.example user=shop password=hunter2 dbname=shop",
    ],
)
def test_a_dsn_is_shown_without_its_password(dsn: str) -> None:
    shown = _redact(dsn)

    assert "hunter2" not in shown
    assert "password=***" in shown
    assert "host=db.example" in shown


def test_repr_shows_the_redacted_dsn_and_the_options(storage: PostgresStorage) -> None:
    text = repr(storage)

    assert text.startswith("PostgresStorage('")
    assert f"schema={storage.schema!r}, pool_size=None)" in text


_BLOCK_PSYCOPG = """
import sys

class BlockPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_pool", "psycopg_binary", "psycopg_c"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockPsycopg())
"""


def run_without_psycopg(code: str) -> subprocess.CompletedProcess[str]:
    script = _BLOCK_PSYCOPG + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )


def test_importing_the_adapter_without_psycopg_says_what_to_install() -> None:
    result = run_without_psycopg(
        """
        try:
            import orderkit.adapters.postgres
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
        """
    )

    assert 0 == result.returncode, result.stderr
    assert "pip install 'orderkit[postgres]'" in result.stdout


def test_orderkit_imports_without_psycopg_and_never_loads_it() -> None:
    result = run_without_psycopg(
        """
        import orderkit
        import orderkit.adapters.memory
        import orderkit.adapters.sqlite
        print(sorted(m for m in sys.modules if m.startswith("psycopg")))
        """
    )

    assert 0 == result.returncode, result.stderr
    assert "[]" == result.stdout.strip()


def test_importing_orderkit_does_not_load_psycopg_even_when_installed() -> None:
    code = "import sys, orderkit; print('psycopg' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )

    assert 0 == result.returncode, result.stderr
    assert "False" == result.stdout.strip()


def test_upgrading_a_schema_normalizes_the_tags_and_tracking_numbers_it_indexes(
    postgres_dsn: str, storage: PostgresStorage
) -> None:
    order = rich_order()
    with storage.unit_of_work() as uow:
        uow.orders.save(order)
        uow.commit()
    storage.close()
    with admin(postgres_dsn) as conn:
        for statement in shop.as_stored_before_schema_4(storage.schema):
            conn.execute(statement)

    upgraded = PostgresStorage(postgres_dsn, schema=storage.schema)
    assert ([order.id], (order,)) == shop.found_by_tag_and_tracking(upgraded)
