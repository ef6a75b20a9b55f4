"""Issue 23 item 7: runs are named for what they do, in KST; a name a person typed stays."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.run_names import made_up, run_name, subject_of
from tests.conftest import REPO


def test_a_run_is_named_for_its_round_step_and_time_in_kst() -> None:
    at = datetime(2027, 3, 31, 9, 0, tzinfo=UTC)  # 18:00 KST
    assert run_name("close_intake", "2027-1", at) == "2027-1 접수 마감 — 2027-03-31 18:00"
    assert run_name("support_dues", "", at) == "매일 사후관리 — 2027-03-31 18:00"
    assert subject_of({"round_id": "2022-2", "chain": True}) == "2022-2"
    assert subject_of({"receipt_no": "2022-2-018"}) == "2022-2-018"
    # a configuration file's path (the CLI, the API): the round's id written in it
    assert subject_of({"config": str(REPO / "config" / "rounds" / "2022-2.toml")}) == "2022-2"
    assert subject_of({"config": "2022-2"}) == "2022-2"  # chosen from the form's list


def test_only_the_names_prefect_makes_up_are_replaced() -> None:
    for random in ("upsilon132-mazar", "alpha6-lissepia-reach", "metal-chipmunk"):
        assert made_up(random), random
    for given in ("2022-2 회차 실행 — 2026-12-07 10:00", "2022-2 재실행", "Chair-Review",
                  "tasks-10 2"):
        assert not made_up(given), given
