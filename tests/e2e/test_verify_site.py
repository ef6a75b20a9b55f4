"""`sangsaeng verify-site` (docs/interfaces.md §6) as a public server runs it: a real uvicorn
in its own process over the replayed 2022-2 round, asked over HTTP and by headless Chromium on
a phone's screen from the address in a certificate's QR code — and axe-core's accessibility
checks (KWCAG 2.2 / WCAG) on the verification pages and the office's upload page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from sangsaeng.io.after_selection import read_support
from sangsaeng.settings import get_settings
from sangsaeng.web.office import office_server
from tests.e2e.browser import SHOTS, chromium
from tests.e2e.served import BIN, free_port, poll

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("replayed")]

CANCELLATION = ("receipt_no,ground,decided_on,reason\n"
                "2022-2-018,failed_evaluation,2023-03-02,중간평가 부적합 (협력 실적 없음)\n")
SERIOUS = ("serious", "critical")


@pytest.fixture
def site(env: Path, tmp_path: Path) -> Iterator[str]:
    """`sangsaeng verify-site` on a free port, reading the test's database and var dir."""
    port = free_port()
    log = tmp_path / "verify-site.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "sangsaeng"), "verify-site", "--port", str(port)],
            env={**os.environ, "SANGSAENG_PUBLIC_RATE_PER_MINUTE": "0"},
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        poll("verify-site to answer", lambda: fetch(url, "/robots.txt")[0] == 200 or None,
             timeout=60)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        stopped = process.wait(timeout=30)
        # uvicorn shuts down, then raises the signal again: the exit a service manager expects
        assert stopped in (0, -signal.SIGTERM), log.read_text()
        assert "Traceback" not in log.read_text()


def fetch(url: str, path: str, accept: str = "text/html") -> tuple[int, str, bytes]:
    """(status, content type, body); (0, "", b"") when nothing answers yet."""
    request = urllib.request.Request(url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"] or "", refused.read()
    except OSError:
        return 0, "", b""


def cancel_2022_2_018(tmp_path: Path) -> None:
    from tasks.support_import import apply_support

    folder = tmp_path / "cancellations"
    folder.mkdir()
    (folder / "cancellations.csv").write_text(CANCELLATION, encoding="utf-8")
    apply_support(read_support(folder), datetime.fromisoformat("2023-03-02T10:00:00+09:00"),
                  "test")


def qr_address(pdf: Path, tmp_path: Path) -> str:
    """The address in the certificate's QR code, as a phone's camera reads it."""
    image = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(image)],
                   check=True)
    return subprocess.run(["zbarimg", "--raw", "-q", f"{image}.png"], check=True,
                          capture_output=True, text=True).stdout.strip()


def serious(results: Any) -> list[str]:
    """axe-core's violations of impact serious or critical, one line each."""
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
            if v["impact"] in SERIOUS]


def test_verify_site_serves_the_page_json_and_nothing_of_the_office(
        site: str, tmp_path: Path) -> None:
    status, kind, body = fetch(site, "/certificates/22-MP0007")
    page = body.decode()
    assert status == 200 and kind.startswith("text/html")
    assert "아아가시스템" in page and "만료" in page
    status, kind, body = fetch(site, "/certificates/22-MP0007", "application/json")
    assert status == 200 and kind.startswith("application/json")
    assert json.loads(body)["status"] == "expired"
    for path in ("/upload", "/2022-2/decisions.csv", "/2022-2/selection.xlsx", "/"):
        assert fetch(site, path)[0] == 404, path
    original = fetch(site, "/certificates/22-IG0007.pdf")
    assert original[0] == 200 and original[2].startswith(b"%PDF")
    cancel_2022_2_018(tmp_path)
    status, _, body = fetch(site, "/certificates/22-IG0007")
    assert status == 200 and "취소" in body.decode()
    status, kind, body = fetch(site, "/certificates/22-IG0007.pdf")
    assert status == 410 and kind.startswith("text/html") and body != original[2]
    assert "취소" in body.decode()


def test_a_phone_opens_the_qr_address_and_the_pages_pass_axe(
        site: str, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = qr_address(env / "certificates" / "2022-2" / "22-MP0007-v1.pdf", tmp_path)
    assert address.endswith("/certificates/22-MP0007")
    path = "/" + address.split("/", 3)[3]  # this test's server in place of the QR's host
    axe = Axe()
    with chromium(width=390, height=844, phone=True) as page:
        page.goto(site + path)
        assert "아아가시스템" in page.inner_text("#lead")
        assert page.inner_text("#status").startswith("만료")
        # Readable on the phone: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "verify-phone.png"), full_page=True)
        assert serious(axe.run(page)) == []
        cancel_2022_2_018(tmp_path)
        page.goto(site + "/certificates/22-IG0007")
        assert page.inner_text("#status").startswith("취소")
        assert serious(axe.run(page)) == []
        page.goto(site + "/certificates/22-XX9999")
        assert serious(axe.run(page)) == []


def test_the_upload_page_passes_axe_with_no_violation_at_all(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    with office_server(env / "exports", 0) as url, chromium() as page:
        page.goto(url + "/upload")
        violations = Axe().run(page).response["violations"]
    assert [f"{v['id']} ({v['impact']})" for v in violations] == []
