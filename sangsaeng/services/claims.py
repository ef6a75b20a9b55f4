"""가치창출 certification-cost support claims (인증비용 지원) — PROGRAM_RULES M2.

A batch of claims (from `cost_claims.csv` or the `submit_cost_claim` form) is decided in
(`submitted_on`, `claim_id`) order: a claim of a project that is not a selected `value`-track
project gets `NOT_ELIGIBLE_TRACK` and 0; otherwise it is approved up to what remains of the
project's cap (`[support] cost_cap_krw`, 15,000,000 KRW), with `CAP_EXCEEDED` when less than
claimed is approved. Each decision is stored with the round's next decision number, audited
(M2) and sent to each lead of the project (`support.claim_decided`).

Decisions are final once made and notified: a claim that arrives later with an earlier
`submitted_on` than claims already decided does not reopen them; it is decided against the
cap remaining at that time, and `export claims` lists it where it was decided. The sum
approved per project therefore never exceeds the cap, whatever the arrival order.

Importing the same claim again changes nothing; the same `claim_id` with other content is
refused with what differs (a decided claim is never changed — give a new claim id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.domain.claims import (
    ELIGIBLE_TRACK,
    Claim,
    ClaimDecision,
    decide_claims,
    decision_order,
    format_krw,
)
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.companies import Role
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.after_selection import ClaimInput
from sangsaeng.journal import Audit, Entry, Notice, owe_notices, record
from sangsaeng.models import APPLICATIONS, COST_CLAIMS, PARTICIPANTS, CostClaim
from sangsaeng.services.outcome import Outcome
from sangsaeng.services.projects import NoProject, project_by_receipt

A, P, CC = APPLICATIONS.c, PARTICIPANTS.c, COST_CLAIMS.c
_CONTENT = ("receipt_no", "submitted_on", "amount_krw", "item", "evidence")


@dataclass(frozen=True, slots=True)
class _Project:
    id: int
    round_id: str
    receipt_no: str
    product_name: str
    eligible: bool


def decide(session: Session, items: Sequence[ClaimInput], *, cap_krw: int, now: datetime,
           actor: str) -> Outcome:
    """M2: record and decide each new claim in (submitted_on, claim_id) order; a claim seen
    before with the same content is unchanged, with other content refused; unknown receipt
    numbers refused."""
    out = Outcome()  # recorded: the claims decided, in decision order
    new: dict[str, tuple[ClaimInput, _Project]] = {}
    for item in items:
        earlier = new[item.claim_id][0] if item.claim_id in new else _stored(session, item)
        if earlier is not None:
            differs = _differences(earlier, item)
            if differs:
                # M2: a claim is decided once
                out.refuse(item, f"{item.claim_id} 청구는 이미 다른 내용으로 접수되었습니다: "
                                 f"{differs}. 청구는 한 번만 결정되므로 새 claim_id로 "
                                 "주십시오")
            else:
                out.unchanged.append(item.claim_id)
            continue
        project = _project(session, item.receipt_no)
        if isinstance(project, str):
            out.refuse(item, project)
            continue
        new[item.claim_id] = (item, project)
    _decide_new(session, list(new.values()), cap_krw, now, actor)
    out.recorded.extend(sorted(new, key=lambda c: decision_order(new[c][0].submitted_on, c)))
    return out


def _stored(session: Session, item: ClaimInput) -> ClaimInput | None:
    claim = session.get(CostClaim, item.claim_id)
    if claim is None:
        return None
    receipt_no = session.scalar(select(A.receipt_no).where(A.id == claim.application_id))
    return ClaimInput(claim.claim_id, str(receipt_no), claim.submitted_on, claim.amount_krw,
                      claim.item, claim.evidence)


def _differences(before: ClaimInput, now: ClaimInput) -> str:
    """What a repeated claim changes: `amount_krw 6000000 (이 행: 7000000)`, joined."""
    return ", ".join(f"{n} {getattr(before, n)!s} (이 행: {getattr(now, n)!s})"
                     for n in _CONTENT if getattr(before, n) != getattr(now, n))


def _project(session: Session, receipt_no: str) -> _Project | str:
    """The claim's project, or why there is none to decide against."""
    app = project_by_receipt(session, receipt_no)
    if isinstance(app, NoProject):
        return str(app)
    eligible = app.state is ApplicationState.SELECTED and app.track == ELIGIBLE_TRACK
    return _Project(app.id, app.round_id, receipt_no, app.product_name, eligible)


