"""orderkit: the order side of a shop, as a library.

Orders and line items, money that never loses a cent, inventory that cannot be oversold, a
validated order-status machine, and ports for the storage the host plugs in.

>>> from orderkit import Money
>>> Money("19.99", "USD") * 3
Money('59.97', 'USD')
"""

from orderkit.clock import FixedClock, SequentialIds, SystemClock, UlidGenerator
from orderkit.edits import EditPolicy
from orderkit.errors import (
    ConcurrencyConflict,
    CurrencyMismatch,
    EditError,
    EditNotAllowed,
    EditNotFound,
    GuardRefused,
    IdempotencyConflict,
    InvalidStockAdjustment,
    InvalidTransition,
    MachineDefinitionError,
    NotFound,
    OrderkitError,
    OrderNotFound,
    OutOfStock,
    Overpayment,
    PaymentError,
    RefundExceedsPayment,
    SchemaVersionError,
    SelfApproval,
    StorageError,
    TransientStorageError,
    UnknownCurrency,
    ValidationError,
)
from orderkit.events import RecordedEvent, StockMovement
from orderkit.inventory import ReservationPolicy, StockLevel
from orderkit.lifecycle import OrderEvent, OrderStatus, default_order_machine
from orderkit.money import Money
from orderkit.order import (
    AddLine,
    Address,
    Adjustment,
    AdjustmentKind,
    ChangeAddress,
    ChangePrice,
    ChangeQuantity,
    Channel,
    Customer,
    EditRequest,
    LineDraft,
    LineItem,
    Order,
    OrderDraft,
    OrderTotals,
    Payment,
    Refund,
    RemoveLine,
    Shipment,
)
from orderkit.ports import OrderQuery, Page, Storage, UnitOfWork
from orderkit.service import OrderNumbering, OrderService
from orderkit.status import StatusMachine, Transition

__all__ = [
    "AddLine",
    "Address",
    "Adjustment",
    "AdjustmentKind",
    "ChangeAddress",
    "ChangePrice",
    "ChangeQuantity",
    "Channel",
    "ConcurrencyConflict",
    "CurrencyMismatch",
    "Customer",
    "EditError",
    "EditNotAllowed",
    "EditNotFound",
    "EditPolicy",
    "EditRequest",
    "FixedClock",
    "GuardRefused",
    "IdempotencyConflict",
    "InvalidStockAdjustment",
    "InvalidTransition",
    "LineDraft",
    "LineItem",
    "MachineDefinitionError",
    "Money",
    "NotFound",
    "Order",
    "OrderDraft",
    "OrderEvent",
    "OrderNotFound",
    "OrderNumbering",
    "OrderQuery",
    "OrderService",
    "OrderStatus",
    "OrderTotals",
    "OrderkitError",
    "OutOfStock",
    "Overpayment",
    "Page",
    "Payment",
    "PaymentError",
    "RecordedEvent",
    "Refund",
    "RefundExceedsPayment",
    "RemoveLine",
    "ReservationPolicy",
    "SchemaVersionError",
    "SelfApproval",
    "SequentialIds",
    "Shipment",
    "StatusMachine",
    "StockLevel",
    "StockMovement",
    "Storage",
    "StorageError",
    "SystemClock",
    "TransientStorageError",
    "Transition",
    "UlidGenerator",
    "UnitOfWork",
    "UnknownCurrency",
    "ValidationError",
    "default_order_machine",
]
