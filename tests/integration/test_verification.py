"""The public verification app (docs/interfaces.md §6) as a buyer meets it, on the replayed
2022-2 round: a Korean page for the QR's address, the same facts as JSON, a 404 page for an
unknown number, a 400 for an impossible time, no original PDF of a cancelled certificate, the
version current at a past time, nothing of the office's (uploads, exports), a 429 for a client
asking too often, and revalidation by ETag.

The app runs in-process under Starlette's test client (the network adds nothing here);
tests/e2e/test_verify_site.py runs `sangsaeng verify-site` on a real uvicorn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sangsaeng.domain.clock import KST
from sangsaeng.io.after_selection import read_support
from sangsaeng.settings import get_settings
from sangsaeng.web.public import public_app

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SANGSAENG_PUBLIC_RATE_PER_MINUTE", "0")  # the limit has its own test
    get_settings.cache_clear()
    with TestClient(public_app(get_settings())) as client:
        yield client


def text_of(page: str) -> str:
    """The page's text, tags dropped and spaces folded (what a reader sees)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def support(tmp_path: Path, name: str, text: str, now: str) -> None:
    from tasks.support_import import apply_support

    folder = tmp_path / f"support-{name}"
    folder.mkdir()
    (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    done = apply_support(read_support(folder), datetime.fromisoformat(now), "test")
    assert not done.refused, done.refused


def test_the_qr_address_answers_a_korean_page_with_the_lead_and_todays_status(
        client: TestClient) -> None:
    page = client.get("/certificates/22-MP0007", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    shown = text_of(page.text)
    assert "아아가시스템" in shown and "22-MP0007" in shown
    assert "만료" in shown and "유효기간" in shown and "중소벤처기업부장관" in shown
    assert '<html lang="ko">' in page.text and 'name="viewport"' in page.text  # a phone
    assert "@" not in page.text  # no e-mail address
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_the_same_facts_as_json_and_the_status_at_an_asked_time(client: TestClient) -> None:
    facts = client.get("/certificates/22-MP0007", headers=JSON).json()
    assert facts["number"] == "22-MP0007" and facts["lead_name"].startswith("아아가시스템")
    assert facts["status"] == "expired" and facts["status_text"].startswith("만료")
    then = client.get("/certificates/22-MP0007?now=2023-01-01", headers=JSON).json()
    assert then["status"] == "valid" and then["status_text"] == "유효"


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                 "yesterday"])
def test_a_time_out_of_range_is_a_400_never_a_traceback(client: TestClient, now: str) -> None:
    answer = client.get(f"/certificates/22-MP0007?now={now}", headers=JSON)
    assert answer.status_code == 400 and "ISO 8601" in answer.json()["error"]


@pytest.mark.parametrize("number", ["22-XX9999", "22-IG9999", "not-a-number", "..%2F..%2Fdb"])
def test_an_unknown_or_malformed_number_gets_a_korean_404_page(client: TestClient,
                                                                number: str) -> None:
    page = client.get(f"/certificates/{number}", headers=HTML)
    assert page.status_code == 404 and "찾을 수 없습니다" in page.text
    assert client.get(f"/certificates/{number}", headers=JSON).status_code == 404


@pytest.mark.parametrize("path", ["/upload", "/2022-2/decisions.csv", "/2022-2/", "/",
                                  "/inbox/2022-2/", "/certificates/../2022-2/selection.csv"])
def test_the_offices_pages_and_files_are_not_there(client: TestClient, path: str) -> None:
    answer = client.get(path, headers=HTML)
    assert answer.status_code == 404
    assert "receipt_no" not in answer.text and "csrf" not in answer.text


def test_only_reading_is_allowed(client: TestClient) -> None:
    answer = client.post("/certificates/22-MP0007", headers=HTML)
    assert answer.status_code == 405 and "GET" in answer.headers["allow"]


