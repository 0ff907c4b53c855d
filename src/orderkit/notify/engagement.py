"""Open and click tracking for HTML receipts, with signed click links.

The host serves two endpoints: an image at ``{open_base}/{message_id}`` that records an open,
and a redirect at ``click_base`` that records a click and sends the reader on. Every link in
a tracked HTML receipt points at the redirect with the target URL and an HMAC-SHA256
signature; :func:`verify_click` checks that signature before the host redirects, so the
endpoint cannot be used to send people to an address orderkit did not write (an open
redirect).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, quote, urlencode

import attrs

from orderkit.errors import InvalidTrackingLink, ValidationError

__all__ = ["TrackingLinks", "sign_click", "verify_click"]

# Links as orderkit's templates write them: <a ... href="http(s)://..."> with double quotes.
_LINK = re.compile(r'(<a\b[^>]*?\bhref=")(https?://[^"]+)(")', re.IGNORECASE)
_BODY_END = re.compile(r"</body>", re.IGNORECASE)


def _secret(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    if len(data) < 16:
        raise ValidationError("secret", "use a random secret of at least 16 bytes")
    return data


def sign_click(secret: str | bytes, message_id: str, url: str) -> str:
    """The hex HMAC-SHA256 of ``message_id`` and ``url`` under ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{message_id}\n{url}".encode(), hashlib.sha256).hexdigest()


@attrs.frozen
class TrackingLinks:
    """Where the host records opens and clicks, and the secret click links are signed with.

    Args:
        open_base: the image endpoint; the pixel is ``{open_base}/{message_id}``.
        click_base: the redirect endpoint; links become ``{click_base}?m=…&u=…&s=…``.
        secret: at least 16 bytes (or characters); keep it out of source control.

    Raises:
        ValidationError: a base that is not an http(s) URL, or a short secret.
    """

    open_base: str
    click_base: str
    secret: bytes = attrs.field(converter=_secret, repr=False)

    def __attrs_post_init__(self) -> None:
        for field in ("open_base", "click_base"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise ValidationError(field, f"must be an http(s) URL, got {value!r}")

    def open_url(self, message_id: str) -> str:
        return f"{self.open_base.rstrip('/')}/{quote(message_id, safe='')}"

    def click_url(self, message_id: str, url: str) -> str:
        query = urlencode(
            {"m": message_id, "u": url, "s": sign_click(self.secret, message_id, url)}
        )
        return f"{self.click_base}?{query}"

    def apply(self, html_text: str, message_id: str) -> str:
        """Route every http(s) link of ``html_text`` through the click endpoint and add the
        open pixel before ``</body>``."""

        def rewrite(match: re.Match[str]) -> str:
            target = html.unescape(match.group(2))
            return match.group(1) + html.escape(self.click_url(message_id, target)) + match.group(3)

        tracked = _LINK.sub(rewrite, html_text)
        pixel = (
            f'<img src="{html.escape(self.open_url(message_id))}" width="1" height="1" alt="" '
            'style="display:block;width:1px;height:1px;border:0;">'
        )
        ends = list(_BODY_END.finditer(tracked))
        if not ends:
            return tracked + pixel
        at = ends[-1].start()
        return tracked[:at] + pixel + tracked[at:]


def verify_click(query: str | Mapping[str, str], secret: str | bytes) -> tuple[str, str]:
    """Check a click link's signature; return ``(message_id, url)`` to record and redirect to.

    Args:
        query: the request's query string (``m=…&u=…&s=…``) or its parameters as a mapping.
        secret: the secret the links were signed with.

    Raises:
        InvalidTrackingLink: a parameter is missing or repeated, or the signature does not
            match: do not redirect.
    """
    if isinstance(query, str):
        parsed = parse_qs(query, keep_blank_values=True)
        params: dict[str, str] = {}
        for name in ("m", "u", "s"):
            values = parsed.get(name, [])
            if len(values) != 1:
                raise InvalidTrackingLink(name, "expected exactly once in the click link")
            params[name] = values[0]
    else:
        params = {name: query.get(name, "") for name in ("m", "u", "s")}
    message_id, url, signature = params["m"], params["u"], params["s"]
    if not message_id or not url.startswith(("https://", "http://")):
        raise InvalidTrackingLink("u", "the click link has no message id or no http(s) target")
    expected = sign_click(secret, message_id, url)
    if not hmac.compare_digest(expected, signature):
        raise InvalidTrackingLink("s", "the signature does not match; refuse the redirect")
    return message_id, url
