"""An in-memory channel: a real adapter for tests, docs and development."""

from __future__ import annotations

import threading

from orderkit.adapters.notify.checks import check_message
from orderkit.errors import DeliveryFailed, ValidationError
from orderkit.notify.message import Message

__all__ = ["MemoryChannel"]


class MemoryChannel:
    """Keeps every delivered message in a list, in the order it was sent; thread-safe.

    It checks messages like every shipped channel (a line break in the subject is refused),
    and it can be told to fail, so a dispatcher's retries and dead-lettering can be tested
    without a mail server.

    Args:
        name: the channel name outbox entries use.
        honour_dedup: accept a message whose dedup key was already delivered without
            keeping it again, as a receiver that honours dedup keys would. With False every
            send is kept, so a test can see how often something was sent.
    """

    def __init__(self, name: str = "memory", *, honour_dedup: bool = True) -> None:
        self._name = name
        self._honour_dedup = honour_dedup
        self._lock = threading.Lock()
        self._sent: list[Message] = []
        self._seen: set[str] = set()
        self._failures: list[bool] = []  # retryable flag of each failure still to come

    @property
    def name(self) -> str:
        return self._name

    @property
    def sent(self) -> list[Message]:
        """A copy of the delivered messages, oldest first."""
        with self._lock:
            return list(self._sent)

    def fail_next(self, times: int = 1, *, retryable: bool = True) -> None:
        """Make the next ``times`` sends raise :class:`DeliveryFailed` with ``retryable``.

        Raises:
            ValidationError: ``times`` is negative.
        """
        if times < 0:
            raise ValidationError("times", f"must be zero or more, got {times}")
        with self._lock:
            self._failures.extend([retryable] * times)

    def clear(self) -> None:
        """Forget every delivered message and dedup key, and any failures still to come."""
        with self._lock:
            self._sent.clear()
            self._seen.clear()
            self._failures.clear()

    def send(self, message: Message) -> None:
        """Keep ``message`` (or drop a repeat of a delivered dedup key when honouring them).

        Raises:
            InvalidMessage: a header value contains a line break, or the recipient is empty.
            DeliveryFailed: :meth:`fail_next` asked for a failure.
        """
        check_message(message)
        with self._lock:
            if self._failures:
                retryable = self._failures.pop(0)
                raise DeliveryFailed(
                    f"channel {self._name!r} was told to fail this send (fail_next)",
                    retryable=retryable,
                )
            if self._honour_dedup and message.dedup_key in self._seen:
                return
            self._seen.add(message.dedup_key)
            self._sent.append(message)
