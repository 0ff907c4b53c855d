"""A folder of files, one per message: for the demo, development and hosts that ship mail
through another system that picks files up.

``format="eml"`` writes the full RFC 5322 email that
:class:`~orderkit.adapters.notify.smtp.SmtpChannel` would send (open it in any mail client);
``format="json"`` writes the message itself, data included, for data-only messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Literal

from orderkit.adapters.notify.checks import check_message
from orderkit.adapters.notify.mime import build_email
from orderkit.clock import SystemClock
from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.notify.message import Message
from orderkit.ports import Clock

__all__ = ["FileChannel", "file_stem"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
DEFAULT_SENDER = "orderkit <notifications@orderkit.invalid>"


def file_stem(dedup_key: str) -> str:
    """The file name (without extension) for a dedup key: readable, safe on every file
    system, and different for different keys (a hash suffix keeps ``a/b`` and ``a_b``
    apart)."""
    readable = _UNSAFE.sub("_", dedup_key).strip("._")[:80] or "message"
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"


class FileChannel:
    """Writes each message to ``folder/<dedup key>.eml`` (or ``.json``).

    The name comes from the dedup key, so a resent message replaces its earlier copy instead
    of adding a second one. Each file is written to a temporary name and moved into place,
    so a reader never sees half a message. The folder is created on the first send.

    Args:
        folder: where the files go.
        name: the channel name outbox entries use.
        format: ``"eml"`` (an email; the recipient must be an email address) or ``"json"``.
        sender: the From address of ``.eml`` files.
        clock: the time for the Date header of ``.eml`` files; the system clock when None.

    Raises:
        ValidationError: an unknown format.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        name: str = "file",
        format: Literal["eml", "json"] = "eml",
        sender: str = DEFAULT_SENDER,
        clock: Clock | None = None,
    ) -> None:
        if format not in ("eml", "json"):
            raise ValidationError("format", f"must be 'eml' or 'json', got {format!r}")
        self._folder = Path(folder)
        self._name = name
        self._format = format
        self._sender = sender
        self._clock = clock or SystemClock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def folder(self) -> Path:
        return self._folder

    def path_for(self, message: Message) -> Path:
        """Where ``message`` is (or would be) written."""
        return self._folder / f"{file_stem(message.dedup_key)}.{self._format}"

    def send(self, message: Message) -> None:
        """Write one message file, replacing an earlier copy with the same dedup key.

        Raises:
            InvalidMessage: a header value contains a line break, the recipient is not an
                email address (``eml``), or ``data`` is not JSON-ready (``json``).
            DeliveryFailed: the file could not be written (retryable, except for a
                permission error).
        """
        content = self._render(message)
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._write_atomically(self.path_for(message), content)
        except OSError as exc:
            raise DeliveryFailed(
                f"could not write {self.path_for(message)}: {type(exc).__name__}: {exc}",
                retryable=not isinstance(exc, PermissionError),
            ) from exc

    def _render(self, message: Message) -> bytes:
        if self._format == "eml":
            return bytes(build_email(message, sender=self._sender, date=self._clock.now()))
        check_message(message)
        document = {
            "message_id": message.message_id,
            "dedup_key": message.dedup_key,
            "kind": message.kind,
            "recipient": message.recipient,
            "locale": message.locale,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "data": dict(message.data),
        }
        try:
            text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidMessage("data", f"is not JSON-ready: {exc}") from exc
        return (text + "\n").encode("utf-8")

    def _write_atomically(self, path: Path, content: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=self._folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
