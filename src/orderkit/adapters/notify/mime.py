"""Turning a :class:`~orderkit.notify.message.Message` into an RFC 5322 email, once.

:class:`~orderkit.adapters.notify.smtp.SmtpChannel` sends what :func:`build_email` returns and
:class:`~orderkit.adapters.notify.files.FileChannel` writes it to ``.eml`` files, so what a
developer opens from the demo's folder is byte for byte what a mail server would receive.
"""

from __future__ import annotations

import email.errors
import email.policy
import email.utils
import hashlib
from datetime import datetime
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage

from orderkit.adapters.notify.checks import check_message
from orderkit.errors import InvalidMessage
from orderkit.notify.message import Message

__all__ = ["DEDUP_HEADER", "KIND_HEADER", "build_email", "message_id_for", "parse_address"]

DEDUP_HEADER = "X-Orderkit-Dedup-Key"
KIND_HEADER = "X-Orderkit-Kind"

_HEADERS = HeaderRegistry()
# 7-bit safe bodies (base64 or quoted-printable for non-ASCII text): every server accepts
# them, including the few that do not offer 8BITMIME.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


def parse_address(field: str, value: str) -> Address:
    """One mailbox (``shop@example.com`` or ``Tea Shop <shop@example.com>``), parsed.

    Raises:
        InvalidMessage: ``value`` is not exactly one address with a local part and a domain.
    """
    addresses: tuple[Address, ...] = ()
    defects: tuple[object, ...] = ("unparseable",)
    try:
        header = _HEADERS("To", value)
    except (email.errors.HeaderParseError, IndexError, ValueError):
        pass  # the parser gives up on some malformed input instead of recording a defect
    else:
        if isinstance(header, AddressHeader):
            addresses, defects = header.addresses, tuple(header.defects)
    if len(addresses) != 1 or defects or not addresses[0].username or not addresses[0].domain:
        raise InvalidMessage(
            field,
            f"{value[:80]!r} is not one email address; use 'name@example.com' or "
            "'Name <name@example.com>'",
        )
    return addresses[0]


def message_id_for(dedup_key: str, domain: str) -> str:
    """The ``Message-ID`` for a dedup key: the same key always gives the same id, so a
    resent copy is recognisably the same message to mail clients and servers."""
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.orderkit@{domain}>"


def build_email(message: Message, *, sender: str, date: datetime) -> EmailMessage:
    """The email for ``message``: UTF-8 text, plus an HTML alternative when it has one.

    Headers: From, To, Subject (RFC 2047-encoded when not ASCII), Date, a Message-ID
    derived from the dedup key, ``X-Orderkit-Dedup-Key``, ``X-Orderkit-Kind`` and
    Content-Language. Any subject and body survive the trip, except that email does not
    keep whitespace at the very start or end of a header value.

    Args:
        message: what to send; ``recipient`` is one email address.
        sender: the From address, e.g. ``"Tea Shop <orders@tea.example>"``.
        date: when it is sent (aware), for the Date header.

    Raises:
        InvalidMessage: a header value contains a line break, or the sender or recipient is
            not one email address.
    """
    check_message(message)
    from_address = parse_address("sender", sender)
    to_address = parse_address("recipient", message.recipient)
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = from_address
    mail["To"] = to_address
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(date)
    mail["Message-ID"] = message_id_for(message.dedup_key, from_address.domain)
    mail[DEDUP_HEADER] = message.dedup_key
    mail[KIND_HEADER] = message.kind
    mail.set_content(message.text, charset="utf-8")
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
        # Derived, not random: the same message builds the same bytes (reproducible files).
        digest = hashlib.sha256(message.dedup_key.encode("utf-8")).hexdigest()[:24]
        mail.set_boundary(f"=_orderkit_{digest}")
    if message.locale:  # after the content: setting content clears Content-* headers
        mail["Content-Language"] = message.locale.replace("_", "-")
    return mail
