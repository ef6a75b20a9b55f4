"""Issue 23 item 6: the upload page and the import run it starts agree. The page tries the
files as the run will (rolled back), so the rows it lists as refused are the rows the run
refuses and the others are recorded; the run then ends "일부 거부" with a Korean line and a
table of the refused rows — no traceback in its log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import InputRefused
from sangsaeng.models import ListingStep
from sangsaeng.services import uploads
from sangsaeng.settings import get_settings
from tests.integration.helpers import counts

pytestmark = pytest.mark.usefixtures("prefect_harness")

NOW = parse_instant("2022-09-30T10:00:00+09:00")
ROWS = ("receipt_no,brn,step,done_on,evidence\n"
        "2022-2-002,559-81-39063,catalog_number,2022-08-10,24123456\n"  # good
        "2022-2-002,559-81-39064,catalog_number,2022-13-45,24123456\n"  # bad BRN and date
        "2022-2-999,559-81-39063,contract,2022-09-01,없는 과제\n"  # no such project
        "2022-2-034,677-81-97153,bidder_registration,2022-07-22,등록 완료\n")  # good


def _steps() -> int:
    with session_scope(get_engine()) as session:
        return session.execute(select(func.count()).select_from(ListingStep)).scalar_one()


def _check(folder: Path) -> uploads.Checked:
    with session_scope(get_engine()) as session:
        return uploads.check(session, uploads.Kind.SUPPORT, "2022-2", folder, None,
                             get_settings().config_dir, NOW)


async def _refused_table() -> list[dict[str, object]]:
    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["after-selection-refused"])))
    return json.loads(str(found[0].data)) if found else []


async def _name_of(run_id: object) -> str:
    async with get_client() as client:
        return (await client.read_flow_run(run_id)).name  # type: ignore[arg-type]


@pytest.mark.usefixtures("replayed")
def test_the_upload_check_refuses_exactly_the_rows_the_run_refuses_and_keeps_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.support_import import support_import

    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "listing.csv").write_text(ROWS, encoding="utf-8")
    before, steps = counts(), _steps()
    checked = _check(folder)
    # two rows refused: one for its BRN and its date (two problems), one by the program's
    # records (2022-2-999 has no certificate), which reading the file alone cannot see
    assert sorted({e.row for e in checked.errors}) == [3, 4]
    assert len(checked.errors) == 3
    assert (counts(), _steps()) == (before, steps)  # the trial was rolled back

    caplog.set_level(logging.INFO)
    state = asyncio.run(support_import(str(folder), "사무국", False, NOW, return_state=True))
    assert state.is_failed() and state.name == "일부 거부"
    assert state.message == "행 2건 거부, 2건 기록 — 거부된 항목을 고쳐서 다시 주십시오"
    with pytest.raises(InputRefused) as raised:  # as the CLI sees it: exit code 2
        state.result()
    assert raised.value.refused == [str(e) for e in checked.errors]
    assert _steps() == steps + 2  # the two rows the page did not refuse
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "행 2건 거부, 2건 기록 — 거부된 항목을 고쳐서 다시 주십시오" in warned
    table = asyncio.run(_refused_table())
    assert [(r["파일"], r["행"], r["값"]) for r in table] == [
        ("listing.csv", e.row, e.value or "") for e in checked.errors]


@pytest.mark.usefixtures("replayed")
def test_a_step_stopped_by_the_programs_own_error_logs_one_line_and_no_traceback(
    caplog: pytest.LogCaptureFixture
) -> None:
    from flows.inputs import upload_scores

    caplog.set_level(logging.INFO)
    state = asyncio.run(upload_scores("2022-2", "사무국", "scores.csv", "receipt_no\n",
                                      return_state=True))
    assert state.is_failed()
    assert asyncio.run(_name_of(state.state_details.flow_run_id)).startswith(
        "2022-2 평가표 올리기 — ")  # named for what it does (item 7), not `metal-chipmunk`
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    stopped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("멈춤: ")]
    assert stopped and "give the score sheet either" in stopped[0]
