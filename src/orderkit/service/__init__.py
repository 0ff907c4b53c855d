"""The application layer: :class:`OrderService`, one method per command.

The commands live in modules by subject, each a class built on the one runner
(:mod:`orderkit.service.runner`); :class:`OrderService` composes them. No command module
imports another except after-sales, which ships exchanges the way shipping does.
"""

from __future__ import annotations

from orderkit.domain.numbering import OrderNumbering
from orderkit.service.aftersales import AfterSalesCommands
from orderkit.service.orders import OrderCommands
from orderkit.service.payments import PaymentCommands
from orderkit.service.placement import PlacementCommands
from orderkit.service.queries import QueryCommands
from orderkit.service.stock import StockCommands

__all__ = ["OrderNumbering", "OrderService"]


class OrderService(
    PlacementCommands,
    PaymentCommands,
    AfterSalesCommands,
    OrderCommands,
    StockCommands,
    QueryCommands,
):
    """The commands and queries of the order domain.

    Each group of commands is a module of this package, built on
    :class:`~orderkit.service.runner.CommandRunner` (units of work, retries, idempotency,
    queueing notifications): placement, payments, shipping and tracking, after-sales,
    the order's own record (edits, tags, notes), stock, and queries.

    Args:
        storage: a :class:`orderkit.ports.Storage` (memory, SQLite, PostgreSQL, or your own).
        clock: where "now" comes from; UTC system time by default.
        ids: the id generator for orders, payments and shipments; ULIDs by default.
        machine: the order status machine; :func:`default_order_machine` by default.
        numbering: how readable order numbers look.
        reservation_policy: reserve stock when the order is placed (default) or when paid.
        edit_policy: which edits need approval and when edits are allowed.
        max_attempts: how often a command is tried when storage asks for a retry.
        address_checker: checks addresses at placement beyond the basic check (e.g. an
            :class:`~orderkit.adapters.address.AddressValidator`); None runs the basic check only.
        address_review_event: the machine's event that holds an order whose address is
            flagged (e.g. ``flag`` to ``awaiting_review``); ignored when the machine has no
            such transition from the initial state.
        notifier: decides which notifications each command on an order queues in the outbox
            (in the command's own unit of work); none are queued without one.
        stock_notifier: decides which notifications stock events queue (``LowStock`` from
            any command, stock commands included, which have no order to hand ``notifier``).
        return_policy: the shop's after-sales rules (return window, accepted kinds).
        payments: the host's payment provider for paying refunds back; without it, refunds
            need the reference of a refund the host made itself.
    """
