"""The table-rate carrier: loading rate files (and their errors), zones, prices, booking."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from orderkit.adapters.carriers import RateTable, TableRateCarrier, example_rate_table
from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.money import Money
from orderkit.domain.order import Address
from orderkit.domain.shipping import Parcel, TrackingStatus
from orderkit.errors import CarrierConfigError, CarrierError, CurrencyMismatch
from strategies import money, parcels

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SHOP = Address("Shop", "1 Longjing Road", "Hangzhou", "CN", region="Zhejiang")

TABLE: dict[str, Any] = {
    "currency": "CNY",
    "tracking_url": "https://shop.example.com/track/{tracking_number}",
    "zones": [
        {
            "name": "near",
            "match": [{"country": "CN", "regions": ["Zhejiang", "浙江"]}],
            "services": {
                "standard": {
                    "bands": [
                        {"max_grams": 1000, "price": "8.00"},
                        {"max_grams": 5000, "price": "14.00"},
                    ],
                    "per_item": "0.50",
                    "per_order": "1.00",
                    "free_above": "99.00",
                    "days": [1, 2],
                },
                "express": {"bands": [{"max_grams": 1000, "price": "5.00"}]},
            },
        },
        {
            "name": "hangzhou-centre",
            "match": [{"country": "CN", "postal_prefixes": ["3100"]}],
            "services": {"courier": {"bands": [{"max_grams": 3000, "price": "6.00"}]}},
        },
        {
            "name": "cn",
            "match": [{"country": "CN"}],
            "services": {"standard": {"bands": [{"max_grams": 2000, "price": "12.00"}]}},
        },
    ],
}


def carrier(data: dict[str, Any] | None = None) -> TableRateCarrier:
    table = RateTable.from_data(TABLE if data is None else data)
    return TableRateCarrier(table, clock=FixedClock(START), ids=SequentialIds(""))


def to(region: str = "", postal_code: str = "", country: str = "CN") -> Address:
    return Address("Li", "1 Road", "City", country, region=region, postal_code=postal_code)


def prices(quotes: list[Any]) -> dict[str, str]:
    return {q.service: str(q.amount.amount) for q in quotes}


def broken(path: list[str | int], value: Any) -> dict[str, Any]:
    """TABLE with the entry at ``path`` set to ``value`` (or deleted when value is ...)."""
    data = copy.deepcopy(TABLE)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


# Zones


def test_a_region_rule_places_the_destination_in_its_zone() -> None:
    quotes = carrier().quote(SHOP, to(region="浙江"), [Parcel(500)])
    assert {"near"} == {q.description.split()[0] for q in quotes}


def test_regions_match_ignoring_case_and_surrounding_space() -> None:
    quotes = carrier().quote(SHOP, to(region="  ZHEJIANG "), [Parcel(500)])
    assert {"near"} == {q.description.split()[0] for q in quotes}


def test_a_postal_prefix_rule_beats_a_region_rule() -> None:
    quotes = carrier().quote(SHOP, to(region="Zhejiang", postal_code="310 012"), [Parcel(500)])
    assert ["courier"] == [q.service for q in quotes]


def test_a_country_rule_catches_the_rest_of_the_country() -> None:
    assert {"standard": "12.00"} == prices(carrier().quote(SHOP, to(region="Sichuan"), [Parcel(1)]))


def test_a_destination_no_zone_covers_is_a_carrier_error_naming_it() -> None:
    with pytest.raises(CarrierError, match=r"no zone in <data> covers JP/Tokyo-to/100-0001/City"):
        carrier().quote(SHOP, to("Tokyo-to", "100-0001", country="JP"), [Parcel(500)])


def test_a_star_zone_covers_every_other_country() -> None:
    data = copy.deepcopy(TABLE)
    data["zones"].append(
        {
            "name": "world",
            "match": [{"country": "*"}],
            "services": {"standard": {"bands": [{"max_grams": 2000, "price": "99.00"}]}},
        }
    )
    assert {"standard": "99.00"} == prices(carrier(data).quote(SHOP, to(country="JP"), [Parcel(1)]))


# Prices


def test_a_price_adds_each_parcels_band_the_item_fee_and_the_order_fee() -> None:
    parcels = [Parcel(800, items=2), Parcel(1200, items=1)]
    # bands 8.00 + 14.00, three items at 0.50, one order fee of 1.00
    quotes = carrier().quote(SHOP, to("Zhejiang"), parcels)
    assert "24.50" == prices(quotes)["standard"]


def test_a_parcel_exactly_at_a_bands_limit_is_priced_in_that_band() -> None:
    assert "9.50" == prices(carrier().quote(SHOP, to("Zhejiang"), [Parcel(1000)]))["standard"]


def test_quotes_come_cheapest_first() -> None:
    quotes = carrier().quote(SHOP, to("Zhejiang"), [Parcel(500)])
    assert ["express", "standard"] == [q.service for q in quotes]


def test_a_service_whose_bands_are_too_light_is_not_offered() -> None:
    quotes = carrier().quote(SHOP, to("Zhejiang"), [Parcel(4000)])
    assert ["standard"] == [q.service for q in quotes]


def test_parcels_too_heavy_for_every_service_are_a_carrier_error_naming_the_limit() -> None:
    with pytest.raises(
        CarrierError,
        match=r"a 6000 g parcel to CN/Zhejiang/City \(zone near\) is over the 5000 g limit",
    ):
        carrier().quote(SHOP, to("Zhejiang"), [Parcel(6000)])


def test_an_order_at_the_free_shipping_threshold_ships_free_with_that_service() -> None:
    quotes = carrier().quote(SHOP, to("Zhejiang"), [Parcel(500)], order_value=Money("99.00", "CNY"))
    assert {"standard": "0.00", "express": "5.00"} == prices(quotes)


def test_an_order_below_the_free_shipping_threshold_pays() -> None:
    quotes = carrier().quote(SHOP, to("Zhejiang"), [Parcel(500)], order_value=Money("98.99", "CNY"))
    assert "9.50" == prices(quotes)["standard"]


@given(parcels(), parcels(max_size=1))
def test_each_added_parcel_adds_to_the_price(boxes: list[Parcel], extra: list[Parcel]) -> None:
    before = prices(carrier().quote(SHOP, to("Zhejiang"), boxes))["standard"]
    after = prices(carrier().quote(SHOP, to("Zhejiang"), boxes + extra))["standard"]
    assert Decimal(after) > Decimal(before)


@given(parcels(), money("CNY", min_value=0, max_value=200))
def test_the_free_shipping_threshold_is_all_or_nothing(boxes: list[Parcel], value: Money) -> None:
    full = prices(carrier().quote(SHOP, to("Zhejiang"), boxes))["standard"]
    charged = prices(carrier().quote(SHOP, to("Zhejiang"), boxes, order_value=value))["standard"]
    assert ("0.00" if value >= Money("99.00", "CNY") else full) == charged


def test_an_order_value_in_another_currency_is_a_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        carrier().quote(SHOP, to("Zhejiang"), [Parcel(500)], order_value=Money("99", "USD"))


def test_quotes_carry_the_estimated_days() -> None:
    quotes = carrier().quote(SHOP, to("Zhejiang"), [Parcel(500)])
    assert {"express": None, "standard": (1, 2)} == {q.service: q.estimated_days for q in quotes}


# Booking and tracking


def test_booking_issues_a_tracking_number_from_the_id_generator() -> None:
    label = carrier().create_shipment(
        SHOP, to("Zhejiang"), [Parcel(500)], service="standard", reference="SO-1"
    )
    expected = ("TR000001", "https://shop.example.com/track/TR000001")
    assert expected == (label.tracking_number, label.tracking_url)


def test_booking_the_same_reference_again_returns_the_same_label() -> None:
    shop = carrier()
    first, second = (
        shop.create_shipment(SHOP, to("Zhejiang"), [Parcel(500)], service="standard", reference=r)
        for r in ("SO-1", "SO-1")
    )
    assert first == second


def test_a_booked_number_tracks_as_label_created_at_the_booking_time() -> None:
    shop = carrier()
    label = shop.create_shipment(
        SHOP, to("Zhejiang"), [Parcel(500)], service="standard", reference="SO-1"
    )
    events = shop.track(label.tracking_number)
    assert [(TrackingStatus.LABEL_CREATED, START)] == [(e.status, e.at) for e in events]


def test_a_well_formed_number_this_process_did_not_book_has_no_events() -> None:
    assert [] == carrier().track("TR000042")


def test_booking_a_service_the_zone_lacks_names_the_services_it_has() -> None:
    with pytest.raises(CarrierError, match="choose one of courier"):
        carrier().create_shipment(
            SHOP, to(postal_code="310012"), [Parcel(500)], service="express", reference="SO-1"
        )


# Loading


def test_the_shipped_example_table_loads() -> None:
    table = example_rate_table()
    names = ["cn-nearby", "cn-remote", "cn", "eu", "us", "world"]
    assert ("CNY", names) == (table.currency, [z.name for z in table.zones])


def test_the_example_table_sends_xinjiang_postcodes_to_the_remote_zone() -> None:
    zone = example_rate_table().zone_for(to(postal_code="830000"))
    assert zone is not None
    assert "cn-remote" == zone.name


def test_a_table_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(TABLE, ensure_ascii=False), encoding="utf-8")
    assert RateTable.from_data(TABLE, source=str(path)) == RateTable.from_file(path)


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CarrierConfigError, match=r"rates\.json: cannot read the file"):
        RateTable.from_file(tmp_path / "rates.json")


def test_a_file_that_is_not_utf8_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_bytes('{"currency": "€"}'.encode("cp1252"))
    with pytest.raises(CarrierConfigError, match=r"rates\.json: cannot read the file"):
        RateTable.from_file(path)


def test_a_file_that_is_not_json_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text('{\n  "currency": "CNY",\n  oops\n}', encoding="utf-8")
    with pytest.raises(CarrierConfigError, match=r"rates\.json: line 3 column 3: not valid JSON"):
        RateTable.from_file(path)


@pytest.mark.parametrize(
    ("path", "value", "where", "problem"),
    [
        (["currency"], "ABC", "currency", "'ABC' is not an ISO 4217 code"),
        (["currency"], ..., "(top level)", "'currency' is missing"),
        (["tracking_url"], "https://x.example/", "tracking_url", "{tracking_number}"),
        (["zones"], [], "zones", "non-empty JSON array"),
        (["zones", 1], "near", "zones[1]", 'must be a JSON object, not "near"'),
        (["zones", 0, "services"], {}, "zones[0].services", "at least one service"),
        (["zones", 0, "match", 0, "country"], "China", "zones[0].match[0].country", "alpha-2"),
        (
            ["zones", 0, "services", "standard", "bands", 1, "max_grams"],
            800,
            "zones[0].services.standard.bands[1].max_grams",
            "800 is not above the previous band's 1000",
        ),
        (
            ["zones", 0, "services", "standard", "bands", 1, "price"],
            "14.005",
            "zones[0].services.standard.bands[1].price",
            "14.005 is not a valid CNY amount",
        ),
        (
            ["zones", 0, "services", "standard", "per_item"],
            "-1",
            "zones[0].services.standard.per_item",
            "must not be negative",
        ),
        (
            ["zones", 0, "services", "standard", "days"],
            [3, 1],
            "zones[0].services.standard.days",
            "[fewest, most]",
        ),
        (
            ["zones", 0, "services", "standard", "prise"],
            "1",
            "zones[0].services.standard",
            "unknown key 'prise'",
        ),
        (
            ["zones", 2, "match", 0],
            {"country": "*", "regions": ["x"]},
            "zones[2].match[0]",
            "cannot also have regions",
        ),
        (
            ["zones", 2, "match", 0],
            {"country": "CN", "regions": ["ZHEJIANG"]},
            "zones[2].match[0]",
            "matches the same destinations as zones[0].match[0]",
        ),
    ],
)
def test_a_wrong_entry_is_a_config_error_naming_the_file_the_entry_and_the_problem(
    path: list[str | int], value: Any, where: str, problem: str
) -> None:
    with pytest.raises(CarrierConfigError) as raised:
        RateTable.from_data(broken(path, value), source="rates.json")
    error = raised.value
    assert ("rates.json", where) == (error.source, error.path)
    assert problem in error.problem
    assert str(error).startswith(f"rates.json: {where}: ")


def test_a_key_written_twice_in_one_object_is_a_config_error() -> None:
    text = '{"currency": "CNY", "currency": "EUR", "tracking_url": "{tracking_number}"}'
    with pytest.raises(CarrierConfigError, match="the key 'currency' appears twice"):
        RateTable.from_json(text, source="rates.json")


def test_two_zones_with_one_name_are_a_config_error() -> None:
    with pytest.raises(CarrierConfigError) as raised:
        RateTable.from_data(broken(["zones", 2, "name"], "near"), source="rates.json")
    assert "zones[2].name" == raised.value.path


def test_json_numbers_are_read_as_exact_decimals() -> None:
    text = json.dumps(TABLE).replace('"8.00"', "8.10")
    table = RateTable.from_json(text)
    assert Money("8.10", "CNY") == table.zones[0].services[0].bands[0].price
