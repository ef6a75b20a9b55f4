"""Round-package rows, checked — INTERFACES §2: each file's cells become typed rows, in
dependency order, with the cross-file checks (known receipt numbers, reviewers, participants).

A bad cell never raises: it becomes a RowError and its row is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar, cast

from sangsaeng.domain.companies import Role
from sangsaeng.io import values
from sangsaeng.io.rows import (
    COLUMNS,
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
from sangsaeng.io.sources import RowError, Table

T = TypeVar("T")


class Cells:
    """One data row; `take` parses a cell and records a RowError instead of raising."""

    __slots__ = ("cells", "errors", "file", "index", "row")

    def __init__(self, file: str, row: int, cells: list[str], index: Mapping[str, int]) -> None:
        self.file, self.row, self.cells, self.index = file, row, cells, index
        self.errors: list[RowError] = []

    def value(self, column: str) -> str:
        return self.cells[self.index[column]]

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.file, self.row, column, self.value(column), message))

    def take(self, column: str, parse: Callable[[str], T]) -> T:
        # On error the row is rejected, so the None returned never reaches a typed row.
        try:
            return parse(self.value(column))
        except ValueError as exc:
            self.fail(column, str(exc))
            return cast(T, None)

    def unique(
        self, seen: Mapping[tuple[object, ...], int], key: tuple[object, ...], columns: str
    ) -> None:
        """Reject a row whose natural key an earlier accepted row already has."""
        first = seen.get(key) if None not in key else None
        if first is not None:
            self.fail(columns.split(", ")[-1], duplicate(first, columns))


Seen = dict[tuple[object, ...], int]


def duplicate(first: int, columns: str) -> str:
    """The reason of a row repeating row `first`'s natural key (`columns`, header codes)."""
    return f"{first}행과 중복됩니다 ({columns} 값이 같습니다)"


def rejected_application(receipt_no: str) -> str:
    """The reason of a row depending on an application whose own row was rejected."""
    return f"접수번호 {receipt_no}의 신청이 거부되었습니다"


def production_row(c: Cells, receipt: Callable[[str], str] = values.required) -> ProductionRow:
    """K1: one production.csv row — of a round package (`receipt` checks the round's receipt
    numbers) or of the after-selection files (INTERFACES §5) — with its bad cells on `c`."""
    return ProductionRow(c.take("receipt_no", receipt), c.take("brn", values.brn),
                         c.take("confirmed_at", values.instant), file=c.file, row=c.row)


