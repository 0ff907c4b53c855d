"""``orderkit demo``: a small tea shop's trading fortnight, on the embedded SQLite default.

It stocks a catalog and takes orders from several channels in several currencies and
locales, with shipping fees quoted by the table-rate carrier. It edits one order with an
approval, takes payments, ships parcels booked with the simulated carrier (one of them goes
astray: a logistics exception) and one with a merchant-entered UPS number, feeds the
carrier's tracking into the orders until they are delivered, lets one buyer confirm receipt
and the rest complete automatically, handles a return with a refund and an exchange, reminds
and expires an unpaid order and cancels another. Every customer message goes through the
outbox: each is written as an ``.eml`` file, and each receipt also as text and HTML.

Each run is one more fortnight in the same shop file, so running it again in the same folder
works and adds to it.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import formataddr
from pathlib import Path
from typing import TextIO

import attrs

from orderkit.adapters.carriers import ManualCarrier, SimulatedCarrier, TableRateCarrier
from orderkit.adapters.carriers.table_rate import example_rate_table
from orderkit.adapters.notify import FileChannel
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock
from orderkit.domain.aftersales import Disposition, ReturnKind
from orderkit.domain.events import (
    EditApplied,
    NotificationQueued,
    NotificationSent,
    RecordedEvent,
    RefundIssued,
    ShipmentException,
    StatusChanged,
    TrackingUpdated,
)
from orderkit.domain.financials import order_financials
from orderkit.domain.lifecycle import OrderStatus
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    ChangePrice,
    Customer,
    LineDraft,
    Order,
    OrderDraft,
    SalesChannel,
    Shipment,
)
from orderkit.domain.receipt import Merchant, PersonalizationBlock, PersonalizationItem, Receipt
from orderkit.domain.shipping import Parcel, RateQuote
from orderkit.domain.tracking_numbers import ups_check_digit
from orderkit.notify.dispatch import Dispatcher
from orderkit.notify.engagement import TrackingLinks
from orderkit.notify.message import Message
from orderkit.notify.outbox import OutboxQuery
from orderkit.notify.receipt_notifier import ReceiptNotifier, customer_email
from orderkit.notify.render import ReceiptRenderer
from orderkit.notify.reports import receipt_report
from orderkit.service import OrderService

__all__ = ["run_demo"]

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
        (self.folder / f"{stem}.txt").write_text(_ending_a_line(message.text), encoding="utf-8")
        if message.html is not None:
            (self.folder / f"{stem}.html").write_text(
                _ending_a_line(message.html), encoding="utf-8"
            )


def sortable(receipt_number: str) -> str:
    """A receipt number whose order version is padded to three digits, so file names sort
    in the order the receipts were sent (``SO-2026-000001-002`` before ``-012``)."""
    return re.sub(r"-(\d+)((?:\.\d+)?)$", lambda m: f"-{int(m[1]):03d}{m[2]}", receipt_number)


def _ending_a_line(text: str) -> str:
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


def _line(sku: str, quantity: int, currency: str) -> LineDraft:
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


def _draft(
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
        lines=[_line(sku, qty, currency) for sku, qty in lines],
        channel=channel,
        # Chinese, Taiwanese, Japanese and German shelf prices include VAT; US prices do not.
        prices_include_tax=currency != "USD",
        adjustments=adjustments,
        tags=tags,
        group=group,
        locale=locale,
        time_zone=TIME_ZONES[who],
    )


def _age(delta: timedelta) -> str:
    """``1 day 10 hours``: how long ago, as the shop's log would say it."""
    hours = delta.seconds // 3600
    parts = [f"{delta.days} day{'s' if delta.days != 1 else ''}"] if delta.days else []
    if hours or not parts:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, text: str) -> None:
        self()
        self(text)
        self("─" * len(text))


