"""Readable order numbers: a prefix, the year and a gapless per-shop counter."""

from __future__ import annotations

import re
from datetime import datetime

import attrs

__all__ = ["OrderNumbering"]


@attrs.frozen
class OrderNumbering:
    """Readable order numbers from a gapless per-shop sequence: ``SO-2026-000123``.

    With ``yearly=True`` the counter restarts each (UTC) year.
    """

    prefix: str = "SO"
    width: int = 6
    yearly: bool = True

    def sequence_name(self, at: datetime) -> str:
        return (
            f"order-number:{self.prefix}:{at.year}"
            if self.yearly
            else f"order-number:{self.prefix}"
        )

    def format(self, value: int, at: datetime) -> str:
        middle = f"-{at.year}" if self.yearly else ""
        return f"{self.prefix}{middle}-{value:0{self.width}d}"

    def looks_like(self, ref: str) -> bool:
        """Whether ``ref`` has the shape of a number this numbering hands out."""
        middle = r"-\d{4}" if self.yearly else ""
        return re.fullmatch(rf"{re.escape(self.prefix)}{middle}-\d+", ref) is not None
