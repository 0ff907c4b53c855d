"""Worker processes for the concurrency proof (``tests/test_concurrency.py``) and the
full-size runs (``benchmarks/stress.py``).

Children are started with the ``spawn`` method (``fork`` copies a parent's threads and open
connections, which is unsafe), so every function a child runs lives here, in a module the
child can import, and takes only picklable arguments. A :class:`StorageSpec` names the
database; each child builds its own storage and :class:`~orderkit.OrderService` from it: one
SQLite connection per process (per thread where a child runs threads), or its own PostgreSQL
connections. ``spawn`` hands the parent's ``sys.path`` to the child, which is how the child
finds this module (pytest puts ``tests/`` on the path; ``stress.py`` does it itself).

Children never assert: they count outcomes (success, ``OutOfStock``, anything else with its
``repr``) and return them; the parent decides. Every start is behind a barrier so that the
workers really run at the same time.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from multiprocessing.context import SpawnContext
from typing import Any

from orderkit import (
    Address,
    ConcurrencyConflict,
    Customer,
    FixedClock,
    InvalidTransition,
    LineDraft,
    Money,
    OrderDraft,
    OrderService,
    OutOfStock,
    TransientStorageError,
)

#: Seconds a SQLite writer waits for the write lock before the service sees "busy". Generous
#: on purpose: 32 processes queue for one lock; "database is locked" escaping is a failure.
SQLITE_BUSY_TIMEOUT = 120.0
#: Seconds a child waits at a start barrier for its siblings (spawning is slow on 2 cores).
BARRIER_TIMEOUT = 120.0
#: How many ``repr``s of unexpected exceptions a child sends back (the count is exact).
MAX_ERRORS_KEPT = 20

PRICE = Money(Decimal("12.50"), "USD")
ADDRESS = Address(name="Lin Mei", line1="88 Nanjing Road", city="Shanghai", country="CN")
SKUS = tuple(f"sku-{i:02d}" for i in range(10))


# --- storage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageSpec:
    """A picklable description of a database, from which each process opens its own storage.

    ``("sqlite", path)`` or ``("postgres", dsn, schema)``.
    """

    backend: str
    target: str
    schema: str = "public"

    def open(self) -> Any:
        """A new storage with one connection per thread that uses it (opened on first use)."""
        if self.backend == "sqlite":
            from orderkit.adapters.sqlite import SQLiteStorage

            return SQLiteStorage(self.target, busy_timeout=SQLITE_BUSY_TIMEOUT)
        if self.backend == "postgres":
            from orderkit.adapters.postgres import PostgresStorage

            # pool_size=None: no pool, each thread its own connection (as SQLite does).
            return PostgresStorage(self.target, schema=self.schema, pool_size=None)
        raise ValueError(f"unknown backend {self.backend!r}")

    def __str__(self) -> str:
        where = self.target if self.backend == "sqlite" else f"schema {self.schema}"
        return f"{self.backend} ({where})"


class CountingStorage:
    """A storage wrapper that counts units of work and the retryable errors leaving them.

    The service retries ``ConcurrencyConflict`` and ``TransientStorageError`` itself, so they
    never reach the caller; counting them here shows how hard the workers contended and
    whether anything (a deadlock) happened that the design says cannot.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.units = 0
        self.retryable: Counter[str] = Counter()
        self.examples: list[str] = []
        self._lock = threading.Lock()

    def _wrap(self, uow: Any) -> Any:
        return uow

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        with self._lock:
            self.units += 1
        try:
            with self.inner.unit_of_work() as uow:
                yield self._wrap(uow)
        except (ConcurrencyConflict, TransientStorageError) as exc:
            with self._lock:
                text = str(exc)
                kind = "deadlock" if "deadlock" in text.lower() else type(exc).__name__
                self.retryable[kind] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{type(exc).__name__}: {text[:200]}")
            raise

    def reader(self) -> Any:
        return self.inner.reader()

    def close(self) -> None:
        self.inner.close()


