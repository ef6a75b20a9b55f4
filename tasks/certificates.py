"""Tasks after the selection: certificate issuance (K1–K4), the office's after-selection inputs
(INTERFACES §5: production, changes, cancellations, cost claims, listing) and the daily dues
run (K6a, M1b, M1c).

Each task is one transaction over all rows; a PDF written before a failure is overwritten by the
next run with the same number (services/certificates.py), so numbering has no gap.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.domain.certificates import number_ranges
from sangsaeng.domain.clock import kst_date
from sangsaeng.domain.evaluations import ProposalState
from sangsaeng.io.support import (
    CancellationInput,
    ChangeInput,
    ClaimInput,
    EvaluationInput,
    ListingInput,
    ProductionInput,
    SupportFiles,
    read_support,
)
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import (
    cancellations,
    certificates,
    claims,
    evaluations,
    listing,
    rounds,
    support,
)
from sangsaeng.settings import get_settings
from tasks.results import SAMPLE, DuesDone, Issued, SupportApplied
from tasks.steps import step_task


def printer() -> certificates.Printer:
    """The PDF printer for this process's settings and program."""
    settings = get_settings()
    return certificates.Printer(settings, load_program(settings.config_dir))


@step_task
def issue_certificates(round_id: str, now: datetime, actor: str) -> Issued:
    """K1–K4: number, date, print and notify every confirmed lead not yet certified."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        done = certificates.issue(session, rnd, printer(), now=now, actor=actor)
        state = rnd.state
    kept = keep_rejections(get_settings().var_dir, f"{round_id}-no-certificate",
                           [line for _, line in done.skipped], now) if done.skipped else None
    why: dict[str, int] = {}
    for reason, _ in done.skipped:
        why[reason] = why.get(reason, 0) + 1
    return Issued(len(done.numbers), number_ranges(done.numbers), why,
                  str(kept) if kept else None, done.notices, state)



def apply_support(found: SupportFiles, now: datetime, actor: str) -> SupportApplied:
    """Apply after-selection rows in order: production, changes (reissue), cancellations,
    cost claims (M2, decided after any cancellation of the same import), listing steps (M1),
    evaluations (M3).

    Each kind in its own transaction, so a refused row of one never undoes another's good rows.
    """
    recorded: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    refused = [str(e) for e in found.errors]
    rounds_to_issue: list[str] = []
    if found.production:
        with session_scope() as session:
            done = support.confirm_production(session, found.production, now=now, actor=actor)
        recorded["production"], unchanged["production"] = len(done.recorded), len(done.unchanged)
        refused += done.refused
        rounds_to_issue = done.rounds
    if found.changes:
        with session_scope() as session:
            changed = certificates.reissue(session, found.changes, printer(), now=now,
                                           actor=actor)
        recorded["changes"], unchanged["changes"] = len(changed.reissued), len(changed.unchanged)
        refused += changed.refused
    if found.cancellations:
        with session_scope() as session:
            cancelled = cancellations.cancel(session, found.cancellations, now=now, actor=actor)
        recorded["cancellations"] = len(cancelled.cancelled)
        unchanged["cancellations"] = len(cancelled.unchanged)
        refused += cancelled.refused
    if found.cost_claims:
        decided = _decide_claims(found.cost_claims, now, actor)
        recorded["cost_claims"], unchanged["cost_claims"] = len(decided.decided), \
            len(decided.unchanged)
        refused += decided.refused
    pending = _apply_later(found, now, actor, (recorded, unchanged, refused))
    kept = keep_rejections(get_settings().var_dir, "support", refused, now) \
        if len(refused) > SAMPLE else None
    return SupportApplied(recorded, unchanged, tuple(refused[:SAMPLE]), len(refused),
                          str(kept) if kept else None, tuple(rounds_to_issue),
                          tuple(found.not_read), tuple(pending))


def _apply_later(found: SupportFiles, now: datetime, actor: str,
                 out: tuple[dict[str, int], dict[str, int], list[str]]) -> list[str]:
    """Listing steps (M1) and evaluations (M3), each in its own transaction; returns the
    receipts whose failed evaluation now proposes a cancellation."""
    recorded, unchanged, refused = out
    if found.listing:
        with session_scope() as session:
            steps = listing.record_steps(session, found.listing, now=now, actor=actor)
        recorded["listing"], unchanged["listing"] = len(steps.recorded), len(steps.unchanged)
        refused += steps.refused
    if not found.evaluations:
        return []
    with session_scope() as session:
        done = evaluations.record_evaluations(session, found.evaluations, now=now, actor=actor)
    recorded["evaluations"], unchanged["evaluations"] = len(done.recorded), len(done.unchanged)
    refused += done.refused
    return done.pending


def _decide_claims(items: list[ClaimInput], now: datetime, actor: str) -> claims.ClaimsDecided:
    """M2 in one transaction, against the configured cap."""
    cap = load_program(get_settings().config_dir).support.cost_cap_krw
    with session_scope() as session:
        return claims.decide(session, items, cap_krw=cap, now=now, actor=actor)


@step_task
def import_support(path: str, now: datetime, actor: str) -> SupportApplied:
    """INTERFACES §5 `support import`: read the files at `path` and apply their good rows."""
    return apply_support(read_support(Path(path)), now, actor)


@step_task
def record_support(production: list[ProductionInput], changes: list[ChangeInput],
                   cancellations_: list[CancellationInput], now: datetime, actor: str,
                   cost_claims: list[ClaimInput] | None = None,
                   listing_: list[ListingInput] | None = None,
                   evaluations_: list[EvaluationInput] | None = None) -> SupportApplied:
    """The same from a typed form (one kind at a time)."""
    return apply_support(SupportFiles("form", production=production, changes=changes,
                                      cancellations=cancellations_,
                                      cost_claims=cost_claims or [], listing=listing_ or [],
                                      evaluations=evaluations_ or []),
                         now, actor)


@step_task
def run_dues(now: datetime) -> DuesDone:
    """The daily dues run: K6/K6a expiry reminders, M1b listing reminders and M1c escalations,
    M3 evaluation dues (idempotent for a day)."""
    day, program = kst_date(now), load_program(get_settings().config_dir)
    with session_scope() as session:
        expiring = support.expiry_reminders(session, program, day)
        stalled = listing.listing_dues(session, program.support, now)
        evaluating = evaluations.evaluation_dues(session, program, day)
    return DuesDone(day.isoformat(), {"certificate.expiring": expiring,
                                      "listing.reminder": stalled.reminders,
                                      "evaluation.due": evaluating}, stalled.escalated)


@step_task
def pending_cancellation(receipt_no: str) -> evaluations.Pending | None:
    """M3: the oldest cancellation proposed for `receipt_no` still waiting for the office."""
    with session_scope() as session:
        found = evaluations.pending_cancellations(session, receipt_no)
    return found[0] if found else None


@step_task
def decide_cancellation(pending_id: int, confirm: bool, reason: str, decided_by: str,
                        now: datetime) -> tuple[str, list[str]]:
    """M3/K5: the office's decision on a proposed cancellation: (state, leads banned)."""
    with session_scope() as session:
        found = [p for p in evaluations.pending_cancellations(session) if p.id == pending_id]
        if not found:  # decided meanwhile (another review run of the same proposal)
            return "already decided", []
        pending = found[0]
        done = evaluations.decide_pending(session, pending, confirm=confirm, reason=reason,
                                          decided_by=decided_by, now=now)
    return ((ProposalState.CONFIRMED.value, done.banned) if done is not None
            else (ProposalState.DISMISSED.value, []))


@step_task
def begin_listing_support(round_id: str, now: datetime, actor: str) -> tuple[str, dict[str, int]]:
    """R2/M1: the round's last step: `certifying → support`; products per current step."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        steps = listing.begin_support(session, rnd, now=now, actor=actor)
        return str(rnd.state), steps
