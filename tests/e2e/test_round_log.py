"""Issue 23 item 2, as the office reads a round run's log in the UI: the `round` deployment run
through the API with the chair's wait logs no ERROR until the suspension; after Resume its log
tells the round's story in Korean with its counts (12 selected for 2022-2), the finished steps
are not told again as new, and the lines in Korean outnumber Prefect's own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flows.round_runs import deployment_name
from tests.e2e.browser import SHOTS, chromium
from tests.e2e.served import Api, Server, free_port, poll, start_serve, stop

pytestmark = [pytest.mark.e2e, pytest.mark.served]

HANGUL = re.compile("[가-힣]")


def test_the_round_run_tells_its_story_in_korean_and_waits_for_the_chair_at_info(
    served_server: Server, tmp_path: Path
) -> None:
    api = Api(served_server)
    started = datetime.now(UTC) - timedelta(seconds=1)
    serve = start_serve(served_server, f"sqlite:///{tmp_path / 'round-log.db'}",
                        tmp_path / "var", tmp_path / "serve.log",
                        extra={"SANGSAENG_EXPORTS_PORT": str(free_port())})  # the chart's link
    try:
        poll("this serve's round deployment", lambda: next(
            (d for d in api.deployments() if d.name == deployment_name("round").split("/")[1]
             and d.updated >= started), None), timeout=180)
        run = api.start(deployment_name("round"), {
            "config": "2022-2", "now": "2022-07-20 10:00", "wait_for_chair": True,
            "actor": "사무국"})
        poll("the round to wait for the chair", lambda: api.call(
            lambda c: c.read_flow_run(run.id)).state.name == "Suspended" or None,
            timeout=300, every=1)
        # the run's lines reach the server in batches: wait for its last one before reading
        before = poll("the suspended run's log", lambda: (lambda found: found if any(
            line.startswith("Finished in state Suspended") for line in found) else None)(
            api.log_of(run.id)), timeout=60)
        told = "\n".join(before)
        assert api.log_levels(run.id).get("ERROR", 0) == 0, told
        assert "위원장 승인을 기다립니다" in told, told
        assert "적격 27건 · 부적격 9건" in told, told

        api.resume(run.id, {"approve": True, "approved_by": "위원장"})
        poll("the round run to finish", lambda: api.call(
            lambda c: c.read_flow_run(run.id)).state.is_final() or None, timeout=300, every=1)
        assert api.call(lambda c: c.read_flow_run(run.id)).state.is_completed()
        lines = poll("the round's last lines", lambda: (lambda found: found if any(
            line.startswith("Finished in state Completed") for line in found) else None)(
            api.log_of(run.id)), timeout=60)
        # issue 26: the what-if of the decided round, from its deployment, as artifacts
        simulated = api.start(deployment_name("what_if"), {
            "round_id": "2022-2", "quota": {"innovation": 5}})
        poll("the what-if run", lambda: api.call(lambda c: c.read_flow_run(simulated.id))
             .state.is_final() or None, timeout=120, every=1)
        assert api.call(lambda c: c.read_flow_run(simulated.id)).state.is_completed()
        summary = api.latest_artifact("round-2022-2-whatif")
        assert "| 혁신성장 | 7 | 5 | 0 | 2 |" in summary.data, summary.data
        with chromium(width=1400, height=1400) as page:  # docs/operations.md shows them
            page.goto(f"{served_server.ui_url}/runs/flow-run/{run.id}")
            expect(page.get_by_text("이미 끝난 단계", exact=False).first).to_be_visible()
            page.screenshot(path=str(SHOTS / "round-run-log.png"), full_page=True)
            page.goto(f"{served_server.ui_url}/artifacts/artifact/{summary.latest_id}")
            chart = page.get_by_role("img", name="분야별 선정 (현행 / 변경안)")
            expect(chart).to_be_visible()
            page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                                   arg=chart.element_handle())
            page.screenshot(path=str(SHOTS / "whatif.png"), full_page=True)
    finally:
        stop(serve)
    story = "\n".join(lines)
    assert "선정 12건" in story and "미선정 15건" in story, story
    assert "신청 36건" in story and "확인서 29건 발급" in story, story
    # a resumed run does not tell the steps finished before the suspension again as new, nor
    # wait for the chair again
    assert sum("적격 27건 · 부적격 9건" in line for line in lines) == 1, story
    assert sum("위원장 승인을 기다립니다" in line for line in lines) == 1, story
    assert "2022-2 이미 끝난 단계 (바뀐 것 없음): 공고 게시 · 접수 자료 가져오기 · 요건 검토" \
        in lines, story
    assert "이미 게시되어" not in story and "없음 추가" not in story, story
    korean = [line for line in lines if HANGUL.search(line)]
    assert len(korean) > len(lines) - len(korean), story
    assert not [line for line in lines if "Traceback" in line or "{" in line], story
