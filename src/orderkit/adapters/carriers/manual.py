"""The manual carrier: the merchant books with a courier and types in what the courier gave.

There is nothing to book through this carrier, so :meth:`ManualCarrier.create_shipment`
refuses with a :class:`~orderkit.errors.CarrierError` that points at
:meth:`ManualCarrier.label`, which checks the carrier code and tracking number the merchant
entered (format and check digit, see :mod:`orderkit.domain.tracking_numbers`) and returns the
:class:`~orderkit.domain.shipping.ShipmentLabel` to ship the order with. The label's ``carrier`` is
``manual`` (this carrier's code, so the order finds this carrier again) and its ``service``
is the courier the merchant used (``sf-express``, ``ups``, …).

``track`` has no feed to ask: it checks the number and returns no events; updates for
manually shipped orders arrive through the tracking ingest (a courier webhook, or a person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orderkit.domain.order import Address
from orderkit.domain.shipping import Parcel, RateQuote, ShipmentLabel, TrackingEvent, check_parcels
from orderkit.domain.tracking_numbers import (
    TRACKING_FORMATS,
    identify_carriers,
    validate_tracking_number,
)
from orderkit.errors import CarrierError, InvalidTrackingNumber, ValidationError

__all__ = ["ManualCarrier"]

# Specific carriers before the generic S10 format, so a number ending in CN is China Post's.
_DEFAULT_ORDER = ("sf-express", "china-post", "ups", "usps", "upu")


class ManualCarrier:
    """A :class:`orderkit.ports.Carrier` for tracking numbers the merchant enters by hand.

    Args:
        carriers: the courier codes the merchant may choose from, most specific first (the
            first that accepts a number gives its tracking page); all known codes by default.
        urls: tracking-page templates (with ``{number}``) replacing the built-in ones, per
            courier code, e.g. ``{"sf-express": "https://shop.example.com/sf/{number}"}``.
        code: this carrier's code on labels.

    Raises:
        ValidationError: an unknown courier code, or a template without ``{number}``.
    """

    def __init__(
        self,
        carriers: Sequence[str] | None = None,
        *,
        urls: Mapping[str, str] | None = None,
        code: str = "manual",
    ) -> None:
        chosen = _DEFAULT_ORDER if carriers is None else tuple(carriers)
        if not chosen:
            raise ValidationError("carriers", "name at least one courier code, e.g. 'ups'")
        for i, name in enumerate(chosen):
            if name not in TRACKING_FORMATS:
                raise ValidationError(
                    f"carriers[{i}]",
                    f"unknown courier {name!r}; known: {', '.join(TRACKING_FORMATS)}",
                )
        templates = dict(urls or {})
        for name, template in templates.items():
            if name not in chosen:
                raise ValidationError(f"urls[{name!r}]", f"{name!r} is not in carriers")
            if "{number}" not in template:
                raise ValidationError(f"urls[{name!r}]", "the template must contain {number}")
        self.carriers: tuple[str, ...] = chosen
        self._urls = templates
        self._code = code

    @property
    def code(self) -> str:
        return self._code

    def label(self, carrier_code: str, tracking_number: str) -> ShipmentLabel:
        """Check what the merchant entered and return the label to ship with.

        Args:
            carrier_code: the courier (one of :attr:`carriers`).
            tracking_number: as typed or scanned; spaces and dashes are dropped.

        Returns:
            A label with ``carrier`` = this carrier's code, ``service`` = ``carrier_code``,
            the normalized number and the courier's tracking page.

        Raises:
            ValidationError: ``carrier_code`` is not one of :attr:`carriers`.
            InvalidTrackingNumber: the number does not fit the courier's format or check digit.
        """
        if carrier_code not in self.carriers:
            raise ValidationError(
                "carrier_code",
                f"{carrier_code!r} is not a courier this shop ships with; choose one of "
                + ", ".join(self.carriers),
            )
        number = validate_tracking_number(carrier_code, tracking_number)
        return ShipmentLabel(self._code, carrier_code, number, "", self._url(carrier_code, number))

    def quote(
        self, origin: Address, destination: Address, parcels: Sequence[Parcel]
    ) -> list[RateQuote]:
        """No prices: the merchant agrees them with the courier. Always an empty list.

        Raises:
            ValidationError: no parcels, or a parcel without weight.
        """
        check_parcels(parcels)
        return []

    def create_shipment(
        self,
        origin: Address,
        destination: Address,
        parcels: Sequence[Parcel],
        *,
        service: str,
        reference: str,
    ) -> ShipmentLabel:
        """Always refuses: book with the courier, then call :meth:`label`.

        Raises:
            CarrierError: always, saying what to do instead.
        """
        raise CarrierError(
            f"the {self._code} carrier cannot book {reference!r}: book it with the courier, "
            "then record the courier and tracking number with "
            "ManualCarrier.label(carrier_code, tracking_number)"
        )

    def _identify(self, tracking_number: str) -> tuple[str, str]:
        for name in identify_carriers(tracking_number, self.carriers):
            return name, validate_tracking_number(name, tracking_number)
        raise InvalidTrackingNumber(
            self._code,
            str(tracking_number),
            "it fits the format and check digit of none of " + ", ".join(self.carriers),
        )

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """Always no events (there is no feed), once the number is known to be valid.

        Raises:
            InvalidTrackingNumber: no configured courier accepts the number.
        """
        self._identify(tracking_number)
        return []

    def tracking_url(self, tracking_number: str) -> str:
        """The tracking page of the first configured courier that accepts the number.

        Raises:
            InvalidTrackingNumber: no configured courier accepts the number.
        """
        return self._url(*self._identify(tracking_number))

    def _url(self, carrier_code: str, number: str) -> str:
        template = self._urls.get(carrier_code)
        if template is None:
            return TRACKING_FORMATS[carrier_code].url(number)
        return template.replace("{number}", number)
