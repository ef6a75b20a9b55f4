"""End-to-end check of the domain rules on the 2022-2 example round (§4–§6)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.companies import Size, is_policy_priority
from sangsaeng.domain.ranking import Candidate, place_candidates
from sangsaeng.domain.scoring import (
    Affiliation,
    Criterion,
    ReviewRules,
    ReviewSheet,
    aggregate,
    conflicted_reviewers,
    fail_reasons,
    insufficient_reviews,
    parse_score,
    split_valid,
)
from sangsaeng.domain.screening import (
    ApplicationFacts,
    Document,
    Participant,
    PriorCertificate,
    ScreeningRules,
    screen_round,
    supplement_deadline,
)
from sangsaeng.domain.selection import (
    SELECTION_COLUMNS,
    Company,
    SelectedProject,
    announcement_figures,
    selection_rows,
)
from sangsaeng.domain.states import ApplicationState

ROUND_DIR = Path(__file__).resolve().parents[2] / "data" / "rounds" / "2022-2"
CLOSES_AT = parse_instant("2022-05-27T18:00:00+09:00")
STARTUP_YEARS = 7
CONFLICT_YEARS = 3
CRITERIA = (
    Criterion("growth", "성장성", Decimal(30)),
    Criterion("plan", "사업계획", Decimal(30)),
    Criterion("cooperation", "상생협력 성과", Decimal(40)),
)
REVIEW = ReviewRules(
    cutoff=Decimal(70),
    item_floor_ratio=Decimal("0.4"),
    min_reviews=3,
    trim_at=5,
    tie_break_criteria=("cooperation", "growth"),
)
TRACKS = ("innovation", "materials", "convergence", "value")

Rows = dict[str, list[dict[str, str]]]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def package() -> Rows:
    """The round's package/*.csv and expected/*.csv files, by stem."""
    if not ROUND_DIR.is_dir():
        pytest.skip(f"example round not present: {ROUND_DIR}")
    files = [*ROUND_DIR.joinpath("package").glob("*.csv")]
    files += ROUND_DIR.joinpath("expected").glob("*.csv")
    return {p.stem: _read(p) for p in files}


def _facts(rows: Rows) -> list[ApplicationFacts]:
    parts: dict[str, list[Participant]] = defaultdict(list)
    for r in rows["participants"]:
        parts[r["receipt_no"]].append(
            Participant(
                role=r["role"],
                seq=int(r["seq"]),
                brn=r["brn"],
                size=Size(r["size"]),
                founded_on=date.fromisoformat(r["founded_on"]),
                direct_production=r["direct_production"] == "true",
            )
        )
    docs: dict[str, list[Document]] = defaultdict(list)
    for r in rows["documents"]:
        docs[r["receipt_no"]].append(
            Document(r["brn"] or None, r["doc_type"], parse_instant(r["submitted_at"]))
        )
    return [
        ApplicationFacts(
            receipt_no=r["receipt_no"],
            track=r["track"],
            product_code=r["product_code"],
            submitted_at=parse_instant(r["submitted_at"]),
            participants=tuple(parts[r["receipt_no"]]),
            documents=tuple(docs[r["receipt_no"]]),
        )
        for r in rows["applications"]
    ]


