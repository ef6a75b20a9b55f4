"""The 2022-2 replay through the flows: outputs equal `expected/`; re-runs change nothing."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.errors import ImportRejected, ReviewIncomplete
from sangsaeng.models import Application, AuditEvent, Decision, OutboxMessage, Round
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import counts, decisions_csv, read_csv, run, selection_csv

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def expected(name: str) -> list[list[str]]:
    return read_csv((ROUND_2022_2 / "expected" / name).read_text(encoding="utf-8-sig"))


def test_replay_reproduces_expected_outputs_and_rerun_changes_nothing(env: Path) -> None:
    report = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert report.state == "support"  # certificates issued (K1), listing support begun (M1)
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")
    assert read_csv(selection_csv("2022-2")) == expected("selection.csv")
    before = counts()
    with _told() as said:  # what the run's log says
        again = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert again.state == "support"
    assert counts() == before
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")
    # issue 23 item 2: the run again over finished steps says so once, not each step as new
    assert [m for m in said if "이미 끝난 단계" in m] == [
        "2022-2 이미 끝난 단계 (바뀐 것 없음): 공고 게시 · 접수 자료 가져오기 · 요건 검토 · "
        "선정 통보 · 확인서 발급"], said
    assert not [m for m in said if "없음 추가" in m or "이미 게시되어" in m], said


@contextmanager
def _told() -> Iterator[list[str]]:
    """The flow runs' log lines while the block runs (a handler on Prefect's own logger:
    Prefect configures logging on its first run, which drops pytest's capture)."""
    said: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    logger, handler = logging.getLogger("prefect.flow_runs"), Keep(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield said
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_replay_owes_each_outcome_notice_to_every_participant(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    with session_scope(get_engine()) as session:
        rows = session.execute(select(OutboxMessage.kind, OutboxMessage.subject_id,
                                      OutboxMessage.recipient)).all()
    selected = {(s, r) for k, s, r in rows if k == "selection.selected"}
    assert len({s for s, _ in selected}) == 12
    # 2022-2-021: 18 leads and one partner, each told once
    assert len({r for s, r in selected if s == "2022-2-021"}) == 19
    ineligible = {s for k, s, _ in rows if k == "screening.ineligible"}
    assert ineligible == {r[0] for r in expected("decisions.csv")[1:] if r[2] == "ineligible"}
    not_selected = {s for k, s, _ in rows if k == "selection.not_selected"}
    assert not_selected == {r[0] for r in expected("decisions.csv")[1:] if r[2] == "not_selected"}
    late = {s for k, s, _ in rows if k == "application.rejected_late"}
    assert late == {"2022-2-003", "2022-2-022"}
    # §4.6: documents missing at the close put the application in supplement_requested first;
    # in a replay that step is recorded, but no request is owed: its deadline has passed
    assert not any(k == "screening.supplement_requested" for k, _, _ in rows)
    with session_scope(get_engine()) as session:
        paths = {r: [tuple(p) for p in session.execute(
            select(AuditEvent.from_state, AuditEvent.to_state).where(
                AuditEvent.entity_id == r, AuditEvent.action == "transition")
            .order_by(AuditEvent.id)).all()] for r in ("2022-2-028", "2022-2-022")}
    assert paths["2022-2-028"] == [("received", "supplement_requested"),
                                   ("supplement_requested", "eligible"), ("eligible", "selected")]
    assert paths["2022-2-022"] == [("received", "supplement_requested"),
                                   ("supplement_requested", "ineligible")]


def test_conflicted_review_is_excluded_and_audited(env: Path) -> None:
    report = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    review = next(s for s in report.steps if s.step.value == "committee_review")
    assert ["2022-2-021", "R03", "CONFLICT"] in [list(x) for x in review.excluded]
    with session_scope(get_engine()) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "score.excluded")).scalars().one()
    assert (event.entity_id, event.rule) == ("2022-2-021", "V3")


