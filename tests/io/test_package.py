"""Round-package reader (INTERFACES §2): the 2022-2 package in every encoding a user may send,
and each mistake a user may make, reported with file, row, column and value."""

from __future__ import annotations

import csv
import io
import random
import re
import shutil
import tomllib
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sangsaeng.domain.brn import check_digit
from sangsaeng.domain.clock import KST
from sangsaeng.io.package import (
    CriterionSpec,
    DocumentRow,
    PackageError,
    ParticipantRow,
    RoundPackage,
    RowError,
    read_package,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "data" / "rounds" / "2022-2" / "package"
TRACKS = tuple(tomllib.loads((ROOT / "config/rounds/2022-2.toml").read_text())["tracks"])
_PROGRAM = tomllib.loads((ROOT / "config/program.toml").read_text())
CRITERIA = tuple(CriterionSpec(c["key"], Decimal(str(c["max"]))) for c in _PROGRAM["criteria"])
CRITERIA_BY_TRACK = dict.fromkeys(TRACKS, CRITERIA)

FILES = (
    "applications",
    "participants",
    "documents",
    "reviewers",
    "affiliations",
    "scores",
    "sanctions",
    "certificates",
    "production",
)
COUNTS = {
    "applications": 36,
    "participants": 89,
    "documents": 159,
    "reviewers": 9,
    "affiliations": 2,
    "scores": 139,
    "sanctions": 1,
    "certificates": 0,
    "production": 29,
}


def read(path: Path, **known: Any) -> RoundPackage:
    return read_package(path, tracks=TRACKS, criteria_by_track=CRITERIA_BY_TRACK, **known)


def counts(package: RoundPackage) -> dict[str, int]:
    return {name: len(getattr(package, name)) for name in FILES}


def rows_of(package: RoundPackage) -> dict[str, list[Any]]:
    """Every row with its row number (file names differ between CSV and XLSX)."""
    return {name: [(r.row, r) for r in getattr(package, name)] for name in FILES}


def brn(n: int) -> str:
    """A valid BRN, distinct for each n."""
    nine = f"{900000000 + n:09d}"
    return f"{nine[:3]}-{nine[3:5]}-{nine[5:]}{check_digit(nine)}"


def csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def records(folder: Path, name: str) -> list[list[str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def append_row(folder: Path, name: str, values: dict[str, str]) -> int:
    """Append a row (columns not given are empty); returns its spreadsheet row number."""
    header = records(folder, name)[0]
    with (folder / f"{name}.csv").open("a", encoding="utf-8", newline="") as f:
        f.write(csv_line([values.get(column, "") for column in header]))
    return len(records(folder, name))


def set_cell(folder: Path, name: str, row: int, column: str, value: str) -> None:
    table = records(folder, name)
    table[row - 1][table[0].index(column)] = value
    (folder / f"{name}.csv").write_text("".join(map(csv_line, table)), encoding="utf-8")


def drop_rows(folder: Path, name: str, keep: Any) -> None:
    table = records(folder, name)
    kept = [table[0]] + [r for r in table[1:] if keep(dict(zip(table[0], r, strict=True)))]
    (folder / f"{name}.csv").write_text("".join(map(csv_line, kept)), encoding="utf-8")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A private copy of the 2022-2 package to spoil."""
    return Path(shutil.copytree(PACKAGE, tmp_path / "package"))


# --- the real package, in every shape a user may send it -------------------------------


def test_reads_the_2022_2_package() -> None:
    package = read(PACKAGE)
    assert counts(package) == COUNTS
    assert package.errors == []
    assert package.rejected == 0
    assert package.source == str(PACKAGE)
    assert set(package.encodings) == {f"{name}.csv" for name in FILES}
    assert set(package.encodings.values()) == {"utf-8"}


def test_values_are_typed_and_normalised() -> None:
    package = read(PACKAGE)
    first = package.applications[0]
    assert (first.receipt_no, first.track, first.product_code) == (
        "2022-2-001",
        "innovation",
        "3912110901",
    )
    # T1: a naive timestamp is KST.
    assert first.submitted_at == datetime(2022, 5, 14, 17, 39, tzinfo=KST)
    assert first.submitted_at.utcoffset() == timedelta(hours=9)
    assert (first.file, first.row) == ("applications.csv", 2)
    lead = package.participants[0]
    assert lead == ParticipantRow(
        "2022-2-001",
        "lead",
        1,
        "785-87-46035",
        "㈜래이정밀",
        "small",
        date(2021, 11, 13),
        "정지훈",
        "contact9459@company.example",
        "경기도 화성시 산업로 206",
        False,
    )
    assert package.documents[0].brn is None  # empty = the application's own document
    assert package.scores[0].scores == {
        "growth": Decimal("16.5"),
        "plan": Decimal("15.1"),
        "cooperation": Decimal("23.4"),
    }
    assert all(isinstance(v, Decimal) for s in package.scores for v in s.scores.values())
    assert package.affiliations[0].until == date(2020, 12, 31)
    assert package.sanctions[0].reason.startswith("허위 신청으로")


def _as_cp949(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp949"))


def _with_bom(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _with_lf(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))


def _with_crlf(folder: Path) -> None:
    _with_lf(folder)
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def _with_padding(folder: Path) -> None:
    """Spaces around every cell and header name, a blank line, an extra column and file."""
    for path in folder.glob("*.csv"):
        table = records(folder, path.stem)
        padded = [[f"  {cell} " for cell in row] + [" note "] for row in table]
        padded.insert(1, [])
        path.write_text("".join(map(csv_line, padded)), encoding="utf-8")
    (folder / "notes.csv").write_text("anything,at all\n", encoding="utf-8")
    (folder / "README.txt").write_text("not part of the package\n", encoding="utf-8")


ENCODED = [
    pytest.param(_as_cp949, {"participants.csv": "cp949", "scores.csv": "utf-8"}, id="cp949"),
    pytest.param(_with_bom, {"applications.csv": "utf-8-sig"}, id="utf-8-with-bom"),
    pytest.param(_with_lf, {"sanctions.csv": "utf-8"}, id="lf"),
    pytest.param(_with_crlf, {"sanctions.csv": "utf-8"}, id="crlf"),
]


@pytest.mark.parametrize(("convert", "encodings"), ENCODED)
def test_same_package_in_another_encoding_gives_identical_rows(
    package: Path, convert: Any, encodings: dict[str, str]
) -> None:
    convert(package)
    result = read(package)
    assert result.errors == []
    assert rows_of(result) == rows_of(read(PACKAGE))
    assert encodings.items() <= result.encodings.items()


def test_cp949_is_detected_for_every_file_with_korean(package: Path) -> None:
    _as_cp949(package)
    encodings = read(package).encodings
    korean = ("applications", "participants", "reviewers", "sanctions")
    assert {f"{name}.csv": "cp949" for name in korean}.items() <= encodings.items()


def test_padding_blank_rows_extra_columns_and_files_are_ignored(package: Path) -> None:
    _with_padding(package)
    result = read(package)
    assert result.errors == []
    # Same values; every data row is one line further down (the blank line).
    assert {n: [r for _, r in rows] for n, rows in rows_of(result).items()} == {
        n: [r for _, r in rows] for n, rows in rows_of(read(PACKAGE)).items()
    }
    assert result.applications[0].row == 3


_DATE_COLUMNS = {"founded_on", "until", "banned_until", "valid_from", "valid_to"}
_DATETIME_COLUMNS = {"submitted_at", "confirmed_at"}


def _typed(column: str, text: str) -> Any:
    """The cell a user's Excel would hold for this CSV text."""
    if not text:
        return None
    if column in _DATE_COLUMNS:
        return date.fromisoformat(text)
    if column in _DATETIME_COLUMNS:
        return datetime.fromisoformat(text)
    if column in {"seq", "product_code"}:
        return int(text)
    if column in {c.key for c in CRITERIA}:
        return float(text)
    if column == "direct_production":
        return text == "true"
    return text


def write_workbook(folder: Path, path: Path, *, typed: bool, skip: tuple[str, ...] = ()) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in FILES:
        if name in skip:
            continue
        sheet = book.create_sheet(name)
        header, *rows = records(folder, name)
        sheet.append(header)
        for row in rows:
            cells = zip(header, row, strict=True)
            sheet.append([_typed(c, v) if typed else v for c, v in cells])
    book.save(path)
    return path


@pytest.mark.parametrize("typed", [False, True], ids=["xlsx-text-cells", "xlsx-typed-cells"])
def test_same_package_as_one_workbook_gives_identical_rows(tmp_path: Path, typed: bool) -> None:
    workbook = write_workbook(PACKAGE, tmp_path / "package.xlsx", typed=typed)
    result = read(workbook)
    assert result.errors == []
    assert rows_of(result) == rows_of(read(PACKAGE))
    assert result.encodings["package.xlsx[scores]"] == "xlsx"
    assert result.applications[0].file == "package.xlsx[applications]"


def test_workbook_errors_name_the_sheet_and_its_row(tmp_path: Path) -> None:
    workbook = write_workbook(PACKAGE, tmp_path / "package.xlsx", typed=True)
    book = openpyxl.load_workbook(workbook)
    book["scores"]["E5"] = 40.5  # cooperation, max 40
    book["scores"].insert_rows(3)  # a blank row: later rows keep the sheet's numbers
    book.save(workbook)
    result = read(workbook)
    assert [str(e) for e in result.errors] == [
        "package.xlsx[scores] 6행, cooperation 열, 값 '40.5': "
        "점수가 최고점 40점을 넘습니다 ('40.5')"
    ]
    assert len(result.scores) == COUNTS["scores"] - 1


ONE_LINE = {  # file, row, column, value with a control character, what it holds
    "crlf-in-product": ("applications", 2, "product_name", "스마트가로등\r\nBcc: x@x.example",
                        "줄바꿈 문자(U+000D)"),
    "lf-in-company": ("participants", 3, "name", "(주)테동한\n이앤씨", "줄바꿈 문자(U+000A)"),
    "tab-in-representative": ("participants", 3, "representative", "박\t서연",
                              "탭 문자(U+0009)"),
    "vertical-tab-in-address": ("participants", 3, "address", "서울특별시\x0b금천구",
                                "제어 문자(U+000B)"),
    "line-separator-in-reviewer": ("reviewers", 2, "name", "박평가1\u2028R",
                                   "줄바꿈 문자(U+2028)"),
}


# Issue 22 item 8: a name that displays reversed, or looks like another it is not.
SPOOFING = {  # file, row, column, a value that looks like another, what it holds
    "right-to-left-override-in-product": ("applications", 2, "product_name",
                                          "스마트가로등\u202egpj.exe",
                                          "양방향 제어 문자(U+202E)"),
    "isolate-in-company": ("participants", 3, "name", "(주)테동한\u2067이앤씨",
                           "양방향 제어 문자(U+2067)"),
    "zero-width-space-in-company": ("participants", 3, "name", "(주)테동\u200b한이앤씨",
                                    "폭 없는 문자(U+200B)"),
    "word-joiner-in-reviewer": ("reviewers", 2, "name", "박평\u2060가1",
                                "폭 없는 문자(U+2060)"),
    "bom-inside-a-cell": ("participants", 3, "representative", "박\ufeff서연",
                          "폭 없는 문자(U+FEFF)"),
}


WHY = {**dict.fromkeys(ONE_LINE, "한 줄로 써야 합니다"),
       **dict.fromkeys(SPOOFING, "이름이 다른 이름처럼 보일 수 있습니다")}


@pytest.mark.parametrize("case", list(WHY), ids=list(WHY))
def test_a_name_with_a_line_break_control_or_spoofing_character_is_rejected_with_its_column(
    package: Path, case: str
) -> None:
    file, row, column, value, what = {**ONE_LINE, **SPOOFING}[case]
    set_cell(package, file, row, column, value)
    result = read(package)
    error = RowError(f"{file}.csv", row, column, value, f"{what}가 들어 있습니다: {WHY[case]}")
    assert error in result.errors
    assert "\n" not in str(error) and "\r" not in str(error)  # the message is one line
    assert value not in {getattr(r, column) for r in getattr(result, file)}  # not stored
    assert len(result.sanctions) == COUNTS["sanctions"]  # the other files are read


def test_an_alt_enter_line_break_in_a_workbook_name_is_rejected(tmp_path: Path) -> None:
    workbook = write_workbook(PACKAGE, tmp_path / "package.xlsx", typed=True)
    book = openpyxl.load_workbook(workbook)
    book["reviewers"]["B3"] = "정평가2\n(위원장)"  # Alt+Enter in Excel
    book.save(workbook)
    result = read(workbook)
    assert [str(e) for e in result.errors if e.file == "package.xlsx[reviewers]"] == [
        "package.xlsx[reviewers] 3행, name 열, 값 '정평가2\\n(위원장)': "
        "줄바꿈 문자(U+000A)가 들어 있습니다: 한 줄로 써야 합니다"]
    assert len(result.reviewers) == COUNTS["reviewers"] - 1


def test_a_workbook_with_a_wrong_stored_size_is_read_in_full(tmp_path: Path) -> None:
    # Some exporters store a stale <dimension>; openpyxl would stop reading at it.
    written = write_workbook(PACKAGE, tmp_path / "written.xlsx", typed=True)
    workbook = tmp_path / "package.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(workbook, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', data)
            target.writestr(item, data)
    result = read(workbook)
    assert result.errors == []
    assert counts(result) == COUNTS


# --- one bad value: reported with file, row, column and value; everything else kept -------

NEW_ROWS = {
    "applications": {
        "receipt_no": "2022-2-037",
        "track": "value",
        "product_name": "시험제품",
        "product_code": "3912110901",
        "submitted_at": "2022-05-20T10:00:00",
    },
    "participants": {
        "receipt_no": "2022-2-001",
        "role": "partner",
        "seq": "2",
        "brn": brn(1),
        "name": "㈜시험산업",
        "size": "small",
        "founded_on": "2015-03-01",
        "representative": "홍길동",
        "email": "test@company.example",
        "address": "서울특별시 금천구 산업로 1",
        "direct_production": "true",
    },
    "documents": {
        "receipt_no": "2022-2-001",
        "brn": "785-87-46035",
        "doc_type": "sme_certificate",
        "submitted_at": "2022-05-20T10:00:00",
    },
    "reviewers": {"reviewer_id": "R10", "name": "한평가10", "email": "r10@review.example"},
    "affiliations": {"reviewer_id": "R01", "brn": brn(2), "until": ""},
    "scores": {
        "receipt_no": "2022-2-001",
        "reviewer_id": "R09",
        "growth": "30",
        "plan": "0",
        "cooperation": "39.5",
    },
    "sanctions": {"brn": brn(3), "banned_until": "2027-01-31", "reason": ""},
    "certificates": {
        "number": "21-IG0001",
        "brn": brn(4),
        "product_code": "3912110901",
        "valid_from": "2021-01-01",
        "valid_to": "2023-12-31",
    },
    "production": {
        "receipt_no": "2022-2-001",
        "brn": "785-87-46035",
        "confirmed_at": "2022-07-15T10:00:00+09:00",
    },
}


@pytest.mark.parametrize("name", [n for n in FILES if n != "applications"])
def test_a_good_new_row_is_accepted(package: Path, name: str) -> None:
    # The bad-value cases below spoil exactly one cell of these rows.
    append_row(package, name, NEW_ROWS[name])
    result = read(package)
    assert result.errors == []
    assert counts(result) == {**COUNTS, name: COUNTS[name] + 1}


def test_a_good_new_application_is_accepted(package: Path) -> None:
    append_row(package, "applications", NEW_ROWS["applications"])
    for role, n in (("lead", 5), ("partner", 6)):
        new = {**NEW_ROWS["participants"], "receipt_no": "2022-2-037", "role": role}
        append_row(package, "participants", {**new, "seq": "1", "brn": brn(n)})
    result = read(package)
    assert result.errors == []
    assert len(result.applications) == COUNTS["applications"] + 1


NOT_A_BRN = "사업자등록번호가 아닙니다 (XXX-XX-XXXXX 형식의 숫자 10자리)"
NOT_A_DATE = "올바른 날짜가 아닙니다 (YYYY-MM-DD 형식)"
NOT_A_DATETIME = "올바른 날짜와 시각이 아닙니다 (ISO 8601 형식, 예: 2022-05-14T17:39:00)"
NOT_AN_EMAIL = "이메일 주소 하나가 아닙니다 (표시 이름 없이 주소 하나만)"
CHECK_DIGIT = "사업자등록번호의 검증 숫자가 맞지 않습니다"
UNKNOWN_RECEIPT = "알 수 없는 접수번호입니다"
BAD_VALUES = [
    # C1: BRN
    ("participants", "brn", "124-81-00997", CHECK_DIGIT, "brn-check-digit"),
    ("participants", "brn", "1248100997", CHECK_DIGIT, "brn-digits-only-bad"),
    ("participants", "brn", "12-481-00998", NOT_A_BRN, "brn-hyphens-misplaced"),
    ("participants", "brn", "124-81-0099", NOT_A_BRN, "brn-nine-digits"),
    ("participants", "brn", "１２４-８１-００９９８", NOT_A_BRN, "brn-full-width-digits"),
    ("participants", "brn", "", "값이 없습니다", "brn-empty"),
    ("sanctions", "brn", "124-81-00997", CHECK_DIGIT, "sanction-brn"),
    ("affiliations", "brn", "", "값이 없습니다", "affiliation-brn-empty"),
    ("certificates", "brn", "abc", NOT_A_BRN, "certificate-brn"),
    # dates and datetimes
    ("participants", "founded_on", "2021-02-30", NOT_A_DATE, "date-feb-30"),
    ("participants", "founded_on", "2021/11/13", NOT_A_DATE, "date-slashes"),
    ("participants", "founded_on", "13.11.2021", NOT_A_DATE, "date-day-first"),
    ("participants", "founded_on", "2021-11-13T00:00:00", NOT_A_DATE, "date-with-time"),
    ("affiliations", "until", "2020-12", NOT_A_DATE, "date-month-only"),
    ("sanctions", "banned_until", "", "값이 없습니다", "date-empty"),
    ("certificates", "valid_to", "2020-12-31", "valid_to가 valid_from보다 이릅니다",
     "dates-reversed"),
    ("applications", "submitted_at", "2022-05-32T10:00:00", NOT_A_DATETIME, "datetime-day-32"),
    ("applications", "submitted_at", "2022-05-20", NOT_A_DATETIME, "datetime-date-only"),
    ("documents", "submitted_at", "2022/05/20 10:00", NOT_A_DATETIME, "datetime-slashes"),
    ("documents", "submitted_at", "어제 오후", NOT_A_DATETIME, "datetime-words"),
    ("production", "confirmed_at", "2022-07-15T25:00:00", NOT_A_DATETIME, "datetime-hour-25"),
    # other values
    (
        "applications",
        "track",
        "capability",
        "이 회차의 분야가 아닙니다 (innovation, materials, convergence, value 중 하나)",
        "track-not-offered",
    ),
    (
        "applications",
        "product_code",
        "391211090",
        "물품분류번호가 아닙니다 (숫자 10자리)",
        "product-code-nine-digits",
    ),
    ("applications", "receipt_no", "", "값이 없습니다", "receipt-no-empty"),
    ("applications", "product_name", "", "값이 없습니다", "product-name-empty"),
    ("participants", "seq", "0", "양의 정수가 아닙니다", "seq-zero"),
    ("participants", "seq", "1.5", "양의 정수가 아닙니다", "seq-fraction"),
    ("participants", "role", "member", "참여 역할이 아닙니다 (lead 또는 partner)", "role"),
    (
        "participants",
        "size",
        "중소기업",
        "기업 규모가 아닙니다 (micro, small, medium, midsize, large 중 하나)",
        "size-in-korean",
    ),
    (
        "participants",
        "direct_production",
        "maybe",
        "예/아니요 값이 아닙니다 (true/false, Y/N 또는 1/0)",
        "boolean",
    ),
    ("participants", "name", "", "값이 없습니다", "name-empty"),
    ("participants", "email", "a@x.example, b@x.example", NOT_AN_EMAIL, "email-two"),
    ("participants", "email", "홍길동 <a@x.example>", NOT_AN_EMAIL, "email-display-name"),
    (
        "participants",
        "email",
        "a@x.example\r\nBcc: evil@y.example",
        NOT_AN_EMAIL,
        "email-header-injection",
    ),
    ("participants", "email", "김@x.example", NOT_AN_EMAIL, "email-korean-local-part"),
    ("participants", "email", "a b@x.example", NOT_AN_EMAIL, "email-space"),
    ("reviewers", "email", "r10-review.example", NOT_AN_EMAIL, "email-no-at"),
    ("reviewers", "name", "", "값이 없습니다", "reviewer-name-empty"),
    # V2: scores
    ("scores", "cooperation", "45", "점수가 최고점 40점을 넘습니다 ('45')", "score-above-40"),
    ("scores", "growth", "30.5", "점수가 최고점 30점을 넘습니다 ('30.5')", "score-above-30"),
    ("scores", "growth", "-1", "점수가 음수입니다 ('-1'): 점수는 0점부터 30점까지입니다",
     "score-negative"),
    ("scores", "plan", "30.01", "점수가 최고점 30점을 넘습니다 ('30.01')", "score-30.01"),
    ("scores", "plan", "12.25", "점수는 소수 첫째 자리까지만 쓸 수 있습니다 ('12.25')",
     "score-two-decimals"),
    ("scores", "plan", "abc", "점수가 숫자가 아닙니다 ('abc')", "score-abc"),
    ("scores", "plan", "NaN", "점수가 숫자가 아닙니다 ('NaN')", "score-nan"),
    ("scores", "plan", "inf", "점수가 숫자가 아닙니다 ('inf')", "score-inf"),
    ("scores", "plan", "1e1", "점수가 숫자가 아닙니다 ('1e1')", "score-exponent"),
    ("scores", "plan", "12,5", "점수가 숫자가 아닙니다 ('12,5')", "score-decimal-comma"),
    ("scores", "plan", "1_0", "점수가 숫자가 아닙니다 ('1_0')", "score-underscore"),
    # cross-file
    ("participants", "receipt_no", "2022-2-999", UNKNOWN_RECEIPT, "participant-receipt"),
    ("documents", "receipt_no", "2022-2-999", UNKNOWN_RECEIPT, "document-receipt"),
    ("scores", "receipt_no", "2022-2-999", UNKNOWN_RECEIPT, "score-receipt"),
    ("production", "receipt_no", "2022-2-999", UNKNOWN_RECEIPT, "production-receipt"),
    ("scores", "reviewer_id", "R99", "알 수 없는 평가위원 ID입니다", "score-reviewer"),
    ("affiliations", "reviewer_id", "R99", "알 수 없는 평가위원 ID입니다", "affiliation-reviewer"),
    (
        "documents",
        "brn",
        "559-81-39063",
        "접수번호 2022-2-001 신청의 참여기업이 아닙니다",
        "document-brn-of-another-application",
    ),
    (
        "production",
        "brn",
        "559-81-39063",
        "접수번호 2022-2-001 신청의 참여기업이 아닙니다",
        "production-brn-of-another-application",
    ),
    # duplicates
    (
        "applications",
        "receipt_no",
        "2022-2-001",
        "2행과 중복됩니다 (receipt_no 값이 같습니다)",
        "duplicate-application",
    ),
    (
        "reviewers",
        "reviewer_id",
        "R01",
        "2행과 중복됩니다 (reviewer_id 값이 같습니다)",
        "duplicate-reviewer",
    ),
    (
        "scores",
        "reviewer_id",
        "R01",
        "2행과 중복됩니다 (receipt_no, reviewer_id 값이 같습니다)",
        "duplicate-score",
    ),
    (
        "participants",
        "seq",
        "1",
        "3행과 중복됩니다 (receipt_no, role, seq 값이 같습니다)",
        "duplicate-participant-seq",
    ),
    (
        "participants",
        "brn",
        "494-86-63941",
        "3행과 중복됩니다 (receipt_no, brn 값이 같습니다)",
        "duplicate-participant-brn",
    ),
    ("certificates", "number", "", "값이 없습니다", "certificate-number-empty"),
]


@pytest.mark.parametrize(
    ("name", "column", "value", "message"),
    [pytest.param(*case[:4], id=case[4]) for case in BAD_VALUES],
)
def test_a_bad_value_is_reported_and_the_good_rows_are_kept(
    package: Path, name: str, column: str, value: str, message: str
) -> None:
    row = append_row(package, name, {**NEW_ROWS[name], column: value})
    result = read(package)
    assert result.errors == [RowError(f"{name}.csv", row, column, value, message)]
    assert (
        str(result.errors[0])
        == f"{name}.csv {row}행, {column} 열, 값 {value!r}: {message}"
    )
    assert counts(result) == COUNTS
    assert result.rejected == 1


def test_row_error_reads_as_the_user_sees_it() -> None:
    error = RowError("participants.csv", 5, "brn", "124-81-00997",
                     "사업자등록번호의 검증 숫자가 맞지 않습니다")
    assert str(error) == (
        "participants.csv 5행, brn 열, 값 '124-81-00997': "
        "사업자등록번호의 검증 숫자가 맞지 않습니다"
    )
    assert str(RowError("scores.csv", None, None, None, "unreadable")) == "scores.csv: unreadable"


def test_every_bad_value_of_a_row_is_reported_and_the_row_counted_once(package: Path) -> None:
    bad = {**NEW_ROWS["participants"], "brn": "124-81-00997", "size": "big", "seq": "x"}
    row = append_row(package, "participants", bad)
    result = read(package)
    assert [(e.row, e.column) for e in result.errors] == [
        (row, "seq"),
        (row, "brn"),
        (row, "size"),
    ]
    assert result.rejected == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Y", True), ("n", False), ("1", True), ("0", False), ("TRUE", True), ("False", False)],
    ids=["Y", "n", "1", "0", "TRUE", "False"],
)
def test_booleans_accept_true_false_y_n_1_0(package: Path, text: str, expected: bool) -> None:
    append_row(package, "participants", {**NEW_ROWS["participants"], "direct_production": text})
    assert read(package).participants[-1].direct_production is expected


def test_brn_and_offsets_are_normalised(package: Path) -> None:
    new = {**NEW_ROWS["documents"], "brn": "7858746035", "submitted_at": "2022-05-20T01:00Z"}
    append_row(package, "documents", new)
    document = read(package).documents[-1]
    assert document == DocumentRow(
        "2022-2-001", "785-87-46035", "sme_certificate", datetime(2022, 5, 20, 10, tzinfo=KST)
    )


# --- duplicates and C5 structure ------------------------------------------------------------


def test_the_same_document_twice_is_kept_once(package: Path) -> None:
    header, first = records(package, "documents")[:2]
    append_row(package, "documents", dict(zip(header, first, strict=True)))
    result = read(package)
    assert result.errors == []
    assert counts(result) == COUNTS


def test_production_confirmed_twice_differently_is_a_duplicate(package: Path) -> None:
    header, first = records(package, "production")[:2]
    again = {**dict(zip(header, first, strict=True)), "confirmed_at": "2022-07-16T10:00:00"}
    row = append_row(package, "production", again)
    assert [str(e) for e in read(package).errors] == [
        f"production.csv {row}행, brn 열, 값 '559-81-39063': "
        "2행과 중복됩니다 (receipt_no, brn 값이 같습니다)"
    ]


def test_a_bad_partner_rejects_its_application_and_everything_that_depends_on_it(
    package: Path,
) -> None:
    set_cell(package, "participants", 5, "brn", "124-81-00997")  # 2022-2-002's only partner
    result = read(package)
    dependent = "접수번호 2022-2-002의 신청이 거부되었습니다"
    messages = [(e.file, e.row, e.message) for e in result.errors]
    assert messages[:3] == [
        ("applications.csv", 3, "participants.csv에 이 신청의 협력기업이 없습니다"),
        ("participants.csv", 4, dependent),
        ("participants.csv", 5, "사업자등록번호의 검증 숫자가 맞지 않습니다"),
    ]
    assert {file for file, _, message in messages[3:] if message == dependent} == {
        "documents.csv",
        "scores.csv",
        "production.csv",
    }
    assert str(result.errors[2]) == (
        "participants.csv 5행, brn 열, 값 '124-81-00997': "
        "사업자등록번호의 검증 숫자가 맞지 않습니다"
    )
    kept = [a.receipt_no for a in result.applications]
    assert "2022-2-002" not in kept and len(kept) == COUNTS["applications"] - 1
    assert all(s.receipt_no != "2022-2-002" for s in result.scores)
    assert len(result.participants) == COUNTS["participants"] - 2


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (lambda r: r["role"] != "partner", "participants.csv에 이 신청의 협력기업이 없습니다"),
        (lambda r: r["role"] != "lead", "participants.csv에 이 신청의 주관기업이 없습니다"),
        (lambda r: False, "participants.csv에 이 신청의 주관기업과 협력기업이 없습니다"),
    ],
    ids=["no-partner", "no-lead", "no-participants"],
)
def test_c5_an_application_needs_a_lead_and_a_partner(
    package: Path, keep: Any, message: str
) -> None:
    drop_rows(package, "participants", lambda r: r["receipt_no"] != "2022-2-001" or keep(r))
    result = read(package)
    assert result.errors[0] == RowError("applications.csv", 2, "receipt_no", "2022-2-001", message)
    assert result.applications[0].receipt_no == "2022-2-002"
    assert {e.message for e in result.errors[1:]} == {"접수번호 2022-2-001의 신청이 거부되었습니다"}


