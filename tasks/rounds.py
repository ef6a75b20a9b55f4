"""Tasks that read rounds: a round's deadline (T2), and which rounds are in progress."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.db import session_scope
from sangsaeng.services.rounds import get_round, rounds_in_progress

read_task = task(cache_policy=NO_CACHE, persist_result=False)


@read_task
def round_closes_at(round_id: str) -> datetime:
    """T2: when the round's intake closes (a deadline run started early waits for it)."""
    with session_scope() as session:
        return get_round(session, round_id).closes_at


@read_task
def active_rounds() -> list[str]:
    """Ids of the rounds that are open or not yet notified (R2), and not cancelled."""
    with session_scope() as session:
        return rounds_in_progress(session)
