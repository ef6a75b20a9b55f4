"""Issue 23 item 1, as the office meets it: `create_round` from the Prefect UI's form in a browser
whose zone is UTC and in one whose zone is Asia/Seoul. 09:00 and 18:00 typed are 09:00 and 18:00
KST in the file (`+09:00`), and the run's log says them back in Korean. Before, the form's
date-time picker attached the browser's zone: 09:00 in a UTC browser became 18:00 KST."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from flows.round_runs import deployment_name
from tests.conftest import REPO
from tests.e2e.browser import SHOTS, chromium, form_field
from tests.e2e.served import Api, Server, poll, start_serve, stop
from tests.e2e.test_office_journey import submit

pytestmark = [pytest.mark.e2e, pytest.mark.served]

SAID = "접수 2031년 3월 3일(월) 09:00 KST부터, 마감 2031년 3월 31일(월) 18:00 KST"




def fill_create_round(page: Page, round_id: str) -> None:
    """The form as a clerk fills it: id, title, the two dates as text, a track, who."""
    expect(page.get_by_text("회차 만들기", exact=False).first).to_be_visible()
    form_field(page, "회차").locator("textarea").first.fill(round_id)
    form_field(page, "제목").locator("textarea").first.fill(
        f"{round_id[:4]}년 {round_id[5:]}차 공공조달 상생협력 지원제도 참여기업 모집")
    form_field(page, "접수 시작").locator("textarea").first.fill("2031-03-03 09:00")
    form_field(page, "접수 마감").locator("textarea").first.fill("2031-03-31 18:00")
    tracks = form_field(page, "모집 분야")
    tracks.locator(".p-select-button__icon").click(force=True)
    page.locator(".p-select-option", has_text="혁신성장").first.click()  # named, not a code
    page.keyboard.press("Escape")
    expect(tracks.locator(".p-select-button__value")).to_contain_text("혁신성장 (innovation)")
    form_field(page, "실행자 (감사 기록)").locator("textarea").first.fill("담당자")
    expect(page.locator(".p-select-option")).to_have_count(0)


def created_in(zone: str, round_id: str, api: Api, form: Any, ui_url: str, config: Path
               ) -> None:
    """The round `round_id` created from the form in a browser in `zone`: written in KST, said
    back in the run's log."""
    with chromium(zone=zone) as page:
        page.goto(f"{ui_url}/deployments/deployment/{form.id}/run")
        fill_create_round(page, round_id)
        if zone == "UTC":
            page.screenshot(path=str(SHOTS / "create-round-form.png"), full_page=True)
        submit(page)
    run = poll(f"the create_round run from the {zone} browser", lambda: next(
        (r for r in api.call(lambda c: c.read_flow_runs())
         if r.deployment_id == form.id and r.parameters.get("round_id") == round_id
         and r.state and r.state.is_final()), None), timeout=120, every=1)
    assert run.state.is_completed(), (zone, run.state)
    written = (config / "rounds" / f"{round_id}.toml").read_text(encoding="utf-8")
    assert 'opens_at = "2031-03-03T09:00:00+09:00"' in written, (zone, written)
    assert 'closes_at = "2031-03-31T18:00:00+09:00"' in written, (zone, written)
    lines = poll("the run's log line", lambda: [m for m in api.log_of(run.id) if SAID in m]
                 or None, timeout=60)
    assert lines == [f"{round_id} 회차를 만들었습니다: {SAID}"], (zone, lines)


def published_with_the_clock_left_empty(api: Api, ui_url: str, round_id: str) -> None:
    """The open_call form, the new round chosen, `now` (a text field now) left empty: the UI
    takes the form and the run publishes the call at the current time."""
    call = next(d for d in api.deployments()
                if d.name == deployment_name("open_call").split("/")[1])
    with chromium() as page:
        page.goto(f"{ui_url}/deployments/deployment/{call.id}/run")
        config = form_field(page, "회차")
        config.locator(".p-select-button__icon").click(force=True)
        page.locator(".p-select-option", has_text=round_id).first.click()
        expect(config.locator(".p-select-button__value")).to_have_text(round_id)
        expect(form_field(page, "기준 시각 (재현용)").locator("textarea").first).to_have_value("")
        submit(page)
    run = poll("the open_call run", lambda: next(
        (r for r in api.call(lambda c: c.read_flow_runs())
         if r.deployment_id == call.id and r.state and r.state.is_final()), None),
        timeout=120, every=1)
    assert run.state.is_completed(), run.state
    assert not run.parameters.get("now"), run.parameters
    assert not any("기준 시각" in m for m in api.log_of(run.id))  # no fixed clock to say


def test_create_round_in_a_utc_and_a_seoul_browser_writes_09_and_18_kst(
    served_server: Server, tmp_path: Path
) -> None:
    api = Api(served_server)
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    started = datetime.now(UTC) - timedelta(seconds=1)
    serve = start_serve(served_server, f"sqlite:///{tmp_path / 'office.db'}", tmp_path / "var",
                        tmp_path / "serve.log", extra={"SANGSAENG_CONFIG_DIR": str(config)})
    try:
        form = poll("this serve's create_round deployment", lambda: next(
            (d for d in api.deployments()
             if d.name == deployment_name("create_round").split("/")[1]
             and d.updated >= started), None), timeout=180)
        for zone, round_id in (("UTC", "2031-1"), ("Asia/Seoul", "2031-2")):
            created_in(zone, round_id, api, form, served_server.ui_url, config)
        published_with_the_clock_left_empty(api, served_server.ui_url, "2031-2")
    finally:
        stop(serve)
    assert (SHOTS / "create-round-form.png").stat().st_size > 10_000