def test_after_a_cancellation_the_page_says_cancelled_and_the_pdf_is_not_the_original(
        client: TestClient, env: Path, tmp_path: Path) -> None:
    original = client.get("/certificates/22-IG0007.pdf")
    assert original.status_code == 200 and original.content.startswith(b"%PDF")
    support(tmp_path, "cancellations", "receipt_no,ground,decided_on,reason\n"
            "2022-2-018,failed_evaluation,2023-03-02,중간평가 부적합 (협력 실적 없음)\n",
            "2023-03-02T10:00:00+09:00")
    page = client.get("/certificates/22-IG0007", headers=HTML)
    shown = text_of(page.text)
    assert page.status_code == 200 and "취소 (2023년 3월 2일부터)" in shown
    assert "중간평가" not in shown and "failed_evaluation" not in shown  # no private reason
    pdf = client.get("/certificates/22-IG0007.pdf")
    assert pdf.status_code == 410 and pdf.headers["content-type"].startswith("text/html")
    assert not pdf.content.startswith(b"%PDF") and "취소" in text_of(pdf.text)


def test_a_time_before_a_reissue_shows_the_version_current_then(
        client: TestClient, tmp_path: Path) -> None:
    support(tmp_path, "changes", "number,field,new_value,changed_on,reason\n"
            "22-IG0001,name,주식회사 새이름,2022-10-04,상호 변경\n", "2022-10-05T10:00:00+09:00")
    before = client.get("/certificates/22-IG0001?now=2022-09-01", headers=JSON).json()
    after = client.get("/certificates/22-IG0001?now=2022-10-06", headers=JSON).json()
    assert (before["version"], after["version"]) == (1, 2)
    assert after["lead_name"] == "주식회사 새이름" != before["lead_name"]
    assert client.get("/certificates/22-IG0001?now=2022-07-01", headers=JSON
                      ).status_code == 404  # not issued yet on that day


def test_a_client_is_told_to_revalidate_and_gets_304_when_nothing_changed(
        client: TestClient) -> None:
    for headers, path in ((HTML, "/certificates/22-MP0007"), (JSON, "/certificates/22-MP0007"),
                          ({}, "/certificates/22-MP0007.pdf")):
        first = client.get(path, headers=headers)
        assert first.headers["cache-control"] == "no-cache" and first.headers["etag"]
        again = client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and not again.content


def test_a_client_asking_too_often_gets_a_korean_429(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGSAENG_PUBLIC_RATE_PER_MINUTE", "5")
    get_settings.cache_clear()
    with TestClient(public_app(get_settings())) as client:
        answers = [client.get("/certificates/22-MP0007", headers=HTML) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert "요청이 너무 많습니다" in answers[-1].text
    assert answers[-1].headers["retry-after"] == "60"


def test_kst_is_the_day_the_status_turns(client: TestClient) -> None:
    """22-MP0007 is valid to 2025-07-19: at 23:59 KST that day valid, at 00:00 KST the
    next day (15:00 UTC) expired."""
    last = datetime(2025, 7, 19, 23, 59, tzinfo=KST).isoformat()
    first = "2025-07-19T15:00:00+00:00"
    assert client.get("/certificates/22-MP0007", params={"now": last}, headers=JSON
                      ).json()["status"] == "valid"
    assert client.get("/certificates/22-MP0007", params={"now": first}, headers=JSON
                      ).json()["status"] == "expired"


def test_the_rate_limit_keeps_a_bounded_memory_and_still_limits_a_busy_client() -> None:
    """Many addresses (a scan from a botnet) do not grow the buckets without bound, and the
    client asking most is still limited after them."""
    from sangsaeng.web.pages import Pages
    from sangsaeng.web.public import MAX_CLIENTS, RateLimit

    limit = RateLimit(lambda *_: None, Pages(get_settings().templates_dir), 5)  # type: ignore[arg-type]
    assert [limit.allow("busy", 0.0) for _ in range(6)] == [True] * 5 + [False]
    for n in range(3 * MAX_CLIENTS):
        limit.allow(f"10.0.{n // 256}.{n % 256}", 1.0)
        if n % 1000 == 0:
            limit.allow("busy", 1.0)  # still seen: stays among the remembered
    assert len(limit.buckets) <= MAX_CLIENTS
    assert limit.allow("busy", 1.5) is False
