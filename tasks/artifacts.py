"""Per-round artifacts in the Prefect UI: status dashboard, selection table, announcement.

Keyed per round (`round-<id>-status`, …) so the UI keeps every version as the round's history.
One task publishes all three (a task run costs ~60 ms of server work: FIELD_NOTES).
"""

from __future__ import annotations

import re
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.domain.clock import format_kst, parse_instant
from sangsaeng.domain.states import RoundState, round_reached
from sangsaeng.mail.office import status as notice_status
from sangsaeng.models import APPLICATIONS, Round
from sangsaeng.reports import DECISION_COLUMNS, announcement, decision_rows
from sangsaeng.services.rounds import cancellation, get_round
from sangsaeng.settings import get_settings

SELECTION_HEADERS = {"receipt_no": "접수번호 receipt", "track": "분야 track",
                     "status": "상태 status", "score": "점수 score", "rank": "순위 rank",
                     "reasons": "사유 reasons"}


def artifact_key(round_id: str, what: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"round-{round_id}-{what}".lower())


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def dashboard_markdown(session: Session, rnd: Round) -> str:
    """The round at a glance: state, deadlines in KST, applications and notices by state."""
    a = APPLICATIONS.c
    counts: dict[tuple[str, str], int] = {
        (t, s): int(n) for t, s, n in session.execute(
            select(a.track, a.state, func.count()).where(a.round_id == rnd.id)
            .group_by(a.track, a.state)).all()}
    states = sorted({s for _, s in counts})
    app_rows = [[t, *(str(counts.get((t, s), 0)) for s in states),
                 str(sum(counts.get((t, s), 0) for s in states))] for t in rnd.tracks]
    notices = notice_status(session, rnd.id).counts
    supplement = rnd.settings.get("supplement_deadline")
    cancelled = cancellation(session, rnd)
    lines = [
        f"# {rnd.id} · {rnd.title}", "",
        f"**상태 state:** `{rnd.state}`", "",
        *([f"**공고 취소 cancelled:** {format_kst(cancelled.at)} KST, {cancelled.actor} — "
           f"{cancelled.reason}", "",
           "이 회차의 단계는 더 이상 실행되지 않습니다. / No step of this round runs any more.",
           ""] if cancelled is not None else []),
        "## 일정 deadlines (KST)", "",
        *_table(["구분 what", "시각 when (KST)"], [
            ["접수 시작 opens", format_kst(rnd.opens_at)],
            ["접수 마감 closes (T2)", format_kst(rnd.closes_at)],
            ["보완 마감 supplement deadline (S1)",
             format_kst(parse_instant(supplement)) if supplement else "-"]]),
        "", "## 신청 과제 applications (track × state)", "",
        *(_table(["분야 track", *states, "계 total"], app_rows) if states else ["(none yet)"]),
        "", "## 안내 메일 notices (kind × state)", "",
        *(_table(["종류 kind", "상태 state", "건수 count"],
                 [[k, s, str(n)] for (k, s), n in sorted(notices.items())])
          if notices else ["(none yet)"]),
        "", "## 내보내기 exports", "",
        f"`sangsaeng export decisions --round {rnd.id}` · "
        f"`sangsaeng export selection --round {rnd.id} --format xlsx --out selection.xlsx` · "
        f"`sangsaeng report announcement --round {rnd.id}` · "
        f"`sangsaeng notices status --round {rnd.id}`",
    ]
    return "\n".join(lines) + "\n"


def selection_table(session: Session, rnd: Round) -> list[dict[str, Any]]:
    """Every application's (proposed) outcome: receipt, track, status, score, rank, reasons."""
    return [{SELECTION_HEADERS[c]: v for c, v in zip(DECISION_COLUMNS, row, strict=True)}
            for row in decision_rows(session, rnd)]


@task(cache_policy=NO_CACHE, persist_result=False)
def publish_round(round_id: str) -> list[str]:
    """Publish the round's dashboard, selection table and announcement; returns their keys."""
    program = load_program(get_settings().config_dir).program
    with session_scope() as session:
        rnd = get_round(session, round_id)
        state = RoundState(rnd.state)
        dashboard = dashboard_markdown(session, rnd)
        table = (selection_table(session, rnd) if round_reached(state, RoundState.REVIEW)
                 else None)
        text = (announcement(session, rnd, program.name, program.ministry)
                if round_reached(state, RoundState.DECIDED) else None)
    keys = [artifact_key(round_id, "status")]
    label = "취소됨 / cancelled" if state is RoundState.CANCELLED else state.value
    create_markdown_artifact(markdown=dashboard, key=keys[0],
                             description=f"{round_id} 현황 / status ({label})")
    if table is not None:
        keys.append(artifact_key(round_id, "selection"))
        note = "위원회 제안 (승인 전) / proposed, not approved" if state is RoundState.REVIEW \
            else "승인됨 / approved"
        create_table_artifact(table=table, key=keys[-1],
                              description=f"{round_id} 선정안 / selection — {note}")
    if text is not None:
        keys.append(artifact_key(round_id, "announcement"))
        create_markdown_artifact(markdown=text, key=keys[-1],
                                 description=f"{round_id} 보도자료 / announcement")
    return keys
