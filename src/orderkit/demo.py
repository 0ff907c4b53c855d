"""``orderkit demo``: a small shop's day, on the embedded SQLite default.

It stocks a catalog, takes orders from several channels in several currencies and locales,
pays, ships (all at once and in parts), delivers, completes, cancels one, lets one unpaid
order expire, edits one with an approval, and prints a summary. Each run is one more trading
day in the same shop file, so running it again in the same folder works and adds to it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock
from orderkit.events import EditApplied, RecordedEvent, StatusChanged
from orderkit.lifecycle import OrderStatus
from orderkit.money import Money
from orderkit.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    ChangePrice,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
    SalesChannel,
)
from orderkit.service import OrderService

__all__ = ["run_demo"]

FIRST_DAY = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
VAT = {"CNY": Decimal("0.13"), "EUR": Decimal("0.19"), "JPY": Decimal("0.10"), "USD": Decimal(0)}

# sku: (name, location, {currency: (price, cost)})
CATALOG: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "TEA-LJ-250": (
        "Longjing green tea 250 g",
        "hangzhou",
        {"CNY": ("128.00", "61.00"), "USD": ("24.00", "9.50"), "EUR": ("21.90", "9.00")},
    ),
    "MUG-CEL-01": (
        "Celadon mug",
        "hangzhou",
        {"CNY": ("89.00", "30.00"), "USD": ("16.50", "5.20"), "JPY": ("2400", "800")},
    ),
    "POT-YX-02": (
        "Yixing clay teapot",
        "hangzhou",
        {"CNY": ("699.00", "260.00"), "EUR": ("119.00", "45.00"), "JPY": ("15800", "5200")},
    ),
    "SET-GF-06": (
        "Gongfu tea set, 6 pieces",
        "rotterdam",
        {"EUR": ("64.50", "27.00"), "USD": ("69.00", "28.00")},
    ),
    "TOWEL-LN": (
        "Linen tea towel",
        "rotterdam",
        {"EUR": ("12.00", "3.10"), "USD": ("13.00", "3.30"), "JPY": ("1500", "420")},
    ),
}

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


def _line(sku: str, quantity: int, currency: str) -> LineDraft:
    name, location, prices = CATALOG[sku]
    price, cost = prices[currency]
    return LineDraft(
        sku,
        name,
        quantity,
        Money(price, currency),
        unit_cost=Money(cost, currency),
        tax_rate=VAT[currency],
        location=location,
    )


def _draft(
    who: str,
    channel: str,
    currency: str,
    lines: list[tuple[str, int]],
    *,
    tags: tuple[str, ...] = (),
    group: str | None = None,
    discount: Adjustment | None = None,
    shipping: str | None = None,
) -> OrderDraft:
    customer, address, locale = CUSTOMERS[who]
    adjustments = [discount] if discount else []
    if shipping:
        adjustments.append(
            Adjustment(AdjustmentKind.SHIPPING, "Shipping", amount=Money(shipping, currency))
        )
    return OrderDraft(
        customer=customer,
        shipping_address=address,
        lines=[_line(sku, qty, currency) for sku, qty in lines],
        channel=channel,
        # Chinese, Taiwanese, Japanese and German shelf prices include VAT; US prices do not.
        prices_include_tax=currency != "USD",
        adjustments=adjustments,
        tags=tags,
        group=group,
        locale=locale,
    )


def _money(amount: Money, locale: str = "en_US") -> str:
    return amount.format(locale)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, text: str) -> None:
        self()
        self(text)
        self("─" * len(text))


def run_demo(directory: Path, out: TextIO) -> int:
    """Run one trading day of the demo shop in ``directory``; return a process exit code."""
    started = time.perf_counter()
    say = _Printer(out)
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "shop.sqlite3"
    storage = SQLiteStorage(db)
    try:
        with storage.unit_of_work() as uow:
            day = uow.sequences.next("demo-day")
            uow.commit()
        clock = FixedClock(FIRST_DAY + timedelta(days=day - 1))
        service = OrderService(storage, clock=clock)
        say(f"orderkit demo — a tea shop's trading day {day}, on SQLite")
        say(f"shop database: {db.resolve()}")
        _trade(service, clock, say, f"day{day}")
        _summarise(service, say)
    finally:
        storage.close()
    say()
    say(f"done in {time.perf_counter() - started:.2f} s. Run it again for another day.")
    return 0


def _trade(service: OrderService, clock: FixedClock, say: _Printer, run: str) -> None:
    say.heading("Stock arrives")
    for sku, (name, location, _) in CATALOG.items():
        level = service.receive_stock(
            sku, 40, location=location, actor="warehouse", reason="purchase order"
        )
        service.set_low_stock_threshold(sku, 25, location=location)
        say(f"  {sku:<11} {name:<26} +40 at {location:<10} on hand {level.on_hand}")

    say.heading("Orders come in")
    drafts: dict[str, OrderDraft] = {
        "lin": _draft(
            "lin",
            SalesChannel.APP,
            "CNY",
            [("TEA-LJ-250", 2), ("MUG-CEL-01", 2)],
            tags=("gift",),
            group="east-china",
            discount=Adjustment(
                AdjustmentKind.COUPON, "Double 11", amount=Money("20.00", "CNY"), code="D11"
            ),
        ),
        "chen": _draft(
            "chen",
            SalesChannel.MARKETPLACE,
            "CNY",
            [("POT-YX-02", 1)],
            group="taiwan",
            shipping="25.00",
        ),
        "sato": _draft(
            "sato",
            SalesChannel.WEB,
            "JPY",
            [("POT-YX-02", 1), ("TOWEL-LN", 3)],
            group="japan",
            shipping="800",
        ),
        "anna": _draft(
            "anna",
            SalesChannel.SOCIAL,
            "EUR",
            [("SET-GF-06", 1), ("TEA-LJ-250", 3)],
            tags=("urgent",),
            group="eu",
            discount=Adjustment(AdjustmentKind.DISCOUNT, "Welcome 10%", percent=Decimal("10")),
            shipping="4.90",
        ),
        "sam": _draft(
            "sam", SalesChannel.POS, "USD", [("MUG-CEL-01", 4), ("TOWEL-LN", 2)], group="us-west"
        ),
        "sam-later": _draft(
            "sam", SalesChannel.WEB, "USD", [("SET-GF-06", 2)], group="us-west", shipping="9.00"
        ),
        "anna-unpaid": _draft("anna", SalesChannel.WEB, "EUR", [("TOWEL-LN", 2)], group="eu"),
        "lin-unpaid": _draft(
            "lin", SalesChannel.APP, "CNY", [("TEA-LJ-250", 1)], group="east-china"
        ),
    }
    placed: dict[str, Order] = {}
    for key, draft in drafts.items():
        clock.advance(timedelta(minutes=7))
        order = service.place(
            draft, actor=f"{draft.channel}-checkout", idempotency_key=f"{run}-{key}"
        )
        placed[key] = order
        locale = draft.locale
        say(
            f"  {order.number}  {order.channel:<11} {order.customer.name:<22} "
            f"{_money(order.total, locale):>14}  {order.status}"
        )

    say.heading("Payments, a price edit with approval, shipping")
    # A phone call: the marketplace price for Chen's teapot was wrong. Mei asks, Jun approves.
    chen = placed["chen"]
    edited = service.request_edit(
        chen.id,
        [ChangePrice("L1", Money("659.00", "CNY"))],
        actor="mei@teashop",
        reason="matched the marketplace promotion price",
    )
    edit = edited.pending_edits[0]
    chen = service.approve_edit(
        chen.id, edit.edit_id, actor="jun@teashop", reason="promo confirmed"
    )
    say(
        f"  {chen.number}: price of L1 changed to {_money(chen.lines[0].unit_price, 'zh_Hant_TW')} "
        f"(asked by mei, approved by jun); total now {_money(chen.total, 'zh_Hant_TW')}"
    )
    placed["chen"] = chen

    for key in ("lin", "chen", "sato", "anna", "sam", "sam-later"):
        order = placed[key]
        clock.advance(timedelta(minutes=3))
        placed[key] = service.pay(
            order.id, order.balance_due, reference=f"psp-{run}-{key}", method="card"
        )
        say(f"  {order.number}: paid {_money(order.total, order.locale)}")

    clock.advance(timedelta(hours=2))
    for key in ("lin", "chen", "sato", "sam"):
        order = placed[key]
        placed[key] = service.ship(
            order.id, carrier="sf-express", tracking_number=f"SF{run}{key}".upper()
        )
        say(f"  {order.number}: shipped")
    anna = placed["anna"]
    placed["anna"] = service.ship(anna.id, {"L1": 1}, carrier="dhl", tracking_number=f"DHL-{run}-1")
    say(f"  {anna.number}: gongfu set shipped first, tea to follow ({placed['anna'].status})")

    say.heading("Delivery, completion, a cancellation and an expiry")
    clock.advance(timedelta(days=2))
    for key in ("lin", "chen", "sam"):
        placed[key] = service.deliver(placed[key].id, actor="carrier")
    placed["lin"] = service.complete(placed["lin"].id, actor="lin (confirmed receipt)")
    placed["chen"] = service.complete(placed["chen"].id, actor="auto-confirm")
    say(f"  {placed['lin'].number}, {placed['chen'].number}: delivered and completed (交易成功)")
    say(f"  {placed['sam'].number}: delivered, waiting for the buyer to confirm")

    later = placed["sam-later"]
    placed["sam-later"] = service.refund(
        later.id,
        later.net_paid,
        reference=f"psp-refund-{run}",
        reason="customer changed their mind",
    )
    say(f"  {later.number}: refunded in full, closed (交易关闭); stock released")
    lin_unpaid = placed["lin-unpaid"]
    placed["lin-unpaid"] = service.cancel(
        lin_unpaid.id, actor="cs@teashop", reason="duplicate order"
    )
    say(f"  {lin_unpaid.number}: cancelled before payment")
    expired = service.expire_unpaid(older_than=timedelta(hours=24))
    for order in expired:
        say(f"  {order.number}: unpaid for 24 h, expired")
    service.add_note(placed["anna"].id, "Tea back-ordered, ships Friday", actor="mei@teashop")


def _summarise(service: OrderService, say: _Printer) -> None:
    orders: list[Order] = []
    cursor: str | None = None
    while True:
        page = service.find(limit=200, cursor=cursor)
        orders.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    say.heading(f"Summary of the shop ({len(orders)} orders)")
    counts = Counter(o.status for o in orders)
    label = service.machine.label
    for status in service.machine.states:
        if counts[status]:
            say(f"  {label(status):<28} {counts[status]:>4}")

    revenue: dict[str, list[Money]] = defaultdict(list)
    for order in orders:
        if order.status != OrderStatus.CLOSED:
            revenue[order.currency].append(order.net_paid)
    say()
    say("  Revenue held (paid minus refunded), by currency:")
    for currency in sorted(revenue):
        total = Money.sum(revenue[currency], currency)
        profit = Money.sum(
            (
                o.totals.profit
                for o in orders
                if o.currency == currency and o.status != OrderStatus.CLOSED
            ),
            currency,
        )
        say(f"    {currency}  {_money(total):>14}   gross profit {_money(profit):>12}")

    say()
    say("  Stock left:")
    for level in service.stock_levels():
        flag = "  LOW" if level.is_low else ""
        say(
            f"    {level.sku:<11} @ {level.location:<10} on hand {level.on_hand:>4}  "
            f"reserved {level.reserved:>3}  available {level.available:>4}{flag}"
        )
    problems = service.check_integrity()
    say(f"  Integrity check: {'clean' if not problems else '; '.join(problems)}")

    edited = next((o for o in orders if o.channel == SalesChannel.MARKETPLACE), None)
    if edited is not None:
        say.heading(f"Event log of {edited.number} (its modification record)")
        for event in service.history(edited.id):
            say(f"  {event.at:%m-%d %H:%M}  {event.type:<16} {event.actor:<20} {_describe(event)}")


def _describe(event: RecordedEvent) -> str:
    payload = event.payload
    text = ""
    if isinstance(payload, StatusChanged):
        text = f"{payload.from_status} → {payload.to_status} ({payload.event})"
    elif isinstance(payload, EditApplied):
        text = "; ".join(f"{c.field}: {c.old} → {c.new}" for c in payload.changes)
        if payload.approved_by:
            text += f" (asked by {payload.requested_by}, approved by {payload.approved_by})"
    if event.reason:
        text = f"{text}  — {event.reason}" if text else f"— {event.reason}"
    return text
