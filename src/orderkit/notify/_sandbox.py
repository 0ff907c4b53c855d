"""The sandbox for merchant-edited templates (used by :mod:`orderkit.notify.render`).

jinja2's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` keeps templates away from
object internals and stops them mutating their data. This module adds what a shop needs on
top: templates print data only, never objects; callables print as their names; a render has
a deadline that every loop step and call checks; and operations that could build a huge
value (``*``, ``**``, ``%``, ``+``, ``~``, ``str.format`` widths, the string methods and
filters that grow text) are refused *before* they run, because the output cap only sees
text once it exists.

"Data only" holds wherever a value becomes text, not only at ``{{ }}``: ``%`` and
``|format``, ``str.format``, ``~``, gettext's variables and the filters that stringify their
input (``|string``, ``|e``, ``|join``, ``|pprint`` ...) all refuse an object, and look
inside lists and dicts, so neither ``'%r' % self`` nor a list holding jinja2's undefined
(``receipt.lines|map(attribute='x')|list``) prints a Python representation.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import string
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat

from orderkit.errors import RenderLimitExceeded, SandboxViolation

__all__ = ["LimitedSandbox", "check_output", "harden", "plain_only", "printable", "time_limit"]

# The deadline and template name of the sandboxed render running in this thread (or task).
_deadline: contextvars.ContextVar[tuple[float, str]] = contextvars.ContextVar(
    "deadline", default=(0.0, "")
)
_BINOP_LIMIT_ITEMS = 100_000


def _check_deadline() -> None:
    limit, template = _deadline.get()
    if limit and time.monotonic() > limit:
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


class LimitedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The immutable sandbox, also checking the deadline on every call and refusing values
    too big to ever fit in a receipt: from ``*``, ``**``, ``%``, ``~``, ``str.format`` and
    the filters that can multiply text."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
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
        if operator == "%" and isinstance(left, str):
            _check_percent_format(left)
            printable(right)
        if operator == "+" and isinstance(left, (str, list, tuple)):
            _check_size(len(left) + _length(right), self.max_value_size)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_brace_format(value.__self__)
        format_ = wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            printable(args)
            printable(kwargs)
            return format_(*args, **kwargs)

        return checked

    def call(
        __self,  # jinja2's own signature: no keyword argument of the call can clash
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _check_deadline()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args and not isinstance(args[0], (list, tuple)):
                args = (list(args[0]), *args[1:])  # measured before it is joined
            printable(args)  # ''.join([self]) would print the object
            printable(kwargs)
            check = _STR_METHOD_SIZES.get(name)
            if check is not None:
                _check_size(check(owner, args, kwargs), __self.max_value_size)
        return super().call(__context, __obj, *args, **kwargs)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then make every ``{% for %}`` loop check the render deadline at each step
        (a nested loop over long strings prints nothing until it ends)."""
        tree = super()._parse(source, name, filename)
        for concat in tree.find_all(nodes.Concat):  # ``a ~ b`` prints both: data only
            concat.nodes = [_call("printable", node) for node in concat.nodes]
        for loop in tree.find_all(nodes.For):
            loop.iter = _call("timed", loop.iter)
        return tree

    @staticmethod
    def printable(value: Any) -> Any:
        return printable(value)

    @staticmethod
    def timed(iterable: Any) -> Iterator[Any]:
        for item in iterable:
            _check_deadline()
            yield item


def _call(method: str, node: nodes.Node) -> nodes.Call:
    """A call of one of the environment's own methods on ``node``, for the compiled template."""
    lineno = node.lineno
    return nodes.Call(
        nodes.EnvironmentAttribute(method, lineno=lineno), [node], [], None, None, lineno=lineno
    )


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _width(args: tuple[Any, ...], kwargs: Mapping[str, Any], key: str) -> int:
    value = args[0] if args else kwargs.get(key, 0)
    return value if isinstance(value, int) else 0


def _text_size(args: tuple[Any, ...], kwargs: Mapping[str, Any], position: int, key: str) -> int:
    value = args[position] if len(args) > position else kwargs.get(key, "")
    return len(value) if isinstance(value, str) else 0


# The size each str method that can grow text would produce, checked before it runs.
_STR_METHOD_SIZES: dict[str, Callable[[str, tuple[Any, ...], Mapping[str, Any]], int]] = {
    "ljust": lambda s, a, k: max(len(s), _width(a, k, "width")),
    "rjust": lambda s, a, k: max(len(s), _width(a, k, "width")),
    "center": lambda s, a, k: max(len(s), _width(a, k, "width")),
    "zfill": lambda s, a, k: max(len(s), _width(a, k, "width")),
    "expandtabs": lambda s, a, k: len(s) + s.count("\t") * max(_width(a, k, "tabsize"), 8),
    "replace": lambda s, a, k: (
        len(s)
        + (s.count(a[0]) if a and isinstance(a[0], str) and a[0] else len(s) + 1)
        * _text_size(a, k, 1, "new")
    ),
    "join": lambda s, a, k: (
        sum(len(str(i)) + len(s) for i in a[0]) if a and isinstance(a[0], (list, tuple)) else 0
    ),
}


