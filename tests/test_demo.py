"""The ``orderkit`` command line: the demo a new user runs first, and ``orderkit machine``.

``.ci/run`` runs the installed command end to end; these run it in-process, so the suite
alone catches a demo that breaks, and they check what the demo leaves behind.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from orderkit import OrderService
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.cli import main
from orderkit.lifecycle import default_order_machine


def order_count(folder: Path) -> int:
    with closing(sqlite3.connect(folder / "shop.sqlite3")) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM orderkit_orders").fetchone()[0])


def run_demo(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert 0 == main(["demo", "--dir", str(folder)])
    return capsys.readouterr().out


def test_the_demo_trades_a_day_in_a_sqlite_shop_in_the_folder_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = run_demo(tmp_path / "shop", capsys)

    assert str(tmp_path / "shop" / "shop.sqlite3") in output
    assert order_count(tmp_path / "shop") > 0


def test_a_second_demo_run_in_the_same_folder_trades_another_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(tmp_path, capsys)
    first = order_count(tmp_path)

    run_demo(tmp_path, capsys)

    assert order_count(tmp_path) > first


def test_the_demo_leaves_a_shop_whose_stock_and_orders_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(tmp_path, capsys)
    run_demo(tmp_path, capsys)

    storage = SQLiteStorage(tmp_path / "shop.sqlite3")
    try:
        assert [] == OrderService(storage).check_integrity()
    finally:
        storage.close()


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
