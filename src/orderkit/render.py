"""Rendering receipts: jinja2 templates, babel formatting and gettext catalogs.

:class:`ReceiptRenderer` turns a :class:`~orderkit.receipt.Receipt` into a subject, a plain
text body and an email-safe HTML body in one locale. Templates are found through a loader
chain, the host's loaders first and the package's own templates last, so a host overrides
any template by giving one of the same name. Templates see plain data only: the receipt
unstructured to dicts, lists and strings (money as ``{"amount": "19.99", "currency":
"USD"}``), formatted with the ``money``, ``date``, ``datetime``, ``number`` and ``country``
filters for the render locale.

Merchant-edited templates are rendered with ``sandboxed=True``: jinja2's immutable sandbox,
with caps on output size and render time and every failure a typed
:class:`~orderkit.errors.RenderError`.

jinja2 environments are built on first use, one per locale, and cached with their compiled
templates and translations.
"""

from __future__ import annotations

import contextvars
import functools
import io
import re
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import babel
import babel.dates
import babel.numbers
import jinja2
import jinja2.sandbox
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat

from orderkit.errors import (
    RenderError,
    RenderLimitExceeded,
    SandboxViolation,
    TemplateMissing,
    TemplateSyntaxInvalid,
    UnsafeSubject,
    ValidationError,
)
from orderkit.receipt import Receipt, ReceiptKind
from orderkit.serialization import get_converter
from orderkit.tracking import TrackingLinks

__all__ = [
    "SHIPPED_LOCALES",
    "ReceiptRenderer",
    "RenderedReceipt",
    "formatting_locale",
    "load_translations",
    "negotiate_locale",
]

SHIPPED_LOCALES: tuple[str, ...] = ("en", "zh_Hans", "zh_Hant", "ja", "de")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "orderkit"

# Everything str.splitlines() splits on: any of them in a subject would start a new header.
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@attrs.frozen
class RenderedReceipt:
    """A receipt in words: ``subject`` is one line, ``html`` is email-safe."""

    subject: str
    text: str
    html: str


def negotiate_locale(
    requested: str | None, available: Sequence[str] = SHIPPED_LOCALES, default: str = "en"
) -> str:
    """The best of ``available`` for a requested locale, or ``default``.

    Chinese is matched by script: ``zh_CN`` and ``zh_SG`` get ``zh_Hans``, ``zh_TW``,
    ``zh_HK`` and ``zh_MO`` get ``zh_Hant`` (babel's likely-subtags data decides). Otherwise
    the language decides (``de_AT`` gets ``de``), and anything unknown or malformed gets
    ``default``.
    """
    return _negotiate(requested or "", tuple(available), default)


@functools.lru_cache(maxsize=512)
def _negotiate(requested: str, available: tuple[str, ...], default: str) -> str:
    # Cached: babel's parsing normalizes against every known locale id (hundreds of µs).
    if not requested:
        return default
    try:
        parsed = babel.Locale.parse(requested.replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return default
    script = parsed.script
    if script is None:
        likely: Mapping[str, str] = babel.core.get_global("likely_subtags")
        for key in (f"{parsed.language}_{parsed.territory}", parsed.language):
            if key in likely:
                script = babel.Locale.parse(likely[key]).script
                break
    candidates = [str(parsed)]
    if script:
        candidates.append(f"{parsed.language}_{script}")
    candidates.append(parsed.language)
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


# -- the sandbox ------------------------------------------------------------------------------

# The formatting locale of the render running in this thread (or task), read by the filters.
_formatting: contextvars.ContextVar[babel.Locale | None] = contextvars.ContextVar(
    "formatting", default=None
)

# The deadline and template name of the sandboxed render running in this thread (or task).
_deadline: contextvars.ContextVar[tuple[float, str]] = contextvars.ContextVar(
    "deadline", default=(0.0, "")
)
_BINOP_LIMIT_ITEMS = 100_000


def _check_deadline() -> None:
    deadline, template = _deadline.get()
    if deadline and time.monotonic() > deadline:
        raise RenderLimitExceeded(template, "rendering took longer than max_render_seconds")


class _TimedRange:
    """``range`` for sandboxed templates: capped in size like jinja2's, and checking the
    render deadline while a loop runs, so a loop that prints nothing still stops."""

    def __init__(self, *args: int) -> None:
        self._range = jinja2.sandbox.safe_range(*args)

    def __len__(self) -> int:
        return len(self._range)

    def __iter__(self) -> Iterator[int]:
        for value in self._range:
            _check_deadline()
            yield value


# Sizes no receipt needs: checked *before* an operation builds something huge, because the
# output cap only sees text once it exists.
_MAX_INT_BITS = 4096
_MAX_FORMAT_WIDTH = 1000
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: Any) -> None:
    """Refuse ``%`` formats with huge or ``*`` widths (``'%0999999999d' % 1``)."""
    if isinstance(fmt, str) and "%" in fmt and not _percent_format_ok(str(fmt)):
        raise SecurityError("format width too large for a template")


