"""Tracking-number formats, their check digits, and tracking pages, per carrier.

Pure functions, no I/O: :func:`validate_tracking_number` tells whether a number is one the
carrier could have issued (format and, where the format defines one, check digit) and returns
it normalized; :func:`tracking_url` builds the carrier's public tracking page for it.

>>> validate_tracking_number("china-post", "rr 123 456 785 cn")
'RR123456785CN'
>>> tracking_url("ups", "1Z999AA10123456784")
'https://www.ups.com/track?tracknum=1Z999AA10123456784'

Carrier codes and what is checked:

- ``upu``: UPU S10, 2 letters, 8 digits, a check digit and the issuing country
  (``AA473124829GB``); S10 mod 11 check digit.
- ``china-post``: S10 ending in ``CN``; or a domestic number, 13 digits starting with 1
  (EMS) or 9 (parcel), checked for format only (no published check digit).
- ``usps``: IMpb, 20 to 22 digits (a scanned ``420`` + ZIP routing prefix is dropped), MOD 10
  check digit with weights 3 and 1; or S10 ending in ``US``. A 20-digit number may also carry
  its check digit the Publication 91 way, computed as if ``91`` were written in front.
- ``ups``: ``1Z`` + 6 shipper + 2 service + 7 package characters + a UPS mod 10 check digit.
- ``sf-express``: ``SF`` + 12 or 13 digits, format only (SF publishes no check digit).

A check digit catches most typing mistakes, not all: S10 maps two remainders to the check
digit 5, and UPS doubles every other character without summing digits, so a few single-digit
changes go unnoticed (see :func:`s10_check_digit` and :func:`ups_check_digit`). Accepting
both USPS conventions for 20 digits lets through the single-digit changes that move the
check by exactly 2 (the weight of the ``91`` in front).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote

import attrs

from orderkit.errors import InvalidTrackingNumber, ValidationError

__all__ = [
    "TRACKING_FORMATS",
    "TrackingFormat",
    "identify_carriers",
    "mod10_31_check_digit",
    "normalize_tracking_number",
    "s10_check_digit",
    "tracking_url",
    "ups_check_digit",
    "validate_tracking_number",
]

_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# re.ASCII: \d would otherwise accept other scripts' digits, which int() then reads.
_S10 = re.compile(r"[A-Z]{2}(\d{8})(\d)([A-Z]{2})", re.ASCII)
_UPS = re.compile(r"1Z([0-9A-Z]{15})(\d)", re.ASCII)
_IMPB = re.compile(r"\d{20,22}", re.ASCII)
_IMPB_ROUTED = re.compile(r"420(\d{5}|\d{9})(\d{22})", re.ASCII)
_SF = re.compile(r"SF\d{12,13}", re.ASCII)
_CHINA_POST_DOMESTIC = re.compile(r"[19]\d{12}", re.ASCII)
# Whitespace and dashes people type or copy from labels (``9400 1000 …``, ``RR-123…``).
_SEPARATORS = re.compile(r"[\s\-]+")


# Full-width ASCII (U+FF01 to U+FF5E) to ASCII.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def normalize_tracking_number(number: str) -> str:
    """A tracking number as orderkit stores and looks it up, for any carrier: full-width
    letters and digits (typed with a CJK input method) made plain, every space removed, upper
    case. Dashes are kept: some
    carriers print them as part of the number.

    Shipments, labels and tracking events all pass their number through this, so a number
    typed in lower case or copied with spaces finds its parcel.

    >>> normalize_tracking_number(" sf 1234 5678 9012 ")
    'SF123456789012'
    """
    if not isinstance(number, str):
        return number  # refused, with the field named, by whoever checks the value
    return "".join(number.translate(_FULL_WIDTH).split()).upper()


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an 8-digit serial number.

    Weights 8, 6, 4, 2, 3, 5, 9, 7; the check digit is 11 minus the weighted sum modulo 11,
    except that 10 becomes 0 and 11 becomes 5. Remainders 0 and 6 therefore share the check
    digit 5, so a change that moves the sum between them is not detected.

    Raises:
        ValidationError: ``serial`` is not exactly eight digits.
    """
    if not re.fullmatch(r"[0-9]{8}", serial):
        raise ValidationError("serial", f"{serial!r} must be exactly 8 digits")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def ups_check_digit(body: str) -> int:
    """The check digit of a UPS ``1Z`` number, from the 15 characters after ``1Z``.

    Letters count as ``(ord(letter) - 63) % 10`` (A=2 … H=9, I=0, J=1, …). Characters in odd
    positions (1st, 3rd, …) are added as they are, those in even positions doubled; the check
    digit brings the total up to a multiple of 10. Doubling without summing the digits of the
    product means a change by 5 in an even position is not detected.

    Raises:
        ValidationError: ``body`` is not 15 upper-case letters or digits.
    """
    if not re.fullmatch(r"[0-9A-Z]{15}", body):
        raise ValidationError("body", f"{body!r} must be 15 upper-case letters or digits")
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return (10 - total % 10) % 10


