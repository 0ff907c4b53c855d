"""A rate table in a JSON file: zones, weight bands, fees, free shipping.

The file (an example ships as :func:`example_rate_table`)::

    {
      "carrier": "table-rate",                     optional, the carrier code
      "currency": "CNY",
      "tracking_url": "https://shop.example.com/track/{tracking_number}",
      "zones": [
        {
          "name": "cn-nearby",
          "match": [{"country": "CN", "regions": ["Zhejiang", "浙江"]},
                    {"country": "CN", "postal_prefixes": ["20"]}],
          "services": {
            "standard": {
              "bands": [{"max_grams": 1000, "price": "8.00"},
                        {"max_grams": 5000, "price": "14.00"}],
              "per_item": "0.50", "per_order": "1.00", "free_above": "99.00", "days": [1, 2]
            }
          }
        }
      ]
    }

**Which zone.** A rule matches a destination when the country is equal (``"*"`` matches any
country), the region is one of ``regions`` (compared ignoring case and surrounding space) if
the rule has regions, and the postal code starts with one of ``postal_prefixes`` (ignoring
spaces and case) if the rule has prefixes. Of all matching rules the most specific wins: a
longer matched postal prefix first, then a rule with regions over one without, then a
country over ``"*"``. Two rules that say the same thing in different zones are a load error,
so the winner is never a matter of file order.

**What it costs.** Each parcel is priced by the first band whose ``max_grams`` holds it; the
service's price is the sum over parcels, plus ``per_item`` for every item in every parcel,
plus ``per_order`` once. A service whose last band is lighter than a parcel is not offered;
if no service can carry the parcels, quoting raises :class:`~orderkit.errors.CarrierError`.
When the caller passes ``order_value`` and it is at least the service's ``free_above``, that
service costs zero (fees included). Without ``order_value``, no threshold applies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from orderkit.domain.money import Money
from orderkit.domain.order import Address
from orderkit.domain.shipping import (
    Parcel,
)
from orderkit.errors import (
    CarrierConfigError,
    OrderkitError,
)

__all__ = [
    "RateTable",
    "ServiceRate",
    "WeightBand",
    "Zone",
    "ZoneRule",
    "describe_destination",
    "example_rate_table",
]


@attrs.frozen
class WeightBand:
    """Parcels up to ``max_grams`` (inclusive) cost ``price``."""

    max_grams: int
    price: Money


@attrs.frozen
class ServiceRate:
    """One service level in one zone."""

    name: str
    bands: tuple[WeightBand, ...]
    per_item: Money
    per_order: Money
    free_above: Money | None = None
    days: tuple[int, int] | None = None

    def price(self, parcels: Sequence[Parcel]) -> Money | None:
        """What ``parcels`` cost with this service, or None if one is too heavy for it."""
        total = self.per_order
        for parcel in parcels:
            band = next((b for b in self.bands if parcel.weight_grams <= b.max_grams), None)
            if band is None:
                return None
            total = total + band.price + self.per_item * parcel.items
        return total


@attrs.frozen
class ZoneRule:
    """Where a zone applies; see the module docstring for how rules are matched."""

    country: str
    regions: frozenset[str] = frozenset()
    postal_prefixes: tuple[str, ...] = ()

    def specificity(self, destination: Address) -> tuple[int, int, int] | None:
        """How specifically this rule matches ``destination`` (higher wins), or None."""
        country = destination.country.strip().upper()
        if self.country not in ("*", country):
            return None
        if self.regions and _region(destination.region) not in self.regions:
            return None
        prefix_length = 0
        if self.postal_prefixes:
            postal = _postal(destination.postal_code)
            matched = [len(p) for p in self.postal_prefixes if postal.startswith(p)]
            if not matched:
                return None
            prefix_length = max(matched)
        return (prefix_length, 1 if self.regions else 0, 0 if self.country == "*" else 1)


@attrs.frozen
class Zone:
    name: str
    rules: tuple[ZoneRule, ...]
    services: tuple[ServiceRate, ...]


def _region(value: str) -> str:
    return value.strip().casefold()


def _postal(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def describe_destination(destination: Address) -> str:
    """A destination as a rate-table error names it: country, region, postal code."""
    parts = [destination.country, destination.region, destination.postal_code, destination.city]
    return "/".join(p for p in parts if p) or "an address without a country"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key that appears twice."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _show(value: Any) -> str:
    """A JSON value as the file's author wrote it (roughly), for error messages."""
    return json.dumps(value, default=str, ensure_ascii=False)[:60]


