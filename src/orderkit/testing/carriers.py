"""The carrier contract: what every :class:`orderkit.ports.Carrier` does, errors included.

Subclass :class:`CarrierContract` in a test module (its name must start with ``Test``) and
provide the fixture ``make_carrier``: a zero-argument callable returning a fresh carrier.
Override the other fixtures where your carrier differs:

``route``
    a :class:`Route` the carrier serves (default: 1.2 kg, two items, Hangzhou to Shanghai).
``book``
    how to get a label from the carrier (default: quote ``route`` and book the cheapest
    service with ``create_shipment``). A carrier that does not book, such as the manual
    carrier, returns a label made its own way.
``invalid_tracking_numbers``
    numbers the carrier must refuse with :class:`~orderkit.errors.InvalidTrackingNumber`.

::

    import pytest

    from orderkit.testing import CarrierContract


    class TestMyCarrier(CarrierContract):
        @pytest.fixture
        def make_carrier(self, http_server):
            return lambda: MyCarrier(base_url=http_server.url)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import attrs
import pytest

from orderkit.domain.money import Money
from orderkit.domain.order import Address
from orderkit.domain.shipping import Parcel, RateQuote, ShipmentLabel, TrackingStatus
from orderkit.errors import CarrierError, InvalidTrackingNumber, ValidationError
from orderkit.ports import Carrier

__all__ = ["DESTINATION", "ORIGIN", "CarrierContract", "Route"]

ORIGIN = Address(
    "Hangzhou Tea House", "1 Longjing Road", "Hangzhou", "CN", region="Zhejiang",
    postal_code="310000",
)  # fmt: skip
DESTINATION = Address(
    "Li Lei", "88 Nanjing Road", "Shanghai", "CN", region="Shanghai", postal_code="200001"
)
REFERENCE = "SO-2026-000001"


@attrs.frozen
class Route:
    """Where the contract ships from and to, and what."""

    origin: Address = ORIGIN
    destination: Address = DESTINATION
    parcels: tuple[Parcel, ...] = (Parcel(1200, items=2),)


class CarrierContract:
    """The tests every carrier passes; see the module docstring for the fixtures."""

    @pytest.fixture
    def route(self) -> Route:
        return Route()

    @pytest.fixture
    def book(self, route: Route) -> Callable[[Carrier], ShipmentLabel]:
        def book(carrier: Carrier) -> ShipmentLabel:
            cheapest = carrier.quote(route.origin, route.destination, route.parcels)[0]
            return carrier.create_shipment(
                route.origin,
                route.destination,
                route.parcels,
                service=cheapest.service,
                reference=REFERENCE,
            )

        return book

    @pytest.fixture
    def invalid_tracking_numbers(self) -> Sequence[str]:
        return ("", "   ", "not a tracking number", "1Z999AA10123456785", "<script>")

    @pytest.fixture
    def carrier(self, make_carrier: Callable[[], Carrier]) -> Carrier:
        return make_carrier()

    @pytest.fixture
    def label(self, carrier: Carrier, book: Callable[[Carrier], ShipmentLabel]) -> ShipmentLabel:
        return book(carrier)

    def _quotes(self, carrier: Carrier, route: Route) -> list[RateQuote]:
        return carrier.quote(route.origin, route.destination, route.parcels)

    # Quotes

    def test_the_carrier_has_a_code(self, carrier: Carrier) -> None:
        assert isinstance(carrier.code, str)
        assert carrier.code.strip()

    def test_quotes_name_this_carrier(self, carrier: Carrier, route: Route) -> None:
        quotes = self._quotes(carrier, route)
        assert [carrier.code] * len(quotes) == [q.carrier for q in quotes]

    def test_quotes_are_non_negative_money_in_one_currency(
        self, carrier: Carrier, route: Route
    ) -> None:
        quotes = self._quotes(carrier, route)
        assert all(isinstance(q.amount, Money) and not q.amount.is_negative for q in quotes)
        assert len({q.amount.currency for q in quotes}) <= 1

    def test_quotes_come_cheapest_first(self, carrier: Carrier, route: Route) -> None:
        amounts = [q.amount.amount for q in self._quotes(carrier, route)]
        assert sorted(amounts) == amounts

    def test_quotes_offer_each_service_once(self, carrier: Carrier, route: Route) -> None:
        services = [q.service for q in self._quotes(carrier, route)]
        assert len(set(services)) == len(services)

    def test_estimated_days_run_from_fewest_to_most(self, carrier: Carrier, route: Route) -> None:
        for quote in self._quotes(carrier, route):
            if quote.estimated_days is not None:
                fewest, most = quote.estimated_days
                assert 0 <= fewest <= most

    def test_quoting_no_parcels_is_a_validation_error(self, carrier: Carrier, route: Route) -> None:
        with pytest.raises(ValidationError) as raised:
            carrier.quote(route.origin, route.destination, [])
        assert "parcels" == raised.value.field

    def test_quoting_a_parcel_that_weighs_nothing_is_a_validation_error(
        self, carrier: Carrier, route: Route
    ) -> None:
        with pytest.raises(ValidationError) as raised:
            carrier.quote(route.origin, route.destination, [Parcel(0)])
        assert "parcels[0].weight_grams" == raised.value.field

    # Booking

    def test_a_label_names_this_carrier_and_a_tracking_number(
        self, carrier: Carrier, label: ShipmentLabel
    ) -> None:
        assert carrier.code == label.carrier
        assert label.tracking_number.strip()

    def test_a_label_carries_the_tracking_url_of_its_number(
        self, carrier: Carrier, label: ShipmentLabel
    ) -> None:
        assert carrier.tracking_url(label.tracking_number) == label.tracking_url
        assert label.tracking_number in label.tracking_url

    def test_booking_a_service_the_carrier_does_not_offer_is_a_carrier_error(
        self, carrier: Carrier, route: Route
    ) -> None:
        with pytest.raises(CarrierError):
            carrier.create_shipment(
                route.origin,
                route.destination,
                route.parcels,
                service="no-such-service",
                reference=REFERENCE,
            )

    # Tracking

    def test_the_booked_number_can_be_tracked(self, carrier: Carrier, label: ShipmentLabel) -> None:
        assert isinstance(carrier.track(label.tracking_number), list)

    def test_tracking_events_are_oldest_first(self, carrier: Carrier, label: ShipmentLabel) -> None:
        times = [e.at for e in carrier.track(label.tracking_number)]
        assert sorted(times) == times

    def test_tracking_events_have_normalized_statuses(
        self, carrier: Carrier, label: ShipmentLabel
    ) -> None:
        statuses = [e.status for e in carrier.track(label.tracking_number)]
        assert [] == [s for s in statuses if s not in TrackingStatus.ALL]

    def test_tracking_events_have_unique_ids_that_stay_the_same(
        self, carrier: Carrier, label: ShipmentLabel
    ) -> None:
        first = [e.event_id for e in carrier.track(label.tracking_number)]
        second = [e.event_id for e in carrier.track(label.tracking_number)]
        assert len(set(first)) == len(first)
        assert first == second

    def test_tracking_events_name_this_carrier_and_the_number(
        self, carrier: Carrier, label: ShipmentLabel
    ) -> None:
        events = carrier.track(label.tracking_number)
        expected = [(carrier.code, label.tracking_number)] * len(events)
        assert expected == [(e.carrier, e.tracking_number) for e in events]

    def test_tracking_event_times_are_utc(self, carrier: Carrier, label: ShipmentLabel) -> None:
        offsets = [e.at.utcoffset() for e in carrier.track(label.tracking_number)]
        assert [timedelta(0)] * len(offsets) == offsets

    def test_tracking_an_invalid_number_raises_invalid_tracking_number(
        self, carrier: Carrier, invalid_tracking_numbers: Sequence[str]
    ) -> None:
        for number in invalid_tracking_numbers:
            with pytest.raises(InvalidTrackingNumber):
                carrier.track(number)

    def test_the_tracking_url_of_an_invalid_number_raises_invalid_tracking_number(
        self, carrier: Carrier, invalid_tracking_numbers: Sequence[str]
    ) -> None:
        for number in invalid_tracking_numbers:
            with pytest.raises(InvalidTrackingNumber):
                carrier.tracking_url(number)
