"""The HTML receipts in a real browser: headless Chromium at a 375 px phone width.

Each shipped locale's order receipt is loaded in an iframe 375 px wide (headless Chromium's
window cannot be narrower than 500 px, an iframe can), and a script in the page writes what
the browser laid out into the DOM: the receipt's visible text and its scroll width. The test
fails when the total is not on the rendered page or the content is wider than the phone.

With ``ORDERKIT_RECEIPT_SCREENSHOTS=1`` it also saves ``docs/img/receipt-<locale>.png``.
Without Chromium the tests skip, except under CI (``CI`` set), where they fail: install it
with ``apt-get install -y chromium fonts-noto-cjk`` (``.ci/run`` does).
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orderkit.domain.order import Address
from orderkit.domain.receipt import PersonalizationBlock, PersonalizationItem
from orderkit.notify.render import SHIPPED_LOCALES, ReceiptRenderer
from receipt_fixtures import place, receipt, service

CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
PHONE_WIDTH = 375
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install it: apt-get install -y chromium fonts-noto-cjk"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


def run_chromium(chromium: Path, profile: Path, *args: str) -> str:
    result = subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert 0 == result.returncode, result.stderr[-2000:]
    return result.stdout


def measure(chromium: Path, tmp_path: Path, receipt_html: str) -> dict[str, object]:
    """Lay ``receipt_html`` out at the phone width; return its scroll width, viewport width
    and visible text."""
    page = tmp_path / "measure.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'<iframe width="{PHONE_WIDTH}" height="1600" style="border:0;display:block" '
        f'srcdoc="{html.escape(receipt_html, quote=True)}" onload="'
        "var d = this.contentDocument; document.getElementById('measure').textContent = "
        "JSON.stringify({scrollWidth: d.documentElement.scrollWidth, "
        'innerWidth: this.contentWindow.innerWidth, text: d.body.innerText})"></iframe>'
        '<pre id="measure"></pre></body></html>',
        encoding="utf-8",
    )
    dom = run_chromium(
        chromium, tmp_path / "profile", "--window-size=600,1800", "--dump-dom", page.as_uri()
    )
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, f"the page did not report its layout: {dom[-500:]}"
    result: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return result


def _shop(
    locale: str,
    customer: tuple[str, str, str, str, str, str],
    currency: str,
    prices: tuple[str, str, str, str],
    texts: tuple[str, str, str, str, str, str, str],
) -> dict[str, Any]:
    """An order as a shop in ``locale`` would take it, with a long unbreakable token in the
    address so the layout check has something to wrap."""
    name, line1, city, region, country, postal_code = customer
    tea, cup, coupon, shipping, like, offer, offer_text = texts
    return {
        "order": {
            "name": name,
            "locale": locale,
            "currency": currency,
            "prices": prices,
            "names": (tea, cup),
            "labels": (coupon, shipping),
            "address": Address(name, line1, city, country, region=region, postal_code=postal_code),
        },
        "blocks": (
            PersonalizationBlock(
                like, products=(PersonalizationItem(cup, url="https://shop.example/p/cup"),)
            ),
            PersonalizationBlock(offer, text=offer_text, coupon_code="THANKS10"),
        ),
    }


SHOPS = {
    "en": _shop(
        "en_US",
        (
            "Emily Carter",
            "1200 N Lake Shore Dr, Apt 2304-North-Tower-Residences",
            "Chicago",
            "IL",
            "US",
            "60610",
        ),
        "USD",
        ("18.50", "12.00", "5.00", "6.00"),
        (
            "Longjing green tea 250 g",
            "Celadon tea cup",
            "Welcome coupon",
            "Standard shipping",
            "You may also like",
            "10% off your next order",
            "Valid for 30 days.",
        ),
    ),
    "zh_Hans": _shop(
        "zh_CN",
        ("王芳", "浦东新区世纪大道 88 号金茂大厦 1203 室", "上海市", "上海", "CN", "200120"),
        "CNY",
        ("168.00", "39.00", "20.00", "0.00"),
        (
            "明前龙井 250 g",
            "青瓷茶杯",
            "新客立减券",
            "顺丰包邮",
            "猜你喜欢",
            "下单立减",
            "下次购物满 200 元可用",
        ),
    ),
    "zh_Hant": _shop(
        "zh_TW",
        ("陳怡君", "信義區信義路五段 7 號 89 樓", "台北市", "", "TW", "110"),
        "TWD",
        ("680.00", "250.00", "100.00", "60.00"),
        (
            "凍頂烏龍茶 150 g",
            "青瓷茶杯",
            "新會員折價券",
            "宅配運費",
            "猜你喜歡",
            "回購優惠",
            "30 天內下單可用",
        ),
    ),
    "ja": _shop(
        "ja_JP",
        (
            "佐藤 花子",
            "丸の内 1-9-1 グラントウキョウノースタワー 12階",
            "千代田区",
            "東京都",
            "JP",
            "100-0005",
        ),
        "JPY",
        ("1850", "1200", "500", "600"),
        (
            "宇治抹茶 30 g",
            "有田焼 湯呑み",
            "初回クーポン",
            "送料",
            "おすすめ商品",
            "次回 10% オフ",
            "30 日間有効です。",
        ),
    ),
    "de": _shop(
        "de_DE",
        (
            "Anna Becker",
            "Torstraße 12, Hinterhaus, Dachgeschoss-Wohnung-links",
            "Berlin",
            "",
            "DE",
            "10119",
        ),
        "EUR",
        ("21.90", "16.50", "5.00", "4.90"),
        (
            "Longjing Grüntee 250 g",
            "Seladon-Teeschale",
            "Willkommensgutschein",
            "DHL Paket",
            "Das könnte Ihnen auch gefallen",
            "10 % auf Ihre nächste Bestellung",
            "30 Tage gültig.",
        ),
    ),
}


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_order_receipt_shows_its_total_and_fits_a_phone(
    chromium: Path, tmp_path: Path, locale: str
) -> None:
    renderer = ReceiptRenderer()
    shop = SHOPS[locale]
    r = receipt(place(service(), **shop["order"]), blocks=shop["blocks"])
    rendered = renderer.render(r)
    layout = measure(chromium, tmp_path, rendered.html)
    total = renderer.environment(locale).filters["money"](r.total)
    assert locale == renderer.negotiate(r.locale)
    if os.environ.get("ORDERKIT_RECEIPT_SCREENSHOTS") == "1":
        page = tmp_path / f"receipt-{locale}.html"
        page.write_text(rendered.html, encoding="utf-8")
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        run_chromium(
            chromium,
            tmp_path / "shot-profile",
            f"--window-size={PHONE_WIDTH},1500",
            f"--screenshot={DOCS_IMG / f'receipt-{locale}.png'}",
            page.as_uri(),
        )
    assert (True, PHONE_WIDTH) == (total in str(layout["text"]), layout["scrollWidth"])


def test_the_layout_check_notices_content_wider_than_the_phone(
    chromium: Path, tmp_path: Path
) -> None:
    wide = '<html><body><table width="600"><tr><td>Total $10.00</td></tr></table></body></html>'
    assert int(str(measure(chromium, tmp_path, wide)["scrollWidth"])) > PHONE_WIDTH
