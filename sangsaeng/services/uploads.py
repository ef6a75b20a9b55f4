"""Files uploaded in the browser (`serve`'s upload page): the round package of INTERFACES §2 or
the after-selection files of §5, accepted only under the names those sections give, stored
under the round's inbox (`<var>/inbox/<round>/<time>-<kind>/`, atomically) and checked at once
with the same readers as the CLI.

No name a client sends is ever used as a path: a CSV is stored as the file stem it maps to
(`applications.csv`), a workbook as `<kind>.xlsx`, and anything else is refused. ZIP archives
(and workbooks, which are ZIP archives) are bounded in members, total unpacked size and
compression ratio before a byte is unpacked, and while unpacking.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlmodel import Session

from sangsaeng import blobs
from sangsaeng.config import load_program, load_round
from sangsaeng.errors import SangsaengError
from sangsaeng.io.after_selection import SUPPORT_COLUMNS, read_support
from sangsaeng.io.package import CriterionSpec, PackageError, RowError, read_package
from sangsaeng.io.rows import COLUMNS
from sangsaeng.models import Round
from sangsaeng.services import after_selection
from sangsaeng.services.intake import import_package, read_round_package

ROUND_ID = re.compile(r"\d{4}-\d{1,3}")
ZIP_MAGIC = b"PK\x03\x04"
MAX_FILES = 16  # files in one upload or members in one archive (a package has 9)
CHUNK = 1 << 16
SKIPPED = ("__MACOSX/",)  # what macOS's Finder adds to an archive: not a file of ours


class Kind(StrEnum):
    """What the office uploads: the round package (§2) or the after-selection files (§5)."""

    PACKAGE = "package"
    SUPPORT = "support"

    @property
    def label(self) -> str:
        """The page's Korean name for it."""
        return "접수 자료" if self is Kind.PACKAGE else "선정 후 자료"

    @property
    def stems(self) -> tuple[str, ...]:
        """The CSV file stems it may hold."""
        return tuple(COLUMNS if self is Kind.PACKAGE else SUPPORT_COLUMNS)


