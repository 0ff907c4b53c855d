"""Tags on an order: the one rule that adds or removes one, recording it."""

from __future__ import annotations

from orderkit.domain.decision import Decision
from orderkit.domain.events import TagAdded, TagRemoved
from orderkit.domain.evolve import evolve
from orderkit.domain.order import Order

__all__ = ["tag"]


def tag(order: Order, name: str, *, present: bool) -> Decision[Order]:
    """``order`` with the tag ``name`` present or absent; nothing changes when it already is."""
    if present == (name in order.tags):
        return Decision(order)
    if present:
        return Decision(evolve(order, tags=(*order.tags, name)), (TagAdded(name),))
    kept = tuple(t for t in order.tags if t != name)
    return Decision(evolve(order, tags=kept), (TagRemoved(name),))
