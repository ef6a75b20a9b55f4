"""A round's outputs (INTERFACES §4) as text, and as files under `<var>/exports/<round>/`.

The CLI (`sangsaeng export …`, `sangsaeng report announcement`) and the round's artifacts
(tasks/artifacts.py, at every step) both render through these functions, so a file linked from
the status artifact has exactly the bytes the CLI writes. No Prefect here (ARCHITECTURE).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng.certificate_register import CERTIFICATE_COLUMNS, csv_row, of_round
from sangsaeng.config import load_program
from sangsaeng.domain.claims import CLAIM_COLUMNS
from sangsaeng.domain.clock import KST, kst_date
from sangsaeng.domain.selection import SELECTION_COLUMNS
from sangsaeng.domain.states import RoundState
from sangsaeng.errors import StepError
from sangsaeng.models import APPLICATIONS, AUDIT, COST_CLAIMS, Round
from sangsaeng.reports import (
    DECISION_COLUMNS,
    announcement,
    decision_rows,
    require_decisions,
    selection_table,
    to_csv,
    to_markdown,
    write_xlsx,
)
from sangsaeng.settings import get_settings

DECISIONS_CSV = "decisions.csv"
SELECTION_CSV = "selection.csv"
SELECTION_XLSX = "selection.xlsx"
SELECTION_MD = "selection.md"
ANNOUNCEMENT_MD = "announcement.md"
CERTIFICATES_CSV = "certificates.csv"
AUDIT_CSV = "audit.csv"
# In the order the status artifact lists them; what each is (Korean / English).
FILES: dict[str, str] = {
    DECISIONS_CSV: "과제별 결과 / outcome per application",
    SELECTION_CSV: "선정 목록 / selection list (A1)",
    SELECTION_XLSX: "선정 목록 (엑셀) / selection list (A1), Excel",
    SELECTION_MD: "선정 목록 (표) / selection list (A1), Markdown",
    ANNOUNCEMENT_MD: "보도자료 / announcement (A2)",
    CERTIFICATES_CSV: "확인서 대장 / certificates issued (K4)",
    AUDIT_CSV: "감사 기록 (해시 사슬) / every recorded change, hash-chained",
}
# Rounds that may hold certificates (K1: issued once the selection is released).
CERTIFIED_STATES = frozenset({RoundState.CERTIFYING, RoundState.SUPPORT, RoundState.ARCHIVED})


AUDIT_COLUMNS = ("at", "actor", "action", "subject", "rule", "before", "after", "hash")
# the XLSX, for people: the written reason too, before the hash
AUDIT_COLUMNS_KO = ("시각(KST)", "실행자", "행위", "대상", "규칙", "이전", "이후", "사유", "해시")


def audit_rows(session: Session, round_id: str | None) -> Iterator[dict[str, Any]]:
    """The round's audit rows (every round's, by round, when None) in the order written."""
    au = AUDIT.c
    query = select(AUDIT).order_by(au.round_id, au.id) if round_id is None else (
        select(AUDIT).where(au.round_id == round_id).order_by(au.id))
    for row in session.execute(query).mappings():
        yield dict(row)


def audit_table(session: Session, round_id: str, reasons: bool = False) -> list[list[str]]:
    """Every recorded change of the round in order (INTERFACES §6 `export audit`): time (KST,
    ISO), actor, action, subject (`application:2022-2-001`), rule id, before, after,
    (`reasons`: the reason,) hash."""
    return [[row["at"].astimezone(KST).isoformat(), str(row["actor"]), str(row["action"]),
             f"{row['entity']}:{row['entity_id']}", str(row["rule"] or ""),
             str(row["from_state"] or ""), str(row["to_state"] or ""),
             *([str(row["reason"])] if reasons else []), str(row["hash"] or "")]
            for row in audit_rows(session, round_id)]


def audit_csv(session: Session, round_id: str) -> str:
    """`sangsaeng export audit --round <id>` (codes, as INTERFACES §6 lists the columns)."""
    return to_csv(AUDIT_COLUMNS, audit_table(session, round_id))


def decisions_csv(rows: Sequence[Sequence[str]]) -> str:
    """`sangsaeng export decisions` of `reports.decision_rows` (UTF-8 text with a BOM)."""
    return to_csv(DECISION_COLUMNS, rows)


def certificates_csv(session: Session, round_id: str, today: date) -> str:
    """`sangsaeng export certificates` (INTERFACES §4), status at `today` (KST)."""
    return to_csv(CERTIFICATE_COLUMNS, [csv_row(f) for f in of_round(session, round_id, today)])


def claims_csv(session: Session, round_id: str) -> str:
    """`sangsaeng export claims` (INTERFACES §5): the round's cost claims in the order they were
    decided (M2); `remaining_krw` is empty for a project outside M2 (NOT_ELIGIBLE_TRACK)."""
    cc, a = COST_CLAIMS.c, APPLICATIONS.c
    rows = session.execute(
        select(cc.claim_id, a.receipt_no, cc.amount_krw, cc.approved_krw, cc.remaining_krw,
               cc.reasons)
        .join_from(COST_CLAIMS, APPLICATIONS, a.id == cc.application_id)
        .where(cc.round_id == round_id).order_by(cc.seq)).all()
    return to_csv(CLAIM_COLUMNS, [
        [r.claim_id, r.receipt_no, str(r.amount_krw), str(r.approved_krw),
         "" if r.remaining_krw is None else str(r.remaining_krw), r.reasons] for r in rows])


def selection_text(rows: Sequence[Sequence[str]], fmt: Literal["csv", "md"]) -> str:
    """`sangsaeng export selection --format csv|md` of the A1 rows (`reports.selection_table`)."""
    return (to_markdown if fmt == "md" else to_csv)(SELECTION_COLUMNS, rows)


def write_selection_xlsx(path: Path, rnd: Round, rows: Sequence[Sequence[str]]) -> None:
    """`sangsaeng export selection --format xlsx --out PATH` of the A1 rows."""
    write_xlsx(path, f"{rnd.id} 선정", SELECTION_COLUMNS, rows)


def available(rnd: Round) -> tuple[str, ...]:
    """The exports the CLI gives for the round as it stands (`reports.require_decisions`):
    none before the committee's proposal or once cancelled, the announcement once decided."""
    names: list[str] = []
    for wanted, files in ((RoundState.REVIEW, (DECISIONS_CSV, SELECTION_CSV, SELECTION_XLSX,
                                               SELECTION_MD, AUDIT_CSV)),
                          (RoundState.DECIDED, (ANNOUNCEMENT_MD,))):
        try:
            require_decisions(rnd, wanted)
        except StepError:
            break
        names += files
    if rnd.state in CERTIFIED_STATES:
        names.append(CERTIFICATES_CSV)
    return tuple(names)


