"""The what-if of a decided round as the office reads it in the UI (issue 26 item 1): the summary
per track with a chart, and the projects that would move, as artifacts of the `what_if` run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from sangsaeng.dashboard import artifact_key
from sangsaeng.db import session_scope
from sangsaeng.documents.chart import grouped_bars_png, korean_font
from sangsaeng.exports import write_bytes_atomically
from sangsaeng.services import whatif
from sangsaeng.services.rounds import get_round
from sangsaeng.settings import get_settings

CHART_DIR = "whatif"  # under <var>/exports/, served by `sangsaeng serve`


@dataclass(frozen=True, slots=True)
class WhatIfDone:
    """What the run found: how many applications move, selected per track before and after."""

    moved: int
    selected: dict[str, tuple[int, int]]  # by the track's Korean name
    changes: str  # the scenario's changes, in Korean


@task(cache_policy=NO_CACHE, persist_result=False)
def simulate(round_id: str, scenario: whatif.Scenario) -> WhatIfDone:
    """Recompute the round under `scenario` (nothing of it changes) and publish the summary
    with its chart (`round-<id>-whatif`) and the moved projects (`round-<id>-whatif-moved`)."""
    settings = get_settings()
    with session_scope() as session:
        rnd = get_round(session, round_id)
        [result] = whatif.run(session, rnd, [scenario])
        names = rnd.track_names()
        moved = whatif.korean_rows(rnd, [r for r in result.rows if r.changed])
        summary = f"# {round_id} 선정 시뮬레이션\n\n{whatif.summary_markdown(rnd, result)}"
    chart = f"{round_id}-{uuid.uuid4().hex[:12]}.png"
    (settings.exports_dir / CHART_DIR).mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(settings.exports_dir / CHART_DIR / chart, grouped_bars_png(
        [names.get(t.track, t.track) for t in result.totals],
        {"현행 선정": [t.selected_before for t in result.totals],
         "변경안 선정": [t.selected_after for t in result.totals]},
        f"{round_id} 선정 시뮬레이션: {whatif.describe(scenario, names)}", korean_font()))
    link = f"{settings.exports_base_url}/{CHART_DIR}/{quote(chart)}"
    create_markdown_artifact(
        key=artifact_key(round_id, "whatif"),
        markdown=f"{summary}\n![분야별 선정 (현행 / 변경안)]({link})\n\n바뀐 과제 "
                 f"{len(moved)}건: 표 `{artifact_key(round_id, 'whatif-moved')}`\n",
        description=f"{round_id} 선정 시뮬레이션 — {whatif.describe(scenario, names)}")
    create_table_artifact(
        key=artifact_key(round_id, "whatif-moved"),
        table=[dict(zip(whatif.COLUMNS_KO, row, strict=True)) for row in moved]
        or [{"결과": "바뀌는 과제가 없습니다"}],
        description=f"{round_id} 선정 시뮬레이션에서 바뀌는 과제 {len(moved)}건")
    return WhatIfDone(len(moved), {names.get(t.track, t.track): (t.selected_before,
                                                                 t.selected_after)
                                   for t in result.totals}, whatif.describe(scenario, names))
