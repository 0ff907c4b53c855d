"""The checks every channel runs on a message before anything leaves the process."""

from __future__ import annotations

from orderkit.errors import InvalidMessage
from orderkit.notify.message import Message

__all__ = ["check_message", "check_single_line"]

# CR and LF end a header line (header injection); NUL ends a string in C-based servers.
_LINE_BREAKS = ("\r", "\n", "\x00")


def check_single_line(field: str, value: str) -> None:
    """Refuse a value that would break out of the header or line it is written into.

    Raises:
        InvalidMessage: ``value`` contains CR, LF or NUL.
    """
    if any(char in value for char in _LINE_BREAKS):
        raise InvalidMessage(
            field,
            f"{value[:60]!r} contains a line break or NUL, which would let it forge extra "
            "headers; use a single line",
        )


def check_message(message: Message) -> None:
    """The checks common to every channel: single-line headers and a recipient.

    Raises:
        InvalidMessage: the subject, recipient, dedup key, kind, message id or locale has a
            line break or NUL, or the recipient or dedup key is empty.
    """
    for field in ("subject", "recipient", "dedup_key", "kind", "message_id", "locale"):
        check_single_line(field, getattr(message, field))
    if not message.recipient.strip():
        raise InvalidMessage("recipient", "is empty; say who the message is for")
    if not message.dedup_key:
        raise InvalidMessage("dedup_key", "is empty; give every message a dedup key")