def test_c5_the_representative_lead_has_seq_1(package: Path) -> None:
    set_cell(package, "participants", 2, "seq", "2")
    result = read(package)
    assert result.errors[0].message == "participants.csv에 이 신청의 seq가 1인 주관기업이 없습니다"
    assert result.errors[0].row == 2


def test_a_rejected_reviewer_drops_their_scores_with_a_reason(package: Path) -> None:
    set_cell(package, "reviewers", 10, "email", "r09@review.example; boss@review.example")
    result = read(package)
    assert result.errors[0].file == "reviewers.csv"
    rest = {(e.file, e.message) for e in result.errors[1:]}
    assert rest == {("scores.csv", "평가위원 R09의 행이 거부되었습니다")}
    assert len(result.scores) == COUNTS["scores"] - len(result.errors[1:])
    assert len(result.errors[1:]) > 0


# --- what an earlier import already holds ------------------------------------------------------


def _scores_only(folder: Path) -> None:
    for name in ("applications", "participants", "documents", "reviewers", "production"):
        drop_rows(folder, name, lambda r: False)


def test_known_rows_from_an_earlier_import_satisfy_cross_file_checks(package: Path) -> None:
    earlier = read(PACKAGE)
    _scores_only(package)
    known_participants: dict[str, set[str]] = {}
    for p in earlier.participants:
        known_participants.setdefault(p.receipt_no, set()).add(p.brn)
    result = read(
        package,
        known_applications={a.receipt_no: a.track for a in earlier.applications},
        known_reviewers={r.reviewer_id for r in earlier.reviewers},
        known_participants=known_participants,
    )
    assert result.errors == []
    assert result.scores == earlier.scores
    assert result.affiliations == earlier.affiliations