@attrs.define
class _Shop:
    """Everything one run works with."""

    service: OrderService
    clock: FixedClock
    say: _Printer
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
                f"still unpaid {_age(now - order.created_at)} after it was placed, reminder sent",
            )
        for order in service.complete_delivered(older_than=COMPLETE_AFTER, actor="auto-confirm"):
            # Measured as the service does: from the last of the order's own parcels (an
            # exchange's replacement does not count).
            delivered = max(
                s.delivered_at for s in order.shipments if s.return_id is None and s.delivered_at
            )
            log(
                order,
                f"delivered {_age(now - delivered)} ago, completed automatically (自动确认收货)",
            )
        for order in service.expire_unpaid(older_than=EXPIRE_AFTER):
            log(order, f"unpaid {_age(now - order.created_at)} after it was placed, expired")

    def dispatch(self) -> None:
        """What a worker would do every minute: deliver what the outbox holds."""
        while self.dispatcher.dispatch_pending(limit=200).claimed:
            pass


def run_demo(directory: Path, out: TextIO) -> int:
    """Run one trading fortnight of the demo shop in ``directory``; return an exit code."""
    started = time.perf_counter()
    say = _Printer(out)
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "shop.sqlite3"
    storage = SQLiteStorage(db)
    try:
        with storage.unit_of_work() as uow:
            day = uow.sequences.next("demo-day")
            uow.commit()
        clock = FixedClock(FIRST_DAY + RUN_LENGTH * (day - 1))
        astray: dict[str, str] = {}
        renderer = ReceiptRenderer(timezone="Asia/Shanghai", tracking=TRACKING)
        rates = TableRateCarrier(example_rate_table(), clock=clock)
        notifier = ReceiptNotifier(
            renderer=renderer,
            merchant=MERCHANT,
            channels={"email": customer_email, "archive": lambda order: order.number},
            personalization=RecommendTeaware(renderer),
            estimate_ship_date=lambda order: (order.created_at + timedelta(days=1)).date(),
            shipping_quote=lambda order: _order_quote(rates, order),
            carrier_names=CARRIER_NAMES,
        )
        service = OrderService(storage, clock=clock, notifier=notifier)
        # Receipts are signed by the shop, so they come from the shop's address.
        sender = formataddr((MERCHANT.name, MERCHANT.email))
        mail = FileChannel(directory / "mail", name="email", clock=clock, sender=sender)
        dispatcher = Dispatcher(
            storage, [mail, ReceiptArchive(directory / "receipts")], notifier, clock=clock
        )
        shop = _Shop(
            service=service,
            clock=clock,
            say=say,
            run=f"d{day}",
            folder=directory,
            dispatcher=dispatcher,
            rates=rates,
            parcels=SimulatedCarrier(
                # ship_with books each parcel as "<order number>/<parcel>".
                clock,
                scenario=lambda reference: astray.get(reference.partition("/")[0], "normal"),
            ),
            manual=ManualCarrier(),
            astray=astray,
        )
        say(f"orderkit demo — a tea shop's trading fortnight {day}, on SQLite")
        say(f"shop database: {db.resolve()}")
        orders = _take_orders(shop)
        _ship_and_track(shop, orders)
        _after_sales(shop, orders)
        _summarise(shop)
    finally:
        storage.close()
    say()
    say(f"done in {time.perf_counter() - started:.2f} s. Run it again for another fortnight.")
    return 0


