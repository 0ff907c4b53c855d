"""Rendering receipts: kinds, locales, babel formatting, escaping, overrides, tracking links."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import attrs
import jinja2
import markupsafe
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from orderkit.domain.order import Address, Order
from orderkit.domain.receipt import Receipt, ReceiptKind
from orderkit.errors import InvalidTrackingLink, TemplateMissing, UnsafeSubject, ValidationError
from orderkit.notify.engagement import TrackingLinks, verify_click
from orderkit.notify.render import (
    LOCALE_DIR,
    SHIPPED_LOCALES,
    ReceiptRenderer,
    load_translations,
    negotiate_locale,
)
from receipt_fixtures import place, receipt, service
from strategies import receipts

SECRET = "a-long-enough-test-secret"


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("zh_CN", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("zh_SG", "zh_Hans"),
        ("zh_TW", "zh_Hant"),
        ("zh_HK", "zh_Hant"),
        ("zh", "zh_Hans"),
        ("de_AT", "de"),
        ("de-CH", "de"),
        ("ja_JP", "ja"),
        ("en_GB", "en"),
        ("de_US", "de"),
        ("ja_US", "ja"),
        ("zh-Hans-US", "zh_Hans"),
        ("zh_Hans_TW", "zh_Hans"),
        ("zh_Hant_CN", "zh_Hant"),
        ("fr_FR", "en"),
        ("not a locale", "en"),
        ("", "en"),
    ],
)
def test_a_requested_locale_is_negotiated_to_a_shipped_one(requested: str, expected: str) -> None:
    assert expected == negotiate_locale(requested)


@pytest.mark.parametrize(
    ("requested", "language"),
    [("de_US", "de"), ("ja_US", "ja"), ("zh-Hans-US", "zh_Hans"), ("zh_Hant_CN", "zh_Hant")],
)
def test_a_locale_babel_does_not_know_as_a_whole_renders_in_its_language(
    requested: str, language: str
) -> None:
    renderer = ReceiptRenderer()
    snapshot = receipt(place(service()))
    assert renderer.render(snapshot, "order_placed", language).subject == (
        renderer.render(snapshot, "order_placed", requested).subject
    )


@pytest.mark.parametrize("kind", ReceiptKind.ALL)
@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_kind_renders_in_every_shipped_locale_with_its_total(
    renderer: ReceiptRenderer, kind: str, locale: str
) -> None:
    r = receipt(place(service(), locale=locale), kind)
    out = renderer.render(r)
    total = renderer.environment(locale).filters["money"](r.total)
    assert (True, True, True) == (bool(out.subject), total in out.text, total in out.html)


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("en", "Order confirmation SO-2026-000001"),
        ("zh_Hans", "订单回执 SO-2026-000001"),
        ("zh_Hant", "訂單確認 SO-2026-000001"),
        ("ja", "ご注文確認 SO-2026-000001"),
        ("de", "Bestellbestätigung SO-2026-000001"),
    ],
)
def test_the_subject_is_translated(renderer: ReceiptRenderer, locale: str, subject: str) -> None:
    assert subject == renderer.render(receipt(place(service())), locale=locale).subject


@pytest.mark.parametrize(
    ("locale", "amount"),
    [("en", "$55.72"), ("de", "55,72\xa0$"), ("ja", "$55.72"), ("zh_Hans", "US$55.72")],
)
def test_money_is_formatted_by_babel_for_the_render_locale(
    renderer: ReceiptRenderer, locale: str, amount: str
) -> None:
    assert amount in renderer.render(receipt(place(service())), locale=locale).text


def test_the_money_filter_shows_the_amounts_iso_4217_digits(renderer: ReceiptRenderer) -> None:
    # babel's own CLDR digits would print "$1.500" and hide the 25 centavos.
    money = renderer.environment("en").filters["money"]
    assert "COP1,500.25" == money({"amount": "1500.25", "currency": "COP"})


def test_dates_are_formatted_by_babel_for_the_render_locale(renderer: ReceiptRenderer) -> None:
    text = renderer.render(receipt(place(service())), locale="zh_Hans").text
    assert "2026年11月25日" in text


def _line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


def test_an_order_without_a_zone_shows_times_in_the_renderers_zone_named_without_seconds() -> None:
    text = ReceiptRenderer(timezone="Asia/Shanghai").render(receipt(place(service()))).text
    assert "Order date: Nov 23, 2026, 5:30\u202fPM China Standard Time" == _line(text, "Order date")


def test_times_are_shown_in_the_orders_own_time_zone() -> None:
    r = receipt(place(service(), time_zone="Europe/Berlin"))
    text = ReceiptRenderer(timezone="Asia/Shanghai").render(r).text
    assert "Order date: Nov 23, 2026, 10:30\u202fAM Central European Standard Time" == _line(
        text, "Order date"
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de", "Bestelldatum: 23.11.2026, 10:30 Mitteleuropäische Normalzeit"),
        ("ja", "ご注文日時: 2026/11/23 10:30 中央ヨーロッパ標準時"),
        ("zh_Hans", "下单时间: 2026年11月23日 10:30 中欧标准时间"),
    ],
)
def test_the_zone_is_named_in_the_render_locale(locale: str, expected: str) -> None:
    r = receipt(place(service(), time_zone="Europe/Berlin"))
    text = ReceiptRenderer().render(r, locale=locale).text
    assert expected == _line(text, expected.split(":")[0])


def test_a_moment_is_dated_on_the_day_it_was_in_the_orders_zone() -> None:
    r = receipt(
        place(service(), time_zone="Pacific/Pago_Pago")
    )  # 09:30 UTC is 22:30 the day before
    renderer = ReceiptRenderer(
        loaders=[jinja2.DictLoader({"order_placed.txt": "{{ receipt.placed_at|date }}"})]
    )
    assert "November 22, 2026" == renderer.render(r).text


def test_an_estimated_arrival_date_is_shown_beside_the_estimated_ship_date() -> None:
    r = receipt(place(service()), estimated_arrival_date=date(2026, 11, 28))
    text = ReceiptRenderer().render(r).text
    assert "Estimated arrival date: November 28, 2026" == _line(text, "Estimated arrival")


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ReceiptRenderer(timezone="Mars/Olympus")
    assert "timezone" == info.value.field


def test_a_locale_without_a_catalog_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ReceiptRenderer(locales=("en", "fr"))
    assert "locales" == info.value.field


def test_markup_in_a_customer_name_is_escaped_in_html(renderer: ReceiptRenderer) -> None:
    r = receipt(place(service(), name="<script>alert(1)</script>"))
    html = renderer.render(r).html
    assert ("<script>" in html, "&lt;script&gt;alert(1)&lt;/script&gt;" in html) == (False, True)


def test_markup_in_an_address_is_escaped_in_html(renderer: ReceiptRenderer) -> None:
    r = receipt(place(service(), line1='<img src=x onerror="alert(1)">'))
    assert "<img src=x" not in renderer.render(r).html


def test_the_plain_text_body_shows_markup_as_typed(renderer: ReceiptRenderer) -> None:
    r = receipt(place(service(), name="Tom & <Jerry>"))
    assert "Tom & <Jerry>" in renderer.render(r).text


def test_a_subject_with_a_line_break_is_refused(renderer: ReceiptRenderer) -> None:
    loader = jinja2.DictLoader(
        {"order_placed.subject.txt": "Thanks {{ receipt.customer_name }} for your order"}
    )
    r = receipt(place(service(), name="Mei\r\nBcc: victim@example.com"))
    with pytest.raises(UnsafeSubject):
        ReceiptRenderer(loaders=[loader]).render(r)


def test_a_host_template_overrides_the_shipped_one_by_name() -> None:
    loader = jinja2.DictLoader({"shipped.subject.txt": "On its way: {{ receipt.order_number }}"})
    r = receipt(place(service()), ReceiptKind.SHIPPED)
    subject = ReceiptRenderer(loaders=[loader]).render(r).subject
    assert f"On its way: {r.order_number}" == subject


def test_a_host_template_can_extend_the_shipped_layout() -> None:
    loader = jinja2.DictLoader(
        {
            "order_placed.html": '{% extends "_layout.html" %}'
            "{% block headline %}Merci, {{ receipt.customer_name }}!{% endblock %}"
        }
    )
    html = ReceiptRenderer(loaders=[loader]).render(receipt(place(service()))).html
    assert "Merci, Mei Lin!" in html


def test_a_template_no_loader_has_is_a_typed_error() -> None:
    loader = jinja2.DictLoader({"order_placed.txt": '{% include "missing.txt" %}'})
    with pytest.raises(TemplateMissing) as info:
        ReceiptRenderer(loaders=[loader]).render(receipt(place(service())))
    assert "missing.txt" == info.value.template


def test_an_unknown_kind_is_refused_by_the_renderer(renderer: ReceiptRenderer) -> None:
    with pytest.raises(ValidationError):
        renderer.render(receipt(place(service())), "invoice")


def test_the_shipped_email_has_a_tracking_button(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    shipped = svc.ship(order.id, carrier="sf-express", tracking_number="SF1234567890")
    url = "https://track.example/SF1234567890?lang=en&x=1"
    shipped = attrs.evolve(
        shipped, shipments=tuple(attrs.evolve(s, tracking_url=url) for s in shipped.shipments)
    )
    html = renderer.render(receipt(shipped, ReceiptKind.SHIPPED)).html
    assert 'href="https://track.example/SF1234567890?lang=en&amp;x=1"' in html


def _tracked_html() -> str:
    tracking = TrackingLinks("https://t.example/o", "https://t.example/c", SECRET)
    r = receipt(place(service()))
    return ReceiptRenderer(tracking=tracking).render(r, message_id="msg-1").html


def test_tracked_html_has_an_open_pixel_for_the_message() -> None:
    assert '<img src="https://t.example/o/msg-1" width="1" height="1"' in _tracked_html()


def test_every_http_link_of_tracked_html_goes_through_the_click_endpoint() -> None:
    hrefs = re.findall(r'<a\b[^>]*href="([^"]+)"', _tracked_html())
    web = [h for h in hrefs if not h.startswith("mailto:")]
    assert (True, True) == (bool(web), all(h.startswith("https://t.example/c?") for h in web))


def test_a_signed_click_verifies_to_its_message_and_target() -> None:
    href = next(h for h in re.findall(r'href="([^"]+)"', _tracked_html()) if "%2Fp%2Fcup" in h)
    query = html.unescape(href).split("?", 1)[1]
    assert ("msg-1", "https://lotus-tea.example/p/cup") == verify_click(query, SECRET)


def test_a_click_link_with_a_changed_target_is_refused() -> None:
    tracking = TrackingLinks("https://t.example/o", "https://t.example/c", SECRET)
    query = tracking.click_url("msg-1", "https://shop.example/").split("?", 1)[1]
    forged = query.replace("shop.example", "evil.example")
    with pytest.raises(InvalidTrackingLink):
        verify_click(forged, SECRET)


def test_a_click_link_signed_with_another_secret_is_refused() -> None:
    tracking = TrackingLinks("https://t.example/o", "https://t.example/c", "another-secret-value")
    query = tracking.click_url("msg-1", "https://shop.example/").split("?", 1)[1]
    with pytest.raises(InvalidTrackingLink):
        verify_click(query, SECRET)


def test_a_click_link_without_a_signature_is_refused() -> None:
    with pytest.raises(InvalidTrackingLink):
        verify_click({"m": "msg-1", "u": "https://evil.example/"}, SECRET)


def test_a_short_tracking_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        TrackingLinks("https://t.example/o", "https://t.example/c", "short")


def _catalogs() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/orderkit.po"))


def test_every_shipped_locale_has_a_catalog() -> None:
    assert sorted(SHIPPED_LOCALES) == sorted(p.parent.parent.name for p in _catalogs())


@pytest.mark.parametrize("po", _catalogs(), ids=lambda p: p.parent.parent.name)
def test_every_message_of_the_template_is_translated(po: Path) -> None:
    with (LOCALE_DIR / "orderkit.pot").open("rb") as fp:
        template = {m.id for m in read_po(fp) if m.id}
    with po.open("rb") as fp:
        catalog = read_po(fp)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert (set(), set()) == (template - translated, translated - template)


@pytest.mark.parametrize("po", _catalogs(), ids=lambda p: p.parent.parent.name)
def test_the_compiled_catalog_matches_its_source(po: Path) -> None:
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: reinstall (pip install -e .) to compile catalogs"
    with po.open("rb") as fp:
        source = {m.id: m.string for m in read_po(fp) if m.id}
    with mo.open("rb") as fp:
        compiled = {m.id: m.string for m in read_mo(fp) if m.id}
    assert source == compiled


def test_a_catalog_without_its_compiled_file_is_compiled_from_its_source(tmp_path: Path) -> None:
    messages = tmp_path / "de" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "orderkit.po").write_bytes(
        (LOCALE_DIR / "de" / "LC_MESSAGES" / "orderkit.po").read_bytes()
    )
    assert "Gesamtsumme" == load_translations("de", tmp_path).gettext("Total")


def test_a_directory_without_the_catalog_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        load_translations("de", tmp_path)


@settings(max_examples=20, deadline=None)
@given(r=receipts(), locale=st.sampled_from(SHIPPED_LOCALES))
def test_any_receipt_renders_in_any_shipped_locale_with_its_customer_escaped(
    r: Receipt, locale: str
) -> None:
    out = ReceiptRenderer().render(r, locale=locale)
    assert str(markupsafe.escape(r.shipping_address.name)) in out.html


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de_AT", "€\xa055,72"),
        ("de_CH", "$\xa055.72"),
        ("de_DE", "55,72\xa0$"),
        ("en_GB", "US$55.72"),
    ],
)
def test_money_follows_the_requested_regional_variant(
    renderer: ReceiptRenderer, locale: str, expected: str
) -> None:
    svc = service()
    currency = "EUR" if locale == "de_AT" else "USD"
    text = renderer.render(receipt(place(svc, currency=currency)), locale=locale).text
    assert expected in text


def test_dates_follow_the_requested_regional_variant(renderer: ReceiptRenderer) -> None:
    text = renderer.render(receipt(place(service())), locale="en_GB").text
    assert "25 November 2026" in text


def test_a_language_without_a_catalog_is_formatted_like_the_default(
    renderer: ReceiptRenderer,
) -> None:
    text = renderer.render(receipt(place(service())), locale="fr_FR").text
    assert "November 25, 2026" in text


def test_an_east_asian_address_reads_from_country_down_in_its_own_script(
    renderer: ReceiptRenderer,
) -> None:
    order = attrs.evolve(
        place(service(), locale="zh_CN"),
        shipping_address=Address(
            "王芳", "世纪大道 88 号", "深圳市", "CN", region="广东省", postal_code="518000"
        ),
    )
    text = renderer.render(receipt(order)).text
    assert "中国 广东省 深圳市 518000\n世纪大道 88 号\n王芳\n" in text


def test_the_same_address_reads_from_the_name_down_in_english(renderer: ReceiptRenderer) -> None:
    order = attrs.evolve(
        place(service(), locale="en"),
        shipping_address=Address(
            "Wang Fang",
            "88 Century Ave",
            "Shenzhen",
            "CN",
            region="Guangdong",
            postal_code="518000",
        ),
    )
    text = renderer.render(receipt(order)).text
    assert "Wang Fang\n88 Century Ave\n518000 Shenzhen, Guangdong\nChina\n" in text


@pytest.mark.parametrize(
    ("locale", "address", "in_text", "in_html"),
    [
        (
            "en",
            Address("Omar Haddad", "12 Harbour Rd", "Dubai", "AE"),
            "\n12 Harbour Rd\nDubai\nUnited Arab Emirates\n",
            "\nDubai<br>\nUnited Arab Emirates",
        ),
        (
            "zh_TW",
            Address("陳怡君", "信義路五段 7 號", "台北", "TW"),
            "\n台灣 台北\n信義路五段 7 號\n",
            "\n台灣 台北<br>\n",
        ),
    ],
    ids=["no postal code", "east asian, no region or postal code"],
)
def test_an_address_without_a_postal_code_or_region_has_no_stray_or_doubled_space(
    renderer: ReceiptRenderer, locale: str, address: Address, in_text: str, in_html: str
) -> None:
    order = attrs.evolve(place(service(), locale=locale), shipping_address=address)
    rendered = renderer.render(receipt(order))
    assert (True, True) == (in_text in rendered.text, in_html in rendered.html)


def _shipped() -> Order:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    return svc.ship(order.id, carrier="sf-express", tracking_number="SF1234567890")


def test_a_shipment_is_shown_by_the_carriers_name_not_its_code(renderer: ReceiptRenderer) -> None:
    r = receipt(_shipped(), ReceiptKind.SHIPPED, carrier_names={"sf-express": "SF Express"})
    rendered = renderer.render(r)
    assert (True, True) == (
        "Shipment: SF Express SF1234567890\n" in rendered.text,
        "SF Express · SF1234567890" in rendered.html,
    )


def test_a_carriers_note_is_quoted_on_its_own_labelled_line(renderer: ReceiptRenderer) -> None:
    r = receipt(_shipped(), ReceiptKind.LOGISTICS_EXCEPTION, detail="Address incomplete")
    text = renderer.render(r, locale="ja").text
    assert (
        "進展があり次第ご連絡いたします。\n配送業者からの連絡（原文）: Address incomplete\n" in text
    )
