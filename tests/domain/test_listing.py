"""나라장터 종합쇼핑몰 listing rules (PROGRAM_RULES M1, M1a–c): the checklist's current step,
the stall clock, and when a dues run owes a reminder or an escalation."""

from __future__ import annotations

from datetime import date

import pytest

from sangsaeng.domain.listing import (
    ORDER,
    MallStep,
    Stall,
    current_step,
    escalation_due,
    evidence_problem,
    reminder_due,
    stall_of,
    stall_start,
)

VALID_FROM = date(2022, 7, 20)


def test_M1_checklist_order() -> None:
    assert [s.value for s in ORDER] == ["bidder_registration", "catalog_number",
                                        "mas_qualification", "price_negotiation", "contract",
                                        "listed"]


@pytest.mark.parametrize(("done", "current"), [
    ((), MallStep.BIDDER_REGISTRATION),
    (("bidder_registration",), MallStep.CATALOG_NUMBER),
    # M1: any order; the current step is the first one not done
    (("catalog_number", "contract"), MallStep.BIDDER_REGISTRATION),
    (("bidder_registration", "mas_qualification"), MallStep.CATALOG_NUMBER),
    (("bidder_registration", "catalog_number", "mas_qualification", "price_negotiation"),
     MallStep.CONTRACT),
    # `listed` ends the checklist, even with earlier steps never recorded
    (("listed",), None),
    (tuple(ORDER), None),
], ids=["none", "registered", "out-of-order", "gap", "contract-next", "listed-alone", "all"])
def test_M1_current_step_is_the_first_not_done(done: tuple[str, ...],
                                               current: MallStep | None) -> None:
    assert current_step(done) == current


@pytest.mark.parametrize(("step", "evidence", "ok"), [
    (MallStep.CATALOG_NUMBER, "24123456", True),
    (MallStep.CATALOG_NUMBER, " 24123456 ", True),
    (MallStep.CATALOG_NUMBER, "2412345", False),
    (MallStep.CATALOG_NUMBER, "241234567", False),
    (MallStep.CATALOG_NUMBER, "2412345A", False),
    (MallStep.CATALOG_NUMBER, "", False),
    (MallStep.CONTRACT, "계약번호 2022-MAS-0415", True),
    (MallStep.BIDDER_REGISTRATION, "", True),
], ids=["8-digits", "padded", "7-digits", "9-digits", "letter", "empty", "contract",
        "no-evidence"])
def test_M1_catalog_number_evidence_is_the_8_digit_identifier(
        step: MallStep, evidence: str, ok: bool) -> None:
    assert (evidence_problem(step, evidence) is None) is ok


def test_M1a_stall_clock_starts_on_the_latest_done_on_else_valid_from() -> None:
    assert stall_start([], VALID_FROM) == VALID_FROM
    # any order: the latest date counts, not the last step in the checklist
    assert stall_start([date(2022, 8, 10), date(2022, 7, 25)], VALID_FROM) == date(2022, 8, 10)


def test_M1a_days_are_calendar_days_since_the_start() -> None:
    done = {"bidder_registration": date(2022, 7, 25), "catalog_number": date(2022, 8, 10)}
    assert stall_of(done, VALID_FROM, date(2022, 10, 9)) == Stall(
        MallStep.MAS_QUALIFICATION, date(2022, 8, 10), 60)
    assert stall_of({}, VALID_FROM, date(2022, 8, 3)) == Stall(
        MallStep.BIDDER_REGISTRATION, VALID_FROM, 14)
    assert stall_of({"listed": date(2022, 9, 20)}, VALID_FROM, date(2023, 1, 1)) is None


@pytest.mark.parametrize(("days", "last", "today", "due"), [
    (13, None, date(2022, 8, 2), False),   # 13 days: not yet
    (14, None, date(2022, 8, 3), True),    # M1b: from 14 days on
    (40, None, date(2022, 8, 29), True),   # a missed day is caught up on the next run
    (14, date(2022, 8, 3), date(2022, 8, 3), False),   # twice on one day: never
    (27, date(2022, 8, 3), date(2022, 8, 16), False),  # within the last 14 days
    (28, date(2022, 8, 3), date(2022, 8, 17), True),   # 14 days later: again
], ids=["13-days", "14-days", "catch-up", "same-day", "13-days-after", "14-days-after"])
def test_M1b_reminder_after_14_days_then_every_14(days: int, last: date | None, today: date,
                                                  due: bool) -> None:
    assert reminder_due(days, last, today, 14) is due


@pytest.mark.parametrize(("days", "escalated", "due"), [
    (59, False, False), (60, False, True), (90, False, True), (90, True, False),
], ids=["59-days", "60-days", "later", "once"])
def test_M1c_escalated_once_from_60_days(days: int, escalated: bool, due: bool) -> None:
    assert escalation_due(days, escalated, 60) is due
