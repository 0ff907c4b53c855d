"""What the demo prints at the end: the shop's numbers, the receipts' delivery report and
the modification record of one order."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

from orderkit.demo.shop import Shop, parcel_state
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
    Order,
)
from orderkit.notify.reports import receipt_report

__all__ = [
    "summarise",
]


def summarise(shop: Shop) -> None:
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
    by_state = Counter(parcel_state(s) for s in parcels)
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
