"""SmtpChannel against a real SMTP server (aiosmtpd on 127.0.0.1): the email on the wire,
STARTTLS and SMTPS with a certificate made here, logins, and how failures map to
DeliveryFailed(retryable=...)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import socket
import ssl
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from channel_servers import (
    DEFERRED,
    REFUSED,
    SmtpSink,
    free_port,
    running_smtp,
    self_signed_certificate,
)
from orderkit.adapters.notify import SmtpChannel
from orderkit.adapters.notify.mime import message_id_for
from orderkit.clock import FixedClock
from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.testing.channels import sample_message

SENDER = "Tea Shop <orders@tea.example>"
SENT_AT = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def sink() -> SmtpSink:
    return SmtpSink(username="shop", password="s3cret-pw")


@pytest.fixture
def port(sink: SmtpSink) -> Iterator[int]:
    with running_smtp(sink) as port:
        yield port


def channel(port: int, **options: Any) -> SmtpChannel:
    options.setdefault("clock", FixedClock(SENT_AT))
    return SmtpChannel("127.0.0.1", port, sender=SENDER, timeout=5, **options)


def delivered_email(sink: SmtpSink) -> EmailMessage:
    [delivery] = sink.deliveries
    mail = email.message_from_bytes(delivery.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def failure(send: Any) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        send()
    return caught.value


# -- the email on the wire ------------------------------------------------------------------


def test_the_email_has_from_to_date_and_the_orderkit_headers(sink: SmtpSink, port: int) -> None:
    channel(port).send(sample_message(recipient="Lin Wei <lin.wei@example.cn>", dedup_key="k-1"))
    mail = delivered_email(sink)
    expected = {
        "From": SENDER,
        "To": "Lin Wei <lin.wei@example.cn>",
        "Date": email.utils.format_datetime(SENT_AT),
        "X-Orderkit-Dedup-Key": "k-1",
        "X-Orderkit-Kind": "order_placed",
    }
    assert expected == {name: str(mail[name]) for name in expected}


def test_the_message_id_is_derived_from_the_dedup_key(sink: SmtpSink, port: int) -> None:
    channel(port).send(sample_message(dedup_key="order-9:shipped"))
    assert message_id_for("order-9:shipped", "tea.example") == str(
        delivered_email(sink)["Message-ID"]
    )


def test_a_resent_message_carries_the_same_message_id(sink: SmtpSink, port: int) -> None:
    smtp = channel(port)
    message = sample_message()
    smtp.send(message)
    smtp.send(message)
    ids = {
        str(email.message_from_bytes(d.content, policy=email.policy.default)["Message-ID"])
        for d in sink.deliveries
    }
    assert 1 == len(ids)


def test_a_chinese_subject_is_rfc2047_encoded_on_the_wire_and_decodes_back(
    sink: SmtpSink, port: int
) -> None:
    channel(port).send(sample_message(subject="订单 SO-2026-000123 已发货"))
    raw_headers = sink.deliveries[0].content.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?b?" in raw_headers
    assert "订单 SO-2026-000123 已发货" == str(delivered_email(sink)["Subject"])


def test_the_text_and_html_parts_decode_to_the_rendered_receipt_with_its_amounts(
    sink: SmtpSink, port: int
) -> None:
    text = "林伟，您好：\n商品合计 ¥1,180.00\n运费 ¥12.00\n应付 ¥1,192.00\n"
    html = "<p>应付 <b>¥1,192.00</b></p>"
    channel(port).send(sample_message(text=text, html=html))
    mail = delivered_email(sink)
    parts = {part.get_content_type(): part.get_content() for part in mail.iter_parts()}
    assert "multipart/alternative" == mail.get_content_type()
    assert {"text/plain": text, "text/html": html + "\n"} == {
        kind: content.replace("\r\n", "\n") for kind, content in parts.items()
    }


def test_a_message_without_html_is_a_single_text_part(sink: SmtpSink, port: int) -> None:
    channel(port).send(sample_message(html=None))
    assert "text/plain" == delivered_email(sink).get_content_type()


def test_the_envelope_carries_the_bare_addresses(sink: SmtpSink, port: int) -> None:
    channel(port).send(sample_message(recipient="Lin Wei <lin.wei@example.cn>"))
    [delivery] = sink.deliveries
    assert ("orders@tea.example", ("lin.wei@example.cn",)) == (
        delivery.mail_from,
        delivery.rcpt_tos,
    )


# -- TLS and login --------------------------------------------------------------------------


def test_starttls_upgrades_the_connection_before_the_message_is_sent(
    sink: SmtpSink, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp(sink, tls_context=server_tls, require_starttls=True) as port:
        channel(port, starttls=True, ssl_context=client_tls).send(sample_message())
    assert [True] == [d.tls for d in sink.deliveries]


def test_smtps_delivers_over_tls_from_the_first_byte(
    sink: SmtpSink, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp(sink, ssl_context=server_tls) as port:
        channel(port, ssl=True, ssl_context=client_tls).send(sample_message())
    assert 1 == len(sink.deliveries)


def test_a_server_certificate_the_client_does_not_trust_is_a_permanent_failure(
    sink: SmtpSink, server_tls: ssl.SSLContext
) -> None:
    with running_smtp(sink, tls_context=server_tls, require_starttls=True) as port:
        error = failure(lambda: channel(port, starttls=True).send(sample_message()))
    assert (False, []) == (error.retryable, sink.deliveries)


def test_starttls_asked_of_a_server_that_does_not_offer_it_is_a_permanent_failure(
    sink: SmtpSink, port: int, client_tls: ssl.SSLContext
) -> None:
    error = failure(
        lambda: channel(port, starttls=True, ssl_context=client_tls).send(sample_message())
    )
    assert (False, []) == (error.retryable, sink.deliveries)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_the_channel_logs_in_with_the_mechanism_the_server_offers(
    sink: SmtpSink,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    mechanism: str,
) -> None:
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    options = {"tls_context": server_tls, "auth_required": True}
    with running_smtp(sink, auth_exclude_mechanism=[other], **options) as port:
        smtp = channel(
            port, starttls=True, ssl_context=client_tls, username="shop", password="s3cret-pw"
        )
        smtp.send(sample_message())
    assert ([mechanism], ["shop"]) == (
        sink.mechanisms,
        [d.authenticated_as for d in sink.deliveries],
    )


def test_a_wrong_password_is_a_permanent_failure(
    sink: SmtpSink, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp(sink, tls_context=server_tls, auth_required=True) as port:
        smtp = channel(
            port, starttls=True, ssl_context=client_tls, username="shop", password="wrong"
        )
        error = failure(lambda: smtp.send(sample_message()))
    assert (False, []) == (error.retryable, sink.deliveries)


# -- failures -------------------------------------------------------------------------------


def test_a_recipient_the_server_refuses_with_550_is_a_permanent_failure(
    sink: SmtpSink, port: int
) -> None:
    error = failure(lambda: channel(port).send(sample_message(recipient=REFUSED)))
    assert (False, True) == (error.retryable, "550" in str(error))


def test_a_recipient_the_server_defers_with_450_is_retryable(sink: SmtpSink, port: int) -> None:
    error = failure(lambda: channel(port).send(sample_message(recipient=DEFERRED)))
    assert (True, True) == (error.retryable, "450" in str(error))


class QuitRefusingSink(SmtpSink):
    """Accepts every message, then answers QUIT with 421 instead of 221."""

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return "421 4.3.0 Shutting down"


def test_a_message_the_server_accepted_counts_as_sent_when_quit_then_fails() -> None:
    sink = QuitRefusingSink()
    with running_smtp(sink) as quit_refusing_port:
        channel(quit_refusing_port).send(sample_message())
    assert 1 == len(sink.deliveries)


def test_a_server_that_is_down_is_retryable() -> None:
    error = failure(lambda: channel(free_port()).send(sample_message()))
    assert error.retryable is True


def test_a_server_that_never_greets_times_out_as_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        smtp = SmtpChannel("127.0.0.1", port, sender=SENDER, timeout=0.2)
        error = failure(lambda: smtp.send(sample_message()))
    assert error.retryable is True


def test_a_recipient_that_is_not_an_email_address_is_refused_before_connecting() -> None:
    # Nothing listens on the port: getting InvalidMessage, not a retryable connection
    # failure, shows the channel never tried to connect.
    with pytest.raises(InvalidMessage) as caught:
        channel(free_port()).send(sample_message(recipient="erp"))
    assert "recipient" == caught.value.field


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"starttls": True, "ssl": True}, "starttls"),
        ({"starttls": True, "username": "shop"}, "password"),
        ({"username": "shop", "password": "pw"}, "username"),
        ({"starttls": True, "username": "shop", "password": "密码"}, "password"),
        ({"timeout": 0}, "timeout"),
        ({"sender": "not an address"}, "sender"),
        ({"sender": "shop@tea.example\r\nBcc: x@example.com"}, "sender"),
    ],
    ids=[
        "starttls-and-ssl",
        "no-password",
        "login-in-clear",
        "non-ascii-password",
        "timeout",
        "sender",
        "sender-crlf",
    ],
)
def test_contradictory_or_malformed_options_are_refused(
    options: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"sender": SENDER, **options}
    with pytest.raises(ValidationError) as caught:
        SmtpChannel("127.0.0.1", 587, **arguments)
    assert field == caught.value.field


def test_making_a_channel_opens_no_connection() -> None:
    smtp = SmtpChannel("127.0.0.1", free_port(), sender=SENDER)  # nothing listens there
    assert "email" == smtp.name