def test_without_them_every_score_is_an_unknown_receipt(package: Path) -> None:
    _scores_only(package)
    result = read(package)
    assert result.scores == []
    assert {e.message for e in result.errors if e.column == "receipt_no"} == {
        "알 수 없는 접수번호입니다"
    }
    assert result.rejected == COUNTS["scores"] + COUNTS["affiliations"]


def test_a_header_only_scores_file_needs_no_criterion_columns(package: Path) -> None:
    (package / "scores.csv").write_text("receipt_no,reviewer_id\n", encoding="utf-8")
    result = read(package)
    assert result.errors == [] and result.scores == []


def test_every_track_needs_criteria() -> None:
    with pytest.raises(ValueError, match=r"no criteria for materials, convergence, value$"):
        read_package(PACKAGE, tracks=TRACKS, criteria_by_track={"innovation": CRITERIA})


# --- broken files ----------------------------------------------------------------------------


def test_a_row_with_a_stray_comma_is_rejected(package: Path) -> None:
    with (package / "scores.csv").open("a", encoding="utf-8", newline="") as f:
        f.write("2022-2-001,R09,20,1,5,30\r\n")
    result = read(package)
    assert [str(e) for e in result.errors] == [
        "scores.csv 141행, 값 '2022-2-001,R09,20,1,5,30': "
        "이 행의 칸은 6개이고 머리글 행의 열은 5개입니다"
    ]
    assert counts(result) == COUNTS


