"""Committee review (평가, PROGRAM_RULES §5): conflicts, valid reviews, scores, ranks, decisions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.domain.companies import Role, Size, is_policy_priority
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.ranking import (
    Candidate,
    ChairDecision,
    ChairDecisionError,
    Placement,
    apply_chair_decision,
    place_candidates,
)
from sangsaeng.domain.scoring import (
    Affiliation as AffiliationFacts,
)
from sangsaeng.domain.scoring import (
    ReviewRules,
    ReviewSheet,
    aggregate,
    conflicted_reviewers,
    fail_reasons,
    split_valid,
)
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.errors import ReviewIncomplete, StepError
from sangsaeng.journal import Audit, Entry, Notice, move_round, owe_notices, record
from sangsaeng.models import (
    AFFILIATIONS,
    APPLICATIONS,
    DECISIONS,
    REVIEWERS,
    SCORES,
    Application,
    Decision,
    Reviewer,
    Round,
    Score,
)
from sangsaeng.services.round_data import criteria_of, people_by_application
from sangsaeng.services.screening import waiting_applications

AF = AFFILIATIONS.c
A = APPLICATIONS.c
DC = DECISIONS.c
RV = REVIEWERS.c
SC = SCORES.c


@dataclass
class ReviewSummary:
    """The committee's proposal: per-status counts and excluded (conflicted) sheets."""

    proposed: dict[str, int] = field(default_factory=dict)
    excluded: list[tuple[str, str, str]] = field(default_factory=list)  # receipt, reviewer, why


def review_rules(rnd: Round) -> ReviewRules:
    """The round's frozen review rules (R3)."""
    cfg = rnd.settings["review"]
    return ReviewRules(
        cutoff=Decimal(str(cfg["cutoff"])), item_floor_ratio=Decimal(str(cfg["item_floor_ratio"])),
        min_reviews=int(cfg["min_reviews"]), trim_at=int(cfg["trim_at"]),
        tie_break_criteria=tuple(cfg["tie_break_criteria"]),
    )


@dataclass
class _Proposal:
    placements: dict[str, Placement]
    rows: dict[int, dict[str, object]]
    excluded: list[tuple[int, str, str, str]]  # app id, receipt, reviewer, why
    assignments: dict[str, list[str]]           # reviewer → receipts with a valid sheet


def _affiliations(session: Session, round_id: str) -> dict[str, list[AffiliationFacts]]:
    out: dict[str, list[AffiliationFacts]] = defaultdict(list)
    for reviewer, brn, until in session.execute(select(
            AF.reviewer_id, AF.brn, AF.until)
            .where(AF.round_id == round_id)):
        out[reviewer].append(AffiliationFacts(brn, until))
    return out


def _propose(session: Session, rnd: Round, *, reviewed: bool = False) -> _Proposal:
    """Compute the whole proposal in memory; raise ReviewIncomplete before anything is written.

    `reviewed`: of the applications the committee reviewed (those with a decision, whatever
    their state since), under `rnd.settings` — a what-if over a decided round."""
    rules, criteria = review_rules(rnd), criteria_of(rnd)
    horizon = int(rnd.settings["review"]["conflict_years"])
    startup_years = int(rnd.settings["screening"]["startup_years"])
    which = (select(Application).join(DECISIONS, DC.application_id == A.id) if reviewed
             else select(Application).where(A.state == ApplicationState.ELIGIBLE))
    apps = {a.id: a for a in session.execute(which.where(A.round_id == rnd.id)).scalars()}
    people = people_by_application(session, rnd.id)
    sheets: dict[int, list[ReviewSheet]] = defaultdict(list)
    for app_id, reviewer, scores in session.execute(select(
            SC.application_id, SC.reviewer_id, SC.scores)
            .where(SC.application_id.in_(list(apps)))) if apps else []:
        sheets[app_id].append(ReviewSheet(reviewer, {k: Decimal(v) for k, v in scores.items()}))
    affiliations = _affiliations(session, rnd.id)
    candidates, rows, short = [], {}, []
    excluded: list[tuple[int, str, str, str]] = []
    assignments: dict[str, list[str]] = defaultdict(list)
    for app_id, app in apps.items():
        assert app_id is not None
        brns = {p.brn for p in people.get(app_id, [])}
        scored = {s.reviewer_id: affiliations.get(s.reviewer_id, ()) for s in sheets[app_id]}
        conflicted = conflicted_reviewers(scored, brns, rnd.closes_at, horizon)  # V3
        valid, dropped = split_valid(sheets[app_id], criteria[app.track], conflicted)  # V4
        excluded += [(app_id, app.receipt_no, reviewer, why) for reviewer, why in dropped]
        for sheet in valid:
            assignments[sheet.reviewer_id].append(app.receipt_no)
        if len(valid) < rules.min_reviews:
            why = "".join(f"; {r} {w}" for r, w in dropped)
            short.append(f"{app.receipt_no} ({len(valid)} valid{why})")
            continue
        agg = aggregate(valid, criteria[app.track], rules.trim_at)  # V5, V6
        lead = min((p for p in people[app_id] if p.role == Role.LEAD), key=lambda p: p.seq)
        candidates.append(Candidate(
            app.receipt_no, app.track, agg.score, agg.criterion_means,
            is_policy_priority(Size(lead.size), lead.founded_on, rnd.closes_at, startup_years),
            fail_reasons(agg, criteria[app.track], rules)))  # V7
        rows[app_id] = {"score": agg.score,
                        "criterion_means": {k: str(v) for k, v in agg.criterion_means.items()},
                        "kept_reviewers": list(agg.kept), "dropped_reviewers": list(agg.dropped)}
    if short:
        raise ReviewIncomplete(sorted(short, key=natural_key), rules.min_reviews)
    placements = place_candidates(candidates, quotas=rnd.settings["quota"],
                                  tie_break_criteria=rules.tie_break_criteria)  # V8, V9
    return _Proposal(placements, rows, excluded, assignments)


