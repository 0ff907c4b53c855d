"""Signing and verifying webhooks in the Standard Webhooks scheme (standardwebhooks.com).

The sender puts three headers on each request:

- ``webhook-id``: the message's id, the same on every retry (receivers drop repeats by it);
- ``webhook-timestamp``: whole seconds since the Unix epoch when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of ``f"{id}.{timestamp}.{body}"``, one
  per active secret, space-separated, so a secret can be rotated without a gap.

Secrets are ``whsec_`` followed by the base64 of random bytes (:func:`generate_secret`).
Any implementation of the scheme verifies what :func:`sign` produces, and :func:`verify`
accepts what they produce. This module needs only the standard library: a receiver can
verify without installing httpx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from orderkit.clock import require_utc
from orderkit.errors import ValidationError, WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "generate_secret",
    "secret_key",
    "sign",
    "signature_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = timedelta(minutes=5)
"""How far a timestamp may be from the receiver's clock, either way, before it is refused."""

#: The shortest secret the scheme allows, in bytes (it asks for 24 to 64); endpoints refuse
#: shorter ones and :func:`generate_secret` makes none.
MIN_SECRET_BYTES = 24


def generate_secret(nbytes: int = 32) -> str:
    """A new random secret, ``whsec_<base64>``, for a webhook endpoint."""
    if not MIN_SECRET_BYTES <= nbytes <= 64:
        raise ValidationError("nbytes", f"must be between {MIN_SECRET_BYTES} and 64, got {nbytes}")
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode("ascii")


def secret_key(secret: str, field: str = "secret") -> bytes:
    """The HMAC key a secret stands for: the bytes after ``whsec_``, base64-decoded.

    The prefix is optional, as in the reference implementations.

    Raises:
        ValidationError: the secret is empty or not base64.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValidationError(
            field,
            "is not a webhook secret; expected 'whsec_' followed by base64 "
            "(make one with orderkit.notify.webhooks.generate_secret())",
        )
    return key


def _keys(secrets: str | Sequence[str]) -> list[bytes]:
    listed = [secrets] if isinstance(secrets, str) else list(secrets)
    if not listed:
        raise ValidationError("secrets", "give at least one secret")
    return [secret_key(secret, f"secrets[{i}]") for i, secret in enumerate(listed)]


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _unix_seconds(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValidationError("timestamp", "must be a timezone-aware datetime")
        return int(timestamp.timestamp())
    return timestamp


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(
    msg_id: str, timestamp: int | datetime, body: bytes | str, secrets: str | Sequence[str]
) -> str:
    """The ``webhook-signature`` header value: one ``v1,<base64>`` per secret, space-separated.

    Args:
        msg_id: the ``webhook-id``.
        timestamp: Unix seconds, or an aware datetime (truncated to whole seconds).
        body: the exact request body; a str is encoded as UTF-8.
        secrets: one secret, or every active one while rotating.

    Raises:
        ValidationError: a secret is malformed, or none was given.
    """
    seconds = _unix_seconds(timestamp)
    payload = _as_bytes(body)
    return " ".join(
        "v1," + base64.b64encode(_digest(key, msg_id, seconds, payload)).decode("ascii")
        for key in _keys(secrets)
    )


def signature_headers(
    msg_id: str, timestamp: int | datetime, body: bytes | str, secrets: str | Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt.

    Raises:
        ValidationError: a secret is malformed, or none was given.
    """
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(_unix_seconds(timestamp)),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(
        "missing_header", f"the request has no {name} header; it was not signed by a sender"
    )


def _v1_signatures(header: str) -> list[bytes]:
    """The base64 text of each ``v1`` signature in a header; other versions are skipped.

    They are compared as text, not decoded: base64 has several spellings of the same bytes
    (the unused bits of the last character), and a changed character must never verify.
    """
    found: list[bytes] = []
    for entry in header.split(" "):
        version, _, encoded = entry.partition(",")
        if version == "v1" and encoded:
            found.append(encoded.encode("utf-8"))
    return found


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secrets: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> None:
    """Check that a received webhook was signed with one of ``secrets`` and is fresh.

    Call it with the raw request body, before parsing it.

    Args:
        payload: the request body exactly as received.
        headers: the request headers; names are matched case-insensitively.
        secrets: every secret the endpoint currently accepts (old and new while rotating).
        tolerance: how far ``webhook-timestamp`` may be from ``now``, in either direction;
            this bounds how long a captured request can be replayed.
        now: the receiver's current time (aware); the system clock when None.

    Raises:
        WebhookVerificationError: a header is missing or malformed, the timestamp is
            outside the tolerance, or no signature matches (``reason`` says which).
        ValidationError: a secret is malformed or none was given, or ``now`` is naive.
    """
    keys = _keys(secrets)
    msg_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    signature_header = _header(headers, "webhook-signature")
    # At most 12 digits (year 33658): int() of a huge header would be slow or refused.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise WebhookVerificationError(
            "malformed_header",
            f"webhook-timestamp {raw_timestamp[:40]!r} is not whole Unix seconds",
        )
    timestamp = int(raw_timestamp)
    current = datetime.now(timezone.utc) if now is None else require_utc("now", now)
    skew = current.timestamp() - timestamp
    if skew > tolerance.total_seconds():
        raise WebhookVerificationError(
            "timestamp_too_old",
            f"webhook-timestamp is {int(skew)} s old, more than the {tolerance} allowed; "
            "a replayed or long-delayed request",
        )
    if -skew > tolerance.total_seconds():
        raise WebhookVerificationError(
            "timestamp_too_new",
            f"webhook-timestamp is {int(-skew)} s in the future, more than the {tolerance} "
            "allowed; check the sender's and the receiver's clocks",
        )
    body = _as_bytes(payload)
    expected = [base64.b64encode(_digest(key, msg_id, timestamp, body)) for key in keys]
    received = _v1_signatures(signature_header)
    # compare_digest on every pair: no early exit that would time which secret matched.
    matched = False
    for signature in received:
        for digest in expected:
            matched |= hmac.compare_digest(signature, digest)
    if not matched:
        raise WebhookVerificationError(
            "no_matching_signature",
            "no v1 signature in webhook-signature matches the body with the secrets given; "
            "the body was changed, or the sender uses a secret this receiver does not have",
        )
