"""The round's tasks. One task per step over all rows (batched), never one per application."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.config import load_program, load_round
from sangsaeng.db import session_scope
from sangsaeng.domain.ranking import ChairAction, ChairDecision
from sangsaeng.mail.delivery import deliver
from sangsaeng.mail.sender import DeliveryReport
from sangsaeng.services import intake, review, rounds, screening, selection
from sangsaeng.settings import get_settings

# Business steps change the database: never cache them; a re-run is made safe by state checks.
step_task = task(cache_policy=NO_CACHE, persist_result=False)


@step_task
def register_round(config_path: str, now: datetime, actor: str) -> str:
    """R1/R3: register the round from its configuration file; returns the round id."""
    program = load_program(get_settings().config_dir)
    config = load_round(Path(config_path), program)
    with session_scope() as session:
        rnd = rounds.register_round(session, program, config, now=now, actor=actor)
        return rnd.id


@step_task
def open_round(round_id: str, now: datetime, actor: str) -> bool:
    """R2: publish the call (draft → open)."""
    with session_scope() as session:
        return rounds.open_round(session, rounds.get_active_round(session, round_id), now=now,
                                 actor=actor)


@step_task
def import_package(round_id: str, data_path: str, now: datetime, actor: str) -> dict[str, Any]:
    """INTERFACES §2: read the package and store what is new; rejected rows are listed."""
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        package = intake.read_round_package(session, rnd, Path(data_path))
        summary = intake.import_package(session, rnd, package, now=now, actor=actor)
        return {"added": summary.added, "corrected": summary.corrected,
                "unchanged": summary.unchanged,
                "errors": [str(e) for e in summary.errors], "encodings": package.encodings}


@step_task
def close_intake(round_id: str, now: datetime, actor: str) -> bool:
    """T2: close intake once the deadline has passed."""
    with session_scope() as session:
        return rounds.close_intake(session, rounds.get_active_round(session, round_id), now=now,
                                   actor=actor)


@step_task
def screen(round_id: str, now: datetime, actor: str) -> dict[str, Any]:
    """§4: screen all pending applications in one pass."""
    with session_scope() as session:
        result = screening.screen(session, rounds.get_active_round(session, round_id), now=now,
                                  actor=actor)
        return {"moved": result.moved, "waiting": result.waiting,
                "supplement_deadline": result.supplement_deadline}


@step_task
def propose(round_id: str, now: datetime, actor: str) -> dict[str, Any]:
    """§5: aggregate, rank and record the committee's pending decision."""
    with session_scope() as session:
        result = review.propose_decisions(session, rounds.get_active_round(session, round_id),
                                          now=now, actor=actor)
        return {"proposed": result.proposed, "excluded": result.excluded}


@step_task
def approve(round_id: str, decision: dict[str, Any], now: datetime, actor: str) -> dict[str, str]:
    """V10: record the chair's decision: the approval (review → decided), or a refusal that
    changes nothing but the audit trail (returns no statuses)."""
    if not decision["approve"]:
        with session_scope() as session:
            review.refuse(session, rounds.get_active_round(session, round_id),
                          reason=str(decision.get("reason", "")), now=now, actor=actor)
        return {}
    chair = ChairDecision(
        approve=bool(decision["approve"]),
        exclude=tuple(ChairAction(a["receipt_no"], a["reason"]) for a in decision["exclude"]),
        include=tuple(ChairAction(a["receipt_no"], a["reason"]) for a in decision["include"]),
    )
    with session_scope() as session:
        return review.approve(session, rounds.get_active_round(session, round_id), chair, now=now,
                              actor=actor)


@step_task
def release(round_id: str, now: datetime, actor: str) -> dict[str, int]:
    """V10: release the approved decisions and owe the selection notices."""
    with session_scope() as session:
        return selection.release(session, rounds.get_active_round(session, round_id), now=now,
                                 actor=actor)


@step_task
def cancel_round(round_id: str, reason: str, now: datetime, actor: str) -> dict[str, Any]:
    """The office withdraws the call (before the release); returns the round's cancellation."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        cancelled = rounds.cancel_round(session, rnd, reason=reason, now=now, actor=actor)
        event = rounds.cancellation(session, rnd)
        assert event is not None  # cancelled now or before
        return {"cancelled": cancelled, "at": event.at, "reason": event.reason,
                "actor": event.actor}


@step_task
def round_state(round_id: str) -> str:
    """The round's business state (from the database, never from Prefect's history)."""
    with session_scope() as session:
        return rounds.get_round(session, round_id).state


async def _deliver(round_id: str) -> DeliveryReport:
    return await deliver(round_id=round_id, password=await smtp_password())


async def smtp_password() -> str | None:
    """The SMTP password: the environment, else the Prefect Secret block named in the settings."""
    settings = get_settings()
    if settings.smtp_password is not None or not settings.smtp_password_block:
        return None  # the sender reads the environment itself
    from prefect.blocks.system import Secret

    secret: Any = await Secret.aload(settings.smtp_password_block)
    return str(secret.get())


@step_task
def deliver_notices(round_id: str) -> dict[str, Any]:
    """Send the round's due notices; if the server is away they wait in the outbox (not lost)."""
    with ThreadPoolExecutor(1) as pool:  # its own event loop, whoever calls this task
        report = pool.submit(asyncio.run, _deliver(round_id)).result()
    return {"sent": report.sent, "retry_later": report.retry_later, "failed": report.failed,
            "released": report.released, "stopped": report.stopped}
