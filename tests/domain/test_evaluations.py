"""M3 due dates from the rule text (PROGRAM_RULES §8): interim on each anniversary of the
selection date before valid_to; extension 30 days before valid_to; completion within 90 days
after valid_to; reminders 30 days before each due date (completion: on valid_to + 1 day)."""

from __future__ import annotations

from datetime import date

import pytest

from sangsaeng.domain.evaluations import (
    EvaluationKind,
    anniversary,
    evaluation_dues,
    interim_dues,
    reminders_due,
)

INT, X, C = EvaluationKind.INTERIM, EvaluationKind.EXTENSION, EvaluationKind.COMPLETION
# 2022-2 replay: released 2022-07-20, certificates valid 2022-07-20 … 2025-07-19 (K3)
SELECTED, VALID_TO = date(2022, 7, 20), date(2025, 7, 19)


def test_M3_2022_2_interim_on_each_anniversary_before_valid_to() -> None:
    # 2025-07-20 is not before 2025-07-19: two interim evaluations
    assert interim_dues(SELECTED, VALID_TO) == [date(2023, 7, 20), date(2024, 7, 20)]


def test_M3_2022_2_every_due_date_and_its_reminder_day() -> None:
    dues = [(d.kind, d.due_on, d.remind_on) for d in evaluation_dues(SELECTED, VALID_TO)]
    assert dues == [
        (INT, date(2023, 7, 20), date(2023, 6, 20)),  # 30 days before
        (INT, date(2024, 7, 20), date(2024, 6, 20)),
        (X, date(2025, 6, 19), date(2025, 5, 20)),  # 2025-07-19 − 30, then − 30
        (C, date(2025, 10, 17), date(2025, 7, 20)),  # valid_to + 90; reminded valid_to + 1
    ]


@pytest.mark.parametrize(("start", "years", "expected"), [
    (date(2022, 7, 20), 1, date(2023, 7, 20)),
    (date(2024, 2, 29), 1, date(2025, 2, 28)),
    (date(2024, 2, 29), 4, date(2028, 2, 29)),
], ids=["plain", "leap-day-to-common-year", "leap-day-to-leap-year"])
def test_M3_anniversary(start: date, years: int, expected: date) -> None:
    assert anniversary(start, years) == expected


@pytest.mark.parametrize(("today", "kinds"), [
    (date(2023, 6, 19), []),  # a day before the first reminder day
    (date(2023, 6, 20), [INT]),  # 30 days before 2023-07-20
    (date(2023, 7, 1), [INT]),  # a missed day is caught up by a later run
    (date(2023, 7, 20), [INT]),  # the due date itself
    (date(2023, 7, 21), []),  # past the due date
    (date(2025, 5, 20), [X]),
    (date(2025, 7, 19), []),  # valid_to: completion not yet
    (date(2025, 7, 20), [C]),  # valid_to + 1 day
    (date(2025, 10, 17), [C]),
    (date(2025, 10, 18), []),
], ids=lambda v: str(v))
def test_M3_reminders_due_in_their_window(today: date, kinds: list[EvaluationKind]) -> None:
    assert [d.kind for d in reminders_due(SELECTED, VALID_TO, today, {})] == kinds


def test_M3_a_recorded_result_ends_the_reminders_of_that_evaluation_only() -> None:
    held = {INT: [date(2023, 7, 10)]}  # 2022-2-018's interim
    assert reminders_due(SELECTED, VALID_TO, date(2023, 7, 15), held) == []
    # the second interim is another evaluation: still reminded
    assert [d.due_on for d in reminders_due(SELECTED, VALID_TO, date(2024, 6, 20), held)] == [
        date(2024, 7, 20)]