class UploadRefused(SangsaengError):
    """The upload as a whole is refused (nothing is stored); the message is for the page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """How much an upload may hold."""

    max_bytes: int  # the request body
    max_unpacked: int  # all ZIP members (and workbook parts) unpacked, together
    max_ratio: int = 100  # unpacked / packed size of one member (zeros pack ~1000:1)


@dataclass
class Checked:
    """An upload stored and read: what it holds, the refused rows, where it lies."""

    folder: Path  # the inbox folder
    data_path: Path  # what the import run reads: the folder, or the workbook in it
    files: list[str]
    rows: int  # good rows read
    errors: list[RowError] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)  # whose data it holds (the access log)


def stored_name(kind: Kind, client_name: str, inside_zip: bool = False) -> str:
    """The name a file is stored under, from the known names only; refuses any other name."""
    shown = client_name or "(이름 없음)"
    if (not client_name or any(c in client_name for c in "/\\\x00:") or client_name.startswith(".")
            or len(client_name) > 200):
        raise UploadRefused(f"‘{shown}’: 파일 이름에 경로나 허용되지 않는 글자가 있습니다 "
                            "(a file name with a path is refused)")
    stem, dot, suffix = client_name.rpartition(".")
    suffix = suffix.lower() if dot else ""
    if suffix == "csv":
        for known in kind.stems:
            if stem.lower() == known:
                return f"{known}.csv"
        raise UploadRefused(f"‘{shown}’: {kind.label}의 파일 이름이 아닙니다 "
                            f"(expected one of {', '.join(s + '.csv' for s in kind.stems)})")
    if suffix == "xlsx":
        return f"{kind.value}.xlsx"
    if suffix == "zip" and not inside_zip:
        return "upload.zip"
    allowed = ".csv, .xlsx" + ("" if inside_zip else ", .zip")
    raise UploadRefused(f"‘{shown}’: 받지 않는 파일 형식입니다 (allowed: {allowed})", 415)


def store(inbox: Path, round_id: str, kind: Kind, files: Sequence[tuple[str, bytes]],
          limits: Limits, now: datetime) -> Path:
    """Check the files' names and types and write them to a new inbox folder (a temporary
    folder renamed into place); returns the folder."""
    if not ROUND_ID.fullmatch(round_id):
        raise UploadRefused("회차 번호가 올바르지 않습니다 (round id)")
    files = [(name, data) for name, data in files if name or data]  # an empty file input
    if not files:
        raise UploadRefused("올릴 파일을 고르십시오 (no file chosen)")
    if len(files) > MAX_FILES:
        raise UploadRefused(f"파일이 너무 많습니다 (at most {MAX_FILES})")
    names = [stored_name(kind, name) for name, _ in files]
    if len(files) > 1 and any(not n.endswith(".csv") for n in names):
        raise UploadRefused("XLSX 또는 ZIP 파일은 한 개만 올립니다 (one .xlsx or .zip alone, "
                            "or the CSV files)")
    _distinct(names)
    parent = inbox.resolve() / round_id  # absolute: the import run may start elsewhere
    parent.mkdir(parents=True, exist_ok=True)
    temporary = parent / f".upload-{secrets.token_hex(8)}"
    temporary.mkdir()
    try:
        for name, (client_name, data) in zip(names, files, strict=True):
            _check_type(name, client_name, data)
            if name == "upload.zip":
                _unpack(kind, temporary / name, data, temporary, limits, client_name)
            else:
                (temporary / name).write_bytes(data)
        for workbook in temporary.glob("*.xlsx"):
            _check_workbook(workbook, limits)
        return _publish(temporary, parent, f"{now:%Y%m%d-%H%M%S}-{kind.value}")
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _distinct(names: Sequence[str]) -> None:
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UploadRefused(f"같은 파일이 두 번 있습니다: {', '.join(twice)} (a file twice)")


def _check_type(name: str, client_name: str, data: bytes) -> None:
    """The content matches the name: archives are ZIP files, CSV files are text."""
    is_zip = data.startswith(ZIP_MAGIC)
    if name.endswith((".xlsx", ".zip")) and not is_zip:
        raise UploadRefused(f"‘{client_name}’: {name.rpartition('.')[2].upper()} 파일이 "
                            "아닙니다 (not a ZIP archive)", 415)
    if name.endswith(".csv") and (is_zip or data.startswith(b"MZ") or b"\x00" in data[:8192]):
        raise UploadRefused(f"‘{client_name}’: 텍스트(CSV) 파일이 아닙니다 (not a text file)",
                            415)


def _check_archive(archive: zipfile.ZipFile, limits: Limits, shown: str
                   ) -> list[zipfile.ZipInfo]:
    """Refuse a ZIP bomb from its directory: too many members, too much unpacked in all, a
    member packed too tightly; links and encrypted members too. Returns the members."""
    with archive:
        members = archive.infolist()
    if len(members) > 64:
        raise UploadRefused(f"‘{shown}’: 압축 파일의 항목이 너무 많습니다 (too many members)")
    total = 0
    for info in members:
        total += info.file_size
        if stat.S_ISLNK(info.external_attr >> 16) or info.flag_bits & 0x1:
            raise UploadRefused(f"‘{shown}’: 링크나 암호가 걸린 항목이 있습니다 "
                                "(links and encrypted members are refused)")
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise UploadRefused(f"‘{shown}’: 압축률이 비정상적으로 높습니다 — 압축 폭탄으로 "
                                f"보고 거부합니다 (compression ratio above {limits.max_ratio}:1)",
                                413)
    if total > limits.max_unpacked:
        raise UploadRefused(f"‘{shown}’: 압축을 풀면 {limits.max_unpacked // 2**20} MB를 "
                            "넘습니다 (unpacked size over the limit)", 413)
    return members


def _check_workbook(workbook: Path, limits: Limits) -> None:
    """An XLSX is a ZIP archive that opens, and no bomb; else a 415 (not a closed connection)."""
    try:
        _check_archive(zipfile.ZipFile(workbook), limits, workbook.name)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UploadRefused(f"‘{workbook.name}’: XLSX 파일을 읽을 수 없습니다 — 손상되었거나 "
                            f"XLSX가 아닙니다 ({type(exc).__name__})", 415) from exc


def _unpack(kind: Kind, archive_path: Path, data: bytes, target: Path, limits: Limits,
            shown: str) -> None:
    """Unpack a ZIP of the kind's files into `target` under their stored names only."""
    archive_path.write_bytes(data)
    try:
        members = _check_archive(zipfile.ZipFile(archive_path), limits, shown)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRefused(f"‘{shown}’: ZIP 파일을 읽을 수 없습니다 ({exc})", 415) from exc
    chosen: list[tuple[zipfile.ZipInfo, str]] = []
    folder: str | None = None
    for info in members:
        parts = info.filename.split("/")
        if info.filename.startswith(SKIPPED) or parts[-1] == ".DS_Store":
            continue
        if info.is_dir() and len(parts) == 2 and parts[0] not in ("", "..", "."):
            continue  # the one folder the files were zipped in
        if len(parts) > 2 or (len(parts) == 2 and (folder or parts[0]) != parts[0]):
            raise UploadRefused(f"‘{shown}’: {info.filename!r}: 폴더 안의 폴더는 받지 "
                                "않습니다 (files at the top, or in one folder)")
        if len(parts) == 2:
            if parts[0] in ("", "..", ".") or "\\" in parts[0] or parts[0].startswith("."):
                raise UploadRefused(f"‘{shown}’: {info.filename!r}: 경로가 허용되지 않습니다 "
                                    "(a path in the archive is refused)")
            folder = parts[0]
        chosen.append((info, stored_name(kind, parts[-1], inside_zip=True)))
    names = [name for _, name in chosen]
    if not names:
        raise UploadRefused(f"‘{shown}’: 압축 파일이 비어 있습니다 (empty archive)")
    if len(names) > 1 and any(not n.endswith(".csv") for n in names):
        raise UploadRefused(f"‘{shown}’: XLSX는 한 개만 담습니다 (one .xlsx alone)")
    _distinct(names)
    left = limits.max_unpacked
    with zipfile.ZipFile(archive_path) as archive:
        for info, name in chosen:
            left = _copy_member(archive, info, target / name, left, shown)
    archive_path.unlink()
    for name in names:
        if name.endswith(".csv"):
            with (target / name).open("rb") as handle:
                _check_type(name, f"{shown}: {name}", handle.read(8192))


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, left: int,
                 shown: str) -> int:
    """Unpack one member, counting what comes out (a lying directory is caught too)."""
    try:
        with archive.open(info) as source, out.open("wb") as sink:
            while chunk := source.read(CHUNK):
                left -= len(chunk)
                if left < 0:
                    raise UploadRefused(f"‘{shown}’: 압축을 풀면 너무 큽니다 (unpacked size "
                                        "over the limit)", 413)
                sink.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UploadRefused(f"‘{shown}’: {info.filename!r}를 풀 수 없습니다 ({exc})",
                            415) from exc
    return left