def test_a_csv_cut_mid_row_loses_only_that_row(package: Path) -> None:
    data = (package / "scores.csv").read_bytes()
    (package / "scores.csv").write_bytes(data[:-12])
    result = read(package)
    assert [str(e) for e in result.errors] == [
        "scores.csv 140행, 값 '2022-2-036,R07,13.5': "
        "이 행의 칸은 3개이고 머리글 행의 열은 5개입니다"
    ]
    assert counts(result) == {**COUNTS, "scores": COUNTS["scores"] - 1}


TRUNCATED = "파일이 글자 중간에서 끝납니다: 파일이 잘렸을 수 있습니다"


@pytest.mark.parametrize(
    ("cut", "row", "column", "value"),
    [
        (lambda data: data[: data.index("위".encode()) + 1], 2, "reason", "허"),
        (lambda data: data[: data.index(b"\r\n") + 2] + "허".encode()[:2], 2, None, ""),
    ],
    ids=["inside-the-last-cell", "at-the-start-of-a-new-line"],
)
def test_a_csv_cut_mid_character_reports_the_cut_row(
    package: Path, cut: Any, row: int, column: str | None, value: str
) -> None:
    path = package / "sanctions.csv"
    path.write_bytes(cut(path.read_bytes()))
    result = read(package)
    assert result.errors == [RowError("sanctions.csv", row, column, value, TRUNCATED)]
    assert result.encodings["sanctions.csv"] == "utf-8"  # not misread as CP949
    assert counts(result) == {**COUNTS, "sanctions": 0}


