"""The access log's pure parts (issue 27 item 1): the month a row's chain is (KST), whose data
a row names, and what the monthly inspection flags."""

from __future__ import annotations

from datetime import datetime

from sangsaeng.domain.access import (
    LISTED,
    Access,
    AccessAction,
    findings,
    month_of,
    subjects_text,
)
from sangsaeng.domain.clock import KST


def _row(at: str, operator: str = "김담당", count: int = 29, round_id: str | None = "2022-2",
         action: AccessAction = AccessAction.DOWNLOAD) -> Access:
    return Access(datetime.fromisoformat(at).replace(tzinfo=KST), operator, "10.0.0.7", action,
                  f"{round_id}/certificates.csv", round_id, count, "확인서 대장 점검")


def test_a_rows_month_is_the_kst_month() -> None:
    assert month_of(datetime.fromisoformat("2026-11-30T15:30:00+00:00")) == "2026-12"
    assert month_of(datetime.fromisoformat("2026-11-30T14:59:59+00:00")) == "2026-11"


def test_whose_data_is_the_receipts_sorted_up_to_a_bound_then_only_a_count() -> None:
    assert subjects_text(["2022-2-010", "2022-2-002"]) == "2022-2-002 2022-2-010"
    assert subjects_text([f"2022-2-{n:05d}" for n in range(LISTED + 1)]) == ""


def test_a_quiet_month_has_nothing_to_inspect() -> None:
    rows = [_row("2026-12-07T10:00"), _row("2026-12-08T17:59", round_id="2022-1")]
    assert findings(rows, large=1000, many_rounds=3) == []


def test_large_downloads_night_and_holiday_downloads_and_many_rounds_are_flagged() -> None:
    rows = [_row("2026-12-07T10:00", count=1000),             # large, in office hours
            _row("2026-12-07T22:30"),                         # at night
            _row("2026-12-25T10:00", operator="이감사"),       # 성탄절, a public holiday
            _row("2026-12-12T10:00", operator="이감사"),       # a Saturday
            _row("2026-12-08T10:00", round_id="2022-1"),
            _row("2026-12-09T10:00", round_id="2021-2"),
            _row("2026-12-31T23:00", action=AccessAction.DELETE)]  # the purge's, at night
    found = [(f.kind, f.operator) for f in findings(rows, large=1000, many_rounds=3)]
    assert found == [("대량 내려받기", "김담당"), ("근무시간 외", "김담당"),
                     ("근무시간 외", "이감사"), ("근무시간 외", "이감사"), ("여러 회차", "김담당")]
    detail = findings(rows, large=1000, many_rounds=3)
    assert detail[0].detail.endswith("정보주체 1,000건")
    assert "22:30 KST 내려받기 2022-2/certificates.csv" in detail[1].detail
    assert detail[-1].detail == "3개 회차의 자료: 2021-2, 2022-1, 2022-2"


def test_an_extra_office_holiday_is_outside_office_hours() -> None:
    row = _row("2026-12-07T10:00")
    assert findings([row], large=1000, many_rounds=3) == []
    closed = findings([row], large=1000, many_rounds=3,
                      extra_holidays=[datetime(2026, 12, 7).date()])
    assert [f.kind for f in closed] == ["근무시간 외"]
