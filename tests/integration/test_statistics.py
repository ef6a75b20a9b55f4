"""Program statistics (PROGRAM_RULES M5, A2; INTERFACES §5 `report statistics`): the 2022-2
replay gives the press release's figures in CSV, Markdown and XLSX; the `program-statistics`
artifact shows the chart, served by the exports server, over the table."""

from __future__ import annotations

import asyncio
import io
import re
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import select, update
from typer.testing import CliRunner

from flows.recurring import office_digest
from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import Certificate, CostClaim, ListingStep
from sangsaeng.services.statistics import STATISTICS_COLUMNS
from sangsaeng.settings import get_settings
from sangsaeng.web.office import office_server
from tests.integration.helpers import read_csv, run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

pytestmark = pytest.mark.usefixtures("prefect_harness")

# 2022-2 (press release 2022-06-30, A2): 36 applications, 12 selected projects, 29 lead
# participations; K1: 29 certificates (valid to 2025-07-19, K3). Per track: 7/1/1/3 projects.
ROUND_ROW = ["2022", "합계 total", "", "36", "12", "29", "29", "29", "0", "0", "0", "0"]
TRACK_SELECTED = {"innovation": "7", "materials": "1", "convergence": "1", "value": "3"}


def report(*args: str) -> str:
    """`sangsaeng report statistics <args>`'s standard output (in-process)."""
    result = CliRunner().invoke(app, ["report", "statistics", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.usefixtures("replayed")
def test_M5_statistics_of_the_2022_2_replay_in_csv_markdown_and_xlsx(
    env: Path, tmp_path: Path
) -> None:
    rows = read_csv(report("--now", REPLAY_NOW))
    assert rows[0] == list(STATISTICS_COLUMNS)
    by_track = {r[2]: r for r in rows[1:5]}
    assert [r[:2] for r in rows[1:5]] == [["2022", "2022-2"]] * 4
    assert {t: r[4] for t, r in by_track.items()} == TRACK_SELECTED  # A2 per track
    assert rows[5] == ROUND_ROW  # the year's total
    assert rows[6] == ["전체 all", "", "", *ROUND_ROW[3:]]  # overall
    assert len(rows) == 7

    md = report("--format", "md", "--now", REPLAY_NOW)
    assert "| 2022 | 합계 total |  | 36 | 12 | 29 | 29 | 29 | 0 | 0 | 0 | 0 |" in md
    # issue 23 item 4: people read the tracks' names, the CSV keeps their codes
    assert "| 2022 | 2022-2 | 혁신성장 | " in md and "innovation" not in md

    out = tmp_path / "statistics.xlsx"
    CliRunner().invoke(app, ["report", "statistics", "--format", "xlsx", "--out", str(out),
                             "--now", REPLAY_NOW])
    sheet = load_workbook(out).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == list(STATISTICS_COLUMNS)
    assert values[5] == [2022, "합계 total", None, 36, 12, 29, 29, 29, 0, 0, 0, 0]  # numbers
    assert {r[2] for r in values[1:5]} == {"혁신성장", "소재·부품", "기술융합", "가치창출"}


@pytest.mark.usefixtures("replayed")
def test_M5_status_at_now_listings_and_claims_approved(env: Path) -> None:
    with session_scope(get_engine()) as session:
        first, second = session.scalars(select(Certificate).where(
            Certificate.number.in_(["22-VC0001", "22-VC0002"]))).all()
        session.execute(update(Certificate).where(Certificate.number == "22-VC0002")
                        .values(cancelled_on=date(2023, 3, 2)))
        for step in ("catalog_number", "listed"):  # M1: only `listed` counts
            session.add(ListingStep(number=first.number, step=step, done_on=date(2022, 9, 1)))
        session.add(ListingStep(number=second.number, step="contract", done_on=date(2022, 9, 1)))
        for n, krw in enumerate((9_000_000, 6_000_000)):  # M2: the approved amounts, summed
            session.add(CostClaim(claim_id=f"C{n}", seq=n + 1, application_id=first.application_id,
                                  round_id="2022-2", submitted_on=date(2022, 9, 1),
                                  amount_krw=10_000_000, item="KC", approved_krw=krw,
                                  remaining_krw=0, decided_at=datetime.now(UTC)))
        session.commit()
    rows = read_csv(report("--now", "2023-03-02"))
    value = next(r for r in rows if r[2] == "value")
    assert value[6:] == ["3", "2", "0", "1", "1", "15000000"]  # K5a cancelled from that day
    later = read_csv(report("--now", "2025-07-20"))  # K6a: the day after valid_to
    assert later[-1][6:10] == ["29", "0", "28", "1"]


def test_a_proposal_under_review_selects_nothing_yet(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW)  # no --approve: the round waits in review (V10)
    rows = read_csv(report("--now", REPLAY_NOW))
    assert rows[-1] == ["전체 all", "", "", "36", *["0"] * 8]  # M5: selected once approved


def test_xlsx_needs_out(env: Path) -> None:
    result = CliRunner().invoke(app, ["report", "statistics", "--format", "xlsx"])
    assert result.exit_code != 0 and "--out" in result.stderr


async def _latest(key: str) -> str:
    async with get_client() as client:
        found = await client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return str(found[0].data) if found else ""


@pytest.mark.usefixtures("replayed")
def test_the_digest_publishes_the_statistics_chart_served_by_the_office_server(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with office_server(env / "exports", 0) as url:
        monkeypatch.setenv("SANGSAENG_EXPORTS_URL", url)  # as `serve` does
        get_settings.cache_clear()
        asyncio.run(office_digest())
        markdown = asyncio.run(_latest("program-statistics"))
        image = re.search(r"!\[[^]]+\]\(([^)]+)\)", markdown)
        assert image is not None and image[1] == f"{url}/statistics/per-round.png"
        with urllib.request.urlopen(image[1], timeout=10) as response:
            assert response.headers["Content-Type"] == "image/png"
            served = response.read()
    assert served == (env / "exports" / "statistics" / "per-round.png").read_bytes()
    with Image.open(io.BytesIO(served)) as png:
        png.verify()  # a whole, valid PNG
        assert png.format == "PNG" and png.size[0] >= 600
    # the table under the chart (M5): today every 2022-2 certificate has expired (K6a)
    assert markdown.index("per-round.png") < markdown.index("| 연도 year |")
    assert "| 2022 | 합계 total |  | 36 | 12 | 29 | 29 | 0 | 29 | 0 | 0 | 0 |" in markdown
    assert "| 혁신성장 |" in markdown and "| innovation |" not in markdown  # item 4
