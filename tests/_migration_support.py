"""Databases as an older orderkit left them: the first ``version`` migrations applied, the
version recorded, some rows written; opened with today's storage, which migrates them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orderkit.adapters.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from orderkit.adapters.sqlite import SQLiteStorage


def _create(conn: Any, migrations: list[list[str]], version: int, data: tuple[str, ...]) -> None:
    for statements in migrations[:version]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("CREATE TABLE orderkit_schema (version INTEGER NOT NULL)")
    conn.execute(f"INSERT INTO orderkit_schema (version) VALUES ({version})")
    for statement in data:
        conn.execute(statement)


@contextmanager
def old_sqlite(path: Path, version: int, *data: str) -> Iterator[SQLiteStorage]:
    """An SQLite file at schema ``version`` holding ``data``, opened (and so migrated)."""
    with sqlite3.connect(path) as conn:
        _create(conn, SQLITE_MIGRATIONS, version, data)
    conn.close()
    storage = SQLiteStorage(path)
    try:
        yield storage
    finally:
        storage.close()


@contextmanager
def old_postgres(dsn: str, schema: str, version: int, *data: str) -> Iterator[Any]:
    """A PostgreSQL schema at ``version`` holding ``data``, opened (and so migrated)."""
    import psycopg
    from psycopg import sql

    from orderkit.adapters.postgres import MIGRATIONS, PostgresStorage

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        _create(conn, MIGRATIONS, version, data)
    storage = PostgresStorage(dsn, schema=schema)
    try:
        yield storage
    finally:
        storage.close()
