"""What a storage adapter author needs beyond the ports: paging cursors and the exact errors.

The shipped adapters (memory, SQLite, PostgreSQL) are built from these and nothing private;
a host writing its own adapter uses the same names, so it raises what the port contract
(:mod:`orderkit.testing.storage`) demands. Input checks are not here: queries check
themselves when they are made, and the service checks every value before it reaches a port,
so an adapter trusts what it is handed.
"""

from __future__ import annotations

from datetime import datetime

from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.errors import (
    LeaseLost,
    OutboxEntryNotFound,
    OutOfStock,
    UnknownSku,
    ValidationError,
)
from orderkit.notify.outbox import OutboxEntry

__all__ = [
    "decode_cursor",
    "encode_cursor",
    "outbox_update_refused",
    "over_release",
    "shortage",
]


def encode_cursor(created_at: datetime, item_id: str) -> str:
    """The ``next_cursor`` of a page whose last item was created at ``created_at`` with id
    ``item_id``; pages are ordered by (time, id) and resume strictly after the cursor."""
    return f"{created_at.isoformat()}|{item_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A cursor from :func:`encode_cursor` as ``(created_at, id)``; None for None.

    Raises:
        ValidationError: ``field`` is ``cursor``: not one a previous page handed out.
    """
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


def shortage(item: StockMovement, level: StockLevel | None) -> OutOfStock:
    """The error for a reservation ``level`` cannot cover: :class:`UnknownSku` when there is
    no stock record at all (a mistyped or never received SKU), else :class:`OutOfStock`."""
    if level is None:
        return UnknownSku(item.sku, item.location, item.quantity)
    return OutOfStock(item.sku, item.location, item.quantity, level.available)


def over_release(order_id: str, item: StockMovement, held: int, verb: str) -> ValidationError:
    """The error for releasing (``verb`` ``"release"``) or shipping (``"ship"``) more of an
    item than the order holds (``held``)."""
    return ValidationError(
        "items",
        f"cannot {verb} {item.quantity} of {item.sku}@{item.location} for order {order_id}: "
        f"it holds {held}",
    )


def outbox_update_refused(
    entry_id: str, stored: OutboxEntry | None, expected: OutboxEntry
) -> OutboxEntryNotFound | LeaseLost:
    """The error for an ``outbox.update`` whose compare-and-set did not match: the entry is
    gone (``stored`` is None), or its status or attempts moved on since ``expected``."""
    if stored is None:
        return OutboxEntryNotFound(entry_id)
    return LeaseLost(entry_id, expected.attempts, stored.status, stored.attempts)
