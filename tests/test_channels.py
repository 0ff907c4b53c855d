"""The channel contract, run against every shipped channel and a real receiving side each:
memory (the list), files (a folder, as .eml and as .json), SMTP (an aiosmtpd server) and
webhooks (an HTTP server that verifies every signature)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from channel_servers import SmtpSink, WebhookReceiver, running_smtp
from orderkit.adapters.notify import FileChannel, MemoryChannel, SmtpChannel
from orderkit.adapters.notify.webhook import WebhookChannel, WebhookEndpoint
from orderkit.notify.webhooks import generate_secret, verify
from orderkit.ports import Channel
from orderkit.testing import ChannelContract
from orderkit.testing.channels import Received, received_from_email, received_from_message


class TestMemoryChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> MemoryChannel:
        return MemoryChannel()

    @pytest.fixture
    def make_channel(self, channel: MemoryChannel) -> Callable[[], Channel]:
        return lambda: channel

    @pytest.fixture
    def delivered(self, channel: MemoryChannel) -> Callable[[], list[Received]]:
        return lambda: [received_from_message(m) for m in channel.sent]


class TestFileChannelWritingEml(ChannelContract):
    carries = frozenset({"kind", "subject", "text", "html"})

    @pytest.fixture
    def make_channel(self, tmp_path: Path) -> Callable[[], Channel]:
        return lambda: FileChannel(tmp_path / "outbox", format="eml")

    @pytest.fixture
    def delivered(self, tmp_path: Path) -> Callable[[], list[Received]]:
        def read() -> list[Received]:
            files = sorted((tmp_path / "outbox").glob("*.eml"))
            return [received_from_email(path.read_bytes()) for path in files]

        return read


class TestFileChannelWritingJson(ChannelContract):
    @pytest.fixture
    def make_channel(self, tmp_path: Path) -> Callable[[], Channel]:
        return lambda: FileChannel(tmp_path / "outbox", format="json")

    @pytest.fixture
    def delivered(self, tmp_path: Path) -> Callable[[], list[Received]]:
        def read() -> list[Received]:
            received = []
            for path in sorted((tmp_path / "outbox").glob("*.json")):
                document = json.loads(path.read_text(encoding="utf-8"))
                received.append(
                    Received(
                        recipient=document["recipient"],
                        dedup_key=document["dedup_key"],
                        kind=document["kind"],
                        subject=document["subject"],
                        text=document["text"],
                        html=document["html"],
                        data=document["data"],
                    )
                )
            return received

        return read


class TestSmtpChannel(ChannelContract):
    carries = frozenset({"kind", "subject", "text", "html"})

    @pytest.fixture
    def sink(self) -> SmtpSink:
        return SmtpSink()

    @pytest.fixture
    def make_channel(self, sink: SmtpSink) -> Iterator[Callable[[], Channel]]:
        with running_smtp(sink) as port:
            yield lambda: SmtpChannel(
                "127.0.0.1", port, sender="Tea Shop <orders@tea.example>", timeout=5
            )

    @pytest.fixture
    def delivered(self, sink: SmtpSink) -> Callable[[], list[Received]]:
        return lambda: [received_from_email(d.content) for d in sink.deliveries]


class TestWebhookChannel(ChannelContract):
    recipient = "erp"
    carries = frozenset({"kind", "data"})
    SECRET = generate_secret()

    @pytest.fixture
    def receiver(self) -> Iterator[WebhookReceiver]:
        with WebhookReceiver() as receiver:
            yield receiver

    @pytest.fixture
    def make_channel(self, receiver: WebhookReceiver) -> Iterator[Callable[[], Channel]]:
        endpoint = WebhookEndpoint(receiver.url("/hooks/erp"), [self.SECRET])
        with WebhookChannel({"erp": endpoint}, timeout=5) as channel:
            yield lambda: channel

    @pytest.fixture
    def delivered(self, receiver: WebhookReceiver) -> Callable[[], list[Received]]:
        def read() -> list[Received]:
            received = []
            for request in receiver.requests:
                verify(request.body, request.headers, [self.SECRET])  # or it never arrived
                document = json.loads(request.body)
                received.append(
                    Received(
                        recipient=request.path.rsplit("/", 1)[-1],
                        dedup_key=request.headers["webhook-id"],
                        kind=document["type"],
                        data=document["data"],
                    )
                )
            return received

        return read


DOCS_CHANNELS = Path(__file__).resolve().parents[1] / "docs" / "channels.md"


def documented_files() -> dict[str, str]:
    """The python blocks of docs/channels.md that start with a ``# name.py`` line, by name."""
    from test_docs import parse_markdown

    doc = parse_markdown(DOCS_CHANNELS.read_text(encoding="utf-8"), "docs/channels.md")
    return {
        block.lines[0].removeprefix("# "): block.source
        for block in doc.python_blocks
        if block.lines and block.lines[0].startswith("# ") and block.lines[0].endswith(".py")
    }


def contract_test_count() -> int:
    """How many tests ChannelContract runs, parametrized cases included."""
    count = 0
    for name in dir(ChannelContract):
        if name.startswith("test_"):
            marks = getattr(getattr(ChannelContract, name), "pytestmark", [])
            count += math.prod(len(m.args[1]) for m in marks if m.name == "parametrize")
    return count


def test_the_documented_sms_channel_passes_the_channel_contract(
    pytester: pytest.Pytester,
) -> None:
    files = documented_files()
    pytester.makepyfile(sms=files["sms.py"], test_sms=files["test_sms.py"])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=contract_test_count())
