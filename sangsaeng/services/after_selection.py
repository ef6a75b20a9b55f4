"""The office's after-selection rows applied in order (INTERFACES §5: production, changes,
cancellations, cost claims, listing, evaluations) — by the `support_import` run and its forms,
and tried on the upload page, where the same checks run in a transaction that is rolled back,
so the rows the page accepts are the rows the run records (issue 23 item 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from sangsaeng.config import load_program
from sangsaeng.io.after_selection import ClaimInput, SupportFiles, happened_by
from sangsaeng.io.sources import RowError
from sangsaeng.models import Certificate
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

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(slots=True)
class Applied:
    """Per kind of row: how many were recorded and unchanged; every refused row, in order; the
    rounds whose production was confirmed (K1) and the receipts whose failed evaluation now
    proposes a cancellation (M3)."""

    recorded: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    refused: list[RowError] = field(default_factory=list)
    rounds_to_issue: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def add(self, kind: str, done: Outcome) -> None:
        self.recorded[kind], self.unchanged[kind] = len(done.recorded), len(done.unchanged)
        self.refused += done.refused


def apply(found: SupportFiles, now: datetime, actor: str, printer: certificates.Printer,
          sessions: Sessions) -> Applied:
    """Apply after-selection rows in order: production, changes (reissue), cancellations,
    cost claims (M2, decided after any cancellation of the same import), listing steps (M1),
    evaluations (M3).

    Each kind in its own `sessions()` transaction, so a refused row of one never undoes
    another's good rows.
    """
    found = happened_by(found, now)  # no event dated after the clock
    done = Applied(refused=list(found.errors))
    if found.production:
        with sessions() as session:
            confirmed = production.confirm_production(session, found.production, now=now,
                                                      actor=actor)
        done.add("production", confirmed)
        done.rounds_to_issue = list(confirmed.rounds)
    if found.changes:
        with sessions() as session:
            done.add("changes", certificates.reissue(session, found.changes, printer, now=now,
                                                     actor=actor))
    if found.cancellations:
        with sessions() as session:
            done.add("cancellations", cancellations.cancel(session, found.cancellations,
                                                           now=now, actor=actor))
    if found.cost_claims:
        with sessions() as session:
            done.add("cost_claims", _decide_claims(session, found.cost_claims, now, actor))
    if found.listing:
        with sessions() as session:
            done.add("listing", listing.record_steps(session, found.listing, now=now,
                                                     actor=actor))
    if found.evaluations:
        with sessions() as session:
            recorded = evaluations.record_evaluations(session, found.evaluations, now=now,
                                                      actor=actor)
        done.add("evaluations", recorded)
        done.pending = list(recorded.pending)
    return done


def _decide_claims(session: Session, items: list[ClaimInput], now: datetime, actor: str
                   ) -> Outcome:
    """M2 against the configured cap."""
    cap = load_program(get_settings().config_dir).support.cost_cap_krw
    return claims.decide(session, items, cap_krw=cap, now=now, actor=actor)


class _DryPrinter(certificates.Printer):
    """A trial reissues without rendering: no PDF is written, no address is checked."""

    def address_warning(self) -> str | None:
        return None

    def print_all(self, certs: Sequence[Certificate], track_names: dict[str, str],
                  step: str, session: Session) -> Iterator[tuple[Certificate, str]]:
        return ((cert, "") for cert in certs)


def trial(session: Session, found: SupportFiles, now: datetime) -> list[RowError]:
    """The rows `apply` would refuse now, read in `session` and rolled back: nothing of the
    trial is kept (no row, audit entry, notice or PDF)."""
    @contextmanager
    def same() -> Iterator[Session]:
        yield session

    settings = get_settings()
    printer = _DryPrinter(settings, load_program(settings.config_dir))
    try:
        return apply(found, now, "upload-check", printer, same).refused
    finally:
        session.rollback()
