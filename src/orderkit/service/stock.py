"""Stock commands and queries: receiving, adjusting, thresholds, levels, the integrity check."""

from __future__ import annotations

from orderkit.domain.checks import is_whole, require_whole
from orderkit.domain.events import (
    StockAdjusted,
    StockReceived,
    stock_stream,
)
from orderkit.domain.inventory import (
    StockLevel,
    adjusted,
    integrity_problems,
    with_threshold,
)
from orderkit.errors import (
    ValidationError,
)
from orderkit.service.runner import CommandRunner, Transaction

__all__ = ["StockCommands"]


class StockCommands(CommandRunner):
    """Receiving, adjusting and watching stock."""

    def receive_stock(
        self,
        sku: str,
        quantity: int,
        *,
        location: str = "default",
        actor: str = "system",
        reason: str = "",
    ) -> StockLevel:
        """Add received goods to on-hand stock (creating the SKU's record if needed)."""
        require_whole("quantity", quantity)

        def body(tx: Transaction) -> StockLevel:
            level = self._restock(tx, sku, location, quantity)
            tx.record(
                stock_stream(sku, location), StockReceived(sku, location, quantity, level.on_hand)
            )
            self._commit(tx, None)
            return level

        return self._run(actor, reason, body)

    def adjust_stock(
        self, sku: str, delta: int, *, location: str = "default", actor: str, reason: str
    ) -> StockLevel:
        """Correct on-hand stock by ``delta`` (a count, breakage, a write-off).

        Raises:
            InvalidStockAdjustment: on hand would go below zero or below what is reserved.
        """
        if not is_whole(delta) or delta == 0:
            raise ValidationError("delta", "must be a non-zero whole number")
        if not reason:
            raise ValidationError("reason", "say why stock is adjusted")

        def body(tx: Transaction) -> StockLevel:
            _, level = self._put_stock(
                tx, sku, location, lambda stored: adjusted(stored, sku, location, delta)
            )
            tx.record(
                stock_stream(sku, location), StockAdjusted(sku, location, delta, level.on_hand)
            )
            self._maybe_low(tx, level, level.available - delta)
            self._commit(tx, None)
            return level

        return self._run(actor, reason, body)

    def set_low_stock_threshold(
        self, sku: str, threshold: int, *, location: str = "default", actor: str = "system"
    ) -> StockLevel:
        """Raise a ``LowStock`` event whenever available stock drops below ``threshold``.

        A threshold set above what is available raises one at once.
        """
        require_whole("threshold", threshold, at_least=0)

        def body(tx: Transaction) -> StockLevel:
            before, level = self._put_stock(
                tx, sku, location, lambda stored: with_threshold(stored, sku, location, threshold)
            )
            self._maybe_low(tx, level, level.available, before.low_stock_threshold if before else 0)
            self._commit(tx, None)
            return level

        return self._run(actor, "", body)

    def stock(self, sku: str, location: str = "default") -> StockLevel:
        """The stock level of a SKU (all zero when it was never stocked)."""
        with self.storage.reader() as uow:
            found = uow.stock.all(sku=sku, location=location)
        return found[0] if found else StockLevel(sku, location, 0, 0)

    def stock_levels(self) -> list[StockLevel]:
        with self.storage.reader() as uow:
            return uow.stock.all()

    def check_integrity(self) -> list[str]:
        """Problems between stock levels, reservations and orders; empty when consistent."""
        with self.storage.reader() as uow:
            return integrity_problems(uow.stock.all(), uow.stock.reservations())
