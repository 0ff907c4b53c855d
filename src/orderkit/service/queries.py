"""Read-only queries: orders by number, filtered lists, an order's history."""

from __future__ import annotations

from typing import Any

from orderkit.domain.events import (
    RecordedEvent,
    order_stream,
)
from orderkit.domain.order import (
    Order,
)
from orderkit.errors import (
    OrderNotFound,
)
from orderkit.ports import (
    OrderQuery,
    Page,
)
from orderkit.service.runner import CommandRunner

__all__ = ["QueryCommands"]


class QueryCommands(CommandRunner):
    """Reading orders and their history."""

    def get_by_number(self, number: str) -> Order:
        """The order with this readable number (``SO-2026-000123``).

        Raises:
            OrderNotFound: there is none.
        """
        with self.storage.reader() as uow:
            order = next(iter(uow.orders.find(OrderQuery(number=number, limit=1)).items), None)
        if order is None:
            raise OrderNotFound(number)
        return order

    def find(self, query: OrderQuery | None = None, **filters: Any) -> Page:
        """Orders matching a query (or keyword filters of :class:`OrderQuery`), newest first.

        Raises:
            ValidationError: naming the filter: one that does not exist, a value of the wrong
                type, or a status the shop's status machine does not have.
        """
        query = (query or OrderQuery()).refine(**filters)
        query.require_statuses(self.machine.states)
        with self.storage.reader() as uow:
            return uow.orders.find(query)

    def history(self, order_id: str) -> list[RecordedEvent]:
        """The order's event log, oldest first: its modification record."""
        with self.storage.reader() as uow:
            self._load(uow, order_id)
            return uow.events.read(stream=order_stream(order_id), limit=None)
