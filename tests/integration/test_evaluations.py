"""Performance evaluations (PROGRAM_RULES M3) and the K5 cancellation a failed one proposes,
through the flows on the 2022-2 replay and its `support/evaluations.csv` (2022-2-018 fails its
interim evaluation, 2022-2-002 passes).

Expected dates are worked out here from the rule text: released (selection date) 2022-07-20,
certificates valid 2022-07-20 … 2025-07-19 (K3); interim due 2023-07-20 and 2024-07-20,
reminded 30 days before (2023-06-20, 2024-06-20)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.flow_runs import resume_flow_run
from prefect.input.run_input import keyset_from_paused_state
from sqlalchemy import func, select

from flows import round_runs
from flows.deployments import deployments
from flows.dues import support_dues
from flows.evaluations import record_evaluation, review_cancellation
from flows.models import InputOutcome
from flows.support_import import support_import
from sangsaeng.dashboard import office_digest_markdown
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import InputRefused
from sangsaeng.models import (
    Application,
    AuditEvent,
    Cancellation,
    Certificate,
    Evaluation,
    OutboxMessage,
    Participant,
    PendingCancellation,
    Sanction,
)
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import run

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
EVALUATIONS = ROUND_2022_2 / "support" / "evaluations.csv"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"  # released and certified on 2022-07-20
OFFICE = "sangsaeng@smpp.example"  # config/program.toml [program] office_email

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _dues(now: str) -> int:
    return asyncio.run(support_dues(parse_instant(now)))["evaluation.due"]  # type: ignore[no-any-return]


def _import(path: Path, now: str) -> InputOutcome:
    return asyncio.run(support_import(str(path), "test", False, parse_instant(now)))


def _recipients(skip: set[str] = frozenset()) -> int:  # type: ignore[assignment]
    """M3: each certified project's leads and the office, for the projects not in `skip`."""
    with session_scope(get_engine()) as session:
        projects = set(session.scalars(select(Application.receipt_no).join(
            Certificate, Certificate.application_id == Application.id))) - skip
        leads = session.scalar(select(func.count()).select_from(Participant).join(
            Application, Participant.application_id == Application.id).where(
            Participant.role == "lead", Application.receipt_no.in_(projects)))  # type: ignore[attr-defined]
    return int(leads or 0) + len(projects)


def _certificates_of(receipt_no: str) -> list[tuple[str, date | None]]:
    with session_scope(get_engine()) as session:
        return list(session.execute(select(Certificate.status, Certificate.cancelled_on).join(
            Application, Certificate.application_id == Application.id).where(
            Application.receipt_no == receipt_no)))


@pytest.mark.usefixtures("replayed")
def test_M3_evaluation_dues_on_the_right_kst_days_until_a_result(env: Path, tmp_path: Path
                                                                 ) -> None:
    held_early = tmp_path / "evaluations.csv"  # 018 (fail) and 002 (pass), held by 2023-06-01
    held_early.write_text(EVALUATIONS.read_text(encoding="utf-8").replace(
        "2023-07-10", "2023-05-30").replace("2023-07-12", "2023-05-31"), encoding="utf-8")
    assert _import(held_early, "2023-06-01T10:00:00+09:00").recorded == {"evaluations": 2}
    everyone = _recipients()
    assert _dues("2023-06-19T09:00:00+09:00") == 0  # 31 days before 2023-07-20
    # 2023-06-20 (KST; 00:30 UTC of the same day) is 30 days before: all but 018 and 002
    assert _dues("2023-06-20T00:30:00+00:00") == _recipients({"2022-2-018", "2022-2-002"})
    assert _dues("2023-06-20T18:00:00+09:00") == 0  # nothing twice on one day
    assert _dues("2023-07-21T09:00:00+09:00") == 0  # past the due date
    # the second interim (due 2024-07-20): 2024-06-20 missed, caught up on the next run
    assert _dues("2024-06-23T09:00:00+09:00") == everyone
    assert _dues("2024-06-24T09:00:00+09:00") == 0  # once per (project, kind, due date)
    assert _dues("2025-05-20T09:00:00+09:00") == everyone  # extension due 2025-06-19
    assert _dues("2025-07-19T09:00:00+09:00") == 0  # valid_to: completion not yet
    assert _dues("2025-07-20T09:00:00+09:00") == everyone  # completion: valid_to + 1 day
    with session_scope(get_engine()) as session:
        sent = session.execute(select(OutboxMessage.recipient, OutboxMessage.payload).where(
            OutboxMessage.kind == "evaluation.due",
            OutboxMessage.subject_id == "2022-2-002:interim:2024-07-20")).all()
    assert OFFICE in {r for r, _ in sent} and len(sent) == 2  # the lead and the office
    assert {p["due_on"] for _, p in sent} == {"2024년 7월 20일(토)"}


