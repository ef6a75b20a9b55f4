"""V10 in Prefect: without --approve the review flow pauses for the chair's typed input, and
resuming it through the API with that input decides the round (as the Prefect UI does)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.flow_runs import resume_flow_run
from prefect.input.run_input import keyset_from_paused_state
from sqlalchemy import select

from flows import round_runs
from flows.models import ChairApproval, StepOutcome
from flows.round import committee_review
from sangsaeng.dashboard import WaitingInput, office_digest_markdown
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.models import Application, AuditEvent, Decision, OutboxMessage, Round
from tests.integration.helpers import decisions_csv, read_csv, run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def _paused_run_id(name: str) -> str:
    async with get_client() as client:
        for _ in range(1200):  # 2 minutes: a loaded CI machine (both legs at once) is slow
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[name])))
            if runs and runs[0].state is not None and runs[0].state.is_paused():
                return str(runs[0].id)
            await asyncio.sleep(0.1)
    raise AssertionError("the review never paused for the chair")


async def _review_resumed_with(name: str, chair_input: dict[str, object],
                               while_paused: Callable[[], None] = lambda: None) -> StepOutcome:
    """Run the review until it pauses for the chair, then resume it with the chair's input
    through the API (as the Prefect UI does); returns the review's outcome."""
    review = asyncio.create_task(committee_review.with_options(flow_run_name=name)(
        "2022-2", parse_instant(REPLAY_NOW), None, True, "test"))
    run_id = await _paused_run_id(name)
    await asyncio.to_thread(while_paused)
    await asyncio.to_thread(resume_flow_run, run_id, chair_input)
    return await asyncio.wait_for(review, timeout=180)


def _in_review() -> None:
    with session_scope(get_engine()) as session:
        assert session.get(Round, "2022-2").state == "review"  # type: ignore[union-attr]


def _form_texts(name: str) -> tuple[str, str]:
    """What the Prefect UI shows of the chair's form (the paused run's input): the text above
    it, and the approval switch's description."""
    async def read() -> tuple[str, str]:
        async with get_client() as client:
            [paused] = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[name])))
            assert paused.state is not None
            keyset = keyset_from_paused_state(paused.state)
            value = await client.read_flow_run_input(paused.id, keyset["description"])
            schema = json.loads(await client.read_flow_run_input(paused.id, keyset["schema"]))
            return (str(json.loads(value) if value.startswith('"') else value),
                    schema["properties"]["approve"]["description"])
    return asyncio.run(read())


def test_review_pauses_for_the_chair_and_resumes_with_typed_input(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, until="screening")
    shown: list[str] = []
    waiting: list[WaitingInput] = []

    def while_paused() -> None:
        _in_review()
        shown.extend(_form_texts("chair-pause-test"))
        waiting.extend(asyncio.run(round_runs.waiting_for_input("http://ui.example")))

    asyncio.run(_review_resumed_with("chair-pause-test", {
        "approve": True, "approved_by": "위원장",
        "exclude": [{"receipt_no": "2022-2-028", "reason": "협력기업 참여 철회"}],
        "include": []}, while_paused=while_paused))
    # issue 9: the form itself shows the proposal the chair decides on
    [form, rows] = shown
    assert "2022-2 선정안 (위원회 제안)" in form
    assert "미선정 15건 · 선정 12건" in form and "not_selected" not in form  # issue 23
    # every proposed row under the approval switch, whose description the dialog shows whole
    assert rows.count(" · 선정 · ") == 12 and "2022-2-028" in rows and " · 혁신성장 · " in rows
    # issue 23 item 8: the office digest lists the run waiting for the chair, with its link
    [chair] = [w for w in waiting if w.run_name == "chair-pause-test"]
    assert chair.what == "위원장 승인" and chair.since is not None
    with session_scope(get_engine()) as session:
        digest = office_digest_markdown(session, date(2022, 7, 20), waiting)
    assert "## 입력을 기다리는 실행" in digest
    assert "| 위원장 승인 | [chair-pause-test](http://ui.example/runs/flow-run/" in digest
    assert "## 안내 메일" in digest and "(기다리거나 실패한 메일 없음)" in digest  # all sent
    with session_scope(get_engine()) as session:
        assert session.get(Round, "2022-2").state == "decided"  # type: ignore[union-attr]
    run(CONFIG, PACKAGE, REPLAY_NOW)
    rows = {r[0]: r for r in read_csv(decisions_csv("2022-2"))[1:]}
    assert rows["2022-2-028"][2:] == ["not_selected", "71.90", "3", "CHAIR_EXCLUDED"]
    assert rows["2022-2-031"][2] == "selected"


def test_V10_a_refusal_decides_nothing_is_audited_and_waits_for_a_new_decision(env: Path
                                                                               ) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, until="screening")

    # the run ends normally: a refusal is not a failure
    outcome = asyncio.run(_review_resumed_with("chair-refusal-test", {
        "approve": False, "approved_by": "위원장", "reason": "2022-2-021 평가 재검토",
        "exclude": [], "include": []}))
    assert outcome.waiting_for is not None and "new decision of the chair" in outcome.waiting_for
    with session_scope(get_engine()) as session:
        assert session.get(Round, "2022-2").state == "review"  # type: ignore[union-attr]
        approved = session.execute(select(Decision).where(
            Decision.status.is_not(None) | Decision.approved_at.is_not(None))).all()  # type: ignore[union-attr]
        states = set(session.execute(select(Application.state)).scalars())
        released = session.execute(select(OutboxMessage).where(
            OutboxMessage.kind.like("selection.%"))).all()  # type: ignore[attr-defined]
        [refusal] = session.execute(select(AuditEvent).where(
            AuditEvent.action == "chair.refuse")).scalars().all()
    assert approved == [] and released == [] and not states & {"selected", "reserve"}
    assert (refusal.actor, refusal.reason, refusal.rule) == (
        "chair:위원장", "2022-2-021 평가 재검토", "V10")
    # the chair decides again in a new review run, and that decision counts
    again = ChairApproval(approve=True, approved_by="위원장")
    asyncio.run(committee_review("2022-2", parse_instant(REPLAY_NOW), again, False, "test"))
    with session_scope(get_engine()) as session:
        assert session.get(Round, "2022-2").state == "decided"  # type: ignore[union-attr]
