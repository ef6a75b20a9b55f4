"""Tasks of rounds: a round's deadline (T2), which rounds are in progress, and a new
round's configuration file (R1)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.db import session_scope
from sangsaeng.services import round_files
from sangsaeng.services.rounds import get_round, rounds_in_progress
from sangsaeng.settings import get_settings

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


@task(cache_policy=NO_CACHE, persist_result=False)
def create_round_file(new: round_files.NewRound, now: datetime, actor: str) -> Path:
    """R1: write and validate config/rounds/<id>.toml (audited); nothing stays on a refusal."""
    created: Path | None = None
    try:
        with session_scope() as session:
            created = round_files.create_round_file(
                session, get_settings().config_dir, new, now=now, actor=actor)
    except BaseException:
        if created is not None:  # the audit row did not commit: the file goes too
            created.unlink(missing_ok=True)
        raise
    return created
