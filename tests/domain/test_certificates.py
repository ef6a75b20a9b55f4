"""PROGRAM_RULES K2, K2a, K3, K5a, K6a: numbers, periods, status and reminders (pure rules)."""

from __future__ import annotations

from datetime import date

import pytest

from sangsaeng.domain.certificates import (
    CertificateStatus,
    ban_until,
    next_sequences,
    number_of,
    number_ranges,
    parse_number,
    partners_text,
    period_end,
    reminder_due,
    status_on,
    validity,
)


def test_K2_number_is_year_track_and_four_digit_sequence() -> None:
    assert number_of(2022, "IG", 7) == "22-IG0007"
    assert number_of(2100, "VC", 1) == "00-VC0001"
    assert parse_number("21-AB0001") == (21, "AB", 1)  # the public sample's pattern
    assert parse_number("22-IG12") is None and parse_number("ABC") is None
    with pytest.raises(ValueError, match="four digits"):
        number_of(2022, "IG", 10000)


def test_K2a_sequence_continues_after_the_highest_known_number_of_the_year() -> None:
    known = ["22-IG0003", "22-IG0001", "21-IG0009", "22-MP0002", "legacy-7"]
    assert next_sequences(known, 2022) == {"IG": 3, "MP": 2}
    assert next_sequences(known, 2021) == {"IG": 9}
    assert next_sequences([], 2022) == {}


@pytest.mark.parametrize(("issued", "years", "valid_to"), [
    (date(2020, 10, 12), 3, date(2023, 10, 11)),  # K3's example
    (date(2024, 2, 29), 3, date(2027, 2, 28)),  # K3: no 29 Feb in 2027 → the month's last day
    (date(2022, 7, 20), 3, date(2025, 7, 19)),  # the 2022-2 replay
    (date(2023, 3, 1), 1, date(2024, 2, 29)),  # the day before 2024-03-01 (a leap year)
    (date(2024, 2, 29), 4, date(2028, 2, 28)),  # 2028-02-29 exists: the day before it
])
def test_K3_validity_ends_the_day_before_the_corresponding_day(
        issued: date, years: int, valid_to: date) -> None:
    period = validity(issued, years)
    assert (period.valid_from, period.valid_to) == (issued, valid_to)
    assert period.period == f"{issued:%Y%m%d} ~ {valid_to:%Y%m%d}"


def test_K5a_ban_runs_five_years_less_a_day() -> None:
    assert ban_until(date(2023, 3, 2)) == date(2028, 3, 1)
    assert ban_until(date(2024, 2, 29)) == date(2029, 2, 28)
    assert period_end(date(2024, 2, 29), 5) == ban_until(date(2024, 2, 29))


def test_K5a_K6a_status_at_a_date() -> None:
    valid_to = date(2025, 7, 19)
    assert status_on(date(2025, 7, 19), valid_to, None) is CertificateStatus.VALID
    assert status_on(date(2025, 7, 20), valid_to, None) is CertificateStatus.EXPIRED
    assert status_on(date(2023, 1, 1), valid_to, date(2023, 3, 2)) is CertificateStatus.VALID
    assert status_on(date(2023, 3, 2), valid_to, date(2023, 3, 2)) is CertificateStatus.CANCELLED
    assert status_on(date(2026, 1, 1), valid_to, date(2023, 3, 2)) is CertificateStatus.CANCELLED


def test_K6a_reminder_due_from_the_threshold_day_until_valid_to() -> None:
    valid_to = date(2025, 7, 19)
    assert not reminder_due(date(2025, 4, 19), valid_to, 90)  # 91 days left
    assert reminder_due(date(2025, 4, 20), valid_to, 90)  # exactly 90
    assert reminder_due(date(2025, 5, 1), valid_to, 90)  # a missed day is caught up
    assert not reminder_due(date(2025, 7, 19), valid_to, 30)  # not on or after valid_to


def test_K4_partners_read_name_and_brn() -> None:
    assert partners_text([("대성테크(주)", "123-45-67890"), ("한빛", "220-81-62517")]) == (
        "대성테크(주)(123-45-67890);한빛(220-81-62517)")


def test_K2_ranges_per_track_read_first_to_last() -> None:
    assert number_ranges(["22-IG0001", "22-IG0002", "22-TC0001", "22-IG0003"]) == {
        "IG": "22-IG0001…22-IG0003", "TC": "22-TC0001"}
