"""`serve`'s upload page (`/upload` on the exports server) as the office uses it, in headless
Chromium (Debian's `chromium` driven by Playwright), and the requests it refuses: a wrong file
type, a body over the limit, a file name with `../`, a ZIP bomb, no password, a POST without
the page's CSRF token or from another origin.

The server runs in-process on a free port with a fresh program database and var dir; no
Prefect API is configured, so the page stores and checks only (the run link: a unit test).
"""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import AccessEntry
from sangsaeng.services.round_files import default_package
from sangsaeng.settings import get_settings
from sangsaeng.web.office import office_server
from sangsaeng.web.upload import form_url, run_url, ui_url
from tests.conftest import REPO, ROUND_2022_2, package_workbook
from tests.e2e.browser import SHOTS, chromium

pytestmark = [pytest.mark.e2e]

USER, PASSWORD = "office", "correct horse battery staple"
PACKAGE = sorted((ROUND_2022_2 / "package").glob("*.csv"))


@pytest.fixture
def site(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """The exports server with its upload page, behind the shared password; 1 MB limit."""
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", f"{USER}:{PASSWORD}")
    monkeypatch.setenv("SANGSAENG_UPLOAD_MAX_MB", "1")
    monkeypatch.setenv("SANGSAENG_UPLOAD_UNPACKED_MAX_MB", "8")
    for name in ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_API_AUTH_STRING"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    with office_server(env / "exports", 0) as url:
        yield url, env / "inbox" / "2022-2"


def browser_page(credentials: bool = True) -> AbstractContextManager[Page]:
    """A headless Chromium page that knows the shared password (HTTP Basic)."""
    return chromium((USER, PASSWORD) if credentials else None, width=1200, height=900,
                    timeout_ms=30_000)


def upload(page: Page, url: str, files: list[Path] | list[dict[str, object]],
           kind: str = "package") -> None:
    """Open the page, choose round 2022-2 and the kind, pick the files, submit."""
    page.goto(f"{url}/upload")
    page.select_option("#round", "2022-2")
    page.check(f"input[name=kind][value={kind}]")
    page.set_input_files("#files", files)  # type: ignore[arg-type]
    page.click("button[type=submit]")
    page.wait_for_load_state()


def stored(inbox: Path) -> list[Path]:
    """The upload folders in the round's inbox (a refused upload leaves none, not even a
    temporary one)."""
    return sorted(inbox.iterdir()) if inbox.exists() else []


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_office_uploads_the_2022_2_package_as_csv_files_and_as_one_zip(
    site: tuple[str, Path]
) -> None:
    url, inbox = site
    with browser_page() as page:
        upload(page, url, PACKAGE)
        expect(page.locator("#result h2")).to_have_text("받았습니다")
        expect(page.locator("#message")).to_contain_text("2022-2 접수 자료를 보관했습니다")
        expect(page.locator("#run-note")).to_contain_text("검사와 보관만 했습니다")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)
        [first] = stored(inbox)
        assert first.name.endswith("-package")
        assert sorted(p.name for p in first.iterdir()) == [p.name for p in PACKAGE]
        assert all((first / p.name).read_bytes() == p.read_bytes() for p in PACKAGE)

        # the same files zipped in a folder, as "send to compressed folder" makes them
        archive = zipped({f"package/{p.name}": p.read_bytes() for p in PACKAGE})
        upload(page, url, [{"name": "2022-2 접수.zip", "mimeType": "application/zip",
                            "buffer": archive}])
        expect(page.locator("#result h2")).to_have_text("받았습니다")
        second = next(p for p in stored(inbox) if p != first)
        assert sorted(p.name for p in second.iterdir()) == [p.name for p in PACKAGE]
    # 입력 in the access log (issue 27): who, from where, which upload, whose data
    with (ROUND_2022_2 / "package" / "applications.csv").open(encoding="utf-8-sig") as f:
        receipts = sorted({row["receipt_no"] for row in csv.DictReader(f)})
    with session_scope(get_engine()) as session:
        rows = list(session.scalars(select(AccessEntry).order_by(AccessEntry.id)))
    assert [(r.action, r.operator, r.client, r.what, r.round_id) for r in rows] == [
        ("input", USER, "127.0.0.1", f"2022-2/{folder.name}", "2022-2")
        for folder in (first, second)]
    assert rows[0].subjects.split() == receipts and rows[0].subject_count == len(receipts)
    assert rows[0].reason == "접수 자료 올리기"


