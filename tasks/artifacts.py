"""Publish a round's artifacts in the Prefect UI (composed by `sangsaeng.dashboard`).

One task publishes them all: a task run costs ~60 ms of server work (FIELD_NOTES).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from sangsaeng.certificate_register import certified_rounds
from sangsaeng.dashboard import (
    ChairProposal,
    WaitingInput,
    artifact_key,
    chair_brief,
    office_digest_markdown,
    round_artifacts,
)
from sangsaeng.db import session_scope
from sangsaeng.domain.clock import kst_date
from sangsaeng.domain.states import RoundState
from sangsaeng.exports import export_round
from sangsaeng.services.rounds import get_round
from sangsaeng.services.statistics import statistics_artifact
from sangsaeng.settings import get_settings


@task(cache_policy=NO_CACHE, persist_result=False)
def publish_round(round_id: str) -> list[str]:
    """Write the round's export files, publish its dashboard, selection table, announcement
    and (when the files changed) the exports' links; returns the artifacts' keys."""
    with session_scope() as session:
        rnd = get_round(session, round_id)
        written, problem = export_round(session, rnd)
        art = round_artifacts(session, rnd, written, problem)
    if art.problem is not None:
        get_run_logger().warning("%s 내보내기 파일을 쓰지 못했습니다: %s", round_id, art.problem)
    keys = [artifact_key(round_id, "status")]
    create_markdown_artifact(markdown=art.dashboard, key=keys[0],
                             description=f"{round_id} 현황 / status ({art.label})")
    if art.selection is not None:
        keys.append(artifact_key(round_id, "selection"))
        note = ("위원회 제안 (승인 전) / proposed, not approved"
                if art.state is RoundState.REVIEW else "승인됨 / approved")
        create_table_artifact(table=art.selection, key=keys[-1],
                              description=f"{round_id} 선정안 / selection — {note}")
    if art.announcement is not None:
        keys.append(artifact_key(round_id, "announcement"))
        create_markdown_artifact(markdown=art.announcement, key=keys[-1],
                                 description=f"{round_id} 보도자료 / announcement")
    if art.exports is not None:
        keys.append(artifact_key(round_id, "exports"))
        create_markdown_artifact(markdown=art.exports, key=keys[-1],
                                 description=f"{round_id} 내보내기 / exports "
                                             f"({art.exports_changed})")
    return keys


@task(cache_policy=NO_CACHE, persist_result=False)
def proposed_selection_brief(round_id: str) -> ChairProposal:
    """The proposed selection for the chair's form (V10): the brief and the receipts offered."""
    with session_scope() as session:
        return chair_brief(session, get_round(session, round_id))


@task(cache_policy=NO_CACHE, persist_result=False)
def publish_office_digest(waiting: list[WaitingInput] | None = None) -> list[str]:
    """Refresh every round holding certificates (their status changes with the clock) and
    publish the `office-digest` artifact, with the runs `waiting` for an input; returns those
    rounds' ids."""
    with session_scope() as session:
        round_ids = certified_rounds(session)
        digest = office_digest_markdown(session, kst_date(datetime.now(UTC)), waiting or [])
    for round_id in round_ids:
        publish_round.fn(round_id)
    create_markdown_artifact(markdown=digest, key="office-digest",
                             description="사무국 현황 / office digest")
    return round_ids


@task(cache_policy=NO_CACHE, persist_result=False)
def publish_statistics() -> str:
    """M5: write the statistics chart (PNG) and table under `<var>/exports/statistics/` and
    publish the `program-statistics` artifact (chart over table); returns the chart's path."""
    settings = get_settings()
    with session_scope() as session:
        art = statistics_artifact(session, settings.exports_dir, settings.exports_base_url,
                                  kst_date(datetime.now(UTC)))
    create_markdown_artifact(markdown=art.markdown, key="program-statistics",
                             description="사업 통계 / program statistics (M5)")
    return str(art.chart)
