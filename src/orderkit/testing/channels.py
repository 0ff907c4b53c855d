"""The channel contract: one suite every notification channel passes, errors included.

Subclass :class:`ChannelContract` in a test module (its name must start with ``Test``) and
provide two fixtures:

- ``make_channel``: a zero-argument callable returning the channel under test, wired to a
  receiving side the test controls (a local SMTP server, a local HTTP server, a folder, a
  fake SMS gateway). The fixture owns cleanup.
- ``delivered``: a zero-argument callable returning what that receiving side has received
  so far, as :class:`Received` values, oldest first.

Two class attributes describe the channel: ``recipient`` (a valid recipient in the channel's
terms: an email address, an endpoint name, a phone number) and ``carries`` (which parts of a
:class:`~orderkit.notify.message.Message` reach the far side: an email carries the subject,
text and HTML, a webhook the kind and data). The suite compares exactly those parts, so a
channel cannot pass by delivering nothing, and is not failed for leaving out what it never
promised to send.

The suite checks what the far side gets (subject, text, HTML, data, Chinese and Japanese
intact, amounts, long lines, a line holding only a dot), that the dedup key reaches it on
every copy, and the error contract: a CR or LF in the subject or recipient is refused with
:class:`~orderkit.errors.InvalidMessage` before anything is sent, and the channel goes on
working afterwards.
"""

from __future__ import annotations

import email
import email.policy
import itertools
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any, ClassVar

import attrs
import pytest

from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.notify.message import Message, frozen_mapping
from orderkit.ports import Channel

__all__ = [
    "ALL_PARTS",
    "ChannelContract",
    "Received",
    "received_from_email",
    "received_from_message",
    "sample_message",
]

ALL_PARTS: frozenset[str] = frozenset({"kind", "subject", "text", "html", "data"})
"""Every part of a message a channel may carry besides the recipient and dedup key."""


