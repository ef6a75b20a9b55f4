"""The installed `sangsaeng` command, run as a user runs it (a real process, in-process Prefect)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import REPO, ROUND_2022_2

SHARED = REPO.parent / "shared" / "data" / "rounds" / "2022-2"
# The issue's own command line reads ../shared when it is beside the checkout (as on CI).
ROUND = SHARED if SHARED.exists() else ROUND_2022_2
SANGSAENG = Path(sys.executable).parent / "sangsaeng"


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for this module's processes (not the user's ~/.prefect)."""
    return tmp_path_factory.mktemp("prefect-home")


def sangsaeng(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(SANGSAENG), *args], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=300, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def environment(database_url: str, var: Path, prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANGSAENG_", "PREFECT_"))}
    return {**env, "SANGSAENG_DATABASE_URL": database_url, "SANGSAENG_VAR_DIR": str(var),
            "PREFECT_HOME": str(prefect_home)}


def plain(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").splitlines()


def test_round_run_and_exports_equal_the_expected_files(
    database_url: str, tmp_path: Path, prefect_home: Path
) -> None:
    env = environment(database_url, tmp_path / "var", prefect_home)
    run = ["round", "run", "--config", str(ROUND / "round.toml"), "--data",
           str(ROUND / "package"), "--now", "2022-07-20T10:00:00+09:00", "--approve"]
    first = sangsaeng(*run, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "round 2022-2: support" in first.stdout
    for kind in ("decisions", "selection"):
        out = tmp_path / f"{kind}.csv"
        done = sangsaeng("export", kind, "--round", "2022-2", "--out", str(out), env=env,
                         cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens Korean text
        expected = (ROUND / "expected" / f"{kind}.csv").read_text(encoding="utf-8-sig")
        assert plain(out.read_text(encoding="utf-8")) == plain(expected)
    xlsx = tmp_path / "selection.xlsx"
    assert sangsaeng("export", "selection", "--round", "2022-2", "--format", "xlsx", "--out",
                     str(xlsx), env=env, cwd=tmp_path).returncode == 0
    workbook = load_workbook(xlsx, read_only=True)
    try:
        sheet = workbook.active
        assert sheet is not None
        rows = [[str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    assert rows == [line.split(",") for line in plain(
        (ROUND / "expected" / "selection.csv").read_text(encoding="utf-8-sig"))]
    again = sangsaeng(*run, env=env, cwd=tmp_path)
    assert again.returncode == 0
    assert "nothing new" in again.stdout and "already released" in again.stdout
    redo = tmp_path / "again.csv"
    sangsaeng("export", "decisions", "--round", "2022-2", "--out", str(redo), env=env,
              cwd=tmp_path)
    assert redo.read_bytes() == (tmp_path / "decisions.csv").read_bytes()


def test_demo_replays_2022_2_and_says_where_the_outputs_are(
    database_url: str, tmp_path: Path, prefect_home: Path
) -> None:
    env = environment(database_url, tmp_path / "var", prefect_home)
    done = sangsaeng("demo", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "var" / "demo" / "2022-2"
    assert str(target) in done.stdout.replace("\n", "")
    for name in ("decisions.csv", "selection.csv", "selection.xlsx", "selection.md",
                 "announcement.md"):
        assert (target / name).stat().st_size > 0
    announcement = (target / "announcement.md").read_text(encoding="utf-8")
    assert "12개 선정 과제(29개 주관 중소기업)" in announcement
    assert "| 8 | 18:1 (대기업 참여) | (주)와치캠 등 (18개 기업) | 한화테크윈(주) |" in announcement


def test_a_shell_set_up_for_serve_still_runs_the_cli(
    database_url: str, tmp_path: Path, prefect_home: Path
) -> None:
    """Issue 22 item 7: with PREFECT_SERVER_API_AUTH_STRING exported (docs/operations.md, for
    `serve`) the CLI's in-process server asked for it and every command died with a 92-line
    401 traceback; the CLI is that server's client and gives it."""
    env = {**environment(database_url, tmp_path / "var", prefect_home),
           "PREFECT_SERVER_API_AUTH_STRING": "office:correct horse"}
    done = sangsaeng("certificates", "issue", "--round", "2099-1", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "401" not in done.stderr
    assert " | WARNING | " not in done.stderr  # Prefect's queue flushing at exit, once seen
    assert done.stderr.strip().splitlines()[-1] == (
        "error: no round '2099-1' in the database; run `sangsaeng round run` first")


def test_a_prefect_server_asking_for_a_credential_is_one_line_saying_what_to_set(
    database_url: str, tmp_path: Path, prefect_home: Path
) -> None:
    """Issue 22 item 7, the other half: PREFECT_API_URL names a server that wants the shared
    password (PREFECT_SERVER_API_AUTH_STRING on its side) and the shell gives none. The server
    here answers every request as such a Prefect server does: 401, `Unauthorized`."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse

    from sangsaeng.web import server

    app = Starlette()
    app.add_route("/{path:path}", lambda request: JSONResponse(
        {"exception_message": "Unauthorized"}, 401), methods=["GET", "POST", "PATCH"])
    with server.in_background(app, "127.0.0.1", 0, "-", "protected Prefect") as url:
        env = {**environment(database_url, tmp_path / "var", prefect_home),
               "PREFECT_API_URL": f"{url}/api"}
        done = sangsaeng("certificates", "issue", "--round", "2099-1", env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {url}/api refused the request (401 Unauthorized): set PREFECT_API_AUTH_STRING "
        "to its user:password, the one the Prefect UI asks for")
