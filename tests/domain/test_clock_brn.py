"""Time (T1–T4, K3) and BRN (C1) rules as the domain relies on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from sangsaeng.domain.brn import InvalidBRN, is_valid_brn, normalize_brn
from sangsaeng.domain.clock import (
    KST,
    add_years,
    as_kst,
    business_days_after,
    is_business_day,
    is_on_time,
    parse_instant,
)

CLOSES_AT = datetime(2022, 5, 27, 18, 0, tzinfo=KST)


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        pytest.param("2022-05-27T18:00:00", datetime(2022, 5, 27, 9, 0, tzinfo=UTC), id="naive"),
        pytest.param(
            "2022-05-27T18:00:00+09:00", datetime(2022, 5, 27, 9, 0, tzinfo=UTC), id="kst-offset"
        ),
        pytest.param(
            "2022-05-27T09:00:00+00:00", datetime(2022, 5, 27, 9, 0, tzinfo=UTC), id="utc"
        ),
    ],
)
def test_T1_naive_timestamp_means_kst(text: str, expected_utc: datetime) -> None:
    value = parse_instant(text)
    assert value.tzinfo is not None
    assert value == expected_utc
    assert as_kst(value).hour == 18


@pytest.mark.parametrize(
    ("submitted_at", "on_time"),
    [
        pytest.param(
            datetime(2022, 5, 27, 17, 59, 59, 999000, tzinfo=KST), True, id="17:59:59.999"
        ),
        pytest.param(datetime(2022, 5, 27, 18, 0, tzinfo=KST), False, id="18:00:00.000-late"),
        pytest.param(datetime(2022, 5, 27, 17, 59, 59), True, id="naive-17:59:59-is-kst"),
        pytest.param(datetime(2022, 5, 27, 9, 0, tzinfo=UTC), False, id="same-instant-in-utc"),
    ],
)
def test_T2_submission_on_time(submitted_at: datetime, on_time: bool) -> None:
    assert is_on_time(submitted_at, CLOSES_AT) is on_time


@pytest.mark.parametrize(
    ("day", "business"),
    [
        pytest.param(date(2022, 6, 1), False, id="2022-06-01-local-election"),
        pytest.param(date(2022, 6, 6), False, id="2022-06-06-memorial-day"),
        pytest.param(date(2022, 6, 4), False, id="saturday"),
        pytest.param(date(2022, 6, 7), True, id="2022-06-07-tuesday"),
    ],
)
def test_T3_business_days_2022_june(day: date, business: bool) -> None:
    assert is_business_day(day) is business


def test_T3_extra_holiday_is_not_a_business_day() -> None:
    assert not is_business_day(date(2022, 6, 7), [date(2022, 6, 7)])


def test_T4_business_days_after_counts_strictly_after_the_date() -> None:
    deadline = business_days_after(CLOSES_AT, 5, (), at=time(18, 0))
    assert deadline == datetime(2022, 6, 7, 18, 0, tzinfo=KST)
    assert deadline - timedelta(days=1) < deadline


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        pytest.param(date(2024, 2, 29), 3, date(2027, 2, 28), id="K3-leap-day-2024-to-2027"),
        pytest.param(date(2020, 10, 12), 3, date(2023, 10, 12), id="K3-plain"),
        pytest.param(date(2022, 5, 27), -7, date(2015, 5, 27), id="C4-seven-years-back"),
        pytest.param(date(2024, 2, 29), -3, date(2021, 2, 28), id="V3-leap-day-back"),
    ],
)
def test_K3_add_years_uses_month_end_for_missing_day(
    start: date, years: int, expected: date
) -> None:
    assert add_years(start, years) == expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param("124-81-00998", True, id="124-81-00998"),
        pytest.param("107-81-53660", True, id="107-81-53660"),
        pytest.param("477-88-01018", True, id="477-88-01018"),
        pytest.param("4778801018", True, id="no-hyphens"),
        pytest.param("124-81-00997", False, id="124-81-00997-check-digit"),
        pytest.param("124-81-0099", False, id="too-short"),
        pytest.param("abc-de-fghij", False, id="not-digits"),
    ],
)
def test_C1_brn_check_digit_examples(value: str, valid: bool) -> None:
    assert is_valid_brn(value) is valid


def test_C1_invalid_brn_error_names_the_value() -> None:
    with pytest.raises(InvalidBRN, match="124-81-00997"):
        normalize_brn("124-81-00997")
    assert normalize_brn(" 1248100998 ") == "124-81-00998"


@pytest.mark.parametrize("when,inside", [
    ("2027-03-31T18:00:00+09:00", True),   # a Wednesday at 18:00 KST: the usual deadline
    ("2027-03-31T09:00:00+09:00", True),
    ("2027-03-31T18:00:01+09:00", False),
    ("2027-04-01T03:00:00+09:00", False),  # 18:00 typed in a UTC browser, as it was stored
    ("2027-03-31T09:00:00+00:00", True),   # 18:00 KST, written in UTC
    ("2027-04-03T10:00:00+09:00", False),  # a Saturday
    ("2027-03-01T10:00:00+09:00", False),  # 삼일절, a public holiday
])
def test_office_hours_are_business_days_09_to_18_kst(when: str, inside: bool) -> None:
    """Issue 23 item 1: a deadline outside them needs the office's confirmation."""
    from sangsaeng.domain.clock import in_office_hours

    assert in_office_hours(datetime.fromisoformat(when)) is inside
