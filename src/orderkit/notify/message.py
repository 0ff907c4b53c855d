"""Outgoing messages: what a notification channel is handed to deliver.

A :class:`Message` is fully rendered (subject, plain text, optional HTML) and also carries
the structured ``data`` it was rendered from, so a webhook channel can send JSON and an
email channel can send the words. Channels implement :class:`orderkit.ports.Channel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["FrozenDict", "Message", "frozen_mapping"]


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every change: JSON-ready like a dict, immutable like the
    frozen value holding it. Nested dicts and lists are frozen too (lists become tuples)."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(f"{type(self).__name__} is immutable; build a new one instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (FrozenDict, (dict(self),))

    def __init__(self, value: Mapping[str, Any] = ()) -> None:  # type: ignore[assignment]
        super().__init__((key, _freeze(item)) for key, item in dict(value).items())


def _freeze(value: object) -> object:
    if isinstance(value, Mapping):
        return value if isinstance(value, FrozenDict) else FrozenDict(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """``value`` as a :class:`FrozenDict`: the converter of every payload field."""
    return value if isinstance(value, FrozenDict) else FrozenDict(value)


@attrs.frozen
class Message:
    """One message for one recipient on one channel.

    Attributes:
        message_id: the outbox entry's id; unique per message.
        dedup_key: the same for every delivery attempt of this message. A channel that
            honours it (an ``Idempotency-Key`` header, a webhook id) lets the receiver drop
            a repeat, so a retry after a lost acknowledgement never notifies twice.
        kind: what the message is about (``order_placed``, ``shipped``, …).
        recipient: where it goes, in the channel's terms (an email address, a phone number,
            a webhook endpoint name).
        subject: one line, never containing CR or LF.
        text: the plain-text body.
        html: the HTML body, or None for channels and messages without one.
        data: the JSON-ready structured payload the message was rendered from.
        locale: the locale it was rendered in (``zh_Hans``, ``de``, …).
    """

    message_id: str
    dedup_key: str
    kind: str
    recipient: str
    subject: str
    text: str
    html: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)
    locale: str = "en"