class _Reader:
    """Reads one JSON entry, raising CarrierConfigError with its path on anything wrong."""

    def __init__(self, source: str, value: Any, path: str = "") -> None:
        self.source, self.value, self.path = source, value, path

    def fail(self, problem: str) -> CarrierConfigError:
        return CarrierConfigError(self.source, self.path or "(top level)", problem)

    def at(self, key: str | int) -> _Reader:
        """The entry at ``key`` of this array (int) or object (str; absent keys read None)."""
        if isinstance(key, int):
            return _Reader(self.source, self.value[key], f"{self.path}[{key}]")
        path = f"{self.path}.{key}" if self.path else key
        return _Reader(self.source, self.value.get(key), path)

    def object(self, required: Sequence[str], optional: Sequence[str] = ()) -> _Reader:
        if not isinstance(self.value, Mapping):
            raise self.fail(f"must be a JSON object, not {_show(self.value)}")
        unknown = sorted(set(self.value) - set(required) - set(optional))
        if unknown:
            allowed = ", ".join(sorted([*required, *optional]))
            raise self.fail(f"unknown key {unknown[0]!r}; the keys here are {allowed}")
        for key in required:
            if key not in self.value:
                raise self.fail(f"{key!r} is missing")
        return self

    def items(self) -> list[_Reader]:
        if not isinstance(self.value, list) or not self.value:
            raise self.fail(f"must be a non-empty JSON array, not {_show(self.value)}")
        return [self.at(i) for i in range(len(self.value))]

    def text(self, pattern: str = r".+", hint: str = "a non-empty string") -> str:
        if not isinstance(self.value, str) or not re.fullmatch(pattern, self.value.strip()):
            raise self.fail(f"must be {hint}, not {_show(self.value)}")
        return self.value.strip()

    def grams(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise self.fail(f"must be a whole number of grams, at least 1, not {self.value!r}")
        return self.value

    def money(self, currency: str) -> Money:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise self.fail(f'must be an amount such as "12.50", not {value!r}')
        try:
            money = Money(value, currency)
        except OrderkitError as exc:
            raise self.fail(f"{value!s} is not a valid {currency} amount ({exc})") from None
        if money.is_negative:
            raise self.fail(f"must not be negative, got {money.amount}")
        return money


@attrs.frozen
class RateTable:
    """A loaded, checked rate table; build it with :meth:`from_file` or :meth:`from_data`."""

    carrier: str
    currency: str
    tracking_url: str
    zones: tuple[Zone, ...]
    source: str = "<data>"

    @classmethod
    def from_file(cls, path: str | Path) -> RateTable:
        """Load and check a JSON rate table.

        Raises:
            CarrierConfigError: the file cannot be read, is not JSON, or an entry is wrong;
                the message names the file, the entry's JSON path and the problem.
        """
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CarrierConfigError(source, "", f"cannot read the file ({exc})") from None
        return cls.from_json(text, source=source)

    @classmethod
    def from_json(cls, text: str, *, source: str = "<json>") -> RateTable:
        """Parse and check a rate table from JSON text; numbers are read as exact decimals.

        Raises:
            CarrierConfigError: not JSON, or an entry is wrong.
        """
        try:
            data = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise CarrierConfigError(
                source, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}"
            ) from None
        except _DuplicateKey as exc:
            raise CarrierConfigError(
                source,
                "",
                f"the key {exc.key!r} appears twice in one object (JSON would silently keep the "
                "last); remove or rename one",
            ) from None
        return cls.from_data(data, source=source)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, source: str = "<data>") -> RateTable:
        """Check an already parsed table (``dict`` from JSON, or built in code).

        Raises:
            CarrierConfigError: an entry is wrong.
        """
        top = _Reader(source, data).object(
            ["currency", "tracking_url", "zones"], ["carrier", "description"]
        )
        currency_reader = top.at("currency")
        currency_code = currency_reader.text(r"[A-Za-z]{3}", "a three-letter ISO 4217 code")
        try:
            currency = Money.zero(currency_code).currency
        except OrderkitError:
            raise currency_reader.fail(f"{currency_code!r} is not an ISO 4217 code") from None
        url = top.at("tracking_url").text(
            r".*\{tracking_number\}.*", "a URL containing {tracking_number}"
        )
        carrier = top.at("carrier").text() if "carrier" in top.value else "table-rate"
        zones = tuple(_zone(z, currency) for z in top.at("zones").items())
        _check_names(source, zones)
        _check_rules(source, zones)
        return cls(carrier, currency, url, zones, source)

    def zone_for(self, destination: Address) -> Zone | None:
        """The zone whose most specific rule matches ``destination``, if any."""
        best: tuple[tuple[int, int, int], Zone] | None = None
        for zone in self.zones:
            for rule in zone.rules:
                score = rule.specificity(destination)
                if score is not None and (best is None or score > best[0]):
                    best = (score, zone)
        return best[1] if best else None


