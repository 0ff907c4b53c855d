"""What the SQL repositories stand on: the dialect, the statement executor, keyset paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from orderkit.errors import OrderkitError, StorageError

SCHEMA_TABLE = "orderkit_schema"


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...


class Dialect:
    """What differs between databases. Subclasses override the attributes they need."""

    placeholder = "?"
    for_update = ""
    # Appended to the select of due outbox entries: concurrent dispatchers pass over the rows
    # another one is claiming instead of waiting for them. Empty where writers are serialized.
    skip_locked = ""
    # Run before appending events and held until commit, so event positions become visible
    # in order; empty where the database already serializes writers (SQLite).
    events_lock = ""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        cached = self._cache.get(statement)
        if cached is None:
            cached = statement.replace("?", self.placeholder)
            self._cache[statement] = cached
        return cached

    def to_db_time(self, value: datetime) -> Any:
        return value

    def from_db_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value

    def translate(self, exc: Exception) -> OrderkitError | None:
        """Map a driver exception to an orderkit error, or None to let it through."""
        return None


class Executor:
    """Runs statements in one open database transaction, translating driver errors; the
    repositories stand on it. :class:`orderkit.adapters.sql.SqlUnitOfWork` sets it up."""

    _conn: Connection
    _dialect: Dialect
    _writable: bool
    _on_commit: Callable[[], None]
    open: bool

    def execute(self, statement: str, params: Sequence[Any] = (), *, write: bool = False) -> Any:
        if not self.open:
            raise StorageError("this unit of work has ended; start a new one")
        if write and not self._writable:
            raise StorageError("this is a read-only unit of work (reader()); use unit_of_work()")
        try:
            return self._conn.execute(self._dialect.sql(statement), params)
        except Exception as exc:
            translated = self._dialect.translate(exc)
            if translated is None:
                raise
            raise translated from exc

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(statement, row, write=True)

    def commit(self) -> None:
        if not self.open:
            raise StorageError("this unit of work has ended; start a new one")
        try:
            self._on_commit()
        except Exception as exc:
            translated = self._dialect.translate(exc)
            if translated is None:
                raise
            raise translated from exc
        finally:
            self.open = False

    def t(self, value: datetime) -> Any:
        return self._dialect.to_db_time(value)


def marks(values: Sequence[object]) -> str:
    """One placeholder per value, for ``IN (…)``."""
    return ", ".join("?" for _ in values)


class Where:
    """The filters of a paged query, and the keyset paging both ``find`` s share.

    Pages are ordered by (time, id); a page resumes strictly after the cursor's (time, id),
    so rows added meanwhile never shift a page, and one row more than the limit is read to
    know whether another page follows.
    """

    def __init__(self, uow: Executor) -> None:
        self._uow = uow
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def equal(self, column: str, value: str | None) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    def any_of(self, column: str, values: frozenset[str] | None) -> None:
        """Match any of ``values`` (sorted, so equal queries make equal statements)."""
        if values is not None:
            ordered = sorted(values)
            self.add(f"{column} IN ({marks(ordered)})", *ordered)

    def sql(self) -> str:
        """The ``WHERE`` clause of the filters added so far (empty without any)."""
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def count(self, table: str) -> int:
        """How many rows of ``table`` match the filters added so far, cursor aside."""
        row = self._uow.execute(f"SELECT COUNT(*) FROM {table}{self.sql()}", self.params).fetchone()
        return int(row[0])

    def window(self, column: str, start: datetime | None, end: datetime | None) -> None:
        """``start`` inclusive, ``end`` exclusive."""
        if start is not None:
            self.add(f"{column} >= ?", self._uow.t(start))
        if end is not None:
            self.add(f"{column} < ?", self._uow.t(end))

    def page(
        self,
        select: str,
        key: tuple[str, str],
        after: tuple[datetime, str] | None,
        limit: int,
        *,
        newest_first: bool,
    ) -> tuple[list[Any], bool]:
        """Up to ``limit`` rows after the cursor, and whether more follow."""
        time_column, id_column = key
        if after is not None:
            op = "<" if newest_first else ">"
            when = self._uow.t(after[0])
            self.add(
                f"({time_column} {op} ? OR ({time_column} = ? AND {id_column} {op} ?))",
                when,
                when,
                after[1],
            )
        direction = " DESC" if newest_first else ""
        order = f"ORDER BY {time_column}{direction}, {id_column}{direction}"
        rows = self._uow.execute(
            f"{select}{self.sql()} {order} LIMIT ?",
            (*self.params, limit + 1),
        ).fetchall()
        return rows[:limit], len(rows) > limit


class Repo:
    def __init__(self, uow: Executor) -> None:
        self._uow = uow
