"""Time rules — PROGRAM_RULES T1–T4 and S1.

All instants are timezone-aware; KST (Asia/Seoul) is how they are shown and read.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

KST = ZoneInfo("Asia/Seoul")
_WEEKDAYS_KO = "월화수목금토일"


def parse_instant(text: str) -> datetime:
    """T1: parse ISO 8601; a naive timestamp means KST. Raises ValueError, also for an
    instant whose KST or UTC date falls outside years 1–9999 (9999-12-31T23:59:59-14:00)."""
    value = datetime.fromisoformat(text.strip())
    value = value.replace(tzinfo=KST) if value.tzinfo is None else value
    try:
        value.astimezone(KST), value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text.strip()!r} is outside the dates this program can "
                         "represent (years 1–9999)") from None
    return value


def as_kst(value: datetime) -> datetime:
    """T1: the same instant in KST (a naive value is taken as KST)."""
    return value.replace(tzinfo=KST) if value.tzinfo is None else value.astimezone(KST)


def kst_date(value: datetime) -> date:
    """T1: the KST calendar date of an instant."""
    return as_kst(value).date()


def is_on_time(submitted_at: datetime, closes_at: datetime) -> bool:
    """T2: on time iff submitted strictly before the close (18:00:00.000 is late)."""
    return as_kst(submitted_at) < as_kst(closes_at)


@lru_cache(maxsize=64)
def _kr_public_holidays(year: int) -> frozenset[date]:
    # T3: the `holidays` package, KR, category PUBLIC — election and substitute days included.
    return frozenset(holidays.country_holidays("KR", years=year, categories=("public",)).keys())


def is_business_day(day: date, extra_holidays: Iterable[date] = ()) -> bool:
    """T3: not a weekend, not a KR public holiday, not a configured extra holiday."""
    if day.weekday() >= 5:
        return False
    return day not in _kr_public_holidays(day.year) and day not in set(extra_holidays)


OFFICE_HOURS = (time(9, 0), time(18, 0))  # on business days, KST


def in_office_hours(instant: datetime, extra_holidays: Iterable[date] = ()) -> bool:
    """A business day (T3) between 09:00 and 18:00 KST, both included: when the office works
    (a deadline outside it is a typing slip more often than a choice)."""
    local = as_kst(instant)
    start, end = OFFICE_HOURS
    return is_business_day(local.date(), extra_holidays) and start <= local.time() <= end


def add_business_days(start: date, n: int, extra_holidays: Iterable[date] = ()) -> date:
    """T4: the n-th business day strictly after `start` (n ≥ 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    extra = frozenset(extra_holidays)
    day, found = start, 0
    while found < n:
        day += timedelta(days=1)
        if is_business_day(day, extra):
            found += 1
    return day


def business_days_after(
    moment: datetime, n: int, extra_holidays: Iterable[date] = (), at: time | None = None
) -> datetime:
    """T4/S1: n business days after `moment`'s KST date, at `at` (default: moment's KST clock)."""
    local = as_kst(moment)
    day = add_business_days(local.date(), n, extra_holidays)
    clock = at if at is not None else local.timetz().replace(tzinfo=None)
    return datetime.combine(day, clock, tzinfo=KST)


def add_years(day: date, years: int) -> date:
    """Same month and day `years` later or earlier; 29 Feb → the month's last day (민법 제160조)."""
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return date(year, day.month, min(day.day, last))


def format_day(day: date) -> str:
    """Korean display of a calendar date: `2022년 8월 16일(화)`."""
    return f"{day.year}년 {day.month}월 {day.day}일({_WEEKDAYS_KO[day.weekday()]})"


def format_kst(value: datetime, *, with_time: bool = True) -> str:
    """Korean display: `2022년 8월 16일(화) 18:00` in KST."""
    local = as_kst(value)
    text = format_day(local.date())
    return f"{text} {local:%H:%M}" if with_time else text
