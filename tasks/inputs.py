"""Tasks behind the office's inputs in the UI: supplements received (§4.6/S1), score sheets (V2)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sangsaeng.db import session_scope
from sangsaeng.services import inputs, rounds
from tasks.steps import step_task


@step_task
def accept_supplements(round_id: str, items: list[dict[str, Any]], now: datetime, actor: str
                       ) -> dict[str, Any]:
    """§4.6/S1: record the supplement documents received; per item accepted/unchanged/refused."""
    with session_scope() as session:
        summary = inputs.accept_supplements(
            session, rounds.get_round(session, round_id),
            [inputs.Supplement(**item) for item in items], now=now, actor=actor)
        return asdict(summary)


@step_task
def upload_scores(round_id: str, path: str, text: str, now: datetime, actor: str
                  ) -> dict[str, Any]:
    """V2: store a score sheet (a file on the server, or pasted CSV text); rows rejected listed."""
    with session_scope() as session:
        result = inputs.upload_scores(
            session, rounds.get_round(session, round_id), path=Path(path) if path else None,
            text=text or None, now=now, actor=actor)
        out = asdict(result)
        out["errors"] = [{"row": e.row, "column": e.column, "value": e.value,
                          "message": e.message, "text": str(e)} for e in result.errors]
        return out
