"""``orderkit demo`` does what the README promises, twice in one folder."""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
import re
from pathlib import Path

import pytest

from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.cli import main
from orderkit.demo import run_demo
from orderkit.domain.financials import order_financials
from orderkit.domain.lifecycle import default_order_machine
from orderkit.domain.money import Money
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


def _receipts(folder: Path, pattern: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((folder / "receipts").glob(pattern))]


def test_mail_comes_from_the_shop_that_signs_it(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    senders = {
        email.utils.parseaddr(
            str(email.message_from_bytes(f.read_bytes(), policy=email.policy.SMTP)["From"])
        )[1]
        for f in (folder / "mail").glob("*.eml")
    }
    assert {"hello@jadeleaf.example"} == senders


def test_a_chinese_receipts_blocks_are_in_chinese(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    placed, delivered = (
        _receipts(folder, f"SO-2026-000001-*{kind}.txt")[0] for kind in ("placed", "delivered")
    )
    assert (True, True, False) == (
        "\n与您的茶很相配\n" in placed,
        "\n谢谢惠顾\n下次购物立享九折\n" in delivered,
        "Pairs well" in placed or "Thank you" in delivered,
    )


def test_the_reminder_and_the_expiry_happen_when_the_story_says(
    shop: tuple[Path, str, str],
) -> None:
    folder, first, _ = shop
    storage = SQLiteStorage(folder / "shop.sqlite3")
    try:
        service = OrderService(storage)
        unpaid = service.get_by_number("SO-2026-000007")
        history = service.history(unpaid.id)
    finally:
        storage.close()
    reminded = next(e.at for e in history if e.type == "PaymentReminderDue")
    expired = next(e for e in history if e.type == "StatusChanged")
    assert (1, 3, "unpaid after 3 days", True, True) == (
        (reminded - unpaid.created_at).days,
        (expired.at - unpaid.created_at).days,
        expired.reason,
        "SO-2026-000007: still unpaid 1 day " in first,
        "SO-2026-000007: unpaid 3 days " in first,
    )


def test_receipt_files_sort_in_the_order_they_were_sent(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    names = sorted(p.name for p in (folder / "receipts").glob("SO-2026-000002-*.txt"))
    versions = [int(name.split("-")[3].split(".")[0]) for name in names]
    assert (True, sorted(versions)) == (len(versions) > 3, versions)


def test_the_summary_reports_profit_net_of_refunds_and_returns(
    shop: tuple[Path, str, str],
) -> None:
    folder, _, second = shop
    storage = SQLiteStorage(folder / "shop.sqlite3")
    try:
        orders = OrderService(storage).find(limit=1000).items
    finally:
        storage.close()
    eur = Money.sum((order_financials(o).profit for o in orders if o.currency == "EUR"), "EUR")
    assert any(o.currency == "EUR" and o.refunds for o in orders)
    assert f"gross profit {eur.format('en_US'):>12}" in second


def test_the_summary_counts_returns_in_words(shop: tuple[Path, str, str]) -> None:
    _, _, second = shop
    assert "After-sales: 4 returns (2 for exchange, 2 for refund), 4 refunds" in second


def test_the_report_explains_its_latency_columns(shop: tuple[Path, str, str]) -> None:
    _, first, _ = shop
    assert "p50, p90, max: how long after the order was placed its message went out" in first


def test_every_filed_receipt_ends_with_a_newline(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    files = list((folder / "receipts").iterdir())
    assert [] == [f.name for f in files if not f.read_text(encoding="utf-8").endswith("\n")]


def test_customers_see_carriers_by_name_never_by_code(shop: tuple[Path, str, str]) -> None:
    folder, _, _ = shop
    codes = re.compile(r"\b(simulated|manual) [A-Z0-9]{6,}")
    texts = _receipts(folder, "*.txt") + _receipts(folder, "*.html")
    assert (True, []) == (
        any("Jade Leaf Express SIM" in t for t in texts),
        [m[0] for t in texts for m in codes.finditer(t)],
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "SO-2026-000003-*logistics_exception.txt",
            "。\n配送業者からの連絡（原文）: Delivery failed",
        ),
        (
            "SO-2026-000001-*order_placed.txt",
            "预计发货日期: 2026年11月24日\n预计送达日期: 2026年11月26日\n",
        ),
    ],
    ids=[
        "a japanese exception notice quotes the carrier on a line of its own",
        "a receipt with a ship date shows the arrival the carrier quoted",
    ],
)
def test_a_receipt_reads_as_the_customer_expects(
    shop: tuple[Path, str, str], pattern: str, expected: str
) -> None:
    folder, _, _ = shop
    assert expected in _receipts(folder, pattern)[0]