def test_a_cp949_file_ending_in_hanja_is_not_taken_for_a_cut_utf8_file(package: Path) -> None:
    # 世 in CP949 (e1 a6) looks like the start of a 3-byte UTF-8 character.
    text = f"brn,banned_until,reason\r\n{brn(7)},2027-01-31,ban 世"
    (package / "sanctions.csv").write_bytes(text.encode("cp949"))
    result = read(package)
    assert result.errors == []
    assert result.encodings["sanctions.csv"] == "cp949"
    assert result.sanctions[0].reason == "ban 世"


def test_a_cp949_file_with_a_bad_value_shows_it_in_korean(package: Path) -> None:
    row = append_row(package, "participants", {**NEW_ROWS["participants"], "size": "소기업"})
    _as_cp949(package)
    result = read(package)
    assert str(result.errors[0]) == (
        f"participants.csv {row}행, size 열, 값 '소기업': "
        "기업 규모가 아닙니다 (micro, small, medium, midsize, large 중 하나)"
    )


def _utf16(data: bytes) -> bytes:
    return data.decode("utf-8").encode("utf-16")


def _utf16_no_bom(data: bytes) -> bytes:
    return data.decode("utf-8").encode("utf-16-le")


def _random(data: bytes) -> bytes:
    return random.Random(2022).randbytes(4096)


