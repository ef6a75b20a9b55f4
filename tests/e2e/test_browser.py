"""The Prefect UI as the office sees it, in headless Chromium (Debian's `chromium` driven by
Playwright): the deployments, the round's run form, the selection artifact, and names with
markup shown as text. Screenshots go to var/screenshots/ (docs/operations.md shows them)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from flows.round_runs import DEPLOYMENT_NAMES, deployment_name
from tests.conftest import REPO, ROUND_2022_2
from tests.e2e.browser import SHOTS, chromium, form_field
from tests.e2e.served import Api, Server, poll, start_serve, stop
from tests.integration.test_exports import MARKUP, rename

pytestmark = [pytest.mark.e2e, pytest.mark.served]

chromium_page = chromium  # the UI in these tests needs no password


def test_the_office_finds_the_round_form_and_the_selection_in_the_ui(
    served_server: Server, tmp_path: Path
) -> None:
    # Its own SQLite file, not the `database_url` fixture: the UI is the same on PostgreSQL,
    # so CI's PostgreSQL leg (the `db` tests) need not run the browser again.
    database_url = f"sqlite:///{tmp_path / 'browser.db'}"
    # The 2022-2 package, with product and company names an attacker would send (MARKUP).
    package = shutil.copytree(ROUND_2022_2 / "package", tmp_path / "package")
    for file, names in MARKUP.items():
        rename(package, file, names)
    api = Api(served_server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC) - timedelta(seconds=1)
    serve = start_serve(served_server, database_url, tmp_path / "var", tmp_path / "serve.log")
    try:
        round_deployment = poll("the round deployment", lambda: next(
            (d for d in api.deployments() if d.name == deployment_name("round").split("/")[1]
             and d.updated >= started
             and d.description and d.description.startswith("회차 전체 실행")), None),
            timeout=180)
        run = api.start(deployment_name("round"), {
            "config": str(REPO / "config" / "rounds" / "2022-2.toml"),
            "data": str(package), "now": "2022-07-20T10:00:00+09:00",
            "approve": True})
        poll("the replayed round", lambda: api.call(lambda c: c.read_flow_run(run.id)).state
             .is_completed() or None, timeout=240, every=1)
        digest = api.start(deployment_name("office_digest"), {})  # as its 09:00 schedule would
        poll("the office digest", lambda: api.call(lambda c: c.read_flow_run(digest.id)).state
             .is_completed() or None, timeout=240, every=1)
        selection = api.latest_artifact("round-2022-2-selection")
        status = api.latest_artifact("round-2022-2-status")
        announcement = api.latest_artifact("round-2022-2-announcement")
        statistics = api.latest_artifact("program-statistics")
        # M3: a failed interim evaluation proposes a cancellation; the office decides it in
        # the suspended review run's form (nothing is cancelled before)
        evaluations = api.start(deployment_name("support_import"), {
            "path": str(ROUND_2022_2 / "support" / "evaluations.csv"),
            "now": "2023-07-11T10:00:00+09:00"})
        poll("the evaluations import", lambda: api.call(
            lambda c: c.read_flow_run(evaluations.id)).state.is_final() or None,
            timeout=240, every=1)
        review = poll("the review run to wait for the office", lambda: next(
            (r for r in api.call(lambda c: c.read_flow_runs()) if r.name.startswith(
             "2022-2-018 성과평가 취소 검토 — ") and r.state and r.state.name == "Suspended"),
            None), timeout=240, every=1)
        office_sees_the_ui(page_url=served_server.ui_url, round_deployment=round_deployment.id,
                           selection=selection.latest_id, status=status.latest_id,
                           announcement=announcement.latest_id)
        with chromium_page() as page:  # M5: the statistics chart shows (served by serve)
            page.goto(f"{served_server.ui_url}/artifacts/artifact/{statistics.latest_id}")
            chart = page.locator(".markdown-renderer img").first
            expect(chart).to_be_visible(timeout=60_000)
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=chart.element_handle(), timeout=60_000)
            expect(page.get_by_text("전체 all", exact=False).first).to_be_visible(
                timeout=60_000)
            page.screenshot(path=str(SHOTS / "statistics.png"), full_page=True)
            page.goto(f"{served_server.ui_url}/runs/flow-run/{review.id}")
            page.get_by_role("button", name="Resume").first.click()
            form = page.get_by_role("dialog")
            for text in ("2022-2-018 취소 검토", "중간평가 (interim)", "Confirm", "Decided By"):
                expect(form.get_by_text(text, exact=False).first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(SHOTS / "review-cancellation-form.png"), full_page=True)
    finally:  # serve stays up while the browser opens its links (exports, certificate PDFs)
        stop(serve)


def office_sees_the_ui(page_url: str, round_deployment: object, selection: object,
                       status: object, announcement: object) -> None:
    """The deployments, the round's form, the artifacts and their links, in Chromium."""
    with chromium_page() as page:
        page.goto(f"{page_url}/deployments")
        # the list shows the names a person reads: Korean, the flow's name beside (issue 15)
        expect(page.get_by_role("link", name=re.compile(r"^[가-힣·\s]+ \(\w+\)$")).first
               ).to_be_visible(timeout=60_000)
        page.screenshot(path=str(SHOTS / "deployments.png"), full_page=True)
        # More deployments than one page of the list holds: the office searches, as we do.
        search = page.get_by_placeholder("Search deployments")
        for flow in ("round", "close_intake", "committee_review", "deliver_due_notices",
                     "accept_supplements", "upload_scores", "cancel_round",
                     "certificate_issuance", "confirm_production", "support_dues"):
            search.fill(flow)
            expect(page.get_by_role("link", name=flow, exact=True).first).to_be_visible(
                timeout=60_000)
        # Issue 15 §3: the names a person reads, found by their Korean words too
        for flow, words in (("round", "회차 실행"), ("certificate_issuance", "확인서 발급"),
                            ("deliver_notices", "안내 메일")):
            search.fill(words)
            expect(page.get_by_role("link", name=DEPLOYMENT_NAMES[flow], exact=True).first
                   ).to_be_visible(timeout=60_000)
        search.fill("")

        page.goto(f"{page_url}/deployments/deployment/{round_deployment}/run")
        # issue 23 item 7: Korean labels, no "None" toggles, no fields only the CLI gives
        expect(form_field(page, "회차")).to_be_visible(timeout=60_000)
        expect(form_field(page, "위원장 승인 기다리기")).to_be_visible(timeout=60_000)
        for leftover in ("None", "until", "approval"):
            expect(page.get_by_text(leftover, exact=True)).to_have_count(0)
        page.screenshot(path=str(SHOTS / "round-run-form.png"), full_page=True)

        page.goto(f"{page_url}/artifacts/artifact/{selection}")
        expect(page.get_by_text("2022-2-001", exact=True).first).to_be_visible(timeout=60_000)
        # issue 23 item 4: Korean words, not codes
        expect(page.get_by_text("선정", exact=True).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("혁신성장", exact=True).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("not_selected", exact=True)).to_have_count(0)
        page.screenshot(path=str(SHOTS / "selection-artifact.png"), full_page=True)

        page.goto(f"{page_url}/artifacts/artifact/{status}")
        expect(page.get_by_text("사후 지원", exact=False).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("혁신성장", exact=True).first).to_be_visible(timeout=60_000)
        for code in ("innovation", "not_selected", "support"):  # issue 23: names, not codes
            expect(page.get_by_text(code, exact=True)).to_have_count(0)
        for name in ("decisions.csv", "selection.xlsx", "announcement.md"):  # the exports, linked
            link = page.get_by_role("link", name=name, exact=True).first
            expect(link).to_be_visible(timeout=60_000)
            assert (link.get_attribute("href") or "").endswith(f"/2022-2/{name}")
        # K4: the certificates, each linking to its PDF that serve answers
        expect(page.get_by_text("확인서 certificates", exact=False).first).to_be_visible(
            timeout=60_000)
        pdf_link = page.get_by_role("link", name="22-IG0001", exact=True).first
        expect(pdf_link).to_be_visible(timeout=60_000)
        href = pdf_link.get_attribute("href") or ""
        assert href.endswith("/certificates/22-IG0001.pdf"), href
        response = page.request.get(href)
        assert response.ok and response.headers["content-type"] == "application/pdf"
        assert response.body().startswith(b"%PDF")
        page.screenshot(path=str(SHOTS / "round-status.png"), full_page=True)
        shows_names_as_text(page, f"{page_url}/artifacts/artifact/"
                                  f"{announcement}")
        for name in ("deployments", "round-run-form", "selection-artifact", "round-status"):
            assert (SHOTS / f"{name}.png").stat().st_size > 10_000


def shows_names_as_text(page: Page, url: str) -> None:
    """The announcement's table shows the names' markup as text: no image, script, link or
    bold text made of them, and no script ran."""
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:  # alert(1) would open one
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto(url)
    for name in ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
                 "[y](http://x.example/)", "**굵게** | 둘째 칸"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=60_000)
    article = page.locator(".markdown-renderer")
    assert article.count() > 0
    assert article.locator("img, script").count() == 0
    assert article.locator("a[href^='http://x.example']").count() == 0
    assert article.locator("strong").count() == 0
    assert dialogs == []
