"""Retention and destruction (issue 27 item 4, docs/privacy.md §4): with the clock past every
period, `privacy purge` leaves no applicant's e-mail address or representative's name anywhere
under the var directory nor in the database (searched byte by byte), while the statistics and
the audit trail still hold; before a period ends nothing of its kind goes; `--dry-run` changes
nothing; the daily dues run destroys the same.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.models import AccessEntry, AuditEvent
from sangsaeng.services import uploads
from sangsaeng.settings import get_settings
from tests.conftest import ROUND_2022_2

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]  # also on PostgreSQL

PACKAGE = ROUND_2022_2 / "package"
PAST_EVERY_PERIOD = "2040-01-01T09:00"
ROUND_CLOSES = "2022-05-27"  # 2022-2's deadline: + unselected_years (3) = 2025-05-27


@dataclass(frozen=True)
class Person:
    """A data subject of 2022-2 and where its package names it."""

    who: str
    email: str
    name: str


def _package(name: str) -> list[dict[str, str]]:
    with (PACKAGE / name).open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def people() -> dict[str, Person]:
    """A lead selected, a lead not selected, a selected project's partner, a reviewer — each
    chosen so that its name and address occur once in the package (a search means it)."""
    with (ROUND_2022_2 / "expected" / "decisions.csv").open(encoding="utf-8-sig") as f:
        decided = {row["receipt_no"]: row["status"] for row in csv.DictReader(f)}
    rows = _package("participants.csv")
    names = [row["representative"] for row in rows]

    def first(role: str, selected: bool) -> Person:
        row = next(r for r in rows if r["role"] == role and names.count(r["representative"]) == 1
                   and (decided.get(r["receipt_no"]) == "selected") == selected)
        return Person(f"{role} {row['receipt_no']}", row["email"], row["representative"])

    reviewer = _package("reviewers.csv")[0]
    return {"selected lead": first("lead", True), "lead not selected": first("lead", False),
            "selected partner": first("partner", True),
            "reviewer": Person("reviewer", reviewer["email"], reviewer["name"])}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _database_file() -> Path | None:
    url = make_url(get_settings().resolved_database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def files_with(needle: str) -> list[str]:
    """The files holding `needle`, byte by byte: every file under the var directory, and the
    SQLite file with its WAL."""
    data = needle.encode("utf-8")
    files = [p for p in get_settings().var_dir.rglob("*") if p.is_file()]
    database = _database_file()
    if database is not None:
        files += [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    return [str(p) for p in files if data in p.read_bytes()]


def tables_with(needle: str) -> set[str]:
    """The tables with a row holding `needle` (on either database)."""
    engine, tables = get_engine(), MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {table.name for table in tables.sorted_tables
                if any(needle in _text(row) for row in connection.execute(select(table)))}


def _text(row: Any) -> str:
    """A row's values as text (stored files' bytes as UTF-8: a CSV's Korean names too)."""
    return " ".join(bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | memoryview)
                    else str(v) for v in row)


def found_in(needle: str) -> list[str]:
    """Where `needle` is: files (byte by byte) and tables."""
    return files_with(needle) + [f"table {name}" for name in sorted(tables_with(needle))]


def statistics_total() -> tuple[str, str, str]:
    code, out, err = cli("report", "statistics", "--now", PAST_EVERY_PERIOD)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    total = next(row for row in rows if row[1] == "합계 total")
    return total[3], total[4], total[5]


def _upload_package() -> Path:
    """The package uploaded as the office app keeps it: in the inbox and the database."""
    files = [(path.name, path.read_bytes()) for path in sorted(PACKAGE.glob("*.csv"))]
    folder = uploads.store(get_settings().inbox_dir, "2022-2", uploads.Kind.PACKAGE, files,
                           uploads.Limits(50 << 20, 200 << 20), datetime.now(UTC))
    with session_scope(get_engine()) as session:
        uploads.keep(session, "2022-2", uploads.Kind.PACKAGE, folder)
    return folder


def stored_files() -> int:
    with session_scope(get_engine()) as session:
        return int(session.scalar(text("SELECT count(*) FROM storedfile")) or 0)


