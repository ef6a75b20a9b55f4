"""Round-package reader — INTERFACES §2: typed rows for the good rows, a RowError for each bad one.

`read_package` raises `PackageError` only when the package as a whole cannot be read (missing
file, sheet or column, unreadable encoding); a bad row never raises, it is reported and the
other rows are kept.

This module finds the files and checks their headers; the row types live in `rows`, the cell
parsers in `values` and the row-by-row checks in `reader`. Callers import from here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from sangsaeng.io.reader import Reader
from sangsaeng.io.rows import (
    COLUMNS,
    DATE_COLUMNS,
    OPTIONAL,
    ROLES,
    SIZES,
    AffiliationRow,
    ApplicationRow,
    CertificateRow,
    CriterionSpec,
    DocumentRow,
    ParticipantRow,
    ProductionRow,
    ReviewerRow,
    RoundPackage,
    SanctionRow,
    ScoreRow,
)
from sangsaeng.io.sources import (
    DATE,
    DECIMAL,
    PackageError,
    RowError,
    Table,
    read_csv,
    read_folder,
    read_text,
    read_workbook,
)

__all__ = [
    "ROLES",
    "SIZES",
    "AffiliationRow",
    "ApplicationRow",
    "CertificateRow",
    "CriterionSpec",
    "DocumentRow",
    "PackageError",
    "ParticipantRow",
    "ProductionRow",
    "ReviewerRow",
    "RoundPackage",
    "RowError",
    "SanctionRow",
    "ScoreRow",
    "read_package",
    "read_score_sheet",
]

_NO_APPLICATIONS: Mapping[str, str] = MappingProxyType({})
_NO_PARTICIPANTS: Mapping[str, Collection[str]] = MappingProxyType({})
PASTED_SCORES = "scores.csv (pasted)"  # how rows of a pasted score sheet are named in errors


def read_package(
    path: Path,
    *,
    tracks: Sequence[str],
    criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
    known_applications: Mapping[str, str] = _NO_APPLICATIONS,
    known_reviewers: Collection[str] = (),
    known_participants: Mapping[str, Collection[str]] = _NO_PARTICIPANTS,
) -> RoundPackage:
    """Read a round package (a folder of CSV files or one .xlsx workbook), INTERFACES §2.

    `known_*` are what an earlier import stored for the round (receipt_no → track, reviewer
    ids, receipt_no → participant BRNs); cross-file checks accept them as well as the
    package's own rows. scores.csv must have a column for each criterion of every track its
    rows refer to.
    """
    unconfigured = [track for track in tracks if track not in criteria_by_track]
    if unconfigured:
        raise ValueError(f"criteria_by_track has no criteria for {', '.join(unconfigured)}")
    tables = _load(path, criteria_by_track)
    _check_headers(tables, _score_columns(tables, criteria_by_track, known_applications))
    reader = Reader(tables, tracks, criteria_by_track, known_applications)
    reader.reviewer_ids.update(known_reviewers)
    for receipt_no, brns in known_participants.items():
        reader.members.setdefault(receipt_no, set()).update(brns)
    return reader.read(str(path))


def read_score_sheet(
    path: Path | None = None,
    *,
    text: str | None = None,
    tracks: Sequence[str],
    criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
    known_applications: Mapping[str, str] = _NO_APPLICATIONS,
    known_reviewers: Collection[str] = (),
) -> RoundPackage:
    """V2: the package's scores file on its own — a CSV file, a folder holding scores.csv, an
    .xlsx workbook with a `scores` sheet, or CSV text pasted into a form (`text`).

    The same checks as in a whole package (headers, receipt numbers and reviewers the round
    knows, each criterion in [0, max]); the package holds only scores and their errors.
    """
    if (path is None) == (text is None):
        raise ValueError("give either a path or a text")
    if text is not None:
        table, source = read_text(PASTED_SCORES, text), PASTED_SCORES
    else:
        assert path is not None
        table, source = _scores_table(path, criteria_by_track), str(path)
    tables = {"scores": table}
    _check_headers(tables, _score_columns(tables, criteria_by_track, known_applications))
    reader = Reader(tables, tracks, criteria_by_track, known_applications)
    reader.reviewer_ids.update(known_reviewers)
    scores = reader.scores()
    errors = sorted(reader.errors, key=lambda e: e.row or 0)
    return RoundPackage(source, scores=scores, errors=errors,
                        encodings={table.name: table.encoding})


def _scores_table(path: Path, criteria_by_track: Mapping[str, Sequence[CriterionSpec]]) -> Table:
    if path.is_dir():
        return read_folder(path, ("scores",), ("scores",))["scores"]
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_csv(path)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        decimals = {spec.key: DECIMAL for specs in criteria_by_track.values() for spec in specs}
        return read_workbook(path, ("scores",), ("scores",), {"scores": decimals})["scores"]
    if not path.exists():
        raise PackageError(f"{path} does not exist")
    raise PackageError(
        f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
        "give a .csv file, an .xlsx workbook with a 'scores' sheet, or a package folder"
    )


def _load(path: Path, criteria_by_track: Mapping[str, Sequence[CriterionSpec]]) -> dict[str, Table]:
    required = [stem for stem in COLUMNS if stem not in OPTIONAL]
    if path.is_dir():
        return read_folder(path, COLUMNS, required)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        kinds: dict[str, dict[str, str]] = {
            stem: dict.fromkeys(columns, DATE) for stem, columns in DATE_COLUMNS.items()
        }
        kinds["scores"] = {
            spec.key: DECIMAL for specs in criteria_by_track.values() for spec in specs
        }
        return read_workbook(path, COLUMNS, required, kinds)
    if not path.exists():
        raise PackageError(f"{path} does not exist")
    raise PackageError(
        f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
        "give a folder of CSV files or one .xlsx workbook"
    )


def _score_columns(
    tables: Mapping[str, Table],
    criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
    known_applications: Mapping[str, str],
) -> list[str]:
    """V2: the criterion columns scores.csv needs, for the tracks its rows refer to."""
    receipts = set(_column(tables["scores"], "receipt_no"))
    tracks = {known_applications[rn] for rn in receipts if rn in known_applications}
    applications = tables.get("applications")  # absent when a score sheet comes alone
    if applications is not None:
        pairs = zip(_column(applications, "receipt_no"), _column(applications, "track"),
                    strict=True)
        tracks.update(track for receipt_no, track in pairs if receipt_no in receipts)
    keys = [spec.key for track in sorted(tracks) for spec in criteria_by_track.get(track, ())]
    return list(dict.fromkeys(keys))


def _column(table: Table, column: str) -> list[str]:
    """A column's raw cells ([] if the header lacks it: _check_headers reports that)."""
    if column not in table.header:
        return [""] * len(table.rows)
    at = table.header.index(column)
    return [cells[at] for _, cells in table.rows]


def _check_headers(tables: Mapping[str, Table], score_columns: Sequence[str]) -> None:
    """All header problems of all files in one line."""
    problems = []
    for stem, table in tables.items():
        if not table.header:
            problems.append(f"{table.name} is empty (no header row)")
            continue
        needed = COLUMNS[stem] + (tuple(score_columns) if stem == "scores" else ())
        missing = [column for column in needed if column not in table.header]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            problems.append(f"{table.name} is missing column{plural} {', '.join(missing)}")
        repeated = [column for column in needed if table.header.count(column) > 1]
        if repeated:
            problems.append(f"{table.name} has column {', '.join(repeated)} more than once")
    if problems:
        raise PackageError("; ".join(problems))