def recompute(session: Session, rnd: Round) -> dict[str, tuple[Placement, Decimal]]:
    """The committee's proposal for a decided round's reviewed applications under the rules in
    `rnd.settings` (a what-if: nothing is written): receipt → (placement, score)."""
    proposal = _propose(session, rnd, reviewed=True)
    receipts = dict(session.execute(select(A.receipt_no, A.id).where(A.round_id == rnd.id)).all())
    return {r: (p, Decimal(str(proposal.rows[receipts[r]]["score"])))
            for r, p in proposal.placements.items()}


def _ready_for_review(session: Session, rnd: Round) -> bool:
    """§4/R2: screening must be final; False once decided (the proposal is frozen)."""
    if rnd.state is RoundState.SCREENING:
        waiting = waiting_applications(session, rnd)
        if waiting:
            raise StepError(f"screening is not final for {len(waiting)} application(s): "
                            f"{', '.join(sorted(waiting, key=natural_key)[:10])}")
        return True
    if rnd.state in (RoundState.DRAFT, RoundState.OPEN, RoundState.CLOSED):
        raise StepError(f"round {rnd.id} is {rnd.state}: screen it before the review")
    return rnd.state is RoundState.REVIEW


def propose_decisions(session: Session, rnd: Round, *, now: datetime, actor: str
                      ) -> ReviewSummary:
    """V10: record the committee's decision as pending; a re-run with the same data is a no-op.

    Writes: the decisions (pending), the V3/V4 flags on unused sheets, an audit row per
    excluded sheet and per proposal, and a `review.assignment` notice per reviewer.
    """
    if not _ready_for_review(session, rnd):
        return ReviewSummary()
    proposal = _propose(session, rnd)
    summary = ReviewSummary(excluded=[(r, rv, w) for _, r, rv, w in proposal.excluded])
    for p in proposal.placements.values():
        summary.proposed[p.status] = summary.proposed.get(p.status, 0) + 1
    if rnd.state is RoundState.SCREENING:
        move_round(session, rnd, RoundState.REVIEW, at=now, actor=actor, rule="R2",
                   reason="committee review")
    ids = {r: i for i, r in session.execute(select(A.id, A.receipt_no)
                                            .where(A.round_id == rnd.id))}
    new_rows = [{
        "application_id": ids[p.receipt_no], "round_id": rnd.id, "proposed_status": p.status,
        "status": None, "rank": p.rank, "reasons": ";".join(p.reasons), "proposed_at": now,
        "approved_at": None, **proposal.rows[ids[p.receipt_no]],
    } for p in proposal.placements.values()]
    app_ids = list(ids.values())
    if _unchanged(session, rnd, app_ids, new_rows, proposal.excluded):
        return summary
    _store(session, rnd, app_ids, new_rows, proposal.excluded)
    by = Audit(now, actor, rnd.id)
    record(session, by, (Entry(
        "application", receipt, "score.excluded", "V3" if why == "CONFLICT" else "V4",
        f"reviewer {reviewer}: {why}", data={"reviewer_id": reviewer})
        for _, receipt, reviewer, why in proposal.excluded))
    record(session, by, (Entry(
        "application", p.receipt_no, "decision.proposed", "V6-V9", ";".join(p.reasons),
        to_state=p.status,
        data={"score": str(proposal.rows[ids[p.receipt_no]]["score"]), "rank": p.rank})
        for p in proposal.placements.values()))
    _owe_assignments(session, rnd, proposal.assignments)
    crashpoints.reach("committee_review-after-proposal-flushed",
                      f"{len(new_rows)} decision(s) proposed, not committed")
    return summary


