"""The carrier contract run against every shipped carrier and the docs' HTTP example, and what
the simulated and manual carriers do beyond it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from orderkit.adapters.carriers import (
    SCENARIOS,
    ManualCarrier,
    SimulatedCarrier,
    TableRateCarrier,
    example_rate_table,
)
from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.shipping import Parcel, ShipmentLabel, TrackingStatus
from orderkit.errors import CarrierError, InvalidTrackingNumber, ValidationError
from orderkit.ports import Carrier
from orderkit.testing import CarrierContract
from orderkit.testing.carriers import DESTINATION, ORIGIN, Route
from test_docs import DOCS, parse_markdown, run_python_blocks

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
PARCELS = Route().parcels


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


class TestTableRateCarrier(CarrierContract):
    @pytest.fixture
    def make_carrier(self, clock: FixedClock) -> Callable[[], Carrier]:
        return lambda: TableRateCarrier(example_rate_table(), clock=clock, ids=SequentialIds(""))


class TestSimulatedCarrier(CarrierContract):
    @pytest.fixture(params=SCENARIOS)
    def make_carrier(
        self, clock: FixedClock, request: pytest.FixtureRequest
    ) -> Callable[[], Carrier]:
        return lambda: SimulatedCarrier(clock, scenario=request.param)

    @pytest.fixture
    def label(
        self, carrier: Carrier, book: Callable[[Carrier], ShipmentLabel], clock: FixedClock
    ) -> ShipmentLabel:
        booked = book(carrier)
        clock.advance(timedelta(days=10))  # the whole script has played out
        return booked


@pytest.fixture(scope="module")
def carriers_page(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The namespace docs/carriers.md leaves behind: its Kestrel adapter and fake API."""
    doc = parse_markdown(DOCS.joinpath("carriers.md").read_text(encoding="utf-8"), "carriers.md")
    namespace: dict[str, Any] = {"__name__": "carriers_page"}
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("carriers-page"))  # the page writes rates.json
    try:
        run_python_blocks(doc, namespace)
    finally:
        os.chdir(here)
    return namespace


@pytest.fixture
def kestrel_api(carriers_page: dict[str, Any]) -> Iterator[Any]:
    """A fresh fake Kestrel API from the page, on 127.0.0.1; closed after the test."""
    api = carriers_page["FakeKestrelAPI"](FixedClock(START))
    yield api
    api.close()


def kestrel(carriers_page: dict[str, Any], api: Any, api_key: str | None = None) -> Carrier:
    adapter: Callable[..., Carrier] = carriers_page["KestrelCarrier"]
    return adapter(api.url, api_key=api.API_KEY if api_key is None else api_key)


class TestKestrelCarrier(CarrierContract):
    """The worked example's HTTP adapter, against its fake API."""

    @pytest.fixture
    def make_carrier(
        self, carriers_page: dict[str, Any], kestrel_api: Any
    ) -> Callable[[], Carrier]:
        return lambda: kestrel(carriers_page, kestrel_api)


def test_the_kestrel_example_refuses_a_well_formed_number_its_api_does_not_know(
    carriers_page: dict[str, Any], kestrel_api: Any
) -> None:
    with pytest.raises(InvalidTrackingNumber, match="Kestrel has no such shipment"):
        kestrel(carriers_page, kestrel_api).track("KP99999999")


def test_the_kestrel_example_reports_a_wrong_api_key_as_a_carrier_error(
    carriers_page: dict[str, Any], kestrel_api: Any
) -> None:
    with pytest.raises(CarrierError, match=r"bad API key \(unauthorized, HTTP 401\)"):
        kestrel(carriers_page, kestrel_api, api_key="wrong").quote(ORIGIN, DESTINATION, PARCELS)


