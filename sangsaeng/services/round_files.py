"""The rounds the office can choose (config/rounds/*.toml and the program database), where a
round's configuration file and package are, and a new round's configuration file written from
a form (INTERFACES §1).

A new file is validated by the loader the CLI uses (`sangsaeng.config.load_round`) before it
exists under its name: it is written to a temporary file beside it, checked, and linked into
place only if no round of that id exists (in the folder or in the database), so a refused form
leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from sangsaeng import blobs
from sangsaeng.config import ProgramConfig, load_program, load_round
from sangsaeng.domain.clock import as_kst
from sangsaeng.domain.names import ROUND_STATES, named
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.states import RoundState
from sangsaeng.errors import ConfigError
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.models import Round

ROUND_ID = re.compile(r"^\d{4}-\d+$")  # INTERFACES §1, as RoundConfig checks it
PACKAGE_KIND = "package"  # inbox folders `<var>/inbox/<round>/<time>-package/` (the upload page)


@dataclass(frozen=True)
class KnownRound:
    """A round the forms offer: from its configuration file, the database, or both."""

    id: str
    title: str
    state: RoundState | None = None  # None: only a file, not yet registered (open_call does)
    path: Path | None = None  # its configuration file, if there is one

    @property
    def label(self) -> str:
        """How a form names it: `2022-2 — title (its state in Korean)`."""
        state = named(ROUND_STATES, self.state) if self.state else "공고 전: 설정 파일만"
        return f"{self.id} — {self.title} ({state})"


def rounds_dir(config_dir: Path) -> Path:
    """`config/rounds/`: one `<id>.toml` per round."""
    return config_dir / "rounds"


def round_file(config_dir: Path, round_id: str) -> Path:
    """Where the configuration file of a round lives."""
    return rounds_dir(config_dir) / f"{round_id}.toml"


CONFIG_KIND = "config"  # a round file written by the create form, kept in the database too


def config_path(config_dir: Path, ref: str) -> Path:
    """A round id (`2022-2`: the UI's choice) as its file in config/rounds/, or a path (CLI)."""
    ref = ref.strip()
    return round_file(config_dir, ref) if ROUND_ID.fullmatch(ref) else Path(ref)


def config_file(db: Session, config_dir: Path, ref: str) -> Path:
    """`config_path`, the file copied from the program database into this config/rounds/
    when the create form wrote it on another machine (issue 24 item 4)."""
    path = config_path(config_dir, ref)
    if not path.exists() and ROUND_ID.fullmatch(ref.strip()):
        kept = blobs.kept(db, ref.strip(), path.name)
        if kept is not None and kept.kind == CONFIG_KIND:
            blobs.write_into(db, kept, path.parent)
    return path


def files_of(config_dir: Path) -> list[KnownRound]:
    """The valid round files of config/rounds/ (a broken one is open_call's error to show)."""
    try:
        program = load_program(config_dir)
    except ConfigError:
        return []
    found = []
    for path in sorted(rounds_dir(config_dir).glob("*.toml")):
        try:
            config = load_round(path, program)
        except ConfigError:
            continue
        if path.stem == config.id:  # the UI's choice is the id: it must name this very file
            found.append(KnownRound(config.id, config.title, path=path))
    return found


def known_rounds(session: Session | None, config_dir: Path) -> list[KnownRound]:
    """Every round the forms offer, newest first: the database's (with their state) and
    config/rounds/*.toml (a file's title wins: it is what open_call registers next)."""
    rounds: dict[str, KnownRound] = {}
    if session is not None:
        for rnd in session.exec(select(Round)).all():
            rounds[rnd.id] = KnownRound(rnd.id, rnd.title, rnd.state)
    for known in files_of(config_dir):
        stored = rounds.get(known.id)
        rounds[known.id] = KnownRound(known.id, stored.title if stored else known.title,
                                      stored.state if stored else None, known.path)
    return sorted(rounds.values(), key=lambda r: natural_key(r.id), reverse=True)


def default_package(round_id: str, inbox_dir: Path, data_dir: Path,
                    db: Session | None = None) -> Path:
    """The package a round's import reads when the form names none: the latest uploaded one
    (`<var>/inbox/<round>/<time>-package/`, its workbook if it holds one), else the repository's
    `data/rounds/<round>/package`. With the program database (`db`), the latest upload kept
    there is copied into this var directory first: a worker that did not receive the upload
    reads it all the same (issue 24 item 4)."""
    if db is not None:
        kept = [u for u in blobs.uploads_of(db, round_id, PACKAGE_KIND)
                if u.name.endswith(f"-{PACKAGE_KIND}")]
        if kept:
            blobs.restore(db, kept[-1], inbox_dir / round_id)
    uploads = sorted(p for p in (inbox_dir / round_id).glob(f"*-{PACKAGE_KIND}")
                     if p.is_dir() and not p.name.startswith("."))
    if uploads:
        latest = uploads[-1]
        workbooks = sorted(latest.glob("*.xlsx"))
        return workbooks[0] if workbooks and not any(latest.glob("*.csv")) else latest
    shipped = data_dir / "rounds" / round_id / "package"
    if shipped.exists():
        return shipped
    raise ConfigError(f"round {round_id}: no package uploaded ({inbox_dir / round_id}/) and "
                      f"none in {shipped}: upload the package first, or give its path")


@dataclass(frozen=True)
class NewRound:
    """A round as the office types it in the create form (INTERFACES §1)."""

    id: str
    title: str
    opens_at: datetime  # naive = KST
    closes_at: datetime
    tracks: tuple[str, ...]
    quota: dict[str, int] = field(default_factory=dict)
    support_years: int | None = None


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def render(new: NewRound) -> str:
    """The configuration file's text, laid out as INTERFACES §1 shows it."""
    lines = [f"id = {_toml_string(new.id)}", f"title = {_toml_string(new.title)}",
             f'opens_at = "{as_kst(new.opens_at).isoformat()}"',
             f'closes_at = "{as_kst(new.closes_at).isoformat()}"',
             f"tracks = [{', '.join(_toml_string(t) for t in new.tracks)}]"]
    if new.support_years is not None:
        lines.append(f"support_years = {new.support_years}")
    if new.quota:
        lines += ["", "[quota]", *(f"{_toml_string(t)} = {n}" for t, n in new.quota.items())]
    return "\n".join(lines) + "\n"


def _check(new: NewRound, written: Path, target: Path, program: ProgramConfig) -> None:
    """The same checks as `sangsaeng round run` (load_round), told of the file to be."""
    try:
        config = load_round(written, program)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(str(written), str(target))) from None
    if config.id != new.id:  # cannot happen with render(); the file must name itself
        raise ConfigError(f"{target}: id {config.id} does not match the file name")