def _bom_then_cp949(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data.decode("utf-8").encode("cp949")


@pytest.mark.parametrize(
    ("name", "spoil", "message"),
    [
        ("applications", _utf16, "applications.csv is neither UTF-8 nor CP949 (first bad byte "
                                 "0xff at offset 0, in its header row)"),
        ("scores", _utf16_no_bom, "scores.csv is not CSV text (a NUL byte at offset 1, in its "
                                  "header row: UTF-16 or not a text file?)"),
        ("applications", _random, "applications.csv is neither UTF-8 nor CP949 (first bad "
                                  "byte 0x"),
        ("applications", _bom_then_cp949, "applications.csv is neither UTF-8 nor CP949 (first "
                                          "bad byte 0x"),
    ],
    ids=["utf-16", "utf-16-without-bom", "random-bytes", "bom-but-cp949"],
)
def test_a_file_in_another_encoding_is_refused(
    package: Path, name: str, spoil: Any, message: str
) -> None:
    path = package / f"{name}.csv"
    path.write_bytes(spoil(path.read_bytes()))
    with pytest.raises(PackageError) as caught:
        read(package)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith("); save it as UTF-8 CSV")


BAD_BYTES = "UTF-8도 CP949도 아닌 바이트가 있습니다 (0xbd 0xba): 칸을 다시 입력하거나 파일을 " \
    "UTF-8 CSV로 저장해 주십시오"
NUL_IN_CELL = "NUL 문자(바이트 0x00)가 들어 있습니다: 텍스트에는 없는 문자입니다. 파일을 UTF-8 " \
    "CSV로 저장해 주십시오"


def _spoil_cell(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, old
    path.write_bytes(data.replace(old, new))


def test_a_byte_of_neither_encoding_rejects_only_its_row_naming_row_and_column(
    package: Path
) -> None:
    # "스마" in CP949, then a byte no CP949 character starts with, in a UTF-8 file.
    _spoil_cell(package / "applications.csv", "스마트가로등".encode(),
                "스".encode("cp949") + b"\xba")
    result = read(package)
    assert result.errors[0] == RowError("applications.csv", 2, "product_name", "\ufffd\ufffd\ufffd",
                                        BAD_BYTES.replace("0xbd 0xba", "0xbd 0xba 0xba"))
    assert str(result.errors[0]).startswith(
        "applications.csv 2행, product_name 열, 값 '\ufffd\ufffd\ufffd': "
        "UTF-8도 CP949도 아닌 바이트가 있습니다 (0xbd")
    assert result.encodings["applications.csv"] == "utf-8"
    assert len(result.applications) == COUNTS["applications"] - 1  # the others are kept
    assert {e.file for e in result.errors} >= {"participants.csv", "scores.csv"}  # its rows


def test_a_bad_byte_in_a_cp949_file_rejects_only_its_row(package: Path) -> None:
    _as_cp949(package)
    _spoil_cell(package / "reviewers.csv", "박평가1".encode("cp949"),
                "박".encode("cp949") + b"\x80")  # no CP949 character starts with 0x80
    result = read(package)
    assert RowError("reviewers.csv", 2, "name", "박\ufffd",
                    "UTF-8도 CP949도 아닌 바이트가 있습니다 (0x80): 칸을 다시 입력하거나 "
                    "파일을 UTF-8 CSV로 저장해 주십시오") in result.errors
    assert result.encodings["reviewers.csv"] == "cp949"
    assert len(result.reviewers) == COUNTS["reviewers"] - 1


def test_a_utf8_row_in_a_cp949_file_is_called_utf8_not_a_bad_byte(package: Path) -> None:
    """Issue 22 item 9: the cell is valid UTF-8; the reason says so."""
    _as_cp949(package)
    _spoil_cell(package / "reviewers.csv", "박평가1".encode("cp949"), "박평가1".encode())
    result = read(package)
    [error] = [e for e in result.errors if e.file == "reviewers.csv"]
    assert (error.row, error.column) == (2, "name")
    assert error.message == ("CP949 파일 안의 UTF-8 텍스트입니다 (다른 방식으로 저장된 파일에서 "
                             "붙여 넣었습니까?): 파일 전체를 한 가지 인코딩, UTF-8 CSV로 저장해 "
                             "주십시오")
    assert result.encodings["reviewers.csv"] == "cp949"
    assert len(result.reviewers) == COUNTS["reviewers"] - 1


def test_a_nul_in_a_cell_is_called_a_nul_and_rejects_only_its_row(package: Path) -> None:
    _spoil_cell(package / "participants.csv", "㈜래이정밀".encode(), "㈜래\x00이정밀".encode())
    _spoil_cell(package / "documents.csv", b"2022-2-002,,agreement,", b"2022-2-002,,agr\x00,")
    result = read(package)
    nul_errors = [e for e in result.errors if e.message == NUL_IN_CELL]
    assert nul_errors == [RowError("participants.csv", 2, "name", "㈜래\u2400이정밀", NUL_IN_CELL),
                          RowError("documents.csv", 8, "doc_type", "agr\u2400", NUL_IN_CELL)]
    assert "name 열, 값 '㈜래␀이정밀': NUL 문자(바이트 0x00)" in str(nul_errors[0])
    assert len(result.participants) == COUNTS["participants"] - 2  # and the partner of 2022-2-001
    assert len(result.documents) == COUNTS["documents"] - 5  # and those of 2022-2-001


@pytest.mark.parametrize("field", ["x" * (1 << 20), '"' + "x,\n" * (1 << 18) + '"'],
                         ids=["1-MB", "1-MB-quoted-with-commas-and-line-breaks"])
def test_a_field_over_the_csv_size_limit_names_its_row_and_column(package: Path, field: str
                                                                  ) -> None:
    path = package / "documents.csv"
    path.write_bytes(path.read_bytes().replace(b"2022-2-002,,agreement,",
                                               f"2022-2-002,,{field},".encode()))
    result = read(package)
    assert result.errors[0] == RowError("documents.csv", 8, "doc_type", None,
                                        "CSV로 읽을 수 없습니다: field larger than field limit "
                                        "(131072)")


def test_missing_required_files_are_all_named(package: Path) -> None:
    (package / "scores.csv").unlink()
    (package / "sanctions.csv").unlink()
    with pytest.raises(PackageError, match=r"missing required files: scores\.csv, sanctions\.csv$"):
        read(package)


def test_optional_files_may_be_missing(package: Path) -> None:
    (package / "certificates.csv").unlink()
    (package / "production.csv").unlink()
    result = read(package)
    assert result.errors == []
    assert counts(result) == {**COUNTS, "production": 0}


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="does not exist"):
        read(tmp_path / "no-such-package")


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"is an empty package: none of the files applications"):
        read(tmp_path)