def test_the_kestrel_example_reports_an_unreachable_api_as_a_carrier_error(
    carriers_page: dict[str, Any], kestrel_api: Any
) -> None:
    carrier = kestrel(carriers_page, kestrel_api)
    kestrel_api.close()
    with pytest.raises(CarrierError, match=r"could not reach Kestrel at http://127\.0\.0\.1:"):
        carrier.quote(ORIGIN, DESTINATION, PARCELS)


class TestManualCarrier(CarrierContract):
    @pytest.fixture
    def make_carrier(self) -> Callable[[], Carrier]:
        return ManualCarrier

    @pytest.fixture
    def book(self) -> Callable[[Carrier], ShipmentLabel]:
        def book(carrier: Carrier) -> ShipmentLabel:
            assert isinstance(carrier, ManualCarrier)
            return carrier.label("sf-express", "SF1234567890123")

        return book


def _book(carrier: SimulatedCarrier, reference: str = "SO-2026-000001") -> ShipmentLabel:
    return carrier.create_shipment(
        ORIGIN, DESTINATION, PARCELS, service="standard", reference=reference
    )


# The simulated carrier


def test_a_simulated_parcel_shows_only_the_label_when_just_booked(clock: FixedClock) -> None:
    carrier = SimulatedCarrier(clock)
    label = _book(carrier)
    assert [TrackingStatus.LABEL_CREATED] == [
        e.status for e in carrier.track(label.tracking_number)
    ]


def test_simulated_events_appear_as_the_clock_advances(clock: FixedClock) -> None:
    carrier = SimulatedCarrier(clock)
    label = _book(carrier)
    clock.advance(timedelta(hours=8))
    assert [clock.now() >= e.at for e in carrier.track(label.tracking_number)] == [True] * 3


def test_a_normal_simulated_parcel_is_delivered_after_29_hours(clock: FixedClock) -> None:
    carrier = SimulatedCarrier(clock)
    label = _book(carrier)
    clock.advance(timedelta(hours=29))
    last = carrier.track(label.tracking_number)[-1]
    assert (TrackingStatus.DELIVERED, START + timedelta(hours=29)) == (last.status, last.at)


@pytest.mark.parametrize(
    ("scenario", "statuses"),
    [
        ("normal", ["label_created", "in_transit", "out_for_delivery", "delivered"]),
        ("delayed", ["label_created", "in_transit", "out_for_delivery", "delivered"]),
        (
            "exception",
            ["label_created", "in_transit", "out_for_delivery", "exception", "in_transit",
             "out_for_delivery", "delivered"],
        ),
        ("lost", ["label_created", "in_transit", "exception"]),
        (
            "returned_to_sender",
            ["label_created", "in_transit", "out_for_delivery", "exception", "in_transit",
             "returned_to_sender"],
        ),
    ],
)  # fmt: skip
def test_each_scenario_runs_through_its_statuses(
    clock: FixedClock, scenario: str, statuses: list[str]
) -> None:
    carrier = SimulatedCarrier(clock, scenario=scenario)
    label = _book(carrier)
    clock.advance(timedelta(days=10))
    seen = [e.status for e in carrier.track(label.tracking_number)]
    assert statuses == [status for status, _ in itertools.groupby(seen)]


def test_a_delayed_parcel_arrives_two_days_after_a_normal_one(clock: FixedClock) -> None:
    def delivered_at(scenario: str) -> datetime:
        carrier = SimulatedCarrier(FixedClock(START), scenario=scenario)
        number = _book(carrier).tracking_number
        return SimulatedCarrier(clock, scenario=scenario).track(number)[-1].at

    clock.advance(timedelta(days=10))
    assert timedelta(hours=48) == delivered_at("delayed") - delivered_at("normal")


def test_the_scenario_can_be_chosen_per_reference(clock: FixedClock) -> None:
    def scenario(reference: str) -> str:
        return "lost" if reference.endswith("7") else "normal"

    carrier = SimulatedCarrier(clock, scenario=scenario)
    lost, normal = _book(carrier, "SO-7"), _book(carrier, "SO-8")
    clock.advance(timedelta(days=10))
    last = [carrier.track(label.tracking_number)[-1].status for label in (lost, normal)]
    assert [TrackingStatus.EXCEPTION, TrackingStatus.DELIVERED] == last


