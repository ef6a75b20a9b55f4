"""Fuzzed round packages (INTERFACES §2): the 2022-2 package with one file perturbed — cells,
headers, rows, encodings, bytes — as CSV, as a pasted or stand-alone score sheet, and as XLSX.
Every input: no traceback, no partial row, every error naming file, row and column."""

from __future__ import annotations

import functools
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sangsaeng.io.package import CriterionSpec, read_package, read_score_sheet
from tests.conftest import REPO, ROUND_2022_2
from tests.fuzz.inputs import (
    PACKAGE,
    PACKAGE_STEMS,
    csv_text,
    encoded,
    perturbed,
    sheet,
    spoiled,
    write_workbook,
)
from tests.fuzz.properties import (
    Rows,
    check_package,
    csv_rows,
    one_input,
    package_kinds,
    xlsx_rows,
)

pytestmark = pytest.mark.fuzz

TRACKS = tuple(tomllib.loads((REPO / "config/rounds/2022-2.toml").read_text())["tracks"])
_PROGRAM = tomllib.loads((REPO / "config/program.toml").read_text())
CRITERIA = tuple(CriterionSpec(c["key"], Decimal(str(c["max"]))) for c in _PROGRAM["criteria"])
CRITERIA_BY_TRACK = dict.fromkeys(TRACKS, CRITERIA)
KNOWN = {"known_applications": {row[0]: row[1] for row in PACKAGE["applications"][1:]},
         "known_reviewers": [row[0] for row in PACKAGE["reviewers"][1:]]}
# Most inputs perturb a small package (a whole one per input is slow to read and check): the
# first five applications of 2022-2 and every row that refers to them.
_APPS = {row[0] for row in PACKAGE["applications"][1:6]}
SMALL = {stem: [records[0]] + [row for row in records[1:]
                               if stem in ("reviewers", "affiliations", "sanctions",
                                           "certificates") or row[0] in _APPS]
         for stem, records in PACKAGE.items()}

# Reproducible in CI: the same inputs on every run (no example database, a fixed seed).
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the 2022-2 package; each input replaces one file and puts it back."""
    return Path(shutil.copytree(ROUND_2022_2 / "package", tmp_path_factory.mktemp("fuzz") / "p"))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL as a folder of CSV files."""
    folder = tmp_path_factory.mktemp("fuzz") / "small"
    folder.mkdir()
    for stem, records in SMALL.items():
        (folder / f"{stem}.csv").write_text(csv_text(records), encoding="utf-8")
    return folder


@functools.cache
def _seed_rows(path: Path) -> Rows | None:
    """The cells of a file as the fixture wrote it (read before any input replaces it)."""
    return csv_rows(path.read_text("utf-8"))


def _read_with(folder: Path, stem: str, data: bytes, rows: Rows | None) -> None:
    """Read the package at `folder` with `data` as its `stem` file (`rows`: its cells)."""
    files = {f"{s}.csv": _seed_rows(folder / f"{s}.csv") for s in PACKAGE_STEMS if s != stem}
    files[f"{stem}.csv"] = rows
    path = folder / f"{stem}.csv"
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        with one_input(*files, str(folder)):
            result = read_package(folder, tracks=TRACKS, criteria_by_track=CRITERIA_BY_TRACK)
            check_package(result, files, {s: f"{s}.csv" for s in PACKAGE_STEMS}, TRACKS,
                          CRITERIA_BY_TRACK)
    finally:
        path.write_bytes(original)


@settings(FUZZ, max_examples=1200)
@given(stem=st.sampled_from(PACKAGE_STEMS), data=st.data())
def test_a_perturbed_csv_file_is_read_whole_rows_or_refused(small: Path, stem: str,
                                                             data: st.DataObject) -> None:
    file = data.draw(encoded(data.draw(perturbed(SMALL[stem]), label="records")), label="file")
    _read_with(small, stem, file.data, csv_rows(file.text) if file.text is not None else None)


@settings(FUZZ, max_examples=200)
@given(stem=st.sampled_from(PACKAGE_STEMS), data=st.data())
def test_a_perturbed_file_of_the_whole_package_is_read_whole_rows_or_refused(
    package: Path, stem: str, data: st.DataObject
) -> None:
    file = data.draw(encoded(data.draw(perturbed(PACKAGE[stem]), label="records")), label="file")
    _read_with(package, stem, file.data, csv_rows(file.text) if file.text is not None else None)


