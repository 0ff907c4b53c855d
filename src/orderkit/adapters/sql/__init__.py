"""The repositories shared by the SQL adapters (SQLite, PostgreSQL).

Both databases get the same statements, written with ``?`` placeholders and translated by
the :class:`Dialect`. What keeps stock honest is the same everywhere: a reservation is one
conditional ``UPDATE … WHERE on_hand - reserved >= ?`` per SKU, issued in sorted SKU order,
so the database itself refuses to oversell and two carts cannot deadlock; a ``CHECK``
constraint backs it up. Other stock writes and outbox outcomes are compare-and-set
``UPDATE`` s of a state computed above the port.

``base`` (the dialect, the executor, keyset paging), one module per repository
(``orders``, ``stock``, ``records``: events, idempotency, sequences; ``outbox``), and
``connections`` (per-thread connections, shared by both adapters).
"""

from __future__ import annotations

from collections.abc import Callable

from orderkit.adapters.sql.base import SCHEMA_TABLE, Connection, Dialect, Executor
from orderkit.adapters.sql.orders import SqlOrders
from orderkit.adapters.sql.outbox import SqlOutbox
from orderkit.adapters.sql.records import SqlEvents, SqlIdempotency, SqlSequences
from orderkit.adapters.sql.stock import SqlStock

__all__ = ["SCHEMA_TABLE", "Dialect", "SqlUnitOfWork"]


class SqlUnitOfWork(Executor):
    """A unit of work over one open database transaction."""

    def __init__(
        self,
        conn: Connection,
        dialect: Dialect,
        *,
        writable: bool,
        on_commit: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._dialect = dialect
        self._writable = writable
        self._on_commit = on_commit
        self.open = True
        self.orders = SqlOrders(self)
        self.stock = SqlStock(self)
        self.events = SqlEvents(self)
        self.idempotency = SqlIdempotency(self)
        self.sequences = SqlSequences(self)
        self.outbox = SqlOutbox(self)
