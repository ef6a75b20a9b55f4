"""Round lifecycle: register from config (dates may move while open), open the call, close
intake, cancel the call (R1–R3, T2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from sangsaeng import crashpoints
from sangsaeng.config import ProgramConfig, RoundConfig, effective_review
from sangsaeng.domain.clock import as_kst, format_kst, parse_instant
from sangsaeng.domain.screening import supplement_deadline
from sangsaeng.domain.states import (
    CANCELLABLE_ROUND_STATES,
    ROUND_ORDER,
    RoundState,
    round_reached,
)
from sangsaeng.errors import ConfigError, StepError
from sangsaeng.journal import Audit, Entry, move_round, record
from sangsaeng.mail import outbox
from sangsaeng.models import AUDIT, ROUNDS, AuditEvent, Round, utcnow
from sangsaeng.services.companies import broadcast_call


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


DATES = ("opens_at", "closes_at")


def register_round(
    session: Session, program: ProgramConfig, config: RoundConfig, *, now: datetime, actor: str
) -> Round:
    """Create the round in `draft`, or check that an existing one still matches its config (R3).

    An open round whose deadline has not passed takes new dates from its file (the office
    extends or shortens the call: audited, the S1 supplement deadline follows); R3 keeps every
    other setting frozen. A cancelled round stays cancelled.
    """
    support_years = config.support_years or program.program.support_years
    settings = frozen_settings(program, config)
    rnd = session.get(Round, config.id)
    if rnd is None:
        return _create(session, config, settings, support_years, now=now, actor=actor)
    require_active(session, rnd)  # a cancelled round is not revived by its file
    current = {"settings": _without_dates(rnd.settings), "tracks": rnd.tracks,
               "support_years": rnd.support_years,
               "closes_at": as_kst(rnd.closes_at), "opens_at": as_kst(rnd.opens_at)}
    wanted = {"settings": _without_dates(settings), "tracks": list(config.tracks),
              "support_years": support_years,
              "closes_at": as_kst(config.closes_at), "opens_at": as_kst(config.opens_at)}
    changed = sorted(k for k in wanted if wanted[k] != current[k])
    if not changed and settings != rnd.settings:
        changed = ["settings"]  # the S1 deadline moved with the calendar (extra_holidays)
    if not round_reached(rnd.state, RoundState.OPEN):
        if changed:  # still a draft: the configuration file is the truth
            rnd.settings, rnd.tracks = settings, list(config.tracks)
            rnd.support_years, rnd.title = support_years, config.title
            rnd.opens_at, rnd.closes_at = config.opens_at, config.closes_at
            session.add(rnd)
        return rnd
    frozen = [k for k in changed if k not in DATES]
    if frozen:
        raise ConfigError(
            f"round {rnd.id} is {rnd.state}: its {', '.join(frozen)} are frozen (R3) and "
            "differ from the configuration file"
        )
    if changed:
        _reschedule(session, rnd, config, settings, changed, now=now, actor=actor)
    return rnd


def _create(session: Session, config: RoundConfig, settings: dict[str, Any], support_years: int,
            *, now: datetime, actor: str) -> Round:
    """R1: a new round in `draft`, its frozen settings in the audit row."""
    rnd = Round(id=config.id, title=config.title, opens_at=config.opens_at,
                closes_at=config.closes_at, tracks=list(config.tracks),
                support_years=support_years, settings=settings, state=RoundState.DRAFT)
    session.add(rnd)
    record(session, Audit(now, actor, config.id), [Entry(
        "round", config.id, "register", "R1", config.title, to_state=RoundState.DRAFT,
        data={"settings": settings})])
    session.flush()
    return rnd


def _without_dates(settings: dict[str, Any]) -> dict[str, Any]:
    """R3's frozen settings, without the S1 deadline that follows `closes_at`."""
    return {k: v for k, v in settings.items() if k != "supplement_deadline"}


def _reschedule(session: Session, rnd: Round, config: RoundConfig, settings: dict[str, Any],
                changed: list[str], *, now: datetime, actor: str) -> None:
    """T2: an open round's dates move while its deadline is ahead (R3 does not freeze dates).

    The new `closes_at` must be ahead too; the S1 supplement deadline is derived again.
    Audited with the old and the new dates (KST).
    """
    if rnd.state is not RoundState.OPEN or now >= rnd.closes_at:
        raise ConfigError(
            f"round {rnd.id} is {rnd.state}: its {', '.join(changed)} are frozen since its "
            f"deadline ({format_kst(rnd.closes_at)} KST) has passed (T2) and differ from the "
            "configuration file"
        )
    if config.closes_at <= now:
        raise ConfigError(
            f"round {rnd.id}: the new closes_at ({format_kst(config.closes_at)} KST) must be "
            f"later than now ({format_kst(now)} KST)"
        )
    old = {"opens_at": rnd.opens_at, "closes_at": rnd.closes_at,
           "supplement_deadline": parse_instant(rnd.settings["supplement_deadline"])}
    new = {"opens_at": config.opens_at, "closes_at": config.closes_at,
           "supplement_deadline": parse_instant(settings["supplement_deadline"])}
    moved = session.execute(
        update(ROUNDS).where(ROUNDS.c.id == rnd.id, ROUNDS.c.state == rnd.state,
                             ROUNDS.c.closes_at == rnd.closes_at)
        .values(opens_at=config.opens_at, closes_at=config.closes_at, settings=settings,
                updated_at=utcnow()))
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise StepError(f"round {rnd.id} changed while its dates were moved (another run at "
                        "the same time?); nothing was written — run open_call again")
    moves = [k for k in old if old[k] != new[k]]
    record(session, Audit(now, actor, rnd.id), [Entry(
        "round", rnd.id, "reschedule", "T2",
        "; ".join(f"{k} {format_kst(old[k])} → {format_kst(new[k])} KST" for k in moves),
        from_state=rnd.state, to_state=rnd.state,
        data={k: {"old": as_kst(old[k]).isoformat(), "new": as_kst(new[k]).isoformat()}
              for k in moves})])
    for key, value in (("opens_at", config.opens_at), ("closes_at", config.closes_at),
                       ("settings", settings)):
        set_committed_value(rnd, key, value)  # already written, conditionally


