"""The selection table artifact stays one Prefect event's size, whatever the round's size."""

from __future__ import annotations

from sangsaeng.dashboard import TABLE_ROWS, selection_table
from sangsaeng.models import Round

ROUND = Round(id="2030-1", title="", tracks=["innovation"], support_years=3,
              settings={"tracks": {"innovation": {"name": "혁신성장"}}})


def _rows(n: int) -> list[tuple[str, ...]]:
    status = ["not_selected", "not_selected", "selected", "reserve", "ineligible"]
    return [(f"R-{i:05d}", "innovation", status[i % 5], "70.00", "", "") for i in range(n)]


def test_a_small_round_shows_every_application_in_receipt_order() -> None:
    table = selection_table(ROUND, _rows(36))
    assert [r["접수번호 receipt"] for r in table] == [f"R-{i:05d}" for i in range(36)]


def test_a_large_round_shows_the_selection_first_and_says_how_many_more_the_file_holds(
        ) -> None:
    table = selection_table(ROUND, _rows(10_000))
    assert len(table) == TABLE_ROWS
    shown = [r["상태 status"] for r in table[:-1]]
    assert set(shown) == {"선정", "예비 선정"}  # 4,000 of them: the first 499 in order
    assert [r["접수번호 receipt"] for r in table[:3]] == ["R-00002", "R-00003", "R-00007"]
    assert table[-1]["접수번호 receipt"] == f"… 외 {10_000 - TABLE_ROWS + 1:,}건"
    assert {r["분야 track"] for r in table[:-1]} == {"혁신성장"}
    assert "decisions.csv" in table[-1]["사유 reasons"]
