"""Tasks behind the office's inputs in the UI: supplements received (§4.6/S1), score sheets (V2).

Their results are the services' own typed summaries: as large as what the office gave, no more.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sangsaeng.db import session_scope
from sangsaeng.services import inputs, rounds
from tasks.steps import step_task


@step_task
def accept_supplements(round_id: str, items: list[inputs.Supplement], now: datetime, actor: str
                       ) -> inputs.Supplemented:
    """§4.6/S1: record the supplement documents received; per item accepted/unchanged/refused."""
    with session_scope() as session:
        return inputs.accept_supplements(session, rounds.get_round(session, round_id), items,
                                         now=now, actor=actor)


@step_task
def upload_scores(round_id: str, path: str, text: str, now: datetime, actor: str
                  ) -> inputs.ScoreUpload:
    """V2: store a score sheet (a file on the server, or pasted CSV text); rows rejected listed."""
    with session_scope() as session:
        return inputs.upload_scores(
            session, rounds.get_round(session, round_id), path=Path(path) if path else None,
            text=text or None, now=now, actor=actor)
