"""The input checks every layer shares, written once."""

from __future__ import annotations

from typing import Any

from orderkit.clock import require_utc
from orderkit.errors import ValidationError

__all__ = ["is_whole", "optional_text", "optional_utc", "require_whole"]


def is_whole(value: object) -> bool:
    """Whether ``value`` is an ``int`` (``True`` and ``False`` are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_whole(field: str, value: object, *, at_least: int = 1) -> int:
    """``value`` if it is a whole number of at least ``at_least``.

    Raises:
        ValidationError: naming ``field``, for a float, a bool, a string or a smaller number.
    """
    if not is_whole(value) or value < at_least:  # type: ignore[operator]
        raise ValidationError(
            field, f"must be a whole number of at least {at_least}, got {value!r}"
        )
    return value  # type: ignore[return-value]


def optional_text(instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: None, or a non-empty string (query filters, cursors)."""
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(attribute.name, f"must be a non-empty string or None, not {value!r}")


def optional_utc(instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: None, or a timezone-aware datetime (a query's time range)."""
    if value is not None:
        require_utc(attribute.name, value)  # type: ignore[arg-type]  # require_utc checks it
