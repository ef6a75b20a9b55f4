"""보관 기간 (issue 27 item 4; docs/privacy.md §4): until when each kind of personal data is kept.

Pure dates, no database: a kind is destroyed on the day its period ends (`kept_until`), by the
daily dues run or `sangsaeng privacy purge`. Periods count in calendar years and months from a
KST day; a period ending on a day the month does not have ends on the month's last day
(2024-02-29 + 1 year = 2025-02-28), as `dateutil.relativedelta` counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dateutil.relativedelta import relativedelta


class Kind(StrEnum):
    """What is destroyed, each with its own period."""

    UNSELECTED = "unselected"  # an application not selected (its participants' fields)
    SELECTED = "selected"  # a selected project (its participants, its certificates)
    CERTIFICATE_PDFS = "certificate_pdfs"  # a selected project's certificate PDFs, every version
    REVIEWERS = "reviewers"  # a round's committee members (name, e-mail)
    PACKAGE = "package"  # a round's uploads and packages read (`<var>/inbox/<round>/`, blobs)
    NOTICES = "notices"  # a notice's recipient and body (the outbox)
    MAIL_FILES = "mail_files"  # the `.eml` files of the embedded delivery
    SUPPRESSIONS = "suppressions"  # addresses refused permanently
    ACCESS_LOG = "access_log"  # a month of the access log, whole


KIND_NAMES: dict[Kind, str] = {
    Kind.UNSELECTED: "선정되지 않은 신청",
    Kind.SELECTED: "선정 과제",
    Kind.CERTIFICATE_PDFS: "확인서 PDF",
    Kind.REVIEWERS: "평가위원",
    Kind.PACKAGE: "올린 파일·접수 패키지",
    Kind.NOTICES: "안내 메일 (받는 사람·본문)",
    Kind.MAIL_FILES: ".eml 파일",
    Kind.SUPPRESSIONS: "발송 거부 주소",
    Kind.ACCESS_LOG: "접속기록 (월)",
}


@dataclass(frozen=True)
class Periods:
    """`[privacy]`'s periods (config/program.toml, [A])."""

    unselected_years: int
    selected_years: int
    mail_months: int
    access_log_years: int


def kept_until(start: date, *, years: int = 0, months: int = 0) -> date:
    """The first day `start`'s data is no longer kept: `start` plus the period."""
    until: date = start + relativedelta(years=years, months=months)
    return until


def round_data_until(closes_on: date, periods: Periods) -> date:
    """Applications not selected, the reviewers and the package: years after the close."""
    return kept_until(closes_on, years=periods.unselected_years)


def project_until(ends_on: date, periods: Periods) -> date:
    """A selected project: years after its certificates end (`project_end`)."""
    return kept_until(ends_on, years=periods.selected_years)


def mail_until(delivered_on: date, periods: Periods) -> date:
    """A notice (recipient, body, `.eml` file, suppressed address): months after delivery."""
    return kept_until(delivered_on, months=periods.mail_months)


def project_end(certificate_ends: Iterable[date], cancelled_on: date | None, closes_on: date,
                support_years: int) -> date:
    """When a selected project's certificates end: the last one's end (its expiry, or the day
    it was cancelled); a project cancelled before any certificate, the cancellation; one that
    never had a certificate, the end of the round's support years."""
    ends = list(certificate_ends)
    if ends:
        return max(ends)
    if cancelled_on is not None:
        return cancelled_on
    return kept_until(closes_on, years=support_years)


def access_months_due(months: Iterable[str], today: date, periods: Periods) -> list[str]:
    """The access log's months (`YYYY-MM`) past their period, whole: a month is kept
    `access_log_years` after its last day, so that each row is kept at least that long."""
    due = []
    for month in sorted(set(months)):
        year, number = (int(part) for part in month.split("-"))
        after_last_day = date(year, number, 1) + relativedelta(months=1)
        if kept_until(after_last_day, years=periods.access_log_years) <= today:
            due.append(month)
    return due


def is_due(until: date, today: date) -> bool:
    """True once `today` reaches the first day the data is no longer kept."""
    return until <= today
