"""The round's exports as files under `<var>/exports/<round>/`, written by every step's publish:
the bytes the CLI writes, only what the round's state allows, linked from the status artifact."""

from __future__ import annotations

import asyncio
import csv
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from typer.testing import CliRunner

from flows.round import cancel_round
from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.exports import FILES, write_round_exports
from sangsaeng.services.rounds import get_round
from sangsaeng.settings import get_settings
from tests.conftest import ROUND_2022_2
from tests.integration.helpers import read_csv, run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

pytestmark = pytest.mark.usefixtures("prefect_harness")

BASE = "http://exports.test:8421"
ALL = sorted(FILES)
BEFORE_DECISION = sorted(set(FILES) - {"announcement.md", "certificates.csv"})


@pytest.fixture
def var(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's var dir; links point at BASE (as `serve` sets SANGSAENG_EXPORTS_URL)."""
    monkeypatch.setenv("SANGSAENG_EXPORTS_URL", BASE + "/")
    get_settings.cache_clear()
    return env


def cli_out(tmp_path: Path, name: str, *args: str) -> bytes:
    """What `sangsaeng <args> --out FILE` writes (in-process, as test_cli does)."""
    out = tmp_path / "cli" / name
    result = CliRunner().invoke(app, [*args, "--round", "2022-2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out.read_bytes()


def cli_refuses(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--round", "2022-2"])
    assert result.exit_code != 0
    return result.stderr


def exported(var: Path) -> list[str]:
    """Every name in the round's folder (temporary files included)."""
    folder = var / "exports" / "2022-2"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def latest(key: str) -> str:
    async def read() -> str:
        async with get_client() as client:
            found = await client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        return str(found[0].data) if found else ""
    return asyncio.run(read())


def sheet_rows(path: Path) -> list[list[str]]:
    workbook = load_workbook(path, read_only=True)
    try:
        sheet = workbook.active
        assert sheet is not None
        return [[str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def test_after_the_replay_the_exports_are_what_the_cli_writes_and_the_status_links_them(
    var: Path, tmp_path: Path
) -> None:
    assert run(CONFIG, PACKAGE, REPLAY_NOW, approve=True).state == "support"
    folder = var / "exports" / "2022-2"
    assert exported(var) == ALL  # and no temporary file left behind
    commands = {"decisions.csv": ("export", "decisions"),
                "selection.csv": ("export", "selection", "--format", "csv"),
                "selection.md": ("export", "selection", "--format", "md"),
                "announcement.md": ("report", "announcement")}
    for name, args in commands.items():
        assert (folder / name).read_bytes() == cli_out(tmp_path, name, *args), name
    for name in ("decisions.csv", "selection.csv"):  # INTERFACES §4 / expected/
        data = (folder / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")  # Excel opens the Korean text
        assert read_csv(data.decode("utf-8")) == read_csv(
            (ROUND_2022_2 / "expected" / name).read_text(encoding="utf-8-sig"))
    # openpyxl stamps the time into a workbook: the same sheet, not the same bytes
    cli_xlsx = tmp_path / "cli" / "selection.xlsx"
    cli_out(tmp_path, "selection.xlsx", "export", "selection", "--format", "xlsx")
    assert sheet_rows(folder / "selection.xlsx") == sheet_rows(cli_xlsx) == read_csv(
        (ROUND_2022_2 / "expected" / "selection.csv").read_text(encoding="utf-8-sig"))

    status = latest("round-2022-2-status")
    for name in FILES:
        assert f"[{name}]({BASE}/2022-2/{name})" in status
    assert "sangsaeng export decisions --round 2022-2" in status  # kept for terminal users
    # issue 23 item 4: Korean names where a person reads (decisions.csv keeps the codes)
    assert "혁신성장" in status and "innovation" not in status, status
    assert "미선정" in status and "not_selected" not in status, status
    assert "**상태:** " in status and "(T2)" not in status and "(S1)" not in status
    assert status.index(f"[decisions.csv]({BASE}") < status.index("sangsaeng export decisions")
    listing = latest("round-2022-2-exports")
    assert f"[selection.xlsx]({BASE}/2022-2/selection.xlsx)" in listing
    assert str(folder.resolve()) not in listing and "/exports/" not in listing  # no server path

    # A re-run rewrites nothing: the files (and their times) stay as they are.
    before = {name: (folder / name).stat().st_mtime_ns for name in FILES}
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert {name: (folder / name).stat().st_mtime_ns for name in FILES} == before


def test_exports_follow_the_round_state_like_the_cli(var: Path, tmp_path: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, until="screening")
    assert exported(var) == []
    assert "no decisions to export yet" in cli_refuses("export", "decisions")
    status = latest("round-2022-2-status")
    assert "after the committee's review" in status and f"]({BASE}" not in status

    run(CONFIG, PACKAGE, REPLAY_NOW)  # the committee proposes; no approval yet
    assert exported(var) == BEFORE_DECISION  # the announcement waits for the decision
    assert "no decisions to export yet" in cli_refuses("report", "announcement")
    folder = var / "exports" / "2022-2"
    proposed = (folder / "decisions.csv").read_bytes()
    assert proposed == cli_out(tmp_path, "decisions.csv", "export", "decisions")
    status = latest("round-2022-2-status")
    assert "not approved" in status and f"[decisions.csv]({BASE}/2022-2/decisions.csv)" in status
    assert "announcement.md" not in status

    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert exported(var) == ALL
    assert (folder / "announcement.md").read_bytes() == cli_out(
        tmp_path, "announcement.md", "report", "announcement")


def test_a_cancelled_round_has_no_exports_any_more(var: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW)  # in review: the proposal is exported
    assert exported(var) == BEFORE_DECISION
    asyncio.run(cancel_round("2022-2", "예산 미확보로 공고 취소", actor="담당자"))
    assert exported(var) == []  # as the CLI: "cancelled: it has no decisions to export"
    assert "was cancelled" in cli_refuses("export", "selection")
    assert "none: the round was cancelled" in latest("round-2022-2-status")
    assert "export files were removed" in latest("round-2022-2-exports")


def test_a_write_that_fails_midway_leaves_the_previous_file_whole(
    var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW)  # in review
    folder = var / "exports" / "2022-2"
    texts = ("decisions.csv", "selection.csv", "selection.md")
    before = {name: (folder / name).read_bytes() for name in texts}
    write_bytes = Path.write_bytes

    def half(path: Path, data: bytes) -> int:  # the disk fills up halfway through
        write_bytes(path, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    import sangsaeng.exports

    monkeypatch.setattr(sangsaeng.exports, "_holds", lambda path, data: False)  # rewrite all
    monkeypatch.setattr(Path, "write_bytes", half)
    with session_scope(get_engine()) as session, pytest.raises(OSError, match="No space"):
        write_round_exports(session, get_round(session, "2022-2"), var / "exports", "", "")
    monkeypatch.undo()
    assert exported(var) == BEFORE_DECISION  # no temporary file left
    assert {name: (folder / name).read_bytes() for name in texts} == before


def test_when_the_files_cannot_be_written_the_round_goes_on_and_the_status_says_why(
    var: Path
) -> None:
    var.mkdir(parents=True, exist_ok=True)
    (var / "exports").write_text("not a folder")  # e.g. a full disk or a wrong permission
    assert run(CONFIG, PACKAGE, REPLAY_NOW, approve=True).state == "support"
    status = latest("round-2022-2-status")
    assert "the export files could not be written" in status and "exports/2022-2" in status
    assert f"]({BASE}/2022-2/" not in status  # no link to an export file that is not there
    assert "sangsaeng export decisions --round 2022-2" in status
    assert "선정 제품" in latest("round-2022-2-announcement")  # the rest is published


def rename(package: Path, file: str, names: dict[str, str]) -> None:
    """Replace whole cells of a package file (CSV-quoted as a spreadsheet saves them)."""
    path = package / file
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [[names.get(cell, cell) for cell in row] for row in csv.reader(handle)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


HYPERLINK = '=HYPERLINK("http://x.example/","y")'
FORMULAS = {"applications.csv": {"계장제어장치": HYPERLINK, "퍼걸러": "-2+3"},  # selected
            "participants.csv": {"주식회사 자인인더스트리": "+cmd|' /C calc'!A0",
                                 "(주)에이씨앤티시스템": "@SUM(1+1)"}}


def test_names_that_start_like_formulas_are_text_in_every_csv_and_xlsx(
    var: Path, tmp_path: Path
) -> None:
    package = Path(shutil.copytree(PACKAGE, tmp_path / "package"))
    for file, names in FORMULAS.items():
        rename(package, file, names)
    assert run(CONFIG, package, REPLAY_NOW, approve=True).state == "support"
    folder = var / "exports" / "2022-2"
    expected = [["1", "1:1", "'+cmd|' /C calc'!A0", "'@SUM(1+1)", "3년", f"'{HYPERLINK}"],
                ["2", "1:1", "주승 다휴공작소", "(주)영진기계", "3년", "'-2+3"]]
    assert read_csv((folder / "selection.csv").read_text(encoding="utf-8"))[1:3] == expected
    cli_xlsx = tmp_path / "cli" / "selection.xlsx"
    cli_out(tmp_path, "selection.xlsx", "export", "selection", "--format", "xlsx")
    for xlsx in (folder / "selection.xlsx", cli_xlsx):
        with zipfile.ZipFile(xlsx) as archive:
            sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets)
        assert sheet_rows(xlsx)[1:3] == expected
        sheet = load_workbook(xlsx).active
        assert sheet is not None
        assert [c.data_type for c in sheet[2]] == ["n", "s", "s", "s", "s", "s"]  # NO a number
    # The normal rows, the scores and the ranks are as before.
    assert read_csv((folder / "decisions.csv").read_text(encoding="utf-8")) == read_csv(
        (ROUND_2022_2 / "expected" / "decisions.csv").read_text(encoding="utf-8-sig"))


MARKUP = {"applications.csv": {"계장제어장치": "<img src=x onerror=alert(1)>",
                               "퍼걸러": "[y](http://x.example/)"},
          "participants.csv": {"주식회사 자인인더스트리": "<script>alert(1)</script>",
                               "(주)에이씨앤티시스템": "**굵게** | 둘째 칸"}}


def shown(markdown: str) -> str:
    """The Markdown rendered as the UI renders it (CommonMark + GitHub tables, raw HTML on)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_names_with_markup_show_as_text_in_the_markdown_files_and_artifacts(
    var: Path, tmp_path: Path
) -> None:
    package = Path(shutil.copytree(PACKAGE, tmp_path / "package"))
    for file, names in MARKUP.items():
        rename(package, file, names)
    assert run(CONFIG, package, REPLAY_NOW, approve=True).state == "support"
    folder = var / "exports" / "2022-2"
    for markdown in ((folder / "selection.md").read_text(encoding="utf-8"),
                     (folder / "announcement.md").read_text(encoding="utf-8"),
                     latest("round-2022-2-announcement")):
        page = shown(markdown)
        assert "<img" not in page and "<script" not in page and "<a " not in page
        assert "<strong>" not in page
        assert ("<td>1</td>\n<td>1:1</td>\n<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>\n"
                "<td>**굵게** | 둘째 칸</td>\n<td>3년</td>\n"
                "<td>&lt;img src=x onerror=alert(1)&gt;</td>") in page
        assert "<td>[y](http://x.example/)</td>" in page


def test_a_cancellation_reason_with_markup_shows_as_text_in_the_status(var: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, until="screening")
    asyncio.run(cancel_round("2022-2", "<img src=x onerror=alert(1)> 예산 미확보",
                             actor="<b>담당자</b>"))
    page = shown(latest("round-2022-2-status"))
    assert "<img" not in page and "<b>" not in page
    assert "&lt;b&gt;담당자&lt;/b&gt; — &lt;img src=x onerror=alert(1)&gt; 예산 미확보" in page
