"""The demo's tea shop: its catalog, customers, merchant details, personalization, and
the wiring of one shop file on SQLite."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import attrs

from orderkit.adapters.carriers import ManualCarrier, SimulatedCarrier, TableRateCarrier
from orderkit.clock import FixedClock
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
    Shipment,
)
from orderkit.domain.receipt import Merchant, PersonalizationBlock, PersonalizationItem, Receipt
from orderkit.notify.dispatch import Dispatcher
from orderkit.notify.engagement import TrackingLinks
from orderkit.notify.message import Message
from orderkit.notify.render import ReceiptRenderer
from orderkit.service import OrderService

__all__ = [
    "BLOCK_TEXTS",
    "CARRIER_NAMES",
    "CATALOG",
    "COMPLETE_AFTER",
    "CUSTOMERS",
    "EXPIRE_AFTER",
    "FIRST_DAY",
    "MERCHANT",
    "REMIND_AFTER",
    "RUN_LENGTH",
    "TIME_ZONES",
    "TRACKING",
    "VAT",
    "WAREHOUSE",
    "Printer",
    "ReceiptArchive",
    "RecommendTeaware",
    "Shop",
    "age",
    "ending_a_line",
    "line_draft",
    "order_draft",
    "parcel_state",
    "sortable",
]


FIRST_DAY = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
RUN_LENGTH = timedelta(days=14)
VAT = {"CNY": Decimal("0.13"), "EUR": Decimal("0.19"), "JPY": Decimal("0.10"), "USD": Decimal(0)}

MERCHANT = Merchant(
    name="Jade Leaf Tea House 玉叶茶舍",
    email="hello@jadeleaf.example",
    phone="+86 571 8888 0000",
    url="https://jadeleaf.example",
)
WAREHOUSE = Address(
    "Jade Leaf Tea House", "龙井路 1 号", "杭州", "CN", region="浙江", postal_code="310013"
)
# Where the host would serve the open pixel and the click redirect (see docs/receipts.md).
TRACKING = TrackingLinks(
    open_base="https://jadeleaf.example/r/open",
    click_base="https://jadeleaf.example/r/click",
    secret="demo-secret-not-for-production",
)

# sku: (name, location, grams, {currency: (price, cost)})
CATALOG: dict[str, tuple[str, str, int, dict[str, tuple[str, str]]]] = {
    "TEA-LJ-250": (
        "Longjing green tea 250 g",
        "hangzhou",
        300,
        {"CNY": ("128.00", "61.00"), "USD": ("24.00", "9.50"), "EUR": ("21.90", "9.00")},
    ),
    "MUG-CEL-01": (
        "Celadon mug",
        "hangzhou",
        450,
        {"CNY": ("89.00", "30.00"), "USD": ("16.50", "5.20"), "JPY": ("2400", "800")},
    ),
    "POT-YX-02": (
        "Yixing clay teapot",
        "hangzhou",
        900,
        {"CNY": ("699.00", "260.00"), "EUR": ("119.00", "45.00"), "JPY": ("15800", "5200")},
    ),
    "SET-GF-06": (
        "Gongfu tea set, 6 pieces",
        "rotterdam",
        2100,
        {"EUR": ("64.50", "27.00"), "USD": ("69.00", "28.00")},
    ),
    "TOWEL-LN": (
        "Linen tea towel",
        "rotterdam",
        120,
        {"EUR": ("12.00", "3.10"), "USD": ("13.00", "3.30"), "JPY": ("1500", "420")},
    ),
}

# Where each customer lives: receipts show times in their zone.
TIME_ZONES = {
    "lin": "Asia/Shanghai",
    "chen": "Asia/Taipei",
    "sato": "Asia/Tokyo",
    "anna": "Europe/Berlin",
    "sam": "America/Los_Angeles",
}
# What customers know the carriers as; the codes are for the shop's systems.
CARRIER_NAMES = {"simulated": "Jade Leaf Express", "manual/ups": "UPS"}
# The shop's scheduler: a payment reminder after a day unpaid, expiry after three, and
# completion a week after delivery; it runs with every tracking poll.
REMIND_AFTER = timedelta(days=1)
EXPIRE_AFTER = timedelta(days=3)
COMPLETE_AFTER = timedelta(days=7)

CUSTOMERS = {
    "lin": (
        Customer("cust-lin", "林薇 Lin Wei", "lin.wei@example.cn", "+86 138 0000 0001"),
        Address("林薇", "西湖区文三路 90 号", "杭州", "CN", region="浙江", postal_code="310012"),
        "zh_Hans_CN",
    ),
    "chen": (
        Customer("cust-chen", "陳怡君 Chen Yi-chun", "yichun@example.tw"),
        Address("陳怡君", "信義路五段 7 號", "台北", "TW", postal_code="110"),
        "zh_Hant_TW",
    ),
    "sato": (
        Customer("cust-sato", "佐藤 花子 Sato Hanako", "hanako@example.jp"),
        Address("佐藤 花子", "神南1-2-3", "渋谷区", "JP", region="東京都", postal_code="150-0041"),
        "ja_JP",
    ),
    "anna": (
        Customer("cust-anna", "Anna Becker", "anna@example.de"),
        Address("Anna Becker", "Torstraße 12", "Berlin", "DE", postal_code="10119"),
        "de_DE",
    ),
    "sam": (
        Customer("cust-sam", "Sam Rivera", "sam@example.com"),
        Address(
            "Sam Rivera", "500 Market St", "San Francisco", "US", region="CA", postal_code="94105"
        ),
        "en_US",
    ),
}


class ReceiptArchive:
    """A notification channel that files each receipt as plain text and HTML.

    A host-style channel: anything with a ``name`` and ``send(message)`` is one. The dedup
    key names the files, so a message sent again overwrites its copy instead of adding one.
    """

    name = "archive"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # The receipt number is unique per receipt (an order's second parcel gets its own).
        number = str(message.data.get("receipt_number", message.message_id))
        stem = f"{sortable(number)}-{message.kind}"
        (self.folder / f"{stem}.txt").write_text(ending_a_line(message.text), encoding="utf-8")
        if message.html is not None:
            (self.folder / f"{stem}.html").write_text(ending_a_line(message.html), encoding="utf-8")


def sortable(receipt_number: str) -> str:
    """A receipt number whose order version is padded to three digits, so file names sort
    in the order the receipts were sent (``SO-2026-000001-002`` before ``-012``)."""
    return re.sub(r"-(\d+)((?:\.\d+)?)$", lambda m: f"-{int(m[1]):03d}{m[2]}", receipt_number)


def ending_a_line(text: str) -> str:
    return text if text.endswith("\n") else f"{text}\n"


# The shop's own words for its blocks, in each language it writes to customers in: (thank
# you, the coupon's text, the recommendation's title).
BLOCK_TEXTS = {
    "en": ("Thank you", "10% off your next order", "Pairs well with your tea"),
    "zh_Hans": ("谢谢惠顾", "下次购物立享九折", "与您的茶很相配"),
    "zh_Hant": ("謝謝惠顧", "下次購物享九折優惠", "與您的茶很相配"),
    "ja": ("ありがとうございました", "次回のご注文が10%オフ", "お茶と一緒にどうぞ"),
    "de": ("Vielen Dank", "10 % Rabatt auf Ihre nächste Bestellung", "Passt gut zu Ihrem Tee"),
}


class RecommendTeaware:
    """The shop's personalization, in the customer's language: a matching mug with every
    receipt, a coupon after delivery."""

    def __init__(self, renderer: ReceiptRenderer) -> None:
        self.renderer = renderer

    def blocks_for(self, receipt: Receipt, kind: str) -> list[PersonalizationBlock]:
        thanks, coupon, pairs_well = BLOCK_TEXTS[self.renderer.negotiate(receipt.locale)]
        if kind == "delivered":
            return [PersonalizationBlock(title=thanks, text=coupon, coupon_code="JADE10")]
        if kind != "order_placed" or receipt.total.currency != "CNY":
            return []
        mug = PersonalizationItem(
            "Celadon mug",
            url="https://jadeleaf.example/p/MUG-CEL-01",
            price=Money("89.00", "CNY"),
        )
        return [PersonalizationBlock(title=pairs_well, products=(mug,))]


def line_draft(sku: str, quantity: int, currency: str) -> LineDraft:
    name, location, grams, prices = CATALOG[sku]
    price, cost = prices[currency]
    return LineDraft(
        sku,
        name,
        quantity,
        Money(price, currency),
        unit_cost=Money(cost, currency),
        tax_rate=VAT[currency],
        weight_grams=grams,
        location=location,
    )


def order_draft(
    who: str,
    channel: str,
    currency: str,
    lines: list[tuple[str, int]],
    *,
    tags: tuple[str, ...] = (),
    group: str | None = None,
    discount: Adjustment | None = None,
    shipping: Money | None = None,
) -> OrderDraft:
    customer, address, locale = CUSTOMERS[who]
    adjustments = [discount] if discount else []
    if shipping is not None and not shipping.is_zero:
        adjustments.append(Adjustment(AdjustmentKind.SHIPPING, "Shipping", amount=shipping))
    return OrderDraft(
        customer=customer,
        shipping_address=address,
        lines=[line_draft(sku, qty, currency) for sku, qty in lines],
        channel=channel,
        # Chinese, Taiwanese, Japanese and German shelf prices include VAT; US prices do not.
        prices_include_tax=currency != "USD",
        adjustments=adjustments,
        tags=tags,
        group=group,
        locale=locale,
        time_zone=TIME_ZONES[who],
    )


def age(delta: timedelta) -> str:
    """``1 day 10 hours``: how long ago, as the shop's log would say it."""
    hours = delta.seconds // 3600
    parts = [f"{delta.days} day{'s' if delta.days != 1 else ''}"] if delta.days else []
    if hours or not parts:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts)


class Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, text: str) -> None:
        self()
        self(text)
        self("─" * len(text))


@attrs.define
class Shop:
    """Everything one run works with."""

    service: OrderService
    clock: FixedClock
    say: Printer
    run: str
    folder: Path
    dispatcher: Dispatcher
    rates: TableRateCarrier
    parcels: SimulatedCarrier
    manual: ManualCarrier
    astray: dict[str, str] = attrs.field(factory=dict)  # order number -> scenario
    jobs_log: list[tuple[datetime, str]] = attrs.field(factory=list)  # what the jobs did

    def run_jobs(self) -> None:
        """What the shop's scheduler runs: payment reminders, automatic completion and
        expiry, each for orders that have waited long enough by now."""
        now, service = self.clock.now(), self.service

        def log(order: Order, text: str) -> None:
            self.jobs_log.append((now, f"{order.number}: {text}"))

        for order in service.remind_unpaid(older_than=REMIND_AFTER):
            log(
                order,
                f"still unpaid {age(now - order.created_at)} after it was placed, reminder sent",
            )
        for order in service.complete_delivered(older_than=COMPLETE_AFTER, actor="auto-confirm"):
            # Measured as the service does: from the last of the order's own parcels (an
            # exchange's replacement does not count).
            delivered = max(
                s.delivered_at for s in order.shipments if s.return_id is None and s.delivered_at
            )
            log(
                order,
                f"delivered {age(now - delivered)} ago, completed automatically (自动确认收货)",
            )
        for order in service.expire_unpaid(older_than=EXPIRE_AFTER):
            log(order, f"unpaid {age(now - order.created_at)} after it was placed, expired")

    def dispatch(self) -> None:
        """What a worker would do every minute: deliver what the outbox holds."""
        while self.dispatcher.dispatch_pending(limit=200).claimed:
            pass


def parcel_state(shipment: Shipment) -> str:
    return shipment.tracking_status or ("delivered" if shipment.delivered_at else "shipped")
