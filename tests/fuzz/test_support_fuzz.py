"""Fuzzed after-selection files (INTERFACES §5): production, changes, cancellations, cost claims,
listing and evaluations, perturbed from their 2022-2 seeds, as CSV (alone or in a folder),
damaged bytes and XLSX with odd cells. Every input: no traceback, no partial row, every error
naming file, row and column."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sangsaeng.io.after_selection import read_support
from tests.fuzz.inputs import (
    SUPPORT,
    SUPPORT_STEMS,
    csv_text,
    encoded,
    perturbed,
    sheet,
    spoiled,
    write_workbook,
)
from tests.fuzz.properties import (
    SUPPORT_KINDS,
    Rows,
    check_support,
    csv_rows,
    one_input,
    xlsx_rows,
)
from tests.fuzz.test_package_fuzz import FUZZ


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


pytestmark = pytest.mark.fuzz


@settings(FUZZ, max_examples=1200)
@given(stems=st.lists(st.sampled_from(SUPPORT_STEMS), min_size=1, max_size=3, unique=True),
       alone=st.booleans(), data=st.data())
def test_perturbed_support_files_are_read_whole_rows_or_refused(
    tmp_path_factory: pytest.TempPathFactory, stems: list[str], alone: bool,
    data: st.DataObject
) -> None:
    folder = _fresh(tmp_path_factory.getbasetemp() / "support")
    files: dict[str, Rows | None] = {}
    for stem in stems:
        file = data.draw(encoded(data.draw(perturbed(SUPPORT[stem]), label=stem)))
        (folder / f"{stem}.csv").write_bytes(file.data)
        files[f"{stem}.csv"] = csv_rows(file.text) if file.text is not None else None
    path = folder / f"{stems[0]}.csv" if alone else folder
    read = stems[:1] if alone else stems
    with one_input(*files, str(folder)):
        found = read_support(path)
        check_support(found, files, {stem: f"{stem}.csv" for stem in read})


@settings(FUZZ, max_examples=2700)
@given(stem=st.sampled_from(SUPPORT_STEMS), data=st.data())
def test_a_damaged_support_file_never_gives_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, stem: str, data: st.DataObject
) -> None:
    path = tmp_path_factory.getbasetemp() / f"{stem}.csv"
    seed = csv_text(SUPPORT[stem]).encode(data.draw(st.sampled_from(("utf-8", "cp949"))))
    path.write_bytes(data.draw(spoiled(seed), label="bytes"))
    with one_input(path.name):
        check_support(read_support(path), {path.name: None}, {stem: path.name})


@settings(FUZZ, max_examples=200)
@given(stems=st.lists(st.sampled_from(SUPPORT_STEMS), min_size=1, max_size=3, unique=True),
       data=st.data())
def test_a_support_workbook_with_odd_cells_is_read_whole_rows_or_refused(
    tmp_path_factory: pytest.TempPathFactory, stems: list[str], data: st.DataObject
) -> None:
    path = tmp_path_factory.getbasetemp() / "support.xlsx"
    sheets: dict[str, list[list[Any]]] = {
        stem: data.draw(sheet(SUPPORT[stem], max_rows=8), label=stem) for stem in stems}
    write_workbook(path, sheets)
    with one_input("support.xlsx"):
        found = read_support(path)
        rows = xlsx_rows(path, {stem: SUPPORT_KINDS[stem] for stem in stems})
        names = {stem: f"support.xlsx[{stem}]" for stem in stems}
        check_support(found, {names[stem]: rows.get(stem) for stem in stems}, names,
                      padded=True)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A good support workbook, written once (each save differs: its zip holds the time)."""
    path = tmp_path_factory.mktemp("fuzz") / "support.xlsx"
    write_workbook(path, {"evaluations": SUPPORT["evaluations"], "listing": SUPPORT["listing"]})
    return path.read_bytes()


@settings(FUZZ, max_examples=600)
@given(data=st.data())
def test_a_damaged_workbook_is_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, workbook: bytes, data: st.DataObject
) -> None:
    path = tmp_path_factory.getbasetemp() / "damaged.xlsx"
    path.write_bytes(data.draw(spoiled(workbook), label="bytes"))
    with one_input("damaged.xlsx"):
        check_support(read_support(path), {f"damaged.xlsx[{s}]": None for s in SUPPORT_STEMS},
                      {s: f"damaged.xlsx[{s}]" for s in ("evaluations", "listing")})
