"""``evolve``: a new version of a frozen value with some fields changed, for the hot path.

It does what :func:`attrs.evolve` does for the values orderkit changes on every command (an
order gets a new status, version, payment or parcel several times per command): unchanged
fields are copied as they are (they were converted and checked when the value was built),
and only the changed fields go through their converters. A class with validators or an
``__attrs_post_init__`` is handed to :func:`attrs.evolve` itself, so nothing is skipped.

>>> import attrs
>>> @attrs.frozen
... class Point:
...     x: int
...     y: int = attrs.field(converter=int)
>>> evolve(Point(1, 2), y="5")
Point(x=1, y=5)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["evolve"]

T = TypeVar("T")

_Plan = tuple[tuple[str, Callable[[Any], Any] | None], ...]
_PLANS: dict[type, _Plan | None] = {}


def _plan(cls: type) -> _Plan | None:
    """Each field's name and converter, or None where only attrs.evolve is exact."""
    fields = attrs.fields(cls)
    simple = (
        getattr(cls, "__attrs_post_init__", None) is None
        and all(f.validator is None and f.init and f.alias == f.name for f in fields)
        # attrs.Converter objects may want the instance or the field: attrs knows how.
        and not any(isinstance(f.converter, attrs.Converter) for f in fields)
        # A cached hash lives in a slot of its own that a copy would leave unset.
        and "_attrs_cached_hash" not in getattr(cls, "__slots__", ())
    )
    plan = tuple((f.name, f.converter) for f in fields) if simple else None
    _PLANS[cls] = plan
    return plan


def evolve(instance: T, **changes: Any) -> T:
    """``instance`` with ``changes``, as :func:`attrs.evolve` would make it.

    Raises:
        TypeError: a name in ``changes`` is not a field of the value.
    """
    cls = type(instance)
    plan = _PLANS[cls] if cls in _PLANS else _plan(cls)
    if plan is None:
        return attrs.evolve(instance, **changes)  # type: ignore[misc]
    new = object.__new__(cls)
    set_ = object.__setattr__
    left = len(changes)
    for name, converter in plan:
        if name in changes:
            value = changes[name]
            set_(new, name, converter(value) if converter is not None else value)
            left -= 1
        else:
            set_(new, name, getattr(instance, name))
    if left:
        unknown = sorted(set(changes) - {name for name, _ in plan})
        raise TypeError(f"{cls.__name__} has no field {', '.join(map(repr, unknown))}")
    return new