def die() -> None:
    """SIGKILL this process: no ``finally``, no rollback, no goodbye to the database."""
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # pragma: no cover - the signal is not catchable
    raise AssertionError("still alive after SIGKILL")  # pragma: no cover


class _Tripwire:
    """A repository proxy that dies right after ``method`` returns."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name != self._method:
            return value

        def call_then_die(*args: Any, **kwargs: Any) -> Any:
            value(*args, **kwargs)
            die()

        return call_then_die


class _KillingUnitOfWork:
    def __init__(self, inner: Any, point: str) -> None:
        self._inner = inner
        self._point = point
        self.orders = inner.orders
        self.stock = inner.stock
        self.events = inner.events
        self.idempotency = inner.idempotency
        self.sequences = inner.sequences
        if point in KILL_AFTER_CALL:
            repo, method = KILL_AFTER_CALL[point]
            setattr(self, repo, _Tripwire(getattr(inner, repo), method))

    def commit(self) -> None:
        self._inner.commit()
        if self._point == "after_commit":
            die()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


#: Kill points inside ``OrderService.place``, in the order placement reaches them.
KILL_AFTER_CALL = {
    "after_idempotency_claim": ("idempotency", "claim"),
    "after_reserve": ("stock", "reserve"),
    "after_order_insert": ("orders", "save"),  # a new order: save inserts it
}
KILL_POINTS = (*KILL_AFTER_CALL, "after_commit")


class KillingStorage(CountingStorage):
    """Kills its own process at ``point`` inside the first unit of work that reaches it."""

    def __init__(self, inner: Any, point: str) -> None:
        if point not in KILL_POINTS:
            raise ValueError(f"unknown kill point {point!r}; one of {KILL_POINTS}")
        super().__init__(inner)
        self.point = point

    def _wrap(self, uow: Any) -> Any:
        return _KillingUnitOfWork(uow, self.point)


# --- orders ----------------------------------------------------------------------------------


def draft(customer_id: str, lines: Sequence[tuple[str, int]]) -> OrderDraft:
    """An order for ``(sku, quantity)`` lines, in the order given."""
    return OrderDraft(
        customer=Customer(customer_id, f"Customer {customer_id}"),
        shipping_address=ADDRESS,
        lines=tuple(LineDraft(sku, f"Item {sku}", qty, PRICE) for sku, qty in lines),
    )


@dataclass
class Tally:
    """What one worker saw: every attempt ends in exactly one of ok, out_of_stock, other."""

    worker: int
    ok: int = 0
    out_of_stock: int = 0
    other: int = 0
    errors: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    #: units reserved by this worker's successful orders, per SKU
    reserved: Counter[str] = field(default_factory=Counter)
    units_of_work: int = 0
    retryable: Counter[str] = field(default_factory=Counter)
    retry_examples: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def attempts(self) -> int:
        return self.ok + self.out_of_stock + self.other

    def attempt(self, service: OrderService, order: OrderDraft) -> None:
        try:
            placed = service.place(order)
        except OutOfStock:
            self.out_of_stock += 1
        except Exception as exc:  # counted, reported and asserted on by the parent
            self.other += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(repr(exc))
        else:
            self.ok += 1
            self.order_ids.append(placed.id)
            for line in placed.lines:
                self.reserved[line.sku] += line.quantity

    def finish(self, storage: CountingStorage) -> Tally:
        self.finished = time.time()
        self.units_of_work = storage.units
        self.retryable = storage.retryable
        self.retry_examples = storage.examples
        return self


@dataclass
class SampleReport:
    """What the stock sampler saw while the workers ran."""

    samples: int = 0
    violations: int = 0
    read_errors: int = 0
    details: list[str] = field(default_factory=list)
    max_reserved: dict[str, int] = field(default_factory=dict)


def sample_stock(spec: StorageSpec, skus: Sequence[str], barrier: Any, stop: Any) -> SampleReport:
    """Read the stock levels of ``skus`` in a loop until ``stop`` is set.

    A violation is a level with ``reserved < 0`` or ``reserved > on_hand`` (an oversold SKU).
    At least one sample is always taken after ``stop`` is set.
    """
    storage = spec.open()
    service = OrderService(storage)
    report = SampleReport(max_reserved=dict.fromkeys(skus, 0))
    wanted = set(skus)
    barrier.wait(BARRIER_TIMEOUT)
    while True:
        last = stop.is_set()
        try:
            levels = [level for level in service.stock_levels() if level.sku in wanted]
        except Exception as exc:  # a reader that fails is reported, not hidden
            report.read_errors += 1
            if len(report.details) < MAX_ERRORS_KEPT:
                report.details.append(repr(exc))
        else:
            report.samples += 1
            for level in levels:
                report.max_reserved[level.sku] = max(report.max_reserved[level.sku], level.reserved)
                if level.reserved < 0 or level.reserved > level.on_hand:
                    report.violations += 1
                    if len(report.details) < MAX_ERRORS_KEPT:
                        report.details.append(repr(level))
        if last:
            break
        time.sleep(0.002)  # leave the CPU to the writers; the machine has two cores
    storage.close()
    return report


def place_single_units(
    spec: StorageSpec, worker: int, sku: str, attempts: int, barrier: Any
) -> Tally:
    """Scenario 1: ``attempts`` orders of one unit of ``sku``."""
    storage = CountingStorage(spec.open())
    service = OrderService(storage)
    service.stock(sku)  # connect before the start line
    tally = Tally(worker)
    barrier.wait(BARRIER_TIMEOUT)
    tally.started = time.time()
    for _ in range(attempts):
        tally.attempt(service, draft(f"w{worker}", [(sku, 1)]))
    tally.finish(storage)
    storage.close()
    return tally


def cart_lines(rng: random.Random, skus: Sequence[str]) -> list[tuple[str, int]]:
    """2 to 5 distinct SKUs in random (shuffled) order, 1 to 3 units each."""
    chosen = rng.sample(list(skus), rng.randint(2, 5))
    return [(sku, rng.randint(1, 3)) for sku in chosen]


def place_carts(
    spec: StorageSpec, worker: int, skus: Sequence[str], carts: int, seed: int, barrier: Any
) -> Tally:
    """Scenario 2: ``carts`` multi-SKU orders, reproducible from ``seed``."""
    rng = random.Random(seed)
    storage = CountingStorage(spec.open())
    service = OrderService(storage)
    service.stock(skus[0])
    tally = Tally(worker)
    barrier.wait(BARRIER_TIMEOUT)
    tally.started = time.time()
    for _ in range(carts):
        tally.attempt(service, draft(f"w{worker}", cart_lines(rng, skus)))
    tally.finish(storage)
    storage.close()
    return tally


@dataclass(frozen=True)
class RaceRound:
    order_id: str
    expire_at: datetime  # the expirer's clock this round: just after the order was placed
    refund: Money


def race(spec: StorageSpec, role: str, rounds: Sequence[RaceRound], barrier: Any) -> list[str]:
    """Scenario 4: one side of a race, one round per order, in lockstep with the other side.

    Returns one outcome per round: ``"won"`` (this command closed / shipped the order),
    ``"lost"`` (the order had moved on: ``InvalidTransition``), ``"ok"`` (a refund, which
    succeeds either way), or ``"error: <repr>"``.
    """
    clock = FixedClock(datetime(2000, 1, 1, tzinfo=timezone.utc))
    storage = spec.open()
    service = OrderService(storage, clock=clock) if role == "expire" else OrderService(storage)
    service.stock("warm-up")
    # A random head start of up to 10 ms per round and side, so that either side wins some
    # rounds (expire_unpaid reads its candidates first, which alone would let cancel win).
    rng = random.Random(f"{role}-{len(rounds)}")
    outcomes = []
    for rnd in rounds:
        clock.set(rnd.expire_at)
        delay = rng.uniform(0, 0.010)
        barrier.wait(BARRIER_TIMEOUT)
        time.sleep(delay)
        try:
            if role == "cancel":
                service.cancel(rnd.order_id, actor="customer", reason="changed my mind")
                outcome = "won"
            elif role == "expire":
                expired = [o.id for o in service.expire_unpaid(older_than=timedelta(0))]
                if expired == [rnd.order_id]:
                    outcome = "won"
                elif not expired:
                    outcome = "lost"
                else:
                    outcome = f"error: expired {expired}, expected only {rnd.order_id}"
            elif role == "ship":
                service.ship(rnd.order_id, tracking_number=f"TRK{rnd.order_id[-8:]}")
                outcome = "won"
            elif role == "refund":
                service.refund(
                    rnd.order_id, rnd.refund, reference=f"re-{rnd.order_id}", reason="refund race"
                )
                outcome = "ok"
            else:
                raise ValueError(f"unknown role {role!r}")
        except InvalidTransition:
            outcome = "lost"
        except Exception as exc:  # reported per round, asserted on by the parent
            outcome = f"error: {exc!r}"
        outcomes.append(outcome)
    storage.close()
    return outcomes


@dataclass
class SameRequestReport:
    results: list[tuple[str, str]] = field(default_factory=list)  # ("ok", id) | ("error", repr)
    units_of_work: int = 0
    retryable: Counter[str] = field(default_factory=Counter)


def place_same_request(
    spec: StorageSpec,
    threads: int,
    key: str,
    customer_id: str,
    lines: Sequence[tuple[str, int]],
    barrier: Any,
) -> SameRequestReport:
    """Scenario 5: ``threads`` threads of this process place one draft with one key."""
    storage = CountingStorage(spec.open())
    service = OrderService(storage)
    results: list[tuple[str, str]] = [("error", "thread did not finish")] * threads

    def run(index: int) -> None:
        try:
            service.stock(lines[0][0])  # this thread's connection, opened before the start
            barrier.wait(BARRIER_TIMEOUT)
            order = service.place(draft(customer_id, lines), idempotency_key=key)
            results[index] = ("ok", order.id)
        except Exception as exc:
            results[index] = ("error", repr(exc))

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    storage.close()
    return SameRequestReport(results, storage.units, storage.retryable)


def place_and_die(
    spec: StorageSpec, point: str, key: str, customer_id: str, lines: Sequence[tuple[str, int]]
) -> str:
    """Scenario 6: place an order and SIGKILL this process at ``point`` inside placement."""
    storage = KillingStorage(spec.open(), point)
    service = OrderService(storage)
    service.place(draft(customer_id, lines), idempotency_key=key)
    return f"placement finished without reaching kill point {point}"


# --- running children --------------------------------------------------------------------


def spawn_context() -> SpawnContext:
    return multiprocessing.get_context("spawn")


class ChildFailed(AssertionError):
    """A child process raised, died or did not answer in time."""


def _child_main(results: Any, index: int, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        outcome = (index, True, func(*args))
    except BaseException:
        outcome = (index, False, traceback.format_exc())
    results.put(outcome)


class ProcessGroup:
    """Spawned children whose return values come back through a queue.

    ``wait`` fails fast: the first child that raises or dies makes it raise
    :class:`ChildFailed` with the child's traceback; leaving the ``with`` block kills every
    child still running (only these children: each is killed through its own handle).
    """

    def __init__(self, ctx: SpawnContext, *, timeout: float) -> None:
        self.ctx = ctx
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.queue = ctx.Queue()
        self.processes: list[Any] = []
        self.results: dict[int, Any] = {}

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.join(timeout=0 if exc[0] is not None else 10)
            if process.is_alive():
                process.kill()
                process.join()
        self.queue.close()
        self.queue.join_thread()

    def spawn(self, func: Callable[..., Any], *args: Any) -> int:
        index = len(self.processes)
        process = self.ctx.Process(
            target=_child_main,
            args=(self.queue, index, func, args),
            name=f"{func.__name__}-{index}",
            daemon=True,
        )
        process.start()
        self.processes.append(process)
        return index

    def wait(self, indexes: Sequence[int]) -> list[Any]:
        pending = set(indexes) - set(self.results)
        while pending:
            try:
                index, ok, payload = self.queue.get(timeout=0.5)
            except queue.Empty:
                self._check_alive(pending)
                continue
            if not ok:
                name = self.processes[index].name
                raise ChildFailed(f"child process {name} raised:\n{payload}")
            self.results[index] = payload
            pending.discard(index)
        return [self.results[i] for i in indexes]

    def _check_alive(self, pending: set[int]) -> None:
        if time.monotonic() > self.deadline:
            names = sorted(self.processes[i].name for i in pending)
            raise ChildFailed(f"no answer after {self.timeout:.0f}s from {', '.join(names)}")
        for index in pending:
            process = self.processes[index]
            if process.exitcode not in (None, 0):
                raise ChildFailed(
                    f"child process {process.name} died with exit code {process.exitcode} "
                    "before reporting"
                )


def run_alone(func: Callable[..., Any], *args: Any, timeout: float = 120.0) -> int:
    """Run ``func`` in one spawned child that is expected to die; return its exit code."""
    ctx = spawn_context()
    process = ctx.Process(target=func, args=args, name=func.__name__, daemon=True)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        raise ChildFailed(f"{func.__name__} still running after {timeout:.0f}s")
    assert process.exitcode is not None
    return process.exitcode


def max_overlap(tallies: Sequence[Tally]) -> int:
    """The most workers that were placing orders at one moment (their run windows overlap)."""
    edges = sorted(
        [(t.started, 1) for t in tallies] + [(t.finished, -1) for t in tallies],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


# --- scenarios (run by the tests and by benchmarks/stress.py) ---------------------------------


@dataclass(frozen=True)
class OversellSize:
    processes: int
    attempts: int
    on_hand: int
    timeout: float


OVERSELL_CI = OversellSize(processes=8, attempts=40, on_hand=100, timeout=120)
OVERSELL_FULL = OversellSize(processes=32, attempts=500, on_hand=1000, timeout=1800)


@dataclass
class ContentionRun:
    """The outcome of scenario 1 or 2: every worker's tally and what the sampler saw."""

    tallies: list[Tally]
    sample: SampleReport
    elapsed: float  # seconds from the first worker's start to the last worker's finish

    def total(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.tallies)

    @property
    def errors(self) -> list[str]:
        return [e for t in self.tallies for e in t.errors]

    @property
    def order_ids(self) -> list[str]:
        return [i for t in self.tallies for i in t.order_ids]

    @property
    def reserved(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for t in self.tallies:
            total.update(t.reserved)
        return total

    @property
    def retryable(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for t in self.tallies:
            total.update(t.retryable)
        return total

    def summary(self) -> str:
        attempts = self.total("attempts")
        return (
            f"{len(self.tallies)} processes, {attempts} attempts in {self.elapsed:.1f}s "
            f"({attempts / max(self.elapsed, 1e-9):.0f}/s): ok={self.total('ok')} "
            f"out_of_stock={self.total('out_of_stock')} other={self.total('other')}; "
            f"units of work={self.total('units_of_work')} retried={dict(self.retryable)}; "
            f"at most {max_overlap(self.tallies)} workers at once; sampler: "
            f"{self.sample.samples} samples, {self.sample.violations} violations, "
            f"{self.sample.read_errors} read errors"
        )


def _contend(
    spec: StorageSpec,
    skus: Sequence[str],
    timeout: float,
    workers: Sequence[tuple[Callable[..., Tally], tuple[Any, ...]]],
) -> ContentionRun:
    ctx = spawn_context()
    barrier = ctx.Barrier(len(workers) + 1)  # the workers and the sampler
    stop = ctx.Event()
    with ProcessGroup(ctx, timeout=timeout) as group:
        sampler = group.spawn(sample_stock, spec, tuple(skus), barrier, stop)
        handles = [
            group.spawn(func, spec, i, *args, barrier) for i, (func, args) in enumerate(workers)
        ]
        tallies = group.wait(handles)
        stop.set()
        [sample] = group.wait([sampler])
    elapsed = max(t.finished for t in tallies) - min(t.started for t in tallies)
    return ContentionRun(tallies, sample, elapsed)


def run_oversell(
    spec: StorageSpec, service: OrderService, size: OversellSize, sku: str
) -> ContentionRun:
    """Scenario 1: ``size.on_hand`` units, ``processes x attempts`` single-unit orders."""
    service.receive_stock(sku, size.on_hand)
    work = [(place_single_units, (sku, size.attempts))] * size.processes
    return _contend(spec, [sku], size.timeout, work)


@dataclass(frozen=True)
class CartSize:
    processes: int
    carts: int
    on_hand: int  # of each of the 10 SKUs
    timeout: float
    seed: int = 20260101


# A cart takes about 0.7 units of each SKU on average: demand is roughly twice the stock, so
# both outcomes happen many times on every SKU.
CARTS_CI = CartSize(processes=8, carts=30, on_hand=80, timeout=120)
CARTS_FULL = CartSize(processes=16, carts=250, on_hand=1400, timeout=1800)


def run_carts(spec: StorageSpec, service: OrderService, size: CartSize) -> ContentionRun:
    """Scenario 2: multi-SKU carts in shuffled line order, from ``size.processes`` workers."""
    for sku in SKUS:
        service.receive_stock(sku, size.on_hand)
    work = [(place_carts, (SKUS, size.carts, size.seed + i)) for i in range(size.processes)]
    return _contend(spec, SKUS, size.timeout, work)


@dataclass(frozen=True)
class RaceSize:
    rounds: int
    timeout: float


RACE_CI = RaceSize(rounds=15, timeout=120)
RACE_FULL = RaceSize(rounds=300, timeout=1800)


def run_race(
    spec: StorageSpec, roles: Sequence[str], rounds: Sequence[RaceRound], timeout: float
) -> list[list[str]]:
    """Scenario 4: one process per role, racing round by round; outcomes per role."""
    ctx = spawn_context()
    barrier = ctx.Barrier(len(roles))
    with ProcessGroup(ctx, timeout=timeout) as group:
        handles = [group.spawn(race, spec, role, tuple(rounds), barrier) for role in roles]
        return group.wait(handles)


@dataclass(frozen=True)
class SameRequestSize:
    processes: int
    threads: int
    timeout: float

    @property
    def callers(self) -> int:
        return self.processes * self.threads


SAME_REQUEST_CI = SameRequestSize(processes=8, threads=8, timeout=120)
SAME_REQUEST_FULL = SameRequestSize(processes=16, threads=4, timeout=600)


def run_same_request(
    spec: StorageSpec,
    size: SameRequestSize,
    key: str,
    customer_id: str,
    lines: Sequence[tuple[str, int]],
) -> list[SameRequestReport]:
    """Scenario 5: ``processes x threads`` callers place one request with one key at once."""
    ctx = spawn_context()
    barrier = ctx.Barrier(size.callers)
    with ProcessGroup(ctx, timeout=size.timeout) as group:
        handles = [
            group.spawn(
                place_same_request, spec, size.threads, key, customer_id, tuple(lines), barrier
            )
            for _ in range(size.processes)
        ]
        return group.wait(handles)
