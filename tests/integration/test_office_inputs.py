"""The office's inputs in the Prefect UI: supplement documents received (§4.6, S1) and score
sheets uploaded alone (V2), run as flows with typed parameters on the 2022-2 replay.

The package here lacks two supplement documents (028's SME certificate, received 06-02, and
024's agreement, received at the deadline) or eight score sheets of 2022-2-002/-009: the office
gives them through the flows, and the round must end exactly as `expected/` says.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    DeploymentFilter,
    DeploymentFilterId,
)
from prefect.exceptions import ParameterTypeError
from sqlalchemy import func, select

from flows import round_runs
from flows.deployments import deployments
from flows.inputs import accept_supplements, upload_scores
from flows.models import DocumentType, SupplementInput, choice_code
from flows.round import committee_review
from sangsaeng.db import get_engine, session_scope
from sangsaeng.errors import InputRefused, ReviewIncomplete, StepError
from sangsaeng.models import Application, AuditEvent, Document, Round, Score
from tests.conftest import REPO
from tests.integration.helpers import counts, decisions_csv, kst, read_csv, run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW, expected

pytestmark = pytest.mark.usefixtures("prefect_harness")

BEFORE_S1 = "2022-06-03T10:00:00+09:00"  # S1: supplements until 2022-06-07 18:00 KST
SUPPLEMENTS = ("2022-2-028,637-81-66991,sme_certificate,2022-06-02T10:30:00",
               "2022-2-024,,agreement,2022-06-07T18:00:00")
HEADER = "receipt_no,reviewer_id,growth,plan,cooperation"
KEPT_SHEETS = ("2022-2-002,R01,20.1,26.3,38.0", "2022-2-009,R02,29.7,30.0,25.1")


def _copy(tmp_path: Path) -> Path:
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    return package


def _drop_lines(path: Path, lines: tuple[str, ...]) -> list[str]:
    text = path.read_text(encoding="utf-8").splitlines()
    dropped = [line for line in text if line in lines]
    assert len(dropped) == len(lines)
    path.write_text("\n".join(line for line in text if line not in lines) + "\n",
                    encoding="utf-8")
    return dropped


@pytest.fixture
def without_supplements(env: Path, tmp_path: Path) -> Path:
    """The package without the two supplement documents; replayed into screening before S1."""
    package = _copy(tmp_path)
    _drop_lines(package / "documents.csv", SUPPLEMENTS)
    assert run(CONFIG, package, BEFORE_S1).state == "screening"
    return package


@pytest.fixture
def missing_sheets(env: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """The package without eight sheets of 002 and 009; the review stops with V4. Returns the
    package and the missing sheets (CSV lines)."""
    package = _copy(tmp_path)
    scores = package / "scores.csv"
    missing = [line for line in scores.read_text(encoding="utf-8").splitlines()
               if line.startswith(("2022-2-002,", "2022-2-009,")) and line not in KEPT_SHEETS]
    _drop_lines(scores, tuple(missing))
    with pytest.raises(ReviewIncomplete):
        run(CONFIG, package, REPLAY_NOW, approve=True)
    return package, missing


def _state(receipt: str) -> str:
    with session_scope(get_engine()) as session:
        return session.execute(select(Application.state).where(
            Application.receipt_no == receipt)).scalar_one()


def _count(model: type[Document] | type[Score]) -> int:
    with session_scope(get_engine()) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _events(action: str) -> list[AuditEvent]:
    with session_scope(get_engine()) as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())


def _round_state() -> str:
    with session_scope(get_engine()) as session:
        return session.get(Round, "2022-2").state


async def _artifact(key: str) -> str:
    """The latest table artifact `key` as JSON text, its Korean shown as is (not escaped)."""
    async with get_client() as client:
        found = await client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return json.dumps(json.loads(str(found[0].data)), ensure_ascii=False) if found else ""


def _accept(*items: SupplementInput | dict[str, str], now: str = BEFORE_S1) -> Any:
    """The flow as the UI's form starts it (items may be plain JSON: Prefect types them)."""
    return asyncio.run(accept_supplements("2022-2", list(items), "사무국 김주무관", now=kst(now)))


