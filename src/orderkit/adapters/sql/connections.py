"""One database connection per thread, written once for both SQL adapters.

A thread's connection is opened on its first unit of work and closed when the thread ends
(its thread-locals die with it) or when the storage is closed. A connection never crosses a
fork: a child process opens its own, and leaves the ones it inherited alone (closing them
would end the parent's sessions, or corrupt an SQLite file), keeping them referenced so they
are not closed on collection either.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["ThreadConnections"]


class _Closable(Hashable, Protocol):
    def close(self) -> Any: ...


C = TypeVar("C", bound=_Closable)

# Connections a forked child inherited, kept referenced (see the module docstring).
_INHERITED: list[object] = []


def _retire(conn: _Closable, pid: int, registry: dict[Any, int], lock: threading.Lock) -> None:
    """Close a thread's connection once the thread has ended (or the storage is closed)."""
    with lock:
        registry.pop(conn, None)
    if os.getpid() == pid:
        conn.close()
    else:
        _INHERITED.append(conn)


class _Holder(Generic[C]):
    """Owns one thread's connection; when the thread ends, its locals die and this closes it."""

    __slots__ = ("__weakref__", "conn", "pid")

    def __init__(self, conn: C, registry: dict[C, int], lock: threading.Lock) -> None:
        self.conn = conn
        self.pid = os.getpid()
        weakref.finalize(self, _retire, conn, self.pid, registry, lock)


class ThreadConnections(Generic[C]):
    """The connections of one storage, one per thread and process.

    Args:
        usable: whether a thread's connection may still be used (a PostgreSQL connection
            that broke is replaced by a new one).
    """

    def __init__(self, usable: Callable[[C], bool] = lambda conn: True) -> None:
        self._usable = usable
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[C, int] = {}  # connection -> the pid that opened it

    def get(self, connect: Callable[[], C]) -> C:
        """This thread's connection, opened with ``connect`` when it has none (or its one
        was inherited over a fork, or is no longer usable)."""
        holder: _Holder[C] | None = getattr(self._local, "holder", None)
        if holder is not None and holder.pid == os.getpid() and self._usable(holder.conn):
            return holder.conn
        conn = connect()
        with self._lock:
            self._open[conn] = os.getpid()
        # Replacing the holder retires the old connection (closed, or kept if inherited).
        self._local.holder = _Holder(conn, self._open, self._lock)
        return conn

    def close_all(self) -> None:
        """Close every connection this process opened; inherited ones are left alone."""
        with self._lock:
            mine = [conn for conn, pid in self._open.items() if pid == os.getpid()]
            self._open.clear()
        for conn in mine:
            conn.close()
