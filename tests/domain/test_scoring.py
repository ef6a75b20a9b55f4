"""Committee review scores — PROGRAM_RULES V1–V7."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sangsaeng.domain.clock import KST
from sangsaeng.domain.scoring import (
    Affiliation,
    Aggregate,
    Criterion,
    ReviewRules,
    ReviewSheet,
    aggregate,
    conflicted_reviewers,
    fail_reasons,
    insufficient_reviews,
    is_conflicted,
    parse_score,
    round_half_up,
    split_valid,
    trim,
)

D = Decimal
CLOSES_AT = datetime(2022, 5, 27, 18, 0, tzinfo=KST)
CRITERIA = (
    Criterion("growth", "성장성", D(30)),
    Criterion("plan", "사업계획", D(30)),
    Criterion("cooperation", "상생협력 성과", D(40)),
)
RULES = ReviewRules(
    cutoff=D(70),
    item_floor_ratio=D("0.4"),
    min_reviews=3,
    trim_at=5,
    tie_break_criteria=("cooperation", "growth"),
)
BRN = "124-81-00998"


def sheet(reviewer_id: str, growth: str, plan: str, cooperation: str) -> ReviewSheet:
    return ReviewSheet(
        reviewer_id, {"growth": D(growth), "plan": D(plan), "cooperation": D(cooperation)}
    )


def totals(reviewer_totals: dict[str, str]) -> list[ReviewSheet]:
    """Sheets whose totals are given (all in `cooperation`, the rest zero)."""
    return [sheet(rid, "0", "0", total) for rid, total in reviewer_totals.items()]


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        pytest.param("69.975", 2, "69.98", id="69.975-up"),
        pytest.param("69.974999", 2, "69.97", id="just-below-half"),
        pytest.param("0.005", 2, "0.01", id="0.005-up"),
        pytest.param("2.345", 2, "2.35", id="2.345-up-not-even"),
        pytest.param("70", 2, "70.00", id="two-places-kept"),
        pytest.param("16.25", 1, "16.3", id="one-place"),
    ],
)
def test_V6_round_half_up(value: str, places: int, expected: str) -> None:
    result = round_half_up(D(value), places)
    assert result == D(expected)
    assert str(result) == expected


def test_V6_float_rounding_gets_69_975_wrong() -> None:
    assert round(69.975, 2) == 69.97  # the float trap V6 avoids
    assert round_half_up(D("69.975")) == D("69.98")


def test_V6_mean_of_totals_rounds_half_up() -> None:
    sheets = totals({"R1": "69.9", "R2": "70.0", "R3": "70.0", "R4": "70.0"})
    agg = aggregate(sheets, CRITERIA, trim_at=5)
    assert agg.score == D("69.98")  # exact mean 69.975
    assert str(agg.score) == "69.98"
    assert fail_reasons(agg, CRITERIA, RULES)[0] == "BELOW_CUTOFF"


def test_V6_repeating_mean_rounds_exactly() -> None:
    agg = aggregate(totals({"R1": "70.0", "R2": "70.0", "R3": "70.1"}), CRITERIA, trim_at=5)
    assert agg.score == D("70.03")  # 70.0333…
    assert agg.criterion_means == {
        "growth": D("0.00"),
        "plan": D("0.00"),
        "cooperation": D("70.03"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("16.5", "16.5", id="one-decimal"),
        pytest.param("32", "32", id="integer"),
        pytest.param("32.0", "32", id="trailing-zero"),
        pytest.param(" 7 ", "7", id="whitespace"),
        pytest.param("0", "0", id="zero"),
        pytest.param("40", "40", id="maximum"),
        pytest.param("16.50", "16.5", id="two-digits-worth-one-decimal"),
    ],
)
def test_V2_parse_score_accepts(text: str, expected: str) -> None:
    assert parse_score(text, D(40)) == D(expected)


@pytest.mark.parametrize(
    ("text", "maximum", "message"),
    [
        pytest.param("", D(30), "점수가 비어 있습니다", id="empty"),
        pytest.param("abc", D(30), "숫자가 아닙니다", id="abc"),
        pytest.param("NaN", D(30), "숫자가 아닙니다", id="NaN"),
        pytest.param("inf", D(30), "숫자가 아닙니다", id="inf"),
        pytest.param("16,5", D(30), "숫자가 아닙니다", id="comma"),
        pytest.param("30.01", D(30), "최고점 30점을 넘습니다", id="30.01"),
        pytest.param("30.1", D(30), "최고점 30점을 넘습니다", id="over-max"),
        pytest.param("-1", D(30), "음수입니다", id="negative"),
        pytest.param("16.55", D(30), "소수 첫째 자리까지만", id="two-decimals"),
    ],
)
def test_V2_parse_score_rejects_with_message(text: str, maximum: Decimal, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_score(text, maximum)


@pytest.mark.parametrize(
    ("until", "brn", "conflicted"),
    [
        pytest.param(date(2019, 5, 27), BRN, True, id="ended-exactly-3-years-before"),
        pytest.param(date(2019, 5, 26), BRN, False, id="ended-a-day-earlier"),
        pytest.param(None, BRN, True, id="still-affiliated"),
        pytest.param(None, "107-81-53660", False, id="other-company"),
    ],
)
def test_V3_conflict_three_year_boundary(until: date | None, brn: str, conflicted: bool) -> None:
    affiliations = [Affiliation(brn, until)]
    assert is_conflicted(affiliations, {BRN}, CLOSES_AT, 3) is conflicted


def test_V3_conflict_horizon_is_a_parameter() -> None:
    affiliations = [Affiliation(BRN, date(2017, 5, 27))]
    assert is_conflicted(affiliations, [BRN], CLOSES_AT, 5)
    assert not is_conflicted(affiliations, [BRN], CLOSES_AT, 4)


def test_V3_conflicted_reviewers() -> None:
    affiliations = {
        "R03": [Affiliation(BRN, date(2020, 12, 31))],
        "R05": [Affiliation(BRN, date(2018, 1, 31))],
    }
    assert conflicted_reviewers(affiliations, {BRN}, CLOSES_AT, 3) == {"R03"}


def test_V3_V4_split_valid_excludes_conflicted_and_incomplete() -> None:
    sheets = [
        sheet("R1", "10", "10", "10"),
        sheet("R2", "20", "20", "20"),
        ReviewSheet("R3", {"growth": D(1), "plan": D(2)}),
        ReviewSheet("R4", {"growth": D(1), "plan": D(2), "cooperation": D(3), "bonus": D(9)}),
    ]
    valid, excluded = split_valid(sheets, CRITERIA, conflicted={"R2"})
    assert [s.reviewer_id for s in valid] == ["R1", "R4"]
    assert excluded == (("R2", "CONFLICT"), ("R3", "INCOMPLETE"))
    assert valid[1].total == D(6)  # only V1 criteria count


def test_V4_insufficient_reviews_lists_receipts_in_order() -> None:
    counts = {"2022-2-10": 2, "2022-2-9": 0, "2022-2-1": 3, "2022-2-100": 5}
    assert insufficient_reviews(counts, 3) == ("2022-2-9", "2022-2-10")


@pytest.mark.parametrize(
    ("reviewer_totals", "kept", "dropped"),
    [
        pytest.param(
            {"R1": "50", "R2": "60", "R3": "70", "R4": "80", "R5": "90"},
            ["R2", "R3", "R4"],
            ("R5", "R1"),
            id="distinct-totals",
        ),
        pytest.param(
            {"R1": "50", "R2": "60", "R3": "70", "R4": "80"},
            ["R1", "R2", "R3", "R4"],
            (),
            id="below-trim-at-no-trim",
        ),
        pytest.param(
            {"R9": "90", "R10": "90", "R3": "70", "R4": "80", "R5": "50"},
            ["R3", "R4", "R9"],
            ("R10", "R5"),
            id="equal-highest-larger-id-dropped",
        ),
        pytest.param(
            {"R1": "50", "R2": "50", "R3": "70", "R4": "80", "R5": "90"},
            ["R1", "R3", "R4"],
            ("R5", "R2"),
            id="equal-lowest-larger-id-dropped",
        ),
        pytest.param(
            {"R1": "70", "R2": "70", "R3": "70", "R10": "70", "R9": "70"},
            ["R1", "R2", "R3"],
            ("R10", "R9"),
            id="all-equal-two-different-sheets",
        ),
    ],
)
def test_V5_trim_drops_one_high_one_low(
    reviewer_totals: dict[str, str], kept: list[str], dropped: tuple[str, ...]
) -> None:
    kept_sheets, dropped_ids = trim(totals(reviewer_totals), trim_at=5)
    assert [s.reviewer_id for s in kept_sheets] == kept
    assert dropped_ids == dropped


def test_V5_V6_aggregate_uses_kept_reviewers_for_criterion_means() -> None:
    sheets = [
        sheet("R1", "10", "10", "10"),  # lowest total, dropped
        sheet("R2", "20", "21", "30"),
        sheet("R3", "21", "22", "31"),
        sheet("R4", "22", "23", "33"),
        sheet("R5", "30", "30", "40"),  # highest total, dropped
    ]
    agg = aggregate(sheets, CRITERIA, trim_at=5)
    assert agg == Aggregate(
        score=D("74.33"),  # (71 + 74 + 78) / 3 = 74.333…
        criterion_means={"growth": D("21.00"), "plan": D("22.00"), "cooperation": D("31.33")},
        kept=("R2", "R3", "R4"),
        dropped=("R5", "R1"),
    )


def test_V6_aggregate_without_sheets_is_an_error() -> None:
    with pytest.raises(ValueError, match="no valid review"):
        aggregate([], CRITERIA, trim_at=5)


def _agg(score: str, growth: str = "20", plan: str = "20", cooperation: str = "30") -> Aggregate:
    means = {"growth": D(growth), "plan": D(plan), "cooperation": D(cooperation)}
    return Aggregate(D(score), means, ("R1", "R2", "R3"), ())


@pytest.mark.parametrize(
    ("agg", "reasons"),
    [
        pytest.param(_agg("70.00"), (), id="cutoff-exactly-passes"),
        pytest.param(_agg("69.99"), ("BELOW_CUTOFF",), id="below-cutoff"),
        pytest.param(_agg("73.00", cooperation="16.00"), (), id="floor-exactly-passes"),
        pytest.param(
            _agg("73.00", cooperation="15.99"),
            ("BELOW_ITEM_FLOOR:cooperation",),
            id="below-cooperation-floor",
        ),
        pytest.param(
            _agg("60.00", growth="11.99", cooperation="15.00"),
            ("BELOW_CUTOFF", "BELOW_ITEM_FLOOR:growth", "BELOW_ITEM_FLOOR:cooperation"),
            id="cutoff-then-criteria-in-V1-order",
        ),
    ],
)
def test_V7_fail_reasons(agg: Aggregate, reasons: tuple[str, ...]) -> None:
    assert fail_reasons(agg, CRITERIA, RULES) == reasons


def test_V7_cutoff_and_floor_are_parameters() -> None:
    strict = ReviewRules(D(80), D("0.5"), 3, 5, ())
    assert fail_reasons(_agg("75.00", growth="14.9", cooperation="19.9"), CRITERIA, strict) == (
        "BELOW_CUTOFF",
        "BELOW_ITEM_FLOOR:growth",
        "BELOW_ITEM_FLOOR:cooperation",
    )
