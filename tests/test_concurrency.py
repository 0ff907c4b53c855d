"""The concurrency proof: stock cannot be oversold, and no command's stock work is lost or done
twice, with real processes writing one database at once, on SQLite and on PostgreSQL.

Every test runs on both backends from one parametrized fixture (``spec``): a picklable
:class:`StorageSpec` from which each child process, started with ``spawn``, opens its own
storage and ``OrderService``. The children live in ``tests/_concurrency_workers.py``; they
count outcomes and the tests below assert on them.

The default (CI) sizes keep the module well under two minutes on two cores; the same tests at
full size (32 processes x 500 orders for 1,000 units, …) are marked ``slow``: ``pytest -m
slow tests/test_concurrency.py``. ``benchmarks/stress.py`` runs scenarios 1 and 2 at full
size with timings.
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from _concurrency_workers import (
    CARTS_CI,
    CARTS_FULL,
    KILL_POINTS,
    OVERSELL_CI,
    OVERSELL_FULL,
    RACE_CI,
    RACE_FULL,
    SAME_REQUEST_CI,
    SAME_REQUEST_FULL,
    SKUS,
    RaceRound,
    RaceSize,
    StorageSpec,
    draft,
    max_overlap,
    place_and_die,
    run_alone,
    run_carts,
    run_oversell,
    run_race,
    run_same_request,
)
from orderkit import FixedClock, Order, OrderQuery, OrderService, OutOfStock, StockMovement
from orderkit.domain.events import (
    OrderPlaced,
    StatusChanged,
    StockCommitted,
    StockReleased,
    StockReserved,
)
from orderkit.domain.inventory import aggregate


@pytest.fixture
def service(storage: Any) -> OrderService:
    return OrderService(storage)


def all_orders(service: OrderService, **filters: Any) -> list[Order]:
    orders: list[Order] = []
    page = service.find(OrderQuery(limit=1000, **filters))
    orders.extend(page.items)
    while page.next_cursor is not None:
        page = service.find(OrderQuery(limit=1000, cursor=page.next_cursor, **filters))
        orders.extend(page.items)
    return orders


def sequence_number(order: Order) -> int:
    """``SO-2026-000123`` -> 123."""
    return int(order.number.rsplit("-", 1)[1])


def payloads(service: OrderService, order_id: str, kind: type) -> list[Any]:
    return [e.payload for e in service.history(order_id) if isinstance(e.payload, kind)]


def reservations_by_sku(storage: Any) -> Counter[str]:
    with storage.reader() as uow:
        held = uow.stock.reservations()
    total: Counter[str] = Counter()
    for _, movement in held:
        total[movement.sku] += movement.quantity
    return total


# --- 1. many processes, one SKU ------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(OVERSELL_CI, id="ci"),
        pytest.param(OVERSELL_FULL, id="full", marks=pytest.mark.slow),
    ],
)
def test_processes_racing_for_one_sku_sell_exactly_what_is_on_hand(
    spec: StorageSpec, service: OrderService, size: Any
) -> None:
    run = run_oversell(spec, service, size, "hot-sku")
    print(f"\n[oversell {spec.backend}] {run.summary()}")

    assert ([], 0) == (run.errors, run.total("other"))
    assert size.on_hand == run.total("ok")
    assert size.processes * size.attempts - size.on_hand == run.total("out_of_stock")
    level = service.stock("hot-sku")
    assert (size.on_hand, size.on_hand) == (level.on_hand, level.reserved)
    assert [] == service.check_integrity()
    assert size.on_hand == reservations_by_sku(service.storage)["hot-sku"]
    # Every success is one stored order, numbered from a gapless sequence.
    stored = [o for i in range(size.processes) for o in all_orders(service, customer_id=f"w{i}")]
    assert sorted(run.order_ids) == sorted(o.id for o in stored)
    assert list(range(1, size.on_hand + 1)) == sorted(sequence_number(o) for o in stored)
    # The sampler read the level all along and never saw it oversold.
    assert run.sample.samples > 0
    assert (0, 0, []) == (run.sample.violations, run.sample.read_errors, run.sample.details)
    assert max_overlap(run.tallies) >= 2, "the workers never ran at the same time"


# --- 2. many processes, multi-SKU carts in random line order --------------------------------


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(CARTS_CI, id="ci"),
        pytest.param(CARTS_FULL, id="full", marks=pytest.mark.slow),
    ],
)
def test_carts_of_many_skus_in_any_line_order_neither_deadlock_nor_oversell(
    spec: StorageSpec, service: OrderService, size: Any
) -> None:
    run = run_carts(spec, service, size)
    print(f"\n[carts {spec.backend} seed={size.seed}] {run.summary()}")

    assert ([], 0) == (run.errors, run.total("other"))
    assert size.processes * size.carts == run.total("ok") + run.total("out_of_stock")
    assert run.total("ok") > 0, "no cart succeeded: the run proved nothing"
    assert run.total("out_of_stock") > 0, "stock never ran short: the run proved nothing"
    # Locks are taken in sorted SKU order, so not even a retried deadlock may happen.
    assert 0 == run.retryable["deadlock"], run.tallies[0].retry_examples
    levels = {level.sku: level for level in service.stock_levels()}
    assert [size.on_hand] * len(SKUS) == [levels[sku].on_hand for sku in SKUS]
    reserved = {sku: levels[sku].reserved for sku in SKUS}
    # Per SKU: the counter == the reservations recorded == the successful orders' lines.
    assert reserved == {sku: reservations_by_sku(service.storage)[sku] for sku in SKUS}
    assert reserved == {sku: run.reserved[sku] for sku in SKUS}
    assert [] == service.check_integrity()
    # Each successful order holds exactly its own lines; a failed cart holds nothing.
    with service.storage.reader() as uow:
        by_order: dict[str, tuple[StockMovement, ...]] = {}
        for order_id, movement in uow.stock.reservations():
            by_order[order_id] = (*by_order.get(order_id, ()), movement)
    assert sorted(run.order_ids) == sorted(by_order)
    for order_id in run.order_ids:
        order = service.get(order_id)
        wanted = aggregate(StockMovement(ln.sku, ln.location, ln.quantity) for ln in order.lines)
        assert wanted == by_order[order_id]
    assert run.sample.samples > 0
    assert (0, 0, []) == (run.sample.violations, run.sample.read_errors, run.sample.details)
    assert max_overlap(run.tallies) >= 2, "the workers never ran at the same time"


# --- 3. two lines of one SKU that only fit one at a time ------------------------------------


def test_a_cart_whose_lines_of_one_sku_together_exceed_stock_fails_whole_writing_nothing(
    service: OrderService,
) -> None:
    service.receive_stock("aaa-fits", 10)
    service.receive_stock("zzz-doubled", 5)
    first = service.place(draft("earlier", [("aaa-fits", 1)]))

    def snapshot() -> tuple[Any, ...]:
        with service.storage.reader() as uow:
            return (
                uow.stock.all(),
                uow.stock.reservations(),
                uow.events.read(0, 10_000),
                uow.orders.find(OrderQuery(limit=1000)).items,
            )

    before = snapshot()
    # "aaa-fits" sorts first, so it is reserved before the doubled SKU fails: it must roll back.
    greedy = draft("greedy", [("zzz-doubled", 3), ("aaa-fits", 2), ("zzz-doubled", 3)])
    with pytest.raises(OutOfStock) as caught:
        service.place(greedy, idempotency_key="greedy-cart")

    assert ("zzz-doubled", 6, 5) == (
        caught.value.sku,
        caught.value.requested,
        caught.value.available,
    )
    assert before == snapshot()
    assert [] == all_orders(service, customer_id="greedy")
    # The key was not claimed either: a new request may use it; and no number was used up.
    after = service.place(draft("greedy", [("zzz-doubled", 5)]), idempotency_key="greedy-cart")
    assert sequence_number(first) + 1 == sequence_number(after)
    assert [] == service.check_integrity()


# --- 4. close, expire and ship racing on one order ------------------------------------------

RACES = {
    "unpaid-cancel-vs-expire": ("cancel", "expire"),
    "paid-ship-vs-full-refund": ("ship", "refund"),
}
RACE_START = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _race_rounds(service: OrderService, race: str, rounds: int) -> list[RaceRound]:
    """One order (2 units of its own SKU, 5 on hand) per round, placed a minute apart."""
    prepared = []
    for i in range(rounds):
        placed_at = RACE_START + timedelta(minutes=i)
        placer = OrderService(service.storage, clock=FixedClock(placed_at))
        placer.receive_stock(f"race-{i:04d}", 5)
        order = placer.place(draft(f"racer-{i}", [(f"race-{i:04d}", 2)]))
        if race.startswith("paid"):
            placer.pay(order.id, order.total, reference=f"pay-{i}")
        # The expirer's clock is 30 s after this order was placed and before the next one:
        # each round it sees exactly one candidate.
        prepared.append(RaceRound(order.id, placed_at + timedelta(seconds=30), order.total))
    return prepared


@pytest.mark.parametrize("race", list(RACES))
@pytest.mark.parametrize(
    "size",
    [
        pytest.param(RACE_CI, id="ci"),
        pytest.param(RACE_FULL, id="full", marks=pytest.mark.slow),
    ],
)
def test_racing_commands_release_or_commit_each_reservation_exactly_once(
    spec: StorageSpec, service: OrderService, race: str, size: RaceSize
) -> None:
    roles = RACES[race]
    rounds = _race_rounds(service, race, size.rounds)
    first, second = run_race(spec, roles, rounds, size.timeout)
    wins = f"{roles[0]}: {Counter(first)}, {roles[1]}: {Counter(second)}"
    print(f"\n[race {race} {spec.backend}] {wins}")

    for i, (rnd, a, b) in enumerate(zip(rounds, first, second, strict=True)):
        where = f"round {i}: {roles[0]}={a!r} {roles[1]}={b!r}"
        order = service.get(rnd.order_id)
        released = payloads(service, rnd.order_id, StockReleased)
        committed = payloads(service, rnd.order_id, StockCommitted)
        closed = [
            c for c in payloads(service, rnd.order_id, StatusChanged) if c.to_status == "closed"
        ]
        level = service.stock(f"race-{i:04d}")
        assert 1 == len(released) + len(committed), where
        assert 1 == len(closed), where
        assert "closed" == order.status, where
        two = (StockMovement(f"race-{i:04d}", "default", 2),)
        if roles == ("cancel", "expire"):
            assert ["lost", "won"] == sorted([a, b]), where  # one winner, no error
            winner = roles[[a, b].index("won")]
            assert (winner, two, []) == (closed[0].event, released[0].items, committed), where
            assert (5, 0) == (level.on_hand, level.reserved), where
        else:
            assert "ok" == b, where  # a full refund succeeds before or after shipping
            assert a in ("won", "lost"), where
            if a == "won":  # shipped first: committed once; the refund then released nothing
                assert ([], two, (3, 0)) == (
                    released,
                    committed[0].items,
                    (level.on_hand, level.reserved),
                ), where
            else:  # refunded first: released once; the shipment was refused
                assert (two, [], (5, 0)) == (
                    released[0].items,
                    committed,
                    (level.on_hand, level.reserved),
                ), where
    assert [] == service.check_integrity()


# --- 5. one idempotency key, many callers at once ---------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(SAME_REQUEST_CI, id="ci"),
        pytest.param(SAME_REQUEST_FULL, id="full", marks=pytest.mark.slow),
    ],
)
def test_one_request_placed_by_many_callers_at_once_with_one_key_makes_one_order(
    spec: StorageSpec, service: OrderService, size: Any
) -> None:
    service.receive_stock("idem-a", 10)
    service.receive_stock("idem-b", 10)
    lines = [("idem-b", 2), ("idem-a", 1)]
    reports = run_same_request(spec, size, "checkout-7f3a", "same-request", lines)
    results = [result for report in reports for result in report.results]
    retried = sum((r.retryable for r in reports), Counter())
    print(f"\n[same key {spec.backend}] {len(results)} callers; retried: {dict(retried)}")

    assert size.callers == len(results)
    assert [] == [r for r in results if r[0] != "ok"]
    [order_id] = {r[1] for r in results}  # every caller got the same order
    assert [order_id] == [o.id for o in all_orders(service, customer_id="same-request")]
    with service.storage.reader() as uow:
        assert [
            (order_id, StockMovement("idem-a", "default", 1)),
            (order_id, StockMovement("idem-b", "default", 2)),
        ] == uow.stock.reservations()
        placed = [e for e in uow.events.read(0, 10_000) if isinstance(e.payload, OrderPlaced)]
    assert [f"order:{order_id}"] == [e.stream for e in placed]
    assert 1 == len(payloads(service, order_id, StockReserved))
    assert (1, 2) == (service.stock("idem-a").reserved, service.stock("idem-b").reserved)
    assert [] == service.check_integrity()


# --- 6. a placement killed half-way, then retried --------------------------------------------


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_placement_killed_midway_and_retried_with_its_key_leaves_one_clean_order(
    spec: StorageSpec, service: OrderService, point: str
) -> None:
    service.receive_stock("kill-sku", 10)
    lines = [("kill-sku", 3)]

    exit_code = run_alone(place_and_die, spec, point, "kill-key", "killed", lines)

    assert -signal.SIGKILL == exit_code, f"the child was not killed at {point}"
    survived = all_orders(service, customer_id="killed")
    assert (1 if point == "after_commit" else 0) == len(survived)  # only a commit survives
    assert [] == service.check_integrity()

    retried = service.place(draft("killed", lines), idempotency_key="kill-key")

    assert [retried.id] == [o.id for o in all_orders(service, customer_id="killed")]
    assert [o.id for o in survived] in ([], [retried.id])
    assert 3 == service.stock("kill-sku").reserved
    assert 1 == len(payloads(service, retried.id, OrderPlaced))
    assert 1 == len(payloads(service, retried.id, StockReserved))
    assert [] == service.check_integrity()