def _item(receipt: str, doc_type: str, received_at: str | None = None, **extra: str
          ) -> SupplementInput:
    return SupplementInput.model_validate({"receipt_no": receipt, "doc_type": doc_type,
                                           "received_at": received_at, **extra})


# --- supplements (§4.6, S1) ------------------------------------------------------------------


def test_S1_an_accepted_supplement_counts_at_the_recheck_and_a_late_one_is_refused(
        without_supplements: Path) -> None:
    assert _state("2022-2-028") == _state("2022-2-024") == "supplement_requested"
    outcome = _accept(_item("2022-2-028", "sme_certificate", "2022-06-02T10:30:00",
                            note="우편 접수"))
    assert outcome.accepted == [
        "항목 1 (2022-2-028 sme_certificate): 2022년 6월 2일(목) 10:30 접수"]
    assert outcome.still_missing == {"2022-2-028": []}
    assert "2022년 6월 7일(화) 18:00" in outcome.waiting_for
    assert _state("2022-2-028") == "supplement_requested"  # decided at the deadline, not now
    with pytest.raises(InputRefused) as late:  # arrived at 18:00:00: S1 counts only before
        _accept(_item("2022-2-024", "agreement", "2022-06-07T18:00:00"),
                now="2022-06-07T18:30:00+09:00")
    assert "항목 1 (2022-2-024 agreement): 2022년 6월 7일(화) 18:00에 접수되어 보완 " \
        "기한(2022년 6월 7일(화) 18:00) 전이 아니므로" in str(late.value)
    # the S1 re-check: 028 is selected as in the portal's data, 024 stays out with the reason
    assert run(CONFIG, without_supplements, REPLAY_NOW, approve=True).state == "support"
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")
    rows = {r[0]: r[2:] for r in read_csv(decisions_csv("2022-2"))[1:]}
    assert rows["2022-2-028"] == ["selected", "71.90", "3", ""]
    assert rows["2022-2-024"] == ["ineligible", "", "", "MISSING_DOCUMENTS"]
    [event] = _events("supplement.received")
    assert (event.entity_id, event.actor, event.reason, event.rule) == (
        "2022-2-028", "사무국 김주무관", "우편 접수", "§4.6/S1")
    assert event.data["brn"] == "637-81-66991"


def test_each_refused_item_says_why_and_leaves_nothing_behind(without_supplements: Path) -> None:
    documents = _count(Document)
    with pytest.raises(InputRefused) as caught:
        _accept(_item("2022-2-999", "agreement", "2022-06-02T09:00:00"),
                _item("2022-2-001", "agreement", "2022-06-02T09:00:00"),
                _item("2022-2-028", "business_plan", "2022-06-02T09:00:00"),
                _item("2022-2-028", "sme_certificate", "2022-06-02T09:00:00",
                      brn="124-81-00998"),
                _item("2022-2-024", "agreement", "2022-06-08T09:00:00"),
                _item("2022-2-024", "agreement", "2022-06-02T09:00:00", brn="124-81-00998"),
                _item("2022-2-024", "agreement", "2022-06-09T09:00:00+00:00"),
                _item("2022-2-028", "sme_certificate", "2022-06-02T10:30:00"))
    assert caught.value.refused == [
        "항목 1 (2022-2-999 agreement): 알 수 없는 접수번호입니다",
        "항목 2 (2022-2-001 agreement): 보완서류를 기다리는 신청이 아닙니다 (적격 상태)",
        "항목 3 (2022-2-028 business_plan): business_plan 서류는 요청하지 않았습니다 (마감 때 "
        "빠진 서류: sme_certificate 637-81-66991)",
        "항목 4 (2022-2-028 sme_certificate): 124-81-00998 기업은 2022-2-028 신청의 주관기업이 "
        "아닙니다",
        "항목 5 (2022-2-024 agreement): 2022년 6월 8일(수) 09:00에 접수되어 보완 기한"
        "(2022년 6월 7일(화) 18:00) 전이 아니므로 인정할 수 없습니다",
        "항목 6 (2022-2-024 agreement): agreement 서류는 신청 단위의 서류이므로 "
        "사업자등록번호(brn)는 비워 두십시오",
        "항목 7 (2022-2-024 agreement): 2022년 6월 9일(목) 18:00에 접수되어 보완 기한"
        "(2022년 6월 7일(화) 18:00) 전이 아니므로 인정할 수 없습니다",
    ]
    assert caught.value.recorded == 1 and "보완서류 항목 7건 거부, 1건 기록" in str(caught.value)
    assert _count(Document) == documents + 1  # only the good item
    assert [e.entity_id for e in _events("supplement.received")] == ["2022-2-028"]
    table = asyncio.run(_artifact("round-2022-2-supplements"))
    assert "알 수 없는 접수번호입니다" in table and "accepted" in table


