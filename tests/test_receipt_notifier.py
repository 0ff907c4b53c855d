"""ReceiptNotifier: which events queue which receipts, and rendering queued receipts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import attrs
import pytest

from orderkit import FixedClock, OrderService
from orderkit.adapters.notify import MemoryChannel
from orderkit.domain.events import (
    NewEvent,
    PaymentReminderDue,
    RecordedEvent,
    RefundIssued,
    ReturnApproved,
    ShipmentException,
)
from orderkit.domain.money import Money
from orderkit.domain.order import Order, Refund
from orderkit.domain.receipt import PersonalizationBlock, Receipt, ReceiptKind
from orderkit.domain.shipping import RateQuote, TrackingEvent, TrackingStatus
from orderkit.errors import ValidationError
from orderkit.notify.dispatch import Dispatcher
from orderkit.notify.outbox import OutboxDraft, OutboxEntry, OutboxQuery, OutboxStatus
from orderkit.notify.receipt_notifier import EVENT_KINDS, ReceiptNotifier
from orderkit.notify.render import ReceiptRenderer
from orderkit.serialization import get_converter
from receipt_fixtures import MERCHANT, T0, place, service


def exception(text: str) -> ShipmentException:
    """The event tracking ingest records when a carrier reports a failed delivery."""
    event = TrackingEvent("ev-1", "sf", "SF1", TrackingStatus.EXCEPTION, T0, carrier_text=text)
    return ShipmentException("s-1", "sf", "SF1", event)


class Coupons:
    def blocks_for(self, receipt: Receipt, kind: str) -> Sequence[PersonalizationBlock]:
        if kind != ReceiptKind.DELIVERED:
            return ()
        return (PersonalizationBlock(title="Thank you", coupon_code="COMEBACK"),)


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


def notifier(renderer: ReceiptRenderer, **options: Any) -> ReceiptNotifier:
    return ReceiptNotifier(renderer=renderer, merchant=MERCHANT, **options)


def new_events(recorded: Sequence[RecordedEvent]) -> list[NewEvent]:
    return [NewEvent(e.stream, e.at, e.actor, e.reason, e.payload) for e in recorded]


def last_command(svc: OrderService, order: Order, before: int) -> list[NewEvent]:
    """The events of the order's most recent command(s): those after the first ``before``."""
    return new_events(svc.history(order.id)[before:])


def kinds(drafts: Sequence[OutboxDraft]) -> list[str]:
    return [d.kind for d in drafts]


def test_a_receipt_gets_an_estimated_arrival_date_from_the_carriers_quote(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc)
    quote = RateQuote("table", "standard", Money("6.00", "USD"), estimated_days=(1, 3))
    drafts = notifier(
        renderer,
        estimate_ship_date=lambda order: date(2026, 11, 24),
        shipping_quote=lambda order: quote,
    ).notifications(order, last_command(svc, order, 0))
    assert "2026-11-27" == drafts[0].payload["estimated_arrival_date"]