def test_run_before_the_deadline_waits_with_intake_open(env: Path) -> None:
    report = run(CONFIG, PACKAGE, "2022-05-20T10:00:00+09:00")
    assert report.state == "open"
    assert report.waiting_for and "deadline" in report.waiting_for


def test_run_before_supplement_deadline_waits_then_rechecks(env: Path) -> None:
    # S1: closes 2022-05-27 18:00; supplements until 2022-06-07 18:00 KST
    report = run(CONFIG, PACKAGE, "2022-06-03T10:00:00+09:00")
    assert report.state == "screening"
    assert report.waiting_for and "2022년 6월 7일(화) 18:00" in report.waiting_for
    with session_scope(get_engine()) as session:
        states = dict(session.execute(
            select(Application.receipt_no, Application.state)).all())
        asked = set(session.execute(select(OutboxMessage.subject_id).where(
            OutboxMessage.kind == "screening.supplement_requested")).scalars())
    assert states["2022-2-024"] == states["2022-2-028"] == "supplement_requested"
    assert {"2022-2-019", "2022-2-024", "2022-2-028"} <= asked
    assert "2022-2-022" not in asked  # late anyway: no request for documents
    final = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert final.state == "support"
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")


def test_without_approval_the_round_stops_at_review_with_nothing_released(env: Path) -> None:
    report = run(CONFIG, PACKAGE, REPLAY_NOW)
    assert report.state == "review"
    assert report.waiting_for and "approval" in report.waiting_for
    with session_scope(get_engine()) as session:
        statuses = set(session.execute(select(Application.state)).scalars())
        proposed = session.execute(select(Decision.proposed_status)).scalars().all()
        released = session.execute(select(OutboxMessage).where(
            OutboxMessage.kind.like("selection.%"))).all()
    assert "selected" not in statuses and proposed.count("selected") == 12
    assert released == []


def test_until_stops_after_the_named_step(env: Path) -> None:
    report = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True, until="screening")
    assert report.stopped_at is not None and report.stopped_at.value == "screening"
    assert report.state == "screening"


def test_missing_reviews_name_every_receipt_and_decide_nothing(env: Path, tmp_path: Path) -> None:
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    scores = (package / "scores.csv").read_text(encoding="utf-8").splitlines()
    kept = [line for line in scores if not line.startswith(("2022-2-002,R0", "2022-2-009,R0"))
            or line.endswith(("R01,20.1,26.3,38.0", "R02,29.7,30.0,25.1"))]
    (package / "scores.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(ReviewIncomplete) as caught:
        run(CONFIG, package, REPLAY_NOW, approve=True)
    assert [r.split()[0] for r in caught.value.receipts] == ["2022-2-002", "2022-2-009"]
    assert "2022-2-002 (1 valid), 2022-2-009 (1 valid)" in str(caught.value)
    with session_scope(get_engine()) as session:
        assert session.execute(select(Decision)).first() is None
        assert session.get(Round, "2022-2").state == "screening"  # type: ignore[union-attr]


def test_chair_exclusion_and_inclusion_are_applied_and_audited(env: Path, tmp_path: Path) -> None:
    import asyncio

    from flows.models import ChairActionInput, ChairApproval
    from flows.round import committee_review
    from sangsaeng.domain.clock import parse_instant

    run(CONFIG, PACKAGE, REPLAY_NOW)
    approval = ChairApproval(approve=True, approved_by="위원장", exclude=[
        ChairActionInput(receipt_no="2022-2-005", reason="생산능력 확인 불가")])
    asyncio.run(committee_review("2022-2", parse_instant(REPLAY_NOW), approval, False, "test"))
    run(CONFIG, PACKAGE, REPLAY_NOW)
    rows = {r[0]: r for r in read_csv(decisions_csv("2022-2"))[1:]}
    assert rows["2022-2-005"][2:] == ["not_selected", "70.00", "7", "CHAIR_EXCLUDED"]
    with session_scope(get_engine()) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "chair.exclude")).scalars().one()
    assert (event.entity_id, event.reason, event.rule, event.actor) == (
        "2022-2-005", "생산능력 확인 불가", "V10", "chair:위원장")
    assert len(read_csv(selection_csv("2022-2"))) == 1 + 11