class Reader:
    """Reads the files in dependency order, keeping what the cross-file checks need."""

    def __init__(
        self,
        tables: Mapping[str, Table],
        tracks: Sequence[str],
        criteria_by_track: Mapping[str, Sequence[CriterionSpec]],
        known_applications: Mapping[str, str],
    ) -> None:
        self.tables = tables
        self.tracks = tuple(tracks)
        self.criteria = {
            track: [(spec.key, values.score_parser(spec.max)) for spec in specs]
            for track, specs in criteria_by_track.items()
        }
        self.app_tracks: dict[str, str] = dict(known_applications)  # receipt_no → track
        self.rejected_apps: set[str] = set()
        self.reviewer_ids: set[str] = set()
        self.rejected_reviewers: set[str] = set()
        self.members: dict[str, set[str]] = {}  # receipt_no → participant BRNs
        self.errors: list[RowError] = []

    def read(self, source: str) -> RoundPackage:
        """Every file, then the errors in file and row order."""
        encodings = {table.name: table.encoding for table in self.tables.values()}
        package = RoundPackage(source, encodings=encodings)
        package.reviewers = self.reviewers()
        package.applications, package.participants = self.check_structure(
            self.applications(), self.participants()
        )
        package.documents = self.documents()
        package.affiliations = self.affiliations()
        package.scores = self.scores()
        package.sanctions = self.sanctions()
        package.certificates = self.certificates()
        package.production = self.production()
        order = {self.tables[stem].name: i for i, stem in enumerate(COLUMNS) if stem in self.tables}
        package.errors = sorted(self.errors, key=lambda e: (order.get(e.file, 0), e.row or 0))
        return package

    def _rows(self, stem: str) -> Iterator[Cells]:
        table = self.tables.get(stem)
        if table is None:
            return
        self.errors.extend(table.errors)
        index: dict[str, int] = {}
        for i, column in enumerate(table.header):
            index.setdefault(column, i)
        for number, cells in table.rows:
            yield Cells(table.name, number, cells, index)

    def _keep(self, cells: Cells) -> bool:
        self.errors.extend(cells.errors)
        return not cells.errors

    def _track(self, text: str) -> str:
        if values.required(text) not in self.tracks:
            raise ValueError(f"이 회차의 분야가 아닙니다 ({', '.join(self.tracks)} 중 하나)")
        return text

    def _receipt(self, text: str) -> str:
        if values.required(text) in self.rejected_apps:
            raise ValueError(rejected_application(text))
        if text not in self.app_tracks:
            raise ValueError("알 수 없는 접수번호입니다")
        return text

    def _reviewer(self, text: str) -> str:
        if values.required(text) in self.rejected_reviewers:
            raise ValueError(f"평가위원 {text}의 행이 거부되었습니다")
        if text not in self.reviewer_ids:
            raise ValueError("알 수 없는 평가위원 ID입니다")
        return text

    def _member(self, cells: Cells, receipt_no: str | None, brn: str | None) -> None:
        if (
            receipt_no is not None
            and brn is not None
            and brn not in self.members.get(receipt_no, ())
        ):
            cells.fail("brn", f"접수번호 {receipt_no} 신청의 참여기업이 아닙니다")

    def reviewers(self) -> list[ReviewerRow]:
        kept: list[ReviewerRow] = []
        seen: Seen = {}
        bad: set[str] = set()
        for c in self._rows("reviewers"):
            reviewer_id = c.take("reviewer_id", values.required)
            name, email = c.take("name", values.name), c.take("email", values.email)
            c.unique(seen, (reviewer_id,), "reviewer_id")
            if self._keep(c):
                kept.append(ReviewerRow(reviewer_id, name, email, file=c.file, row=c.row))
                seen[(reviewer_id,)] = c.row
            elif reviewer_id:
                bad.add(reviewer_id)
        accepted = {reviewer.reviewer_id for reviewer in kept}
        # A reviewer whose row was rejected here stays rejected even if imported before.
        self.rejected_reviewers = bad - accepted
        self.reviewer_ids = (self.reviewer_ids - self.rejected_reviewers) | accepted
        return kept

    def applications(self) -> list[ApplicationRow]:
        kept: list[ApplicationRow] = []
        seen: Seen = {}
        bad: set[str] = set()
        for c in self._rows("applications"):
            receipt_no = c.take("receipt_no", values.required)
            row = ApplicationRow(
                receipt_no,
                c.take("track", self._track),
                c.take("product_name", values.name),
                c.take("product_code", values.product_code),
                c.take("submitted_at", values.instant),
                file=c.file,
                row=c.row,
            )
            c.unique(seen, (receipt_no,), "receipt_no")
            if self._keep(c):
                kept.append(row)
                seen[(receipt_no,)] = c.row
            elif receipt_no:
                bad.add(receipt_no)
        # An application whose row was rejected here stays rejected even if imported before.
        self.rejected_apps = bad - {application.receipt_no for application in kept}
        for receipt_no in self.rejected_apps:
            self.app_tracks.pop(receipt_no, None)
        self.app_tracks.update((application.receipt_no, application.track) for application in kept)
        return kept

    def participants(self) -> list[ParticipantRow]:
        kept: list[ParticipantRow] = []
        by_seq: Seen = {}
        by_brn: Seen = {}
        for c in self._rows("participants"):
            row = ParticipantRow(
                c.take("receipt_no", self._receipt),
                c.take("role", values.role),
                c.take("seq", values.seq),
                c.take("brn", values.brn),
                c.take("name", values.name),
                c.take("size", values.size),
                c.take("founded_on", values.date),
                c.take("representative", values.single_line),
                c.take("email", values.email),
                c.take("address", values.single_line),
                c.take("direct_production", values.boolean),
                file=c.file,
                row=c.row,
            )
            seq_key, brn_key = (row.receipt_no, row.role, row.seq), (row.receipt_no, row.brn)
            c.unique(by_seq, seq_key, "receipt_no, role, seq")
            c.unique(by_brn, brn_key, "receipt_no, brn")
            if self._keep(c):
                kept.append(row)
                by_seq[seq_key] = by_brn[brn_key] = c.row
        return kept

    def check_structure(
        self, applications: list[ApplicationRow], participants: list[ParticipantRow]
    ) -> tuple[list[ApplicationRow], list[ParticipantRow]]:
        """C5: an application needs a lead with seq 1 and a partner, else it and its rows go."""
        leads = {p.receipt_no for p in participants if p.role == Role.LEAD}
        first_leads = {p.receipt_no for p in participants if p.role == Role.LEAD and p.seq == 1}
        partners = {p.receipt_no for p in participants if p.role == Role.PARTNER}
        where = self.tables["participants"].name
        kept: list[ApplicationRow] = []
        for application in applications:
            receipt_no = application.receipt_no
            missing = [] if receipt_no in leads else ["주관기업"]
            if receipt_no in leads and receipt_no not in first_leads:
                missing.append("seq가 1인 주관기업")
            if receipt_no not in partners:
                missing.append("협력기업")
            if not missing:
                kept.append(application)
                continue
            message = f"{where}에 이 신청의 {'과 '.join(missing)}이 없습니다"
            self.errors.append(
                RowError(application.file, application.row, "receipt_no", receipt_no, message)
            )
            self.rejected_apps.add(receipt_no)
            self.app_tracks.pop(receipt_no, None)
        return kept, self._drop_rejected(participants)

    def _drop_rejected(self, participants: list[ParticipantRow]) -> list[ParticipantRow]:
        kept: list[ParticipantRow] = []
        for p in participants:
            if p.receipt_no in self.rejected_apps:
                message = rejected_application(p.receipt_no)
                self.errors.append(RowError(p.file, p.row, "receipt_no", p.receipt_no, message))
            else:
                kept.append(p)
                self.members.setdefault(p.receipt_no, set()).add(p.brn)
        return kept

    def documents(self) -> list[DocumentRow]:
        kept: list[DocumentRow] = []
        seen: set[tuple[object, ...]] = set()
        for c in self._rows("documents"):
            receipt_no = c.take("receipt_no", self._receipt)
            brn = c.take("brn", values.optional_brn)
            row = DocumentRow(
                receipt_no,
                brn,
                c.take("doc_type", values.required),
                c.take("submitted_at", values.instant),
                file=c.file,
                row=c.row,
            )
            self._member(c, receipt_no, brn)
            key = (receipt_no, brn, row.doc_type, row.submitted_at)
            if self._keep(c) and key not in seen:  # the same document twice: keep it once
                seen.add(key)
                kept.append(row)
        return kept

    def affiliations(self) -> list[AffiliationRow]:
        kept: list[AffiliationRow] = []
        for c in self._rows("affiliations"):
            row = AffiliationRow(
                c.take("reviewer_id", self._reviewer),
                c.take("brn", values.brn),
                c.take("until", values.optional_date),
                file=c.file,
                row=c.row,
            )
            if self._keep(c):
                kept.append(row)
        return kept

    def scores(self) -> list[ScoreRow]:
        kept: list[ScoreRow] = []
        seen: Seen = {}
        for c in self._rows("scores"):
            receipt_no = c.take("receipt_no", self._receipt)
            reviewer_id = c.take("reviewer_id", self._reviewer)
            track = self.app_tracks.get(receipt_no) if receipt_no is not None else None
            if track is not None and track not in self.criteria:
                c.fail("receipt_no", f"분야 {track}의 평가 항목이 설정되어 있지 않습니다")
            # V2: the criteria of the application's track, each in [0, max]. A blank cell is a
            # criterion not scored: the sheet is kept but incomplete, so not valid (V4).
            parsers = self.criteria.get(track, ()) if track is not None else ()
            scores = {key: c.take(key, parse) for key, parse in parsers if c.value(key) != ""}
            key = (receipt_no, reviewer_id)
            c.unique(seen, key, "receipt_no, reviewer_id")
            if self._keep(c):
                kept.append(ScoreRow(receipt_no, reviewer_id, scores, file=c.file, row=c.row))
                seen[key] = c.row
        return kept

    def sanctions(self) -> list[SanctionRow]:
        kept: list[SanctionRow] = []
        for c in self._rows("sanctions"):
            row = SanctionRow(
                c.take("brn", values.brn),
                c.take("banned_until", values.date),
                c.value("reason"),
                file=c.file,
                row=c.row,
            )
            if self._keep(c):
                kept.append(row)
        return kept

    def certificates(self) -> list[CertificateRow]:
        kept: list[CertificateRow] = []
        seen: Seen = {}
        for c in self._rows("certificates"):
            row = CertificateRow(
                c.take("number", values.required),
                c.take("brn", values.brn),
                c.take("product_code", values.product_code),
                c.take("valid_from", values.date),
                c.take("valid_to", values.date),
                file=c.file,
                row=c.row,
            )
            if None not in (row.valid_from, row.valid_to) and row.valid_to < row.valid_from:
                c.fail("valid_to", "valid_to가 valid_from보다 이릅니다")
            c.unique(seen, (row.number,), "number")
            if self._keep(c):
                kept.append(row)
                seen[(row.number,)] = c.row
        return kept

    def production(self) -> list[ProductionRow]:
        kept: dict[tuple[str, str], ProductionRow] = {}
        for c in self._rows("production"):
            row = production_row(c, self._receipt)
            receipt_no, brn = row.receipt_no, row.brn
            self._member(c, receipt_no, brn)
            first = kept.get((receipt_no, brn))
            if first is not None and first != row:
                c.fail("brn", duplicate(first.row, "receipt_no, brn"))
            if self._keep(c) and first is None:  # the same confirmation twice: keep it once
                kept[(receipt_no, brn)] = row
        return list(kept.values())