def test_a_quote_without_a_ship_date_gives_no_arrival_date(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    quote = RateQuote("table", "standard", Money("6.00", "USD"), estimated_days=(1, 3))
    drafts = notifier(renderer, shipping_quote=lambda order: quote).notifications(
        order, last_command(svc, order, 0)
    )
    assert drafts[0].payload["estimated_arrival_date"] is None


def test_a_receipt_keeps_the_orders_time_zone(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc, time_zone="Europe/Berlin")
    drafts = notifier(renderer).notifications(order, last_command(svc, order, 0))
    assert "Europe/Berlin" == drafts[0].payload["time_zone"]


def test_placing_an_order_queues_the_order_receipt(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    drafts = notifier(renderer).notifications(order, last_command(svc, order, 0))
    assert [ReceiptKind.ORDER_PLACED] == kinds(drafts)


def test_the_receipt_goes_by_email_to_the_customer_in_the_orders_locale(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc, locale="zh_TW")
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    assert ("email", "mei@example.com", "zh_TW") == (draft.channel, draft.recipient, draft.locale)


def test_a_customer_without_an_email_address_gets_no_email(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc, email="")
    assert [] == notifier(renderer).notifications(order, last_command(svc, order, 0))


def test_the_payload_is_the_receipt_snapshot(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    snapshot = get_converter().structure(dict(draft.payload), Receipt)
    assert (order.number, order.total, ReceiptKind.ORDER_PLACED) == (
        snapshot.order_number,
        snapshot.total,
        snapshot.kind,
    )


def test_paying_in_full_queues_the_payment_receipt(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    before = len(svc.history(order.id))
    paid = svc.pay(order.id, order.total, reference="p-1", actor="psp")
    drafts = notifier(renderer).notifications(paid, last_command(svc, paid, before))
    assert [ReceiptKind.PAYMENT_RECEIVED] == kinds(drafts)


def test_a_partial_payment_queues_nothing(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    before = len(svc.history(order.id))
    half = order.total.split(2)[0]
    paid = svc.pay(order.id, half, reference="p-1", actor="psp")
    assert [] == notifier(renderer).notifications(paid, last_command(svc, paid, before))


def test_shipping_queues_the_shipped_receipt(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    before = len(svc.history(order.id))
    shipped = svc.ship(order.id, carrier="sf-express", tracking_number="SF1")
    drafts = notifier(renderer).notifications(shipped, last_command(svc, shipped, before))
    assert [ReceiptKind.SHIPPED] == kinds(drafts)


def delivered_draft(renderer: ReceiptRenderer, **options: Any) -> OutboxDraft:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    svc.ship(order.id, carrier="sf-express", tracking_number="SF1")
    before = len(svc.history(order.id))
    delivered = svc.deliver(order.id)
    events = last_command(svc, delivered, before)
    (draft,) = notifier(renderer, **options).notifications(delivered, events)
    return draft


def test_the_delivered_receipt_is_sent_with_the_providers_blocks(
    renderer: ReceiptRenderer,
) -> None:
    draft = delivered_draft(renderer, personalization=Coupons())

    message = notifier(renderer, personalization=Coupons()).render(entry(draft))

    assert ReceiptKind.DELIVERED == draft.kind
    assert "COMEBACK" in message.text


def test_the_provider_is_asked_when_the_receipt_is_sent_not_when_it_is_queued(
    renderer: ReceiptRenderer,
) -> None:
    draft = delivered_draft(renderer, personalization=Coupons())

    assert () == get_converter().structure(dict(draft.payload), Receipt).blocks


class Broken:
    def blocks_for(self, receipt: Receipt, kind: str) -> Sequence[PersonalizationBlock]:
        raise ConnectionError("recommendations are down")


def test_a_failing_provider_sends_the_receipt_without_blocks_and_logs_why(
    renderer: ReceiptRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    draft = delivered_draft(renderer)

    with caplog.at_level(logging.WARNING, logger="orderkit.notify.receipt_notifier"):
        message = notifier(renderer, personalization=Broken()).render(entry(draft))

    assert "COMEBACK" not in message.text
    assert message.subject == notifier(renderer).render(entry(draft)).subject
    (record,) = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)


def test_placing_an_order_never_waits_for_the_provider(renderer: ReceiptRenderer) -> None:
    svc = service(notifier=notifier(renderer, personalization=Broken()))

    order = place(svc)

    assert "pending_payment" == svc.get(order.id).status


def test_cancelling_queues_the_closed_receipt(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    before = len(svc.history(order.id))
    closed = svc.cancel(order.id, actor="customer", reason="changed my mind")
    drafts = notifier(renderer).notifications(closed, last_command(svc, closed, before))
    assert [ReceiptKind.ORDER_CLOSED] == kinds(drafts)


def test_a_full_refund_queues_one_closed_receipt_not_a_refund_receipt_too(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    before = len(svc.history(order.id))
    refunded = svc.refund(
        order.id, order.total, reference="r-1", reason="out of stock", actor="ops"
    )
    drafts = notifier(renderer).notifications(refunded, last_command(svc, refunded, before))
    assert [ReceiptKind.ORDER_CLOSED] == kinds(drafts)


def test_a_zero_refund_tells_the_customer_nothing(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    paid = svc.pay(order.id, order.total, reference="p-1", actor="psp")
    zero = Refund("rf-0", Money.zero(order.currency), "", "nothing left", T0, (), "ret-1")
    event = NewEvent(f"order:{paid.id}", T0, "ops", "", RefundIssued(zero, zero.amount))

    assert [] == notifier(renderer).notifications(paid, [event])


def test_a_partial_refund_queues_the_refund_receipt(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    before = len(svc.history(order.id))
    half = order.total.split(2)[0]
    refunded = svc.refund(order.id, half, reference="r-1", reason="damaged cup", actor="ops")
    drafts = notifier(renderer).notifications(refunded, last_command(svc, refunded, before))
    assert [ReceiptKind.REFUND_ISSUED] == kinds(drafts)


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (exception("Address incomplete"), ReceiptKind.LOGISTICS_EXCEPTION),
        (PaymentReminderDue(T0, Money("55.72", "CNY")), ReceiptKind.PAYMENT_REMINDER),
        (ReturnApproved("ret-1", "refund", ()), ReceiptKind.RETURN_APPROVED),
    ],
)
def test_events_from_other_parts_are_matched_by_type_name(
    renderer: ReceiptRenderer, payload: object, kind: str
) -> None:
    order = place(service())
    event = NewEvent(f"order:{order.id}", T0, "system", "", payload)
    assert [kind] == kinds(notifier(renderer).notifications(order, [event]))


def test_a_logistics_exception_receipt_carries_the_carriers_detail(
    renderer: ReceiptRenderer,
) -> None:
    order = place(service())
    event = NewEvent("order:x", T0, "system", "", exception("Address incomplete"))
    (draft,) = notifier(renderer).notifications(order, [event])
    assert "Address incomplete" == draft.payload["detail"]


def test_unrelated_events_queue_nothing(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    before = len(svc.history(order.id))
    tagged = svc.add_tag(order.id, "vip", actor="ops")
    assert [] == notifier(renderer).notifications(tagged, last_command(svc, tagged, before))


def test_kinds_the_host_turned_off_are_not_queued(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    quiet = notifier(renderer, kinds=frozenset({ReceiptKind.SHIPPED}))
    assert [] == quiet.notifications(order, last_command(svc, order, 0))


def test_every_channel_with_a_recipient_gets_a_draft(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    channels = {
        "email": lambda o: o.customer.email,
        "webhook": lambda o: "crm",
        "sms": lambda o: "",
    }
    drafts = notifier(renderer, channels=channels).notifications(order, last_command(svc, order, 0))
    assert [("email", "mei@example.com"), ("webhook", "crm")] == [
        (d.channel, d.recipient) for d in drafts
    ]


def test_receipt_numbers_and_dedup_keys_are_stable_and_unique_per_order_and_kind(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc)
    placed_events = last_command(svc, order, 0)
    first = notifier(renderer).notifications(order, placed_events)
    again = notifier(renderer).notifications(order, placed_events)
    paid = svc.pay(order.id, order.total, reference="p-1", actor="psp")
    later = notifier(renderer).notifications(paid, last_command(svc, paid, len(placed_events)))
    keys = [d.dedup_key for d in first + later]
    numbers = [d.payload["receipt_number"] for d in first + later]
    assert (first, len(set(keys)), len(set(numbers))) == (again, 2, 2)


def entry(draft: OutboxDraft, entry_id: str = "ent-1") -> OutboxEntry:
    return OutboxEntry(
        entry_id=entry_id,
        kind=draft.kind,
        channel=draft.channel,
        recipient=draft.recipient,
        locale=draft.locale,
        payload=draft.payload,
        order_id=draft.order_id,
        dedup_key=draft.dedup_key,
        status=OutboxStatus.SENDING,
        attempts=1,
        created_at=T0,
        next_attempt_at=T0 + timedelta(seconds=1),
    )


def test_a_queued_receipt_renders_into_a_message_in_its_locale(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc, locale="ja_JP")
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    message = notifier(renderer).render(entry(draft))
    assert (f"ご注文確認 {order.number}", "ja", "ent-1", draft.dedup_key) == (
        message.subject,
        message.locale,
        message.message_id,
        message.dedup_key,
    )


def test_a_rendered_message_carries_the_payload_as_data(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    assert draft.payload == notifier(renderer).render(entry(draft)).data


def test_an_entry_whose_payload_is_not_a_receipt_is_refused(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    broken = attrs.evolve(draft, payload={"hello": "world"})
    with pytest.raises(ValidationError) as info:
        notifier(renderer).render(entry(broken))
    assert "payload" == info.value.field


def test_a_refund_receipt_states_the_amount_of_this_refund(renderer: ReceiptRenderer) -> None:
    svc = service()
    order = place(svc)
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    svc.refund(order.id, Money("10.00", "USD"), reference="r-1", reason="late", actor="ops")
    before = len(svc.history(order.id))
    second = svc.refund(order.id, Money("4.00", "USD"), reference="r-2", reason="dent", actor="ops")
    (draft,) = notifier(renderer).notifications(second, last_command(svc, second, before))
    text = notifier(renderer).render(entry(draft)).text
    assert ("$4.00" in text, "$14.00" in text) == (True, True)  # this refund, and the total


def test_a_queued_receipt_keeps_the_regional_formats_of_the_orders_locale(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    order = place(svc, locale="en_GB")
    (draft,) = notifier(renderer).notifications(order, last_command(svc, order, 0))
    message = notifier(renderer).render(entry(draft))
    assert ("en", True) == (message.locale, "23 Nov 2026" in message.text)


@attrs.frozen
class ParcelLost:
    shipment_id: str
    detail: str


def test_a_host_maps_its_own_events_to_receipt_kinds(renderer: ReceiptRenderer) -> None:
    order = place(service())
    kinds_by_event = {**EVENT_KINDS, "ParcelLost": ReceiptKind.LOGISTICS_EXCEPTION}
    event = NewEvent(f"order:{order.id}", T0, "carrier", "", ParcelLost("s-1", "Lost in transit"))
    drafts = notifier(renderer, event_kinds=kinds_by_event).notifications(order, [event])
    assert [ReceiptKind.LOGISTICS_EXCEPTION] == kinds(drafts)


def test_every_event_the_notifier_listens_for_is_a_registered_event_type() -> None:
    from orderkit.domain.events import EVENT_TYPES
    from orderkit.notify.receipt_notifier import EVENT_KINDS

    assert [] == sorted(set(EVENT_KINDS) - set(EVENT_TYPES))


def test_a_parcel_returned_to_sender_queues_a_notice_to_the_customer(
    renderer: ReceiptRenderer,
) -> None:
    svc = service()
    receipts = svc.notifier = notifier(renderer)
    order = place(svc, locale="zh_Hans")
    svc.pay(order.id, order.total, reference="p-1", actor="psp")
    svc.ship(order.id, carrier="sf", tracking_number="SF1")
    back = TrackingEvent(
        "ev-9", "sf", "SF1", TrackingStatus.RETURNED_TO_SENDER, T0, carrier_text="Refused"
    )
    svc.ingest_tracking(back)
    with svc.storage.reader() as uow:
        entries = uow.outbox.find(OutboxQuery(order_id=order.id, kind="returned_to_sender"))
    (entry,) = entries.items
    message = receipts.render(entry)
    assert ("mei@example.com", f"订单 {order.number} 的包裹正在退回", True, "Refused") == (
        entry.recipient,
        message.subject,
        "您的包裹正在退回" in message.text,
        entry.payload["detail"],
    )


def test_a_sent_receipt_records_the_locale_it_was_rendered_in(renderer: ReceiptRenderer) -> None:
    receipts = notifier(renderer)
    svc = service(notifier=receipts)
    order = place(svc, locale="de_AT")
    channel = MemoryChannel(name="email")
    dispatcher = Dispatcher(svc.storage, {"email": channel}, receipts, clock=FixedClock(T0))

    dispatcher.dispatch_pending()

    with svc.storage.reader() as uow:
        sent = [e.payload for e in uow.events.read() if e.type == "NotificationSent"]
    assert "de_AT" == svc.get(order.id).locale
    assert ["de"] == [s.locale for s in sent]
