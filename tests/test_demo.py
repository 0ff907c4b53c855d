"""``orderkit demo`` does what the README promises, twice in one folder."""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import pytest

from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.cli import main
from orderkit.demo import run_demo
from orderkit.domain.lifecycle import default_order_machine
from orderkit.service import OrderService


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The folder after two runs, and what each run printed."""
    folder = tmp_path_factory.mktemp("demo")
    first, second = io.StringIO(), io.StringIO()
    assert 0 == run_demo(folder, first)
    assert 0 == run_demo(folder, second)
    return folder, first.getvalue(), second.getvalue()


def test_a_second_run_in_the_same_folder_trades_another_fortnight(
    shop: tuple[Path, str, str],
) -> None:
    _, first, second = shop
    assert (True, True) == ("fortnight 1," in first, "fortnight 2," in second)


def test_the_shop_is_consistent_after_both_runs(shop: tuple[Path, str, str]) -> None:
    folder, _, second = shop
    storage = SQLiteStorage(folder / "shop.sqlite3")
    try:
        assert [] == OrderService(storage).check_integrity()
    finally:
        storage.close()
    assert "Integrity check: clean" in second


def test_the_demo_tells_of_tracking_the_exception_the_return_and_the_exchange(
    shop: tuple[Path, str, str],
) -> None:
    _, first, _ = shop
    told = [
        "logistics exception at",
        "completed automatically",
        "returned and written off; refunded",
        "towel exchanged; replacement",
        "buyer confirmed receipt",
        "reminder sent",
    ]
    assert [] == [phrase for phrase in told if phrase not in first]


def test_every_notification_is_an_email_file_with_text_and_html(
    shop: tuple[Path, str, str],
) -> None:
    folder, _, _ = shop
    files = sorted((folder / "mail").glob("*.eml"))
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.SMTP) for f in files]
    parts = {(bool(m.get_body(("plain",))), bool(m.get_body(("html",)))) for m in parsed}
    assert (True, {(True, True)}) == (len(files) > 20, parts)


def test_each_receipt_is_also_filed_as_text_and_html(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    texts = {p.stem for p in (folder / "receipts").glob("*.txt")}
    pages = {p.stem for p in (folder / "receipts").glob("*.html")}
    assert (True, texts) == (len(texts) > 10, pages)


def test_the_command_line_runs_the_demo_in_the_folder_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["demo", "--dir", str(tmp_path)])
    assert str(tmp_path.resolve()) in capsys.readouterr().out


def test_orderkit_machine_prints_the_default_machine_as_mermaid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 0 == main(["machine"])
    assert default_order_machine().to_mermaid() == capsys.readouterr().out


def test_orderkit_without_a_command_prints_its_help_and_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main([])
    assert "demo" in capsys.readouterr().out
