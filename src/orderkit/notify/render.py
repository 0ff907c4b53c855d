"""Rendering receipts: jinja2 templates, babel formatting and gettext catalogs.

:class:`ReceiptRenderer` turns a :class:`~orderkit.domain.receipt.Receipt` into a subject, a plain
text body and an email-safe HTML body in one locale. Templates are found through a loader
chain, the host's loaders first and the package's own templates last, so a host overrides
any template by giving one of the same name. Templates see plain data only: the receipt
unstructured to dicts, lists and strings (money as ``{"amount": "19.99", "currency":
"USD"}``), formatted with the ``money``, ``date``, ``datetime``, ``number`` and ``country``
filters for the render locale. Times are shown in the order's time zone (the renderer's
``timezone`` for orders without one), to the minute, with the zone's name.

Merchant-edited templates are rendered with ``sandboxed=True``: jinja2's immutable sandbox
hardened by :mod:`orderkit.notify._sandbox`, with caps on output size and render time and every
failure a typed :class:`~orderkit.errors.RenderError`.

jinja2 environments are built on first use, one per locale, and cached with their compiled
templates and translations.
"""

from __future__ import annotations

import contextvars
import functools
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import babel
import babel.dates
import babel.numbers
import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2.exceptions import SecurityError

from orderkit.domain.money import format_amount
from orderkit.domain.order import zone_info
from orderkit.domain.receipt import Receipt, ReceiptKind
from orderkit.errors import (
    RenderError,
    RenderLimitExceeded,
    SandboxViolation,
    TemplateMissing,
    TemplateSyntaxInvalid,
    UnsafeSubject,
    ValidationError,
)
from orderkit.notify._sandbox import LimitedSandbox, check_output, harden, plain_only, time_limit
from orderkit.notify.engagement import TrackingLinks
from orderkit.serialization import get_converter

__all__ = [
    "SHIPPED_LOCALES",
    "ReceiptRenderer",
    "RenderedReceipt",
    "formatting_locale",
    "load_translations",
    "negotiate_locale",
]

SHIPPED_LOCALES: tuple[str, ...] = ("en", "zh_Hans", "zh_Hant", "ja", "de")
LOCALE_DIR = Path(__file__).parent.parent / "locale"
DOMAIN = "orderkit"

# Everything str.splitlines() splits on: any of them in a subject would start a new header.
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@attrs.frozen
class RenderedReceipt:
    """A receipt in words: ``subject`` is one line, ``html`` is email-safe, ``locale`` the
    catalog it was rendered with (``zh_Hant`` for a ``zh_TW`` request)."""

    subject: str
    text: str
    html: str
    locale: str


def negotiate_locale(
    requested: str | None, available: Sequence[str] = SHIPPED_LOCALES, default: str = "en"
) -> str:
    """The best of ``available`` for a requested locale, or ``default``.

    Chinese is matched by script: a script asked for wins (``zh_Hant_CN`` gets ``zh_Hant``,
    ``zh-Hans-US`` gets ``zh_Hans``); otherwise ``zh_CN`` and ``zh_SG`` get ``zh_Hans``,
    ``zh_TW``, ``zh_HK`` and ``zh_MO`` get ``zh_Hant`` (babel's likely-subtags data decides).
    Otherwise the language decides, whatever the region (``de_AT`` and ``de_US`` get
    ``de``), and anything unknown or malformed gets ``default``.
    """
    return _negotiate(requested or "", tuple(available), default)


@functools.lru_cache(maxsize=512)
def _negotiate(requested: str, available: tuple[str, ...], default: str) -> str:
    # Cached: babel's parsing normalizes against every known locale id (hundreds of µs).
    if not requested:
        return default
    # parse_locale reads the parts without asking babel whether the combination exists, so
    # de_US, ja_US and zh_Hans_US still find their language (and script).
    try:
        language, territory, script, *_ = babel.core.parse_locale(requested.replace("-", "_"))
    except ValueError:
        return default
    language = language.lower()
    if script is None:  # the script people of that language (and region) write in
        likely: Mapping[str, str] = babel.core.get_global("likely_subtags")
        for key in (f"{language}_{territory}" if territory else "", language):
            if key in likely:
                script = babel.core.parse_locale(likely[key])[2]
                break
    candidates = [f"{language}_{territory}"] if territory else []
    if script:
        candidates.append(f"{language}_{script}")
    candidates.append(language)
    for candidate in candidates:
        if candidate in available:
            return candidate
    return default


