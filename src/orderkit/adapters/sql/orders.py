"""Orders in SQL: one JSON document per order, with the columns queries filter on."""

from __future__ import annotations

from orderkit.adapters.kit import decode_cursor, encode_cursor
from orderkit.adapters.sql.base import Repo, Where, marks
from orderkit.domain.order import Order
from orderkit.errors import ConcurrencyConflict
from orderkit.ports import OrderQuery, Page
from orderkit.serialization import order_from_json, order_to_json


class SqlOrders(Repo):
    def _write_tags(self, order: Order, *, replace: bool) -> None:
        u = self._uow
        if replace:  # a new order has no tag rows yet: a statement fewer for each placement
            u.execute("DELETE FROM orderkit_order_tags WHERE order_id = ?", (order.id,), write=True)
        u.executemany(
            "INSERT INTO orderkit_order_tags (order_id, tag, created_at) VALUES (?, ?, ?)",
            [(order.id, tag, u.t(order.created_at)) for tag in order.tags],
        )

    def _write_shipments(self, order: Order) -> None:
        # Shipments are only ever added and keep their tracking number, so inserting the
        # missing rows keeps the index in step.
        u = self._uow
        for shipment in order.shipments:
            if shipment.tracking_number:
                u.execute(
                    "INSERT INTO orderkit_shipments (carrier, tracking_number, order_id) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (shipment.carrier, shipment.tracking_number, order.id),
                    write=True,
                )

    def _insert(self, order: Order) -> None:
        u = self._uow
        u.execute(
            "INSERT INTO orderkit_orders (id, number, customer_id, status, channel, group_key, "
            "created_at, updated_at, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.id,
                order.number,
                order.customer.id,
                order.status,
                order.channel,
                order.group,
                u.t(order.created_at),
                u.t(order.updated_at),
                order.version,
                order_to_json(order),
            ),
            write=True,
        )
        self._write_tags(order, replace=False)
        self._write_shipments(order)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        suffix = self._uow._dialect.for_update if for_update else ""
        row = self._uow.execute(
            f"SELECT data FROM orderkit_orders WHERE id = ?{suffix}", (order_id,)
        ).fetchone()
        return None if row is None else order_from_json(row[0])

    def save(self, order: Order) -> None:
        if order.version == 1:
            self._insert(order)
            return
        u = self._uow
        cur = u.execute(
            "UPDATE orderkit_orders SET status = ?, channel = ?, group_key = ?, customer_id = ?, "
            "updated_at = ?, version = ?, data = ? WHERE id = ? AND version = ?",
            (
                order.status,
                order.channel,
                order.group,
                order.customer.id,
                u.t(order.updated_at),
                order.version,
                order_to_json(order),
                order.id,
                order.version - 1,
            ),
            write=True,
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflict(
                f"order {order.id} changed since it was read (expected version "
                f"{order.version - 1}); run the command again"
            )
        self._write_tags(order, replace=True)
        self._write_shipments(order)

    def find(self, query: OrderQuery) -> Page:
        u = self._uow
        after = decode_cursor(query.cursor)
        where = Where(u)
        where.equal("o.number", query.number)
        where.equal("o.customer_id", query.customer_id)
        where.any_of("o.status", query.status)
        where.any_of("o.channel", query.channel)
        where.equal("o.group_key", query.group)
        if query.tag is not None:
            tags = sorted(query.tag)
            where.add(
                "EXISTS (SELECT 1 FROM orderkit_order_tags t "
                f"WHERE t.order_id = o.id AND t.tag IN ({marks(tags)}))",
                *tags,
            )
        if query.carrier is not None:
            # IN, not EXISTS: the planner starts from the shipments index, not every order.
            where.add(
                "o.id IN (SELECT s.order_id FROM orderkit_shipments s "
                "WHERE s.carrier = ? AND s.tracking_number = ?)",
                query.carrier,
                query.tracking_number,
            )
        where.window("o.created_at", query.placed_from, query.placed_to)
        total = where.count("orderkit_orders o") if query.with_total else None
        rows, more = where.page(
            "SELECT o.data FROM orderkit_orders o",
            ("o.created_at", "o.id"),
            after,
            query.limit,
            newest_first=True,
        )
        items = tuple(order_from_json(r[0]) for r in rows)
        cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
        return Page(items, cursor, total)