@settings(FUZZ, max_examples=2700)
@given(stem=st.sampled_from(PACKAGE_STEMS), data=st.data())
def test_a_damaged_csv_file_never_gives_a_traceback(small: Path, stem: str,
                                                    data: st.DataObject) -> None:
    seed = (small / f"{stem}.csv").read_bytes()
    if data.draw(st.booleans(), label="as cp949"):
        seed = seed.decode("utf-8").encode("cp949")
    _read_with(small, stem, data.draw(spoiled(seed), label="bytes"), None)


def _delimiter(text: str) -> str:
    """read_text's rule: a first line with tabs and no comma is cells copied from a sheet."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if "\t" in first and "," not in first else ","


@settings(FUZZ, max_examples=2000)
@given(data=st.data())
def test_a_pasted_score_sheet_is_read_whole_rows_or_refused(data: st.DataObject) -> None:
    records = data.draw(perturbed(PACKAGE["scores"], max_rows=40), label="records")
    text = data.draw(st.sampled_from(("", "\ufeff")), label="bom") + csv_text(
        records, data.draw(st.sampled_from(("\r\n", "\n"))), data.draw(st.sampled_from(",\t")))
    with one_input("scores.csv (pasted)"):
        sheet = read_score_sheet(text=text, tracks=TRACKS, criteria_by_track=CRITERIA_BY_TRACK,
                                 **KNOWN)
        check_package(sheet, {"scores.csv (pasted)": csv_rows(text, _delimiter(text))},
                      {"scores": "scores.csv (pasted)"}, TRACKS, CRITERIA_BY_TRACK,
                      known_applications=KNOWN["known_applications"])


def _read_workbook(path: Path, stems: dict[str, str], **known: Any) -> None:
    kinds = package_kinds(CRITERIA)
    found = xlsx_rows(path, {stem: kinds.get(stem, {}) for stem in stems})
    files: dict[str, Rows | None] = {name: found.get(stem) for stem, name in stems.items()}
    result = read_package(path, tracks=TRACKS, criteria_by_track=CRITERIA_BY_TRACK) \
        if len(stems) > 1 else read_score_sheet(path, tracks=TRACKS,
                                                criteria_by_track=CRITERIA_BY_TRACK, **known)
    check_package(result, files, stems, TRACKS, CRITERIA_BY_TRACK, padded=True,
                  known_applications=known.get("known_applications"))


@settings(FUZZ, max_examples=100)
@given(stem=st.sampled_from(PACKAGE_STEMS), data=st.data())
def test_a_workbook_with_odd_cells_is_read_whole_rows_or_refused(
    tmp_path_factory: pytest.TempPathFactory, stem: str, data: st.DataObject
) -> None:
    path = tmp_path_factory.getbasetemp() / "package.xlsx"
    sheets: dict[str, list[list[Any]]] = {s: [list(r) for r in rows] for s, rows in SMALL.items()}
    sheets[stem] = data.draw(sheet(SMALL[stem], max_rows=12), label="sheet")
    write_workbook(path, sheets)
    with one_input("package.xlsx"):
        _read_workbook(path, {s: f"package.xlsx[{s}]" for s in PACKAGE_STEMS})


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_a_score_sheet_file_is_read_whole_rows_or_refused(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    if data.draw(st.booleans(), label="xlsx"):
        path = tmp_path_factory.getbasetemp() / "scores.xlsx"
        write_workbook(path, {"scores": data.draw(sheet(PACKAGE["scores"], max_rows=15))})
        with one_input("scores.xlsx"):
            _read_workbook(path, {"scores": "scores.xlsx[scores]"}, **KNOWN)
        return
    path = tmp_path_factory.getbasetemp() / "scores.csv"
    file = data.draw(encoded(data.draw(perturbed(PACKAGE["scores"], max_rows=30))))
    path.write_bytes(file.data)
    with one_input("scores.csv"):
        result = read_score_sheet(path, tracks=TRACKS, criteria_by_track=CRITERIA_BY_TRACK,
                                  **KNOWN)
        rows = csv_rows(file.text) if file.text is not None else None
        check_package(result, {"scores.csv": rows}, {"scores": "scores.csv"}, TRACKS,
                      CRITERIA_BY_TRACK, known_applications=KNOWN["known_applications"])