def _zone(reader: _Reader, currency: str) -> Zone:
    reader.object(["name", "match", "services"], ["description"])
    name = reader.at("name").text()
    rules = tuple(_rule(r) for r in reader.at("match").items())
    services_reader = reader.at("services")
    if not isinstance(services_reader.value, Mapping) or not services_reader.value:
        raise services_reader.fail(
            'must be a JSON object naming at least one service, e.g. {"standard": {...}}'
        )
    services = tuple(
        _service(services_reader.at(key), key, currency) for key in services_reader.value
    )
    return Zone(name, rules, services)


def _rule(reader: _Reader) -> ZoneRule:
    reader.object(["country"], ["regions", "postal_prefixes"])
    country = reader.at("country").text(r"[A-Za-z]{2}|\*", 'an ISO 3166 alpha-2 code or "*"')
    regions = (
        frozenset(_region(r.text()) for r in reader.at("regions").items())
        if "regions" in reader.value
        else frozenset()
    )
    prefixes = (
        tuple(
            _postal(p.text(r"[0-9A-Za-z ]+", "letters and digits"))
            for p in reader.at("postal_prefixes").items()
        )
        if "postal_prefixes" in reader.value
        else ()
    )
    if country == "*" and (regions or prefixes):
        raise reader.fail('a "*" (any country) rule cannot also have regions or postal prefixes')
    return ZoneRule(country.upper(), regions, prefixes)


def _service(reader: _Reader, name: str, currency: str) -> ServiceRate:
    reader.object(["bands"], ["per_item", "per_order", "free_above", "days", "description"])
    bands: list[WeightBand] = []
    for band_reader in reader.at("bands").items():
        band_reader.object(["max_grams", "price"])
        max_grams = band_reader.at("max_grams").grams()
        if bands and max_grams <= bands[-1].max_grams:
            raise band_reader.at("max_grams").fail(
                f"{max_grams} is not above the previous band's {bands[-1].max_grams}; "
                "list bands from lightest to heaviest"
            )
        bands.append(WeightBand(max_grams, band_reader.at("price").money(currency)))
    zero = Money.zero(currency)
    fees = {
        key: reader.at(key).money(currency) if key in reader.value else zero
        for key in ("per_item", "per_order")
    }
    free_above = reader.at("free_above").money(currency) if "free_above" in reader.value else None
    days = None
    if "days" in reader.value:
        days_reader = reader.at("days")
        value = days_reader.value
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
            and value[0] <= value[1]
        ):
            raise days_reader.fail(f"must be [fewest, most] whole days, not {value!r}")
        days = (value[0], value[1])
    return ServiceRate(name, tuple(bands), fees["per_item"], fees["per_order"], free_above, days)


def _check_names(source: str, zones: Sequence[Zone]) -> None:
    """Refuse two zones with one name: quotes and errors name zones, so they must differ."""
    first: dict[str, int] = {}
    for z, zone in enumerate(zones):
        if zone.name in first:
            raise CarrierConfigError(
                source,
                f"zones[{z}].name",
                f"{zone.name!r} is already the name of zones[{first[zone.name]}]; "
                "give each zone its own name",
            )
        first[zone.name] = z


def _check_rules(source: str, zones: Sequence[Zone]) -> None:
    """Refuse two rules that match exactly the same destinations in different places."""
    seen: dict[tuple[str, str | None, str | None], str] = {}
    for z, zone in enumerate(zones):
        for r, rule in enumerate(zone.rules):
            path = f"zones[{z}].match[{r}]"
            regions: list[str | None] = [*sorted(rule.regions)] or [None]
            prefixes: list[str | None] = [*rule.postal_prefixes] or [None]
            for region in regions:
                for prefix in prefixes:
                    key = (rule.country, region, prefix)
                    if key in seen and seen[key] != path:
                        raise CarrierConfigError(
                            source,
                            path,
                            f"matches the same destinations as {seen[key]} (country "
                            f"{rule.country!r}, region {region!r}, postal prefix {prefix!r}); "
                            "keep one of them",
                        )
                    seen[key] = path


def example_rate_table() -> RateTable:
    """The example table shipped in the package, in CNY from a shop in Hangzhou.

    Zones: ``cn-nearby`` (Zhejiang, Jiangsu, Shanghai), ``cn-remote`` (Xinjiang, Tibet,
    Qinghai, Inner Mongolia, Ningxia, Gansu, Hainan), ``cn`` (the rest of mainland China),
    ``eu``, ``us`` and ``world``.
    """
    text = (
        resources.files("orderkit.adapters.carriers")
        .joinpath("example_rates.json")
        .read_text(encoding="utf-8")
    )
    return RateTable.from_json(text, source="orderkit/adapters/carriers/example_rates.json")
