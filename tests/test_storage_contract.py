"""The storage port contract (orderkit.testing.StorageContract) and the service-behaviour
suite (orderkit.testing.ServiceContract), run unchanged against every adapter.

Each maker only says how to make a fresh, empty storage and how to clean up after it.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orderkit.adapters.memory import MemoryStorage
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.ports import Storage
from orderkit.testing import ServiceContract, StorageContract


class MemoryMaker:
    @pytest.fixture
    def make_storage(self) -> Callable[[], Storage]:
        return MemoryStorage


class SQLiteMaker:
    @pytest.fixture
    def make_storage(self, tmp_path: Path) -> Iterator[Callable[[], Storage]]:
        count = itertools.count(1)
        made: list[SQLiteStorage] = []

        def make() -> Storage:
            storage = SQLiteStorage(tmp_path / f"shop-{next(count)}.sqlite3")
            made.append(storage)
            return storage

        yield make
        for storage in made:  # an unclosed sqlite3 connection is a ResourceWarning
            storage.close()


class PostgresMaker:
    @pytest.fixture
    def make_storage(self, postgres_dsn: str) -> Iterator[Callable[[], Storage]]:
        import psycopg
        from psycopg import sql

        from orderkit.adapters.postgres import PostgresStorage

        schemas: list[str] = []
        made: list[PostgresStorage] = []

        def make() -> Storage:
            name = f"ok_contract_{secrets.token_hex(6)}"
            with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            schemas.append(name)
            storage = PostgresStorage(postgres_dsn, schema=name)
            made.append(storage)
            return storage

        yield make
        for storage in made:  # its connections would hold locks the DROP waits for
            storage.close()
        with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SET lock_timeout = '30s'")
            for name in schemas:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


class TestMemoryStorage(MemoryMaker, StorageContract):
    pass


class TestMemoryService(MemoryMaker, ServiceContract):
    pass


class TestSQLiteStorage(SQLiteMaker, StorageContract):
    pass


class TestSQLiteService(SQLiteMaker, ServiceContract):
    pass


@pytest.mark.postgres
class TestPostgresStorage(PostgresMaker, StorageContract):
    pass


@pytest.mark.postgres
class TestPostgresService(PostgresMaker, ServiceContract):
    pass
