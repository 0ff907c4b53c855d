"""Normalization at the boundary: tags, email addresses and locales, done once where they enter.

Pure functions, no I/O. Each check names the field it refuses, so the caller's error says
which input to fix.

- **Tags** compare case-insensitively: :func:`normalize_tag` trims, case-folds and
  NFC-normalizes them, and orders store, match and show them that way (``VIP``, ``vip`` and
  `` Vip `` are one tag, ``vip``).
- **Email addresses** get a syntactic check only (:func:`check_email`): no look-up, no
  delivery test.
- **Locales** must be ones Babel can parse (:func:`locale_identifier`) and are kept as
  Babel writes them (``en-us`` becomes ``en_US``), so a receipt never falls back in silence.

>>> normalize_tag(" VIP ")
'vip'
>>> locale_identifier("locale", "zh-Hans-CN")
'zh_Hans_CN'
"""

from __future__ import annotations

import functools
import unicodedata

import babel
from babel.core import parse_locale

from orderkit.errors import ValidationError

__all__ = ["check_email", "check_tag", "locale_identifier", "normalize_tag"]


def normalize_tag(tag: str) -> str:
    """``tag`` as orderkit stores and compares it: trimmed, case-folded, in NFC.

    >>> normalize_tag("Café") == normalize_tag("CAFE\\u0301")
    True
    """
    if tag.isascii() and tag == tag.lower() == tag.strip():
        return tag  # already normalized: every order value built re-reads its tags
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).casefold().strip())


def check_tag(field: str, tag: object) -> str:
    """``tag`` normalized (:func:`normalize_tag`).

    Raises:
        ValidationError: ``tag`` is not a string, or nothing is left once trimmed.
    """
    if not isinstance(tag, str) or not tag.strip():
        raise ValidationError(field, f"must be a non-empty string, not {tag!r}")
    return normalize_tag(tag)


def check_email(field: str, email: object) -> str:
    """``email`` if it looks like an address: one ``@``, something before it, a domain with a
    dot after it, and no spaces or control characters. Nothing is looked up.

    Raises:
        ValidationError: it does not; the message says what is wrong.
    """
    if not isinstance(email, str):
        raise ValidationError(field, f"must be a string, not {email!r}")
    local, at, domain = email.rpartition("@")
    problem = None
    if not email.isprintable() or " " in email:  # isprintable() refuses every other space
        problem = "has a space or a control character"
    elif not at or "@" in local:
        problem = "needs exactly one @"
    elif not local:
        problem = "needs a name before the @"
    elif "." not in domain.strip(".") or ".." in domain:
        problem = "needs a domain with a dot after the @, such as example.com"
    if problem is not None:
        raise ValidationError(field, f"{email!r} is not an email address: it {problem}")
    return email


def locale_identifier(field: str, locale: object) -> str:
    """``locale`` as Babel writes identifiers (``en-us`` becomes ``en_US``), if Babel knows
    it; ``-`` and ``_`` both separate its parts.

    Raises:
        ValidationError: Babel does not know the locale (``chinese``, ``zh_CM``).
    """
    if not isinstance(locale, str) or not locale.strip():
        raise ValidationError(field, f"must be a locale identifier such as 'en_US', not {locale!r}")
    try:
        return _babel_identifier(locale.strip().replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError):
        raise ValidationError(
            field,
            f"{locale!r} is not a locale Babel knows; give a language code with an optional "
            "script and territory, such as 'en', 'en_US', 'zh_Hans' or 'zh_Hant_TW'",
        ) from None


@functools.lru_cache(maxsize=256)
def _babel_identifier(text: str) -> str:
    """Every placement checks its locale: parsing is cached (failures are not)."""
    babel.Locale.parse(text)
    # The parts as given, cased as Babel writes them; Locale.parse would add a likely
    # script (zh_TW becoming zh_Hant_TW), changing the identifier the host chose.
    language, territory, script, variant = parse_locale(text)[:4]
    return "_".join(part for part in (language, script, territory, variant) if part)
