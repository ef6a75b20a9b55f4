"""Round lifecycle services on a real database: an open round's dates move while its deadline
is ahead (T2; R3 freezes the rest), and the office's cancellation of a call (R2's life cycle
ends early; K5 takes over once the selection is released)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from sangsaeng.config import ProgramConfig, RoundConfig, load_program
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import ConfigError, StepError
from sangsaeng.mail import outbox
from sangsaeng.models import OUTBOX, AuditEvent, Round
from sangsaeng.services import rounds
from sangsaeng.services.companies import import_registry
from tests.conftest import REPO

ROUND = "2030-1"
CLOSES = parse_instant("2030-03-27T18:00:00+09:00")  # Wed; S1 (5 business days): 04-03 18:00
OPENED = parse_instant("2030-03-02T09:00:00+09:00")


@pytest.fixture
def program(env: Path) -> ProgramConfig:
    return load_program(REPO / "config")


@pytest.fixture
def session(env: Path) -> Iterator[Session]:
    with session_scope(get_engine()) as s:
        yield s


def config(**changes: Any) -> RoundConfig:
    return RoundConfig.model_validate({
        "id": ROUND, "title": "2030년 1차 공공조달 상생협력 지원제도 참여기업 모집",
        "opens_at": "2030-03-02T09:00:00+09:00", "closes_at": CLOSES.isoformat(),
        "tracks": ["innovation", "value"], **changes})


def opened(session: Session, program: ProgramConfig) -> Round:
    """The round registered from its file and its call published (draft → open)."""
    rnd = rounds.register_round(session, program, config(), now=OPENED, actor="office")
    rounds.open_round(session, rnd, now=OPENED, actor="office")
    session.commit()
    return rnd


def audit(session: Session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(
        AuditEvent.round_id == ROUND, AuditEvent.action == action)  # type: ignore[arg-type]
        .order_by(AuditEvent.id)).scalars())  # type: ignore[arg-type]


def test_T2_S1_an_open_round_takes_a_new_deadline_audited_with_both_dates(
    session: Session, program: ProgramConfig
) -> None:
    rnd = opened(session, program)
    assert rnd.settings["supplement_deadline"] == "2030-04-03T18:00:00+09:00"
    now = parse_instant("2030-03-20T10:00:00+09:00")
    rounds.register_round(session, program, config(closes_at="2030-04-10T18:00:00+09:00"),
                          now=now, actor="담당자")
    session.commit()
    stored = session.get(Round, ROUND)
    assert stored is not None and stored.state == "open"
    assert stored.closes_at == parse_instant("2030-04-10T18:00:00+09:00")
    assert stored.settings["supplement_deadline"] == "2030-04-17T18:00:00+09:00"  # S1 follows
    [row] = audit(session, "reschedule")
    assert (row.actor, row.rule, row.at) == ("담당자", "T2", now)
    assert row.data == {
        "closes_at": {"old": "2030-03-27T18:00:00+09:00", "new": "2030-04-10T18:00:00+09:00"},
        "supplement_deadline": {"old": "2030-04-03T18:00:00+09:00",
                                "new": "2030-04-17T18:00:00+09:00"}}
    assert "2030년 3월 27일(수) 18:00 → 2030년 4월 10일(수) 18:00" in row.reason
    # the same file again changes nothing; a shorter call is accepted while still ahead
    rounds.register_round(session, program, config(closes_at="2030-04-10T18:00:00+09:00"),
                          now=now, actor="담당자")
    rounds.register_round(session, program, config(closes_at="2030-03-22T18:00:00+09:00"),
                          now=now, actor="담당자")
    session.commit()
    assert [r.data["closes_at"]["new"] for r in audit(session, "reschedule")] == [
        "2030-04-10T18:00:00+09:00", "2030-03-22T18:00:00+09:00"]
    assert session.get(Round, ROUND).settings["supplement_deadline"] == (  # type: ignore[union-attr]
        "2030-04-01T18:00:00+09:00")


def test_T2_the_new_deadline_must_be_ahead_of_now(session: Session, program: ProgramConfig
                                                  ) -> None:
    opened(session, program)
    now = parse_instant("2030-03-20T10:00:00+09:00")
    with pytest.raises(ConfigError, match=r"new closes_at \(2030년 3월 20일\(수\) 09:00 KST\) "
                                          r"must be later than now"):
        rounds.register_round(session, program, config(closes_at="2030-03-20T09:00:00+09:00"),
                              now=now, actor="담당자")
    session.rollback()
    assert session.get(Round, ROUND).closes_at == CLOSES  # type: ignore[union-attr]
    assert audit(session, "reschedule") == []


@pytest.mark.parametrize("closed", [False, True], ids=["deadline-passed", "closed"])
def test_T2_dates_are_frozen_once_the_deadline_has_passed(
    session: Session, program: ProgramConfig, closed: bool
) -> None:
    rnd = opened(session, program)
    now = CLOSES + timedelta(minutes=1)
    if closed:
        assert rounds.close_intake(session, rnd, now=now, actor="office")
        session.commit()
    with pytest.raises(ConfigError, match=rf"round {ROUND} is (open|closed): its closes_at are "
                                          r"frozen since its deadline \(2030년 3월 27일\(수\) "
                                          r"18:00 KST\) has passed \(T2\)"):
        rounds.register_round(session, program, config(closes_at="2030-04-10T18:00:00+09:00"),
                              now=now, actor="담당자")
    session.rollback()
    assert session.get(Round, ROUND).closes_at == CLOSES  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "named"), [
    ({"quota": {"innovation": 3}}, "settings"),
    ({"review": {"cutoff": 60}}, "settings"),
    ({"support_years": 2}, "support_years"),
    ({"tracks": ["innovation"]}, "settings, tracks"),
])
def test_R3_other_settings_stay_frozen_even_with_a_date_change(
    session: Session, program: ProgramConfig, change: dict[str, Any], named: str
) -> None:
    opened(session, program)
    now = parse_instant("2030-03-20T10:00:00+09:00")
    with pytest.raises(ConfigError, match=rf"its {named} are frozen \(R3\)"):
        rounds.register_round(
            session, program, config(closes_at="2030-04-10T18:00:00+09:00", **change),
            now=now, actor="담당자")
    session.rollback()
    assert session.get(Round, ROUND).closes_at == CLOSES  # type: ignore[union-attr]
    assert audit(session, "reschedule") == []


def test_R3_a_draft_still_takes_its_file_as_it_is(session: Session, program: ProgramConfig
                                               ) -> None:
    rounds.register_round(session, program, config(), now=OPENED, actor="office")
    rounds.register_round(session, program, config(closes_at="2030-04-10T18:00:00+09:00",
                                                   quota={"value": 2}),
                          now=OPENED, actor="office")
    session.commit()
    stored = session.get(Round, ROUND)
    assert stored is not None and stored.state == "draft"
    assert stored.closes_at == parse_instant("2030-04-10T18:00:00+09:00")
    assert stored.settings["quota"] == {"value": 2}
    assert audit(session, "reschedule") == []  # nothing was announced yet


@pytest.mark.parametrize("state", ["draft", "open", "closed"])
def test_R2_the_office_cancels_a_call_audited_with_its_reason(
    session: Session, program: ProgramConfig, state: str
) -> None:
    rnd = rounds.register_round(session, program, config(), now=OPENED, actor="office")
    if state != "draft":
        rounds.open_round(session, rnd, now=OPENED, actor="office")
    if state == "closed":
        rounds.close_intake(session, rnd, now=CLOSES, actor="office")
    at = parse_instant("2030-03-28T14:30:00+09:00")
    assert rounds.cancel_round(session, rnd, reason=" 예산 미확보로 공고 취소 ", now=at,
                               actor="담당자")
    session.commit()
    assert session.get(Round, ROUND).state == "cancelled"  # type: ignore[union-attr]
    [row] = [r for r in audit(session, "transition") if r.to_state == "cancelled"]
    assert (row.from_state, row.reason, row.rule, row.actor, row.at) == (
        state, "예산 미확보로 공고 취소", "R2", "담당자", at)
    # a second cancellation changes nothing
    assert not rounds.cancel_round(session, rnd, reason="again", now=at, actor="담당자")
    assert len([r for r in audit(session, "transition") if r.to_state == "cancelled"]) == 1


def test_R2_a_cancelled_round_refuses_every_step_and_its_file_does_not_revive_it(
    session: Session, program: ProgramConfig
) -> None:
    rnd = opened(session, program)
    rounds.cancel_round(session, rnd, reason="예산 미확보", now=parse_instant(
        "2030-03-10T11:00:00+09:00"), actor="담당자")
    session.commit()
    message = rf"round {ROUND} was cancelled on 2030년 3월 10일\(일\) 11:00 KST: 예산 미확보"
    with pytest.raises(StepError, match=message):
        rounds.get_active_round(session, ROUND)
    for changes in ({}, {"closes_at": "2030-04-10T18:00:00+09:00"}):
        with pytest.raises(StepError, match=message):
            rounds.register_round(session, program, config(**changes),
                                  now=parse_instant("2030-03-11T09:00:00+09:00"), actor="office")
    session.rollback()
    stored = session.get(Round, ROUND)
    assert stored is not None and (stored.state, stored.closes_at) == ("cancelled", CLOSES)
    assert rounds.get_round(session, ROUND).state == "cancelled"  # still readable (exports)


def test_R2_a_cancellation_needs_a_reason(session: Session, program: ProgramConfig) -> None:
    rnd = opened(session, program)
    with pytest.raises(StepError, match="needs a reason"):
        rounds.cancel_round(session, rnd, reason="  ", now=OPENED, actor="담당자")
    assert session.get(Round, ROUND).state == "open"  # type: ignore[union-attr]




def test_R2_cancelling_a_call_withholds_its_notices_still_waiting(
    session: Session, program: ProgramConfig, tmp_path: Path
) -> None:
    """A call broadcast still in the outbox would announce a withdrawn call: it is not sent."""
    registry = tmp_path / "companies.csv"
    registry.write_text("brn,name,email,opted_in\n"
                        "124-81-00998,주식회사 한빛,ceo@hanbit.example.com,Y\n"
                        "107-81-53660,나래산업,info@narae.example.com,Y\n", encoding="utf-8")
    import_registry(session, registry, now=OPENED, actor="office")
    rnd = opened(session, program)
    owed = session.execute(select(OUTBOX.c.recipient, OUTBOX.c.state).where(
        OUTBOX.c.round_id == ROUND, OUTBOX.c.kind == "call.announcement")).all()
    assert sorted(owed) == [("ceo@hanbit.example.com", "pending"),
                            ("info@narae.example.com", "pending")]
    rounds.cancel_round(session, rnd, reason="예산 미확보", now=parse_instant(
        "2030-03-10T11:00:00+09:00"), actor="담당자")
    session.commit()
    after = session.execute(select(OUTBOX.c.state, OUTBOX.c.last_reply).where(
        OUTBOX.c.round_id == ROUND)).all()
    assert after == [("failed", "not sent: round cancelled (예산 미확보)")] * 2
    [event] = audit(session, "withhold_notices")
    assert (event.reason, event.rule, event.data) == (
        "2 notices not sent: the round was cancelled", "R2", {"withheld": 2})
    with session_scope(get_engine()) as other:
        assert outbox.count_due(other, now=parse_instant("2030-03-11T00:00:00+09:00")) == 0
