"""Helpers every storage adapter shares: query paging and argument checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orderkit.errors import InvalidStockAdjustment, ValidationError
from orderkit.events import StockMovement
from orderkit.ports import OrderQuery

MAX_PAGE = 1000


def check_query(query: OrderQuery) -> tuple[datetime, str] | None:
    """Validate a query's limit and decode its cursor into ``(created_at, order_id)``."""
    if isinstance(query.limit, bool) or not isinstance(query.limit, int):
        raise ValidationError("limit", "must be a whole number")
    if not 1 <= query.limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}")
    if query.cursor is None:
        return None
    at, sep, order_id = query.cursor.partition("|")
    try:
        if not sep or not order_id:
            raise ValueError(query.cursor)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:  # every cursor we hand out carries its UTC offset
            raise ValueError(query.cursor)
        return moment, order_id
    except ValueError:
        raise ValidationError(
            "cursor", "not a cursor from a previous page; pass Page.next_cursor unchanged"
        ) from None


def encode_cursor(created_at: datetime, order_id: str) -> str:
    return f"{created_at.isoformat()}|{order_id}"


def check_movements(items: Sequence[StockMovement]) -> None:
    for i, item in enumerate(items):
        qty = item.quantity
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise ValidationError(f"items[{i}].quantity", "must be a whole number of at least 1")


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
