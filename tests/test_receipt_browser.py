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

import pytest

from orderkit.render import SHIPPED_LOCALES, ReceiptRenderer
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


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_order_receipt_shows_its_total_and_fits_a_phone(
    chromium: Path, tmp_path: Path, locale: str
) -> None:
    renderer = ReceiptRenderer()
    r = receipt(
        place(service(), locale=locale, line1="Lujiazui-Financial-Centre-Tower-2-Room-1203")
    )
    rendered = renderer.render(r)
    layout = measure(chromium, tmp_path, rendered.html)
    total = renderer.environment(locale).filters["money"](r.total)
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