@pytest.mark.parametrize("suffix", [".xls", ".csv", ".zip", ""], ids=["xls", "csv", "zip", "none"])
def test_an_unsupported_file_type_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"package{suffix}"
    path.write_bytes(b"receipt_no\n")
    with pytest.raises(PackageError, match=r"unsupported file type .*one \.xlsx workbook"):
        read(path)


def test_a_damaged_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "package.xlsx"
    path.write_bytes(b"receipt_no,track\n")
    with pytest.raises(PackageError, match=r"package\.xlsx is not a readable \.xlsx workbook"):
        read(path)


def test_a_workbook_with_damaged_compressed_data_is_refused(tmp_path: Path) -> None:
    # Found by tests/fuzz: zlib's error escaped as a traceback.
    path = write_workbook(PACKAGE, tmp_path / "package.xlsx", typed=False)
    data = path.read_bytes()
    name = b"xl/worksheets/sheet1.xml"
    header = data.index(name) - 30  # its local file header (the first mention of the name)
    start = header + 30 + len(name) + int.from_bytes(data[header + 28 : header + 30], "little")
    path.write_bytes(data[:start] + b"\xff" * 16 + data[start + 16 :])
    with pytest.raises(PackageError, match=r"package\.xlsx is not a readable \.xlsx workbook"):
        read(path)