def test_past_every_period_purge_leaves_no_e_mail_or_name_but_statistics_and_audit_hold(
) -> None:
    var, subjects = get_settings().var_dir, people()
    inbox = _upload_package()
    pdfs = list((var / "certificates" / "2022-2").glob("*.pdf"))
    mail = list((var / "mail").glob("*.eml"))
    exported = var / "exports" / "2022-2" / "certificates.csv"
    assert len(pdfs) == 29 and mail and exported.is_file()
    for person in subjects.values():  # the search finds them before
        assert found_in(person.email) and found_in(person.name), person
    assert subjects["selected lead"].name in exported.read_text(encoding="utf-8")
    before = statistics_total()
    assert before == ("36", "12", "29")
    assert stored_files() == 29 + 9  # the PDFs, the package's files (the same bytes once)

    code, out, err = cli("privacy", "purge", "--dry-run", "--now", PAST_EVERY_PERIOD)
    assert code == 0, err
    assert "2040-01-01 기준 파기할 것" in out and "바꾼 것 없음" in out
    for line in ("2022-2  선정되지 않은 신청 24건 (2025-05-27부터 보관 기간 경과)",
                 "2022-2  선정 과제 12건", "2022-2  확인서 PDF 29개", "2022-2  평가위원",
                 # the package the replay read, and the upload (blobs.py keeps both)
                 "2022-2  올린 파일·접수 패키지 2건", "2022-2  안내 메일", ".eml 파일"):
        assert line in out, line
    assert inbox.is_dir() and all(p.is_file() for p in pdfs)
    assert found_in(subjects["lead not selected"].email)  # nothing changed

    code, out, err = cli("privacy", "purge", "--now", PAST_EVERY_PERIOD)
    assert code == 0, err
    assert "파기: 2022-2  선정 과제 12건" in out and "감사 기록" in out

    for person in subjects.values():
        assert found_in(person.email) == [], person
        assert found_in(person.name) == [], person
    assert not (var / "inbox" / "2022-2").exists()
    assert stored_files() == 0  # the database's copies of the PDFs and of the package too
    assert not list((var / "certificates").rglob("*.pdf"))
    assert not list((var / "mail").glob("*.eml"))
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 29 and {(r["representative"], r["address"]) for r in rows} == {("", "")}
    assert {r["number"] for r in rows} >= {"22-IG0001", "22-VC0003"}  # public facts kept
    code, out, err = cli("certificates", "pdf", "22-IG0001", "--reason", "사본 요청")
    assert code != 0 and out == "" and "보관 기간이 지나 파기되었습니다" in err

    assert statistics_total() == before
    code, out, err = cli("audit", "verify")
    assert code == 0, out + err
    with session_scope(get_engine()) as session:
        purged = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy_purge", AuditEvent.round_id == "2022-2")).one()
        assert purged.data["unselected"] == 24 and purged.data["selected"] == 12
        assert purged.data["certificate_pdfs"] == 29
        logged = session.scalars(select(AccessEntry).where(
            AccessEntry.action == "delete", AccessEntry.round_id == "2022-2")).one()
        assert logged.subject_count == 36 and "2022-2-001" in logged.subjects.split()
        assert logged.reason.startswith("보관 기간이 지난 개인정보 파기")

    code, out, _ = cli("privacy", "purge", "--now", PAST_EVERY_PERIOD)
    assert (code, out.strip()) == (0, "보관 기간이 지난 개인정보가 없습니다")


def test_before_a_period_ends_nothing_of_its_kind_goes() -> None:
    subjects = people()
    code, out, _ = cli("privacy", "purge", "--dry-run", "--now", "2025-05-26T23:59")
    assert code == 0 and "선정되지 않은 신청" not in out and "평가위원" not in out

    code, out, err = cli("privacy", "purge", "--now", "2025-05-27T00:00")
    assert code == 0, err
    assert "파기: 2022-2  선정되지 않은 신청 24건" in out and "선정 과제" not in out
    # left only in the notices: they go six months after delivery, which was today
    notices = {"outboxmessage", "mailbody"}
    for person in (subjects["lead not selected"], subjects["reviewer"]):
        assert tables_with(person.email) <= notices and tables_with(person.name) <= notices
    assert tables_with(subjects["lead not selected"].email) == {"outboxmessage"}
    # the selected projects' certificates run to 2025-07-19: kept five years more
    assert found_in(subjects["selected lead"].email) and found_in(subjects["selected lead"].name)
    assert len(list((get_settings().var_dir / "certificates" / "2022-2").glob("*.pdf"))) == 29
    with session_scope(get_engine()) as session:
        assert session.scalar(text(  # the notices of 2022 were delivered on this machine today
            "SELECT count(*) FROM outboxmessage WHERE recipient LIKE '파기#%'")) == 0


def test_the_daily_dues_run_destroys_what_is_past_its_period() -> None:
    import flows.dues

    subjects = people()
    done = asyncio.run(flows.dues.support_dues(parse_instant("2025-05-27T09:00:00+09:00")))
    assert done["purged"] == 3  # the applications not selected, the reviewers, the package
    assert tables_with(subjects["lead not selected"].name) <= {"mailbody"}
    assert "participant" in tables_with(subjects["selected lead"].email)
    again = asyncio.run(flows.dues.support_dues(parse_instant("2025-05-28T09:00:00+09:00")))
    assert again["purged"] == 0


def test_a_notice_is_kept_six_months_after_its_delivery_to_the_day() -> None:
    from sqlalchemy import func

    from sangsaeng.domain.clock import kst_date
    from sangsaeng.domain.retention import kept_until
    from sangsaeng.models import OUTBOX

    with session_scope(get_engine()) as session:  # delivered by the replay, on this clock
        first, last = session.execute(select(func.min(OUTBOX.c.sent_at),
                                             func.max(OUTBOX.c.sent_at))).one()
    # [privacy] mail_months = 6: the day before the first one's end, nothing of the mail;
    # on the last one's end, all of it
    before = kept_until(kst_date(first), months=6) - timedelta(days=1)
    code, out, _ = cli("privacy", "purge", "--dry-run", "--now",
                       datetime.combine(before, time(23, 59)).isoformat())
    assert code == 0 and "안내 메일" not in out and ".eml" not in out
    until = kept_until(kst_date(last), months=6)
    code, out, _ = cli("privacy", "purge", "--dry-run", "--now",
                       datetime.combine(until, time()).isoformat())
    assert code == 0 and "2022-2  안내 메일 (받는 사람·본문) 216건" in out
    assert ".eml 파일 216개" in out
