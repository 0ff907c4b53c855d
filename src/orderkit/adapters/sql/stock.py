"""Stock in SQL: levels and per-order reservations as rows, reserved by conditional UPDATEs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderkit.adapters.kit import over_release, shortage
from orderkit.adapters.sql.base import Repo, Where
from orderkit.domain.inventory import StockLevel, StockMovement
from orderkit.errors import ConcurrencyConflict

_LEVEL_COLUMNS = "sku, location, on_hand, reserved, low_stock_threshold"
_LEVEL = f"SELECT {_LEVEL_COLUMNS} FROM orderkit_stock"
# The reservation itself: the database refuses to oversell, whoever else is reserving.
_RESERVE = (
    "UPDATE orderkit_stock SET reserved = reserved + ? "
    "WHERE sku = ? AND location = ? AND on_hand - reserved >= ?"
)


def _level(row: Any) -> StockLevel:
    return StockLevel(row[0], row[1], row[2], row[3], row[4])


class SqlStock(Repo):
    def all(self, *, sku: str | None = None, location: str | None = None) -> list[StockLevel]:
        where = Where(self._uow)
        where.equal("sku", sku)
        where.equal("location", location)
        sql = f"{_LEVEL}{where.sql()} ORDER BY sku, location"
        return [_level(r) for r in self._uow.execute(sql, where.params).fetchall()]

    def put(self, level: StockLevel, *, expected: StockLevel | None) -> StockLevel:
        u = self._uow
        new = (level.on_hand, level.reserved, level.low_stock_threshold)
        if expected is None:  # a taken key is a ConcurrencyConflict (Dialect.translate)
            u.execute(
                f"INSERT INTO orderkit_stock ({_LEVEL_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (level.sku, level.location, *new),
                write=True,
            )
            return level
        cur = u.execute(
            "UPDATE orderkit_stock SET on_hand = ?, reserved = ?, low_stock_threshold = ? "
            "WHERE sku = ? AND location = ? "
            "AND on_hand = ? AND reserved = ? AND low_stock_threshold = ?",
            (
                *new,
                level.sku,
                level.location,
                expected.on_hand,
                expected.reserved,
                expected.low_stock_threshold,
            ),
            write=True,
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflict(
                f"stock of {level.sku}@{level.location} changed since it was read; "
                "run the command again"
            )
        return level

    def reserve(self, order_id: str, items: Sequence[StockMovement]) -> list[StockLevel]:
        u = self._uow
        levels = []
        for item in items:  # sorted: every writer locks rows in the same order
            params = (item.quantity, item.sku, item.location, item.quantity)
            # RETURNING saves a read after the write: a round trip on a server database.
            row = u.execute(f"{_RESERVE} RETURNING {_LEVEL_COLUMNS}", params, write=True).fetchone()
            if row is None:
                found = self.all(sku=item.sku, location=item.location)
                raise shortage(item, found[0] if found else None)
            u.execute(
                "INSERT INTO orderkit_reservations (order_id, sku, location, quantity) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (order_id, sku, location) "
                "DO UPDATE SET quantity = orderkit_reservations.quantity + excluded.quantity",
                (order_id, item.sku, item.location, item.quantity),
                write=True,
            )
            levels.append(_level(row))
        return levels

    def release(
        self,
        order_id: str,
        items: Sequence[StockMovement] | None = None,
        *,
        shipped: bool = False,
    ) -> tuple[StockMovement, ...]:
        u = self._uow
        held = {(m.sku, m.location): m.quantity for _, m in self.reservations(order_id)}
        if items is None:
            items = tuple(StockMovement(s, loc, q) for (s, loc), q in sorted(held.items()))
        else:
            items = tuple(items)
        for item in items:
            have = held.get((item.sku, item.location), 0)
            if item.quantity > have:
                raise over_release(order_id, item, have, "ship" if shipped else "release")
        shipped_units = 1 if shipped else 0
        for item in items:
            u.execute(
                "UPDATE orderkit_stock SET reserved = reserved - ?, on_hand = on_hand - ? "
                "WHERE sku = ? AND location = ?",
                (item.quantity, item.quantity * shipped_units, item.sku, item.location),
                write=True,
            )
            left = held[(item.sku, item.location)] - item.quantity
            if left:
                u.execute(
                    "UPDATE orderkit_reservations SET quantity = ? "
                    "WHERE order_id = ? AND sku = ? AND location = ?",
                    (left, order_id, item.sku, item.location),
                    write=True,
                )
            else:
                u.execute(
                    "DELETE FROM orderkit_reservations "
                    "WHERE order_id = ? AND sku = ? AND location = ?",
                    (order_id, item.sku, item.location),
                    write=True,
                )
        return tuple(items)

    def reservations(self, order_id: str | None = None) -> list[tuple[str, StockMovement]]:
        select = "SELECT order_id, sku, location, quantity FROM orderkit_reservations"
        order = " ORDER BY order_id, sku, location"
        if order_id is None:
            rows = self._uow.execute(select + order).fetchall()
        else:
            rows = self._uow.execute(f"{select} WHERE order_id = ?{order}", (order_id,)).fetchall()
        return [(r[0], StockMovement(r[1], r[2], r[3])) for r in rows]