@pytest.mark.usefixtures("replayed")
def test_M3_a_fail_proposes_a_cancellation_and_cancels_nothing(env: Path) -> None:
    done = _import(EVALUATIONS, "2023-07-12T10:00:00+09:00")  # both held by then
    assert done.recorded == {"evaluations": 2}
    assert done.pending_cancellations == ["2022-2-018"]
    assert {s for s, _ in _certificates_of("2022-2-018")} == {"valid"}  # nothing cancelled
    again = _import(EVALUATIONS, "2023-07-13T10:00:00+09:00")  # re-import changes nothing
    assert again.recorded == {"evaluations": 0}
    assert again.unchanged == {"evaluations": 2}
    with session_scope(get_engine()) as session:
        [pending] = session.scalars(select(PendingCancellation)).all()
        assert (pending.state, pending.ground, pending.proposed_on) == (
            "pending", "failed_evaluation", date(2023, 7, 12))
        assert session.scalar(select(func.count()).select_from(Cancellation)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "propose_cancellation", AuditEvent.rule == "M3")) == 1
        other = session.scalar(select(Application.receipt_no).where(
            Application.state == "not_selected"))
        digest = office_digest_markdown(session, date(2023, 7, 12))
    pending_part = digest.split("pending cancellations")[1]
    assert "| 2022-2-018 |" in pending_part and "| 중간평가 | 2023년 7월 10일" in \
        pending_part
    with pytest.raises(InputRefused) as refused:
        asyncio.run(record_evaluation(str(other), "interim", date(2023, 7, 1), "pass",
                                      actor="test", now=parse_instant("2023-07-12T10:00:00")))
    assert (f"접수번호 {other}의 신청은 미선정 상태입니다: 선정된 과제만 성과평가를 받습니다"
            in str(refused.value))


@pytest.mark.usefixtures("replayed")
def test_M3_evaluations_csv_refuses_rows_with_why_and_keeps_the_good_ones(
        env: Path, tmp_path: Path) -> None:
    path = tmp_path / "evaluations.csv"
    path.write_text("receipt_no,kind,held_on,result,note\n"
                    "2022-2-002,interim,2023-07-12,pass,\n"
                    "2022-2-999,interim,2023-07-12,pass,\n"
                    "2022-2-002,midterm,2023-07-12,pass,\n"
                    "2022-2-002,extension,2023-13-01,fail,\n", encoding="utf-8")
    with pytest.raises(InputRefused) as refused:
        _import(path, "2023-07-13T10:00:00+09:00")
    rows = str(refused.value)
    assert "알 수 없는 접수번호입니다: '2022-2-999'" in rows
    assert "evaluations.csv 4행" in rows and "kind" in rows and "midterm" in rows
    assert "evaluations.csv 5행" in rows and "held_on" in rows
    with session_scope(get_engine()) as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 1


async def _paused_run_id(name: str) -> str:
    async with get_client() as client:
        for _ in range(300):
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[name])))
            if runs and runs[0].state is not None and runs[0].state.is_paused():
                return str(runs[0].id)
            await asyncio.sleep(0.1)
    raise AssertionError("review_cancellation never paused for the office")


async def _description(run_id: str) -> str:
    async with get_client() as client:
        paused = await client.read_flow_run(run_id)  # type: ignore[arg-type]
        assert paused.state is not None
        keyset = keyset_from_paused_state(paused.state)
        value = await client.read_flow_run_input(paused.id, keyset["description"])
        return str(json.loads(value) if value.startswith('"') else value)


def _reviewed(name: str, decision: dict[str, object], now: str) -> tuple[InputOutcome, str]:
    """Run review_cancellation until it pauses for the office, read its form, then resume it
    with the office's input through the API (as the Prefect UI does)."""
    async def go() -> tuple[InputOutcome, str]:
        review = asyncio.create_task(review_cancellation.with_options(flow_run_name=name)(
            "2022-2-018", parse_instant(now)))
        run_id = await _paused_run_id(name)
        shown = await _description(run_id)
        await asyncio.to_thread(resume_flow_run, run_id, decision)  # type: ignore[arg-type]
        return await asyncio.wait_for(review, timeout=60), shown
    return asyncio.run(go())