def open_round(session: Session, rnd: Round, *, now: datetime, actor: str) -> bool:
    """R2: draft → open (the call is published); `call.announcement` is owed to every opted-in
    registered company. False if it was already open or later."""
    if rnd.state is not RoundState.DRAFT:
        return False
    move_round(session, rnd, RoundState.OPEN, at=now, actor=actor, rule="R2",
               reason="call published")
    owed = broadcast_call(session, rnd)
    crashpoints.reach("open_call-after-call-published", f"round registered and opened, "
                      f"{owed} call notice(s) owed, not committed")
    return True


def close_intake(session: Session, rnd: Round, *, now: datetime, actor: str) -> bool:
    """T2: open → closed once `now` has reached `closes_at`. False if not due or already closed."""
    if rnd.state is RoundState.DRAFT:
        raise StepError(f"round {rnd.id} is still a draft: open the call first")
    if rnd.state is not RoundState.OPEN or now < rnd.closes_at:
        return False
    move_round(session, rnd, RoundState.CLOSED, at=now, actor=actor, rule="T2",
               reason="deadline reached")
    crashpoints.reach("close_intake-after-state-moved", "round closed, not committed")
    return True


def get_round(session: Session, round_id: str) -> Round:
    """The round with this id, or a user error naming it."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise StepError(f"no round {round_id!r} in the database; run `sangsaeng round run` first")
    return rnd


def get_active_round(session: Session, round_id: str) -> Round:
    """The round for a step to work on: it exists and was not cancelled."""
    return require_active(session, get_round(session, round_id))


def cancellation(session: Session, rnd: Round) -> AuditEvent | None:
    """The audit row of the round's cancellation (when, who, why), if it was cancelled."""
    if rnd.state is not RoundState.CANCELLED:
        return None
    return session.execute(
        select(AuditEvent).where(
            AUDIT.c.round_id == rnd.id, AUDIT.c.entity == "round",
            AUDIT.c.to_state == RoundState.CANCELLED.value)
        .order_by(AUDIT.c.id.desc()).limit(1)).scalars().first()


def require_active(session: Session, rnd: Round) -> Round:
    """Every step refuses a cancelled round, saying when and why it was cancelled."""
    event = cancellation(session, rnd)
    if rnd.state is RoundState.CANCELLED:
        when = format_kst(event.at) if event is not None else "an unknown date"
        why = event.reason if event is not None else "no reason recorded"
        raise StepError(f"round {rnd.id} was cancelled on {when} KST: {why}")
    return rnd


def cancel_round(session: Session, rnd: Round, *, reason: str, now: datetime, actor: str
                 ) -> bool:
    """The program office withdraws the call: any state before the release → cancelled.

    Audited with the reason under R2 (the life cycle it ends). Cancelling a whole call is not
    in PROGRAM_RULES' list; it is the office's withdrawal (공고 취소) and differs from K5, which
    cancels one selected project after the release. False if it was already cancelled.
    """
    reason = reason.strip()
    if not reason:
        raise StepError(f"round {rnd.id}: a cancellation needs a reason (it is audited)")
    if rnd.state is RoundState.CANCELLED:
        return False
    if rnd.state not in CANCELLABLE_ROUND_STATES:
        raise StepError(
            f"round {rnd.id} is {rnd.state}: its selection was released to the companies, so "
            "the round can no longer be cancelled; cancel selected projects one by one (K5)")
    move_round(session, rnd, RoundState.CANCELLED, at=now, actor=actor, rule="R2",
               reason=reason)
    withheld = outbox.withhold(session, rnd.id, why=f"not sent: round cancelled ({reason})"[:300],
                               now=now)
    if withheld:  # e.g. a call broadcast still waiting: it announces a call that is withdrawn
        record(session, Audit(now, actor, rnd.id), [Entry(
            "round", rnd.id, "withhold_notices", "R2",
            f"{withheld} notices not sent: the round was cancelled",
            data={"withheld": withheld})])
    return True


def rounds_in_progress(session: Session) -> list[str]:
    """Ids of the rounds between their call and their release (R2: open … decided), in order."""
    waiting = [s for s in ROUND_ORDER
               if s is not RoundState.DRAFT and not round_reached(s, RoundState.NOTIFIED)]
    return list(session.execute(select(ROUNDS.c.id).where(ROUNDS.c.state.in_(waiting))
                                .order_by(ROUNDS.c.id)).scalars())
