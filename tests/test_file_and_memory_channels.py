"""What FileChannel and MemoryChannel do beyond the channel contract: file names and
overwrites, the .eml being the SMTP email, failures on demand, dedup and threads."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from orderkit.adapters.notify import FileChannel, MemoryChannel, build_email
from orderkit.adapters.notify.files import file_stem
from orderkit.clock import FixedClock
from orderkit.errors import DeliveryFailed, ValidationError
from orderkit.testing.channels import sample_message

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

# -- FileChannel ---------------------------------------------------------------------------------


def test_a_resent_message_replaces_its_file_instead_of_adding_one(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    message = sample_message(dedup_key="order-1:order_placed")
    channel.send(message)
    channel.send(message)
    assert [channel.path_for(message)] == sorted(tmp_path.iterdir())


def test_the_file_is_named_after_the_dedup_key(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path, format="json")
    path = channel.path_for(sample_message(dedup_key="order-1:order_placed"))
    assert (True, ".json") == (path.name.startswith("order-1_order_placed-"), path.suffix)


def test_keys_that_read_alike_get_different_files() -> None:
    assert file_stem("order/1") != file_stem("order_1")


def test_the_eml_file_is_the_email_smtp_would_send(tmp_path: Path) -> None:
    sender = "Tea Shop <orders@tea.example>"
    message = sample_message()
    FileChannel(tmp_path, sender=sender, clock=FixedClock(NOW)).send(message)
    [path] = tmp_path.iterdir()
    assert bytes(build_email(message, sender=sender, date=NOW)) == path.read_bytes()


def test_the_json_file_holds_the_whole_message(tmp_path: Path) -> None:
    message = sample_message(data={"total": "¥1,192.00"}, locale="zh_Hans")
    FileChannel(tmp_path, format="json").send(message)
    [path] = tmp_path.iterdir()
    expected = {
        "message_id": message.message_id,
        "dedup_key": message.dedup_key,
        "kind": "order_placed",
        "recipient": message.recipient,
        "locale": "zh_Hans",
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "data": {"total": "¥1,192.00"},
    }
    assert expected == json.loads(path.read_text(encoding="utf-8"))


def test_the_folder_is_made_on_the_first_send_not_before(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path / "mail" / "out")
    before = (tmp_path / "mail").exists()
    channel.send(sample_message())
    assert (False, 1) == (before, len(list(channel.folder.iterdir())))


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    for _ in range(3):
        channel.send(sample_message())
    assert [] == [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_folder_that_cannot_be_made_is_a_retryable_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DeliveryFailed) as caught:
        FileChannel(blocker / "out").send(sample_message())
    assert caught.value.retryable is True


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        FileChannel("out", format="txt")  # type: ignore[arg-type]
    assert "format" == caught.value.field


# -- MemoryChannel ---------------------------------------------------------------------------------


def test_the_memory_channel_fails_as_often_as_told_then_delivers() -> None:
    channel = MemoryChannel()
    channel.fail_next(2, retryable=False)
    outcomes = []
    for _ in range(3):
        try:
            channel.send(sample_message(dedup_key="k"))
            outcomes.append("sent")
        except DeliveryFailed as exc:
            outcomes.append(f"failed retryable={exc.retryable}")
    assert ["failed retryable=False", "failed retryable=False", "sent"] == outcomes


def test_honouring_dedup_keeps_one_copy_of_a_repeated_key() -> None:
    channel = MemoryChannel()
    channel.send(sample_message(dedup_key="k", message_id="first"))
    channel.send(sample_message(dedup_key="k", message_id="retry"))
    assert ["first"] == [m.message_id for m in channel.sent]


def test_without_honouring_dedup_every_send_is_kept() -> None:
    channel = MemoryChannel(honour_dedup=False)
    channel.send(sample_message(dedup_key="k", message_id="first"))
    channel.send(sample_message(dedup_key="k", message_id="retry"))
    assert ["first", "retry"] == [m.message_id for m in channel.sent]


def test_clear_forgets_messages_keys_and_pending_failures() -> None:
    channel = MemoryChannel()
    channel.send(sample_message(dedup_key="k"))
    channel.fail_next(1)
    channel.clear()
    channel.send(sample_message(dedup_key="k"))
    assert ["k"] == [m.dedup_key for m in channel.sent]


def test_a_negative_failure_count_is_refused() -> None:
    with pytest.raises(ValidationError):
        MemoryChannel().fail_next(-1)


def test_sends_from_many_threads_are_all_kept() -> None:
    channel = MemoryChannel()
    messages = [sample_message() for _ in range(400)]

    def send(batch: list[object]) -> None:
        for message in batch:
            channel.send(message)  # type: ignore[arg-type]

    threads = [threading.Thread(target=send, args=(messages[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m.dedup_key for m in messages) == sorted(m.dedup_key for m in channel.sent)