def _unchanged(session: Session, rnd: Round, app_ids: list[int], rows: list[dict[str, object]],
               excluded: list[tuple[int, str, str, str]]) -> bool:
    """The same proposal and the same unused sheets as stored: a re-run writes nothing."""
    current = {d.application_id: d for d in session.execute(
        select(Decision).where(DC.round_id == rnd.id)).scalars()}
    flagged = {(a, r): w for a, r, w in session.execute(
        select(SC.application_id, SC.reviewer_id, SC.excluded).where(
            SC.application_id.in_(app_ids), SC.excluded.is_not(None)))}
    return _same(current, rows) and flagged == {(a, r): w for a, _, r, w in excluded}


def _store(session: Session, rnd: Round, app_ids: list[int], rows: list[dict[str, object]],
           excluded: list[tuple[int, str, str, str]]) -> None:
    """Replace the round's pending decisions; V3/V4: flag the sheets that were not used."""
    session.execute(delete(Decision).where(DC.round_id == rnd.id))
    session.execute(insert(Decision), rows)
    session.execute(update(Score).where(SC.application_id.in_(app_ids)).values(excluded=None))
    if excluded:  # in one statement
        session.execute(
            update(SCORES).where(SC.application_id == bindparam("app"),
                                 SC.reviewer_id == bindparam("reviewer"))
            .values(excluded=bindparam("why")),
            [{"app": app_id, "reviewer": reviewer, "why": why}
             for app_id, _, reviewer, why in excluded])


def _same(current: dict[int, Decision], rows: list[dict[str, object]]) -> bool:
    if len(current) != len(rows):
        return False
    for row in rows:
        d = current.get(int(str(row["application_id"])))
        if d is None or (d.proposed_status, d.rank, d.reasons, d.score, d.criterion_means,
                         d.kept_reviewers, d.dropped_reviewers) != (
                row["proposed_status"], row["rank"], row["reasons"], row["score"],
                row["criterion_means"], row["kept_reviewers"], row["dropped_reviewers"]):
            return False
    return True


def _owe_assignments(session: Session, rnd: Round, assignments: dict[str, list[str]]) -> None:
    """`review.assignment`: each reviewer is told the applications they review."""
    reviewers = {r.reviewer_id: r for r in session.execute(
        select(Reviewer).where(RV.round_id == rnd.id)).scalars()}
    owe_notices(session, rnd.id, [
        Notice("review.assignment", "round", rnd.id, reviewers[rid].email, reviewers[rid].name,
               {"round_id": rnd.id, "round_title": rnd.title, "reviewer_id": rid,
                "receipts": sorted(receipts, key=natural_key)})
        for rid, receipts in sorted(assignments.items()) if rid in reviewers])


def approve(session: Session, rnd: Round, decision: ChairDecision, *, now: datetime,
            actor: str) -> int:
    """V10: the chair approves the proposal, with audited changes: review → decided.

    Returns how many applications the chair's changes moved."""
    if rnd.state is not RoundState.REVIEW:
        raise StepError(f"round {rnd.id} is {rnd.state}: only a round in review can be approved")
    rows = {d.application_id: d for d in session.execute(
        select(Decision).where(DC.round_id == rnd.id)).scalars()}
    receipts = dict(session.execute(select(A.id, A.receipt_no)
                                    .where(A.round_id == rnd.id)).all())
    placements = {receipts[i]: Placement(receipts[i], d.proposed_status, d.rank,
                                         tuple(filter(None, d.reasons.split(";"))))
                  for i, d in rows.items()}
    try:
        final = apply_chair_decision(placements, decision)
    except ChairDecisionError as exc:
        raise StepError(f"chair's decision not applied: {exc}") from None
    session.execute(update(Decision), [
        {"application_id": i, "status": final[receipts[i]].status,
         "reasons": ";".join(final[receipts[i]].reasons), "approved_at": now} for i in rows])
    actions = [("chair.exclude", a) for a in decision.exclude] + [
        ("chair.include", a) for a in decision.include]
    record(session, Audit(now, actor, rnd.id), (Entry(
        "application", a.receipt_no, kind, "V10", a.reason,
        from_state=placements[a.receipt_no].status, to_state=final[a.receipt_no].status)
        for kind, a in actions))
    move_round(session, rnd, RoundState.DECIDED, at=now, actor=actor, rule="V10",
               reason=f"approved by the chair ({len(actions)} change(s))")
    crashpoints.reach("committee_review-after-approval-flushed",
                      f"{len(rows)} decision(s) approved, not committed")
    return len(actions)


def refuse(session: Session, rnd: Round, *, reason: str, now: datetime, actor: str) -> None:
    """V10: the chair does not approve. Nothing is decided or released; the refusal is audited
    (`chair.refuse`) and the round stays in review until the chair decides again."""
    if rnd.state is not RoundState.REVIEW:
        raise StepError(f"round {rnd.id} is {rnd.state}: only a round in review awaits the chair")
    record(session, Audit(now, actor, rnd.id), [Entry(
        "round", rnd.id, "chair.refuse", "V10", reason.strip() or "not approved")])