@functools.lru_cache(maxsize=512)
def formatting_locale(requested: str | None, negotiated: str) -> babel.Locale:
    """The babel locale money, numbers and dates are formatted in.

    Labels come from the ``negotiated`` catalog; formatting follows the requested locale
    where it is a variant of the same language (``en_GB`` dates, ``de_CH`` and ``de_AT``
    money, ``zh_TW`` as ``zh_Hant_TW``), and the catalog's locale otherwise (a French
    request answered in English is formatted in English too).
    """
    catalog = babel.Locale.parse(negotiated)
    try:
        parsed = babel.Locale.parse((requested or "").replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return catalog
    if parsed.language != catalog.language:
        return catalog
    if catalog.script is None or parsed.script == catalog.script:
        return parsed
    if parsed.script is None and parsed.territory:
        try:
            return babel.Locale(parsed.language, parsed.territory, script=catalog.script)
        except babel.UnknownLocaleError:
            return catalog
    return catalog


def load_translations(locale: str, directory: Path = LOCALE_DIR) -> Translations:
    """The gettext catalog of ``locale``: the compiled ``.mo`` the build made, or, when it is
    missing or older than its ``.po`` source (a plain checkout, a catalog being edited), the
    source compiled in memory.

    Raises:
        ValidationError: ``directory`` has no catalog for ``locale``.
    """
    messages = directory / locale / "LC_MESSAGES"
    mo = messages / f"{DOMAIN}.mo"
    po = messages / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if not po.exists():
        raise ValidationError(
            "locales", f"no catalog for {locale!r} in {directory}; see docs/translations.md"
        )
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


# The formatting locale of the render running in this thread (or task), read by the filters.
_formatting: contextvars.ContextVar[babel.Locale | None] = contextvars.ContextVar(
    "formatting", default=None
)
# The time zone of the render running (the order's, or the renderer's), read by the filters.
_zone: contextvars.ContextVar[tzinfo | None] = contextvars.ContextVar("zone", default=None)


# -- the renderer -----------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money_parts(value: Any) -> tuple[Decimal, str]:
    if isinstance(value, Mapping):
        return _decimal(value["amount"]), str(value["currency"])
    return _decimal(value.amount), str(value.currency)


def _is_positive(value: Any) -> bool:
    if value is None or isinstance(value, jinja2.Undefined):
        return False
    return _money_parts(value)[0] > 0


class ReceiptRenderer:
    """Renders receipts of every kind in every configured locale.

    Args:
        loaders: the host's jinja2 loaders, searched before the package's templates; a
            template of the same name (``shipped.html``) replaces the shipped one.
        locales: the locales offered; each needs a catalog (see docs/translations.md).
        default_locale: what an unknown or unsupported locale falls back to.
        timezone: the shop's zone (an IANA name such as ``Asia/Shanghai``): times on the
            receipt of an order without a ``time_zone`` of its own are shown in it.
        tracking: open and click tracking for HTML, applied when a ``message_id`` is given.
        sandboxed: render in jinja2's immutable sandbox with the caps below; use it
            whenever a loader holds templates a merchant can edit.
        max_output_bytes: (sandboxed) the most UTF-8 bytes one template may produce.
        max_render_seconds: (sandboxed) the longest one template may take.
        auto_reload: check loaders for changed templates on every render (slower; for
            hosts whose merchants edit templates while the renderer lives).

    Raises:
        ValidationError: an unknown timezone, a locale without a catalog, or caps that are
            not positive.
    """

    def __init__(
        self,
        *,
        loaders: Sequence[jinja2.BaseLoader] = (),
        locales: Sequence[str] = SHIPPED_LOCALES,
        default_locale: str = "en",
        timezone: str = "UTC",
        tracking: TrackingLinks | None = None,
        sandboxed: bool = False,
        max_output_bytes: int = 256 * 1024,
        max_render_seconds: float = 2.0,
        auto_reload: bool = False,
    ) -> None:
        self.locales = tuple(locales)
        if default_locale not in self.locales:
            raise ValidationError(
                "default_locale", f"{default_locale!r} must be one of locales {self.locales}"
            )
        for locale in self.locales:
            if not (LOCALE_DIR / locale / "LC_MESSAGES").is_dir():
                raise ValidationError(
                    "locales", f"orderkit has no catalog for {locale!r}; see docs/translations.md"
                )
        self.tzinfo = zone_info("timezone", timezone)
        if max_output_bytes < 1 or max_render_seconds <= 0:
            raise ValidationError(
                "max_output_bytes", "max_output_bytes and max_render_seconds must be positive"
            )
        self.default_locale = default_locale
        self.loaders = tuple(loaders)
        self.tracking = tracking
        self.sandboxed = sandboxed
        self.max_output_bytes = max_output_bytes
        self.max_render_seconds = max_render_seconds
        self.auto_reload = auto_reload
        self._environments: dict[str, jinja2.Environment] = {}
        self._lock = threading.Lock()

    def negotiate(self, requested: str | None) -> str:
        """The locale this renderer uses for ``requested`` (see :func:`negotiate_locale`)."""
        return negotiate_locale(requested, self.locales, self.default_locale)

    @cached_property
    def _loader(self) -> jinja2.BaseLoader:
        return jinja2.ChoiceLoader([*self.loaders, jinja2.PackageLoader("orderkit", "templates")])

    def environment(self, locale: str) -> jinja2.Environment:
        """The jinja2 environment of one (negotiated) locale, built on first use."""
        env = self._environments.get(locale)
        if env is None:
            with self._lock:
                env = self._environments.get(locale)
                if env is None:
                    env = self._build(locale)
                    self._environments[locale] = env
        return env

    def _build(self, locale_name: str) -> jinja2.Environment:
        factory = LimitedSandbox if self.sandboxed else jinja2.Environment
        env = factory(
            loader=self._loader,
            finalize=plain_only if self.sandboxed else None,
            autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            auto_reload=self.auto_reload,
            cache_size=-1,
        )
        env.install_gettext_translations(  # type: ignore[attr-defined]
            load_translations(locale_name), newstyle=True
        )
        catalog_locale = babel.Locale.parse(locale_name)
        shop_zone = self.tzinfo

        # The filters format for the render's formatting locale (en_GB, de_AT, zh_Hant_TW),
        # set by render(); the catalog's locale when used outside a render.
        def money(value: Any) -> str:
            amount, currency = _money_parts(value)
            locale = _formatting.get() or catalog_locale
            return format_amount(amount, currency, locale)

        def as_date(value: Any, format: str = "long") -> str:
            if isinstance(value, str):  # a moment is dated where the customer is
                value = date.fromisoformat(value) if len(value) == 10 else _local(value)
            elif isinstance(value, datetime):
                value = value.astimezone(_zone.get() or shop_zone)
            locale = _formatting.get() or catalog_locale
            return babel.dates.format_date(value, format, locale=locale)

        def _local(value: Any) -> datetime:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            return moment.astimezone(_zone.get() or shop_zone)

        def as_datetime(value: Any, format: str = "medium") -> str:
            """A moment in the render's zone, to the minute, with the zone named
            (``Nov 23, 2026, 9:28 AM Central European Standard Time``); a babel pattern
            (``"d MMM HH:mm"``) is used as it is."""
            moment = _local(value)
            locale = _formatting.get() or catalog_locale
            if format not in ("short", "medium", "long", "full"):
                return babel.dates.format_datetime(moment, format, locale=locale)
            day = babel.dates.format_date(moment, format, locale=locale)
            time_of_day = babel.dates.format_time(moment, "short", locale=locale)
            zone = babel.dates.format_datetime(moment, "zzzz", locale=locale)
            pattern = str(locale.datetime_formats[format])
            return f"{pattern.replace('{1}', day).replace('{0}', time_of_day)} {zone}"

        def number(value: Any) -> str:
            locale = _formatting.get() or catalog_locale
            return babel.numbers.format_decimal(_decimal(value), locale=locale)

        def country(code: Any) -> str:
            locale = _formatting.get() or catalog_locale
            return str(locale.territories.get(str(code), code))

        filters: dict[str, Callable[..., str]] = {
            "money": money,
            "date": as_date,
            "datetime": as_datetime,
            "number": number,
            "country": country,
        }
        env.filters.update(filters)
        env.tests["positive"] = _is_positive
        if self.sandboxed:
            harden(env, self.max_output_bytes)
        return env

    def render(
        self,
        receipt: Receipt,
        kind: str | None = None,
        locale: str | None = None,
        *,
        message_id: str | None = None,
    ) -> RenderedReceipt:
        """Render ``receipt`` as a message of ``kind`` (default: the receipt's) in ``locale``
        (default: the receipt's), negotiated against this renderer's locales.

        With ``message_id`` (the outbox entry's id) and ``tracking`` configured, the HTML
        links go through the click endpoint and an open pixel is added.

        Raises:
            ValidationError: an unknown ``kind``.
            UnsafeSubject: the rendered subject contains a line break.
            TemplateMissing, TemplateSyntaxInvalid: a template cannot be found or parsed.
            SandboxViolation, RenderLimitExceeded: (sandboxed) the template reached beyond
                its data or its caps.
        """
        kind = receipt.kind if kind is None else kind
        if kind not in ReceiptKind.ALL:
            raise ValidationError(
                "kind", f"unknown receipt kind {kind!r}; use one of {', '.join(ReceiptKind.ALL)}"
            )
        requested = receipt.locale if locale is None else locale
        negotiated = self.negotiate(requested)
        env = self.environment(negotiated)
        context = {
            "receipt": get_converter().unstructure(receipt, Receipt),
            "kind": kind,
            "locale": negotiated,
        }
        token = _formatting.set(formatting_locale(requested, negotiated))
        zone = _zone.set(
            zone_info("receipt.time_zone", receipt.time_zone) if receipt.time_zone else None
        )
        try:
            subject_name = f"{kind}.subject.txt"
            subject = self._render(env, subject_name, context).strip(" \t")
            if any(ch in _LINE_BREAKS for ch in subject):
                raise UnsafeSubject(subject_name)
            text = self._render(env, f"{kind}.txt", context)
            html = self._render(env, f"{kind}.html", context)
        finally:
            _formatting.reset(token)
            _zone.reset(zone)
        if self.tracking is not None and message_id is not None:
            html = self.tracking.apply(html, message_id)
        return RenderedReceipt(subject=subject, text=text, html=html, locale=negotiated)

    def _render(self, env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
        try:
            template = env.get_template(name)
            if not self.sandboxed:
                return template.render(context)
            return self._render_capped(template, name, context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateMissing(str(exc.name or name)) from None
        except jinja2.TemplateSyntaxError as exc:
            where = exc.name or exc.filename or name
            raise TemplateSyntaxInvalid(where, exc.lineno, exc.message or "syntax error") from None
        except RenderError:
            raise
        except SecurityError as exc:
            raise SandboxViolation(name, f"refused: {exc}") from None
        except jinja2.UndefinedError as exc:
            error = SandboxViolation if self.sandboxed else RenderError
            raise error(name, f"{exc}; templates see only the receipt's data") from None
        except RecursionError:
            raise RenderLimitExceeded(name, "recursion too deep") from None
        except Exception as exc:
            if not self.sandboxed:
                raise
            # A merchant's template failed at run time (1/0, a bad filter argument): the
            # merchant needs the reason, the host needs a typed error instead of a crash.
            raise RenderError(name, f"{type(exc).__name__}: {exc}") from None

    def _render_capped(self, template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
        parts: list[str] = []
        chars = 0
        with time_limit(name, self.max_render_seconds) as deadline:
            for count, chunk in enumerate(template.generate(context)):
                chars += len(chunk)
                # A character is at least one UTF-8 byte: more characters than the cap is
                # already too much; the exact byte count is taken once, at the end.
                if chars > self.max_output_bytes:
                    raise RenderLimitExceeded(
                        name, f"output exceeds max_output_bytes ({self.max_output_bytes})"
                    )
                # The clock is read every few chunks (calls and loops read it too): a
                # template yields hundreds of small chunks.
                if not count % 32 and time.monotonic() > deadline:
                    raise RenderLimitExceeded(
                        name, f"rendering took longer than {self.max_render_seconds} s"
                    )
                parts.append(chunk)
        output = "".join(parts)
        if len(output.encode("utf-8")) > self.max_output_bytes:
            raise RenderLimitExceeded(
                name, f"output exceeds max_output_bytes ({self.max_output_bytes})"
            )
        check_output(name, output)
        return output
