"""Round and application state machines — PROGRAM_RULES R2, §4, V9, V10, K5."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class InvalidTransition(ValueError):
    """A state change the transition table does not allow."""


class RoundState(StrEnum):
    """R2: the round's life cycle, strictly linear — plus `cancelled`, outside that line."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    SCREENING = "screening"
    REVIEW = "review"
    DECIDED = "decided"  # committee decision recorded, not released (V10)
    NOTIFIED = "notified"  # released and notices sent
    CERTIFYING = "certifying"
    SUPPORT = "support"
    ARCHIVED = "archived"
    # Not one of R2's states: the program office withdraws the call (공고 취소). PROGRAM_RULES
    # has no rule for it; it is terminal, reachable only before the selection is released, and
    # is not K5 (which cancels one selected project after the release).
    CANCELLED = "cancelled"


# R2: declaration order is the life-cycle order (`cancelled` stands outside it).
ROUND_ORDER: tuple[RoundState, ...] = tuple(s for s in RoundState if s is not RoundState.CANCELLED)

# A round can be cancelled until its selection is released (decided at the latest); once
# `notified`, the companies have been told and only K5's per-application cancellation remains.
CANCELLABLE_ROUND_STATES: frozenset[RoundState] = frozenset(
    ROUND_ORDER[: ROUND_ORDER.index(RoundState.NOTIFIED)])

# R2: each state moves only to the next one; a state never moves backwards. Before the
# release, a round can also end as `cancelled` (terminal: nothing leaves it).
ROUND_TRANSITIONS: Mapping[RoundState, frozenset[RoundState]] = MappingProxyType({
    **{state: frozenset(ROUND_ORDER[i + 1 : i + 2])
       | ({RoundState.CANCELLED} if state in CANCELLABLE_ROUND_STATES else frozenset())
       for i, state in enumerate(ROUND_ORDER)},
    RoundState.CANCELLED: frozenset(),
})


class ApplicationState(StrEnum):
    """§4 screening, V9 placement and K5 cancellation states of an application."""

    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"  # §4.6 보완요청
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    SELECTED = "selected"
    RESERVE = "reserve"  # V9 예비
    NOT_SELECTED = "not_selected"
    CANCELLED = "cancelled"  # K5


_A = ApplicationState
APPLICATION_TRANSITIONS: Mapping[ApplicationState, frozenset[ApplicationState]] = MappingProxyType(
    {
        _A.RECEIVED: frozenset({_A.SUPPLEMENT_REQUESTED, _A.ELIGIBLE, _A.INELIGIBLE}),
        # §4.6: the supplement deadline decides; no second request.
        _A.SUPPLEMENT_REQUESTED: frozenset({_A.ELIGIBLE, _A.INELIGIBLE}),
        _A.ELIGIBLE: frozenset({_A.SELECTED, _A.RESERVE, _A.NOT_SELECTED}),
        # V10: the chair may include a reserve; otherwise it ends not selected.
        _A.RESERVE: frozenset({_A.SELECTED, _A.NOT_SELECTED}),
        # K5: only a selected project can be cancelled.  V10 exclusion of a selected
        # proposal happens on the pending placement, before the state is written.
        _A.SELECTED: frozenset({_A.CANCELLED}),
        _A.INELIGIBLE: frozenset(),
        _A.NOT_SELECTED: frozenset(),
        _A.CANCELLED: frozenset(),
    }
)

TERMINAL_APPLICATION_STATES: frozenset[ApplicationState] = frozenset(
    state for state, targets in APPLICATION_TRANSITIONS.items() if not targets
)
# States an application can be in once screening has decided (§4).
SCREENED_STATES: frozenset[ApplicationState] = frozenset({_A.ELIGIBLE, _A.INELIGIBLE})
# States set by placement (V9) and the chair's decision (V10).
PLACED_STATES: frozenset[ApplicationState] = frozenset({_A.SELECTED, _A.RESERVE, _A.NOT_SELECTED})


def _allowed(targets: frozenset[str]) -> str:
    return ", ".join(sorted(targets)) or "none (terminal state)"


def check_round_transition(current: RoundState, target: RoundState) -> None:
    """R2: raise InvalidTransition unless `target` is the state right after `current` (or
    `cancelled`, from a state before the release)."""
    targets = ROUND_TRANSITIONS[current]
    if target not in targets:
        raise InvalidTransition(
            f"round cannot move from {current!s} to {target!s}; allowed next: {_allowed(targets)}"
        )


def check_application_transition(current: ApplicationState, target: ApplicationState) -> None:
    """Raise InvalidTransition unless the application table allows `current` → `target`."""
    targets = APPLICATION_TRANSITIONS[current]
    if target not in targets:
        raise InvalidTransition(
            f"application cannot move from {current!s} to {target!s}; "
            f"allowed next: {_allowed(targets)}"
        )


def round_reached(current: RoundState, wanted: RoundState) -> bool:
    """R2: True iff `current` is `wanted` or a later state in the linear order.

    A cancelled round stands outside that order: it reaches no linear state (whatever it went
    through, it goes no further), and only a cancelled round has reached `cancelled`.
    """
    if RoundState.CANCELLED in (current, wanted):
        return current is wanted
    return ROUND_ORDER.index(current) >= ROUND_ORDER.index(wanted)
