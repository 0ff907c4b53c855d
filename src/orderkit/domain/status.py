"""A generic, data-driven status machine: states, events and guarded transitions as a table.

The machine knows nothing about orders. It is a validated table of transitions over plain
string states and events, plus named guards: predicates on a *subject* (an order, a return,
anything) that either let a transition go ahead or refuse it with a reason a person can read.

Everything that can be checked without a subject is checked when the machine is built, and
every problem is reported at once in one :class:`~orderkit.errors.MachineDefinitionError`::

    machine = StatusMachine[Order](
        states=["pending_payment", "awaiting_shipment", "closed"],
        initial="pending_payment",
        final=["closed"],
        transitions=[
            Transition("pending_payment", "pay", "awaiting_shipment", guards=["paid_in_full"]),
            Transition("pending_payment", "cancel", "closed"),
            Transition("awaiting_shipment", "cancel", "closed"),
        ],
        guards={"paid_in_full": paid_in_full},
    )
    machine.fire(order, "pending_payment", "pay")  # "awaiting_shipment", or GuardRefused

A final state is one where the lifecycle may rest; it may still have outgoing transitions
(a completed order can still be fully refunded into ``closed``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Generic, NoReturn, TypeAlias, TypeVar

from attrs.exceptions import FrozenInstanceError

from orderkit.domain.transitions import Transition, definition_problems, names
from orderkit.errors import GuardRefused, InvalidTransition, MachineDefinitionError, ValidationError

__all__ = ["Guard", "StatusMachine", "Transition"]

T = TypeVar("T")

Guard: TypeAlias = Callable[[T], str | None]
"""A named predicate on the subject: ``None`` lets the transition go ahead, a string refuses it.

