"""The selection table artifact stays one Prefect event's size, whatever the round's size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sangsaeng.dashboard import TABLE_ROWS, office_digest_markdown, selection_table
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


def test_the_office_digest_counts_the_notices_that_wait_or_failed(env: Path) -> None:
    """Issue 23 item 8: per round, the notices waiting to go and those that failed."""
    from sqlalchemy import update

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.models import OUTBOX
    from tests.mail.helpers import owe

    owe(3)
    with session_scope(get_engine()) as session:
        session.execute(update(OUTBOX).where(OUTBOX.c.id == 1).values(state="failed"))
    with session_scope(get_engine()) as session:
        digest = office_digest_markdown(session, date(2030, 3, 2))
    assert "| 회차 | 발송 대기 | 발송 실패 |" in digest and "| 2030-1 | 2 | 1 |" in digest
    assert "(입력을 기다리는 실행 없음)" in digest
