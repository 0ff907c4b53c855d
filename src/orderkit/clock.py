"""Clocks and id generators: the two things every command needs and tests want to control."""

from __future__ import annotations

import itertools
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from orderkit.errors import ValidationError

__all__ = ["FixedClock", "SequentialIds", "SystemClock", "UlidGenerator", "require_utc"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def require_utc(field: str, value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is a ValidationError (we never guess a zone)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            field, "must be a timezone-aware datetime, e.g. datetime.now(timezone.utc)"
        )
    return value.astimezone(timezone.utc)


def require_duration(field: str, value: timedelta) -> timedelta:
    """Return ``value`` if it is a ``timedelta`` of zero or more.

    Raises:
        ValidationError: it is a number or anything else (say ``timedelta(hours=24)``, since
            a bare number has no unit), or it is negative.
    """
    if not isinstance(value, timedelta):
        raise ValidationError(
            field, f"must be a datetime.timedelta such as timedelta(hours=24), not {value!r}"
        )
    if value < timedelta(0):
        raise ValidationError(field, "must not be negative")
    return value


def describe_duration(value: timedelta) -> str:
    """A duration as people write it in a log: ``7 days``, ``36 hours``, ``90 minutes``.

    The largest unit that measures it exactly is used; a duration under a minute is given in
    seconds.

    >>> describe_duration(timedelta(days=7)), describe_duration(timedelta(hours=36))
    ('7 days', '36 hours')
    """
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to: for tests, docs and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = require_utc("start", start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = require_utc("moment", moment)


class UlidGenerator:
    """ULIDs: 26 characters, sortable by creation time, 80 random bits each.

    Within one millisecond the random part is incremented, so ids from one generator are
    strictly increasing. Safe across threads and processes (randomness from ``os.urandom``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def new_id(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + 1
            else:
                rand = int.from_bytes(os.urandom(10), "big")
            self._last_ms, self._last_rand = ms, rand
        value = (ms << 80) | (rand & ((1 << 80) - 1))
        chars = []
        for _ in range(26):
            chars.append(_CROCKFORD[value & 31])
            value >>= 5
        return "".join(reversed(chars))


class SequentialIds:
    """Predictable ids (``ord-000001``, …) for tests and documentation."""

    def __init__(self, prefix: str = "id-", start: int = 1) -> None:
        self._prefix = prefix
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            return f"{self._prefix}{next(self._counter):06d}"
