"""What-if on the 2022-2 replay (issue 26 item 1, INTERFACES §6 `whatif`): the rows equal a
recomputation from the package by the domain's rules with the changed settings, and nothing of
the round changes — its decisions export stays byte-equal to `expected/`, no notice, audit row
or artifact is added.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sangsaeng.cli import app
from tests.conftest import ROUND_2022_2
from tests.domain.test_round_2022_2 import REVIEW, _decide, _read
from tests.integration.helpers import counts

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]  # also on PostgreSQL

EXPECTED = ROUND_2022_2 / "expected" / "decisions.csv"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _package() -> dict[str, list[dict[str, str]]]:
    files = [*(ROUND_2022_2 / "package").glob("*.csv"), EXPECTED]
    return {p.stem: _read(p) for p in files}


def _tables(text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The CSV's rows and, after the blank line, its summary per track."""
    rows, _, totals = text.lstrip("\ufeff").replace("\r\n", "\n").partition("\n\n")
    return list(csv.DictReader(io.StringIO(rows))), list(csv.DictReader(io.StringIO(totals)))


@pytest.mark.parametrize(("args", "review", "quotas"), [
    (["--cutoff", "65"], replace(REVIEW, cutoff=Decimal(65)), {}),
    (["--quota", "innovation=5"], REVIEW, {"innovation": 5}),
], ids=["cutoff-65", "quota-innovation-5"])
def test_whatif_rows_equal_the_rules_recomputed_and_the_round_is_untouched(
    args: list[str], review: object, quotas: dict[str, int], tmp_path: Path
) -> None:
    before = counts()
    code, out, err = cli("whatif", "--round", "2022-2", *args)
    assert code == 0, err
    rows, totals = _tables(out)
    package = _package()
    recomputed = _decide(package, review, quotas)  # type: ignore[arg-type]
    decided = {r["receipt_no"]: r for r in package["decisions"]}
    assert [r["receipt_no"] for r in rows] == [r["receipt_no"] for r in package["decisions"]]
    for row in rows:
        was, now = decided[row["receipt_no"]], recomputed[row["receipt_no"]]
        assert (row["status_before"], row["score_before"], row["rank_before"]) == (
            was["status"], was["score"], was["rank"]), row
        assert (row["status_after"], row["score_after"], row["rank_after"]) == now[:3], row
        assert row["changed"] == str((was["status"], was["rank"]) != (now[0], now[2])).lower()
    assert any(r["changed"] == "true" for r in rows)  # the setting moves something
    selected = {t: sum(1 for r in rows if r["track"] == t and r["status_after"] == "selected")
                for t in ("innovation", "materials", "convergence", "value")}
    assert {t["track"]: int(t["selected_after"]) for t in totals} == selected
    assert sum(int(t["selected_before"]) for t in totals) == 12  # the press release's 12
    # nothing of the round changed
    assert counts() == before
    exported = tmp_path / "decisions.csv"
    assert cli("export", "decisions", "--round", "2022-2", "--out", str(exported))[0] == 0
    assert exported.read_bytes() == EXPECTED.read_bytes()


def test_whatif_with_quota_5_moves_two_innovation_projects_to_the_reserve() -> None:
    code, out, _ = cli("whatif", "--round", "2022-2", "--quota", "innovation=5")
    assert code == 0
    rows, totals = _tables(out)
    moved = [r for r in rows if r["changed"] == "true"]
    assert {(r["status_before"], r["status_after"]) for r in moved} == {("selected", "reserve")}
    assert {r["rank_after"] for r in moved} == {"6", "7"} and len(moved) == 2
    [innovation] = [t for t in totals if t["track"] == "innovation"]
    assert innovation == {"track": "innovation", "selected_before": "7", "selected_after": "5",
                          "in": "0", "out": "2"}


def test_several_scenarios_give_a_sheet_each_in_korean(tmp_path: Path) -> None:
    out = tmp_path / "whatif.xlsx"
    code, _, err = cli("whatif", "--round", "2022-2", "--scenario", "기준65:cutoff=65",
                       "--scenario", "혁신5:quota=innovation=5", "--format", "xlsx",
                       "--out", str(out))
    assert code == 0, err
    book = load_workbook(out)
    assert book.sheetnames == ["기준65", "혁신5"]
    sheet = book["혁신5"]
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert lines[0][:4] == ["접수번호", "분야", "상태(현행)", "상태(변경안)"]
    assert lines[1][:4] == ["2022-2-001", "혁신성장", "미선정", "미선정"]
    assert ["혁신성장", 7, 5, 0, 2] in [line[:5] for line in lines]  # the summary, as numbers
    code, md, _ = cli("whatif", "--round", "2022-2", "--cutoff", "65", "--format", "md")
    assert code == 0 and "## 변경안: 기준 점수 65" in md and "| 분야 | 선정(현행) |" in md


@pytest.mark.parametrize(("args", "says"), [
    (["--cutoff", "101"], "기준 점수(cutoff)는 0에서 100 사이입니다: 101"),
    (["--quota", "innovation=-1"], "선정 규모는 0 이상입니다: innovation=-1"),
    (["--quota", "robotics=2"], "2022-2 회차에 없는 분야입니다: robotics"),
    (["--cutoff", "abc"], "cutoff: 숫자가 아닙니다 ('abc')"),
    ([], "give a setting to change"),
])
def test_an_invalid_setting_is_refused_in_one_line(args: list[str], says: str) -> None:
    before = counts()
    code, out, err = cli("whatif", "--round", "2022-2", *args)
    assert code == 2 and out == "" and says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert counts() == before


@pytest.mark.usefixtures("prefect_harness")
def test_the_what_if_run_publishes_the_summary_its_chart_and_the_moved_projects(env: Path) -> None:
    """The `what_if` deployment's run (선정 시뮬레이션) as the office starts it from its form."""
    import asyncio
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.whatif import what_if

    async def latest(key: str) -> str:
        async with get_client() as client:
            [found] = await client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        return str(found.data)

    before = counts()
    done = asyncio.run(what_if("2022-2", quota={"innovation": 5, "value": None}))
    assert done.moved == 2 and done.selected["혁신성장"] == (7, 5)
    summary = asyncio.run(latest("round-2022-2-whatif"))
    assert "## 변경안: 혁신성장 선정 5건" in summary and "| 혁신성장 | 7 | 5 | 0 | 2 |" in summary
    chart = summary.split("](", 1)[1].split(")", 1)[0]
    assert chart.endswith(".png") and "/whatif/2022-2-" in chart
    assert (env / "exports" / "whatif" / chart.rsplit("/", 1)[1]).read_bytes()[:4] == b"\x89PNG"
    moved = json.loads(asyncio.run(latest("round-2022-2-whatif-moved")))
    assert [(r["접수번호"], r["상태(현행)"], r["상태(변경안)"]) for r in moved] == [
        (r, "선정", "예비 선정") for r in sorted(r["접수번호"] for r in moved)]
    assert counts() == before  # the round is untouched
    state = asyncio.run(what_if("2022-2", cutoff=101, return_state=True))
    assert state.is_failed() and "기준 점수(cutoff)는 0에서 100 사이입니다" in str(state.message)