def test_another_simulated_carrier_on_the_same_clock_tracks_the_same_events(
    clock: FixedClock,
) -> None:
    label = _book(SimulatedCarrier(clock, scenario="exception"))
    clock.advance(timedelta(days=3))
    assert SimulatedCarrier(clock).track(label.tracking_number) == SimulatedCarrier(
        clock, scenario="lost"
    ).track(label.tracking_number)


def test_simulated_events_keep_the_carriers_code_text_and_place(clock: FixedClock) -> None:
    carrier = SimulatedCarrier(clock, origin_city="Yiwu")
    label = _book(carrier)
    clock.advance(timedelta(hours=8))
    departed = carrier.track(label.tracking_number)[2]
    expected = ("DP", "Departed sorting centre", "Yiwu sorting centre")
    assert expected == (departed.carrier_code, departed.carrier_text, departed.location)


def test_an_unknown_scenario_is_a_validation_error(clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="unknown scenario 'stolen'"):
        SimulatedCarrier(clock, scenario="stolen")


def test_a_simulated_number_with_an_impossible_booking_time_is_refused(
    clock: FixedClock,
) -> None:
    with pytest.raises(InvalidTrackingNumber, match="not a booking time"):
        SimulatedCarrier(clock).track("SIMN20261399090000A1B2C3")


def test_a_simulated_parcel_over_30_kg_is_refused_naming_the_limit(clock: FixedClock) -> None:
    with pytest.raises(CarrierError, match="at most 30000 g"):
        SimulatedCarrier(clock).quote(ORIGIN, DESTINATION, [Parcel(30_001)])


# The manual carrier


def test_a_manual_label_records_the_courier_as_its_service() -> None:
    label = ManualCarrier().label("ups", "1z 999 aa1 0123 4567 84")
    expected = ShipmentLabel(
        "manual",
        "ups",
        "1Z999AA10123456784",
        "",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    )
    assert expected == label


def test_a_manual_label_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidTrackingNumber, match="check digit should be 5, not 4"):
        ManualCarrier().label("china-post", "RR123456784CN")


def test_a_manual_label_for_a_courier_the_shop_does_not_use_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        ManualCarrier(["sf-express"]).label("ups", "1Z999AA10123456784")
    assert "carrier_code" == raised.value.field


def test_the_manual_carrier_does_not_book_and_says_to_use_label() -> None:
    with pytest.raises(CarrierError, match=r"ManualCarrier\.label\(carrier_code"):
        ManualCarrier().create_shipment(
            ORIGIN, DESTINATION, PARCELS, service="standard", reference="SO-1"
        )


def test_the_manual_carrier_offers_no_prices() -> None:
    assert [] == ManualCarrier().quote(ORIGIN, DESTINATION, PARCELS)


def test_a_cn_s10_number_links_to_china_post() -> None:
    url = ManualCarrier().tracking_url("RR123456785CN")
    assert "https://www.ems.com.cn/queryList?mailNum=RR123456785CN" == url


def test_a_manual_carrier_uses_the_shops_own_tracking_page_when_given() -> None:
    carrier = ManualCarrier(["sf-express"], urls={"sf-express": "https://t.example/{number}"})
    assert "https://t.example/SF1234567890123" == carrier.tracking_url("SF1234567890123")


def test_a_manual_carrier_refuses_numbers_of_couriers_it_was_not_given() -> None:
    with pytest.raises(InvalidTrackingNumber, match="none of sf-express"):
        ManualCarrier(["sf-express"]).track("1Z999AA10123456784")


def test_an_unknown_courier_code_is_a_validation_error_naming_its_position() -> None:
    with pytest.raises(ValidationError) as raised:
        ManualCarrier(["ups", "dhl"])
    assert "carriers[1]" == raised.value.field
