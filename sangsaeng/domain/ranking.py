"""Ranking, quotas and the chair's decision — PROGRAM_RULES V8–V10."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from sangsaeng.domain.ordering import NaturalKey, natural_key
from sangsaeng.domain.states import ApplicationState

SELECTED = ApplicationState.SELECTED
RESERVE = ApplicationState.RESERVE
NOT_SELECTED = ApplicationState.NOT_SELECTED
CHAIR_EXCLUDED = "CHAIR_EXCLUDED"  # V10
CHAIR_INCLUDED = "CHAIR_INCLUDED"  # V10

RankKey = tuple[Decimal, tuple[Decimal, ...], int, NaturalKey]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible, reviewed application ready to be ranked (V6–V8)."""

    receipt_no: str
    track: str
    score: Decimal
    criterion_means: Mapping[str, Decimal]
    policy_priority: bool
    fail_reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """V7: passed iff there is no fail reason."""
        return not self.fail_reasons


@dataclass(frozen=True, slots=True)
class Placement:
    """V9/V10: proposed status (selected, reserve or not_selected) and rank in track."""

    receipt_no: str
    status: ApplicationState
    rank: int | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChairAction:
    """V10: one exclusion or inclusion by the chair, with its written reason."""

    receipt_no: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChairDecision:
    """V10: the chair's approval of the committee's proposal, with any changes."""

    approve: bool
    exclude: tuple[ChairAction, ...] = ()
    include: tuple[ChairAction, ...] = ()


class ChairDecisionError(ValueError):
    """A chair decision that cannot be applied to the proposed placements."""


def rank_key(c: Candidate, tie_break_criteria: tuple[str, ...]) -> RankKey:
    """V8: ascending sort key — score desc, tie-break means desc, priority first, receipt asc."""
    return (
        -c.score,
        tuple(-c.criterion_means[key] for key in tie_break_criteria),
        0 if c.policy_priority else 1,
        natural_key(c.receipt_no),
    )


def place_candidates(
    cands: Iterable[Candidate],
    *,
    quotas: Mapping[str, int],
    tie_break_criteria: tuple[str, ...],
) -> dict[str, Placement]:
    """V8/V9: rank passing candidates per track and place them against the track quotas."""
    placements: dict[str, Placement] = {}
    by_track: dict[str, list[Candidate]] = {}
    seen: set[str] = set()
    for cand in cands:
        if cand.receipt_no in seen:
            raise ValueError(f"candidate {cand.receipt_no} appears twice")
        seen.add(cand.receipt_no)
        if cand.passed:
            by_track.setdefault(cand.track, []).append(cand)
        else:
            # V9: failing ⇒ not_selected, unranked, with the V7 reasons.
            placements[cand.receipt_no] = Placement(
                cand.receipt_no, NOT_SELECTED, None, cand.fail_reasons
            )
    for track, passing in by_track.items():
        quota = quotas.get(track)
        passing.sort(key=lambda c: rank_key(c, tie_break_criteria))
        for rank, cand in enumerate(passing, start=1):
            # V9: ranks 1..q selected, the rest reserve; no quota ⇒ all selected.
            status = SELECTED if quota is None or rank <= quota else RESERVE
            placements[cand.receipt_no] = Placement(cand.receipt_no, status, rank, ())
    return placements


def apply_chair_decision(
    placements: Mapping[str, Placement], decision: ChairDecision
) -> dict[str, Placement]:
    """V10: apply the chair's approval: exclude selected ones, include reserve ones."""
    if not decision.approve:
        raise ChairDecisionError("the chair has not approved the committee decision")
    result = dict(placements)
    touched: set[str] = set()
    changes = [(a, SELECTED, NOT_SELECTED, CHAIR_EXCLUDED) for a in decision.exclude]
    changes += [(a, RESERVE, SELECTED, CHAIR_INCLUDED) for a in decision.include]
    for action, required, status, code in changes:
        receipt = action.receipt_no
        verb = "exclude" if code == CHAIR_EXCLUDED else "include"
        if not action.reason.strip():
            raise ChairDecisionError(f"{receipt}: the chair must give a reason to {verb} it")
        if receipt in touched:
            raise ChairDecisionError(f"{receipt}: named more than once in the chair decision")
        current = placements.get(receipt)
        if current is None:
            raise ChairDecisionError(f"{receipt}: not among the proposed placements")
        if current.status != required:
            raise ChairDecisionError(
                f"{receipt}: can only {verb} a '{required}' application, it is '{current.status}'"
            )
        touched.add(receipt)
        result[receipt] = replace(current, status=status, reasons=(*current.reasons, code))
    return result
