"""The generic status machine: validation at build time, firing, guards, extension, Mermaid."""

# STYLE.md asks for `expected == actual`; SIM300 (Yoda conditions) would flip every assertion.

from __future__ import annotations

from collections import deque
from typing import Any

import attrs
import pytest
from attrs.exceptions import FrozenInstanceError
from hypothesis import given
from hypothesis import strategies as st

from orderkit.domain.status import Guard, StatusMachine, Transition
from orderkit.errors import (
    GuardRefused,
    InvalidTransition,
    MachineDefinitionError,
    ValidationError,
)


@attrs.frozen
class Parcel:
    """A tiny subject: the machine only ever sees it through guards."""

    paid: bool
    reviewed: bool = False


def paid(parcel: Parcel) -> str | None:
    return None if parcel.paid else "paid 0.00 of 80.00 USD"


def reviewed(parcel: Parcel) -> str | None:
    return None if parcel.reviewed else "not reviewed yet"


def definition(**changes: Any) -> dict[str, Any]:
    """A valid definition: new --pay--> paid --ship--> done, and new --cancel--> done."""
    base: dict[str, Any] = {
        "states": ["new", "paid", "done"],
        "initial": "new",
        "final": ["done"],
        "transitions": [
            Transition("new", "pay", "paid", guards=["paid"]),
            Transition("paid", "ship", "done"),
            Transition("new", "cancel", "done"),
        ],
        "guards": {"paid": paid},
        "labels": {"new": "新订单"},
        "name": "parcel",
    }
    return {**base, **changes}


def plus(*extra: Transition) -> list[Transition]:
    return [*definition()["transitions"], *extra]


def machine(**changes: Any) -> StatusMachine[Parcel]:
    return StatusMachine[Parcel](**definition(**changes))


UNPAID = Parcel(paid=False)
PAID = Parcel(paid=True)


# --- building -------------------------------------------------------------------------------


def test_a_valid_definition_builds_and_keeps_its_declaration_order() -> None:
    built = machine()

    assert ("new", "paid", "done") == built.states
    assert "new" == built.initial
    assert frozenset({"done"}) == built.final
    assert ("pay", "ship", "cancel") == built.events
    assert ("pay", "cancel") == built.allowed_events("new")


@pytest.mark.parametrize(
    ("changes", "offenders"),
    [
        pytest.param({"states": ["new", "paid", "done", ""]}, ["empty", "#3"], id="empty-name"),
        pytest.param(
            {"states": ["new", "paid", "paid", "done"]}, ["'paid'", "more than once"], id="dup"
        ),
        pytest.param({"initial": "ghost"}, ["initial", "'ghost'"], id="undeclared-initial"),
        pytest.param({"final": ["done", "ghost"]}, ["final", "'ghost'"], id="undeclared-final"),
        pytest.param({"final": []}, ["no final state"], id="no-final"),
        pytest.param(
            {"transitions": plus(Transition("ghost", "pay", "done"))},
            ["source", "'ghost'"],
            id="undeclared-source",
        ),
        pytest.param(
            {"transitions": plus(Transition("paid", "lose", "ghost"))},
            ["target", "'ghost'", "lose"],
            id="undeclared-target",
        ),
        pytest.param(
            {"transitions": plus(Transition("paid", "refund", "done", guards=["refundable"]))},
            ["guard 'refundable'", "refund"],
            id="unknown-guard",
        ),
        pytest.param(
            {"guards": {"paid": "yes"}}, ["guard 'paid'", "not callable"], id="uncallable-guard"
        ),
        pytest.param(
            {"transitions": plus(Transition("paid", "", "done"))},
            ["event name is empty", "'paid'"],
            id="empty-event",
        ),
        pytest.param(
            {"transitions": plus(Transition("paid", "ship", "done"))},
            ["event 'ship'", "from 'paid'", "only one"],
            id="duplicate-transition",
        ),
        pytest.param(
            {"transitions": plus(Transition("new", "pay", "done"))},
            ["event 'pay'", "from 'new'", "to 'paid' and to 'done'"],
            id="nondeterministic",
        ),
        pytest.param(
            {"states": ["new", "paid", "done", "orphan"], "final": ["done", "orphan"]},
            ["'orphan'", "not reachable", "'new'"],
            id="unreachable",
        ),
        pytest.param(
            {
                "states": ["new", "paid", "done", "limbo"],
                "transitions": plus(Transition("paid", "lose", "limbo")),
            },
            ["'limbo'", "dead end"],
            id="dead-end",
        ),
        pytest.param(
            {"labels": {"new": "新订单", "ghost": "幽灵"}},
            ["label", "'ghost'"],
            id="label-for-undeclared",
        ),
    ],
)
def test_each_definition_problem_is_reported_naming_its_offender(
    changes: dict[str, Any], offenders: list[str]
) -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        machine(**changes)

    [problem] = caught.value.problems
    assert [] == [offender for offender in offenders if offender not in problem]
    assert problem in str(caught.value)


