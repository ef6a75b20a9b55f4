"""The program office's inputs in the Prefect UI (ARCHITECTURE: human steps): supplement
documents received (§4.6, S1) and the committee's score sheets (V2). Each is a deployment with
a typed run form, so the office never needs a terminal; each is safe to give twice.

A refused item or rejected row fails the run with the list (the good ones are kept) and is
shown in a table artifact: `round-<id>-supplements`, `round-<id>-score-upload`.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from prefect.artifacts import acreate_table_artifact
from pydantic import Field

from flows import registry, round_runs
from flows.models import (
    Now,
    RoundId,
    ScoresOutcome,
    SupplementInput,
    SupplementsOutcome,
    described,
    run_clock,
)
from flows.owed import RunMode, run_mode, when_served
from flows.refusals import ends_refused
from flows.run_names import named_run
from sangsaeng.dashboard import artifact_key
from sangsaeng.domain.clock import format_kst
from sangsaeng.errors import InputRefused, StepError
from sangsaeng.services.inputs import ScoreUpload, Supplement
from tasks import inputs


async def _table(round_id: str, what: str, rows: list[dict[str, Any]], description: str
                 ) -> None:
    """One table artifact per round and input; the UI keeps every version."""
    await acreate_table_artifact(table=rows or [{"-": "(none)"}], key=artifact_key(round_id, what),
                          description=description)


def _refuse(what: str, refused: list[str], recorded: int) -> None:
    """The run ends "일부 거부" with every refused item listed (flows/refusals.py)."""
    raise InputRefused(what, refused, recorded)


@flow(name="accept_supplements", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def accept_supplements(
    round_id: RoundId,
    items: Annotated[list[SupplementInput], Field(description=(
        "접수한 보완서류 (접수번호·서류·접수 일시) / supplement documents received"))],
    actor: Annotated[str, Field(description="입력하는 담당자 (감사 기록) / who records them")],
    now: Now = None,
) -> SupplementsOutcome:
    """§4.6/S1: record supplement documents received for applications waiting for them.

    Screening is not re-run here: until the supplement deadline the outcome cannot change, and
    the deadline's `screening` run counts every document received before it (S1).
    """
    clock = run_clock(now)
    result = inputs.accept_supplements(round_id, [Supplement(
        receipt_no=item.receipt_no, doc_type=item.doc_type.value,
        received_at=item.received_at or clock, brn=item.brn, note=item.note)
        for item in items], clock, actor)
    refused = [str(error) for error in result.refused]
    rows = [{"결과 outcome": kind, "항목 item": line} for kind, lines in (
        ("accepted", result.recorded), ("unchanged", result.unchanged),
        ("refused", refused)) for line in lines]
    await _table(round_id, "supplements", rows, (
        f"{round_id} 보완서류 접수 / supplements: {len(result.recorded)} accepted, "
        f"{len(result.unchanged)} unchanged, {len(refused)} refused"))
    if refused:
        _refuse("보완서류 항목", refused, len(result.recorded))
    return SupplementsOutcome(
        round_id=round_id, detail=f"accepted {len(result.recorded)}, "
        f"unchanged {len(result.unchanged)}",
        waiting_for=f"the supplement deadline {format_kst(result.supplement_deadline)}: "
                    "screening re-checks (S1)",
        accepted=result.recorded, unchanged=result.unchanged,
        still_missing=result.still_missing)


@flow(name="upload_scores", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def upload_scores(
    round_id: RoundId,
    actor: Annotated[str, Field(description="입력하는 담당자 (감사 기록) / who uploads")],
    path: Annotated[str, Field(description=(
        "서버의 평가표 파일 (.csv, scores 시트가 있는 .xlsx, 접수 자료 폴더) / a score sheet "
        "on the server: .csv, .xlsx with a 'scores' sheet, or a package folder"))] = "",
    csv_text: Annotated[str, Field(description=(
        "또는 평가표 CSV 붙여넣기, 첫 줄은 머리글 receipt_no,reviewer_id,growth,plan,"
        "cooperation / or the sheet pasted as CSV text (or cells copied from Excel), header "
        "line first"))] = "",
    chain: Annotated[bool, Field(description=(
        "저장 후 평가(committee_review) 자동 시작 / start the committee review once "
        "stored"))] = False,
    now: Now = None,
) -> ScoresOutcome:
    """V2: store the committee's score sheets (a file on the server or pasted CSV text).

    Checked as the package's scores.csv; good rows are kept, every rejected row is listed
    (row, column, value) and fails the run. With `chain`, in a served run, the committee review
    starts once the sheets are stored without rejections and screening is final.
    """
    mode = run_mode()
    if bool(path.strip()) == bool(csv_text.strip()):
        raise StepError("give the score sheet either as a file path or as pasted CSV text, "
                        "one of the two")
    result = inputs.upload_scores(round_id, path.strip(), csv_text, run_clock(now), actor)
    await _table(round_id, "score-upload", [
        {"행 row": e.row, "열 column": e.column, "값 value": e.value, "사유 message": e.message}
        for e in result.errors],
        f"{round_id} 평가표 / score sheet {result.source}: {result.added} added, "
        f"{result.corrected} corrected, {result.unchanged} unchanged, "
        f"{len(result.errors)} rejected")
    if result.errors:
        _refuse("평가표 행", [str(e) for e in result.errors],
                result.added + result.corrected)
    return await _after_upload(round_id, result, chain, mode)


async def _after_upload(round_id: str, result: ScoreUpload, chain: bool, mode: RunMode
                        ) -> ScoresOutcome:
    """What the stored sheets lead to: the review (chained when served) or what it waits for."""
    outcome = ScoresOutcome(
        round_id=round_id, detail=f"added {result.added}, corrected {result.corrected}, "
        f"unchanged {result.unchanged}", source=result.source, added=result.added,
        corrected=result.corrected, unchanged=result.unchanged,
        screening_final=result.screening_final)
    if not result.screening_final:
        outcome.waiting_for = "screening (supplements), then the committee review"
    elif chain:
        # once per stored set of sheets: the same sheets again find the same review run
        outcome.review_run = await when_served(mode, lambda: round_runs.start_step(
            round_id, registry.COMMITTEE_REVIEW.name, once_per=f"scores-{result.sheets_digest}"),
            None)
    if result.screening_final and outcome.review_run is None:
        outcome.waiting_for = "the committee review (run committee_review)"
    return outcome
