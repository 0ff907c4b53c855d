"""The demo's story: a trading fortnight, day by day."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from email.utils import formataddr
from pathlib import Path
from typing import TextIO

from orderkit.adapters.carriers import ManualCarrier, SimulatedCarrier, TableRateCarrier
from orderkit.adapters.carriers.table_rate import example_rate_table
from orderkit.adapters.notify import FileChannel
from orderkit.adapters.sqlite import SQLiteStorage
from orderkit.clock import FixedClock
from orderkit.demo.report import summarise
from orderkit.demo.shop import (
    CARRIER_NAMES,
    CATALOG,
    CUSTOMERS,
    FIRST_DAY,
    MERCHANT,
    RUN_LENGTH,
    TRACKING,
    WAREHOUSE,
    Printer,
    ReceiptArchive,
    RecommendTeaware,
    Shop,
    line_draft,
    order_draft,
    parcel_state,
)
from orderkit.domain.aftersales import Disposition, ReturnKind
from orderkit.domain.events import (
    ShipmentException,
)
from orderkit.domain.money import Money
from orderkit.domain.order import (
    Address,
    Adjustment,
    AdjustmentKind,
    ChangePrice,
    Order,
    OrderDraft,
    SalesChannel,
)
from orderkit.domain.shipping import Parcel, RateQuote
from orderkit.domain.tracking_numbers import ups_check_digit
from orderkit.notify.dispatch import Dispatcher
from orderkit.notify.outbox import OutboxQuery
from orderkit.notify.receipt_notifier import ReceiptNotifier, customer_email
from orderkit.notify.render import ReceiptRenderer
from orderkit.service import OrderService

__all__ = ["run_demo"]


def run_demo(directory: Path, out: TextIO) -> int:
    """Run one trading fortnight of the demo shop in ``directory``; return an exit code."""
    started = time.perf_counter()
    say = Printer(out)
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
        shop = Shop(
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
        summarise(shop)
    finally:
        storage.close()
    say()
    say(f"done in {time.perf_counter() - started:.2f} s. Run it again for another fortnight.")
    return 0


def _take_orders(shop: Shop) -> dict[str, Order]:
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
        "lin": order_draft(
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
        "chen": order_draft(
            "chen",
            SalesChannel.MARKETPLACE,
            "CNY",
            chen_lines,
            group="taiwan",
            shipping=_quote(shop, "chen", chen_lines),
        ),
        "sato": order_draft(
            "sato",
            SalesChannel.WEB,
            "JPY",
            [("POT-YX-02", 1), ("TOWEL-LN", 3)],
            group="japan",
            shipping=Money("800", "JPY"),
        ),
        "anna": order_draft(
            "anna",
            SalesChannel.SOCIAL,
            "EUR",
            [("SET-GF-06", 1), ("TEA-LJ-250", 3)],
            tags=("urgent",),
            group="eu",
            discount=Adjustment(AdjustmentKind.DISCOUNT, "Welcome 10%", percent=Decimal("10")),
            shipping=Money("4.90", "EUR"),
        ),
        "sam": order_draft(
            "sam",
            SalesChannel.POS,
            "USD",
            [("MUG-CEL-01", 4), ("TOWEL-LN", 2)],
            group="us-west",
        ),
        "sam-later": order_draft(
            "sam",
            SalesChannel.WEB,
            "USD",
            [("SET-GF-06", 2)],
            group="us-west",
            shipping=Money("9.00", "USD"),
        ),
        "anna-unpaid": order_draft("anna", SalesChannel.WEB, "EUR", [("TOWEL-LN", 2)], group="eu"),
        "lin-unpaid": order_draft(
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


def _quote(shop: Shop, who: str, lines: list[tuple[str, int]]) -> Money:
    """The cheapest table-rate price for the goods, free above the table's threshold."""
    _, address, _ = CUSTOMERS[who]
    return _cheapest(shop.rates, address, lines).amount


def _cheapest(rates: TableRateCarrier, address: Address, lines: list[tuple[str, int]]) -> RateQuote:
    grams = sum(CATALOG[sku][2] * quantity for sku, quantity in lines)
    value = Money.sum((line_draft(sku, qty, "CNY").unit_price * qty for sku, qty in lines), "CNY")
    return rates.quote(WAREHOUSE, address, [Parcel(grams)], order_value=value)[0]


def _order_quote(rates: TableRateCarrier, order: Order) -> RateQuote | None:
    """The quote a CNY order's shipping was priced at (its days give the arrival date)."""
    if order.currency != "CNY":
        return None
    return _cheapest(
        rates, order.shipping_address, [(line.sku, line.quantity) for line in order.lines]
    )


def _ship_and_track(shop: Shop, placed: dict[str, Order]) -> None:
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


def _poll_tracking(shop: Shop, placed: dict[str, Order]) -> None:
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
        f"{s.carrier} {s.tracking_number} ({parcel_state(s)})" for s in order.shipments
    )


def _after_sales(shop: Shop, placed: dict[str, Order]) -> None:
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


def _customers_read_their_mail(shop: Shop) -> None:
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