def test_accepting_the_same_supplement_again_changes_nothing(without_supplements: Path) -> None:
    _accept(_item("2022-2-028", "sme_certificate", "2022-06-02T10:30:00"))
    before, documents = counts(), _count(Document)
    # the office gives it again the next day, without a time (= now): already on file
    again = _accept(_item("2022-2-028", "sme_certificate"), now="2022-06-04T11:00:00+09:00")
    assert again.accepted == []
    assert again.unchanged == [
        "항목 1 (2022-2-028 sme_certificate): 이미 제출되어 있습니다"]
    assert counts() == before and _count(Document) == documents


def test_the_form_input_arrives_as_json_and_is_typed_by_prefect(without_supplements: Path
                                                                ) -> None:
    # what the UI's form sends: plain JSON, a naive time (T1: KST), the lead found by itself
    _accept({"receipt_no": "2022-2-028", "doc_type": "sme_certificate",
             "received_at": "2022-06-02T10:30:00"})
    with session_scope(get_engine()) as session:
        stored = session.execute(select(Document.submitted_at, Document.brn).where(
            Document.doc_type == "sme_certificate").order_by(Document.id.desc())).first()
    assert stored is not None and stored[1] == "637-81-66991"
    assert stored[0] == kst("2022-06-02T10:30:00+09:00")
    documents = _count(Document)
    with pytest.raises(ParameterTypeError, match=re.escape(
            "items.0.doc_type: Input should be 'application_form', 'business_plan', "
            "'agreement' or 'sme_certificate'")):
        _accept({"receipt_no": "2022-2-028", "doc_type": "passport"})
    assert _count(Document) == documents


def test_the_document_codes_of_the_form_are_the_programs() -> None:
    program = tomllib.loads((REPO / "config" / "program.toml").read_text(encoding="utf-8"))
    cfg = program["screening"]
    assert [d.value for d in DocumentType] == [
        *cfg["required_application_documents"], *cfg["required_lead_documents"]]


# --- score sheets (V2, V4) -------------------------------------------------------------------


def _upload(now: str = REPLAY_NOW, **sheet: Any) -> Any:
    return asyncio.run(upload_scores("2022-2", "평가간사", now=kst(now), **sheet))


def test_V4_pasted_score_sheets_complete_the_review(missing_sheets: tuple[Path, list[str]]
                                                    ) -> None:
    package, missing = missing_sheets
    assert _round_state() == "screening"  # V4 stopped the review: nothing decided
    outcome = _upload(csv_text="\n".join([HEADER, *missing]) + "\n")
    assert outcome.detail == "added 8, corrected 0, unchanged 0"
    assert outcome.waiting_for == "the committee review (run committee_review)"
    review = asyncio.run(committee_review("2022-2", kst(REPLAY_NOW), None, False, "test"))
    assert review.proposed == {"selected": 12, "not_selected": 15}
    assert _round_state() == "review"
    assert run(CONFIG, package, REPLAY_NOW, approve=True).state == "support"
    assert read_csv(decisions_csv("2022-2")) == expected("decisions.csv")
    [event] = _events("scores.upload")
    assert (event.actor, event.rule, event.reason) == ("평가간사", "V2", "scores.csv (pasted)")


