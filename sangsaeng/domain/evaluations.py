"""Performance evaluations (성과평가) — PROGRAM_RULES M3: when each evaluation is due and when
the dues run reminds the office and the lead of it.

The selection date is the day of release (A2): the KST day of the round's transition to
`notified`, read from the audit trail by the service (services/evaluations.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

REMIND_BEFORE = timedelta(days=30)  # M3: 30 days before each due date
EXTENSION_BEFORE = timedelta(days=30)  # M3: extension due 30 days before valid_to
COMPLETION_WITHIN = timedelta(days=90)  # M3: completion within 90 days after valid_to


class EvaluationKind(StrEnum):
    """M3: 중간평가, 연장평가, 완료평가."""

    INTERIM = "interim"
    EXTENSION = "extension"
    COMPLETION = "completion"


class EvaluationResult(StrEnum):
    """M3: an evaluation passes or fails."""

    PASS = "pass"
    FAIL = "fail"


class ProposalState(StrEnum):
    """M3/K5: a cancellation proposed by a failed evaluation, until the office decides it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"  # the office cancelled the project (K5)
    DISMISSED = "dismissed"  # the office kept it


RESULT_NAMES = {EvaluationResult.PASS: "적합", EvaluationResult.FAIL: "부적합"}
KIND_NAMES = {EvaluationKind.INTERIM: "중간평가", EvaluationKind.EXTENSION: "연장평가",
              EvaluationKind.COMPLETION: "완료평가"}
# M3: a fail of these proposes a K5 cancellation (ground failed_evaluation)
PROPOSES_CANCELLATION = frozenset({EvaluationKind.INTERIM, EvaluationKind.COMPLETION})


@dataclass(frozen=True, slots=True)
class Due:
    """One evaluation owed: its kind, due date, the first reminder day and the window's end
    (the last day a reminder is still sent when none was), and the earliest held_on that
    counts as this evaluation's result."""

    kind: EvaluationKind
    due_on: date
    remind_on: date
    until: date
    counts_from: date


def anniversary(start: date, years: int) -> date:
    """`start` plus whole years; 29 February falls on 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def interim_dues(selected_on: date, valid_to: date) -> list[date]:
    """M3: each anniversary of the selection date before `valid_to`."""
    out, years = [], 1
    while (day := anniversary(selected_on, years)) < valid_to:
        out.append(day)
        years += 1
    return out


def evaluation_dues(selected_on: date, valid_to: date) -> list[Due]:
    """M3: every evaluation of a project, in due order, with its reminder window."""
    out, previous = [], selected_on
    for day in interim_dues(selected_on, valid_to):
        out.append(Due(EvaluationKind.INTERIM, day, day - REMIND_BEFORE, day,
                       previous + timedelta(days=1)))
        previous = day
    extension = valid_to - EXTENSION_BEFORE
    out.append(Due(EvaluationKind.EXTENSION, extension, extension - REMIND_BEFORE, extension,
                   selected_on + timedelta(days=1)))
    end = valid_to + timedelta(days=1)  # completion: reminded on valid_to + 1 day
    out.append(Due(EvaluationKind.COMPLETION, valid_to + COMPLETION_WITHIN, end,
                   valid_to + COMPLETION_WITHIN, selected_on + timedelta(days=1)))
    return sorted(out, key=lambda d: (d.due_on, d.kind))


def reminders_due(selected_on: date, valid_to: date, today: date,
                  held: dict[EvaluationKind, list[date]]) -> list[Due]:
    """M3: the evaluations to remind of today — inside their window (a missed reminder day is
    caught up by a later run until the due date) and with no result held for them yet."""
    return [d for d in evaluation_dues(selected_on, valid_to)
            if d.remind_on <= today <= d.until and not has_result(d, held)]


def has_result(due: Due, held: dict[EvaluationKind, list[date]]) -> bool:
    """Whether a result covers `due`: an evaluation of its kind held on or after `counts_from`
    and, for an interim one, on or before its due date (the next interim covers later days)."""
    days = held.get(due.kind, [])
    if due.kind is EvaluationKind.INTERIM:
        return any(due.counts_from <= h <= due.due_on for h in days)
    return any(due.counts_from <= h for h in days)