def test_a_workbook_without_a_required_sheet_is_refused(tmp_path: Path) -> None:
    workbook = write_workbook(PACKAGE, tmp_path / "p.xlsx", typed=False, skip=("reviewers",))
    with pytest.raises(PackageError, match=r"p\.xlsx is missing required sheet: reviewers$"):
        read(workbook)


def test_missing_columns_are_all_named_in_one_line(package: Path) -> None:
    set_cell(package, "participants", 1, "email", "e-mail")
    set_cell(package, "scores", 1, "cooperation", "cooperation_score")
    (package / "documents.csv").write_bytes(b"")
    with pytest.raises(PackageError) as caught:
        read(package)
    assert str(caught.value) == (
        "participants.csv is missing column email; documents.csv is empty (no header row); "
        "scores.csv is missing column cooperation"
    )


def test_a_file_cut_inside_its_header_is_refused(package: Path) -> None:
    (package / "reviewers.csv").write_bytes("이름".encode()[:4])
    with pytest.raises(PackageError, match=r"reviewers\.csv ends in the middle of a character"):
        read(package)


# --- size -------------------------------------------------------------------------------------


def _large_package(folder: Path, n: int) -> None:
    def write(name: str, header: str, lines: list[str]) -> None:
        (folder / f"{name}.csv").write_text("\n".join([header, *lines, ""]), encoding="utf-8")

    apps, people, docs, scores = [], [], [], []
    for i in range(n):
        rn, at = f"2030-1-{i:05d}", "2030-05-14T17:39:00"
        apps.append(f"{rn},{TRACKS[i % 4]},제품{i},{3912110901 + i},{at}")
        for role, company in (("lead", brn(2 * i)), ("partner", brn(2 * i + 1))):
            people.append(
                f"{rn},{role},1,{company},㈜회사{i},small,2020-01-01,홍길동,"
                f"c{i}@company.example,서울특별시 금천구 산업로 {i},true"
            )
        docs += [f"{rn},,{t},{at}" for t in ("application_form", "business_plan", "agreement")]
        docs.append(f"{rn},{brn(2 * i)},sme_certificate,{at}")
        scores += [f"{rn},R{(i + r) % 50:02d},21.5,13.0,32.1" for r in range(5)]
    write("applications", "receipt_no,track,product_name,product_code,submitted_at", apps)
    write("participants", ",".join(NEW_ROWS["participants"]), people)
    write("documents", "receipt_no,brn,doc_type,submitted_at", docs)
    write("scores", "receipt_no,reviewer_id,growth,plan,cooperation", scores)
    write(
        "reviewers",
        "reviewer_id,name,email",
        [f"R{r:02d},평가{r},r{r}@x.example" for r in range(50)],
    )
    write("affiliations", "reviewer_id,brn,until", [])
    write("sanctions", "brn,banned_until,reason", [])


def test_a_large_package_reads_completely(tmp_path: Path) -> None:
    # Speed is measured by bench/round_scale.py, not asserted here.
    _large_package(tmp_path, 10_000)
    result = read(tmp_path)
    assert result.errors == []
    assert (len(result.applications), len(result.participants)) == (10_000, 20_000)
    assert (len(result.documents), len(result.scores)) == (40_000, 50_000)


def test_V4_a_blank_criterion_is_an_incomplete_sheet_not_a_rejected_row(tmp_path: Path) -> None:
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    path = package / "scores.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "2022-2-001,R01,16.5,15.1,23.4", "2022-2-001,R01,16.5,,23.4"), encoding="utf-8")
    result = read(package)
    assert result.errors == []
    sheet = next(s for s in result.scores
                 if (s.receipt_no, s.reviewer_id) == ("2022-2-001", "R01"))
    assert sheet.scores == {"growth": Decimal("16.5"), "cooperation": Decimal("23.4")}


@pytest.mark.parametrize(("text", "stored"), [("21.70", "21.7"), ("21.7", "21.7"), ("32", "32.0"),
                                              ("32.0", "32.0"), ("0", "0.0")])
def test_V2_scores_have_one_canonical_form(tmp_path: Path, text: str, stored: str) -> None:
    """However a spreadsheet writes a score, the same value is stored the same way."""
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    path = package / "scores.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "2022-2-001,R01,16.5,15.1,23.4", f"2022-2-001,R01,16.5,15.1,{text}"), encoding="utf-8")
    sheet = next(s for s in read(package).scores
                 if (s.receipt_no, s.reviewer_id) == ("2022-2-001", "R01"))
    assert str(sheet.scores["cooperation"]) == stored
