"""Files every worker can reach (issue 24 item 4; docs/deploy.md "Workers need only the
databases"): certificate PDFs and a round's uploaded files are stored in the program database,
named by their sha256 (content-addressed: the same bytes are stored once). What a step writes
under `<var>/` is a copy: a worker whose var directory is empty, or on another machine, reads
the bytes from the database and keeps a copy where the file would have been.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.models import KEPT_UPLOADS, STORED_FILES, utcnow

SF, KU = STORED_FILES.c, KEPT_UPLOADS.c
Db = Session | Connection


def digest(data: bytes) -> str:
    """The name a file is stored under: its sha256, in hex."""
    return hashlib.sha256(data).hexdigest()


def _insert(db: Db) -> Any:
    bind = db.get_bind() if isinstance(db, Session) else db
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def put(db: Db, data: bytes, sha256: str | None = None) -> str:
    """Store `data` (once: the same bytes stored again change nothing); its digest."""
    sha = sha256 or digest(data)
    db.execute(_insert(db)(STORED_FILES).values(
        sha256=sha, size=len(data), data=data, created_at=utcnow()).on_conflict_do_nothing())
    return sha


def get(db: Db, sha256: str) -> bytes | None:
    """The stored bytes of `sha256`, or None."""
    data = db.execute(select(SF.data).where(SF.sha256 == sha256)).scalar_one_or_none()
    return bytes(data) if data is not None else None


def cached(db: Db, sha256: str, path: Path) -> bytes | None:
    """The bytes named `sha256`: the copy at `path` if it holds them, else the database's —
    then copied to `path` for the next reader; None if neither has them."""
    try:
        data = path.read_bytes()
        if digest(data) == sha256:
            return data
    except OSError:
        pass
    stored = get(db, sha256)
    if stored is not None:
        write_copy(path, stored)
    return stored


def write_copy(path: Path, data: bytes) -> None:
    """`data` at `path` (a hidden temporary file renamed into place: a reader never sees half a
    file); a copy that cannot be written is only a cache miss next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        part.write_bytes(data)
        os.replace(part, path)
    except OSError:
        pass


@dataclass(frozen=True)
class Kept:
    """A round's files as kept: the upload's name and its files' digests by name."""

    round_id: str
    kind: str
    name: str
    files: Mapping[str, str]


def keep(db: Db, round_id: str, kind: str, name: str, source: Path) -> Kept:
    """Store the files of `source` (a folder's visible files, or one file) as the round's
    upload `name`; an upload already kept under that name stays as it was."""
    paths = ([source] if source.is_file() else
             sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")))
    return keep_files(db, round_id, kind, name, {p.name: p.read_bytes() for p in paths})


def keep_files(db: Db, round_id: str, kind: str, name: str, contents: Mapping[str, bytes]
               ) -> Kept:
    """Store files given by name and bytes as the round's upload `name` (once, as `keep`)."""
    files = {file: put(db, data) for file, data in contents.items()}
    db.execute(_insert(db)(KEPT_UPLOADS).values(
        round_id=round_id, kind=kind, name=name, files=files, created_at=utcnow())
        .on_conflict_do_nothing())
    found = kept(db, round_id, name)
    assert found is not None
    return found


def kept(db: Db, round_id: str, name: str) -> Kept | None:
    """The round's upload `name`, if kept."""
    row = db.execute(select(KU.round_id, KU.kind, KU.name, KU.files).where(
        KU.round_id == round_id, KU.name == name)).first()
    return Kept(row.round_id, row.kind, row.name, dict(row.files)) if row else None


def uploads_of(db: Db, round_id: str, kind: str | None) -> list[Kept]:
    """The round's kept uploads (of `kind`; None: all), by name (names start with their
    time)."""
    query = select(KU.round_id, KU.kind, KU.name, KU.files).where(KU.round_id == round_id)
    if kind is not None:
        query = query.where(KU.kind == kind)
    return [Kept(r.round_id, r.kind, r.name, dict(r.files))
            for r in db.execute(query.order_by(KU.name))]


def latest(db: Db, round_id: str, kind: str) -> Kept | None:
    """The round's upload of `kind` kept last (an office upload, or a package a run read)."""
    row = db.execute(select(KU.round_id, KU.kind, KU.name, KU.files)
                     .where(KU.round_id == round_id, KU.kind == kind)
                     .order_by(KU.created_at.desc(), KU.id.desc()).limit(1)).first()
    return Kept(row.round_id, row.kind, row.name, dict(row.files)) if row else None


def restore(db: Db, upload: Kept, folder: Path) -> Path:
    """The upload's files under `folder/<name>/` (copies made from the database where
    missing); that folder."""
    return write_into(db, upload, folder / upload.name)


def write_into(db: Db, upload: Kept, target: Path) -> Path:
    """The upload's files in `target` (those it holds already left alone); `target`."""
    for name, sha in upload.files.items():
        if cached(db, sha, target / name) is None:
            raise LookupError(f"{upload.round_id}/{upload.name}/{name}: not stored")
    return target


def forget(db: Db, shas: Iterable[str]) -> int:
    """Delete stored files (destroyed data, services/privacy.py) that no kept upload still
    names; how many went."""
    wanted = set(shas)
    if not wanted:
        return 0
    for files in db.execute(select(KU.files)).scalars():
        wanted -= set(dict(files).values())
    gone = 0
    chunk: list[str] = sorted(wanted)
    for start in range(0, len(chunk), 500):
        gone += db.execute(delete(STORED_FILES).where(  # type: ignore[attr-defined]
            SF.sha256.in_(chunk[start:start + 500]))).rowcount or 0
    return gone


def forget_uploads(db: Db, round_id: str, kinds: Iterable[str]) -> int:
    """Delete the round's kept uploads of `kinds` and the files no other upload names; how
    many files went."""
    which = (KU.round_id == round_id) & KU.kind.in_(list(kinds))
    shas = [sha for files in db.execute(select(KU.files).where(which)).scalars()
            for sha in dict(files).values()]
    db.execute(delete(KEPT_UPLOADS).where(which))
    return forget(db, shas)