def _publish(temporary: Path, parent: Path, name: str) -> Path:
    """Rename the finished folder into place (a second upload in the same second gets -2…)."""
    for n in range(1, 100):
        final = parent / (name if n == 1 else f"{name}-{n}")
        try:
            os.rename(temporary, final)  # fails on an existing, non-empty folder
        except OSError:
            if final.exists():
                continue
            raise
        return final
    raise UploadRefused("같은 시각에 올린 자료가 너무 많습니다 (try again)")


def check(session: Session, kind: Kind, round_id: str, folder: Path,
          config_path: Path | None, config_dir: Path, now: datetime) -> Checked:
    """Read the stored files and try them as the import run will, rolled back: the rows
    refused here are the rows the run refuses (PackageError: not readable at all)."""
    workbooks = sorted(folder.glob("*.xlsx"))
    data_path = workbooks[0] if workbooks else folder
    files = sorted(p.name for p in folder.iterdir())
    if kind is Kind.SUPPORT:
        support = read_support(data_path)
        rows = sum(len(getattr(support, stem)) for stem in SUPPORT_COLUMNS)
        return Checked(folder, data_path, files, rows, after_selection.trial(session, support,
                                                                             now),
                       _receipts(support, SUPPORT_COLUMNS))
    rnd = session.get(Round, round_id)
    if rnd is not None:
        package = read_round_package(session, rnd, data_path)
        try:  # against what the round holds now (a closed stage refuses new rows)
            errors = import_package(session, rnd, package, now=now, actor="upload-check").errors
        finally:
            session.rollback()
        return Checked(folder, data_path, files,
                       sum(len(getattr(package, stem)) for stem in COLUMNS), errors,
                       _receipts(package, COLUMNS))
    elif config_path is not None:
        program = load_program(config_dir)
        config = load_round(config_path, program)
        criteria = {t: [CriterionSpec(c.key, Decimal(c.max)) for c in program.criteria_for(t)]
                    for t in config.tracks}
        package = read_package(data_path, tracks=config.tracks, criteria_by_track=criteria)
    else:
        raise PackageError(f"round {round_id} is unknown")
    rows = sum(len(getattr(package, stem)) for stem in COLUMNS)
    return Checked(folder, data_path, files, rows, list(package.errors),
                   _receipts(package, COLUMNS))


