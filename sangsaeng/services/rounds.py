"""Round lifecycle: register from config, open the call, close intake (R1–R3, T2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from sangsaeng.config import ProgramConfig, RoundConfig, effective_review
from sangsaeng.domain.clock import as_kst
from sangsaeng.domain.screening import supplement_deadline
from sangsaeng.domain.states import RoundState, round_reached
from sangsaeng.errors import ConfigError, StepError
from sangsaeng.journal import move_round, record_events
from sangsaeng.mail.registry import broadcast_call
from sangsaeng.models import Round


def frozen_settings(program: ProgramConfig, config: RoundConfig) -> dict[str, Any]:
    """R3: everything a round's decisions depend on, captured as plain JSON at registration."""
    review = effective_review(program, config)
    deadline = supplement_deadline(
        config.closes_at,
        program.screening.supplement_business_days,
        program.calendar.extra_holidays,
    )  # T4: at the round's own closing clock time
    return {
        "review": review.model_dump(mode="json"),
        "screening": program.screening.model_dump(mode="json"),
        "criteria": {
            track: [c.model_dump(mode="json") for c in program.criteria_for(track)]
            for track in config.tracks
        },
        "tracks": {t: program.tracks[t].model_dump(mode="json") for t in config.tracks},
        "quota": dict(config.quota),
        "supplement_deadline": deadline.isoformat(),
    }


def register_round(
    session: Session, program: ProgramConfig, config: RoundConfig, *, now: datetime, actor: str
) -> Round:
    """Create the round in `draft`, or check that an existing one still matches its config (R3)."""
    support_years = config.support_years or program.program.support_years
    settings = frozen_settings(program, config)
    rnd = session.get(Round, config.id)
    if rnd is None:
        rnd = Round(
            id=config.id, title=config.title, opens_at=config.opens_at,
            closes_at=config.closes_at, tracks=list(config.tracks), support_years=support_years,
            settings=settings, state=RoundState.DRAFT.value,
        )
        session.add(rnd)
        record_events(session, [{
            "at": now, "actor": actor, "round_id": config.id, "entity": "round",
            "entity_id": config.id, "action": "register", "from_state": None,
            "to_state": RoundState.DRAFT.value, "reason": config.title, "rule": "R1",
            "data": {"settings": settings},
        }])
        session.flush()
        return rnd
    current = {"settings": rnd.settings, "tracks": rnd.tracks, "support_years": rnd.support_years,
               "closes_at": as_kst(rnd.closes_at), "opens_at": as_kst(rnd.opens_at)}
    wanted = {"settings": settings, "tracks": list(config.tracks), "support_years": support_years,
              "closes_at": as_kst(config.closes_at), "opens_at": as_kst(config.opens_at)}
    changed = sorted(k for k in wanted if wanted[k] != current[k])
    if changed and round_reached(RoundState(rnd.state), RoundState.OPEN):
        raise ConfigError(
            f"round {rnd.id} is {rnd.state}: its {', '.join(changed)} are frozen (R3) and "
            "differ from the configuration file"
        )
    if changed:  # still a draft: the configuration file is the truth
        rnd.settings, rnd.tracks, rnd.support_years = settings, list(config.tracks), support_years
        rnd.opens_at, rnd.closes_at, rnd.title = config.opens_at, config.closes_at, config.title
        session.add(rnd)
    return rnd


def open_round(session: Session, rnd: Round, *, now: datetime, actor: str) -> bool:
    """R2: draft → open (the call is published); `call.announcement` is owed to every opted-in
    registered company. False if it was already open or later."""
    if rnd.state != RoundState.DRAFT.value:
        return False
    move_round(session, rnd, RoundState.OPEN, at=now, actor=actor, rule="R2",
               reason="call published")
    broadcast_call(session, rnd)
    return True


def close_intake(session: Session, rnd: Round, *, now: datetime, actor: str) -> bool:
    """T2: open → closed once `now` has reached `closes_at`. False if not due or already closed."""
    if rnd.state == RoundState.DRAFT.value:
        raise StepError(f"round {rnd.id} is still a draft: open the call first")
    if rnd.state != RoundState.OPEN.value or now < rnd.closes_at:
        return False
    move_round(session, rnd, RoundState.CLOSED, at=now, actor=actor, rule="T2",
               reason="deadline reached")
    return True


def get_round(session: Session, round_id: str) -> Round:
    """The round with this id, or a user error naming it."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise StepError(f"no round {round_id!r} in the database; run `sangsaeng round run` first")
    return rnd
