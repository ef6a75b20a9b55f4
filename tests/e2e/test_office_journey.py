"""Issue 15's must-show, as a program officer does it in headless Chromium, typing no path:
upload the 2022-2 export on `serve`'s page, follow its link to the round's run form, start the
round with the round chosen from the list, give the chair's approval in the suspended run's
form, download the selection list and the decisions from the round's status artifact — and
get files equal to `expected/`; then open the listing steps' form. The screenshots it takes
illustrate docs/operations.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from flows.round_runs import deployment_name
from tests.conftest import ROUND_2022_2
from tests.e2e.browser import SHOTS, chromium, form_field
from tests.e2e.served import Api, Server, free_port, poll, start_serve, stop
from tests.e2e.test_upload import PACKAGE, PASSWORD, USER, upload

pytestmark = [pytest.mark.e2e, pytest.mark.served]

EXPECTED = ROUND_2022_2 / "expected"


def test_the_office_runs_the_2022_2_round_in_the_browser_without_typing_a_path(
    served_server: Server, tmp_path: Path
) -> None:
    api = Api(served_server)
    exports_port = free_port()
    site = f"http://127.0.0.1:{exports_port}"
    var = tmp_path / "var"
    started = datetime.now(UTC) - timedelta(seconds=1)
    serve = start_serve(served_server, f"sqlite:///{tmp_path / 'office.db'}", var,
                        tmp_path / "serve.log", extra={
                            "PREFECT_SERVER_API_AUTH_STRING": f"{USER}:{PASSWORD}",
                            "SANGSAENG_EXPORTS_PORT": str(exports_port)})
    try:
        round_deployment = poll("this serve's round deployment", lambda: next(
            (d for d in api.deployments() if d.name == deployment_name("round").split("/")[1]
             and d.updated >= started), None), timeout=180)
        with chromium((USER, PASSWORD)) as page:
            # 1. The portal's export, from the officer's computer, for a round not started yet
            upload(page, site, PACKAGE)
            expect(page.locator("#result h2")).to_have_text("받았습니다")
            expect(page.locator("#run-note")).to_contain_text("아직 시작되지 않았습니다")
            page.screenshot(path=str(SHOTS / "upload-round-form-link.png"), full_page=True)

            # 2. Its link opens the round's run form with the round chosen; the clock is fixed
            #    to the day the 2022-2 committee met (a replay), nothing else is typed
            page.click("#round-form a")
            start_the_round(page)
            submit(page)
            run = poll("the round run to wait for the chair", lambda: next(
                (r for r in api.call(lambda c: c.read_flow_runs())
                 if r.deployment_id == round_deployment.id and r.created >= started
                 and r.state and r.state.name == "Suspended"), None), timeout=300, every=1)
            assert run.parameters["config"] == "2022-2"
            assert not run.parameters.get("data")  # the upload, found without a path

            # 3. The chair approves the proposed selection in the suspended run's form
            approve(page, f"{served_server.ui_url}/runs/flow-run/{run.id}")
            done = poll("the round run to finish", lambda: (lambda r: r if r.state.is_final()
                                                            else None)(
                api.call(lambda c: c.read_flow_run(run.id))), timeout=300, every=1)
            assert done.state.is_completed(), done.state
            imported_the_upload(api, run.id)

            # 4. The selection list and the decisions, downloaded from the status artifact
            status = api.latest_artifact("round-2022-2-status")
            page.goto(f"{served_server.ui_url}/artifacts/artifact/{status.latest_id}")
            for name in ("selection.csv", "decisions.csv"):
                downloaded = download(page, name)
                assert downloaded == (EXPECTED / name).read_bytes(), name
            expect(page.get_by_role("link", name="22-IG0001", exact=True).first
                   ).to_be_visible()  # K4: the certificates, each with its PDF
            page.get_by_text("확인서 certificates", exact=False).first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "certificates.png"))

            # 5. After the selection: the listing steps' typed form (M1), one row per step;
            #    many rows come as listing.csv through the same upload page (test_upload)
            listing = next(d for d in api.deployments()
                           if d.name == deployment_name("record_listing_step").split("/")[1])
            page.goto(f"{served_server.ui_url}/deployments/deployment/{listing.id}/run")
            for label in ("접수번호", "사업자등록번호", "단계", "완료일", "증빙"):
                expect(form_field(page, label)).to_be_visible()
            page.screenshot(path=str(SHOTS / "listing-form.png"), full_page=True)
    finally:
        stop(serve)
    for name in ("upload-round-form-link", "round-start-form", "chair-approval-form",
                 "certificates", "listing-form"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name


def start_the_round(page: Page) -> None:
    """On the `round` run form: the round from the list, the clock, the chair asked in the UI;
    the package left empty (the latest upload)."""
    expect(page.get_by_text("회차 실행 (round)", exact=False).first).to_be_visible()
    # issue 23 item 7: fields labelled in Korean, none of Prefect's "None" toggles
    config = form_field(page, "회차")
    expect(config.locator(".p-select-button__value")).to_have_text("2022-2")  # from the link
    config.locator(".p-select-button__icon").click(force=True)  # the list offers the round
    page.locator(".p-select-option", has_text="2022-2").first.click()
    expect(form_field(page, "위원장 승인 기다리기").get_by_role("switch")).to_have_attribute(
        "aria-checked", "true")
    expect(page.get_by_text("None", exact=True)).to_have_count(0)
    # the clock is typed as text in KST (issue 23: no date-time picker with a zone to set)
    form_field(page, "기준 시각 (재현용)").locator("textarea").first.fill("2022-07-20 10:00")
    expect(page.locator(".p-select-option")).to_have_count(0)  # the lists closed, or a click
    # on Submit lands on a closing list
    page.screenshot(path=str(SHOTS / "round-start-form.png"), full_page=True)


def submit(page: Page) -> None:
    """Submit the run form; the UI goes to the deployment's runs once the run is created. If
    it answers "Oops. Something went wrong." instead, the failed responses name the cause."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400 else None)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_function("() => /tab=Runs/.test(location.href) || "
                           "document.body.innerText.includes('Something went wrong')")
    assert "tab=Runs" in page.url, f"the run form failed: {failed}"