def test_the_office_uploads_the_portal_export_as_one_xlsx_and_the_round_reads_it(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, inbox = site
    workbook = package_workbook(ROUND_2022_2 / "package", tmp_path / "2022-2 접수.xlsx")
    rows = sum(len(p.read_text(encoding="utf-8-sig").splitlines()) - 1 for p in PACKAGE)
    with browser_page() as page:
        upload(page, url, [workbook])
        expect(page.locator("#result h2")).to_have_text("받았습니다")
        expect(page.locator("#message")).to_contain_text("모든 행이 올바릅니다")
        expect(page.locator("#result")).to_contain_text(f"읽은 행 {rows}개")
        shown = page.locator("#result").inner_text()
    [folder] = stored(inbox)
    # issue 23 item 5: the upload's name, never the server's path to it
    assert f"보관 이름 2022-2/{folder.name}" in shown and str(inbox) not in shown, shown
    assert [p.name for p in folder.iterdir()] == ["package.xlsx"]  # named by us, not the client
    assert (folder / "package.xlsx").read_bytes() == workbook.read_bytes()
    # the round run with its package left empty reads this workbook
    assert default_package("2022-2", inbox.parent, REPO / "data") == folder / "package.xlsx"


def test_refused_rows_are_listed_with_file_row_and_column_and_the_good_files_kept(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, inbox = site
    package = shutil.copytree(ROUND_2022_2 / "package", tmp_path / "package")
    applications = package / "applications.csv"
    lines = applications.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("2022-05-07T17:48:00", "<b>지난주</b>")  # row 3
    applications.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with browser_page() as page:
        upload(page, url, sorted(package.glob("*.csv")))
        expect(page.locator("#result h2")).to_have_text("받았습니다")
        row = page.locator("#errors tbody tr", has_text="applications.csv").first
        expect(row.locator("td").nth(0)).to_have_text("applications.csv")
        expect(row.locator("td").nth(1)).to_have_text("3")
        expect(row.locator("td").nth(2)).to_have_text("submitted_at")
        expect(row.locator("td").nth(3)).to_have_text("<b>지난주</b>")  # shown, not markup
    [folder] = stored(inbox)
    assert (folder / "applications.csv").read_bytes() == applications.read_bytes()


def test_a_wrong_type_an_oversized_file_a_zip_bomb_and_a_zip_slip_are_refused_on_the_page(
    site: tuple[str, Path]
) -> None:
    url, inbox = site
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("applications.csv", "w") as member:
        for _ in range(100):
            member.write(bytes(2**20))  # 100 MB of zeros, about 100 KB packed
    assert len(bomb.getvalue()) < 2**20  # under the upload limit: the archive check stops it
    cases = {
        "exe": ({"name": "applications.exe", "mimeType": "application/octet-stream",
                 "buffer": b"MZ\x90\x00"}, "받지 않는 파일 형식"),
        "txt": ({"name": "applications.txt", "mimeType": "text/plain",
                 "buffer": b"receipt_no\n"}, "받지 않는 파일 형식"),
        "exe renamed .csv": ({"name": "applications.csv", "mimeType": "text/csv",
                              "buffer": b"MZ\x90\x00\x03\x00"}, "텍스트(CSV) 파일이 아닙니다"),
        "too large": ({"name": "applications.csv", "mimeType": "text/csv",
                       "buffer": b"receipt_no,track\n" + b"2022-2-001,innovation\n" * 80_000},
                      "파일이 너무 큽니다"),
        "zip bomb": ({"name": "bomb.zip", "mimeType": "application/zip",
                      "buffer": bomb.getvalue()}, "압축 폭탄"),
        "zip slip": ({"name": "package.zip", "mimeType": "application/zip",
                      "buffer": zipped({"../applications.csv": b"receipt_no\n"})},
                     "경로가 허용되지 않습니다"),
    }
    with browser_page() as page:
        for case, (file, message) in cases.items():
            upload(page, url, [file])
            expect(page.locator("#result h2"), case).to_have_text("받지 않았습니다")
            expect(page.locator("#message"), case).to_contain_text(message)
            assert stored(inbox) == [], case
    assert not list((inbox.parent.parent / "exports").rglob("*.csv"))


# --- the same refusals as raw requests (what a browser would not send) -----------------------

def request(url: str, method: str, path: str = "/upload", body: bytes = b"",
            headers: dict[str, str] | None = None, password: str | None = PASSWORD
            ) -> tuple[int, http.client.HTTPMessage, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    sent = {"Host": parts.netloc, **(headers or {})}
    if password is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(
            f"{USER}:{password}".encode()).decode()
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def token(url: str) -> str:
    page = request(url, "GET")[2]
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----sangsaeng-test-boundary"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())
    for filename, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                  f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post(url: str, fields: dict[str, str], files: list[tuple[str, bytes]],
         origin: str | None = None, password: str | None = PASSWORD
         ) -> tuple[int, http.client.HTTPMessage, str]:
    body, content_type = multipart(fields, files)
    return request(url, "POST", body=body, password=password, headers={
        "Content-Type": content_type, "Origin": origin or url})


def test_without_the_password_the_page_answers_401_and_shows_no_form(
    site: tuple[str, Path]
) -> None:
    url, inbox = site
    for password in (None, "wrong"):
        status, headers, page = request(url, "GET", password=password)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic")
        assert "비밀번호가 필요합니다" in page and 'name="csrf"' not in page
    files = [("applications.csv", (ROUND_2022_2 / "package" / "applications.csv").read_bytes())]
    status, _, _ = post(url, {"csrf": token(url), "round": "2022-2", "kind": "package"}, files,
                        password=None)
    assert status == 401
    assert stored(inbox) == []
    with browser_page(credentials=False) as page, \
            pytest.raises(PlaywrightError, match="AUTH"):  # headless: no password prompt
        page.goto(f"{url}/upload")


def test_the_page_is_no_store_with_a_strict_content_security_policy(
    site: tuple[str, Path]
) -> None:
    status, headers, page = request(site[0], "GET")
    assert status == 200 and "2022-2" in page
    assert headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_a_post_without_the_pages_token_or_from_another_origin_is_refused(
    site: tuple[str, Path]
) -> None:
    url, inbox = site
    files = [(p.name, p.read_bytes()) for p in PACKAGE]
    form = {"round": "2022-2", "kind": "package"}
    good = token(url)
    expiry, _, mac = good.partition(".")
    forged = f"{int(expiry) + 3600}.{mac}"  # a later expiry under the same signature
    for csrf in (None, "", "1.abc", forged):
        fields = form if csrf is None else {**form, "csrf": csrf}
        status, _, page = post(url, fields, files)
        assert status == 403, csrf
        assert "CSRF" in page
    status, _, page = post(url, {**form, "csrf": good}, files, origin="http://evil.example")
    assert status == 403 and "cross-site" in page
    assert stored(inbox) == []
    assert post(url, {**form, "csrf": good}, files)[0] == 200  # the same, from the page
    assert len(stored(inbox)) == 1


@pytest.mark.parametrize("filename", ["../applications.csv", "..\\applications.csv",
                                      "/etc/applications.csv", "sub/../../applications.csv",
                                      "..", ".applications.csv"])
def test_a_file_name_with_a_path_is_refused_and_nothing_is_written(
    site: tuple[str, Path], filename: str
) -> None:
    url, inbox = site
    data = (ROUND_2022_2 / "package" / "applications.csv").read_bytes()
    status, _, page = post(url, {"csrf": token(url), "round": "2022-2", "kind": "package"},
                           [(filename, data)])
    assert status in (400, 415)
    assert "받지 않았습니다" in page
    var = inbox.parent.parent
    assert stored(inbox) == []
    assert not [p for p in var.rglob("applications.csv")]


def announced_post(url: str, boundary: str, length: int) -> http.client.HTTPConnection:
    """A POST to the upload page, with the password, whose headers announce `length` bytes of
    multipart body; the caller sends what it sends of the body, or nothing."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    connection.putrequest("POST", "/upload")
    connection.putheader("Authorization", "Basic " + base64.b64encode(
        f"{USER}:{PASSWORD}".encode()).decode())
    connection.putheader("Origin", url)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    return connection


def test_a_body_over_the_limit_is_refused_before_it_is_read(site: tuple[str, Path]) -> None:
    url, inbox = site
    # announces 50 MB and sends none of it: the answer comes at once
    connection = announced_post(url, "x", 50 * 2**20)
    try:
        response = connection.getresponse()
        assert response.status == 413
        assert "파일이 너무 큽니다" in response.read().decode()
    finally:
        connection.close()
    assert stored(inbox) == []


CORRUPT_XLSX = b"PK\x03\x04" + bytes(100)
NOISE = random.Random(0).randbytes(20_000)  # does not compress: cut short, no directory left


@pytest.mark.parametrize("name, data", [
    pytest.param("package.xlsx", CORRUPT_XLSX, id="xlsx-of-nul-bytes"),
    pytest.param("package.zip", zipped({"package.xlsx": CORRUPT_XLSX}), id="zip-holding-one"),
    pytest.param("package.xlsx", zipped({"[Content_Types].xml": NOISE})[:4000],
                 id="truncated-xlsx"),
    pytest.param("package.zip", zipped({"applications.csv": NOISE})[:4000], id="truncated-zip"),
])
def test_a_corrupt_workbook_or_archive_is_a_415_with_a_korean_reason(
    site: tuple[str, Path], name: str, data: bytes
) -> None:
    """Issue 22 item 2: the server answered none of these (zipfile.BadZipFile)."""
    url, inbox = site
    status, _, page = post(url, {"csrf": token(url), "round": "2022-2", "kind": "package"},
                           [(name, data)])
    assert status == 415, page
    assert "받지 않았습니다" in page and "읽을 수 없습니다" in page
    assert stored(inbox) == []


def test_the_part_limit_holds_while_the_form_streams_in(site: tuple[str, Path]) -> None:
    """Issue 22 item 3: a body of empty parts is refused after its 25th part, before the rest
    arrives — the server does not read (or parse) what follows."""
    url, inbox = site
    boundary = "b"
    part = f"--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n".encode()
    head = part * 2000  # ~100 KB: far more than 24 parts
    connection = announced_post(url, boundary, 1000 * 1000)  # under the 1 MB limit
    try:
        connection.send(head)  # the rest of the announced megabyte never comes
        response = connection.getresponse()
        assert response.status == 400
        assert "항목이 너무 많거나" in response.read().decode()
    finally:
        connection.close()
    assert stored(inbox) == []


def test_with_no_password_set_the_page_answers_only_to_a_loopback_host(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    with office_server(env / "exports", 0) as url:
        status, _, page = request(url, "GET", password=None)
        assert status == 200 and "127.0.0.1)에서만 열립니다" in page
        status, _, page = request(url, "GET", password=None,
                                  headers={"Host": "rebound.evil.example"})
        assert status == 403 and 'name="csrf"' not in page


def test_the_run_link_points_at_the_prefect_ui() -> None:
    assert ui_url({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}) == "http://127.0.0.1:4200"
    assert ui_url({"PREFECT_API_URL": "http://127.0.0.1:4200/api",
                   "PREFECT_UI_URL": "https://prefect.example/"}) == "https://prefect.example"
    assert ui_url({}) is None
    assert (run_url("http://127.0.0.1:4200", "0b6c1e9e-7f1d-4a53-9a3e-2f4f0c8f6a11")
            == "http://127.0.0.1:4200/runs/flow-run/0b6c1e9e-7f1d-4a53-9a3e-2f4f0c8f6a11")
    # a round not started yet: its run form, filled in through the UI's `parameters` query
    link = urlsplit(form_url("http://127.0.0.1:4200/", "d-1", {"config": "2022-2",
                                                               "wait_for_chair": True}))
    assert link.path == "/deployments/deployment/d-1/run"
    assert json.loads(parse_qs(link.query)["parameters"][0]) == {"config": "2022-2",
                                                                 "wait_for_chair": True}


def test_after_selection_files_are_checked_with_the_support_reader_and_kept(
    site: tuple[str, Path]
) -> None:
    url, inbox = site
    files = [(p.name, p.read_bytes()) for p in sorted((ROUND_2022_2 / "support").glob("*.csv"))
             if p.name != "evaluations.csv"]
    bad = b"receipt_no,kind,held_on,result,note\n2022-2-001,interim,2023-13-45,pass,\n"
    status, _, page = post(url, {"csrf": token(url), "round": "2022-2", "kind": "support"},
                           [*files, ("evaluations.csv", bad)])
    assert status == 200 and "선정 후 자료를 보관했습니다" in page
    assert "<td>evaluations.csv</td><td>2</td><td>held_on</td><td>2023-13-45</td>" in page
    [folder] = stored(inbox)
    assert folder.name.endswith("-support")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*(name for name, _ in files), "evaluations.csv"])
    refused = post(url, {"csrf": token(url), "round": "2022-2", "kind": "support"},
                   [("applications.csv", b"receipt_no\n")])
    assert refused[0] == 400 and "선정 후 자료의 파일 이름이 아닙니다" in refused[2]


@pytest.mark.served
def test_an_upload_to_serve_starts_the_intake_run_it_links_to_and_the_run_imports_the_files(
    served_server: Any, tmp_path: Path
) -> None:
    """The whole path on a real `prefect server` and `sangsaeng serve`: the office uploads the
    package on serve's page, the page links to the `intake` run it started, that run imports
    the stored files (36 applications) — no path typed anywhere."""
    from flows.round_runs import deployment_name
    from tests.e2e.served import Api, free_port, poll, start_serve, stop

    api = Api(served_server)
    database = tmp_path / "served.db"
    exports_port = free_port()
    env_extra = {"PREFECT_SERVER_API_AUTH_STRING": f"{USER}:{PASSWORD}",
                 "SANGSAENG_EXPORTS_PORT": str(exports_port)}
    serve = start_serve(served_server, f"sqlite:///{database}", tmp_path / "var",
                        tmp_path / "serve.log", extra=env_extra)
    try:
        poll("serve's deployments", lambda: next((d for d in api.deployments()
                                                  if d.name.endswith("(open_call)")), None),
             timeout=180)
        opened = api.start(deployment_name("open_call"), {  # the round exists, and is open
            "config": str(REPO / "config" / "rounds" / "2022-2.toml"),
            "now": "2022-07-20T10:00:00+09:00"})  # after the close: no deadline runs
        poll("the call to be open", lambda: api.call(lambda c: c.read_flow_run(opened.id))
             .state.is_completed() or None, timeout=240, every=1)
        site = f"http://127.0.0.1:{exports_port}"
        with browser_page() as page:
            upload(page, site, PACKAGE)
            expect(page.locator("#result h2")).to_have_text("받았습니다")
            link = page.locator("#run a")
            expect(link).to_be_visible()
            href = link.get_attribute("href") or ""
            assert href.startswith(f"{served_server.ui_url}/runs/flow-run/")
            run_id = href.rsplit("/", 1)[1]
            page.screenshot(path=str(SHOTS / "upload-run-link.png"), full_page=True)
        run = poll("the intake run", lambda: (lambda r: r if r.state.is_final() else None)(
            api.call(lambda c: c.read_flow_run(run_id))), timeout=240, every=1)
        assert run.state.is_completed(), run.state
        assert run.parameters["round_id"] == "2022-2"
        assert str(run.parameters["data"]).startswith(str(tmp_path / "var" / "inbox" / "2022-2"))
    finally:
        stop(serve)
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        applications = conn.execute(text("SELECT count(*) FROM application")).scalar_one()
    engine.dispose()
    assert applications == 36