def _take_orders(shop: _Shop) -> dict[str, Order]:
    service, clock, say = shop.service, shop.clock, shop.say
    say.heading("Stock arrives")
    for sku, (name, location, _, _) in CATALOG.items():
        level = service.receive_stock(
            sku, 40, location=location, actor="warehouse", reason="purchase order"
        )
        service.set_low_stock_threshold(sku, 25, location=location)
        say(f"  {sku:<11} {name:<26} +40 at {location:<10} on hand {level.on_hand}")

    say.heading("Orders come in (shipping quoted by the table-rate carrier for CNY orders)")
    lin_lines = [("TEA-LJ-250", 2), ("MUG-CEL-01", 2)]
    chen_lines = [("POT-YX-02", 1)]
    drafts: dict[str, OrderDraft] = {
        "lin": _draft(
            "lin",
            SalesChannel.APP,
            "CNY",
            lin_lines,
            tags=("gift",),
            group="east-china",
            discount=Adjustment(
                AdjustmentKind.COUPON, "Double 11", amount=Money("20.00", "CNY"), code="D11"
            ),
            shipping=_quote(shop, "lin", lin_lines),
        ),
        "chen": _draft(
            "chen",
            SalesChannel.MARKETPLACE,
            "CNY",
            chen_lines,
            group="taiwan",
            shipping=_quote(shop, "chen", chen_lines),
        ),
        "sato": _draft(
            "sato",
            SalesChannel.WEB,
            "JPY",
            [("POT-YX-02", 1), ("TOWEL-LN", 3)],
            group="japan",
            shipping=Money("800", "JPY"),
        ),
        "anna": _draft(
            "anna",
            SalesChannel.SOCIAL,
            "EUR",
            [("SET-GF-06", 1), ("TEA-LJ-250", 3)],
            tags=("urgent",),
            group="eu",
            discount=Adjustment(AdjustmentKind.DISCOUNT, "Welcome 10%", percent=Decimal("10")),
            shipping=Money("4.90", "EUR"),
        ),
        "sam": _draft(
            "sam",
            SalesChannel.POS,
            "USD",
            [("MUG-CEL-01", 4), ("TOWEL-LN", 2)],
            group="us-west",
        ),
        "sam-later": _draft(
            "sam",
            SalesChannel.WEB,
            "USD",
            [("SET-GF-06", 2)],
            group="us-west",
            shipping=Money("9.00", "USD"),
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
            draft, actor=f"{draft.channel}-checkout", idempotency_key=f"{shop.run}-{key}"
        )
        placed[key] = order
        say(
            f"  {order.number}  {order.channel:<11} {order.customer.name:<22} "
            f"{order.total.format(draft.locale):>14}  {order.status}"
        )

    say.heading("A price edit with approval, payments, a cancellation")
    # A phone call: the marketplace price for Chen's teapot was wrong. Mei asks, Jun approves.
    chen = placed["chen"]
    edited = service.request_edit(
        chen.id,
        [ChangePrice("L1", Money("659.00", "CNY"))],
        actor="mei@teashop",
        reason="matched the marketplace promotion price",
    )
    chen = service.approve_edit(
        chen.id, edited.pending_edits[0].edit_id, actor="jun@teashop", reason="promo confirmed"
    )
    say(
        f"  {chen.number}: price of L1 changed to "
        f"{chen.lines[0].unit_price.format('zh_Hant_TW')} (asked by mei, approved by jun); "
        f"total now {chen.total.format('zh_Hant_TW')}"
    )
    placed["chen"] = chen
    for key in ("lin", "chen", "sato", "anna", "sam", "sam-later"):
        order = placed[key]
        clock.advance(timedelta(minutes=3))
        placed[key] = service.pay(
            order.id, order.balance_due, reference=f"psp-{shop.run}-{key}", method="card"
        )
        say(f"  {order.number}: paid {order.total.format(order.locale)}")
    lin_unpaid = placed["lin-unpaid"]
    clock.advance(timedelta(minutes=5))
    placed["lin-unpaid"] = service.cancel(
        lin_unpaid.id, actor="cs@teashop", reason="duplicate order"
    )
    say(f"  {lin_unpaid.number}: cancelled before payment (a duplicate of {placed['lin'].number})")
    shop.dispatch()
    return placed


def _quote(shop: _Shop, who: str, lines: list[tuple[str, int]]) -> Money:
    """The cheapest table-rate price for the goods, free above the table's threshold."""
    _, address, _ = CUSTOMERS[who]
    return _cheapest(shop.rates, address, lines).amount


def _cheapest(rates: TableRateCarrier, address: Address, lines: list[tuple[str, int]]) -> RateQuote:
    grams = sum(CATALOG[sku][2] * quantity for sku, quantity in lines)
    value = Money.sum((_line(sku, qty, "CNY").unit_price * qty for sku, qty in lines), "CNY")
    return rates.quote(WAREHOUSE, address, [Parcel(grams)], order_value=value)[0]


def _order_quote(rates: TableRateCarrier, order: Order) -> RateQuote | None:
    """The quote a CNY order's shipping was priced at (its days give the arrival date)."""
    if order.currency != "CNY":
        return None
    return _cheapest(
        rates, order.shipping_address, [(line.sku, line.quantity) for line in order.lines]
    )


def _ship_and_track(shop: _Shop, placed: dict[str, Order]) -> None:
    service, clock, say = shop.service, shop.clock, shop.say
    say.heading("Shipping: parcels booked with the simulated carrier, one typed in by hand")
    clock.advance(timedelta(hours=2))
    shop.astray[placed["sato"].number] = "exception"  # the courier will not find the door
    for key in ("lin", "chen", "sato"):
        order = service.ship_with(
            placed[key].id,
            shop.parcels,
            origin=WAREHOUSE,
            service="standard",
            actor="warehouse",
        )
        placed[key] = order
        say(f"  {order.number}: {_parcels(order)}")
    anna = service.ship_with(
        placed["anna"].id,
        shop.parcels,
        {"L1": 1},
        origin=WAREHOUSE,
        service="express",
        actor="warehouse",
    )
    placed["anna"] = anna
    say(f"  {anna.number}: gongfu set first, tea to follow ({anna.status}): {_parcels(anna)}")
    # The POS order leaves with a UPS label printed at the counter; the number is checked.
    ups = shop.manual.label("ups", _ups_number(shop.run))
    placed["sam"] = service.ship(placed["sam"].id, label=ups, actor="pos-counter")
    say(f"  {placed['sam'].number}: {_parcels(placed['sam'])} (entered by hand, check digit ok)")
    shop.dispatch()

    say.heading("Tracking: the carrier's updates drive the orders")
    clock.advance(timedelta(hours=20))
    placed["anna"] = service.ship_with(
        placed["anna"].id, shop.parcels, origin=WAREHOUSE, service="standard", actor="warehouse"
    )
    say(f"  {anna.number}: the tea ships too ({placed['anna'].status})")
    shop.dispatch()
    for _ in range(8):  # every twelve hours the tracking job asks the carrier
        clock.advance(timedelta(hours=12))
        _poll_tracking(shop, placed)
    sato = service.get(placed["sato"].id)
    for event in service.history(sato.id):
        if isinstance(event.payload, ShipmentException):
            say(
                f"  {sato.number}: logistics exception at {event.payload.event.location}: "
                f"{event.payload.event.carrier_text} (customer told, order flagged)"
            )
    for key in ("lin", "chen", "sato", "anna"):
        order = service.get(placed[key].id)
        placed[key] = order
        say(f"  {order.number}: {order.status:<11} {_parcels(order)}")
    placed["sam"] = service.deliver(placed["sam"].id, actor="pos-counter")
    say(f"  {placed['sam'].number}: {placed['sam'].status} (UPS confirmed by phone)")


def _ups_number(run: str) -> str:
    """A UPS number as the counter's label printer issues them: shipper, service, package
    number (one per run here) and the check digit."""
    body = f"999AA101{int(run.lstrip('d')):07d}"
    return f"1Z{body}{ups_check_digit(body)}"


def _poll_tracking(shop: _Shop, placed: dict[str, Order]) -> None:
    """What a host's tracking job does: ask the carrier about every parcel still on its way,
    hand every update to orderkit (updates it has seen change nothing), send what that
    queued."""
    for order in placed.values():
        for shipment in shop.service.get(order.id).shipments:
            if shipment.carrier == shop.parcels.code and shipment.delivered_at is None:
                events = shop.parcels.track(shipment.tracking_number)
                shop.service.ingest_tracking_batch(events)
    shop.run_jobs()
    shop.dispatch()


def _parcels(order: Order) -> str:
    return "; ".join(
        f"{s.carrier} {s.tracking_number} ({_parcel_state(s)})" for s in order.shipments
    )


def _parcel_state(shipment: Shipment) -> str:
    return shipment.tracking_status or ("delivered" if shipment.delivered_at else "shipped")


def _after_sales(shop: _Shop, placed: dict[str, Order]) -> None:
    service, clock, say = shop.service, shop.clock, shop.say
    say.heading("After-sales: a return with a refund, an exchange")
    clock.advance(timedelta(days=1))
    # Anna sends one tin of tea back. Her order had a 10% discount and a shipping fee; the
    # refund is that tin's share of what she paid, to the cent.
    anna = service.request_return(
        placed["anna"].id, {"L2": 1}, reason="tin arrived dented", actor="anna"
    )
    ret = anna.returns[-1]
    service.approve_return(anna.id, ret.return_id, actor="mei@teashop")
    service.receive_return(
        anna.id, ret.return_id, Disposition.WRITE_OFF, actor="warehouse", reason="dented"
    )
    anna = service.refund_return(
        anna.id, ret.return_id, reference=f"psp-refund-{shop.run}-anna", reason="dented tin"
    )
    refund = anna.refunds[-1].amount
    say(
        f"  {anna.number}: 1 tin returned and written off; refunded {refund.format('de_DE')} "
        f"of the {anna.total.format('de_DE')} paid; order stays {anna.status}"
    )
    # Sato wants a different colour of towel: an exchange ships a replacement parcel.
    sato = service.request_return(
        placed["sato"].id,
        {"L2": 1},
        kind=ReturnKind.EXCHANGE,
        reason="wrong colour",
        actor="sato",
    )
    swap = sato.returns[-1]
    service.approve_return(sato.id, swap.return_id, actor="mei@teashop")
    service.receive_return(sato.id, swap.return_id, actor="warehouse")
    label = shop.parcels.create_shipment(
        WAREHOUSE,
        sato.shipping_address,
        [Parcel(CATALOG["TOWEL-LN"][2])],
        service="standard",
        reference=f"{sato.number}-X",
    )
    sato = service.exchange(sato.id, swap.return_id, label=label, actor="warehouse")
    say(f"  {sato.number}: towel exchanged; replacement {label.tracking_number}")

    later = placed["sam-later"]
    placed["sam-later"] = service.refund(
        later.id,
        later.net_paid,
        reference=f"psp-refund-{shop.run}",
        reason="customer changed their mind",
    )
    say(f"  {later.number}: refunded in full before shipping, closed (交易关闭); stock released")

    lin = service.confirm_receipt(placed["lin"].id, actor="lin")
    shop.jobs_log.append(
        (clock.now(), f"{lin.number}: buyer confirmed receipt, completed (交易成功)")
    )
    shop.dispatch()
    for _ in range(8):  # the replacement towel travels while the week runs out
        clock.advance(timedelta(hours=24))
        _poll_tracking(shop, placed)
    say.heading("Completion, a reminder and an expiry (the shop's jobs run with every poll)")
    for at, text in sorted(shop.jobs_log):
        say(f"  {at:%m-%d %H:%M}  {text}")
    service.add_note(placed["anna"].id, "Sent a new tin with her next order", actor="mei@teashop")
    shop.dispatch()
    _customers_read_their_mail(shop)


def _customers_read_their_mail(shop: _Shop) -> None:
    """Some customers open their receipts and follow a link; the host's endpoints record it."""
    with shop.service.storage.reader() as uow:
        sent = uow.outbox.find(OutboxQuery(status="sent", limit=1000)).items
    email = [
        e for e in sent if e.channel == "email" and e.created_at >= shop.clock.now() - RUN_LENGTH
    ]
    for i, entry in enumerate(email):
        if i % 3 != 2:
            shop.service.record_receipt_open(entry.entry_id)
        if i % 4 == 0:
            shop.service.record_receipt_click(entry.entry_id, MERCHANT.url)


def _summarise(shop: _Shop) -> None:
    service, say = shop.service, shop.say
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
        # Net of refunds and returns: a closed order refunded in full earns nothing.
        profit = Money.sum(
            (order_financials(o).profit for o in orders if o.currency == currency),
            currency,
        )
        held, gross = total.format("en_US"), profit.format("en_US")
        say(f"    {currency}  {held:>14}   gross profit {gross:>12}")

    parcels = [s for o in orders for s in o.shipments]
    by_state = Counter(_parcel_state(s) for s in parcels)
    exceptions = sum(
        isinstance(e.payload, ShipmentException) for o in orders for e in service.history(o.id)
    )
    refunds = [r for o in orders for r in o.refunds]
    returns = [r for o in orders for r in o.returns]
    kinds = Counter(r.kind for r in returns)
    say()
    say(
        f"  Parcels: {len(parcels)} "
        f"({', '.join(f'{n} {state}' for state, n in sorted(by_state.items()))}); "
        f"logistics exceptions: {exceptions}"
    )
    say(
        f"  After-sales: {len(returns)} returns "
        f"({', '.join(f'{n} for {k}' for k, n in sorted(kinds.items()))}), "
        f"{len(refunds)} refunds"
    )

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

    say.heading("Receipts emailed, opened and clicked (all runs in this shop)")
    for line in receipt_report(service.storage, channel="email").format().splitlines():
        say(f"  {line}")
    say("  p50, p90, max: how long after the order was placed its message went out, for the")
    say("  median message, the 90th percentile and the slowest.")
    mail = shop.folder / "mail"
    receipts = shop.folder / "receipts"
    say()
    say(f"  {_count(mail, '.eml')} emails (.eml) in   {mail.resolve()}{os.sep}")
    say(f"  {_count(receipts, '.html')} receipts (.txt + .html) in {receipts.resolve()}{os.sep}")

    interesting = [o for o in orders if o.returns and o.currency == "EUR"][:1]
    if interesting:
        order = interesting[0]
        say.heading(f"Event log of {order.number} (its modification record)")
        lines = [
            f"{event.at:%m-%d %H:%M}  {event.type:<18} {event.actor:<14} {_describe(event)}"
            for event in service.history(order.id)
        ]
        for line, count in _folded(lines):
            say(f"  {line}" + (f"  (×{count})" if count > 1 else ""))


def _folded(lines: list[str]) -> list[tuple[str, int]]:
    """Consecutive equal lines once, with how often they came."""
    folded: list[tuple[str, int]] = []
    for line in lines:
        if folded and folded[-1][0] == line:
            folded[-1] = (line, folded[-1][1] + 1)
        else:
            folded.append((line, 1))
    return folded


def _count(folder: Path, suffix: str) -> int:
    return sum(1 for p in folder.glob(f"*{suffix}")) if folder.is_dir() else 0


def _describe(event: RecordedEvent) -> str:
    payload = event.payload
    text = ""
    if isinstance(payload, StatusChanged):
        text = f"{payload.from_status} → {payload.to_status} ({payload.event})"
    elif isinstance(payload, EditApplied):
        text = "; ".join(f"{c.field}: {c.old} → {c.new}" for c in payload.changes)
        if payload.approved_by:
            text += f" (asked by {payload.requested_by}, approved by {payload.approved_by})"
    elif isinstance(payload, TrackingUpdated):
        text = f"{payload.event.tracking_number}: {payload.event.status}"
        if payload.event.location:
            text += f" at {payload.event.location}"
    elif isinstance(payload, NotificationQueued):
        text = f"{payload.kind} for {payload.channel}"
    elif isinstance(payload, NotificationSent):
        text = f"{payload.kind} via {payload.channel}"
    elif isinstance(payload, RefundIssued):
        text = f"{payload.refund.amount} back (ref {payload.refund.reference})"
    if event.reason:
        text = f"{text}  — {event.reason}" if text else f"— {event.reason}"
    return text