def _decide(rows: Rows, review: ReviewRules = REVIEW, quotas: Mapping[str, int] | None = None
            ) -> dict[str, tuple[str, str, str, str]]:
    """Screen, score and rank the round: receipt → (status, score, rank, reasons); `review`
    and `quotas` other than the round's for a what-if (tests/integration/test_whatif.py)."""
    apps = _facts(rows)
    deadline = supplement_deadline(CLOSES_AT, 5, (), time(18, 0))
    rules = ScreeningRules(
        closes_at=CLOSES_AT,
        supplement_deadline=deadline,
        startup_years=STARTUP_YEARS,
        required_application_documents=("application_form", "business_plan", "agreement"),
        required_lead_documents=("sme_certificate",),
    )
    sanctions = {r["brn"]: date.fromisoformat(r["banned_until"]) for r in rows["sanctions"]}
    certs = [
        PriorCertificate(
            r["brn"],
            r["product_code"],
            date.fromisoformat(r["valid_from"]),
            date.fromisoformat(r["valid_to"]),
        )
        for r in rows["certificates"]
    ]
    now = datetime(2022, 6, 10, 9, 0, tzinfo=CLOSES_AT.tzinfo)
    screened = screen_round(apps, rules, sanctions=sanctions, prior_certificates=certs, now=now)

    affiliations: dict[str, list[Affiliation]] = defaultdict(list)
    for r in rows["affiliations"]:
        until = date.fromisoformat(r["until"]) if r["until"] else None
        affiliations[r["reviewer_id"]].append(Affiliation(r["brn"], until))
    maxima = {c.key: c.max for c in CRITERIA}
    sheets: dict[str, list[ReviewSheet]] = defaultdict(list)
    for r in rows["scores"]:
        scores = {key: parse_score(r[key], maximum) for key, maximum in maxima.items()}
        sheets[r["receipt_no"]].append(ReviewSheet(r["reviewer_id"], scores))

    out: dict[str, tuple[str, str, str, str]] = {}
    candidates: list[Candidate] = []
    counts: dict[str, int] = {}
    for app in apps:
        outcome = screened[app.receipt_no]
        if outcome.state is not ApplicationState.ELIGIBLE:
            out[app.receipt_no] = (outcome.state, "", "", ";".join(outcome.reasons))
            continue
        brns = {p.brn for p in app.participants}
        conflicted = conflicted_reviewers(affiliations, brns, CLOSES_AT, CONFLICT_YEARS)
        valid, _excluded = split_valid(sheets[app.receipt_no], CRITERIA, conflicted)
        counts[app.receipt_no] = len(valid)
        agg = aggregate(valid, CRITERIA, review.trim_at)
        lead = app.representative_lead
        candidates.append(
            Candidate(
                receipt_no=app.receipt_no,
                track=app.track,
                score=agg.score,
                criterion_means=agg.criterion_means,
                policy_priority=is_policy_priority(
                    lead.size, lead.founded_on, CLOSES_AT, STARTUP_YEARS
                ),
                fail_reasons=fail_reasons(agg, CRITERIA, review),
            )
        )
    assert insufficient_reviews(counts, review.min_reviews) == ()
    placements = place_candidates(
        candidates, quotas=quotas or {}, tie_break_criteria=review.tie_break_criteria
    )
    for cand in candidates:
        p = placements[cand.receipt_no]
        rank = "" if p.rank is None else str(p.rank)
        out[cand.receipt_no] = (p.status, f"{cand.score:.2f}", rank, ";".join(p.reasons))
    return out


def test_round_2022_2_reproduces_expected_decisions(package: Rows) -> None:
    decided = _decide(package)
    expected = {
        r["receipt_no"]: (r["status"], r["score"], r["rank"], r["reasons"])
        for r in package["decisions"]
    }
    mismatches = {k: (decided.get(k), v) for k, v in expected.items() if decided.get(k) != v}
    assert mismatches == {}
    assert decided.keys() == expected.keys()


def _projects(rows: Rows, selected: set[str]) -> list[SelectedProject]:
    companies: dict[tuple[str, str], list[Company]] = defaultdict(list)
    for r in rows["participants"]:
        company = Company(int(r["seq"]), r["name"], Size(r["size"]))
        companies[r["receipt_no"], r["role"]].append(company)
    return [
        SelectedProject(
            receipt_no=r["receipt_no"],
            track=r["track"],
            product_name=r["product_name"],
            leads=tuple(companies[r["receipt_no"], "lead"]),
            partners=tuple(companies[r["receipt_no"], "partner"]),
        )
        for r in rows["applications"]
        if r["receipt_no"] in selected
    ]


def test_round_2022_2_A1_selection_list_and_A2_figures(package: Rows) -> None:
    selected = {r["receipt_no"] for r in package["decisions"] if r["status"] == "selected"}
    projects = _projects(package, selected)
    expected = [tuple(r[c] for c in SELECTION_COLUMNS) for r in package["selection"]]
    assert selection_rows(reversed(projects), support_years=3) == expected
    figures = announcement_figures(len(package["applications"]), projects, TRACKS)
    assert (figures.applications, figures.selected, figures.lead_participations) == (36, 12, 29)
    assert dict(figures.by_track) == {"innovation": 7, "materials": 1, "convergence": 1, "value": 3}
