"""A round's deadlines as stored (T2, S1), for the runs that wait for them."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from sangsaeng.db import session_scope
from sangsaeng.services.facts import supplement_deadline_of
from sangsaeng.services.rounds import get_round


@task(cache_policy=NO_CACHE, persist_result=False)
def round_deadlines(round_id: str) -> dict[str, Any]:
    """The round's state and its deadlines (T2 closes_at, S1 supplement deadline)."""
    with session_scope() as session:
        rnd = get_round(session, round_id)
        return {"state": rnd.state, "closes_at": rnd.closes_at,
                "supplement_deadline": supplement_deadline_of(rnd)}
