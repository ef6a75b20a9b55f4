"""Ranking, quotas and the chair's decision — PROGRAM_RULES V8–V10."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sangsaeng.domain.ranking import (
    Candidate,
    ChairAction,
    ChairDecision,
    ChairDecisionError,
    Placement,
    apply_chair_decision,
    place_candidates,
    rank_key,
)

D = Decimal
TIE_BREAKS = ("cooperation", "growth")


def cand(
    receipt_no: str,
    score: str = "80.00",
    *,
    track: str = "innovation",
    cooperation: str = "30.00",
    growth: str = "25.00",
    priority: bool = False,
    fails: tuple[str, ...] = (),
) -> Candidate:
    means = {"growth": D(growth), "plan": D(25), "cooperation": D(cooperation)}
    return Candidate(receipt_no, track, D(score), means, priority, fails)


def order(cands: list[Candidate]) -> list[str]:
    placements = place_candidates(cands, quotas={}, tie_break_criteria=TIE_BREAKS)
    ranked = sorted(placements.values(), key=lambda p: p.rank or 0)
    return [p.receipt_no for p in ranked]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(cand("2022-2-2", "80.01"), cand("2022-2-1", "80.00"), id="1-score-desc"),
        pytest.param(
            cand("2022-2-2", cooperation="30.01"),
            cand("2022-2-1", cooperation="30.00", growth="29.00", priority=True),
            id="2-cooperation-mean-desc",
        ),
        pytest.param(
            cand("2022-2-2", growth="25.01"),
            cand("2022-2-1", growth="25.00", priority=True),
            id="3-growth-mean-desc",
        ),
        pytest.param(
            cand("2022-2-2", priority=True), cand("2022-2-1"), id="4-policy-priority-first"
        ),
        pytest.param(cand("2022-2-999"), cand("2022-2-1000"), id="5-receipt-natural-order"),
    ],
)
def test_V8_each_tie_break(first: Candidate, second: Candidate) -> None:
    assert order([second, first]) == [first.receipt_no, second.receipt_no]
    assert rank_key(first, TIE_BREAKS) < rank_key(second, TIE_BREAKS)


def test_V8_tie_break_criteria_are_a_parameter() -> None:
    a = cand("2022-2-1", cooperation="30.00", growth="26.00")
    b = cand("2022-2-2", cooperation="31.00", growth="25.00")
    assert rank_key(a, ("growth",)) < rank_key(b, ("growth",))
    assert rank_key(b, TIE_BREAKS) < rank_key(a, TIE_BREAKS)


def test_V8_ranks_run_1_to_n_per_track() -> None:
    cands = [
        cand("2022-2-1", "75.00"),
        cand("2022-2-2", "90.00", track="value"),
        cand("2022-2-3", "85.00"),
        cand("2022-2-4", "60.00", track="value", fails=("BELOW_CUTOFF",)),
        cand("2022-2-5", "71.00", track="value"),
    ]
    placements = place_candidates(cands, quotas={}, tie_break_criteria=TIE_BREAKS)
    assert {k: (p.status, p.rank) for k, p in placements.items()} == {
        "2022-2-1": ("selected", 2),
        "2022-2-3": ("selected", 1),
        "2022-2-2": ("selected", 1),
        "2022-2-5": ("selected", 2),
        "2022-2-4": ("not_selected", None),
    }
    assert placements["2022-2-4"].reasons == ("BELOW_CUTOFF",)


@pytest.mark.parametrize(
    ("quotas", "statuses"),
    [
        pytest.param({}, ["selected", "selected", "selected"], id="no-quota-all-selected"),
        pytest.param({"innovation": 2}, ["selected", "selected", "reserve"], id="quota-2"),
        pytest.param({"innovation": 0}, ["reserve", "reserve", "reserve"], id="quota-0"),
        pytest.param({"innovation": 5}, ["selected", "selected", "selected"], id="quota-above-n"),
        pytest.param({"value": 1}, ["selected", "selected", "selected"], id="other-track-quota"),
    ],
)
def test_V9_quotas_and_reserve(quotas: dict[str, int], statuses: list[str]) -> None:
    cands = [cand("2022-2-1", "90.00"), cand("2022-2-2", "80.00"), cand("2022-2-3", "70.00")]
    cands.append(cand("2022-2-4", "95.00", fails=("BELOW_ITEM_FLOOR:plan",)))
    placements = place_candidates(cands, quotas=quotas, tie_break_criteria=TIE_BREAKS)
    assert [placements[f"2022-2-{i}"].status for i in (1, 2, 3)] == statuses
    assert [placements[f"2022-2-{i}"].rank for i in (1, 2, 3)] == [1, 2, 3]
    assert placements["2022-2-4"] == Placement(
        "2022-2-4", "not_selected", None, ("BELOW_ITEM_FLOOR:plan",)
    )


def test_V9_repeated_candidate_is_an_error() -> None:
    with pytest.raises(ValueError, match="2022-2-1"):
        place_candidates(
            [cand("2022-2-1"), cand("2022-2-1")], quotas={}, tie_break_criteria=TIE_BREAKS
        )


PROPOSAL = {
    "A-1": Placement("A-1", "selected", 1, ()),
    "A-2": Placement("A-2", "reserve", 2, ()),
    "A-3": Placement("A-3", "not_selected", None, ("BELOW_CUTOFF",)),
}


def test_V10_chair_excludes_a_selected_and_includes_a_reserve() -> None:
    decision = ChairDecision(
        approve=True,
        exclude=(ChairAction("A-1", "허위 실적 확인"),),
        include=(ChairAction("A-2", "정책 우선"),),
    )
    result = apply_chair_decision(PROPOSAL, decision)
    assert result == {
        "A-1": Placement("A-1", "not_selected", 1, ("CHAIR_EXCLUDED",)),
        "A-2": Placement("A-2", "selected", 2, ("CHAIR_INCLUDED",)),
        "A-3": PROPOSAL["A-3"],
    }
    assert PROPOSAL["A-1"].status == "selected"  # input untouched


def test_V10_plain_approval_keeps_the_proposal() -> None:
    assert apply_chair_decision(PROPOSAL, ChairDecision(approve=True)) == PROPOSAL


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        pytest.param(ChairDecision(approve=False), "not approved", id="not-approved"),
        pytest.param(
            ChairDecision(True, exclude=(ChairAction("A-1", "  "),)), "A-1.*reason", id="no-reason"
        ),
        pytest.param(
            ChairDecision(True, include=(ChairAction("A-9", "x"),)), "A-9", id="unknown-receipt"
        ),
        pytest.param(
            ChairDecision(True, exclude=(ChairAction("A-2", "x"),)),
            "A-2.*'selected'.*'reserve'",
            id="exclude-a-reserve",
        ),
        pytest.param(
            ChairDecision(True, include=(ChairAction("A-1", "x"),)),
            "A-1.*'reserve'",
            id="include-a-selected",
        ),
        pytest.param(
            ChairDecision(True, include=(ChairAction("A-3", "x"),)),
            "A-3.*'not_selected'",
            id="include-a-failed-one",
        ),
        pytest.param(
            ChairDecision(True, exclude=(ChairAction("A-1", "x"), ChairAction("A-1", "y"))),
            "A-1.*more than once",
            id="named-twice",
        ),
    ],
)
def test_V10_invalid_chair_decision_names_the_receipt(
    decision: ChairDecision, message: str
) -> None:
    with pytest.raises(ChairDecisionError, match=message):
        apply_chair_decision(PROPOSAL, decision)
