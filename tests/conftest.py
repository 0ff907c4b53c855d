"""Shared test fixtures: PostgreSQL access, the ``slow`` marker policy, and
``memory_service``, an ``OrderService`` on a fresh in-memory shop at a fixed time.

PostgreSQL tests use ``postgres_dsn`` (the server) and ``postgres_schema`` (a throwaway
schema per test).  Without ``ORDERKIT_TEST_POSTGRES_DSN`` they are skipped, unless
``ORDERKIT_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), in which case they fail: CI must never
pass by silently skipping them.

Tests marked ``slow`` are skipped unless the ``-m`` expression mentions ``slow``
(``pytest -m slow``), so a plain ``pytest`` stays quick.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from _concurrency_workers import StorageSpec
from orderkit import FixedClock, OrderService, SequentialIds
from orderkit.adapters.memory import MemoryStorage

pytest_plugins = ["pytester"]  # tests/test_ci_harness.py runs small suites against this file

DSN_ENV = "ORDERKIT_TEST_POSTGRES_DSN"
REQUIRE_ENV = "ORDERKIT_REQUIRE_POSTGRES"
SLOW_REASON = "full-size run; use pytest -m slow"


def _redact(dsn: str) -> str:
    """Hide a password in a URL-style DSN before it goes into a test report."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", dsn)


def _postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() == "1"


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of the PostgreSQL test server, checked to be reachable once per session."""
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        message = f"set {DSN_ENV}=postgresql://... to run PostgreSQL tests"
        if _postgres_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {DSN_ENV} is not set; {message}", pytrace=False)
        pytest.skip(message)
    try:
        import psycopg
    except ImportError as exc:
        pytest.fail(
            f"{DSN_ENV} is set but psycopg is not installed ({exc}); "
            "install the test extras: pip install -e '.[dev]'",
            pytrace=False,
        )
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(
            f"{DSN_ENV}={_redact(dsn)!r} is set but PostgreSQL cannot be reached: "
            f"{type(exc).__name__}: {exc}".rstrip(),
            pytrace=False,
        )
    return dsn


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """Name of a fresh, empty schema ``ok_test_<hex>``; dropped (CASCADE) after the test."""
    import psycopg
    from psycopg import sql

    name = f"ok_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=5) as conn:
            # Do not hang forever if the test left a transaction holding locks in the schema.
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def memory_service() -> OrderService:
    """A service on a fresh in-memory shop, at a fixed time, with ids ``id-1``, ``id-2``, …"""
    return OrderService(
        MemoryStorage(),
        clock=FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)),
        ids=SequentialIds(),
    )


# Real-process tests (tests/test_concurrency.py, tests/test_outbox_concurrency.py) share
# these: the parent opens ``storage`` (creating the schema) before any child process starts.
@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSpec:
    """Where the shop lives: a SQLite file, or a fresh PostgreSQL schema for this test."""
    if request.param == "sqlite":
        return StorageSpec("sqlite", str(tmp_path / "shop.sqlite3"))
    dsn = request.getfixturevalue("postgres_dsn")
    return StorageSpec("postgres", dsn, request.getfixturevalue("postgres_schema"))


@pytest.fixture
def storage(spec: StorageSpec) -> Iterator[Any]:
    """The parent's own storage on ``spec``; modules with a ``storage`` of their own override
    it."""
    opened = spec.open()
    yield opened
    opened.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests unless the ``-m`` expression asks about them explicitly."""
    markexpr = str(config.getoption("markexpr", default="") or "")
    if "slow" in markexpr:
        return  # e.g. ``-m slow`` or ``-m "slow and postgres"``: the expression decides
    skip_slow = pytest.mark.skip(reason=SLOW_REASON)
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip_slow)