@pytest.mark.usefixtures("replayed")
def test_M3_K5_the_office_confirms_through_the_prefect_input(env: Path) -> None:
    _import(EVALUATIONS, "2023-07-12T10:00:00+09:00")
    # 2023-07-31 23:30 UTC is 2023-08-01 in KST: the decision's date (K5a)
    outcome, shown = _reviewed("review-confirm-test", {
        "confirm": True, "reason": "중간평가 부적합 확정", "decided_by": "사무국"},
        "2023-07-31T23:30:00+00:00")
    assert "2022-2-018" in shown and "중간평가" in shown and "협력 실적 없음" in shown
    assert outcome.state == "confirmed"
    assert set(_certificates_of("2022-2-018")) == {("cancelled", date(2023, 8, 1))}
    with session_scope(get_engine()) as session:
        cancelled = session.scalars(select(Cancellation)).one()
        assert (cancelled.ground, cancelled.decided_on) == ("failed_evaluation", date(2023, 8, 1))
        leads = set(session.scalars(select(Participant.brn).join(
            Application, Participant.application_id == Application.id).where(
            Application.receipt_no == "2022-2-018", Participant.role == "lead")))
        bans = {s.brn: s.banned_until for s in session.scalars(select(Sanction))
                if s.brn in leads}
        pending = session.scalars(select(PendingCancellation)).one()
        digest = office_digest_markdown(session, date(2023, 8, 1))
    assert "검토 대기 중인 취소 없음 / no cancellation pending" in digest
    assert bans == dict.fromkeys(leads, date(2028, 7, 31))  # K5a: + 5 years − 1 day
    assert (pending.state, pending.decided_by, pending.decided_on) == (
        "confirmed", "사무국", date(2023, 8, 1))
    # nothing is pending any more: a second review has nothing to wait for
    again = asyncio.run(review_cancellation("2022-2-018", parse_instant(REPLAY_NOW)))
    assert "no cancellation" in again.detail


@pytest.mark.usefixtures("replayed")
def test_M3_the_office_dismisses_and_nothing_is_cancelled(env: Path) -> None:
    _import(EVALUATIONS, "2023-07-12T10:00:00+09:00")
    outcome, _ = _reviewed("review-dismiss-test", {
        "confirm": False, "reason": "재평가에서 실적 확인", "decided_by": "사무국"},
        "2023-07-20T10:00:00+09:00")
    assert outcome.state == "dismissed"
    assert {s for s, _ in _certificates_of("2022-2-018")} == {"valid"}
    with session_scope(get_engine()) as session:
        assert session.scalar(select(func.count()).select_from(Cancellation)) == 0
        pending = session.scalars(select(PendingCancellation)).one()
        [audited] = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "cancellation_dismissed")).all()
    assert (pending.state, pending.reason) == ("dismissed", "재평가에서 실적 확인")
    assert (audited.rule, audited.reason, audited.actor) == ("M3", "재평가에서 실적 확인",
                                                            "office:사무국")


def test_M3_a_selected_project_without_a_certificate_is_not_evaluated(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True, until="selection_notice")  # none issued
    with pytest.raises(InputRefused) as refused:
        _import(EVALUATIONS, "2023-07-12T10:00:00+09:00")
    assert "evaluations.csv 2행: 접수번호 2022-2-018의 확인서가 없습니다" in str(refused.value)
    with session_scope(get_engine()) as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 0
        assert session.scalar(select(func.count()).select_from(PendingCancellation)) == 0


async def _review_runs(deployment_id: Any) -> list[Any]:
    async with get_client() as client:
        runs = await client.read_flow_runs(deployment_filter=DeploymentFilter(
            id=DeploymentFilterId(any_=[deployment_id])))
        await client.delete_deployment(deployment_id)
        return runs


@pytest.mark.usefixtures("replayed")
def test_M3_a_fail_recorded_in_a_served_run_starts_the_office_review(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    review = next(d for d in deployments() if d.flow_name == "review_cancellation")
    deployment_id = review.apply()  # registered as `sangsaeng serve` does
    monkeypatch.setattr(round_runs, "is_served", lambda: True)  # as if the UI had started it
    done = asyncio.run(record_evaluation("2022-2-018", "interim", date(2023, 7, 10), "fail",
                                         "협력 실적 없음", "test",
                                         parse_instant("2023-07-11T10:00:00+09:00")))
    [started] = asyncio.run(_review_runs(deployment_id))
    assert done.reviews == {"2022-2-018": str(started.id)}
    assert started.parameters == {"receipt_no": "2022-2-018"}
    assert {"human", "input"} <= set(started.tags)
    assert {s for s, _ in _certificates_of("2022-2-018")} == {"valid"}  # nothing cancelled
