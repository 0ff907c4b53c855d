"""Signed webhooks over HTTP (httpx), in the Standard Webhooks scheme.

Each message is POSTed as JSON to the endpoint its ``recipient`` names, with the
``webhook-id`` (the dedup key, the same on every retry), ``webhook-timestamp`` and
``webhook-signature`` headers from :mod:`orderkit.notify.webhooks`; receivers verify with
:func:`orderkit.notify.webhooks.verify` or any Standard Webhooks library.

httpx is imported by this module alone: install it with ``pip install 'orderkit[webhooks]'``
(in a checkout of orderkit, ``pip install -e '.[webhooks]'``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from orderkit._extras import install_hint

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"orderkit.adapters.notify.webhook needs httpx ({exc}); {install_hint('webhooks')}"
    ) from exc

import attrs

from orderkit.adapters.notify.checks import check_message
from orderkit.clock import SystemClock, require_utc
from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.notify.message import Message
from orderkit.notify.webhooks import MIN_SECRET_BYTES, secret_key, signature_headers
from orderkit.ports import Clock

__all__ = ["WebhookChannel", "WebhookEndpoint", "webhook_body"]

_RETRYABLE_STATUS = frozenset({408, 425, 429})


def _secrets(value: Sequence[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_url(url: str) -> None:
    """Refuse a URL no request could go to; otherwise every send would fail, retryably."""
    if not isinstance(url, str):
        raise ValidationError("url", "must be a str")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError as exc:
        raise ValidationError("url", f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("url", f"{url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValidationError("url", f"{url!r} names no host")


@attrs.frozen
class WebhookEndpoint:
    """Where one named receiver listens, and the secrets to sign for it.

    Attributes:
        url: an ``http://`` or ``https://`` URL with a host.
        secrets: ``whsec_…`` secrets; every delivery is signed with each of them, so during
            a rotation the receiver accepts it with either the old or the new secret.

    Raises:
        ValidationError: a URL that is not http(s), has no host or a malformed port, no
            secret, or a secret that is not
            ``whsec_`` + base64 of at least 24 bytes.
    """

    url: str
    secrets: tuple[str, ...] = attrs.field(converter=_secrets)

    def __attrs_post_init__(self) -> None:
        _check_url(self.url)
        if not self.secrets:
            raise ValidationError("secrets", "give at least one secret")
        for i, secret in enumerate(self.secrets):
            if len(secret_key(secret, f"secrets[{i}]")) < MIN_SECRET_BYTES:
                raise ValidationError(
                    f"secrets[{i}]",
                    f"is shorter than {MIN_SECRET_BYTES} bytes; "
                    "make one with orderkit.notify.webhooks.generate_secret()",
                )

    def __repr__(self) -> str:  # never print secrets into logs
        return f"WebhookEndpoint(url={self.url!r}, secrets=<{len(self.secrets)} hidden>)"


def webhook_body(message: Message, timestamp: str) -> bytes:
    """The JSON body posted for ``message``: ``type``, ``timestamp``, ``id``, ``locale`` and
    ``data``, UTF-8, compact.

    Raises:
        InvalidMessage: ``data`` is not JSON-ready.
    """
    document: dict[str, Any] = {
        "type": message.kind,
        "timestamp": timestamp,
        "id": message.message_id,
        "locale": message.locale,
        "data": dict(message.data),
    }
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage("data", f"is not JSON-ready: {exc}") from exc
    return text.encode("utf-8")


class WebhookChannel:
    """POSTs each message, signed, to the endpoint named by its ``recipient``.

    Recipients are endpoint names, not URLs: the outbox stores only the name, and the URLs
    and secrets stay in the host's configuration, where they can be rotated.

    The channel keeps one ``httpx.Client`` (a connection pool), made on the first send and
    closed by :meth:`close` or by leaving a ``with`` block.

    Args:
        endpoints: endpoint name -> :class:`WebhookEndpoint`.
        timeout: seconds allowed for connecting, sending and for each read of the response.
        name: the channel name outbox entries use.
        transport: an httpx transport to send through (for example one with retries or a
            proxy); httpx's default when None. The channel closes it in :meth:`close`.
        clock: the time for ``webhook-timestamp``; the system clock when None.

    Raises:
        ValidationError: no endpoints, or a non-positive timeout.
    """

    def __init__(
        self,
        endpoints: Mapping[str, WebhookEndpoint],
        *,
        timeout: float = 10.0,
        name: str = "webhook",
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not endpoints:
            raise ValidationError("endpoints", "give at least one named endpoint")
        if timeout <= 0:
            raise ValidationError("timeout", f"must be positive seconds, got {timeout}")
        self._endpoints = dict(endpoints)
        self._timeout = timeout
        self._name = name
        self._transport = transport
        self._clock = clock or SystemClock()
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"WebhookChannel({sorted(self._endpoints)}, name={self._name!r})"

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool; a later send opens a new one."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def request_for(self, message: Message) -> httpx.Request:
        """The signed request :meth:`send` would post for ``message`` now.

        Raises:
            InvalidMessage: a header value contains a line break, the recipient names no
                endpoint, the dedup key is not ASCII, or ``data`` is not JSON-ready.
            DeliveryFailed: the channel's clock gives naive times (not retryable).
        """
        check_message(message)
        endpoint = self._endpoints.get(message.recipient)
        if endpoint is None:
            raise InvalidMessage(
                "recipient",
                f"{message.recipient!r} is not an endpoint of channel {self._name!r}; "
                f"known endpoints: {', '.join(sorted(self._endpoints))}",
            )
        if not message.dedup_key.isascii():
            raise InvalidMessage(
                "dedup_key",
                f"{message.dedup_key!r} must be ASCII: it travels in the webhook-id HTTP header",
            )
        now = self._clock.now()
        try:
            require_utc("clock.now()", now)
        except ValidationError as exc:
            # The channel's configuration, not the message, is wrong: retrying cannot help.
            raise DeliveryFailed(
                f"webhook channel {self._name!r} has a clock giving naive times ({now!r}); "
                "give it a clock with timezone-aware times",
                retryable=False,
            ) from exc
        body = webhook_body(message, now.isoformat())
        headers = signature_headers(message.dedup_key, now, body, endpoint.secrets)
        headers["content-type"] = "application/json"
        # A request made outside a client carries its own timeout (httpx reads it per request).
        timeout = httpx.Timeout(self._timeout).as_dict()
        return httpx.Request(
            "POST", endpoint.url, headers=headers, content=body, extensions={"timeout": timeout}
        )

    def send(self, message: Message) -> None:
        """POST one signed message; return once the endpoint answered 2xx.

        Raises:
            InvalidMessage: see :meth:`request_for`; nothing was sent (never retryable).
            DeliveryFailed: a network error, a timeout, 408, 425, 429 or 5xx (retryable);
                any other answer outside 2xx, redirects included (not retryable: the
                receiver refused it or the URL is wrong); the channel's clock gives naive
                times (not retryable; nothing was sent).
        """
        request = self.request_for(message)
        where = f"webhook endpoint {message.recipient!r} ({request.url})"
        try:
            response = self._http().send(request)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(
                f"{where} did not answer within {self._timeout} s", retryable=True
            ) from exc
        except httpx.RequestError as exc:  # connect, read, write, protocol, decoding
            raise DeliveryFailed(
                f"{where} could not be reached: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if response.is_success:
            return
        status = response.status_code
        retryable = status >= 500 or status in _RETRYABLE_STATUS
        raise DeliveryFailed(
            f"{where} answered {status} {response.reason_phrase}: {response.text[:200]!r}",
            retryable=retryable,
        )

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    transport=self._transport, timeout=self._timeout, follow_redirects=False
                )
            return self._client