def mod10_31_check_digit(digits: str) -> int:
    """The USPS MOD 10 check digit (Publication 199): weights 3 and 1 from the right.

    The digit next to the check digit is weighted 3, the one before it 1, and so on; the
    check digit brings the sum up to a multiple of 10. Every single-digit change is caught.

    Raises:
        ValidationError: ``digits`` is empty or not all digits.
    """
    if not re.fullmatch(r"[0-9]+", digits):
        raise ValidationError("digits", f"{digits!r} must be one or more digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _check_s10(carrier: str, number: str, country: str | None = None) -> str | None:
    """None when ``number`` is a valid S10 (of ``country``), else why not."""
    match = _S10.fullmatch(number)
    if match is None:
        return "an S10 number is 2 letters, 9 digits and 2 letters"
    serial, check, issuer = match.groups()
    if country is not None and issuer != country:
        return f"{carrier} S10 numbers end in {country!r}, not {issuer!r}"
    expected = s10_check_digit(serial)
    if int(check) != expected:
        return f"the S10 check digit should be {expected}, not {check}"
    return None


def _upu(number: str) -> str | None:
    return _check_s10("upu", number)


def _ups(number: str) -> str | None:
    match = _UPS.fullmatch(number)
    if match is None:
        return "a UPS number is '1Z' followed by 15 letters or digits and a check digit"
    body, check = match.groups()
    expected = ups_check_digit(body)
    if int(check) != expected:
        return f"the check digit should be {expected}, not {check}"
    return None


def _usps_impb(number: str) -> str | None:
    if not _IMPB.fullmatch(number):
        return "a USPS number is 20 to 22 digits, or an S10 number ending in 'US'"
    expected = mod10_31_check_digit(number[:-1])
    if int(number[-1]) == expected:
        return None
    if len(number) == 20:
        # Publication 91 numbers compute the check with the "91" application identifier in
        # front, though the printed number leaves it off.
        with_91 = mod10_31_check_digit("91" + number[:-1])
        if int(number[-1]) == with_91:
            return None
        return (
            f"the MOD 10 check digit should be {expected} (or {with_91} with '91' in front), "
            f"not {number[-1]}"
        )
    return f"the MOD 10 check digit should be {expected}, not {number[-1]}"


def _usps(number: str) -> str | None:
    if number[:1].isalpha():
        return _check_s10("usps", number, "US")
    return _usps_impb(number)


def _sf(number: str) -> str | None:
    if not _SF.fullmatch(number):
        return "an SF Express number is 'SF' followed by 12 or 13 digits"
    return None


def _china_post(number: str) -> str | None:
    if number[:1].isalpha():
        return _check_s10("china-post", number, "CN")
    if not _CHINA_POST_DOMESTIC.fullmatch(number):
        return (
            "a China Post number is an S10 number ending in 'CN' or 13 digits starting "
            "with 1 (EMS) or 9 (parcel)"
        )
    return None


def _usps_normalize(number: str) -> str:
    # A scanned IMpb carries the destination ZIP as a routing prefix ("420" + ZIP5 or
    # ZIP9); the tracking number is the 22 digits after it.
    routed = _IMPB_ROUTED.fullmatch(number)
    return routed.group(2) if routed else number


# Tracking pages; {number} is replaced by the URL-quoted normalized number.
_POST_BY_COUNTRY: Mapping[str, str] = {
    "CN": "https://www.ems.com.cn/queryList?mailNum={number}",
    "US": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "GB": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "DE": "https://www.dhl.de/en/privatkunden/pakete-empfangen/verfolgen.html?piececode={number}",
    "JP": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={number}",
}
_GENERIC_S10_URL = "https://www.17track.net/en/track?nums={number}"


@attrs.frozen
class TrackingFormat:
    """How one carrier's numbers look, how they are checked, and where they are tracked.

    ``url_template`` holds ``{number}``; for S10 numbers the page of the issuing post (the
    country in the last two letters) is used where :data:`TRACKING_FORMATS` knows it.
    """

    code: str
    name: str
    formats: str
    check: str
    url_template: str
    problem: Callable[[str], str | None] = attrs.field(repr=False)
    normalize: Callable[[str], str] = attrs.field(default=str, repr=False)

    def url(self, number: str) -> str:
        """The tracking page for an already validated, normalized number."""
        template = self.url_template
        s10 = _S10.fullmatch(number)
        if s10 is not None and self.code == "upu":
            template = _POST_BY_COUNTRY.get(s10.group(3), _GENERIC_S10_URL)
        return template.format(number=quote(number, safe=""))


TRACKING_FORMATS: Mapping[str, TrackingFormat] = {
    f.code: f
    for f in (
        TrackingFormat(
            "upu",
            "UPU S10 (international post)",
            "2 letters, 8 digits, check digit, issuing country (RR123456785CN)",
            "S10 mod 11",
            _GENERIC_S10_URL,
            _upu,
        ),
        TrackingFormat(
            "china-post",
            "China Post / EMS",
            "S10 ending in CN; domestic: 13 digits starting with 1 (EMS) or 9 (parcel)",
            "S10 mod 11 for S10; domestic numbers: format only (no published check digit)",
            _POST_BY_COUNTRY["CN"],
            _china_post,
        ),
        TrackingFormat(
            "usps",
            "USPS",
            "IMpb, 20-22 digits (a 420+ZIP routing prefix is dropped); S10 ending in US",
            "MOD 10 with weights 3/1 (Publication 199); S10 mod 11",
            _POST_BY_COUNTRY["US"],
            _usps,
            _usps_normalize,
        ),
        TrackingFormat(
            "ups",
            "UPS",
            "1Z + 6 shipper + 2 service + 7 package characters + check digit (18 in all)",
            "UPS mod 10 (letters as (ord - 63) % 10, even positions doubled)",
            "https://www.ups.com/track?tracknum={number}",
            _ups,
        ),
        TrackingFormat(
            "sf-express",
            "SF Express",
            "SF + 12 or 13 digits",
            "format only: SF Express publishes no check-digit scheme",
            "https://www.sf-express.com/chn/en/waybill/waybill-detail/{number}",
            _sf,
        ),
    )
}
"""Every carrier code :func:`validate_tracking_number` knows, in lookup order."""


def _format(carrier: str) -> TrackingFormat:
    try:
        return TRACKING_FORMATS[carrier]
    except (KeyError, TypeError):
        raise ValidationError(
            "carrier",
            f"no tracking-number format for carrier {carrier!r}; known carriers: "
            + ", ".join(TRACKING_FORMATS),
        ) from None


def _clean(carrier: str, number: object) -> str:
    if not isinstance(number, str):
        raise InvalidTrackingNumber(carrier, repr(number), "a tracking number is a string")
    return _SEPARATORS.sub("", number).upper()


def validate_tracking_number(carrier: str, number: str) -> str:
    """``number`` normalized (upper case, no spaces or dashes) if ``carrier`` could issue it.

    Args:
        carrier: a code from :data:`TRACKING_FORMATS` (``ups``, ``usps``, ``sf-express``, …).
        number: the tracking number as typed or scanned.

    Raises:
        ValidationError: ``carrier`` is not a known code (``field`` is ``carrier``).
        InvalidTrackingNumber: the format or the check digit is wrong; the message says which.
    """
    spec = _format(carrier)
    cleaned = spec.normalize(_clean(carrier, number))
    problem = spec.problem(cleaned)
    if problem is not None:
        raise InvalidTrackingNumber(carrier, number, problem)
    return cleaned


def tracking_url(carrier: str, number: str) -> str:
    """The carrier's public tracking page for ``number``.

    Raises:
        ValidationError: ``carrier`` is not a known code.
        InvalidTrackingNumber: ``number`` is not valid for ``carrier``.
    """
    return _format(carrier).url(validate_tracking_number(carrier, number))


def identify_carriers(number: str, carriers: tuple[str, ...] | None = None) -> list[str]:
    """The carriers (from ``carriers``, default all known) that accept ``number``, in order.

    An S10 number ending in ``CN`` is accepted by both ``china-post`` and ``upu``; most other
    numbers identify one carrier or none.

    Raises:
        ValidationError: ``carriers`` names an unknown code.
    """
    codes = tuple(TRACKING_FORMATS) if carriers is None else carriers
    accepted = []
    for code in codes:
        spec = _format(code)
        if spec.problem(spec.normalize(_clean(code, number))) is None:
            accepted.append(code)
    return accepted