def _decide_new(session: Session, new: list[tuple[ClaimInput, _Project]], cap_krw: int,
                now: datetime, actor: str) -> None:
    """M2 for the batch's new claims: decided in order, each stored with the round's next
    number, audited and told to the project's leads."""
    projects = {p.receipt_no: p for _, p in new}
    before = {r: _approved_so_far(session, p.id) for r, p in sorted(projects.items())}
    items = {i.claim_id: i for i, _ in new}
    for claim, decision in decide_claims(
            [Claim(i.claim_id, p.receipt_no, i.submitted_on, i.amount_krw, p.eligible)
             for i, p in new], before, cap_krw):
        item, project = items[claim.claim_id], projects[claim.receipt_no]
        seq = (session.scalar(select(func.max(CC.seq)).where(CC.round_id == project.round_id))
               or 0) + 1
        reasons = ";".join(decision.reasons)
        session.add(CostClaim(
            claim_id=item.claim_id, seq=seq, application_id=project.id,
            round_id=project.round_id, submitted_on=item.submitted_on,
            amount_krw=item.amount_krw, item=item.item, evidence=item.evidence,
            approved_krw=decision.approved_krw, remaining_krw=decision.remaining_krw,
            reasons=reasons, decided_at=now))
        record(session, Audit(now, actor, project.round_id), [Entry(
            "cost_claim", item.claim_id, "decide", "M2", reasons, data={
                "receipt_no": project.receipt_no, "submitted_on": item.submitted_on.isoformat(),
                "amount_krw": item.amount_krw, "approved_krw": decision.approved_krw,
                "remaining_krw": decision.remaining_krw, "cap_krw": cap_krw, "seq": seq})])
        owe_notices(session, project.round_id, _to_leads(
            session, project.id, item.claim_id, _payload(item, project, decision, cap_krw)))
        session.flush()


def _approved_so_far(session: Session, app_id: int) -> int:
    """M2: what the project was approved before; its row locked, so that two imports at once
    cannot both spend the same remainder (PostgreSQL; SQLite writes one at a time)."""
    session.execute(select(A.id).where(A.id == app_id).with_for_update())
    return int(session.scalar(select(func.coalesce(func.sum(CC.approved_krw), 0)).where(
        CC.application_id == app_id)) or 0)


def _payload(item: ClaimInput, project: _Project, decision: ClaimDecision, cap_krw: int
             ) -> dict[str, Any]:
    """What `support.claim_decided` shows: the claim, the decision, amounts in Korean."""
    remaining = decision.remaining_krw
    return {"round_id": project.round_id, "receipt_no": project.receipt_no,
            "product_name": project.product_name, "claim_id": item.claim_id,
            "item": item.item, "submitted_on": format_day(item.submitted_on),
            "amount": format_krw(item.amount_krw), "approved": format_krw(decision.approved_krw),
            "remaining": None if remaining is None else format_krw(remaining),
            "cap": format_krw(cap_krw), "reasons": list(decision.reasons)}


def _to_leads(session: Session, app_id: int, claim_id: str, payload: dict[str, Any]
              ) -> list[Notice]:
    """`support.claim_decided` to each lead of the project (M2)."""
    leads = session.execute(select(P.name, P.email).where(
        P.application_id == app_id, P.role == Role.LEAD).order_by(P.seq)).all()
    return [Notice("support.claim_decided", "cost_claim", claim_id, email, name,
                   {**payload, "company_name": name}) for name, email in leads]
