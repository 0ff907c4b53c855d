"""The rules of placing an order: the new order a draft makes, its stock, a flagged address.

The service draws the ids and the readable number (from storage's gapless sequence) and
carries the decisions out; everything decided here is a pure function of the draft, the
time and the shop's policy.
"""

from __future__ import annotations

from datetime import datetime

from orderkit.domain.address import ADDRESS_REVIEW_TAG, Suspicion
from orderkit.domain.decision import Decision, Reserve, fire
from orderkit.domain.drafts import OrderDraft
from orderkit.domain.events import AddressFlagged, OrderPlaced
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import ReservationPolicy, line_movements
from orderkit.domain.order import Order
from orderkit.domain.status import StatusMachine
from orderkit.domain.tags import tag
from orderkit.domain.values import LineItem, Note

__all__ = ["flag_address", "new_order", "placed", "reserve_at_placement"]


def new_order(
    draft: OrderDraft, order_id: str, currency: str, now: datetime, actor: str, status: str
) -> Order:
    """The order a validated draft makes, unnumbered, in ``status`` (the machine's initial
    state); its lines are numbered ``L1``, ``L2``, … in the draft's order."""
    lines = tuple(LineItem.from_draft(f"L{i + 1}", d) for i, d in enumerate(draft.lines))
    return Order(
        id=order_id,
        number="",
        customer=draft.customer,
        shipping_address=draft.shipping_address,
        billing_address=draft.billing_address,
        lines=lines,
        currency=currency,
        status=status,
        created_at=now,
        updated_at=now,
        channel=draft.channel,
        prices_include_tax=draft.prices_include_tax,
        adjustments=draft.adjustments,
        tags=draft.tags,
        group=draft.group,
        locale=draft.locale,
        time_zone=draft.time_zone,
        notes=(Note(now, actor, draft.note),) if draft.note else (),
        lines_issued=len(lines),
        tax_policy=draft.tax_policy,
    )


def reserve_at_placement(order: Order, policy: ReservationPolicy) -> Decision[Order]:
    """Reserve every line's stock when the shop reserves at placement; nothing otherwise
    (the stock is then reserved when the order is paid in full)."""
    if policy is not ReservationPolicy.AT_PLACEMENT:
        return Decision(order)
    reserved = evolve(order, stock_reserved=True)
    return Decision(reserved, (Reserve(line_movements(order.lines)),))


def flag_address(
    order: Order, suspicions: tuple[Suspicion, ...], machine: StatusMachine[Order], hold: str
) -> Decision[Order]:
    """Record why the shipping address deserves a look, tag the order ``address-review``,
    and fire ``hold`` (e.g. ``flag`` into ``awaiting_review``) where the machine has it."""
    if not suspicions:
        return Decision(order)
    flagged = Decision(order, (AddressFlagged("shipping_address", suspicions),))
    flagged = flagged.then(tag(order, ADDRESS_REVIEW_TAG, present=True))
    if machine.can_fire(flagged.order, flagged.order.status, hold):
        flagged = flagged.then(fire(machine, flagged.order.status, flagged.order, hold))
    return flagged


def placed(order: Order) -> OrderPlaced:
    """The ``OrderPlaced`` event of a numbered order: the first event of its stream."""
    return OrderPlaced(
        order.number,
        order.customer.id,
        order.channel,
        order.currency,
        order.total,
        order.lines,
        order.adjustments,
        order.shipping_address,
    )