class _Global:
    """A callable global of a sandboxed template that prints as its name, never as a Python
    repr (which would show module and function names)."""

    def __init__(self, name: str, function: Callable[..., Any]) -> None:
        self._name = name
        self._function = function
        # gettext wants the render context: keep jinja2's marker (None for other globals).
        self.jinja_pass_arg = getattr(function, "jinja_pass_arg", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for arg in args:  # gettext formats its message with %: same limits as the operator
            _check_percent_format(arg)
        if self.jinja_pass_arg is not None:  # gettext: its variables are printed with %
            printable(args[1:])
            printable(kwargs)
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return self._name

    __str__ = __repr__


_SCALARS = (str, int, float, Decimal, type(None))

# What Python prints for objects that are not data: never in a merchant template's output.
INTERNALS = (
    "<function ",
    "<class '",
    "<module '",
    "<built-in ",
    "<bound method ",
    " object at 0x",
    "<TemplateReference ",
    "<TemplateModule ",
    "<Macro ",
    "<Namespace ",
    "<LoopContext ",
)
# Any other default repr: "<generator object do_batch at 0x7f..>", "<list_reverseiterator ..".
_DEFAULT_REPR = re.compile(r"<[^<>\n]* at 0x[0-9a-fA-F]+>")


def printable(value: Any) -> Any:
    """``value`` if it prints as data: text, a number, ``None``, or lists, tuples and dicts
    of those. Anything else would print as its Python representation (``'%r' % self``
    shows the template reference, ``[receipt.x]`` jinja2's undefined), so it is refused.

    Raises:
        SecurityError: ``value`` is, or holds, an object or an undefined value.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            printable(item)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            printable(key)
            printable(item)
        return value
    if isinstance(value, jinja2.Undefined):
        raise SecurityError(
            "a template may not print a value the receipt does not have (jinja2's undefined);"
            " check it with 'is defined' or give a |default"
        )
    raise SecurityError(
        f"a template may print text, numbers and the receipt's data, not a {type(value).__name__}"
    )


def plain_only(value: Any) -> Any:
    """``finalize`` of sandboxed templates: ``{{ }}`` prints data, never an object. An
    undefined value is left to :class:`jinja2.StrictUndefined`, which names it."""
    if isinstance(value, jinja2.Undefined):
        return value
    return printable(value)


def _safe_string(value: Any) -> str:
    """The ``string`` filter of sandboxed templates: refuses to stringify objects."""
    return str(printable(value))


# Builtin filters that turn their input or arguments into text (``str()``, ``repr()`` or
# ``markupsafe.escape``): given an object, each would print its representation.
_TEXT_FILTERS = (
    "capitalize",
    "center",
    "e",
    "escape",
    "forceescape",
    "format",
    "indent",
    "join",
    "lower",
    "pprint",
    "replace",
    "safe",
    "striptags",
    "title",
    "trim",
    "truncate",
    "upper",
    "urlencode",
    "urlize",
    "wordcount",
    "wordwrap",
    "xmlattr",
)


def _listed(value: Any) -> Any:
    """A generator (``|map``, ``|select``) read into a list, so its items can be checked."""
    return list(value) if isinstance(value, Iterator) else value


def _printable_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Any]:
    """The text filters, refusing an input or argument that is not plain data."""

    def checked(original: Callable[..., Any]) -> Callable[..., Any]:
        # A filter marked with jinja_pass_arg takes the context or environment first.
        skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

        @functools.wraps(original)  # keeps jinja_pass_arg
        def check(*args: Any, **kwargs: Any) -> Any:
            values = [_listed(arg) for arg in args[skip:]]
            options = {key: _listed(value) for key, value in kwargs.items()}
            printable(values)
            printable(options)
            return original(*args[:skip], *values, **options)

        return check

    return {name: checked(filters[name]) for name in _TEXT_FILTERS if name in filters}


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


def harden(env: jinja2.Environment, max_output_bytes: int) -> None:
    """Finish a :class:`LimitedSandbox` once its gettext functions are installed: plain data
    only, no lipsum (unbounded text), cycler or joiner (objects), a ``range`` that watches
    the clock, callables that print as their names, filters that cannot multiply text."""
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals["range"] = _TimedRange
    for name, value in list(env.globals.items()):
        if callable(value):
            env.globals[name] = _Global(name, value)
    env.filters["string"] = _safe_string
    env.filters.update(_capped_filters(env.filters, max_output_bytes))
    env.filters.update(_printable_filters(env.filters))
    env.max_value_size = max_output_bytes  # type: ignore[attr-defined]


@contextlib.contextmanager
def time_limit(template: str, seconds: float) -> Iterator[float]:
    """Run a sandboxed render under a deadline; yields the deadline (``time.monotonic()``)."""
    limit = time.monotonic() + seconds
    token = _deadline.set((limit, template))
    try:
        yield limit
    finally:
        _deadline.reset(token)


def check_output(template: str, output: str) -> None:
    """The last line of defence: whatever path turned an object into text, its repr does
    not reach a customer.

    Raises:
        SandboxViolation: ``output`` shows a Python repr.
    """
    if any(marker in output for marker in INTERNALS) or _DEFAULT_REPR.search(output):
        raise SandboxViolation(template, "the output would show Python internals")
