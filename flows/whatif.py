"""`what_if` (선정 시뮬레이션, issue 26 item 1): the office's form over a decided round — the
round from the list, the review settings with today's values filled in (config/program.toml),
a quota per track — and the summary, its chart and the moved projects as artifacts. Nothing of
the round changes; an invalid setting stops the run with one line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows.models import CHOICE, RoundId, WhatIfOutcome, described
from flows.run_names import named_run
from sangsaeng.services.whatif import Scenario
from tasks.whatif import simulate

Setting = Annotated[float | None, Field(json_schema_extra={CHOICE: "review-setting"})]
WholeSetting = Annotated[int | None, Field(json_schema_extra={CHOICE: "review-setting"})]


@flow(name="what_if", flow_run_name=named_run, persist_result=False)
@described
async def what_if(
    round_id: RoundId,
    cutoff: Annotated[Setting, Field(description=(
        "기준 점수 (0–100; 처음 값은 지금의 사업 설정) / the cut-off score"))] = None,
    item_floor_ratio: Annotated[Setting, Field(description=(
        "항목 최저 비율 (0–1, 항목 배점 대비) / the item floor as a share of its maximum"))] = None,
    trim_at: Annotated[WholeSetting, Field(description=(
        "절사 기준: 유효 평가가 이 수 이상이면 최고·최저 점수를 뺍니다 / trim from this many "
        "valid sheets"))] = None,
    min_reviews: Annotated[WholeSetting, Field(description=(
        "최소 유효 평가 수 / valid reviews an application needs"))] = None,
    quota: Annotated[dict[str, int | None] | None, Field(description=(
        "분야별 선정 규모 (비우면 회차의 값) / selections per track (empty = the round's)"),
        json_schema_extra={CHOICE: "quota"})] = None,
) -> WhatIfOutcome:
    """Recompute a decided round's review and selection with these settings; nothing of the
    round changes (INTERFACES §6 `whatif`)."""
    scenario = Scenario(
        cutoff=None if cutoff is None else Decimal(str(cutoff)),
        item_floor_ratio=None if item_floor_ratio is None else Decimal(str(item_floor_ratio)),
        trim_at=trim_at, min_reviews=min_reviews,
        quota={k: v for k, v in (quota or {}).items() if v is not None})
    done = simulate(round_id, scenario)
    get_run_logger().info("%s 선정 시뮬레이션 (%s): 바뀌는 과제 %d건 — %s", round_id,
                          done.changes, done.moved, " · ".join(
                              f"{track} {before}→{after}"
                              for track, (before, after) in done.selected.items()))
    return WhatIfOutcome(round_id=round_id, detail=done.changes, moved=done.moved,
                         selected=done.selected)
