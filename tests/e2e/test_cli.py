"""The CLI as a new user meets it: bad input gives one clear line per problem, never a traceback,
and nothing good is lost. In-process (typer's runner) under the session's Prefect harness."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import Application
from tests.conftest import REPO, ROUND_2022_2

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
NOW = "2022-07-20T10:00:00+09:00"

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A private copy of the 2022-2 package to break."""
    target = tmp_path / "package"
    shutil.copytree(ROUND_2022_2 / "package", target)
    return target


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def run_round(data: Path, *extra: str) -> tuple[int, str, str]:
    return cli("round", "run", "--config", str(CONFIG), "--data", str(data), "--now", NOW,
               "--approve", *extra)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_bytes(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, f"{old!r} not in {path.name}"
    path.write_bytes(data.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def stored_applications() -> int:
    with session_scope(get_engine()) as session:
        return session.execute(select(func.count()).select_from(Application)).scalar_one()


ROW_CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "bad-brn-checksum": (
        lambda p: edit(p / "participants.csv", "785-87-46035,", "785-87-46036,"),
        ["participants.csv 2행, brn 열, 값 '785-87-46036'"]),
    "malformed-brn": (
        lambda p: edit(p / "participants.csv", "494-86-63941", "49486639"),
        ["participants.csv 3행, brn 열, 값 '49486639'"]),
    "unknown-receipt": (
        lambda p: append(p / "scores.csv", "2022-2-999,R01,10,10,10\n"),
        ["scores.csv 141행, receipt_no 열, 값 '2022-2-999': 알 수 없는 접수번호입니다"]),
    "score-out-of-range": (
        lambda p: edit(p / "scores.csv", "2022-2-004,R01,15.5,18.7,25.4",
                       "2022-2-004,R01,15.5,18.7,45"),
        ["scores.csv 12행, cooperation 열, 값 '45'"]),
    "score-not-numeric": (
        lambda p: edit(p / "scores.csv", "2022-2-004,R02,14.4,18.8,18.1",
                       "2022-2-004,R02,abc,18.8,18.1"),
        ["scores.csv 13행, growth 열, 값 'abc'"]),
    "broken-date": (
        lambda p: edit(p / "participants.csv", "2021-11-13", "2021-13-45"),
        ["participants.csv 2행, founded_on 열, 값 '2021-13-45'"]),
    "broken-datetime": (
        lambda p: edit(p / "applications.csv", "2022-05-14T08:48:00", "2022-05-32T08:48"),
        ["applications.csv 5행, submitted_at 열, 값 '2022-05-32T08:48'"]),
    "cell-in-the-other-encoding": (  # a cell pasted from a CP949 file into a UTF-8 one
        lambda p: edit_bytes(p / "applications.csv", "퍼걸러".encode(), "퍼걸러".encode("cp949")),
        # c6 db b0 c9 b7 af: "db b0" and "c9 b7" happen to be UTF-8 characters too; the whole
        # cell is CP949 (issue 22 item 9: it was called "neither UTF-8 nor CP949")
        ["applications.csv 6행, product_name 열, 값 '\ufffd۰ɷ\ufffd': UTF-8 파일 "
         "안의 CP949 텍스트입니다"]),
    "byte-of-neither-encoding": (  # "퍼" in CP949, then a byte no CP949 character starts with
        lambda p: edit_bytes(p / "applications.csv", "퍼걸러".encode(),
                             "퍼".encode("cp949") + b"\xff"),
        ["applications.csv 6행, product_name 열, 값 '\ufffd\ufffd\ufffd': UTF-8도 "
         "CP949도 아닌 바이트가 있습니다 (0xc6 0xdb 0xff)"]),
    "nul-in-a-cell": (
        lambda p: edit_bytes(p / "participants.csv", "강지훈".encode(), "강\x00지훈".encode()),
        ["participants.csv 4행, representative 열, 값 '강␀지훈': NUL 문자(바이트 0x00)가 "
         "들어 있습니다"]),
    "field-over-the-csv-limit": (
        lambda p: edit(p / "applications.csv", "태양광조명등", "태양광" * 50_000),
        ["applications.csv 4행, product_name 열: CSV로 읽을 수 없습니다: field larger"]),
    "truncated-csv": (
        lambda p: (p / "documents.csv").write_bytes((p / "documents.csv").read_bytes()[:-25]),
        ["documents.csv 160행"]),
}


@pytest.mark.parametrize("case", list(ROW_CASES), ids=list(ROW_CASES))
def test_bad_rows_are_named_and_the_good_rows_kept(env: Path, package: Path, case: str) -> None:
    breaks, messages = ROW_CASES[case]
    breaks(package)
    code, _, stderr = run_round(package)
    assert code == 2
    for message in messages:
        assert message in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")
    assert "row(s) rejected" in stderr
    assert stored_applications() >= 35  # every good application is kept


def test_fixing_the_rows_and_importing_again_completes_the_round(env: Path, package: Path
                                                                 ) -> None:
    edit(package / "participants.csv", "785-87-46035,", "785-87-46036,")
    assert run_round(package)[0] == 2
    shutil.copyfile(ROUND_2022_2 / "package" / "participants.csv", package / "participants.csv")
    code, stdout, _ = run_round(package)
    assert code == 0 and "support" in stdout
    code, decisions, _ = cli("export", "decisions", "--round", "2022-2")
    assert decisions.replace("\r\n", "\n") == (ROUND_2022_2 / "expected" / "decisions.csv"
                                               ).read_text(encoding="utf-8")


FILE_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "wrong-encoding": (
        lambda p: (p / "applications.csv").write_bytes(
            (p / "applications.csv").read_text(encoding="utf-8").encode("utf-16")),
        "applications.csv"),
    "missing-file": (lambda p: (p / "sanctions.csv").unlink(), "sanctions.csv"),
    "empty-package": (lambda p: [f.unlink() for f in p.iterdir()], "empty package"),
    "missing-column": (
        lambda p: edit(p / "reviewers.csv", "reviewer_id,name,email", "reviewer_id,name"),
        "email"),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_unreadable_packages_fail_fast_with_one_line(env: Path, package: Path, case: str) -> None:
    breaks, named = FILE_CASES[case]
    breaks(package)
    code, _, stderr = run_round(package)
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0]
    assert stored_applications() == 0


