"""The program office's inputs in the Prefect UI (ARCHITECTURE: human steps): supplement
documents received (§4.6, S1) and the committee's score sheets (V2). Each is a deployment with
a typed run form, so the office never needs a terminal; each is safe to give twice.

A refused item or rejected row fails the run with the list (the good ones are kept) and is
shown in a table artifact: `round-<id>-supplements`, `round-<id>-score-upload`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from flows import schedules
from flows.models import InputOutcome, SupplementInput
from sangsaeng.domain.clock import format_kst
from sangsaeng.errors import InputRefused, StepError
from tasks import inputs
from tasks.artifacts import artifact_key


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


async def _table(round_id: str, what: str, rows: list[dict[str, Any]], description: str
                 ) -> None:
    """One table artifact per round and input; the UI keeps every version."""
    await acreate_table_artifact(table=rows or [{"-": "(none)"}], key=artifact_key(round_id, what),
                          description=description)


def _refuse(what: str, refused: list[str], recorded: int) -> None:
    """The run fails with every refused item listed (what the office sees in the UI)."""
    logger = get_run_logger()
    for line in refused:
        logger.error("refused: %s", line)
    raise InputRefused(what, refused, recorded)


@flow(name="accept_supplements", persist_result=False)
async def accept_supplements(round_id: str, items: list[SupplementInput], actor: str,
                             now: datetime | None = None) -> InputOutcome:
    """§4.6/S1: record supplement documents received for applications waiting for them.

    Screening is not re-run here: until the supplement deadline the outcome cannot change, and
    the deadline's `screening` run counts every document received before it (S1).

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        items: 접수한 보완서류 (접수번호·서류·접수 일시) / supplement documents received
        actor: 입력하는 담당자 (감사 기록) / who records them (audit trail)
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
    """
    clock = _now(now)
    result = inputs.accept_supplements(round_id, [
        {**item.model_dump(mode="python", exclude={"received_at"}),
         "doc_type": item.doc_type.value, "received_at": item.received_at or clock}
        for item in items], clock, actor)
    deadline: datetime = result["supplement_deadline"]
    rows = [{"결과 outcome": kind, "항목 item": line}
            for kind in ("accepted", "unchanged", "refused") for line in result[kind]]
    await _table(round_id, "supplements", rows, (
        f"{round_id} 보완서류 접수 / supplements: {len(result['accepted'])} accepted, "
        f"{len(result['unchanged'])} unchanged, {len(result['refused'])} refused"))
    if result["refused"]:
        _refuse("supplement item(s)", result["refused"], len(result["accepted"]))
    return InputOutcome(
        round_id=round_id, detail=f"accepted {len(result['accepted'])}, "
        f"unchanged {len(result['unchanged'])}",
        waiting_for=f"the supplement deadline {format_kst(deadline)}: screening re-checks (S1)",
        data={k: result[k] for k in ("accepted", "unchanged", "still_missing")})


@flow(name="upload_scores", persist_result=False)
async def upload_scores(round_id: str, actor: str, path: str = "", csv_text: str = "",
                        chain: bool = False, now: datetime | None = None) -> InputOutcome:
    """V2: store the committee's score sheets (a file on the server or pasted CSV text).

    Checked as the package's scores.csv; good rows are kept, every rejected row is listed
    (row, column, value) and fails the run. With `chain`, in a served run, the committee review
    starts once the sheets are stored without rejections and screening is final.

    Args:
        round_id: 회차 번호 (예: 2022-2) / round id, e.g. 2022-2
        actor: 입력하는 담당자 (감사 기록) / who uploads (audit trail)
        path: 서버의 평가표 파일 (.csv, scores 시트가 있는 .xlsx, 접수 자료 폴더) / a score
            sheet on the server: .csv, .xlsx with a 'scores' sheet, or a package folder
        csv_text: 또는 평가표 CSV 붙여넣기, 첫 줄은 머리글
            receipt_no,reviewer_id,growth,plan,cooperation / or the sheet pasted as CSV text
            (or cells copied from Excel), header line first
        chain: 저장 후 평가(committee_review) 자동 시작 / start the committee review once stored
        now: 기준 시각 고정 (과거 회차 재현용, 비우면 현재) / fix the clock (replays); empty = now
    """
    if bool(path.strip()) == bool(csv_text.strip()):
        raise StepError("give the score sheet either as a file path or as pasted CSV text, "
                        "one of the two")
    result = inputs.upload_scores(round_id, path.strip(), csv_text, _now(now), actor)
    errors = result["errors"]
    await _table(round_id, "score-upload", [
        {"행 row": e["row"], "열 column": e["column"], "값 value": e["value"],
         "사유 message": e["message"]} for e in errors],
        f"{round_id} 평가표 / score sheet {result['source']}: {result['added']} added, "
        f"{result['corrected']} corrected, {result['unchanged']} unchanged, "
        f"{len(errors)} rejected")
    if errors:
        _refuse("score row(s)", [e["text"] for e in errors],
                result["added"] + result["corrected"])
    outcome = InputOutcome(
        round_id=round_id, detail=f"added {result['added']}, corrected {result['corrected']}, "
        f"unchanged {result['unchanged']}", data={k: result[k] for k in (
            "source", "added", "corrected", "unchanged", "screening_final")})
    if not result["screening_final"]:
        outcome.waiting_for = "screening (supplements), then the committee review"
    elif chain and schedules.is_served():
        # once per stored set of sheets: the same sheets again find the same review run
        outcome.data["review_run"] = await schedules.start_step(
            round_id, "committee_review", once_per=f"scores-{result['sheets_digest']}")
    else:
        outcome.waiting_for = "the committee review (run committee_review)"
    return outcome