def create_round_file(session: Session, config_dir: Path, new: NewRound, *, now: datetime,
                      actor: str) -> Path:
    """R1: write `config/rounds/<id>.toml` from the create form, validated, atomically.

    Refused (ConfigError, nothing written) when the file does not validate or a round of that
    id exists, as a file or in the database. On success one audit row (`round.config_created`,
    with the file's text) is added to the session, committed with it by the caller.
    """
    if not ROUND_ID.fullmatch(new.id):  # before any path is made of it
        raise ConfigError(f"id: round id must look like YYYY-N, e.g. 2022-2 (got {new.id!r})")
    program = load_program(config_dir)
    target = round_file(config_dir, new.id)
    _refuse_existing(session, new.id, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(new)
    temporary = target.parent / f".{new.id}.toml.{secrets.token_hex(6)}.tmp"
    try:
        temporary.write_text(text, encoding="utf-8")
        _check(new, temporary, target, program)
        record(session, Audit(now, actor, new.id), [Entry(
            "round", new.id, "round.config_created", "R1",
            f"회차 설정 파일 작성 / configuration written: {target.name}",
            data={"path": str(target), "toml": text})])
        # every worker reads it there (issue 24 item 4), whichever wrote it
        blobs.keep_files(session, new.id, CONFIG_KIND, target.name,
                         {target.name: text.encode("utf-8")})
        session.flush()  # the audit row is accepted before the file takes its name
        try:
            os.link(temporary, target)  # fails if the name exists: never overwrites
        except FileExistsError:
            raise ConfigError(f"{target}: a round {new.id} exists already: not overwritten"
                              ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _refuse_existing(session: Session, round_id: str, target: Path) -> None:
    if target.exists():
        raise ConfigError(f"{target}: a round {round_id} exists already: not overwritten")
    stored = session.get(Round, round_id)
    if stored is not None:
        raise ConfigError(f"round {round_id} exists already in the database ({stored.state}, "
                          f"{stored.title}): choose another id")