@functools.lru_cache(maxsize=1024)  # the same messages are checked on every render
def _percent_format_ok(fmt: str) -> bool:
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*" or (part and int(part) > _MAX_FORMAT_WIDTH):
                return False
    return True


@functools.lru_cache(maxsize=1024)
def _brace_format_ok(fmt: str) -> bool:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and (
            "{" in spec or any(int(n) > _MAX_FORMAT_WIDTH for n in re.findall(r"\d+", spec))
        ):
            return False
    return True


def _check_brace_format(fmt: str) -> None:
    """Refuse ``str.format`` specs with huge or nested widths (``'{0:>999999999}'``)."""
    if not _brace_format_ok(str(fmt)):
        raise SecurityError("format width too large for a template")


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise SecurityError("a value too large for a template")


class _CappedConcat(CodeGenerator):
    """Compiles ``a ~ b`` to a join whose result is checked against the output cap, so
    doubling a string in a loop stops long before it fills the memory."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.capped(")
        super().visit_Concat(node, frame)
        self.write(")")


class _LimitedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The immutable sandbox, also checking the deadline on every call and refusing values
    too big to ever fit in a receipt: from ``*``, ``**``, ``%``, ``~``, ``str.format`` and
    the filters that can multiply text."""

    intercepted_binops = frozenset({"*", "**", "%"})
    code_generator_class = _CappedConcat
    max_value_size = _BINOP_LIMIT_ITEMS

    def capped(self, value: Any) -> Any:
        if isinstance(value, str):
            _check_size(len(value), self.max_value_size)
        return value

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        _check_deadline()
        if operator == "**" and isinstance(right, int):
            bits = left.bit_length() if isinstance(left, int) else 1
            if abs(right) > 64 or bits * abs(right) > _MAX_INT_BITS:
                raise SecurityError("exponent too large for a template")
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                _check_size(left.bit_length() + right.bit_length(), _MAX_INT_BITS)
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, (str, list, tuple)) and isinstance(count, int):
                    _check_size(len(sized) * count, self.max_value_size)
        if operator == "%":
            _check_percent_format(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_brace_format(value.__self__)
        return wrapped

    def call(
        __self,  # jinja2's own signature: no keyword argument of the call can clash
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _check_deadline()
        return super().call(__context, __obj, *args, **kwargs)


class _Global:
    """A callable global of a sandboxed template that prints as its name, never as a Python
    repr (which would show module and function names)."""

    def __init__(self, name: str, function: Callable[..., Any]) -> None:
        self._name = name
        self._function = function
        pass_arg = getattr(function, "jinja_pass_arg", None)
        if pass_arg is not None:  # gettext wants the render context: keep jinja2's marker
            self.jinja_pass_arg = pass_arg

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for arg in args:  # gettext formats its message with %: same limits as the operator
            _check_percent_format(arg)
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return self._name

    __str__ = __repr__


_PLAIN = (str, int, float, Decimal, list, tuple, dict, type(None), jinja2.Undefined)

# What Python prints for objects that are not data: never in a merchant template's output.
_INTERNALS = (
    "<function ",
    "<class '",
    "<module '",
    "<built-in ",
    "<bound method ",
    " object at 0x",
)


def _plain_only(value: Any) -> Any:
    """``finalize`` of sandboxed templates: ``{{ }}`` prints data, never an object."""
    if isinstance(value, _PLAIN):
        return value
    raise SecurityError(
        f"a template may print text, numbers and the receipt's data, not a {type(value).__name__}"
    )


def _safe_string(value: Any) -> str:
    """The ``string`` filter of sandboxed templates: refuses to stringify objects."""
    return str(_plain_only(value))


# Filters whose numeric arguments size their output (``'x'|center(10**9)``).
_SIZED_FILTERS = ("center", "indent", "wordwrap", "truncate", "batch", "slice", "round")


def _capped_filters(filters: Mapping[str, Callable[..., Any]], limit: int) -> dict[str, Any]:
    """Sandboxed versions of the builtin filters that can multiply text."""

    def sized(name: str) -> Callable[..., Any]:
        original = filters[name]

        def check(*args: Any, **kwargs: Any) -> Any:
            for arg in (*args[1:], *kwargs.values()):
                if isinstance(arg, int) and not isinstance(arg, bool):
                    _check_size(abs(arg), _MAX_FORMAT_WIDTH)
            return original(*args, **kwargs)

        return check

    join, replace, format_ = filters["join"], filters["replace"], filters["format"]

    def capped_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        _check_size(sum(len(str(i)) for i in items) + len(d) * len(items), limit)
        return join(eval_ctx, items, d, attribute)

    def capped_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        _check_size(len(str(s)) + str(s).count(str(old)) * len(str(new)), limit)
        return replace(eval_ctx, s, old, new, count)

    def capped_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_percent_format(value)
        return format_(value, *args, **kwargs)

    capped_join.jinja_pass_arg = join.jinja_pass_arg  # type: ignore[attr-defined]
    capped_replace.jinja_pass_arg = replace.jinja_pass_arg  # type: ignore[attr-defined]
    result: dict[str, Any] = {name: sized(name) for name in _SIZED_FILTERS if name in filters}
    result.update(join=capped_join, replace=capped_replace, format=capped_format)
    return result


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
        timezone: the zone times are shown in (an IANA name such as ``Asia/Shanghai``).
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
        try:
            self.tzinfo = babel.dates.get_timezone(timezone)
        except LookupError:
            raise ValidationError(
                "timezone", f"unknown time zone {timezone!r}; use an IANA name like 'UTC'"
            ) from None
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
        factory = _LimitedSandbox if self.sandboxed else jinja2.Environment
        env = factory(
            loader=self._loader,
            finalize=_plain_only if self.sandboxed else None,
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
        tzinfo = self.tzinfo

        # The filters format for the render's formatting locale (en_GB, de_AT, zh_Hant_TW),
        # set by render(); the catalog's locale when used outside a render.
        def money(value: Any) -> str:
            amount, currency = _money_parts(value)
            locale = _formatting.get() or catalog_locale
            return babel.numbers.format_currency(amount, currency, locale=locale)

        def as_date(value: Any, format: str = "long") -> str:
            if isinstance(value, str):
                value = date.fromisoformat(value[:10])
            locale = _formatting.get() or catalog_locale
            return babel.dates.format_date(value, format, locale=locale)

        def as_datetime(value: Any, format: str = "medium") -> str:
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            locale = _formatting.get() or catalog_locale
            return babel.dates.format_datetime(value, format, tzinfo=tzinfo, locale=locale)

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
            # Plain data only: no lipsum (unbounded text), cycler or joiner (objects), a range
            # that watches the clock, and callables that print as their names.
            for name in ("lipsum", "cycler", "joiner"):
                env.globals.pop(name, None)
            env.globals["range"] = _TimedRange
            for name, value in list(env.globals.items()):
                if callable(value):
                    env.globals[name] = _Global(name, value)
            env.filters["string"] = _safe_string
            env.filters.update(_capped_filters(env.filters, self.max_output_bytes))
            env.max_value_size = self.max_output_bytes  # type: ignore[attr-defined]
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
        try:
            subject_name = f"{kind}.subject.txt"
            subject = self._render(env, subject_name, context).strip(" \t")
            if any(ch in _LINE_BREAKS for ch in subject):
                raise UnsafeSubject(subject_name)
            text = self._render(env, f"{kind}.txt", context)
            html = self._render(env, f"{kind}.html", context)
        finally:
            _formatting.reset(token)
        if self.tracking is not None and message_id is not None:
            html = self.tracking.apply(html, message_id)
        return RenderedReceipt(subject=subject, text=text, html=html)

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
        deadline = time.monotonic() + self.max_render_seconds
        token = _deadline.set((deadline, name))
        try:
            parts: list[str] = []
            chars = 0
            for chunk in template.generate(context):
                chars += len(chunk)
                # A character is at least one UTF-8 byte: more characters than the cap is
                # already too much; the exact byte count is taken once, at the end.
                if chars > self.max_output_bytes:
                    raise RenderLimitExceeded(
                        name, f"output exceeds max_output_bytes ({self.max_output_bytes})"
                    )
                if time.monotonic() > deadline:
                    raise RenderLimitExceeded(
                        name, f"rendering took longer than {self.max_render_seconds} s"
                    )
                parts.append(chunk)
        finally:
            _deadline.reset(token)
        output = "".join(parts)
        if len(output.encode("utf-8")) > self.max_output_bytes:
            raise RenderLimitExceeded(
                name, f"output exceeds max_output_bytes ({self.max_output_bytes})"
            )
        # The last line of defence: whatever path turned an object into text, its repr
        # does not reach a customer.
        for marker in _INTERNALS:
            if marker in output:
                raise SandboxViolation(name, "the output would show Python internals")
        return output
