"""Full-size concurrency runs: scenarios 1 and 2 of ``tests/test_concurrency.py``.

    python benchmarks/stress.py --backend sqlite
    python benchmarks/stress.py --backend postgres --dsn "host=127.0.0.1 user=postgres dbname=test"

1. oversell: 32 processes x 500 single-unit orders race for 1,000 units of one SKU.
2. carts: 16 processes place 250 carts each of 2-5 of 10 SKUs in shuffled line order.

Each runs on a fresh database (a temporary SQLite file, or a new PostgreSQL schema dropped
afterwards) and is compared with a baseline in the same run: one process doing one worker's
share alone. Prints counts, elapsed time, throughput and the ratio to the baseline, checks
the invariants (exactly the stock on hand sold, no error but ``OutOfStock``, integrity clean,
the sampler never saw an oversold level) and exits 1 if any fails. The worker processes are
the ones the tests use (``tests/_concurrency_workers.py``), started with ``spawn``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

# The workers live with the tests; spawned children inherit this sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _concurrency_workers import (
    CARTS_CI,
    CARTS_FULL,
    OVERSELL_CI,
    OVERSELL_FULL,
    SKUS,
    ContentionRun,
    StorageSpec,
    run_carts,
    run_oversell,
)
from orderkit import OrderService

DEFAULT_DSN = os.environ.get(
    "ORDERKIT_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test"
)


@contextmanager
def fresh_database(args: argparse.Namespace, label: str) -> Iterator[StorageSpec]:
    """A new empty database for one run, removed afterwards unless ``--keep``."""
    if args.backend == "sqlite":
        folder = tempfile.mkdtemp(prefix=f"orderkit-stress-{label}-")
        yield StorageSpec("sqlite", str(Path(folder) / "shop.sqlite3"))
        if args.keep:
            print(f"    kept {folder}")
        else:
            for name in os.listdir(folder):
                os.remove(Path(folder) / name)
            os.rmdir(folder)
        return
    import psycopg
    from psycopg import sql

    schema = f"ok_stress_{label}_{secrets.token_hex(4)}"
    try:
        yield StorageSpec("postgres", args.dsn, schema)
    finally:
        if args.keep:
            print(f"    kept schema {schema}")
        else:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


def check_oversell(run: ContentionRun, service: OrderService, on_hand: int) -> list[str]:
    level = service.stock("hot-sku")
    problems = common_problems(run, service)
    if run.total("ok") != on_hand:
        problems.append(f"{run.total('ok')} orders succeeded for {on_hand} units")
    if (level.on_hand, level.reserved) != (on_hand, on_hand):
        problems.append(f"final level {level}")
    return problems


def check_carts(run: ContentionRun, service: OrderService, on_hand: int) -> list[str]:
    problems = common_problems(run, service)
    levels = {level.sku: level for level in service.stock_levels()}
    for sku in SKUS:
        if levels[sku].reserved != run.reserved[sku] or levels[sku].on_hand != on_hand:
            problems.append(f"{levels[sku]} but successful orders reserved {run.reserved[sku]}")
    if run.retryable["deadlock"]:
        problems.append(f"{run.retryable['deadlock']} deadlocks (retried)")
    return problems


def common_problems(run: ContentionRun, service: OrderService) -> list[str]:
    problems = [f"unexpected error: {e}" for e in run.errors]
    if run.total("other") > len(run.errors):
        problems.append(f"{run.total('other')} unexpected errors in all")
    problems += [f"integrity: {p}" for p in service.check_integrity()]
    if run.sample.violations or run.sample.read_errors or not run.sample.samples:
        problems.append(f"sampler: {run.sample}")
    return problems


def measure(
    args: argparse.Namespace,
    label: str,
    size: Any,
    runner: Callable[[StorageSpec, OrderService, Any], ContentionRun],
    check: Callable[[ContentionRun, OrderService, int], list[str]],
) -> tuple[ContentionRun, list[str]]:
    with fresh_database(args, label) as spec:
        storage = spec.open()
        try:
            service = OrderService(storage)
            run = runner(spec, service, size)
            return run, check(run, service, size.on_hand)
        finally:
            storage.close()


def report(name: str, run: ContentionRun, baseline: ContentionRun, problems: list[str]) -> None:
    rate = run.total("attempts") / run.elapsed
    base_rate = baseline.total("attempts") / baseline.elapsed
    print(f"  {name}: {run.summary()}")
    print(f"  baseline (1 process): {baseline.summary()}")
    print(f"  throughput {rate:.0f}/s vs {base_rate:.0f}/s alone: ratio {rate / base_rate:.2f}")
    for problem in problems:
        print(f"  FAILED: {problem}")
    print(f"  {'FAILED' if problems else 'OK'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="PostgreSQL DSN (default: %(default)s)")
    parser.add_argument(
        "--scenario", choices=("oversell", "carts", "both"), default="both", help="default: both"
    )
    parser.add_argument(
        "--size", choices=("full", "ci"), default="full", help="ci: the tests' small counts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for inspection")
    args = parser.parse_args(argv)

    failed = False
    if args.scenario in ("oversell", "both"):
        size = OVERSELL_FULL if args.size == "full" else OVERSELL_CI
        alone = replace(size, processes=1, on_hand=max(1, size.on_hand // size.processes))
        print(
            f"oversell on {args.backend}: {size.processes} processes x {size.attempts} "
            f"single-unit orders for {size.on_hand} units"
        )

        def oversell(spec: StorageSpec, service: OrderService, s: Any) -> ContentionRun:
            return run_oversell(spec, service, s, "hot-sku")

        baseline, _ = measure(args, "base", alone, oversell, check_oversell)
        run, problems = measure(args, "oversell", size, oversell, check_oversell)
        report("oversell", run, baseline, problems)
        failed |= bool(problems)
    if args.scenario in ("carts", "both"):
        size = CARTS_FULL if args.size == "full" else CARTS_CI
        alone = replace(size, processes=1, on_hand=max(1, size.on_hand // size.processes))
        print(
            f"carts on {args.backend}: {size.processes} processes x {size.carts} carts of "
            f"2-5 of {len(SKUS)} SKUs, {size.on_hand} of each on hand, seed {size.seed}"
        )
        baseline, _ = measure(args, "base", alone, run_carts, check_carts)
        run, problems = measure(args, "carts", size, run_carts, check_carts)
        report("carts", run, baseline, problems)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
