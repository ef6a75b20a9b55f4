"""가치창출 certification-cost support — PROGRAM_RULES M2, as plain arithmetic.

A project's claims are decided one at a time in (`submitted_on`, `claim_id`) order against
what remains of its cap; the service (services/claims.py) keeps the order and the totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

CAP_EXCEEDED = "CAP_EXCEEDED"
NOT_ELIGIBLE_TRACK = "NOT_ELIGIBLE_TRACK"
ELIGIBLE_TRACK = "value"  # M2: only selected 가치창출 projects are supported
# The largest amount a claim may state: 1조 원, far above any certification cost and far below
# what a database integer holds (2^63 − 1), so that a mistyped amount is one refused row.
MAX_CLAIM_KRW = 10**12
# INTERFACES §5 `export claims`
CLAIM_COLUMNS = ("claim_id", "receipt_no", "amount_krw", "approved_krw", "remaining_krw",
                 "reasons")


@dataclass(frozen=True, slots=True)
class ClaimDecision:
    """M2: what one claim gets. `remaining_krw` is the cap left after it (None when the
    project has no cap: not a selected value-track project)."""

    approved_krw: int
    remaining_krw: int | None
    reasons: tuple[str, ...]


def decision_order(submitted_on: date, claim_id: str) -> tuple[date, str]:
    """M2: claims are decided in (`submitted_on`, `claim_id`) order."""
    return submitted_on, claim_id


def decide_claim(amount_krw: int, approved_so_far: int, cap_krw: int, *, eligible: bool
                 ) -> ClaimDecision:
    """M2: approve up to the cap's remainder; CAP_EXCEEDED when less than claimed is approved
    (0 when nothing remains); NOT_ELIGIBLE_TRACK and 0 for a project that is not a selected
    value-track project. Whole KRW only."""
    if amount_krw < 1:
        raise ValueError(f"a claim is a positive whole KRW amount, not {amount_krw}")
    if not eligible:
        return ClaimDecision(0, None, (NOT_ELIGIBLE_TRACK,))
    remaining = max(cap_krw - approved_so_far, 0)
    approved = min(amount_krw, remaining)
    reasons = (CAP_EXCEEDED,) if approved < amount_krw else ()
    return ClaimDecision(approved, remaining - approved, reasons)


@dataclass(frozen=True, slots=True)
class Claim:
    """M2: what a decision needs to know of a claim: its project (receipt number) and whether
    that project is a selected value-track project."""

    claim_id: str
    receipt_no: str
    submitted_on: date
    amount_krw: int
    eligible: bool


def decide_claims(claims: Iterable[Claim], approved_before: Mapping[str, int], cap_krw: int
                  ) -> list[tuple[Claim, ClaimDecision]]:
    """M2: decide a batch in (`submitted_on`, `claim_id`) order, each project's cap shared by
    what was approved before (`approved_before`, by receipt number) and the batch's claims."""
    spent = dict(approved_before)
    decided = []
    for claim in sorted(claims, key=lambda c: decision_order(c.submitted_on, c.claim_id)):
        decision = decide_claim(claim.amount_krw, spent.get(claim.receipt_no, 0), cap_krw,
                                eligible=claim.eligible)
        spent[claim.receipt_no] = spent.get(claim.receipt_no, 0) + decision.approved_krw
        decided.append((claim, decision))
    return decided


def format_krw(amount: int) -> str:
    """Korean display of an amount: `6,000,000원`."""
    return f"{amount:,}원"
