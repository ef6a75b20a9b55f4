"""One project lookup by receipt number for every after-selection input (issue 21): a receipt
number found in several rounds is refused, naming the rounds — production (K1) and
evaluations (M3) took the first application found before, cancellations (K5) and cost claims
(M2) refused it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.certificates import Ground
from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult
from sangsaeng.domain.listing import MallStep
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.after_selection import (
    CancellationInput,
    ClaimInput,
    EvaluationInput,
    ListingInput,
)
from sangsaeng.io.rows import ProductionRow
from sangsaeng.io.sources import RowError
from sangsaeng.models import PRODUCTION, Application, Company, Participant, Round
from sangsaeng.services import cancellations, claims, evaluations, listing, production
from sangsaeng.services.projects import NoProject, Project, project_by_receipt

RECEIPT = "2030-1-001"
BRN = "123-45-67890"
NOW = parse_instant("2030-09-01T10:00:00+09:00")
SEVERAL = f"접수번호 {RECEIPT!r}의 신청이 여러 회차에 있습니다 (2030-1, 2030-2)"


@pytest.fixture
def session(env: Path) -> Iterator[Session]:
    """Two rounds, each with a selected application under the same receipt number."""
    with session_scope(get_engine()) as s:
        s.add(Company(brn=BRN, name="상생"))
        for round_id in ("2030-1", "2030-2"):
            s.add(Round(id=round_id, title=round_id, opens_at=NOW, closes_at=NOW,
                        tracks=["value"], support_years=2))
            s.flush()
            app = Application(round_id=round_id, receipt_no=RECEIPT, track="value",
                              product_name="제품", product_code="P1", submitted_at=NOW,
                              state=ApplicationState.SELECTED)
            s.add(app)
            s.flush()
            assert app.id is not None
            s.add(Participant(application_id=app.id, role="lead", seq=1, brn=BRN,
                              name="상생", size="small", founded_on=date(2010, 1, 1),
                              representative="대표", email="lead@example.com",
                              address="서울", direct_production=True))
        s.flush()
        yield s


def test_a_receipt_number_in_two_rounds_names_no_project_but_both_rounds(
        session: Session) -> None:
    found = project_by_receipt(session, RECEIPT)
    assert found == NoProject(RECEIPT, ("2030-1", "2030-2"))
    assert str(found) == SEVERAL
    assert str(project_by_receipt(session, "2099-1-001")) == (
        "알 수 없는 접수번호입니다: '2099-1-001'")


def test_one_round_finds_its_project(session: Session) -> None:
    other = session.scalar(select(Application).where(Application.round_id == "2030-2"))
    assert other is not None
    other.receipt_no = "2030-2-001"
    session.flush()
    found = project_by_receipt(session, RECEIPT)
    assert isinstance(found, Project)
    assert (found.round_id, found.state, found.track) == (
        "2030-1", ApplicationState.SELECTED, "value")


def test_K1_production_of_a_receipt_in_two_rounds_is_refused_not_taken_from_the_first(
        session: Session) -> None:
    done = production.confirm_production(session, [ProductionRow(
        RECEIPT, BRN, NOW, file="production.csv", row=2)], now=NOW, actor="test")
    assert done.refused == [RowError("production.csv", 2, None, None, SEVERAL)]
    assert [str(r) for r in done.refused] == [f"production.csv 2행: {SEVERAL}"]
    assert (done.recorded, done.rounds) == ([], [])
    assert session.scalar(select(func.count()).select_from(PRODUCTION)) == 0


def test_M3_an_evaluation_of_a_receipt_in_two_rounds_is_refused(session: Session) -> None:
    done = evaluations.record_evaluations(session, [EvaluationInput(
        RECEIPT, EvaluationKind.INTERIM, date(2030, 8, 1), EvaluationResult.PASS)],
        now=NOW, actor="test")
    assert ([str(r) for r in done.refused], done.recorded, done.pending) == ([SEVERAL], [], [])


def test_K5_M2_M1_refuse_it_with_the_same_words(session: Session) -> None:
    cancelled = cancellations.cancel(session, [CancellationInput(
        RECEIPT, Ground.ABANDONMENT, date(2030, 8, 1), "포기")], now=NOW, actor="test")
    decided = claims.decide(session, [ClaimInput(
        "C-1", RECEIPT, date(2030, 8, 1), 1_000_000, "KC 인증")], cap_krw=15_000_000,
        now=NOW, actor="test")
    steps = listing.record_steps(session, [ListingInput(
        RECEIPT, BRN, MallStep.CONTRACT, date(2030, 8, 1), "")], now=NOW, actor="test")
    assert cancelled.refused == decided.refused == steps.refused == [
        RowError("", None, None, None, SEVERAL)]  # a form's row: the reason alone
    assert [str(r) for r in steps.refused] == [SEVERAL]