def approve(page: Page, run_page: str) -> None:
    """The suspended run's Resume form: the proposal shown, approved by the chair."""
    page.goto(run_page)
    page.get_by_role("button", name="Resume").first.click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("2022-2 선정안", exact=False).first).to_be_visible()
    # issue 23 item 3: every proposed row shows, with its company and track in Korean
    expect(form.locator("li", has_text=" · 선정 · ")).to_have_count(12)
    expect(form.locator("li", has_text=" · 혁신성장 · ").first).to_be_visible()
    form.locator(".p-label", has_text="선정안 승인").first.get_by_role("switch").click()
    form.locator(".p-label", has_text="결정하는 위원장").first.locator("textarea, input").first \
        .fill("위원장")
    # every row shown whole under the switch (not in the description's box of two rows): with
    # a screen tall enough, the 12th row is on it, not scrolled away
    page.set_viewport_size({"width": 1400, "height": 2000})
    last = form.locator("li", has_text=" · 선정 · ").nth(11)
    expect(last).to_be_in_viewport()
    page.screenshot(path=str(SHOTS / "chair-approval-form.png"), full_page=True)
    form.get_by_role("button", name="Submit").click()
    expect(form).to_be_hidden()


def download(page: Page, name: str) -> bytes:
    """Click an export's link in the artifact; the browser saves the file."""
    with page.expect_download() as saving:
        page.get_by_role("link", name=name, exact=True).first.click()
    assert saving.value.suggested_filename == name
    return Path(saving.value.path()).read_bytes()


def imported_the_upload(api: Api, run_id: Any) -> None:
    """The round's intake read the uploaded package (`var/inbox/2022-2/…`), not the copy the
    repository ships, as its log says — by the upload's name, not the server's path."""
    def intake_line() -> str | None:
        return next((m for m in api.log_of(run_id) if "접수 자료(" in m), None)

    line = poll("the intake's log line", intake_line, timeout=60)
    assert "접수 자료(올린 자료 2022-2/" in line and "-package)를 읽었습니다" in line, line
    assert "신청 36건" in line and "/inbox/" not in line, line