The string is the reason, written for a person, e.g. ``"paid 50.00 of 80.00 USD"``.
"""


# Mermaid state ids must be plain words; these words are keywords at the start of a line.
_MERMAID_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MERMAID_KEYWORDS = frozenset(
    {"as", "class", "classdef", "direction", "end", "hide", "note", "scale", "state", "style"}
)
# Characters that end or comment out a Mermaid label, written as Mermaid entity codes instead.
_MERMAID_ESCAPES = str.maketrans(
    {'"': "#quot;", "#": "#35;", ";": "#59;", ":": "#58;", "%": "#37;", "\n": " ", "\r": " "}
)


class StatusMachine(Generic[T]):
    """A validated, immutable table of states and guarded transitions over subjects of type T.

    Args:
        states: Every state, in the order used for display.
        initial: The state every subject starts in.
        final: States where the lifecycle may rest (they may still have outgoing transitions).
        transitions: The table; at most one transition per (source, event).
        guards: Guard functions by name, for the names transitions list.
        labels: Human labels per state (e.g. ``{"pending_payment": "待付款"}``).
        name: Shown in ``repr`` and useful in logs.

    Raises:
        MachineDefinitionError: With every problem found: empty or duplicate state names, an
            undeclared initial or final state, no final state, a transition from or to an
            undeclared state, an empty event name, an unknown or uncallable guard, two
            transitions for one (source, event), a state unreachable from ``initial``, a
            non-final state from which no final state can be reached, a label for an
            undeclared state.
        TypeError: ``states`` or ``final`` is a bare string, or a transition is not a
            :class:`Transition`.
    """

    __slots__ = (
        "_allowed",
        "_by_key",
        "_events",
        "_final",
        "_guards",
        "_initial",
        "_labels",
        "_name",
        "_state_set",
        "_states",
        "_transitions",
    )

    _allowed: dict[str, tuple[str, ...]]
    _by_key: dict[tuple[str, str], Transition]
    _events: tuple[str, ...]
    _final: frozenset[str]
    _guards: Mapping[str, Guard[T]]
    _initial: str
    _labels: Mapping[str, str]
    _name: str
    _state_set: frozenset[str]
    _states: tuple[str, ...]
    _transitions: tuple[Transition, ...]

    def __init__(
        self,
        *,
        states: Iterable[str],
        initial: str,
        final: Iterable[str],
        transitions: Iterable[Transition],
        guards: Mapping[str, Guard[T]] | None = None,
        labels: Mapping[str, str] | None = None,
        name: str = "machine",
    ) -> None:
        state_tuple = names(states, "states")
        final_set = frozenset(names(final, "final"))
        transition_tuple = tuple(transitions)
        for transition in transition_tuple:
            if not isinstance(transition, Transition):
                raise TypeError(f"transitions must be Transition objects, got {transition!r}")
        guard_map = dict(guards or {})
        label_map = dict(labels or {})

        problems = definition_problems(
            state_tuple, initial, final_set, transition_tuple, guard_map, label_map
        )
        if problems:
            raise MachineDefinitionError(problems)

        allowed: dict[str, list[str]] = {state: [] for state in state_tuple}
        for transition in transition_tuple:
            allowed[transition.source].append(transition.event)
        set_ = object.__setattr__  # the class refuses ordinary assignment
        set_(self, "_name", name)
        set_(self, "_states", state_tuple)
        set_(self, "_state_set", frozenset(state_tuple))
        set_(self, "_initial", initial)
        set_(self, "_final", final_set)
        set_(self, "_transitions", transition_tuple)
        set_(self, "_by_key", {(t.source, t.event): t for t in transition_tuple})
        set_(self, "_allowed", {state: tuple(events) for state, events in allowed.items()})
        set_(self, "_events", tuple(dict.fromkeys(t.event for t in transition_tuple)))
        set_(self, "_guards", MappingProxyType(guard_map))
        set_(self, "_labels", MappingProxyType(label_map))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise FrozenInstanceError

    def __delattr__(self, name: str) -> NoReturn:
        raise FrozenInstanceError

    def __repr__(self) -> str:
        return (
            f"StatusMachine(name={self._name!r}, states={len(self._states)}, "
            f"transitions={len(self._transitions)})"
        )

    @property
    def name(self) -> str:
        """The machine's name."""
        return self._name

    @property
    def states(self) -> tuple[str, ...]:
        """Every state, in declaration order."""
        return self._states

    @property
    def initial(self) -> str:
        """The state every subject starts in."""
        return self._initial

    @property
    def final(self) -> frozenset[str]:
        """The states where the lifecycle may rest."""
        return self._final

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """Every transition, in declaration order."""
        return self._transitions

    @property
    def events(self) -> tuple[str, ...]:
        """The distinct event names, in the order they first appear in ``transitions``."""
        return self._events

    @property
    def guards(self) -> Mapping[str, Guard[T]]:
        """The guard functions by name (read-only)."""
        return self._guards

    @property
    def labels(self) -> Mapping[str, str]:
        """The human labels given for states (read-only); see :meth:`label`."""
        return self._labels

    def label(self, state: str) -> str:
        """The human label for ``state``, or the state name when it has none."""
        return self._labels.get(state, state)

    def is_final(self, state: str) -> bool:
        """Whether the lifecycle may rest in ``state``."""
        return state in self._final

    def allowed_events(self, state: str) -> tuple[str, ...]:
        """The events that have a transition from ``state``, in declaration order.

        Guards are not consulted: an allowed event may still be refused.

        Raises:
            ValidationError: ``state`` is not a state of this machine (``field="state"``).
        """
        try:
            return self._allowed[state]
        except KeyError:
            self._unknown_state(state)

    def target(self, state: str, event: str) -> str:
        """The state ``event`` leads to from ``state``, without checking guards.

        Raises:
            InvalidTransition: There is no transition for ``event`` from ``state``.
            ValidationError: ``state`` is not a state of this machine.
        """
        return self._transition(state, event).target

    def refusal(self, subject: T, state: str, event: str) -> tuple[str, str] | None:
        """Why the transition for ``event`` from ``state`` may not go ahead for ``subject``.

        Guards run in the order the transition lists them; the first one to refuse wins and
        the rest are not called.

        Returns:
            ``(guard name, reason)`` of the first refusing guard, or ``None`` if all allow.

        Raises:
            InvalidTransition: There is no transition for ``event`` from ``state``.
            ValidationError: ``state`` is not a state of this machine.
            TypeError: A guard returned something other than ``None`` or a string.
        """
        return self._refusal(subject, self._transition(state, event))

    def fire(self, subject: T, state: str, event: str) -> str:
        """The state ``subject`` moves to when ``event`` happens in ``state``.

        The machine holds no state of its own: the caller stores the returned state.

        Raises:
            InvalidTransition: There is no transition for ``event`` from ``state``.
            GuardRefused: A guard refused; ``guard`` and ``reason`` say which and why.
            ValidationError: ``state`` is not a state of this machine.
            TypeError: A guard returned something other than ``None`` or a string.
        """
        transition = self._transition(state, event)
        refused = self._refusal(subject, transition)
        if refused is not None:
            guard, reason = refused
            raise GuardRefused(state, event, self._allowed[state], guard, reason)
        return transition.target

    def can_fire(self, subject: T, state: str, event: str) -> bool:
        """Whether :meth:`fire` would succeed; ``False`` when no transition exists.

        Raises:
            ValidationError: ``state`` is not a state of this machine.
        """
        transition = self._by_key.get((state, event))
        if transition is None:
            if state not in self._state_set:
                self._unknown_state(state)
            return False
        return self._refusal(subject, transition) is None

    def extend(
        self,
        *,
        states: Iterable[str] = (),
        final: Iterable[str] | None = None,
        transitions: Iterable[Transition] = (),
        remove: Iterable[tuple[str, str]] = (),
        guards: Mapping[str, Guard[T]] | None = None,
        labels: Mapping[str, str] | None = None,
        initial: str | None = None,
        name: str | None = None,
    ) -> StatusMachine[T]:
        """A new machine built from this one; this one is unchanged.

        In order: ``states`` are appended; ``final`` replaces the final set if given; the
        transitions named by ``remove`` as ``(source, event)`` pairs are dropped; then
        ``transitions`` are appended; ``guards`` and ``labels`` are merged over this
        machine's (new entries win); ``initial`` and ``name`` replace this machine's if given.
        Removing and re-adding one ``(source, event)`` is how a transition is redirected; the
        redirected transition keeps its place in the declaration order.

        Raises:
            MachineDefinitionError: A removed pair has no transition, or the result is not a
                valid machine; all problems are reported together.
        """
        removed = {(source, event) for source, event in remove}
        problems = [
            f"cannot remove the transition for event {event!r} from {source!r}: there is none"
            for source, event in sorted(removed)
            if (source, event) not in self._by_key
        ]
        # A removed pair that is added again keeps its old place, so event order (buttons,
        # diagrams) does not shift when a host only redirects a transition.
        rows: list[Transition | None] = []
        slots: dict[tuple[str, str], int] = {}
        for t in self._transitions:
            if (t.source, t.event) in removed:
                slots[(t.source, t.event)] = len(rows)
                rows.append(None)
            else:
                rows.append(t)
        for t in transitions:
            slot = slots.pop((t.source, t.event), None)
            if slot is None:
                rows.append(t)
            else:
                rows[slot] = t
        try:
            extended = StatusMachine(
                states=(*self._states, *names(states, "states")),
                initial=self._initial if initial is None else initial,
                final=self._final if final is None else final,
                transitions=[t for t in rows if t is not None],
                guards={**self._guards, **(guards or {})},
                labels={**self._labels, **(labels or {})},
                name=self._name if name is None else name,
            )
        except MachineDefinitionError as exc:
            raise MachineDefinitionError([*problems, *exc.problems]) from None
        if problems:
            raise MachineDefinitionError(problems)
        return extended

    def to_mermaid(self) -> str:
        """The machine as a Mermaid ``stateDiagram-v2``, in declaration order.

        States with a label are declared as ``state "label" as name``; each transition is
        ``source --> target: event``, followed by ``[guard, ...]`` when it has guards; the
        initial state is entered from ``[*]`` and every final state leads to ``[*]``.
        A state name that is not a plain identifier (or is a Mermaid keyword) is drawn under a
        generated id, with its name as the label. Quotes, ``#``, ``%``, ``:`` and ``;`` in
        labels and events are written as Mermaid entity codes.
        """
        ids = _mermaid_ids(self._states)
        lines = ["stateDiagram-v2"]
        for state in self._states:
            if state in self._labels or ids[state] != state:
                text = self.label(state).translate(_MERMAID_ESCAPES)
                lines.append(f'    state "{text}" as {ids[state]}')
        lines.append(f"    [*] --> {ids[self._initial]}")
        for t in self._transitions:
            text = t.event if not t.guards else f"{t.event} [{', '.join(t.guards)}]"
            lines.append(
                f"    {ids[t.source]} --> {ids[t.target]}: {text.translate(_MERMAID_ESCAPES)}"
            )
        lines.extend(f"    {ids[state]} --> [*]" for state in self._states if state in self._final)
        return "\n".join(lines) + "\n"

    def _transition(self, state: str, event: str) -> Transition:
        transition = self._by_key.get((state, event))
        if transition is None:
            allowed = self.allowed_events(state)  # raises for an unknown state
            raise InvalidTransition(state, event, allowed)
        return transition

    def _refusal(self, subject: T, transition: Transition) -> tuple[str, str] | None:
        for name in transition.guards:
            reason: Any = self._guards[name](subject)
            if reason is None:
                continue
            # A guard written as a bool predicate would refuse everything; say so instead.
            if not isinstance(reason, str):
                raise TypeError(
                    f"guard {name!r} returned {reason!r}; a guard returns None to allow the "
                    "transition or a reason string to refuse it"
                )
            return name, reason or "no reason given"
        return None

    def _unknown_state(self, state: str) -> NoReturn:
        raise ValidationError(
            "state",
            f"{state!r} is not a state of status machine {self._name!r}; "
            f"its states are: {', '.join(self._states)}",
        )


def _mermaid_ids(states: tuple[str, ...]) -> dict[str, str]:
    """A Mermaid-safe id per state: the name itself when it can be, else a generated one."""
    plain = {s for s in states if _MERMAID_ID.fullmatch(s) and s.lower() not in _MERMAID_KEYWORDS}
    ids: dict[str, str] = {}
    used = set(plain)
    for index, state in enumerate(states):
        if state in plain:
            ids[state] = state
            continue
        candidate = f"state_{index}"
        while candidate in used:
            candidate += "_"
        used.add(candidate)
        ids[state] = candidate
    return ids
