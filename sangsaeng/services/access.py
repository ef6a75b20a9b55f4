"""The access log of personal data (접속기록, issue 27 items 1–2; docs/privacy.md): a row for every
view, download or output of personal data, with the reason given; the monthly inspection sheet;
the chain's check.

Callers (the CLI, the office app) record in the session that reads the data, before it goes
out: a download whose row cannot be written is not served.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from sangsaeng.domain import access, audit
from sangsaeng.domain.access import ACTION_NAMES, AccessAction, Finding
from sangsaeng.domain.clock import KST, format_kst
from sangsaeng.errors import SangsaengError
from sangsaeng.models import AccessEntry, Application, Certificate
from sangsaeng.services.audit import ChainBroken

LOG = AccessEntry.__table__.c  # type: ignore[attr-defined]
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MIN_REASON = 2  # characters: "업무" is a reason, "." is not
# The files of a round's exports (`<var>/exports/<round>/`) that hold personal data, and what.
PERSONAL_FILES = {"certificates.csv": "대표자 이름과 주소", "audit.csv": "담당자 이름과 사유"}
SHEET_COLUMNS = ("일시 (KST)", "운영자", "접속지", "행위", "대상", "회차", "정보주체 수",
                 "정보주체", "사유", "해시")


class ReasonMissing(SangsaengError):
    """Personal data asked for without a reason (안전성 확보조치 기준: a download's reason)."""

    exit_code = 2


@dataclass(frozen=True)
class Request:
    """Who asks for whose personal data, how and why."""

    operator: str
    client: str
    action: AccessAction
    what: str
    round_id: str | None
    receipts: Sequence[str]
    reason: str


def checked_reason(reason: str | None, what: str, holds: str) -> str:
    """The reason given for a download of `what` (which holds `holds`), or ReasonMissing."""
    given = " ".join((reason or "").split())
    if len(given) < MIN_REASON:
        raise ReasonMissing(f"{what}에는 개인정보({holds})가 있어 내려받는 사유가 필요합니다: "
                            "--reason \"사유\" 또는 SANGSAENG_ACCESS_REASON "
                            f"(a reason is required for personal data: {what})")
    return given


def record(session: Session, asked: Request, now: datetime) -> AccessEntry:
    """Append the request to the access log (its month's chain), flushed, not committed."""
    month = access.month_of(now)
    row: dict[str, Any] = {
        "at": now, "month": month, "operator": asked.operator, "client": asked.client,
        "action": asked.action, "what": asked.what, "round_id": asked.round_id,
        "subjects": access.subjects_text(asked.receipts), "subject_count": len(asked.receipts),
        "reason": asked.reason}
    row["hash"] = audit.link(_chain_head(session, month), row, access.CONTENT)
    entry = AccessEntry(**row)
    session.add(entry)
    session.flush()
    return entry


def _chain_head(session: Session, month: str) -> str:
    """The month's last hash, the chain held until the transaction ends (journal.chain_head)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": audit.lock_key(month, "access")})
    last = session.scalar(select(LOG.hash).where(LOG.month == month)
                          .order_by(LOG.id.desc()).limit(1))
    return last or audit.GENESIS


def month_rows(session: Session, month: str | None = None) -> list[dict[str, Any]]:
    """The month's rows (every month's, by month, when None) in the order written."""
    query = select(AccessEntry.__table__).order_by(LOG.month, LOG.id)  # type: ignore[attr-defined]
    if month is not None:
        query = query.where(LOG.month == month)
    return [dict(row) for row in session.execute(query).mappings()]


def verify(rows: Sequence[dict[str, Any]]) -> int:
    """Recompute the rows' chains (one per month, as the audit trail's): their count, or
    ChainBroken (exit 5) naming the first row whose hash does not follow."""
    row, count, _ = audit.first_break(rows, "month", access.CONTENT)
    if row is not None:
        raise ChainBroken(
            f"접속기록 #{row['id']} ({format_kst(row['at'])} KST)에서 사슬이 끊깁니다: 이 행이 "
            "바뀌었거나, 앞의 행이 지워졌거나, 순서가 바뀌었습니다")
    return count


class InvalidMonth(SangsaengError):
    """A month not written YYYY-MM."""

    exit_code = 2


def checked_month(value: str) -> str:
    """`--month` as YYYY-MM, else InvalidMonth."""
    if not MONTH.fullmatch(value):
        raise InvalidMonth(f"--month: YYYY-MM 형식이어야 합니다 (e.g. 2026-12), got {value!r}")
    return value


@dataclass(frozen=True)
class Inspection:
    """The monthly inspection sheet (월간 점검): the rows in Korean and what to look at."""

    month: str
    rows: list[list[str]]
    findings: list[Finding]

    def summary(self) -> list[str]:
        """Korean lines: the count, the chain, then each finding."""
        lines = [f"{self.month} 접속기록 {len(self.rows):,}건, 해시 사슬 이상 없음",
                 f"점검 사항 {len(self.findings)}건" + (":" if self.findings else "")]
        lines += [f"- [{f.kind}] {f.operator}: {f.detail}" for f in self.findings]
        return lines


def inspection(rows: Sequence[dict[str, Any]], month: str, *, large: int, many_rounds: int,
               extra_holidays: Sequence[date] = ()) -> Inspection:
    """The month's sheet, once its chain is verified (ChainBroken otherwise)."""
    verify(rows)
    table = [[row["at"].astimezone(KST).isoformat(timespec="seconds"), row["operator"],
              row["client"], ACTION_NAMES[AccessAction(row["action"])], row["what"],
              row["round_id"] or "", str(row["subject_count"]), row["subjects"], row["reason"],
              row["hash"]] for row in rows]
    found = access.findings(
        (access.Access(row["at"], row["operator"], row["client"], AccessAction(row["action"]),
                       row["what"], row["round_id"], row["subject_count"], row["reason"])
         for row in rows), large=large, many_rounds=many_rounds, extra_holidays=extra_holidays)
    return Inspection(month, table, found)


def sheet_csv(sheet: Inspection) -> str:
    """The sheet as CSV (UTF-8 with BOM): the rows, a blank line, then the summary lines."""
    from sangsaeng.reports import to_csv

    return to_csv(SHEET_COLUMNS, sheet.rows) + "\r\n" + "".join(
        f"{line}\r\n" for line in sheet.summary())


def write_sheet_xlsx(path: Path, sheet: Inspection) -> None:
    """The sheet as XLSX: the summary first, then the rows."""
    from sangsaeng.reports import write_xlsx_sheets

    summary = [["점검 요약"], *([line] for line in sheet.summary())]
    write_xlsx_sheets(path, [("점검 요약", summary, ()),
                             (f"{sheet.month} 접속기록", [list(SHEET_COLUMNS), *sheet.rows], (7,))])


def certificate_receipts(session: Session, round_id: str,
                         number: str | None = None) -> list[str]:
    """Whose data a certificate export holds: the receipt numbers of the round's certificates
    (of one certificate, by its number)."""
    query = (select(Application.receipt_no).join(  # type: ignore[call-overload]
        Certificate, Certificate.application_id == Application.id)
        .where(Certificate.round_id == round_id))
    if number is not None:
        query = query.where(Certificate.number == number)
    return sorted(set(session.scalars(query)))


def round_receipts(session: Session, round_id: str) -> list[str]:
    """Every receipt number of the round (an export naming the round's applicants)."""
    return sorted(session.scalars(select(Application.receipt_no).where(  # type: ignore[call-overload]
        Application.round_id == round_id)))
