"""A round's dates and cancellation as the office sees them in the Prefect UI.

The deployments are registered on the test harness's server without a runner: each test runs a
deployment's flow run in this process exactly as `serve`'s runner runs it (`run_flow` with the
run, so the flow knows it is served), and the runs the flows schedule wait on the server. A
date change moves the round's deadline runs (and back again); cancel_round cancels every run of
the round that waits — the chair's suspended review started by hand from the UI included — and
no run of another round; every step then refuses the cancelled round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, State
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from sqlalchemy import select

from flows.deployments import deployments, specs
from flows.round import (
    cancel_round,
    close_intake,
    committee_review,
    intake,
    open_call,
    screening,
    selection_notice,
)
from flows.round_runs import deployment_name
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import KST, format_kst
from sangsaeng.errors import StepError
from sangsaeng.models import AUDIT, AuditEvent, Round
from sangsaeng.services.rounds import cancellation
from tests.e2e.served import make_round
from tests.integration.helpers import run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

pytestmark = pytest.mark.usefixtures("prefect_harness")

FLOWS = {spec.flow.name: spec.flow for spec in specs()}


@pytest.fixture(scope="module")
def deployed(prefect_harness: None) -> None:
    """The deployments `serve` registers (the recurring ones left out: no runs of their own)."""
    for deployment in deployments():
        if not deployment.schedules:
            deployment.apply()


async def _served(flow_name: str, parameters: dict[str, Any]) -> tuple[FlowRun, State]:
    """A run of the deployment as the UI's form creates it (no tags), run as a runner runs it."""
    async with get_client() as client:
        found = await client.read_deployment_by_name(deployment_name(flow_name))
        created = await client.create_flow_run_from_deployment(found.id, parameters=parameters)
    state: State | None = None
    with contextlib.suppress(Pause):  # suspended: it leaves the process (as a runner's does)
        state = await cast(Any, run_flow(FLOWS[flow_name], flow_run=created,
                                         return_type="state"))
    async with get_client() as client:
        done = await client.read_flow_run(created.id)
    assert done.state is not None
    return done, state or done.state  # the engine's state holds the flow's result


def served(flow_name: str, **parameters: Any) -> tuple[FlowRun, State]:
    return asyncio.run(_served(flow_name, parameters))


def runs_of(round_id: str) -> list[FlowRun]:
    """The round's runs, as the UI lists them by the tag `round:<id>`."""
    async def read() -> list[FlowRun]:
        async with get_client() as client:
            return await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"round:{round_id}"])))
    return asyncio.run(read())


def scheduled(round_id: str) -> dict[str, datetime]:
    """The round's scheduled deadline runs: `deadline:<what>` → when (UTC, as the server has it)."""
    out: dict[str, datetime] = {}
    for r in runs_of(round_id):
        if r.state is not None and r.state.is_scheduled():
            [what] = [t for t in r.tags if t.startswith("deadline:")]
            assert what not in out, f"two scheduled {what} runs of {round_id}"
            assert r.expected_start_time is not None
            out[what] = r.expected_start_time
    return out


def deadline_runs(round_id: str) -> set[tuple[str, datetime | None]]:
    """Every deadline run of the round, in whatever state: (`deadline:<what>`, when)."""
    return {(t, r.expected_start_time) for r in runs_of(round_id) for t in r.tags
            if t.startswith("deadline:")}


def waiting(round_id: str) -> list[str]:
    """The round's runs that still wait (Scheduled, Late, Pending, Paused, Suspended)."""
    return [f"{r.name} {r.state.name}" for r in runs_of(round_id) if r.state is not None
            and (r.state.is_scheduled() or r.state.is_pending() or r.state.is_paused())]


def stored(round_id: str) -> Round:
    with session_scope(get_engine()) as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        return rnd


def write_config(path: Path, round_id: str, closes_at: datetime) -> Path:
    path.write_text("\n".join([
        f'id = "{round_id}"', f'title = "{round_id} 공공조달 상생협력 지원제도 참여기업 모집"',
        f'opens_at = "{(closes_at - timedelta(days=30)).isoformat()}"',
        f'closes_at = "{closes_at.isoformat()}"', 'tracks = ["innovation", "value"]', ""]),
        encoding="utf-8")
    return path


