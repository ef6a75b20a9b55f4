"""The access log of personal data (접속기록, issue 27; docs/privacy.md): what is recorded of
each view or download, and what the monthly inspection looks for. Pure: no database.

The rows are chained by hash as the audit trail is (domain/audit.py), one chain per KST month,
so that a month past its retention goes whole and the months kept still verify.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sangsaeng.domain.clock import as_kst, format_kst, in_office_hours

# The fields a row's hash covers (audit.link), in this order.
CONTENT = ("at", "month", "operator", "client", "action", "what", "round_id", "subjects",
           "subject_count", "reason")
LISTED = 200  # receipt numbers kept in a row; a bigger download keeps its count and its file


class AccessAction(StrEnum):
    """What was done with personal data (안전성 확보조치 기준: 입력·열람·다운로드·출력·삭제)."""

    INPUT = "input"  # uploaded through the office app
    VIEW = "view"
    DOWNLOAD = "download"
    OUTPUT = "output"  # written by the CLI to a file or the terminal
    DELETE = "delete"


ACTION_NAMES = {AccessAction.INPUT: "입력", AccessAction.VIEW: "열람",
                AccessAction.DOWNLOAD: "내려받기", AccessAction.OUTPUT: "출력",
                AccessAction.DELETE: "파기"}


def month_of(instant: datetime) -> str:
    """The chain (and inspection sheet) a row belongs to: its KST month, `YYYY-MM`."""
    return f"{as_kst(instant):%Y-%m}"


def subjects_text(receipts: Sequence[str]) -> str:
    """Whose data, as stored: the receipt numbers (sorted, space-separated) up to LISTED; a
    bigger download is its count and its file (the row's `what`)."""
    return " ".join(sorted(receipts)) if len(receipts) <= LISTED else ""


@dataclass(frozen=True)
class Access:
    """One row of the log as the inspection reads it."""

    at: datetime
    operator: str
    client: str
    action: AccessAction
    what: str
    round_id: str | None
    subject_count: int
    reason: str


@dataclass(frozen=True)
class Finding:
    """What an inspector looks at twice (점검 사항), in Korean."""

    kind: str
    operator: str
    detail: str


def findings(rows: Iterable[Access], *, large: int, many_rounds: int,
             extra_holidays: Iterable[date] = ()) -> list[Finding]:
    """The month's points to inspect: downloads of `large` data subjects or more, downloads
    outside office hours (T3 business days, 09:00–18:00 KST), and an operator who downloaded
    the data of `many_rounds` rounds or more."""
    closed = tuple(extra_holidays)
    found: list[Finding] = []
    rounds: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.action is AccessAction.DELETE:
            continue
        when = f"{format_kst(row.at)} KST {ACTION_NAMES[row.action]} {row.what}"
        if row.subject_count >= large:
            found.append(Finding("대량 내려받기", row.operator,
                                 f"{when}: 정보주체 {row.subject_count:,}건"))
        if not in_office_hours(row.at, closed):
            found.append(Finding("근무시간 외", row.operator, when))
        if row.round_id:
            rounds[row.operator].add(row.round_id)
    for operator, seen in sorted(rounds.items()):
        if len(seen) >= many_rounds:
            found.append(Finding("여러 회차", operator,
                                 f"{len(seen)}개 회차의 자료: {', '.join(sorted(seen))}"))
    return found
