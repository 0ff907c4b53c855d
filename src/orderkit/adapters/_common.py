"""Helpers every storage adapter shares: query paging and argument checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orderkit.clock import require_utc
from orderkit.domain.checks import is_whole, require_whole
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.errors import (
    InvalidStockAdjustment,
    LeaseLost,
    OutOfStock,
    UnknownSku,
    ValidationError,
)
from orderkit.notify.outbox import OutboxEntry, OutboxQuery, OutboxStatus
from orderkit.ports import MAX_PAGE, OrderQuery
from orderkit.serialization import dumps


def check_limit(limit: int) -> None:
    if not is_whole(limit):
        raise ValidationError("limit", "must be a whole number")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """Decode a cursor from :func:`encode_cursor` into ``(created_at, id)``."""
    if cursor is None:
        return None
    at, sep, ident = cursor.partition("|")
    try:
        if not sep or not ident:
            raise ValueError(cursor)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:  # every cursor we hand out carries its UTC offset
            raise ValueError(cursor)
        return moment, ident
    except ValueError:
        raise ValidationError(
            "cursor", "not a cursor from a previous page; pass Page.next_cursor unchanged"
        ) from None


def check_aware(**moments: datetime | None) -> None:
    """Refuse a naive datetime (ValidationError naming it); None is allowed.

    Backends would read a naive time differently (local time, UTC, or a TypeError), so none
    of them is given one.
    """
    for field, moment in moments.items():
        if moment is not None:
            require_utc(field, moment)


def check_query(query: OrderQuery) -> tuple[datetime, str] | None:
    """Validate a query's limit and time bounds; decode its cursor into
    ``(created_at, order_id)``."""
    check_limit(query.limit)
    check_aware(placed_from=query.placed_from, placed_to=query.placed_to)
    return decode_cursor(query.cursor)


def check_outbox_query(query: OutboxQuery) -> tuple[datetime, str] | None:
    """Validate an outbox query; decode its cursor into ``(created_at, entry_id)``."""
    check_limit(query.limit)
    check_aware(created_from=query.created_from, created_to=query.created_to)
    if query.status is not None and query.status not in OutboxStatus.ALL:
        raise ValidationError("status", f"must be one of {', '.join(OutboxStatus.ALL)}")
    return decode_cursor(query.cursor)


_ENTRY_TEXT_FIELDS = ("entry_id", "kind", "channel", "recipient", "locale", "dedup_key")


def _check_entry_fields(i: int, entry: OutboxEntry) -> None:
    """Refuse fields of the wrong type, so every backend refuses the same entry the same way
    (rather than a NOT NULL failure on one, a bad timestamp on another, nothing on a third)."""
    for name in _ENTRY_TEXT_FIELDS:
        if not isinstance(getattr(entry, name), str):
            raise ValidationError(f"entries[{i}].{name}", "must be a str")
    if entry.order_id is not None and not isinstance(entry.order_id, str):
        raise ValidationError(f"entries[{i}].order_id", "must be a str or None")
    if not isinstance(entry.last_error, str):
        raise ValidationError(f"entries[{i}].last_error", "must be a str")
    require_utc(f"entries[{i}].created_at", entry.created_at)
    require_utc(f"entries[{i}].next_attempt_at", entry.next_attempt_at)
    check_aware(**{f"entries[{i}].sent_at": entry.sent_at})


def check_new_entries(entries: Sequence[OutboxEntry]) -> list[str]:
    """Check entries about to be added; return each payload as JSON text."""
    texts = []
    for i, entry in enumerate(entries):
        _check_entry_fields(i, entry)
        if entry.status != OutboxStatus.QUEUED or entry.attempts != 0:
            raise ValidationError(
                f"entries[{i}]", "a new outbox entry must be queued with no attempts"
            )
        try:
            texts.append(dumps(entry.payload))
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"entries[{i}].payload",
                f"must be JSON-ready (dicts, lists, strings, numbers, bools, None): {exc}",
            ) from None
    return texts


def check_claim(now: datetime, limit: int, lease_until: datetime) -> None:
    check_limit(limit)
    check_aware(now=now, lease_until=lease_until)
    if lease_until <= now:
        raise ValidationError("lease_until", "must be after now, or the claim ends at once")


def check_held(entry: OutboxEntry, attempt: int) -> None:
    """Raise :class:`LeaseLost` unless ``entry`` is being sent by claim ``attempt``."""
    if entry.status != OutboxStatus.SENDING or entry.attempts != attempt:
        raise LeaseLost(entry.entry_id, attempt, entry.status, entry.attempts)


def encode_cursor(created_at: datetime, order_id: str) -> str:
    return f"{created_at.isoformat()}|{order_id}"


def check_movements(items: Sequence[StockMovement]) -> None:
    for i, item in enumerate(items):
        require_whole(f"items[{i}].quantity", item.quantity)


def shortage(item: StockMovement, level: StockLevel | None) -> OutOfStock:
    """The error for a reservation ``level`` cannot cover: :class:`UnknownSku` when there is
    no stock record at all (a mistyped or never received SKU), else :class:`OutOfStock`."""
    if level is None:
        return UnknownSku(item.sku, item.location, item.quantity)
    return OutOfStock(item.sku, item.location, item.quantity, level.available)


def over_release(order_id: str, item: StockMovement, held: int, verb: str) -> ValidationError:
    return ValidationError(
        "items",
        f"cannot {verb} {item.quantity} of {item.sku}@{item.location} for order {order_id}: "
        f"it holds {held}",
    )


def adjustment_error(
    sku: str, location: str, on_hand: int, reserved: int, delta: int
) -> InvalidStockAdjustment:
    return InvalidStockAdjustment(
        "delta",
        f"{sku}@{location} has {on_hand} on hand with {reserved} reserved; adjusting by "
        f"{delta} would leave {on_hand + delta}. Release or ship reservations first",
    )
