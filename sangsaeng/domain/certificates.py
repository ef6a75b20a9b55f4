"""Certificates (상생협력 확인서) — PROGRAM_RULES K2, K2a, K3, K4, K5a, K6, K6a. Pure: no I/O."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# K2: `{YY}-{TRACK}{NNNN}`, as the public sample `21-AB0001`.
NUMBER_PATTERN = re.compile(r"^(\d{2})-([A-Z]{2})(\d{4})$")
BAN_YEARS = 5  # K5 [S]: a cancellation bans the company for five years
EXPIRY_REMINDER_DAYS = (90, 30)  # K6 [A] (program.toml may override)


class CertificateStatus(StrEnum):
    """What `verify` answers: a stored certificate is valid or cancelled; expiry is the clock's."""

    VALID = "valid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Ground(StrEnum):
    """K5/K5a: the legal grounds of a cancellation."""

    FRAUD = "fraud"
    FAILED_EVALUATION = "failed_evaluation"
    ABANDONMENT = "abandonment"
    SERIOUS_BREACH = "serious_breach"


GROUND_NAMES: Mapping[Ground, str] = {
    Ground.FRAUD: "거짓이나 부정한 방법으로 확인서를 발급받은 경우",
    Ground.FAILED_EVALUATION: "성과평가 결과 부적합",
    Ground.ABANDONMENT: "상생협력 포기",
    Ground.SERIOUS_BREACH: "협약의 중대한 위반",
}


class ReissueField(StrEnum):
    """K4 reissue: the fields a change of the company's particulars may touch."""

    NAME = "name"
    REPRESENTATIVE = "representative"
    ADDRESS = "address"


def number_of(issue_year: int, track_code: str, seq: int) -> str:
    """K2: the number of the `seq`-th certificate of (issue year, track)."""
    if not 1 <= seq <= 9999:
        raise ValueError(f"certificate sequence {seq} is outside 1…9999 (K2: four digits)")
    return f"{issue_year % 100:02d}-{track_code}{seq:04d}"


def parse_number(number: str) -> tuple[int, str, int] | None:
    """(YY, track code, sequence) of a K2 number; None for anything else."""
    match = NUMBER_PATTERN.match(number.strip())
    if match is None:
        return None
    return int(match[1]), match[2], int(match[3])


def number_ranges(numbers: Iterable[str]) -> dict[str, str]:
    """K2: per track code, the first and last of `numbers` (`22-IG0001…22-IG0007`), in the
    order given."""
    ranges: dict[str, list[str]] = {}
    for number in numbers:
        ranges.setdefault(number[3:5], []).append(number)
    return {code: f"{got[0]}…{got[-1]}" if len(got) > 1 else got[0]
            for code, got in ranges.items()}


def next_sequences(known: Iterable[str], issue_year: int) -> dict[str, int]:
    """K2a: per track code, the highest sequence already used in `issue_year` (imported prior
    certificates included); the next number continues after it."""
    highest: dict[str, int] = {}
    yy = issue_year % 100
    for number in known:
        parsed = parse_number(number)
        if parsed is not None and parsed[0] == yy:
            highest[parsed[1]] = max(highest.get(parsed[1], 0), parsed[2])
    return highest


def period_end(start: date, years: int) -> date:
    """K3/K5a (민법 제160조): a period of `years` years from `start` ends the day before the
    corresponding day; when that day does not exist (29 Feb), on that month's last day.
    2020-10-12 → 2023-10-11; 2024-02-29 → 2027-02-28."""
    year = start.year + years
    if start.day > calendar.monthrange(year, start.month)[1]:
        return date(year, start.month, calendar.monthrange(year, start.month)[1])
    return date(year, start.month, start.day) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Validity:
    """K3: the certificate's period."""

    valid_from: date
    valid_to: date

    @property
    def period(self) -> str:
        """K4: `YYYYMMDD ~ YYYYMMDD`."""
        return f"{self.valid_from:%Y%m%d} ~ {self.valid_to:%Y%m%d}"


def validity(issued_on: date, support_years: int) -> Validity:
    """K3: valid from the issue date (KST) for `support_years` years."""
    return Validity(issued_on, period_end(issued_on, support_years))


def period_text(valid_from: date, valid_to: date) -> str:
    """K4: `YYYYMMDD ~ YYYYMMDD`."""
    return Validity(valid_from, valid_to).period


def status_on(today: date, valid_to: date, cancelled_on: date | None) -> CertificateStatus:
    """K5a/K6a: cancelled from the cancellation date; expired from the day after `valid_to`."""
    if cancelled_on is not None and today >= cancelled_on:
        return CertificateStatus.CANCELLED
    if today > valid_to:
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID


def ban_until(decided_on: date) -> date:
    """K5a: a lead of a cancelled project is banned until decided_on + 5 years − 1 day."""
    return period_end(decided_on, BAN_YEARS)


def reminder_due(today: date, valid_to: date, threshold: int) -> bool:
    """K6a: the `threshold`-day reminder is due from the day when `valid_to − today` is exactly
    `threshold` (a later dues run catches up) until `valid_to` (exclusive)."""
    return (valid_to - today).days <= threshold and today < valid_to


def partners_text(partners: Iterable[tuple[str, str]]) -> str:
    """K4 / INTERFACES §4: partners as `name(BRN)` joined by `;`."""
    return ";".join(f"{name}({brn})" for name, brn in partners)