def _receipts(read: object, stems: Iterable[str]) -> list[str]:
    """The receipt numbers an upload's rows name, sorted (whose data it holds)."""
    return sorted({str(row.receipt_no) for stem in stems for row in getattr(read, stem)
                   if getattr(row, "receipt_no", None)})


def keep(session: Session, round_id: str, kind: Kind, folder: Path) -> None:
    """An upload kept in the program database as well as in this var directory's inbox: a
    worker on another machine reads it there (issue 24 item 4, sangsaeng/blobs.py)."""
    blobs.keep(session, round_id, kind.value, folder.name, folder)


def keep_read(session: Session, round_id: str, path: Path, inbox_dir: Path) -> None:
    """The package a run read, kept in the program database (a later process fetches it with
    `sangsaeng round package`): an upload under its folder's name, another path (a folder, or
    one workbook) under `read-` and its content's digest."""
    folder = path if path.is_dir() else path.parent
    if folder.parent.resolve() == (inbox_dir / round_id).resolve():
        blobs.keep(session, round_id, Kind.PACKAGE.value, folder.name, folder)
        return
    files = [path] if path.is_file() else sorted(
        p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    content = blobs.digest("\n".join(f"{p.name} {blobs.digest(p.read_bytes())}"
                                     for p in files).encode())
    blobs.keep(session, round_id, Kind.PACKAGE.value, f"read-{content[:16]}", path)


def local_copy(db: Session, path: Path, inbox_dir: Path) -> Path:
    """`path` as this worker can read it: itself if it exists here, else — a file or folder of
    an inbox on another machine (`…/inbox/<round>/<upload>[/<file>]`, what the upload page
    gives the import run) — its upload copied from the program database into this inbox."""
    if path.exists() or "inbox" not in path.parts:
        return path
    at = len(path.parts) - 1 - path.parts[::-1].index("inbox")
    if len(path.parts) < at + 3:
        return path
    round_id, name, *rest = path.parts[at + 1:]
    upload = blobs.kept(db, round_id, name)
    if upload is None:
        return path
    return blobs.restore(db, upload, inbox_dir / round_id).joinpath(*rest)