def test_a_corrected_row_replaces_the_import_while_open_and_is_audited(env: Path, tmp_path: Path
                                                                       ) -> None:
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    assert run(CONFIG, package, "2022-05-20T10:00:00+09:00").state == "open"
    people = package / "participants.csv"
    text = people.read_text(encoding="utf-8")
    # the lead of 2022-2-002 was registered under its old name; the office corrects it (C2)
    text = text.replace("559-81-39063,주식회사 자인인더스트리,",
                        "559-81-39063,주식회사 자인인더스트리테크,")
    # …and the partner of 2022-2-001 had been entered with another company's BRN
    text = text.replace("494-86-63941,(주)테동한이앤씨", "124-81-00998,(주)테동한이앤씨")
    people.write_text(text, encoding="utf-8")
    # …and R05's affiliation was one period where the reviewer declared two (V3)
    affiliations = package / "affiliations.csv"
    affiliations.write_text(affiliations.read_text(encoding="utf-8").replace(
        "R05,785-87-46035,2018-01-31", "R05,785-87-46035,2017-01-31\nR05,785-87-46035,2015-06-30"),
        encoding="utf-8")
    report = run(CONFIG, package, "2022-05-20T10:00:00+09:00")
    assert "corrected 3" in report.steps[1].detail
    with session_scope(get_engine()) as session:
        change = session.execute(select(AuditEvent).where(
            AuditEvent.action == "import.correct", AuditEvent.entity == "affiliation"
        )).scalars().one()
    assert change.entity_id == "R05" and len(change.data["after"]) == 2
    with session_scope(get_engine()) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "import.correct",
            AuditEvent.entity_id.like("%2022-2-002%"))).scalars().one()
    assert event.entity_id == "('2022-2-002', 'lead', 1)"
    assert event.data["before"][1] == "주식회사 자인인더스트리"
    assert event.data["after"]["name"] == "주식회사 자인인더스트리테크"
    run(CONFIG, package, REPLAY_NOW, approve=True)
    listing = read_csv(selection_csv("2022-2"))
    assert listing[1][2] == "주식회사 자인인더스트리테크"
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")
    # after the close, applications can no longer be corrected: the row is refused, named
    apps = package / "applications.csv"
    apps.write_text(apps.read_text(encoding="utf-8").replace("스마트가로등", "스마트 가로등"),
                    encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run(CONFIG, package, REPLAY_NOW, approve=True)
    assert any("신청 행은 더 이상 고칠 수 없습니다" in e for e in caught.value.errors)


def test_many_rejected_rows_are_shown_in_part_and_kept_whole_in_a_file(env: Path,
                                                                        tmp_path: Path) -> None:
    """A task result stays small (issue 14): past 20 rejected rows the error shows the first
    20 and names the file under var/rejected/ that lists every one; the good rows are kept."""
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    scores = package / "scores.csv"
    bad = [f"2022-2-9{i:02d},R01,10.0,10.0,10.0" for i in range(1, 26)]  # no such receipt
    scores.write_text(scores.read_text(encoding="utf-8") + "\n".join(bad) + "\n",
                      encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        run(CONFIG, package, REPLAY_NOW, approve=True)
    assert caught.value.rejected == 25
    *shown, more = caught.value.errors
    assert len(shown) == 20 and all(re.match(r"scores\.csv \d+행", line) for line in shown)
    assert more.startswith("… 5 more rejected row(s), every one listed in ")
    listed = Path(more.rsplit(" ", 1)[1])
    assert listed.parent == env / "rejected"
    every = listed.read_text(encoding="utf-8").splitlines()
    assert len(every) == 25 and every[:20] == shown and "2022-2-925" in every[-1]
    with session_scope(get_engine()) as session:  # the good rows were kept
        assert len(session.execute(select(Application)).all()) == 36