def ahead(days: int) -> datetime:
    """18:00 KST, `days` days from now (a deadline the served runs wait for)."""
    return (datetime.now(KST) + timedelta(days=days)).replace(hour=18, minute=0, second=0,
                                                             microsecond=0)


def test_T2_S1_a_date_change_moves_the_deadline_runs_and_a_move_back_schedules_them_again(
    env: Path, deployed: None, tmp_path: Path
) -> None:
    round_id, config = "2031-1", tmp_path / "2031-1.toml"
    first = ahead(20)
    write_config(config, round_id, first)
    opened, state = served("open_call", config=str(config))
    assert state.is_completed(), state
    assert f"round:{round_id}" in opened.tags  # a run started from the form tags itself
    s1 = datetime.fromisoformat(stored(round_id).settings["supplement_deadline"])
    assert scheduled(round_id) == {"deadline:close": first, "deadline:supplement": s1}

    # The office extends the call by a week and runs open_call again from its deployment.
    later = first + timedelta(days=7)
    write_config(config, round_id, later)
    _, state = served("open_call", config=str(config))
    assert state.is_completed(), state
    rnd = stored(round_id)
    moved_s1 = datetime.fromisoformat(rnd.settings["supplement_deadline"])
    assert (rnd.state, rnd.closes_at, moved_s1 > s1) == ("open", later, True)
    assert scheduled(round_id) == {"deadline:close": later, "deadline:supplement": moved_s1}
    assert deadline_runs(round_id) == {("deadline:close", later),
                                       ("deadline:supplement", moved_s1)}  # the old ones gone

    # …and back to the first deadline: the deleted runs' idempotency keys serve again.
    write_config(config, round_id, first)
    _, state = served("open_call", config=str(config))
    assert state.is_completed(), state
    assert scheduled(round_id) == {"deadline:close": first, "deadline:supplement": s1}
    assert len(deadline_runs(round_id)) == 2
    with session_scope(get_engine()) as session:
        moves = [e.data["closes_at"] for e in session.execute(
            select(AuditEvent).where(AUDIT.c.round_id == round_id,
                                     AUDIT.c.action == "reschedule")
            .order_by(AUDIT.c.id)).scalars()]
    assert moves == [{"old": first.isoformat(), "new": later.isoformat()},
                     {"old": later.isoformat(), "new": first.isoformat()}]


def _latest_status(round_id: str) -> str:
    async def read() -> str:
        async with get_client() as client:
            found = await client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[f"round-{round_id}-status"])))
        return str(found[0].data) if found else ""
    return asyncio.run(read())