def _frozen_or_none(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else frozen_mapping(value)


@attrs.frozen
class Received:
    """One message as the receiving side got it; a part the channel does not carry is None."""

    recipient: str
    dedup_key: str
    kind: str | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    data: Mapping[str, Any] | None = attrs.field(default=None, converter=_frozen_or_none)


def received_from_message(message: Message) -> Received:
    """What a receiver that gets the :class:`Message` value itself has received."""
    return Received(
        recipient=message.recipient,
        dedup_key=message.dedup_key,
        kind=message.kind,
        subject=message.subject,
        text=message.text,
        html=message.html,
        data=message.data,
    )


def received_from_email(raw: bytes) -> Received:
    """What an email (as delivered to a mail server, or written to an ``.eml`` file) holds:
    headers decoded, the text and HTML parts decoded to str."""
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    text_part = mail.get_body(preferencelist=("plain",))
    html_part = mail.get_body(preferencelist=("html",))
    return Received(
        recipient=str(mail["To"]),
        dedup_key=str(mail["X-Orderkit-Dedup-Key"]),
        kind=str(mail["X-Orderkit-Kind"]),
        subject=str(mail["Subject"]),
        text=None if text_part is None else str(text_part.get_content()),
        html=None if html_part is None else str(html_part.get_content()),
    )


_counter = itertools.count(1)


def sample_message(**changes: Any) -> Message:
    """A receipt-like message with amounts, in English; ``changes`` override any field.

    Each call gets a new ``message_id`` and ``dedup_key`` unless given.
    """
    n = next(_counter)
    fields: dict[str, Any] = {
        "message_id": f"msg-{n:06d}",
        "dedup_key": f"order-{n:06d}:order_placed",
        "kind": "order_placed",
        "recipient": "lin.wei@example.cn",
        "subject": f"Order SO-2026-{n:06d} confirmed",
        "text": "Thank you for your order.\nTotal: US$1,234.50\nShipping: US$12.00\n",
        "html": "<p>Thank you for your order.</p><p>Total: <b>US$1,234.50</b></p>",
        "data": {"order_number": f"SO-2026-{n:06d}", "total": {"amount": "1234.50"}},
        "locale": "en",
    }
    fields.update(changes)
    return Message(**fields)


def _same_lines(value: str | None) -> str | None:
    """Line endings and trailing newlines are the transport's business, not the content's."""
    return None if value is None else value.replace("\r\n", "\n").rstrip("\n")


MakeChannel = Callable[[], Channel]
Delivered = Callable[[], list[Received]]


class ChannelContract:
    """Tests every :class:`~orderkit.ports.Channel` passes. See the module docstring."""

    recipient: ClassVar[str] = "lin.wei@example.cn"
    carries: ClassVar[frozenset[str]] = ALL_PARTS

    # -- helpers ---------------------------------------------------------------------------

    def message(self, **changes: Any) -> Message:
        """A sample message addressed to this channel's :attr:`recipient`."""
        return sample_message(**{"recipient": self.recipient, **changes})

    def expected(self, message: Message) -> Received:
        """What the far side should hold for ``message``, given what the channel carries."""
        full = received_from_message(message)
        return Received(
            recipient=message.recipient,
            dedup_key=message.dedup_key,
            kind=full.kind if "kind" in self.carries else None,
            subject=full.subject if "subject" in self.carries else None,
            text=_same_lines(full.text) if "text" in self.carries else None,
            html=_same_lines(full.html) if "html" in self.carries else None,
            data=full.data if "data" in self.carries else None,
        )

    def normalized(self, received: Received) -> Received:
        return attrs.evolve(
            received, text=_same_lines(received.text), html=_same_lines(received.html)
        )

    def received_now(self, delivered: Delivered) -> list[Received]:
        return [self.normalized(item) for item in delivered()]

    # -- what arrives ----------------------------------------------------------------------

    def test_the_channel_has_a_name(self, make_channel: MakeChannel) -> None:
        name = make_channel().name
        assert isinstance(name, str)
        assert name.strip() != ""

    def test_the_contract_declares_parts_the_channel_carries(self) -> None:
        assert self.carries, "a channel must carry at least one part of a message"
        assert self.carries <= ALL_PARTS, f"unknown parts: {sorted(self.carries - ALL_PARTS)}"

    def test_a_sent_message_arrives_once_with_every_part_the_channel_carries(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        message = self.message()
        make_channel().send(message)
        assert [self.expected(message)] == self.received_now(delivered)

    def test_chinese_and_japanese_arrive_intact(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        message = self.message(
            subject="订单 SO-2026-000123 已确认 · ご注文ありがとうございます",
            text="您好，林伟：\n合计 ¥1,234.50（含税）\n発送予定日：11月25日 🍵\n",
            html="<p>合计 <b>¥1,234.50</b></p><p>ご注文ありがとうございます</p>",
            data={"customer": "林伟", "note": "ご注文ありがとうございます", "total": "¥1,234.50"},
            locale="zh_Hans",
        )
        make_channel().send(message)
        assert [self.expected(message)] == self.received_now(delivered)

    def test_the_amounts_in_the_text_arrive_as_written(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        message = self.message(text="Total: €1.234,50\nTax: €197,10\nRefund: -US$3.00\n")
        make_channel().send(message)
        received = self.received_now(delivered)
        if "text" in self.carries:
            assert ["Total: €1.234,50\nTax: €197,10\nRefund: -US$3.00"] == [
                item.text for item in received
            ]
        else:
            assert [self.expected(message)] == received

    def test_a_message_without_html_arrives_without_html(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        message = self.message(html=None)
        make_channel().send(message)
        assert [self.expected(message)] == self.received_now(delivered)

    def test_long_lines_and_a_line_holding_only_a_dot_arrive_intact(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        # SMTP ends a message at a line holding only "." and limits lines to 998 bytes.
        message = self.message(text="first\n.\n" + "长" * 1500 + "\n..\nlast\n")
        make_channel().send(message)
        assert [self.expected(message)] == self.received_now(delivered)

    def test_several_messages_each_arrive_once(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        channel = make_channel()
        messages = [self.message() for _ in range(3)]
        for message in messages:
            channel.send(message)
        expected = sorted((self.expected(m) for m in messages), key=lambda r: r.dedup_key)
        actual = sorted(self.received_now(delivered), key=lambda r: r.dedup_key)
        assert expected == actual

    # -- dedup keys ------------------------------------------------------------------------

    def test_the_dedup_key_reaches_the_receiving_side(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        make_channel().send(self.message(dedup_key="order-42:shipped:1"))
        assert ["order-42:shipped:1"] == [item.dedup_key for item in delivered()]

    def test_every_copy_of_a_resent_message_carries_the_same_dedup_key(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        channel = make_channel()
        message = self.message(dedup_key="order-7:order_placed")
        channel.send(message)
        channel.send(attrs.evolve(message, message_id="msg-retry"))
        keys = [item.dedup_key for item in delivered()]
        # A receiver that honours dedup keys keeps one copy; one that does not keeps two.
        assert keys in (["order-7:order_placed"], ["order-7:order_placed"] * 2)

    # -- refused before sending ------------------------------------------------------------

    @pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
    def test_a_line_break_in_the_subject_is_refused_before_anything_is_sent(
        self, make_channel: MakeChannel, delivered: Delivered, line_break: str
    ) -> None:
        message = self.message(subject=f"Your order{line_break}Bcc: victim@example.com")
        with pytest.raises(InvalidMessage) as caught:
            make_channel().send(message)
        assert "subject" == caught.value.field
        assert [] == delivered()

    def test_a_line_break_in_the_recipient_is_refused_before_anything_is_sent(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        message = self.message(recipient=f"{self.recipient}\r\nBcc: victim@example.com")
        with pytest.raises(InvalidMessage) as caught:
            make_channel().send(message)
        assert "recipient" == caught.value.field
        assert [] == delivered()

    def test_a_refused_message_is_a_validation_error_and_a_permanent_delivery_failure(
        self, make_channel: MakeChannel
    ) -> None:
        with pytest.raises(InvalidMessage) as caught:
            make_channel().send(self.message(subject="a\nb"))
        assert isinstance(caught.value, ValidationError)
        assert isinstance(caught.value, DeliveryFailed)
        assert caught.value.retryable is False

    def test_the_channel_still_delivers_after_refusing_a_message(
        self, make_channel: MakeChannel, delivered: Delivered
    ) -> None:
        channel = make_channel()
        with pytest.raises(InvalidMessage):
            channel.send(self.message(subject="a\nb"))
        message = self.message()
        channel.send(message)
        assert [self.expected(message)] == self.received_now(delivered)
