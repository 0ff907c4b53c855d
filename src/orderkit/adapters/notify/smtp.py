"""Email over SMTP, with the standard library's ``smtplib``.

Each :meth:`SmtpChannel.send` opens its own connection (EHLO, optional STARTTLS and login,
one message, QUIT). Notifications leave an outbox a few at a time, so a pooled session would
save little and would need health checks for servers that drop idle clients; a connection
per message also keeps the channel safe to share between dispatcher threads.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from orderkit.adapters.notify.mime import build_email, parse_address
from orderkit.clock import SystemClock
from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.notify.message import Message
from orderkit.ports import Clock

__all__ = ["SmtpChannel"]


def _retryable_code(code: int) -> bool:
    """SMTP replies: 4xx is a temporary failure (try later), 5xx a permanent one."""
    return 400 <= code < 500


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class SmtpChannel:
    """Sends each message as an email (text, plus HTML when present) through an SMTP server.

    Args:
        host: the SMTP server.
        port: 587 for STARTTLS, 465 for implicit TLS (``ssl=True``), 25 for a local relay.
        sender: the From address, e.g. ``"Tea Shop <orders@tea.example>"``.
        starttls: upgrade the connection with STARTTLS before logging in.
        ssl: connect over TLS from the start (SMTPS); not together with ``starttls``.
        username: log in as this user (PLAIN or LOGIN, whichever the server offers).
        password: the password for ``username``.
        timeout: seconds to wait for the server on each network operation.
        name: the channel name outbox entries use.
        local_hostname: the name sent with EHLO; the machine's FQDN when None.
        ssl_context: how to verify the server's certificate; the system's trusted CAs
            (``ssl.create_default_context()``) when None.
        clock: the time for the Date header; the system clock when None.

    Raises:
        ValidationError: contradictory options (``ssl`` and ``starttls``, a username without
            a password, a login over plain text), credentials that are not ASCII, or a sender
            that is not one address.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        starttls: bool = False,
        ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        name: str = "email",
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if starttls and ssl:
            raise ValidationError(
                "starttls", "choose one: starttls=True (port 587) or ssl=True (port 465)"
            )
        if (username is None) != (password is None):
            raise ValidationError("password", "give both username and password, or neither")
        if username is not None and not (starttls or ssl):
            raise ValidationError(
                "username",
                "logging in without TLS would send the password in clear; "
                "set starttls=True or ssl=True",
            )
        for field, value in (("username", username), ("password", password)):
            if value is not None and not value.isascii():
                # smtplib encodes AUTH PLAIN and LOGIN credentials as ASCII and fails late.
                raise ValidationError(field, "must be ASCII; smtplib cannot send other text")
        if timeout <= 0:
            raise ValidationError("timeout", f"must be positive seconds, got {timeout}")
        try:
            parse_address("sender", sender)
        except InvalidMessage as exc:
            raise ValidationError("sender", exc.message.removeprefix("sender: ")) from None
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._ssl = ssl
        self._username = username
        self._password = password
        self._timeout = timeout
        self._name = name
        self._local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._clock = clock or SystemClock()

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        security = "ssl" if self._ssl else "starttls" if self._starttls else "plain"
        return f"SmtpChannel({self._host!r}, {self._port}, {security}, name={self._name!r})"

    def build(self, message: Message) -> EmailMessage:
        """The email :meth:`send` would send for ``message``.

        Raises:
            InvalidMessage: see :func:`~orderkit.adapters.notify.mime.build_email`.
        """
        return build_email(message, sender=self._sender, date=self._clock.now())

    def send(self, message: Message) -> None:
        """Send one message over a new SMTP connection.

        Raises:
            InvalidMessage: a header would carry a line break, or the recipient is not one
                email address; nothing was sent (never retryable).
            DeliveryFailed: the server refused the message (5xx, not retryable), deferred it
                (4xx, retryable), could not be reached or timed out (retryable), or its
                certificate could not be verified (not retryable: fix the trust settings).
                Once the server has accepted the message nothing is raised: a failed QUIT
                does not make it a failure to be sent again.
        """
        mail = self.build(message)
        envelope_from = parse_address("sender", self._sender).addr_spec
        envelope_to = parse_address("recipient", message.recipient).addr_spec
        try:
            smtp = self._connect()
            try:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(mail, from_addr=envelope_from, to_addrs=[envelope_to])
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryFailed(
                f"{self._where()} refused recipient {envelope_to!r}: {code} {_reply_text(reply)}",
                retryable=_retryable_code(code),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"{self._where()} answered {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                retryable=_retryable_code(exc.smtp_code),
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryFailed(
                f"{self._where()} lacks an extension this send needs ({exc}); check the "
                "starttls and username options, or use ASCII addresses (no SMTPUTF8)",
                retryable=False,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(
                f"{self._where()} presented a certificate that could not be verified "
                f"({exc.verify_message}); pass an ssl_context that trusts it",
                retryable=False,
            ) from exc
        except OSError as exc:
            # Connection refused or reset, DNS failure, timeout, a server that hung up
            # (SMTPServerDisconnected is an OSError too): all may pass.
            raise DeliveryFailed(
                f"{self._where()} could not be reached: {type(exc).__name__}: {exc}",
                retryable=True,
            ) from exc
        # The server has accepted the message: whatever QUIT brings (a 421, a reset), the
        # mail was delivered, and raising now would have the dispatcher send it again.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def _where(self) -> str:
        return f"SMTP server {self._host}:{self._port}"

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self._ssl:
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self._host, self._port, local_hostname=self._local_hostname, timeout=self._timeout
        )
