"""Company sizes, tracks and startups — C3, C4, C6, V8."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sangsaeng.domain.clock import KST
from sangsaeng.domain.companies import (
    TRACK_CODES,
    Size,
    Track,
    is_large,
    is_policy_priority,
    is_sme,
    is_startup,
)

CLOSES_AT = datetime(2022, 5, 27, 18, 0, tzinfo=KST)
OLD = date(2000, 1, 1)


@pytest.mark.parametrize(
    ("size", "sme"),
    [
        pytest.param(Size.MICRO, True, id="micro"),
        pytest.param(Size.SMALL, True, id="small"),
        pytest.param(Size.MEDIUM, True, id="medium"),
        pytest.param(Size.MIDSIZE, False, id="midsize"),
        pytest.param(Size.LARGE, False, id="large"),
    ],
)
def test_C3_sme_and_large_are_complements(size: Size, sme: bool) -> None:
    assert is_sme(size) is sme
    assert is_large(size) is not sme


@pytest.mark.parametrize(
    ("founded_on", "closes_at", "startup"),
    [
        pytest.param(date(2015, 5, 27), CLOSES_AT, False, id="exactly-7-years-not-startup"),
        pytest.param(date(2015, 5, 28), CLOSES_AT, True, id="a-day-later-startup"),
        pytest.param(
            date(2015, 5, 27),
            datetime(2022, 5, 26, 20, 0, tzinfo=UTC),  # = 2022-05-27 05:00 KST
            False,
            id="close-date-taken-in-kst-not-utc",
        ),
    ],
)
def test_C4_startup_seven_year_boundary(
    founded_on: date, closes_at: datetime, startup: bool
) -> None:
    assert is_startup(founded_on, closes_at, 7) is startup


def test_C4_startup_years_is_a_parameter() -> None:
    assert is_startup(date(2019, 5, 28), CLOSES_AT, 3)
    assert not is_startup(date(2019, 5, 27), CLOSES_AT, 3)


@pytest.mark.parametrize(
    ("size", "founded_on", "priority"),
    [
        pytest.param(Size.MICRO, OLD, True, id="micro"),
        pytest.param(Size.SMALL, OLD, True, id="small"),
        pytest.param(Size.MEDIUM, OLD, False, id="old-medium"),
        pytest.param(Size.MEDIUM, date(2021, 1, 1), True, id="startup-medium"),
        pytest.param(Size.MIDSIZE, OLD, False, id="midsize"),
    ],
)
def test_V8_policy_priority_is_startup_or_micro_small(
    size: Size, founded_on: date, priority: bool
) -> None:
    assert is_policy_priority(size, founded_on, CLOSES_AT, 7) is priority


def test_C6_track_codes() -> None:
    assert {t.value: TRACK_CODES[t] for t in Track} == {
        "innovation": "IG",
        "materials": "MP",
        "capability": "CB",
        "convergence": "TC",
        "value": "VC",
    }