def test_all_definition_problems_are_reported_together() -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        machine(
            states=["new", "paid", "done", "orphan"],
            final=["done", "orphan"],
            transitions=plus(Transition("paid", "lose", "ghost")),
            labels={"nowhere": "?"},
        )

    problems = caught.value.problems
    assert 3 == len(problems)
    assert "'ghost'" in problems[0]
    assert "'nowhere'" in problems[1]
    assert "'orphan'" in problems[2]


def test_a_final_state_may_have_outgoing_transitions() -> None:
    built = machine(
        states=["new", "paid", "done", "closed"],
        final=["done", "closed"],
        transitions=plus(Transition("done", "refund", "closed")),
    )

    assert "closed" == built.fire(PAID, "done", "refund")
    assert built.is_final("done")


def test_a_bare_string_of_states_is_refused_rather_than_split_into_letters() -> None:
    with pytest.raises(TypeError, match="'abc'"):
        machine(states="abc")


def test_transition_guards_accept_any_iterable_and_are_stored_as_a_tuple() -> None:
    transition = Transition("a", "go", "b", guards=iter(["first", "second"]))

    assert ("first", "second") == transition.guards


def test_a_bare_string_of_guards_is_refused_rather_than_split_into_letters() -> None:
    with pytest.raises(TypeError, match="'paid'"):
        Transition("a", "go", "b", guards="paid")


def test_a_machine_cannot_be_changed_after_it_is_built() -> None:
    built = machine()

    with pytest.raises(FrozenInstanceError):
        built._initial = "done"
    assert "new" == built.initial


