"""The service-behaviour suite: what :class:`~orderkit.service.OrderService` does over any
storage, the way a shop uses it (a command that raises must have changed nothing).

Subclass :class:`ServiceContract` in a test module (its name must start with ``Test``) and
provide one fixture, ``make_storage``: a zero-argument callable returning a fresh, empty
storage each time. Together with the port contract (:mod:`orderkit.testing.storage`) it is
what orderkit runs against memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

from orderkit.testing.service.base import ServiceFixtures
from orderkit.testing.service.closing import ClosingBehaviour
from orderkit.testing.service.editing import EditingBehaviour
from orderkit.testing.service.ordering import OrderingBehaviour
from orderkit.testing.service.queries import QueryBehaviour
from orderkit.testing.service.stock import StockBehaviour

__all__ = [
    "ClosingBehaviour",
    "EditingBehaviour",
    "OrderingBehaviour",
    "QueryBehaviour",
    "ServiceContract",
    "ServiceFixtures",
    "StockBehaviour",
]


class ServiceContract(
    OrderingBehaviour, ClosingBehaviour, EditingBehaviour, QueryBehaviour, StockBehaviour
):
    """Every service behaviour over one storage; subclass it and provide ``make_storage``."""
