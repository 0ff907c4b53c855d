"""The rows of a status machine's table, and the checks a table passes before a machine is
built from it (every problem found at once, so a host sees them together)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import attrs

__all__ = ["Transition", "definition_problems", "names"]


def names(value: Iterable[str], what: str) -> tuple[str, ...]:
    """``value`` as a tuple of names; a bare string is refused."""
    # A bare string is an iterable of one-letter names; that is always a mistake here.
    if isinstance(value, str):
        raise TypeError(f"{what} must be an iterable of names, not the string {value!r}")
    return tuple(value)


def _guard_names(value: Iterable[str]) -> tuple[str, ...]:
    return names(value, "Transition guards")


@attrs.frozen
class Transition:
    """One row of the table: ``event`` moves a subject from ``source`` to ``target``.

    Args:
        source: The state the transition leaves.
        event: The event that triggers it; unique per source within a machine.
        target: The state the transition enters.
        guards: Names of guards (keys of the machine's ``guards``) checked in this order
            before the transition may go ahead. Any iterable of names; stored as a tuple.
    """

    source: str = attrs.field(validator=attrs.validators.instance_of(str))
    event: str = attrs.field(validator=attrs.validators.instance_of(str))
    target: str = attrs.field(validator=attrs.validators.instance_of(str))
    guards: tuple[str, ...] = attrs.field(default=(), converter=_guard_names)

    def __str__(self) -> str:
        return f"{self.source!r} --{self.event}--> {self.target!r}"


def definition_problems(
    states: tuple[str, ...],
    initial: str,
    final: frozenset[str],
    transitions: tuple[Transition, ...],
    guards: Mapping[str, object],
    labels: Mapping[str, str],
) -> list[str]:
    """Every problem with a machine definition, in a stable order; empty when it is valid."""
    problems: list[str] = []
    declared: set[str] = set()
    duplicated: set[str] = set()
    for index, state in enumerate(states):
        if not state:
            problems.append(f"state #{index} has an empty name")
        elif state not in declared:
            declared.add(state)
        elif state not in duplicated:
            duplicated.add(state)
            problems.append(f"state {state!r} is declared more than once")

    if initial not in declared:
        problems.append(f"initial state {initial!r} is not a declared state")
    final_declared = [state for state in states if state in final and state in declared]
    problems.extend(
        f"final state {state!r} is not a declared state" for state in sorted(final - declared)
    )
    if not final:
        problems.append("no final state: declare at least one state where the lifecycle may rest")

    for name, guard in guards.items():
        if not callable(guard):
            problems.append(f"guard {name!r} is not callable: {guard!r}")

    first_by_key: dict[tuple[str, str], Transition] = {}
    edges: dict[str, list[str]] = {state: [] for state in declared}
    for t in transitions:
        if t.source not in declared:
            problems.append(f"transition {t}: source state {t.source!r} is not declared")
        if t.target not in declared:
            problems.append(f"transition {t}: target state {t.target!r} is not declared")
        if not t.event:
            problems.append(f"transition {t}: the event name is empty")
        problems.extend(
            f"transition {t}: guard {guard!r} is not defined"
            for guard in t.guards
            if guard not in guards
        )
        first = first_by_key.setdefault((t.source, t.event), t)
        if first is not t:
            problems.append(
                f"two transitions for event {t.event!r} from {t.source!r} "
                f"(to {first.target!r} and to {t.target!r}); "
                "each (state, event) may have only one"
            )
        if t.source in declared and t.target in declared:
            edges[t.source].append(t.target)

    problems.extend(
        f"label {label!r} is for undeclared state {state!r}"
        for state, label in labels.items()
        if state not in declared
    )

    if initial in declared:
        reachable = _closure({initial}, edges)
        problems.extend(
            f"state {state!r} is not reachable from initial state {initial!r}"
            for state in states
            if state in declared and state not in reachable
        )
    if final_declared:
        reverse: dict[str, list[str]] = {state: [] for state in declared}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].append(source)
        can_finish = _closure(set(final_declared), reverse)
        problems.extend(
            f"state {state!r} is a dead end: no final state "
            f"({', '.join(final_declared)}) can be reached from it"
            for state in states
            if state in declared and state not in can_finish
        )
    return problems


def _closure(start: set[str], edges: Mapping[str, list[str]]) -> set[str]:
    """Every state reachable from ``start`` along ``edges``, including ``start``."""
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
