"""The office's after-selection inputs (INTERFACES §5: production, changes, cancellations,
cost claims, listing, evaluations) from files (`support import`) or a typed form: each kind
in its own transaction over all its rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.io.support import ClaimInput, SupportFiles, read_support
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import (
    cancellations,
    certificates,
    claims,
    evaluations,
    listing,
    support,
)
from sangsaeng.settings import get_settings
from tasks.certificates import printer
from tasks.results import SAMPLE, SupportApplied
from tasks.steps import step_task


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
def record_support(form: SupportFiles, now: datetime, actor: str) -> SupportApplied:
    """The same from a typed form (one kind at a time, e.g. `SupportFiles(changes=[…])`)."""
    return apply_support(form, now, actor)
