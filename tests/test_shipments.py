"""Shipments on orders: carriers, several parcels, tracking ingest, receipt, auto-complete."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest

import shop
from _outbox_support import EmailNotifier
from orderkit.adapters.carriers import SimulatedCarrier
from orderkit.adapters.memory import MemoryStorage
from orderkit.adapters.sqlite import MIGRATIONS, SQLiteStorage
from orderkit.clock import FixedClock
from orderkit.domain.events import ShipmentDelivered
from orderkit.domain.lifecycle import default_order_machine
from orderkit.domain.money import Money
from orderkit.domain.order import Address, Order
from orderkit.domain.shipping import Parcel, RateQuote, ShipmentLabel, TrackingEvent, TrackingStatus
from orderkit.domain.status import StatusMachine, Transition
from orderkit.errors import InvalidTransition, ShipmentNotFound, ValidationError
from orderkit.notify.outbox import OutboxQuery
from orderkit.ports import OrderQuery, Storage
from orderkit.serialization import order_to_json
from orderkit.service import OrderService


class BookCarrier:
    """A carrier over a dict: it books numbered parcels and remembers what it was asked.

    A real implementation of the :class:`orderkit.ports.Carrier` port, kept in memory.
    """

    code = "book"

    def __init__(self) -> None:
        self.booked: dict[str, tuple[Address, list[Parcel], str]] = {}

    def quote(
        self, origin: Address, destination: Address, parcels: Sequence[Parcel]
    ) -> list[RateQuote]:
        grams = sum(p.weight_grams for p in parcels)
        return [RateQuote(self.code, "standard", Money(f"{8 + grams // 1000}.00", "CNY"))]

    def create_shipment(
        self,
        origin: Address,
        destination: Address,
        parcels: Sequence[Parcel],
        *,
        service: str,
        reference: str,
    ) -> ShipmentLabel:
        number = f"BK{len(self.booked) + 1:08d}"
        self.booked[number] = (destination, list(parcels), reference)
        return ShipmentLabel(self.code, service, number, label_ref=f"label-{number}")

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        return []

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://book.example/t/{tracking_number}"


@pytest.fixture(params=shop.BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with shop.open_storage(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(shop.START)


@pytest.fixture
def svc(storage: Storage, clock: FixedClock) -> OrderService:
    return shop.service(storage, clock)


def tracked(svc: OrderService, *parcels: str) -> Order:
    """A paid order of 2 TEA and 1 CUP shipped as parcels ``SF1`` (the tea) and ``YT1``."""
    order_id = shop.paid(svc, ("TEA", 2), ("CUP", 1))
    svc.ship(order_id, {"L1": 2}, carrier="sf", tracking_number="SF1")
    return svc.ship(order_id, {"L2": 1}, carrier="yto", tracking_number="YT1")


def update(
    number: str, status: str, minutes: int, event_id: str | None = None, carrier: str = ""
) -> TrackingEvent:
    carrier = carrier or ("sf" if number.startswith("SF") else "yto")
    return TrackingEvent(
        event_id or f"{number}-{status}-{minutes}",
        carrier,
        number,
        status,
        shop.START + timedelta(minutes=minutes),
    )


def parcel_status(order: Order, number: str) -> str:
    return next(s.tracking_status for s in order.shipments if s.tracking_number == number)


# -- shipping -----------------------------------------------------------------------------------


def test_shipping_with_a_label_keeps_the_carriers_number_url_and_service(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 1))
    label = ShipmentLabel("sf", "express", "SF9", label_ref="L-9", tracking_url="https://sf/9")
    shipment = svc.ship(order_id, label=label).shipments[0]
    assert ("sf", "SF9", "https://sf/9", "express", "L-9") == (
        shipment.carrier,
        shipment.tracking_number,
        shipment.tracking_url,
        shipment.service,
        shipment.label_ref,
    )


def test_a_carrier_that_contradicts_the_label_is_refused(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 1))
    with pytest.raises(ValidationError) as refused:
        svc.ship(order_id, carrier="ups", label=ShipmentLabel("sf", "express", "SF9"))
    assert "carrier" == refused.value.field


def test_shipping_with_a_carrier_books_one_parcel_weighing_the_shipped_units(
    svc: OrderService,
) -> None:
    carrier = BookCarrier()
    order_id = shop.paid(svc, ("TEA", 2), ("POT", 1))
    svc.ship_with(order_id, carrier, {"L1": 2}, origin=shop.WAREHOUSE, service="standard")
    assert [Parcel(500, items=2)] == carrier.booked["BK00000001"][1]


def test_shipping_with_a_carrier_lines_without_weights_and_no_parcels_books_nothing(
    svc: OrderService,
) -> None:
    carrier = BookCarrier()
    draft = shop.draft(("TEA", 1), ("POT", 1))
    weightless = attrs.evolve(draft.lines[1], weight_grams=0)
    order = svc.place(attrs.evolve(draft, lines=[draft.lines[0], weightless]))
    svc.pay(order.id, order.total, reference="psp-1")
    with pytest.raises(ValidationError, match="line L2 of order SO-2026-000001 has no weight"):
        svc.ship_with(order.id, carrier, origin=shop.WAREHOUSE, service="standard")
    assert ({}, "awaiting_shipment") == (carrier.booked, svc.get(order.id).status)


def test_shipping_weightless_lines_with_parcels_given_books_those_parcels(
    svc: OrderService,
) -> None:
    carrier = BookCarrier()
    draft = shop.draft(("TEA", 1))
    order = svc.place(attrs.evolve(draft, lines=[attrs.evolve(draft.lines[0], weight_grams=0)]))
    svc.pay(order.id, order.total, reference="psp-1")
    parcels = [Parcel(400, items=1)]
    svc.ship_with(order.id, carrier, origin=shop.WAREHOUSE, service="standard", parcels=parcels)
    assert parcels == carrier.booked["BK00000001"][1]


def test_two_parcels_booked_in_the_same_second_get_their_own_numbers_and_both_deliver(
    svc: OrderService, clock: FixedClock
) -> None:
    carrier = SimulatedCarrier(clock)
    order_id = shop.paid(svc, ("TEA", 2), ("POT", 1))
    svc.ship_with(order_id, carrier, {"L1": 2}, origin=shop.WAREHOUSE, service="standard")
    order = svc.ship_with(order_id, carrier, origin=shop.WAREHOUSE, service="standard")
    clock.advance(timedelta(days=3))
    for shipment in order.shipments:
        svc.ingest_tracking_batch(carrier.track(shipment.tracking_number))
    numbers = {s.tracking_number for s in order.shipments}
    assert (2, "delivered") == (len(numbers), svc.get(order_id).status)


def test_a_tracking_number_already_on_a_parcel_is_refused_and_nothing_ships(
    svc: OrderService,
) -> None:
    first = shop.paid(svc, ("TEA", 1))
    svc.ship(first, carrier="sf", tracking_number="SF1")
    second = shop.paid(svc, ("TEA", 1))
    with pytest.raises(ValidationError) as refused:
        svc.ship(second, carrier="sf", tracking_number="SF1")
    assert ("tracking_number", "awaiting_shipment", 1) == (
        refused.value.field,
        svc.get(second).status,
        svc.stock("TEA").reserved,
    )


def test_shipping_with_a_carrier_records_its_number_and_tracking_url(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 1))
    order = svc.ship_with(order_id, BookCarrier(), origin=shop.WAREHOUSE, service="standard")
    shipment = order.shipments[0]
    assert ("book", "BK00000001", "https://book.example/t/BK00000001", "shipped") == (
        shipment.carrier,
        shipment.tracking_number,
        shipment.tracking_url,
        order.status,
    )


def test_shipping_more_than_is_left_books_nothing(svc: OrderService) -> None:
    carrier = BookCarrier()
    order_id = shop.paid(svc, ("TEA", 1))
    with pytest.raises(ValidationError):
        svc.ship_with(order_id, carrier, {"L1": 2}, origin=shop.WAREHOUSE, service="standard")
    assert {} == carrier.booked


def test_an_order_that_cannot_ship_books_no_label(svc: OrderService) -> None:
    carrier = BookCarrier()
    unpaid = svc.place(shop.draft(("TEA", 1))).id
    closed = svc.place(shop.draft(("TEA", 1))).id
    svc.cancel(closed, actor="cs", reason="changed their mind")
    refused = []
    for order_id in (unpaid, closed):
        with pytest.raises(InvalidTransition) as raised:
            svc.ship_with(order_id, carrier, origin=shop.WAREHOUSE, service="standard")
        refused.append((raised.value.state, raised.value.event))
    assert ([("pending_payment", "ship"), ("closed", "ship")], {}) == (refused, carrier.booked)


def test_parcels_of_one_order_each_keep_their_own_carrier_and_number(svc: OrderService) -> None:
    order = tracked(svc)
    assert [("sf", "SF1", 2), ("yto", "YT1", 1)] == [
        (s.carrier, s.tracking_number, s.lines[0].quantity) for s in order.shipments
    ]


# -- tracking ingest ----------------------------------------------------------------------------


def test_a_tracking_update_moves_its_parcel(svc: OrderService) -> None:
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    assert TrackingStatus.IN_TRANSIT == parcel_status(order, "SF1")


def test_ingesting_the_same_event_twice_changes_nothing_the_second_time(
    svc: OrderService,
) -> None:
    order = tracked(svc)
    first = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    again = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    assert (first, len(svc.history(order.id))) == (again, len(svc.history(order.id)))


def test_an_in_transit_arriving_after_delivered_is_kept_but_moves_nothing_back(
    svc: OrderService,
) -> None:
    tracked(svc)
    svc.ingest_tracking(update("YT1", TrackingStatus.DELIVERED, 50))
    svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    order = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    shipment = order.shipments[0]
    assert ("delivered", "delivered", 2) == (
        order.status,
        shipment.tracking_status,
        len(shipment.tracking),
    )


def test_a_late_event_is_recorded_as_not_applied(svc: OrderService) -> None:
    order = tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.OUT_FOR_DELIVERY, 30))
    svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    last = svc.history(order.id)[-1]
    assert ("TrackingUpdated", False, "out_for_delivery") == (
        last.type,
        last.payload.applied,  # type: ignore[attr-defined]
        last.payload.status,  # type: ignore[attr-defined]
    )


def test_an_exception_reported_after_delivery_neither_flags_nor_notifies(
    svc: OrderService,
) -> None:
    order = tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    after = svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 90))
    types = [e.type for e in svc.history(order.id)]
    assert (False, False) == ("logistics-exception" in after.tags, "ShipmentException" in types)


def test_tracking_after_the_buyer_confirmed_receipt_moves_nothing(svc: OrderService) -> None:
    order = tracked(svc)
    confirmed = svc.confirm_receipt(order.id)
    after = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10))
    assert (confirmed.shipments[0].delivered_at, "", "completed") == (
        after.shipments[0].delivered_at,
        after.shipments[0].tracking_status,
        after.status,
    )


def test_one_delivered_parcel_of_two_leaves_the_order_shipped(svc: OrderService) -> None:
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    assert ("shipped", shop.START + timedelta(minutes=60)) == (
        order.status,
        order.shipments[0].delivered_at,
    )


def test_every_parcel_delivered_moves_the_order_to_delivered(svc: OrderService) -> None:
    tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    order = svc.ingest_tracking(update("YT1", TrackingStatus.DELIVERED, 70))
    assert "delivered" == order.status


def test_delivering_by_hand_records_each_parcel_still_on_its_way_as_delivered(
    svc: OrderService,
) -> None:
    order = tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    after = svc.deliver(order.id)
    recorded = [
        (e.payload.shipment_id, e.payload.at)
        for e in svc.history(order.id)
        if isinstance(e.payload, ShipmentDelivered)
    ]
    assert ([(s.shipment_id, s.delivered_at) for s in after.shipments], "delivered") == (
        recorded,
        after.status,
    )


def test_a_delivered_partial_shipment_leaves_the_order_partially_shipped(
    svc: OrderService,
) -> None:
    order_id = shop.paid(svc, ("TEA", 2))
    svc.ship(order_id, {"L1": 1}, carrier="sf", tracking_number="SF1")
    order = svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    assert "partially_shipped" == order.status


def test_an_exception_records_the_event_and_flags_the_order_keeping_its_status(
    svc: OrderService,
) -> None:
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 20))
    types = [e.type for e in svc.history(order.id)]
    assert ("shipped", True, True) == (
        order.status,
        "logistics-exception" in order.tags,
        "ShipmentException" in types,
    )


def test_an_exception_pushed_by_the_carrier_queues_the_logistics_exception_notification(
    storage: Storage, clock: FixedClock
) -> None:
    notifier = EmailNotifier({"ShipmentException": "logistics_exception"})
    svc = shop.service(storage, clock, notifier=notifier)
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 20))
    with storage.reader() as uow:
        queued = uow.outbox.find(OutboxQuery(order_id=order.id)).items
    assert ["logistics_exception"] == [entry.kind for entry in queued]


def test_the_exception_flag_goes_once_the_parcel_moves_on(svc: OrderService) -> None:
    tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 20))
    order = svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 30))
    assert "logistics-exception" not in order.tags


def review_machine(*extra: Transition) -> StatusMachine[Order]:
    """The default machine with a hold for logistics exceptions, released by ``resolve``."""
    return default_order_machine().extend(
        states=["awaiting_review"],
        transitions=[
            Transition("shipped", "logistics_exception", "awaiting_review"),
            Transition("awaiting_review", "resolve", "shipped"),
            *extra,
        ],
    )


def test_a_host_machine_with_a_logistics_exception_event_moves_the_order_to_review(
    storage: Storage, clock: FixedClock
) -> None:
    svc = shop.service(storage, clock, machine=review_machine())
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 20))
    assert "awaiting_review" == order.status


def test_an_order_held_for_a_logistics_exception_is_delivered_when_its_parcels_arrive(
    storage: Storage, clock: FixedClock
) -> None:
    extra = Transition("awaiting_review", "deliver", "delivered")
    svc = shop.service(storage, clock, machine=review_machine(extra))
    tracked(svc)
    svc.ingest_tracking(update("SF1", TrackingStatus.EXCEPTION, 20))
    svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    order = svc.ingest_tracking(update("YT1", TrackingStatus.DELIVERED, 70))
    assert ("delivered", ()) == (order.status, order.tags)


def test_a_parcel_returned_to_sender_records_the_event_and_flags_the_order(
    svc: OrderService,
) -> None:
    tracked(svc)
    order = svc.ingest_tracking(update("SF1", TrackingStatus.RETURNED_TO_SENDER, 90))
    types = [e.type for e in svc.history(order.id)]
    assert (True, True) == ("returned-to-sender" in order.tags, "ShipmentReturnedToSender" in types)


def test_an_unknown_tracking_number_raises_shipment_not_found(svc: OrderService) -> None:
    tracked(svc)
    with pytest.raises(ShipmentNotFound) as refused:
        svc.ingest_tracking(update("SF1", TrackingStatus.IN_TRANSIT, 10, carrier="ups"))
    assert ("ups", "SF1") == (refused.value.carrier, refused.value.tracking_number)


def test_an_unknown_tracking_status_is_refused_naming_the_field(svc: OrderService) -> None:
    tracked(svc)
    with pytest.raises(ValidationError) as refused:
        svc.ingest_tracking(update("SF1", "lost_in_space", 10))
    assert "event.status" == refused.value.field


def test_a_batch_is_applied_oldest_first(svc: OrderService) -> None:
    tracked(svc)
    results = svc.ingest_tracking_batch(
        [
            update("SF1", TrackingStatus.DELIVERED, 60),
            update("SF1", TrackingStatus.IN_TRANSIT, 10),
            update("SF1", TrackingStatus.OUT_FOR_DELIVERY, 40),
        ]
    )
    assert ["in_transit", "out_for_delivery", "delivered"] == [
        parcel_status(o, "SF1") for o in results
    ]


def test_a_batch_naming_an_unknown_parcel_ingests_nothing(svc: OrderService) -> None:
    order = tracked(svc)
    with pytest.raises(ShipmentNotFound):
        svc.ingest_tracking_batch(
            [
                update("SF1", TrackingStatus.IN_TRANSIT, 10),
                update("ZZ9", "in_transit", 20, None, "sf"),
            ]
        )
    assert order == svc.get(order.id)


# -- receipt and completion ---------------------------------------------------------------------


def test_the_buyer_confirming_receipt_of_a_shipped_order_delivers_and_completes_it(
    svc: OrderService,
) -> None:
    order = tracked(svc)
    confirmed = svc.confirm_receipt(order.id)
    changes = [
        (e.payload.from_status, e.payload.to_status)  # type: ignore[attr-defined]
        for e in svc.history(order.id)[-6:]
        if e.type == "StatusChanged"
    ]
    assert ("completed", [("shipped", "delivered"), ("delivered", "completed")]) == (
        confirmed.status,
        changes,
    )


def test_confirming_receipt_marks_the_parcels_not_yet_delivered_as_delivered_now(
    svc: OrderService, clock: FixedClock
) -> None:
    tracked(svc)
    clock.advance(timedelta(days=2))
    order = svc.ingest_tracking(update("SF1", TrackingStatus.DELIVERED, 60))
    confirmed = svc.confirm_receipt(order.id)
    assert [shop.START + timedelta(minutes=60), clock.now()] == [
        s.delivered_at for s in confirmed.shipments
    ]


def test_a_partially_shipped_order_cannot_be_confirmed_received(svc: OrderService) -> None:
    order_id = shop.paid(svc, ("TEA", 2))
    svc.ship(order_id, {"L1": 1})
    with pytest.raises(InvalidTransition):
        svc.confirm_receipt(order_id)


def test_auto_complete_completes_only_orders_delivered_long_enough_ago(
    svc: OrderService, clock: FixedClock
) -> None:
    early = tracked(svc)
    svc.deliver(early.id)
    clock.advance(timedelta(days=5))
    late_id = shop.paid(svc, ("POT", 1))
    svc.ship(late_id)
    svc.deliver(late_id)
    clock.advance(timedelta(days=6))
    completed = svc.complete_delivered(older_than=timedelta(days=10))
    assert ([early.id], "delivered") == ([o.id for o in completed], svc.get(late_id).status)


def test_auto_complete_leaves_an_order_with_an_open_return_alone(
    svc: OrderService, clock: FixedClock
) -> None:
    order = tracked(svc)
    svc.deliver(order.id)
    svc.request_return(order.id, {"L1": 1}, reason="too strong")
    clock.advance(timedelta(days=15))
    assert [] == svc.complete_delivered(older_than=timedelta(days=10))


def test_auto_complete_refuses_a_negative_age(svc: OrderService) -> None:
    with pytest.raises(ValidationError) as refused:
        svc.complete_delivered(older_than=timedelta(days=-1))
    assert "older_than" == refused.value.field


# -- the shipments index ------------------------------------------------------------------------


def test_migrating_an_sqlite_file_indexes_the_tracking_numbers_already_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with shop.open_storage("memory", tmp_path) as memory:
        order = tracked(shop.service(memory, FixedClock(shop.START)))
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orderkit_schema (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO orderkit_schema (version) VALUES (1)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO orderkit_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            order.id,
            order.number,
            order.customer.id,
            order.status,
            order.channel,
            order.group,
            "2026-05-01T09:00:00.000000Z",
            "2026-05-01T09:00:00.000000Z",
            order.version,
            order_to_json(order),
        ),
    )
    conn.commit()
    conn.close()
    storage = SQLiteStorage(path)
    try:
        with storage.reader() as uow:
            [found] = uow.orders.find(OrderQuery(carrier="yto", tracking_number="YT1")).items
        version = storage.schema_version
    finally:
        storage.close()
    assert (order, len(MIGRATIONS)) == (found, version)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def test_a_tracking_event_with_a_naive_time_is_refused(svc: OrderService) -> None:
    tracked(svc)
    event = attrs.evolve(update("SF1", "in_transit", 10), at=_naive(shop.START))
    with pytest.raises(ValidationError) as refused:
        svc.ingest_tracking(event)
    assert "event.at" == refused.value.field


@pytest.mark.postgres
def test_migrating_a_postgres_schema_indexes_the_tracking_numbers_already_stored(
    postgres_dsn: str, postgres_schema: str
) -> None:
    import psycopg
    from psycopg import sql

    from orderkit.adapters.postgres import MIGRATIONS as PG_MIGRATIONS
    from orderkit.adapters.postgres import PostgresStorage

    order = tracked(shop.service(MemoryStorage(), FixedClock(shop.START)))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))
        conn.execute("CREATE TABLE orderkit_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO orderkit_schema (version) VALUES (1)")
        for statement in PG_MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO orderkit_orders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                order.id,
                order.number,
                order.customer.id,
                order.status,
                order.channel,
                order.group,
                order.created_at,
                order.updated_at,
                order.version,
                order_to_json(order),
            ),
        )
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    try:
        with storage.reader() as uow:
            [found] = uow.orders.find(OrderQuery(carrier="sf", tracking_number="SF1")).items
        version = storage.schema_version
    finally:
        storage.close()
    assert (order, len(PG_MIGRATIONS)) == (found, version)