def round_dir(exports_dir: Path, round_id: str) -> Path:
    """`<exports_dir>/<round>/` (round ids are `YYYY-N`: config R1)."""
    if not round_id or "/" in round_id or "\\" in round_id or round_id.startswith("."):
        raise StepError(f"round id {round_id!r} cannot name a folder")
    return exports_dir / round_id


def _temporary(path: Path) -> Path:
    # A dot name: the exports server never serves it (sangsaeng.cli.serve).
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _replace_with(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` through a temporary file in its folder and `os.replace` (atomic): a reader
    sees the old file or the new one, never half of one."""
    temporary = _temporary(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_out(path: Path, write: Callable[[Path], object]) -> None:
    """A file the office asked for (`--out`): written whole or not at all (a full disk leaves
    neither half a file nor a temporary one); an OS error names `path`, not the temporary."""
    try:
        if path.exists() and not path.is_file():  # /dev/stdout, a pipe: nothing to replace
            write(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace_with(path, write)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def write_bytes_atomically(path: Path, data: bytes) -> bool:
    """`data` into `path` atomically, unless it already holds exactly that; True if written."""
    if _holds(path, data):
        return False
    _replace_with(path, lambda temporary: temporary.write_bytes(data))
    return True


@dataclass(frozen=True)
class Written:
    """The round's export folder after `write_round_exports`."""

    folder: Path
    files: tuple[str, ...]  # what exists for the round's state, in FILES order
    changed: tuple[str, ...]  # rewritten this time (the others already held these bytes)
    removed: tuple[str, ...]  # no longer exported (the round was cancelled)
    announcement: str | None = None  # its text, once decided (the artifact shows it too)
    decisions: tuple[tuple[str, ...], ...] = ()  # `reports.decision_rows` (the artifact's too)


def write_round_exports(session: Session, rnd: Round, exports_dir: Path, program_name: str,
                        ministry: str, today: date | None = None) -> Written:
    """Write the round's exports that exist in its state into `<exports_dir>/<round>/`.

    Each file has the bytes its CLI command writes with `--out`; files whose bytes did not change
    are left alone (their modification time says when they last changed). The XLSX is rewritten
    only when the selection changed (openpyxl stamps the time into it: never byte-identical).
    Files the round no longer has (cancelled) are removed.
    """
    folder = round_dir(exports_dir, rnd.id)
    names = available(rnd)
    changed: list[str] = []
    texts: dict[str, str] = {}
    decisions: tuple[tuple[str, ...], ...] = ()
    if names:
        folder.mkdir(parents=True, exist_ok=True)
        decisions = tuple(decision_rows(session, rnd))
        texts[DECISIONS_CSV] = decisions_csv(decisions)
        rows = selection_table(session, rnd)
        texts[SELECTION_CSV] = selection_text(rows, "csv")
        texts[SELECTION_MD] = selection_text(rows, "md")
        if ANNOUNCEMENT_MD in names:
            texts[ANNOUNCEMENT_MD] = announcement(session, rnd, program_name, ministry)
        texts[AUDIT_CSV] = audit_csv(session, rnd.id)
        if CERTIFICATES_CSV in names:
            texts[CERTIFICATES_CSV] = certificates_csv(
                session, rnd.id, today or kst_date(datetime.now(UTC)))
        selection = folder / SELECTION_CSV
        xlsx = folder / SELECTION_XLSX
        # The XLSX first: if this stops between the two, the CSV still differs next time.
        if not xlsx.exists() or not _holds(selection, texts[SELECTION_CSV].encode("utf-8")):
            _replace_with(xlsx, lambda temporary: write_selection_xlsx(temporary, rnd, rows))
            changed.append(SELECTION_XLSX)
        for name, text in texts.items():
            if write_bytes_atomically(folder / name, text.encode("utf-8")):
                changed.append(name)
    removed = []
    for name in FILES:
        if name not in names:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
                removed.append(name)
    order = list(FILES)
    return Written(folder, names, tuple(sorted(changed, key=order.index)), tuple(removed),
                   texts.get(ANNOUNCEMENT_MD), decisions)


def export_round(session: Session, rnd: Round) -> tuple[Written | None, str | None]:
    """Write the round's export files (INTERFACES §4) where this process's settings say, or
    say why they could not be written (the step's work is done: the round's artifacts are
    published all the same, saying so)."""
    settings = get_settings()
    program = load_program(settings.config_dir).program
    try:
        return write_round_exports(session, rnd, settings.exports_dir, program.name,
                                   program.ministry), None
    except OSError as exc:
        return None, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False