def _xlsx(path: Path, lines: list[str]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "scores"
    for line in [HEADER, *lines]:
        cells = line.split(",")
        sheet.append(cells[:2] + [float(c) for c in cells[2:]] if cells[0] != "receipt_no"
                     else cells)
    book.save(path)
    return path


@pytest.mark.parametrize("form", ["csv-file", "xlsx-workbook", "cells-copied-from-excel"])
def test_score_sheets_come_as_a_file_or_as_cells_pasted_from_excel(
        form: str, missing_sheets: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, missing = missing_sheets
    if form == "csv-file":
        sheet = tmp_path / "평가표.csv"
        sheet.write_text("\n".join([HEADER, *missing]) + "\n", encoding="cp949")
        given: dict[str, str] = {"path": str(sheet)}
    elif form == "xlsx-workbook":
        given = {"path": str(_xlsx(tmp_path / "평가표.xlsx", missing))}
    else:
        given = {"csv_text": "\n".join(line.replace(",", "\t") for line in [HEADER, *missing])}
    assert _upload(**given).detail == "added 8, corrected 0, unchanged 0"
    review = asyncio.run(committee_review("2022-2", kst(REPLAY_NOW), None, False, "test"))
    assert review.proposed == {"selected": 12, "not_selected": 15}


def test_V2_every_rejected_row_is_named_and_the_good_rows_are_kept(
        missing_sheets: tuple[Path, list[str]]) -> None:
    sheets = _count(Score)
    text = "\n".join([HEADER, "2022-2-002,R02,19.1,28.2,40.0", "2022-2-009,R03,31,28.9,27.6",
                      "2022-2-009,R04,abc,25.7,32.1", "2022-2-777,R01,20.0,20.0,20.0",
                      "2022-2-009,R99,20.0,20.0,20.0"])
    with pytest.raises(InputRefused) as caught:
        _upload(csv_text=text)
    assert caught.value.refused == [
        "scores.csv (pasted) 3행, growth 열, 값 '31': 점수가 최고점 30점을 넘습니다 ('31')",
        "scores.csv (pasted) 4행, growth 열, 값 'abc': 점수가 숫자가 아닙니다 ('abc')",
        "scores.csv (pasted) 5행, receipt_no 열, 값 '2022-2-777': 알 수 없는 접수번호입니다",
        "scores.csv (pasted) 6행, reviewer_id 열, 값 'R99': 알 수 없는 평가위원 ID입니다",
    ]
    assert caught.value.recorded == 1 and _count(Score) == sheets + 1  # the good row is kept
    table = asyncio.run(_artifact("round-2022-2-score-upload"))
    assert "최고점 30점을 넘습니다" in table and "R99" in table
    assert _round_state() == "screening"


def test_the_same_sheet_again_changes_nothing_and_a_changed_score_is_a_correction(
        missing_sheets: tuple[Path, list[str]]) -> None:
    _, missing = missing_sheets
    text = "\n".join([HEADER, *missing])
    _upload(csv_text=text)
    before = counts()
    assert _upload(csv_text=text).detail == "added 0, corrected 0, unchanged 8"
    assert counts() == before  # no second audit row
    changed = text.replace("2022-2-002,R02,19.1,", "2022-2-002,R02,19.5,")
    assert _upload(csv_text=changed).detail == "added 0, corrected 1, unchanged 7"
    [correction] = _events("import.correct")
    assert correction.data["before"] == {"growth": "19.1", "plan": "28.2", "cooperation": "40.0"}
    assert correction.data["after"]["scores"]["growth"] == "19.5"


def test_inputs_are_refused_outside_their_stage(env: Path) -> None:
    assert run(CONFIG, PACKAGE, "2022-05-20T10:00:00+09:00").state == "open"
    sheets = _count(Score)
    with pytest.raises(StepError, match="round 2022-2 is open: score sheets are taken while"):
        _upload(now="2022-05-20T10:00:00+09:00", csv_text=f"{HEADER}\n")
    with pytest.raises(StepError, match="round 2022-2 is open: supplements are taken while"):
        _accept(_item("2022-2-028", "sme_certificate", "2022-05-19T10:00:00"),
                now="2022-05-20T10:00:00+09:00")
    assert run(CONFIG, PACKAGE, REPLAY_NOW, approve=True).state == "support"
    with pytest.raises(StepError, match=r"round 2022-2 is support: .* frozen, V10"):
        _upload(csv_text="\n".join([HEADER, "2022-2-002,R02,19.1,28.2,40.0"]))
    with pytest.raises(StepError, match="either as a file path or as pasted CSV text"):
        _upload(path="x.csv", csv_text=HEADER)
    assert _count(Score) == sheets


def test_a_served_upload_starts_the_review_once_per_set_of_sheets(
        missing_sheets: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, missing = missing_sheets
    review = next(d for d in deployments() if d.flow_name == "committee_review")
    deployment_id = review.apply()  # registered as `sangsaeng serve` does
    monkeypatch.setattr(round_runs, "is_served", lambda: True)  # as if the UI had started it
    text = "\n".join([HEADER, *missing])
    try:
        first = _upload(csv_text=text, chain=True)
        again = _upload(csv_text=text, chain=True)
        changed = _upload(csv_text=text.replace("2022-2-002,R02,19.1,", "2022-2-002,R02,19.5,"),
                          chain=True)
        runs = asyncio.run(_flow_runs(deployment_id))
    finally:
        asyncio.run(_delete_deployment(deployment_id))
    assert again.review_run == first.review_run  # the same sheets: one review
    assert changed.review_run != first.review_run  # changed ones: a new one
    assert sorted(str(r.id) for r in runs) == sorted(
        [first.review_run, changed.review_run])
    assert all(r.parameters == {"round_id": "2022-2", "chain": True} for r in runs)
    assert all("round:2022-2" in r.tags for r in runs)


async def _flow_runs(deployment_id: Any) -> list[Any]:
    async with get_client() as client:
        return await client.read_flow_runs(deployment_filter=DeploymentFilter(
            id=DeploymentFilterId(any_=[deployment_id])))


async def _delete_deployment(deployment_id: Any) -> None:
    async with get_client() as client:
        await client.delete_deployment(deployment_id)


def test_the_input_forms_describe_their_fields_in_korean_and_english() -> None:
    forms = {d.flow_name: d._parameter_openapi_schema for d in deployments()
             if d.flow_name in ("accept_supplements", "upload_scores")}
    assert set(forms) == {"accept_supplements", "upload_scores"}
    for schema in forms.values():
        fields = [*schema.properties.values(),
                  *schema.definitions.get("SupplementInput", {}).get("properties", {}).values()]
        assert fields and all(" / " in f.get("description", "") for f in fields), schema
    upload = forms["upload_scores"].properties
    # a plain string: the UI gives it a text box that grows with pasted lines
    assert upload["csv_text"]["type"] == "string" and "format" not in upload["csv_text"]
    assert "actor" in forms["upload_scores"].required  # every input names who gave it
    # the documents' list: every document, by its Korean name (issue 23 item 4)
    offered = forms["accept_supplements"].definitions["SupplementInput"]["properties"][
        "doc_type"]["enum"]
    assert [choice_code(label) for label in offered] == [d.value for d in DocumentType]
    assert offered[0] == "참여 신청서 (application_form)"
