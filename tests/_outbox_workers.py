"""Dispatcher processes for ``tests/test_outbox_concurrency.py``.

Each child opens its own storage from a :class:`StorageSpec` and runs a :class:`Dispatcher`
until nothing is left to deliver. Its channel appends one line per accepted message to a
shared file (``O_APPEND``: each line is one ``write``, so lines from several processes never
interleave), and turns down the first attempt this process makes at every tenth message, so
retries move entries between processes too.
"""

from __future__ import annotations

import os
import time
import zlib
from datetime import timedelta
from typing import Any

import attrs

from _concurrency_workers import BARRIER_TIMEOUT, StorageSpec
from orderkit.errors import DeliveryFailed
from orderkit.notify.dispatch import Dispatcher, DispatchReport, JsonRenderer, RetryPolicy
from orderkit.notify.message import Message
from orderkit.notify.outbox import OutboxQuery, OutboxStatus, entry_by_id

#: Fast retries, so a turned-down message is due again within a tenth of a second.
RETRY = RetryPolicy(
    max_attempts=10, base_delay=timedelta(milliseconds=20), max_delay=timedelta(milliseconds=100)
)


def flaky(message_id: str) -> bool:
    """Every tenth message (by a stable hash) is turned down once per process."""
    return zlib.crc32(message_id.encode()) % 10 == 0


class AppendingChannel:
    """Appends ``message_id dedup_key pid`` per delivered message to one shared file."""

    name = "email"

    def __init__(self, path: str) -> None:
        self.path = path
        self.turned_down: set[str] = set()

    def send(self, message: Message) -> None:
        if flaky(message.message_id) and message.message_id not in self.turned_down:
            self.turned_down.add(message.message_id)
            raise DeliveryFailed("451 try again later", retryable=True)
        line = f"{message.message_id} {message.dedup_key} {os.getpid()}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        time.sleep(0.001)  # a real channel takes a while; let the other dispatchers in


def drain(spec: StorageSpec, out_path: str, batch: int, barrier: Any) -> tuple[int, ...]:
    """Dispatch until no entry is due or waiting; return this process's DispatchReport."""
    storage = spec.open()
    dispatcher = Dispatcher(storage, [AppendingChannel(out_path)], JsonRenderer(), retry=RETRY)
    with storage.reader() as uow:  # connect before the start line
        entry_by_id(uow.outbox.find, "none")
    total = DispatchReport()
    barrier.wait(BARRIER_TIMEOUT)
    while True:
        report = dispatcher.dispatch_pending(limit=batch)
        total = total + report
        if report.claimed:
            continue
        # Nothing due now: stop unless a retried entry is waiting for its next attempt
        # (entries other processes are sending are theirs to finish).
        with storage.reader() as uow:
            waiting = uow.outbox.find(OutboxQuery(status=OutboxStatus.QUEUED, limit=1)).items
        if not waiting:
            break
        time.sleep(0.01)
    storage.close()
    return attrs.astuple(total)
