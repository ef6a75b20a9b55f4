"""Round (R2) and application state tables."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import TypeVar

import pytest

from sangsaeng.domain.states import (
    APPLICATION_TRANSITIONS,
    CANCELLABLE_ROUND_STATES,
    ROUND_ORDER,
    ROUND_TRANSITIONS,
    TERMINAL_APPLICATION_STATES,
    ApplicationState,
    InvalidTransition,
    RoundState,
    check_application_transition,
    check_round_transition,
    round_reached,
)

A = ApplicationState
R = RoundState
S = TypeVar("S")

# The transitions the rules allow, written out from PROGRAM_RULES (not read from the tables
# under test): R2's line, and `cancelled` from any state before `notified`.
ROUND_RULES: dict[RoundState, set[RoundState]] = {
    R.DRAFT: {R.OPEN, R.CANCELLED},
    R.OPEN: {R.CLOSED, R.CANCELLED},
    R.CLOSED: {R.SCREENING, R.CANCELLED},
    R.SCREENING: {R.REVIEW, R.CANCELLED},
    R.REVIEW: {R.DECIDED, R.CANCELLED},
    R.DECIDED: {R.NOTIFIED, R.CANCELLED},  # V10: released only after decided
    R.NOTIFIED: {R.CERTIFYING},
    R.CERTIFYING: {R.SUPPORT},
    R.SUPPORT: {R.ARCHIVED},
    R.ARCHIVED: set(),
    R.CANCELLED: set(),
}
APPLICATION_RULES: dict[ApplicationState, set[ApplicationState]] = {
    A.RECEIVED: {A.SUPPLEMENT_REQUESTED, A.ELIGIBLE, A.INELIGIBLE},  # §4 screening
    A.SUPPLEMENT_REQUESTED: {A.ELIGIBLE, A.INELIGIBLE},  # §4.6, S1: the deadline decides
    A.ELIGIBLE: {A.SELECTED, A.RESERVE, A.NOT_SELECTED},  # V9 placement
    A.RESERVE: {A.SELECTED, A.NOT_SELECTED},  # V10: the chair may include a reserve
    A.SELECTED: {A.CANCELLED},  # K5
    A.INELIGIBLE: set(),
    A.NOT_SELECTED: set(),
    A.CANCELLED: set(),
}


def _pairs(rules: Mapping[S, set[S]], *, allowed: bool) -> list[pytest.ParameterSet]:
    """Every (current, target) pair the rules allow (or refuse), with readable ids."""
    return [pytest.param(current, target, id=f"{current}->{target}")
            for current in rules for target in rules
            if (target in rules[current]) is allowed]


def _refusal(what: str, current: str, target: str, allowed: set[S]) -> str:
    """The message a refused move shows: both states and the allowed next ones."""
    allowed_next = ", ".join(sorted(map(str, allowed))) or "none (terminal state)"
    return f"{what} cannot move from {current} to {target}; allowed next: {allowed_next}"


def _reachable(table: Mapping[S, frozenset[S]], start: S) -> set[S]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_R2_every_round_state_reachable_from_draft() -> None:
    assert _reachable(ROUND_TRANSITIONS, R.DRAFT) == set(RoundState)


def test_R2_round_is_linear_and_archived_is_terminal() -> None:
    assert ROUND_ORDER[0] is R.DRAFT and ROUND_ORDER[-1] is R.ARCHIVED
    assert R.CANCELLED not in ROUND_ORDER  # the office's withdrawal stands outside R2's line
    for current, nxt in pairwise(ROUND_ORDER):
        assert ROUND_TRANSITIONS[current] - {R.CANCELLED} == {nxt}
    assert ROUND_TRANSITIONS[R.ARCHIVED] == frozenset()


def test_R2_a_round_is_cancellable_until_its_selection_is_released() -> None:
    assert {R.DRAFT, R.OPEN, R.CLOSED, R.SCREENING, R.REVIEW,
            R.DECIDED} == CANCELLABLE_ROUND_STATES
    for state in CANCELLABLE_ROUND_STATES:
        check_round_transition(state, R.CANCELLED)


@pytest.mark.parametrize("state", [R.NOTIFIED, R.CERTIFYING, R.SUPPORT, R.ARCHIVED])
def test_R2_K5_a_released_round_cannot_be_cancelled(state: RoundState) -> None:
    with pytest.raises(InvalidTransition, match=f"from {state} to cancelled"):
        check_round_transition(state, R.CANCELLED)


@pytest.mark.parametrize("target", list(RoundState))
def test_R2_cancelled_is_terminal(target: RoundState) -> None:
    with pytest.raises(InvalidTransition, match="terminal"):
        check_round_transition(R.CANCELLED, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(R.OPEN, R.DRAFT, id="backwards"),
        pytest.param(R.REVIEW, R.REVIEW, id="same-state"),
        pytest.param(R.REVIEW, R.NOTIFIED, id="skip-decided"),
        pytest.param(R.ARCHIVED, R.DRAFT, id="from-terminal"),
    ],
)
def test_R2_round_never_skips_or_moves_backwards(current: RoundState, target: RoundState) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
        check_round_transition(current, target)


def test_R2_round_table_is_the_rule() -> None:
    assert {state: set(targets) for state, targets in ROUND_TRANSITIONS.items()} == ROUND_RULES


def test_R2_archived_and_cancelled_are_the_only_terminal_round_states() -> None:
    assert {state for state, targets in ROUND_TRANSITIONS.items() if not targets} == {
        R.ARCHIVED, R.CANCELLED}


@pytest.mark.parametrize(("current", "target"), _pairs(ROUND_RULES, allowed=True))
def test_R2_round_moves_along_every_allowed_transition(
    current: RoundState, target: RoundState
) -> None:
    assert check_round_transition(current, target) is None


@pytest.mark.parametrize(("current", "target"), _pairs(ROUND_RULES, allowed=False))
def test_R2_every_other_round_move_is_refused_naming_the_allowed_next_states(
    current: RoundState, target: RoundState
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_round_transition(current, target)
    assert str(refused.value) == _refusal("round", current, target, ROUND_RULES[current])


def test_R2_no_backwards_move_in_either_table() -> None:
    order = {state: i for i, state in enumerate(ROUND_ORDER)}
    assert all(order[t] > order[s] for s, ts in ROUND_TRANSITIONS.items() for t in ts
               if t is not R.CANCELLED)  # `cancelled` is terminal (test above)
    # The application table is acyclic: nothing can come back to a state it left.
    for state in ApplicationState:
        after = set().union(
            *(_reachable(APPLICATION_TRANSITIONS, t) for t in APPLICATION_TRANSITIONS[state])
        )
        assert state not in after


@pytest.mark.parametrize(
    ("current", "wanted", "reached"),
    [
        pytest.param(R.REVIEW, R.REVIEW, True, id="same"),
        pytest.param(R.NOTIFIED, R.DECIDED, True, id="later"),
        pytest.param(R.SCREENING, R.DECIDED, False, id="earlier"),
        pytest.param(R.CANCELLED, R.OPEN, False, id="cancelled-reaches-no-linear-state"),
        pytest.param(R.CANCELLED, R.DRAFT, False, id="cancelled-is-not-even-a-draft"),
        pytest.param(R.DECIDED, R.CANCELLED, False, id="decided-is-not-cancelled"),
        pytest.param(R.ARCHIVED, R.CANCELLED, False, id="archived-is-not-cancelled"),
        pytest.param(R.CANCELLED, R.CANCELLED, True, id="cancelled-itself"),
    ],
)
def test_R2_round_reached(current: RoundState, wanted: RoundState, reached: bool) -> None:
    assert round_reached(current, wanted) is reached


def test_application_every_state_reachable_from_received() -> None:
    assert _reachable(APPLICATION_TRANSITIONS, A.RECEIVED) == set(ApplicationState)


def test_application_table_is_the_rule() -> None:
    assert {state: set(targets) for state, targets in APPLICATION_TRANSITIONS.items()} == (
        APPLICATION_RULES)


@pytest.mark.parametrize(("current", "target"), _pairs(APPLICATION_RULES, allowed=True))
def test_application_moves_along_every_allowed_transition(
    current: ApplicationState, target: ApplicationState
) -> None:
    assert check_application_transition(current, target) is None


@pytest.mark.parametrize(("current", "target"), _pairs(APPLICATION_RULES, allowed=False))
def test_every_other_application_move_is_refused_naming_the_allowed_next_states(
    current: ApplicationState, target: ApplicationState
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_application_transition(current, target)
    assert str(refused.value) == _refusal("application", current, target,
                                          APPLICATION_RULES[current])


def test_application_terminals_have_no_exits() -> None:
    assert {A.INELIGIBLE, A.NOT_SELECTED, A.CANCELLED} == TERMINAL_APPLICATION_STATES
    for state in TERMINAL_APPLICATION_STATES:
        for target in ApplicationState:
            with pytest.raises(InvalidTransition, match="terminal"):
                check_application_transition(state, target)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        pytest.param(A.RECEIVED, A.SUPPLEMENT_REQUESTED, True, id="S1-supplement"),
        pytest.param(A.SUPPLEMENT_REQUESTED, A.INELIGIBLE, True, id="S1-still-missing"),
        pytest.param(A.SUPPLEMENT_REQUESTED, A.SUPPLEMENT_REQUESTED, False, id="no-2nd-request"),
        pytest.param(A.ELIGIBLE, A.RESERVE, True, id="V9-reserve"),
        pytest.param(A.RESERVE, A.SELECTED, True, id="V10-chair-includes"),
        pytest.param(A.RECEIVED, A.SELECTED, False, id="select-unscreened"),
        pytest.param(A.SELECTED, A.CANCELLED, True, id="K5-cancel"),
        pytest.param(A.RESERVE, A.CANCELLED, False, id="cancel-reserve"),
        pytest.param(A.ELIGIBLE, A.RECEIVED, False, id="backwards"),
    ],
)
def test_application_transitions(
    current: ApplicationState, target: ApplicationState, allowed: bool
) -> None:
    if allowed:
        check_application_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
            check_application_transition(current, target)