def test_missing_configuration_and_bad_clock_are_one_line_errors(env: Path) -> None:
    code, _, stderr = cli("round", "run", "--config", "/nonexistent/round.toml", "--data",
                          str(ROUND_2022_2 / "package"))
    assert code == 1 and stderr.strip() == "error: /nonexistent/round.toml: file not found"
    code, _, stderr = cli("round", "run", "--config", str(CONFIG), "--data",
                          str(ROUND_2022_2 / "package"), "--now", "yesterday")
    assert code != 0 and "not an ISO 8601 date-time" in stderr


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_clock_outside_the_representable_dates_is_one_line_not_a_traceback(
        env: Path, now: str) -> None:
    code, _, stderr = cli("certificates", "verify", "22-IG0001", "--now", now)
    assert code == 2 and "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        f"error: --now: not an ISO 8601 date-time (years 1–9999, time zone at most ±14:00): "
        f"{now!r}"]


def test_invalid_round_configuration_names_the_field(env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "round.toml"
    bad.write_text(CONFIG.read_text(encoding="utf-8").replace(
        'closes_at = "2022-05-27T18:00:00+09:00"', 'closes_at = "2022-04-27T18:00:00+09:00"'),
        encoding="utf-8")
    code, _, stderr = cli("round", "run", "--config", str(bad), "--data",
                          str(ROUND_2022_2 / "package"))
    assert code == 1 and "closes_at must be after opens_at" in stderr


def test_V4_missing_reviews_exit_non_zero_naming_each_receipt(env: Path, package: Path) -> None:
    scores = (package / "scores.csv").read_text(encoding="utf-8").splitlines()
    keep = [s for s in scores
            if not s.startswith("2022-2-031,") or s.endswith("R02,15.7,20.3,33.1")]
    (package / "scores.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    code, _, stderr = run_round(package)
    assert code == 3
    assert stderr.strip().splitlines()[-1].startswith("error: cannot decide")
    assert "2022-2-031" in stderr and "nothing was decided" in stderr


def test_exports_of_an_unknown_round_say_so(env: Path) -> None:
    code, _, stderr = cli("export", "decisions", "--round", "1999-9")
    assert code == 1 and "no round '1999-9'" in stderr
    code, _, stderr = cli("export", "selection", "--round", "1999-9", "--format", "xlsx")
    assert code != 0 and "--out" in stderr


def test_chair_changes_from_the_command_line(env: Path) -> None:
    code, _, stderr = run_round(ROUND_2022_2 / "package", "--exclude", "2022-2-999=사유")
    assert code == 1 and "2022-2-999" in stderr
    code, stdout, _ = run_round(ROUND_2022_2 / "package", "--exclude", "2022-2-018=협약 철회")
    assert code == 0, stdout
    _, decisions, _ = cli("export", "decisions", "--round", "2022-2")
    assert "2022-2-018,innovation,not_selected,72.50,6,CHAIR_EXCLUDED" in decisions


def test_exports_wait_for_the_committee_and_say_when_not_released(env: Path) -> None:
    data = str(ROUND_2022_2 / "package")
    base = ("round", "run", "--config", str(CONFIG), "--data", data, "--now", NOW)
    assert cli(*base, "--until", "screening")[0] == 0
    code, _, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 1 and "no decisions to export yet" in stderr
    assert cli(*base)[0] == 0  # stops at the chair's approval
    code, decisions, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 0 and "proposals, not approved" in stderr
    statuses = {line.split(",")[2] for line in decisions.splitlines()[1:]}
    assert statuses == {"selected", "not_selected", "ineligible"}
    code, _, stderr = cli("report", "announcement", "--round", "2022-2")
    assert code == 1 and "must reach decided" in stderr


def test_an_announcement_with_no_selection_has_no_empty_lines(env: Path) -> None:
    data = str(ROUND_2022_2 / "package")
    selected = [line.split(",")[0] for line in (ROUND_2022_2 / "expected" / "decisions.csv")
                .read_text(encoding="utf-8-sig").splitlines() if ",selected," in line]
    excludes = [arg for r in selected for arg in ("--exclude", f"{r}=예산 소진")]
    code, _, stderr = cli("round", "run", "--config", str(CONFIG), "--data", data, "--now", NOW,
                          "--approve", *excludes)
    assert code == 0, stderr
    code, text, _ = cli("report", "announcement", "--round", "2022-2")
    assert code == 0
    assert "0개 과제를 최종 선정했다" in text
    assert "\n* \n" not in text and "\n*\n" not in text
    code, listing, _ = cli("export", "selection", "--round", "2022-2", "--format", "md")
    assert code == 0 and len(listing.strip().splitlines()) == 2  # header and rule only


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings and engines read again from the environment the test sets."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()
    yield
    get_settings.cache_clear()
    dispose_engines()


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SANGSAENG_SMTP_PORT", "abc", "environment variable SANGSAENG_SMTP_PORT"),
    ("SANGSAENG_SMTP_PASSWORD", "changeme", "SANGSAENG_SMTP_PASSWORD is a placeholder"),
], ids=["bad-port", "placeholder-secret"])
def test_bad_settings_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, fresh_settings: None,
                                          variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    code, _, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 1 and message in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://sangsaeng:s3cr3t-pw@127.0.0.1:5999/db",
    "postgresql+psycopg:///db?user=u&password=s3cr3t-pw&host=127.0.0.1&port=5999",
    "postgresql+psycopg://u:s3cr3t@-pw@127.0.0.1:5999/db",
], ids=["userinfo", "query", "unencoded-at"])
def test_database_errors_never_show_the_password(monkeypatch: pytest.MonkeyPatch,
                                                 fresh_settings: None, url: str) -> None:
    monkeypatch.setenv("SANGSAENG_DATABASE_URL", url)
    code, _, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 1 and stderr.startswith("error: database error")
    assert "s3cr3t" not in stderr and "-pw" not in stderr


def test_a_database_from_a_newer_release_is_refused_in_one_line(env: Path) -> None:
    from sqlalchemy import text

    from sangsaeng.db import dispose_engines, get_engine

    with get_engine().begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    dispose_engines()
    code, _, stderr = cli("export", "decisions", "--round", "2022-2")
    assert code == 1 and "cannot migrate the database" in stderr and "9999" in stderr


def test_a_line_break_in_a_name_is_rejected_and_reaches_no_mail(env: Path, package: Path
                                                                ) -> None:
    edit(package / "applications.csv", "2022-2-001,innovation,스마트가로등,",
         '2022-2-001,innovation,"스마트가로등\r\nBcc: x@x.example",')
    code, _, stderr = run_round(package)
    assert code == 2
    assert ("applications.csv 2행, product_name 열, 값 '스마트가로등\\r\\nBcc: "
            "x@x.example': 줄바꿈 문자(U+000D)가 들어 있습니다: 한 줄로 써야 합니다") in stderr
    assert stored_applications() == 35
    mails = list((env / "mail").rglob("*.eml"))
    assert mails  # the other applicants' receipts went out
    assert not any(b"x@x.example" in mail.read_bytes() for mail in mails)