def test_R2_cancel_round_cancels_its_waiting_runs_the_chairs_review_included_and_no_other(
    env: Path, deployed: None, tmp_path: Path
) -> None:
    # Round A waits for its chair: screened in-process, then the review started by hand from
    # the UI (a run without tags) suspends itself for the chair's input.
    review_round = "2023-7"
    closes = datetime(2023, 5, 26, 18, tzinfo=KST)
    config, package = make_round(tmp_path / "a", review_round, closes)
    after = (closes + timedelta(days=30)).isoformat()
    assert run(config, package, after, until="screening").state == "screening"
    review, state = served("committee_review", round_id=review_round, now=after)
    assert state.is_paused() and state.name == "Suspended", state
    assert f"round:{review_round}" in review.tags
    # Rounds B and C are open, their deadline runs scheduled.
    rounds = {"2031-2": ahead(15), "2031-3": ahead(16)}
    for round_id, closes_at in rounds.items():
        served("open_call", config=str(write_config(tmp_path / f"{round_id}.toml", round_id,
                                                    closes_at)))
    untouched = scheduled("2031-3")
    assert len(untouched) == 2 and len(scheduled("2031-2")) == 2

    outcomes = {}
    for round_id in (review_round, "2031-2"):
        _, state = served("cancel_round", round_id=round_id, reason="예산 미확보로 공고 취소",
                          actor="담당자")
        assert state.is_completed(), state
        outcomes[round_id] = state.result()
    assert outcomes[review_round].runs_cancelled == [review.name]
    assert sorted(outcomes["2031-2"].runs_cancelled) == sorted(
        r.name for r in runs_of("2031-2") if "deadline:close" in r.tags
        or "deadline:supplement" in r.tags)
    assert waiting(review_round) == [] and waiting("2031-2") == []

    async def review_state() -> State:
        async with get_client() as client:
            return cast(State, (await client.read_flow_run(review.id)).state)

    assert asyncio.run(review_state()).is_cancelled()  # the chair's form is gone with it
    assert scheduled("2031-3") == untouched  # another round's runs stay as they were
    assert stored("2031-3").state == "open"
    assert (stored(review_round).state, stored("2031-2").state) == ("cancelled", "cancelled")

    status = _latest_status("2031-2")
    assert "**상태:** 공고 취소" in status and "예산 미확보로 공고 취소" in status
    assert "담당자" in status
    # A deadline run that started anyway, and the call published again from its file, refuse.
    with session_scope(get_engine()) as session:
        event = cancellation(session, stored("2031-2"))
        assert event is not None
    message = f"round 2031-2 was cancelled on {format_kst(event.at)} KST: 예산 미확보로 공고 취소"
    _, state = served("close_intake", round_id="2031-2", chain=True)
    assert state.is_failed() and message in str(state.message), state
    _, state = served("open_call", config=str(tmp_path / "2031-2.toml"))
    assert state.is_failed() and message in str(state.message), state
    assert stored("2031-2").state == "cancelled" and waiting("2031-2") == []
    # Cancelling again changes nothing and says so.
    _, state = served("cancel_round", round_id="2031-2", reason="다시", actor="담당자")
    again = state.result()
    assert (again.already, again.reason, again.runs_cancelled) == (
        True, "예산 미확보로 공고 취소", [])


def test_R2_every_step_refuses_a_cancelled_round_saying_when_and_why(env: Path, tmp_path: Path
                                                                  ) -> None:
    round_id = "2031-4"
    config = write_config(tmp_path / "r.toml", round_id, ahead(10))
    asyncio.run(open_call(str(config), actor="office"))
    outcome = asyncio.run(cancel_round(round_id, "선정 규모 변경으로 재공고", actor="담당자"))
    assert outcome.runs_cancelled == [] and not outcome.already  # in-process: no runs to stop
    when = format_kst(outcome.cancelled_at)
    assert outcome.cancelled_at.tzinfo is not None
    assert abs(outcome.cancelled_at - datetime.now(UTC)) < timedelta(minutes=5)
    message = f"round {round_id} was cancelled on {when} KST: 선정 규모 변경으로 재공고"
    steps: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "open_call": lambda: open_call(str(config)),
        "intake": lambda: intake(round_id, str(PACKAGE)),
        "close_intake": lambda: close_intake(round_id, ahead(11)),
        "screening": lambda: screening(round_id, ahead(20)),
        "committee_review": lambda: committee_review(round_id, ahead(30), wait_for_chair=False),
        "selection_notice": lambda: selection_notice(round_id, ahead(40)),
    }
    for name, step in steps.items():
        with pytest.raises(StepError) as refused:
            asyncio.run(step())
        assert str(refused.value) == message, name
    assert stored(round_id).state == "cancelled"


def test_K5_a_released_round_cannot_be_cancelled_and_a_reason_is_required(env: Path) -> None:
    assert run(CONFIG, PACKAGE, REPLAY_NOW, until="screening").state == "screening"
    with pytest.raises(StepError, match="needs a reason"):
        asyncio.run(cancel_round("2022-2", "   "))
    assert run(CONFIG, PACKAGE, REPLAY_NOW, approve=True).state == "support"
    with pytest.raises(StepError, match=r"2022-2 is support: .* cancel selected projects one "
                                        r"by one \(K5\)"):
        asyncio.run(cancel_round("2022-2", "공고 철회"))
    assert stored("2022-2").state == "support"
