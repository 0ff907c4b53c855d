"""What a rule decides, as a value: the order after a command, and the steps that got it there.

Every command's rule is a pure function of the domain (the order, the request, the time,
the policy) that returns a :class:`Decision`. The service loads the order, asks the rule,
and carries the decision out in one unit of work: it records each event on the order's
stream and moves stock as each stock step says (recording what storage actually moved), in
the order the steps are given, then saves the order and commits. Nothing here touches
storage, so every rule is tested without it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

from orderkit.domain.events import StatusChanged
from orderkit.domain.evolve import evolve
from orderkit.domain.inventory import StockMovement
from orderkit.domain.status import StatusMachine

__all__ = ["Commit", "Decision", "Release", "Reserve", "Step", "fire"]

S = TypeVar("S")


@attrs.frozen
class Reserve:
    """Reserve these units for the order (refused as ``OutOfStock`` when short)."""

    items: tuple[StockMovement, ...]


@attrs.frozen
class Release:
    """Release these reserved units of the order; ``None`` releases all it holds."""

    items: tuple[StockMovement, ...] | None = None


@attrs.frozen
class Commit:
    """Commit these reserved units of the order: they leave the shelf."""

    items: tuple[StockMovement, ...]


Step = Any
"""An event payload to record on the order's stream, or a :class:`Reserve`,
:class:`Release` or :class:`Commit`."""


@attrs.frozen
class Decision(Generic[S]):
    """The order after a rule, and the steps (events and stock moves) that led there."""

    order: S
    steps: tuple[Step, ...] = ()

    def record(self, *steps: Step) -> Decision[S]:
        """This decision with more steps after its own."""
        return Decision(self.order, (*self.steps, *steps))

    def then(self, later: Decision[S]) -> Decision[S]:
        """This decision followed by ``later``, a rule applied to this decision's order."""
        return Decision(later.order, (*self.steps, *later.steps))

    def evolve(self, **changes: Any) -> Decision[S]:
        """This decision with its order changed (``attrs.evolve``), steps kept."""
        return Decision(evolve(self.order, **changes), self.steps)


def fire(machine: StatusMachine[S], status: str, proposed: S, event: str) -> Decision[S]:
    """Move ``proposed`` (the order with the command's changes; guards see them) from
    ``status`` along ``event``, recording the ``StatusChanged``.

    Raises:
        InvalidTransition: ``event`` is not allowed from ``status``.
        GuardRefused: a guard of the transition refused ``proposed``.
    """
    target = machine.fire(proposed, status, event)
    moved = evolve(proposed, status=target)
    return Decision(moved, (StatusChanged(status, target, event),))
