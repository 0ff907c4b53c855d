"""Smoke runs of the benchmarks with tiny counts, so the scripts cannot rot unnoticed.

They check that each script runs to the end, cleanly, and reports what it promises; the
figures themselves are not asserted (a benchmark is not a timed test).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(*args: str) -> str:
    """Run ``benchmarks/place_orders.py`` with warnings as errors; its output on success."""
    done = subprocess.run(
        [sys.executable, "-W", "error", str(BENCHMARKS / "place_orders.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    assert "" == done.stderr
    return done.stdout


def reported_ratios(output: str) -> list[str]:
    return re.findall(r"orderkit \d+ orders/s, floor \d+ orders/s, ratio \d+\.\d\d", output)


def test_the_sqlite_benchmark_reports_orderkit_and_the_floor_with_their_ratio() -> None:
    output = run_benchmark("--sqlite", "--orders", "12", "--rounds", "2")

    assert 1 == len(reported_ratios(output)), output


def test_the_sqlite_benchmark_can_profile_orderkit() -> None:
    output = run_benchmark("--sqlite", "--orders", "5", "--rounds", "1", "--profile")

    assert "orderkit/service/" in output, output
    assert "(place)" in output, output


def test_the_benchmark_refuses_a_count_below_one() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "place_orders.py"), "--orders", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert 2 == done.returncode
    assert "--orders" in done.stderr


@pytest.mark.postgres
def test_the_postgres_benchmark_reports_each_process_count(postgres_dsn: str) -> None:
    output = run_benchmark(
        "--postgres",
        postgres_dsn,
        "--orders",
        "6",
        "--rounds",
        "1",
        "--processes",
        "1",
        "2",
        "--idempotency-keys",
    )

    assert 2 == len(reported_ratios(output)), output
