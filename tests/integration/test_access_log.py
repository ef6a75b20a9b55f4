"""The access log of personal data (issue 27 items 1–2): a download of personal data is refused
without a reason and logged with one — from the CLI and from the office app — and the month's
inspection sheet lists it (operator, time, place, reason, whose data), flags what an inspector
looks for, and refuses a log edited afterwards.
"""

from __future__ import annotations

import csv
import getpass
import io
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.access import month_of
from sangsaeng.web.office import office_server

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]  # also on PostgreSQL

MONTH = month_of(datetime.now(UTC))
SELECTED = 12  # 2022-2's selected projects: whose data its 29 certificates hold


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def sheet(*extra: str) -> tuple[list[dict[str, str]], list[str], str]:
    """The month's inspection sheet: its rows, its summary lines, stderr."""
    code, out, err = cli("privacy", "access-log", "--month", MONTH, "--reason", "월간 점검",
                         *extra)
    assert code == 0, err
    table, _, summary = out.lstrip("\ufeff").replace("\r\n", "\n").partition("\n\n")
    return list(csv.DictReader(io.StringIO(table))), summary.splitlines(), err


def logged() -> int:
    with session_scope(get_engine()) as session:
        return int(session.execute(text("SELECT count(*) FROM accesslog")).scalar_one())


def test_a_download_without_a_reason_is_refused_in_one_line_and_with_one_it_is_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SANGSAENG_ACCESS_REASON", raising=False)
    code, out, err = cli("export", "certificates", "--round", "2022-2")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "개인정보(대표자 이름과 주소)" in err and "--reason" in err
    assert logged() == 0

    code, out, _ = cli("export", "certificates", "--round", "2022-2", "--reason",
                       "확인서 대장 분기 점검")
    assert code == 0 and out.lstrip("\ufeff").startswith("number,brn,lead_name,representative")
    code, out, _ = cli("export", "audit", "--round", "2022-2",
                       env={"SANGSAENG_ACCESS_REASON": "국회 자료 요구"})
    assert code == 0 and out.count("\n") > 100

    rows, summary, err = sheet()
    assert [(r["행위"], r["대상"], r["사유"]) for r in rows] == [
        ("출력", "2022-2/certificates.csv", "확인서 대장 분기 점검"),
        ("출력", "2022-2/audit.csv", "국회 자료 요구")]
    first = rows[0]
    assert first["운영자"] == f"cli:{getpass.getuser()}" and first["접속지"] == "local"
    assert first["일시 (KST)"].endswith("+09:00") and first["회차"] == "2022-2"
    assert first["정보주체 수"] == str(SELECTED)
    assert first["정보주체"].split() == sorted(first["정보주체"].split())
    assert "2022-2-002" in first["정보주체"].split()
    assert rows[1]["정보주체 수"] == "36"  # the audit names every application of the round
    assert summary[0] == f"{MONTH} 접속기록 2건, 해시 사슬 이상 없음" and summary[0] in err
    # reading the sheet is itself logged (it names the operators)
    again, _, _ = sheet()
    assert [r["대상"] for r in again][-1] == f"접속기록 {MONTH}"


def test_the_inspection_sheet_as_a_workbook_has_its_summary_first(tmp_path: Path) -> None:
    assert cli("export", "certificates", "--round", "2022-2", "--reason", "점검")[0] == 0
    out = tmp_path / "access.xlsx"
    code, _, err = cli("privacy", "access-log", "--month", MONTH, "--format", "xlsx", "--out",
                       str(out), "--reason", "월간 점검")
    assert code == 0, err
    workbook = load_workbook(out, read_only=True)
    try:
        assert workbook.sheetnames == ["점검 요약", f"{MONTH} 접속기록"]
        summary = [row[0] for row in workbook["점검 요약"].iter_rows(values_only=True)]
        rows = list(workbook[f"{MONTH} 접속기록"].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert summary[1] == f"{MONTH} 접속기록 1건, 해시 사슬 이상 없음"
    assert rows[0][:4] == ("일시 (KST)", "운영자", "접속지", "행위")
    assert rows[1][6] == SELECTED  # a count, as a number


def test_a_log_row_edited_afterwards_fails_the_sheet_and_bad_months_are_refused() -> None:
    assert cli("export", "certificates", "--round", "2022-2", "--reason", "점검")[0] == 0
    with session_scope(get_engine()) as session:
        session.execute(text("UPDATE accesslog SET reason = '업무' WHERE id = "
                             "(SELECT min(id) FROM accesslog)"))
    code, out, err = cli("privacy", "access-log", "--month", MONTH, "--reason", "월간 점검")
    assert code == 5 and out == "" and "사슬이 끊깁니다" in err and err.count("\n") == 1
    code, _, err = cli("privacy", "access-log", "--month", "2026-13", "--reason", "점검")
    assert code == 2 and "YYYY-MM" in err
    code, _, err = cli("privacy", "access-log", "--month", MONTH)
    assert code == 2 and "사유" in err


def test_the_office_app_asks_who_and_why_before_it_gives_a_file_of_personal_data(
    replayed: object, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    from sangsaeng.settings import get_settings

    exports = get_settings().var_dir / "exports"
    path = "/2022-2/certificates.csv"
    with office_server(exports, 0) as url, httpx.Client(base_url=url, timeout=10) as client:
        # a file without personal data comes as before
        plain = client.get("/2022-2/decisions.csv")
        assert plain.status_code == 200 and plain.text.lstrip("\ufeff").startswith("receipt_no")
        asked = client.get(path)
        assert asked.status_code == 200 and "text/html" in asked.headers["content-type"]
        assert "대표자 이름과 주소" in asked.text and 'name="reason"' in asked.text
        assert "representative" not in asked.text  # the form, not the file
        own = {"Origin": url, "Content-Type": "application/x-www-form-urlencoded"}
        empty = client.post(path, content="operator=&reason=", headers=own)
        assert empty.status_code == 400 and "사유" in empty.text
        stranger = client.post(path, content=_form("김담당", "점검"),
                               headers={**own, "Origin": "http://evil.example"})
        assert stranger.status_code == 403
        assert logged() == 0
        given = client.post(path, content=_form("김담당", "확인서 발급 현황 보고"), headers=own)
    assert given.status_code == 200
    assert given.headers["content-disposition"].startswith("attachment;")
    assert given.text.lstrip("\ufeff").startswith("number,brn,lead_name,representative")
    rows, _, _ = sheet()
    assert [(r["운영자"], r["접속지"], r["행위"], r["대상"], r["사유"], r["정보주체 수"])
            for r in rows[:1]] == [(f"김담당 (local:{getpass.getuser()})", "127.0.0.1", "내려받기",
                                    "2022-2/certificates.csv", "확인서 발급 현황 보고",
                                    str(SELECTED))]


def _form(operator: str, reason: str) -> str:
    return urllib.parse.urlencode({"operator": operator, "reason": reason})
