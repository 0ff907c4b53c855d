"""Real receiving sides for the channel tests, all on 127.0.0.1: an SMTP server (aiosmtpd),
an HTTP server for webhooks (http.server in a thread), and a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "HttpRequest",
    "SmtpSink",
    "WebhookReceiver",
    "free_port",
    "running_smtp",
    "self_signed_certificate",
]

REFUSED = "refused@example.com"  # RCPT TO answered 550
DEFERRED = "deferred@example.com"  # RCPT TO answered 450


def free_port() -> int:
    """A TCP port nothing listens on right now (aiosmtpd's controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.frozen
class SmtpDelivery:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    authenticated_as: str | None
    tls: bool


class SmtpSink:
    """An aiosmtpd handler that keeps every message and checks logins against one user."""

    def __init__(self, username: str = "shop", password: str = "s3cret-pw") -> None:
        self.deliveries: list[SmtpDelivery] = []
        self.mechanisms: list[str] = []
        self._username = username.encode()
        self._password = password.encode()
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such mailbox"
        if address == DEFERRED:
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        delivery = SmtpDelivery(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content or envelope.content,
            login,
            session.ssl is not None,
        )
        with self._lock:
            self.deliveries.append(delivery)
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self._username
            and auth_data.password == self._password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@contextmanager
def running_smtp(sink: SmtpSink, **options: Any) -> Iterator[int]:
    """Run an SMTP server for ``sink`` on 127.0.0.1; yields its port. ``options`` go to
    aiosmtpd's SMTP class (``tls_context``, ``require_starttls``, ``auth_required``, …)."""
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        server_hostname="mail.test",
        authenticator=sink.authenticate,
        **options,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files; the certificate is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@attrs.frozen
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every request and answers from a script.

    ``statuses`` are the answers to the next requests, in order; once used up, 200.
    ``delay`` makes every answer wait that many seconds first (for timeout tests).
    """

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                request = HttpRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._lock:
                    receiver.requests.append(request)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = b"ok" if status < 400 else b"nope"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
