"""Inventory: stock levels per SKU and location, and the rules around them.

``available = on_hand - reserved``. Placing an order reserves (or paying does, by policy),
shipping commits (on hand and reserved both drop), cancelling or expiring releases. The
storage adapters enforce ``0 <= reserved <= on_hand`` atomically, which is what makes
overselling impossible even with many writers on one SKU.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import attrs

from orderkit.domain.evolve import evolve
from orderkit.domain.order import LineItem, Order
from orderkit.errors import InvalidStockAdjustment

__all__ = [
    "ReservationPolicy",
    "StockLevel",
    "StockMovement",
    "adjusted",
    "aggregate",
    "became_low",
    "integrity_problems",
    "line_movements",
    "received",
    "unshipped",
    "with_threshold",
]


class ReservationPolicy(str, Enum):
    """When an order's stock is reserved."""

    AT_PLACEMENT = "at_placement"
    AT_PAYMENT = "at_payment"


@attrs.frozen
class StockMovement:
    """A quantity of one SKU at one location, as reserved, released or committed."""

    sku: str
    location: str
    quantity: int


@attrs.frozen
class StockLevel:
    sku: str
    location: str
    on_hand: int
    reserved: int
    low_stock_threshold: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_low(self) -> bool:
        return self.available < self.low_stock_threshold


def _or_empty(level: StockLevel | None, sku: str, location: str) -> StockLevel:
    return level if level is not None else StockLevel(sku, location, 0, 0)


def received(level: StockLevel | None, sku: str, location: str, quantity: int) -> StockLevel:
    """The level after receiving ``quantity`` (> 0, checked by the caller) of a SKU whose
    level is ``level`` (None when it was never stocked: a new record)."""
    before = _or_empty(level, sku, location)
    return evolve(before, on_hand=before.on_hand + quantity)


def adjusted(level: StockLevel | None, sku: str, location: str, delta: int) -> StockLevel:
    """The level after correcting on hand by ``delta`` (a count, a write-off).

    Raises:
        InvalidStockAdjustment: the SKU has no stock record, or on hand would go below zero
            or below what is reserved.
    """
    before = _or_empty(level, sku, location)
    after = before.on_hand + delta
    if level is None or after < before.reserved or after < 0:
        raise InvalidStockAdjustment(
            "delta",
            f"{sku}@{location} has {before.on_hand} on hand with {before.reserved} reserved; "
            f"adjusting by {delta} would leave {after}. Release or ship reservations first",
        )
    return evolve(before, on_hand=after)


def with_threshold(level: StockLevel | None, sku: str, location: str, threshold: int) -> StockLevel:
    """The level with its low-stock threshold set (a new, empty record if there was none)."""
    return evolve(_or_empty(level, sku, location), low_stock_threshold=threshold)


def became_low(level: StockLevel, available_before: int, threshold_before: int) -> bool:
    """Whether ``level`` is low now but was not before the command (when its available stock
    was ``available_before`` and its threshold ``threshold_before``).

    So a ``LowStock`` event is raised once per crossing: when stock falls below the
    threshold, and when a threshold is raised above what is available, not again while the
    level stays low.
    """
    return level.is_low and not available_before < threshold_before


def aggregate(items: Iterable[StockMovement]) -> tuple[StockMovement, ...]:
    """Merge movements of the same SKU and location and sort them.

    Two lines of one SKU must be checked against stock together, and every adapter takes
    its row locks in this sorted order so that two carts holding the same SKUs in a
    different order cannot deadlock.
    """
    totals: dict[tuple[str, str], int] = {}
    for item in items:
        key = (item.sku, item.location)
        totals[key] = totals.get(key, 0) + item.quantity
    return tuple(
        StockMovement(sku, location, qty) for (sku, location), qty in sorted(totals.items()) if qty
    )


def integrity_problems(
    levels: Iterable[StockLevel], reservations: Iterable[tuple[str, StockMovement]]
) -> list[str]:
    """Compare stock levels with the reservations recorded against orders.

    Returns a list of human-readable problems (empty when consistent): a level outside
    ``0 <= reserved <= on_hand``, or a ``reserved`` count that differs from the sum of the
    reservations recorded for that SKU and location.
    """
    problems: list[str] = []
    held: dict[tuple[str, str], int] = {}
    for order_id, item in reservations:
        if item.quantity <= 0:
            problems.append(f"order {order_id} holds a non-positive reservation of {item.sku}")
        key = (item.sku, item.location)
        held[key] = held.get(key, 0) + item.quantity
    for level in levels:
        key = (level.sku, level.location)
        if level.on_hand < 0 or level.reserved < 0 or level.reserved > level.on_hand:
            problems.append(
                f"{level.sku}@{level.location}: on_hand={level.on_hand} reserved={level.reserved}"
            )
        recorded = held.pop(key, 0)
        if recorded != level.reserved:
            problems.append(
                f"{level.sku}@{level.location}: reserved={level.reserved} but reservations "
                f"sum to {recorded}"
            )
    for (sku, location), qty in held.items():
        problems.append(f"{sku}@{location}: {qty} reserved by orders but no stock record")
    return problems


def line_movements(lines: Iterable[LineItem]) -> tuple[StockMovement, ...]:
    """The stock the lines take: each line's quantity of its SKU at its location."""
    return tuple(StockMovement(line.sku, line.location, line.quantity) for line in lines)


def unshipped(order: Order) -> tuple[StockMovement, ...]:
    """What is left to ship: ordered units less shipped and cancelled ones."""
    return tuple(
        StockMovement(line.sku, line.location, left)
        for line in order.lines
        if (left := order.quantity_unshipped(line.line_id)) > 0
    )
