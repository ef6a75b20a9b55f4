"""The office's after-selection inputs (INTERFACES §5: production, changes, cancellations,
cost claims, listing, evaluations) from files (`support import`) or a typed form: each kind
in its own transaction over all its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.io.after_selection import ClaimInput, SupportFiles, happened_by, read_support
from sangsaeng.io.sources import RowError
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import (
    cancellations,
    certificates,
    claims,
    evaluations,
    listing,
    production,
)
from sangsaeng.services.outcome import Outcome
from sangsaeng.settings import get_settings
from tasks.certificates import printer
from tasks.results import SAMPLE, SupportApplied
from tasks.steps import step_task


@dataclass(slots=True)
class _Tally:
    """Per kind of row: how many were recorded and unchanged; every refused row, in order."""

    recorded: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    refused: list[RowError] = field(default_factory=list)

    def add(self, kind: str, done: Outcome) -> None:
        self.recorded[kind], self.unchanged[kind] = len(done.recorded), len(done.unchanged)
        self.refused += done.refused


def apply_support(found: SupportFiles, now: datetime, actor: str) -> SupportApplied:
    """Apply after-selection rows in order: production, changes (reissue), cancellations,
    cost claims (M2, decided after any cancellation of the same import), listing steps (M1),
    evaluations (M3).

    Each kind in its own transaction, so a refused row of one never undoes another's good rows.
    """
    found = happened_by(found, now)  # no event dated after the clock
    tally = _Tally(refused=list(found.errors))
    rounds_to_issue: list[str] = []
    if found.production:
        with session_scope() as session:
            done = production.confirm_production(session, found.production, now=now, actor=actor)
        tally.add("production", done)
        rounds_to_issue = done.rounds
    if found.changes:
        with session_scope() as session:
            tally.add("changes", certificates.reissue(session, found.changes, printer(),
                                                      now=now, actor=actor))
    if found.cancellations:
        with session_scope() as session:
            tally.add("cancellations", cancellations.cancel(session, found.cancellations,
                                                            now=now, actor=actor))
    if found.cost_claims:
        tally.add("cost_claims", _decide_claims(found.cost_claims, now, actor))
    pending = _apply_later(found, now, actor, tally)
    refused = [str(error) for error in tally.refused]
    kept = keep_rejections(get_settings().var_dir, "support", refused, now) \
        if len(refused) > SAMPLE else None
    return SupportApplied(tally.recorded, tally.unchanged, tuple(refused[:SAMPLE]),
                          len(refused), str(kept) if kept else None, tuple(rounds_to_issue),
                          tuple(found.not_read), tuple(pending))


def _apply_later(found: SupportFiles, now: datetime, actor: str, tally: _Tally) -> list[str]:
    """Listing steps (M1) and evaluations (M3), each in its own transaction; returns the
    receipts whose failed evaluation now proposes a cancellation."""
    if found.listing:
        with session_scope() as session:
            tally.add("listing", listing.record_steps(session, found.listing, now=now,
                                                      actor=actor))
    if not found.evaluations:
        return []
    with session_scope() as session:
        done = evaluations.record_evaluations(session, found.evaluations, now=now, actor=actor)
    tally.add("evaluations", done)
    return done.pending


def _decide_claims(items: list[ClaimInput], now: datetime, actor: str) -> Outcome:
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