def test_the_guard_and_label_mappings_are_read_only() -> None:
    built = machine()

    with pytest.raises(TypeError):
        built.labels["done"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        built.guards["other"] = paid  # type: ignore[index]


def test_repr_shows_the_name_and_the_size() -> None:
    assert "StatusMachine(name='parcel', states=3, transitions=3)" == repr(machine())


# --- looking things up ------------------------------------------------------------------------


def test_label_falls_back_to_the_state_name() -> None:
    built = machine()

    assert ("新订单", "paid") == (built.label("new"), built.label("paid"))


def test_is_final_is_true_only_for_final_states() -> None:
    built = machine()

    assert [False, False, True] == [built.is_final(state) for state in built.states]


def test_allowed_events_for_an_unknown_state_is_a_validation_error_on_state() -> None:
    with pytest.raises(ValidationError) as caught:
        machine().allowed_events("ghost")

    assert "state" == caught.value.field
    assert "'ghost'" in str(caught.value)


def test_target_follows_the_transition_without_checking_guards() -> None:
    assert "paid" == machine().target("new", "pay")


# --- firing -----------------------------------------------------------------------------------


def test_fire_follows_transitions_from_initial_to_final() -> None:
    built = machine()

    state = built.initial
    visited = [state]
    for event in ("pay", "ship"):
        state = built.fire(PAID, state, event)
        visited.append(state)

    assert ["new", "paid", "done"] == visited


def test_an_event_with_no_transition_raises_invalid_transition_naming_state_event_and_allowed() -> (
    None
):
    with pytest.raises(InvalidTransition) as caught:
        machine().fire(PAID, "paid", "cancel")

    error = caught.value
    assert ("paid", "cancel", ("ship",)) == (error.state, error.event, error.allowed)
    assert [] == [word for word in ("'paid'", "'cancel'", "ship") if word not in str(error)]
    assert not isinstance(error, GuardRefused)


def test_target_and_refusal_also_raise_invalid_transition_for_a_missing_transition() -> None:
    built = machine()

    with pytest.raises(InvalidTransition):
        built.target("done", "pay")
    with pytest.raises(InvalidTransition):
        built.refusal(PAID, "done", "pay")


def test_firing_from_an_unknown_state_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        machine().fire(PAID, "ghost", "pay")


def test_a_refusing_guard_raises_guard_refused_with_its_name_and_reason() -> None:
    with pytest.raises(GuardRefused) as caught:
        machine().fire(UNPAID, "new", "pay")

    error = caught.value
    assert ("paid", "paid 0.00 of 80.00 USD") == (error.guard, error.reason)
    assert ("new", "pay", ("pay", "cancel")) == (error.state, error.event, error.allowed)
    assert "paid 0.00 of 80.00 USD" in str(error)


def test_refusal_names_the_refusing_guard_or_is_none() -> None:
    built = machine()

    assert ("paid", "paid 0.00 of 80.00 USD") == built.refusal(UNPAID, "new", "pay")
    assert None is built.refusal(PAID, "new", "pay")


def test_can_fire_reflects_guards_and_missing_transitions() -> None:
    built = machine()

    assert [True, False, False] == [
        built.can_fire(PAID, "new", "pay"),
        built.can_fire(UNPAID, "new", "pay"),
        built.can_fire(PAID, "done", "pay"),
    ]


def test_can_fire_from_an_unknown_state_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        machine().can_fire(PAID, "ghost", "pay")


def test_guards_run_in_the_order_the_transition_lists_them_and_stop_at_the_first_refusal() -> None:
    calls: list[str] = []

    def recording(name: str, reason: str | None) -> Guard[Parcel]:
        def guard(parcel: Parcel) -> str | None:
            calls.append(name)
            return reason

        return guard

    built = StatusMachine[Parcel](
        states=["a", "b"],
        initial="a",
        final=["b"],
        transitions=[Transition("a", "go", "b", guards=["second", "first", "third", "never"])],
        guards={
            "first": recording("first", "first says no"),
            "second": recording("second", None),
            "third": recording("third", "third says no"),
            "never": recording("never", None),
        },
    )

    assert ("first", "first says no") == built.refusal(PAID, "a", "go")
    assert ["second", "first"] == calls


def test_a_guard_that_returns_a_bool_is_a_type_error_not_a_silent_refusal() -> None:
    built = machine(guards={"paid": lambda parcel: parcel.paid})

    with pytest.raises(TypeError, match="'paid' returned True"):
        built.fire(PAID, "new", "pay")


def test_a_guard_refusing_with_an_empty_reason_still_gets_a_readable_reason() -> None:
    built = machine(guards={"paid": lambda parcel: ""})

    assert ("paid", "no reason given") == built.refusal(PAID, "new", "pay")


# --- extending --------------------------------------------------------------------------------


def with_review(base: StatusMachine[Parcel]) -> StatusMachine[Parcel]:
    return base.extend(
        states=["awaiting_review"],
        remove=[("new", "pay")],
        transitions=[
            Transition("new", "pay", "awaiting_review", guards=["paid"]),
            Transition("awaiting_review", "approve", "paid", guards=["reviewed"]),
            Transition("awaiting_review", "reject", "done"),
        ],
        guards={"reviewed": reviewed},
        labels={"awaiting_review": "待审核"},
        name="parcel-with-review",
    )


def test_extend_adds_a_hold_state_that_new_subjects_pass_through() -> None:
    extended = with_review(machine())

    held = extended.fire(PAID, "new", "pay")
    approved = extended.fire(Parcel(paid=True, reviewed=True), held, "approve")

    assert ("awaiting_review", "paid") == (held, approved)
    assert ("new", "paid", "done", "awaiting_review") == extended.states
    assert ("待审核", "新订单") == (extended.label("awaiting_review"), extended.label("new"))
    assert "parcel-with-review" == extended.name


def test_extend_leaves_the_original_machine_unchanged() -> None:
    base = machine()
    with_review(base)

    assert ("paid", ("new", "paid", "done")) == (base.target("new", "pay"), base.states)


def test_extend_keeps_a_redirected_transition_in_its_original_place() -> None:
    extended = with_review(machine())

    assert ("pay", "cancel") == extended.allowed_events("new")
    assert Transition("new", "pay", "awaiting_review", guards=["paid"]) == extended.transitions[0]


def test_extend_that_leaves_a_dead_end_raises_naming_the_state() -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        machine().extend(states=["on_hold"], transitions=[Transition("paid", "hold", "on_hold")])

    [problem] = caught.value.problems
    assert "'on_hold'" in problem
    assert "dead end" in problem


def test_extend_removing_a_transition_that_does_not_exist_raises_naming_it() -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        machine().extend(remove=[("done", "pay")])

    [problem] = caught.value.problems
    assert "'pay'" in problem
    assert "'done'" in problem


def test_extend_reports_a_bad_removal_together_with_the_problems_of_the_result() -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        machine().extend(remove=[("done", "pay"), ("paid", "ship")])

    problems = caught.value.problems
    assert 2 == len(problems)
    assert "cannot remove" in problems[0]
    assert "'paid' is a dead end" in problems[1]


def test_extend_can_replace_the_final_states_and_the_initial_state() -> None:
    extended = machine().extend(
        states=["draft"],
        initial="draft",
        final=["done", "paid"],
        transitions=[Transition("draft", "submit", "new")],
    )

    assert ("draft", frozenset({"done", "paid"})) == (extended.initial, extended.final)


# --- Mermaid ----------------------------------------------------------------------------------


def test_to_mermaid_draws_a_small_machine_exactly() -> None:
    expected = (
        "stateDiagram-v2\n"
        '    state "新订单" as new\n'
        "    [*] --> new\n"
        "    new --> paid: pay [paid]\n"
        "    paid --> done: ship\n"
        "    new --> done: cancel\n"
        "    done --> [*]\n"
    )

    assert expected == machine().to_mermaid()


def test_to_mermaid_lists_every_guard_of_a_transition_in_order() -> None:
    built = machine(
        transitions=[
            Transition("new", "pay", "paid", guards=["reviewed", "paid"]),
            Transition("paid", "ship", "done"),
        ],
        guards={"paid": paid, "reviewed": reviewed},
    )

    assert "    new --> paid: pay [reviewed, paid]" in built.to_mermaid().splitlines()


def test_to_mermaid_gives_awkward_state_names_safe_ids_and_escapes_labels() -> None:
    built = StatusMachine[Parcel](
        states=["on-hold", "state", "done"],
        initial="on-hold",
        final=["done"],
        transitions=[Transition("on-hold", "go", "state"), Transition("state", "a:b", "done")],
        labels={"done": 'say "done"'},
    )
    expected = (
        "stateDiagram-v2\n"
        '    state "on-hold" as state_0\n'
        '    state "state" as state_1\n'
        '    state "say #quot;done#quot;" as done\n'
        "    [*] --> state_0\n"
        "    state_0 --> state_1: go\n"
        "    state_1 --> done: a#58;b\n"
        "    done --> [*]\n"
    )

    assert expected == built.to_mermaid()


# --- properties of random valid machines -------------------------------------------------------

EVENTS = ("next", "a", "b", "c")


@st.composite
def valid_machines(draw: st.DrawFn) -> StatusMachine[Parcel]:
    """A chain s0 -> s1 -> ... (so everything is reachable and reaches the last state, which is
    final), plus random extra edges and final states, declared in a random order."""
    size = draw(st.integers(min_value=1, max_value=8))
    names = [f"s{i}" for i in range(size)]
    by_key = {(names[i], "next"): names[i + 1] for i in range(size - 1)}
    extra = st.tuples(st.sampled_from(names), st.sampled_from(EVENTS), st.sampled_from(names))
    for source, event, target in draw(st.lists(extra, max_size=12)):
        by_key.setdefault((source, event), target)
    transitions = [Transition(s, e, t) for (s, e), t in by_key.items()]
    final = {names[-1], *draw(st.sets(st.sampled_from(names)))}
    return StatusMachine[Parcel](
        states=draw(st.permutations(names)),
        initial="s0",
        final=final,
        transitions=draw(st.permutations(transitions)),
        labels=draw(st.dictionaries(st.sampled_from(names), st.text(max_size=5))),
        name="random",
    )


def walk(built: StatusMachine[Parcel], start: set[str], forward: bool) -> set[str]:
    """States reachable from ``start`` through the public lookup API (or reaching it)."""
    seen = set(start)
    queue = deque(start)
    while queue:
        state = queue.popleft()
        if forward:
            nexts = [built.target(state, event) for event in built.allowed_events(state)]
        else:
            nexts = [t.source for t in built.transitions if t.target == state]
        for nxt in nexts:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@given(valid_machines())
def test_every_state_of_a_valid_machine_is_reachable_and_can_reach_a_final_state(
    built: StatusMachine[Parcel],
) -> None:
    assert set(built.states) == walk(built, {built.initial}, forward=True)
    assert set(built.states) == walk(built, set(built.final), forward=False)


@given(valid_machines())
def test_every_transition_appears_in_the_mermaid_text(built: StatusMachine[Parcel]) -> None:
    lines = built.to_mermaid().splitlines()

    assert [] == [
        t for t in built.transitions if f"    {t.source} --> {t.target}: {t.event}" not in lines
    ]


@given(valid_machines())
def test_fire_agrees_with_target_when_there_are_no_guards(built: StatusMachine[Parcel]) -> None:
    pairs = [(t.source, t.event) for t in built.transitions]

    assert [t.target for t in built.transitions] == [built.target(*pair) for pair in pairs]
    assert [built.target(*pair) for pair in pairs] == [built.fire(UNPAID, *pair) for pair in pairs]


@given(valid_machines())
def test_an_event_not_allowed_in_a_state_never_fires(built: StatusMachine[Parcel]) -> None:
    for state in built.states:
        for event in set(built.events) - set(built.allowed_events(state)):
            assert not built.can_fire(PAID, state, event)
            with pytest.raises(InvalidTransition):
                built.fire(PAID, state, event)


@given(valid_machines())
def test_adding_a_state_nothing_leads_to_is_always_reported_as_unreachable(
    built: StatusMachine[Parcel],
) -> None:
    with pytest.raises(MachineDefinitionError) as caught:
        built.extend(states=["orphan"], transitions=[Transition("orphan", "leave", built.initial)])

    assert ["state 'orphan' is not reachable from initial state 's0'"] == list(
        caught.value.problems
    )
