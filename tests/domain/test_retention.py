"""Retention periods (issue 27 item 4): until when each kind of personal data is kept — in
calendar years and months from a KST day, the first day past the period being the day it goes."""

from __future__ import annotations

from datetime import date

from sangsaeng.domain.retention import (
    Periods,
    access_months_due,
    is_due,
    kept_until,
    mail_until,
    project_end,
    project_until,
    round_data_until,
)

PERIODS = Periods(unselected_years=3, selected_years=5, mail_months=6, access_log_years=2)


def test_a_period_counts_calendar_years_and_months_and_a_missing_day_ends_the_month() -> None:
    assert kept_until(date(2022, 5, 27), years=3) == date(2025, 5, 27)
    assert kept_until(date(2024, 2, 29), years=1) == date(2025, 2, 28)
    assert kept_until(date(2022, 8, 31), months=6) == date(2023, 2, 28)
    assert round_data_until(date(2022, 5, 27), PERIODS) == date(2025, 5, 27)
    assert mail_until(date(2022, 7, 20), PERIODS) == date(2023, 1, 20)


def test_data_goes_on_the_first_day_past_its_period_not_before() -> None:
    until = round_data_until(date(2022, 5, 27), PERIODS)
    assert not is_due(until, date(2025, 5, 26))
    assert is_due(until, date(2025, 5, 27))


def test_a_selected_project_is_kept_years_after_its_last_certificate_ends() -> None:
    # two leads' certificates, one cancelled early: the later end counts
    end = project_end([date(2023, 3, 1), date(2025, 7, 19)], None, date(2022, 5, 27), 3)
    assert end == date(2025, 7, 19)
    assert project_until(end, PERIODS) == date(2030, 7, 19)
    # cancelled before any certificate: from the cancellation
    assert project_end([], date(2022, 9, 1), date(2022, 5, 27), 3) == date(2022, 9, 1)
    # never certified: from the end of the round's support years
    assert project_end([], None, date(2022, 5, 27), 3) == date(2025, 5, 27)


def test_an_access_log_month_goes_whole_once_its_last_day_is_past_the_period() -> None:
    months = ["2026-11", "2026-12", "2027-01", "2026-12"]
    # 2026-12's last row (12-31) is kept two years: until 2029-01-01
    assert access_months_due(months, date(2028, 12, 31), PERIODS) == ["2026-11"]
    assert access_months_due(months, date(2029, 1, 1), PERIODS) == ["2026-11", "2026-12"]
    assert access_months_due(months, date(2026, 12, 8), PERIODS) == []
