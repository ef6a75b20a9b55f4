"""The crash suite's tools: a workspace per run (program database, var dir), the `sangsaeng`
command in a subprocess (optionally armed with a crash point), and a snapshot of everything a
user would look at afterwards — the program database, the exports, the messages sent and the
certificate PDFs — normalised so that an undisturbed run and a crashed-then-rerun one compare
equal when nothing was lost or doubled.
"""

from __future__ import annotations

import email
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email import policy
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from tests.conftest import REPO, ROUND_2022_2
from tests.e2e.served import BIN, Server, base_env

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
NOW = "2022-07-20T10:00:00+09:00"
ROUND = "2022-2"
ROUND_RUN = ("round", "run", "--config", str(CONFIG), "--data", str(PACKAGE), "--now", NOW,
             "--approve")
KILLED = -signal.SIGKILL

# Columns that differ between two undisturbed runs only by the wall clock or chance: when a
# row was written, leases and claim tokens. Surrogate ids are dropped, and integer references
# to them are replaced by the natural key of the row they point at (below).
WALL_CLOCK = {"created_at", "updated_at", "recorded_at", "sent_at", "next_attempt_at",
              "lease_until", "claim_token"}
SURROGATE = {"id"}


@dataclass
class Workspace:
    """One run's program database (SQLite file) and var dir, and its `sangsaeng` commands."""

    root: Path
    server: Server
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.root / "sangsaeng.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    @property
    def var(self) -> Path:
        return self.root / "var"

    def env(self, crash_at: str | None = None, **extra: str) -> dict[str, str]:
        env = {**base_env(), "PREFECT_API_URL": self.server.api_url,
               "PREFECT_HOME": str(self.server.home), "PREFECT_LOGGING_LEVEL": "WARNING",
               "SANGSAENG_DATABASE_URL": self.url, "SANGSAENG_VAR_DIR": str(self.var),
               **self.extra_env, **extra}
        if crash_at:  # crash points fire only in test mode (sangsaeng/crashpoints.py)
            env.update(SANGSAENG_CRASH_AT=crash_at, SANGSAENG_TEST_MODE="1")
        return env

    def run(self, *args: str, crash_at: str | None = None, **extra: str
            ) -> subprocess.CompletedProcess[str]:
        """`sangsaeng ARGS` as a user runs it; armed with `crash_at` if given."""
        return subprocess.run([str(BIN / "sangsaeng"), *args], env=self.env(crash_at, **extra),
                              cwd=self.root, capture_output=True, text=True, timeout=240,
                              check=False)


def new_workspace(root: Path, server: Server, template: Path, **extra_env: str) -> Workspace:
    """A workspace under `root` whose database is a copy of the migrated `template`.

    Every workspace signs its certificate PDFs with one key (an office has one), made once
    beside the template: signing is deterministic for a key (the signing time is the issue
    date), so a rerun's PDFs are compared byte for byte with the undisturbed run's. Each
    workspace's own demo pair would differ by chance alone."""
    from sangsaeng.documents.signing import demo_pair

    root.mkdir(parents=True, exist_ok=True)
    office = demo_pair(template.parent / "office-signing")
    extra_env = {"SANGSAENG_SIGNING_KEY": str(office.key),
                 "SANGSAENG_SIGNING_CERT": str(office.cert), **extra_env}
    ws = Workspace(root, server, dict(extra_env))
    shutil.copyfile(template, ws.db)
    return ws


def killed_at(result: subprocess.CompletedProcess[str], point: str) -> str:
    """Assert that the process died by SIGKILL at `point`; returns the hook's line."""
    assert result.returncode == KILLED, (
        f"expected the run to die by SIGKILL at {point}, it exited {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}")
    lines = [line for line in result.stderr.splitlines() if line.startswith("crash point ")]
    assert lines and lines[-1].startswith(f"crash point {point}"), (
        f"the run was killed, but not at {point}: {lines}\n{result.stderr}")
    return lines[-1]


def completed(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, (
        f"{what} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    assert "Traceback" not in result.stderr, result.stderr


# --- the program database ---------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime | date | Decimal):
        return str(value)
    return value


@contextmanager
def _connection(db: Path) -> Iterator[Any]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a plain SQL query on a workspace's database (read-only use)."""
    from sqlalchemy import text

    with _connection(db) as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def dump(db: Path, ignore: dict[str, set[str]] | None = None) -> dict[str, Counter[str]]:
    """Every table as a multiset of rows, without surrogate ids and wall-clock columns;
    `application_id` → receipt number, `body_id` → the body's digest, `outbox_id` → the
    message's Message-ID (the rows they point at, whatever their ids)."""
    ignore = ignore or {}
    meta = MetaData()
    with _connection(db) as conn:
        meta.reflect(conn)
        receipts = dict(conn.execute(select(meta.tables["application"].c.id,
                                            meta.tables["application"].c.receipt_no)).all())
        digests = dict(conn.execute(select(meta.tables["mailbody"].c.id,
                                           meta.tables["mailbody"].c.digest)).all())
        mids = dict(conn.execute(select(meta.tables["outboxmessage"].c.id,
                                        meta.tables["outboxmessage"].c.message_id)).all())
        refs = {"application_id": receipts, "body_id": digests, "outbox_id": mids}
        tables: dict[str, Counter[str]] = {}
        for name, table in sorted(meta.tables.items()):
            # the access log records the harness's own reads of the exports (issue 27), made
            # on one run's database and not the other's: not the state a crash could disturb
            if name in ("alembic_version", "accesslog"):
                continue
            skip = WALL_CLOCK | SURROGATE | ignore.get(name, set())
            cols = [c for c in table.c if c.name not in skip]
            rows: Counter[str] = Counter()
            for row in conn.execute(select(*cols)).mappings():
                values = {k: refs[k].get(v, v) if k in refs else _plain(v)
                          for k, v in row.items()}
                rows[json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)] += 1
            tables[name] = rows
    return tables


# --- the files a user looks at ------------------------------------------------------------

EXPORTS = {
    "decisions.csv": ("export", "decisions", "--round", ROUND),
    "selection.csv": ("export", "selection", "--round", ROUND),
    "certificates.csv": ("export", "certificates", "--round", ROUND, "--now", NOW, "--reason",
                         "확인서 대장 점검"),
    "listing.csv": ("export", "listing", "--round", ROUND, "--now", NOW),
}


@contextmanager
def settings_of(ws: Workspace) -> Iterator[None]:
    """This process's settings pointed at `ws` for the block (the exports run in-process)."""
    from sangsaeng.db import dispose_engines
    from sangsaeng.settings import get_settings

    keys = {"SANGSAENG_DATABASE_URL": ws.url, "SANGSAENG_VAR_DIR": str(ws.var)}
    before = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield
    finally:
        dispose_engines()
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def exports(ws: Workspace) -> dict[str, bytes]:
    """`sangsaeng export decisions/selection/certificates/listing` of the round, as files."""
    from typer.testing import CliRunner

    from sangsaeng.cli import app

    out = ws.root / "exports"
    out.mkdir(exist_ok=True)
    files = {}
    with settings_of(ws):
        for name, args in EXPORTS.items():
            target = out / name
            result = CliRunner().invoke(app, [*args, "--out", str(target)])
            assert result.exit_code == 0, f"{' '.join(args)}: {result.output}"
            files[name] = target.read_bytes()
    return files


@dataclass(frozen=True, order=True)
class Sent:
    """One message as a mail program shows it."""

    message_id: str
    recipient: str
    subject: str


def sent_of(data: bytes) -> Sent:
    msg = email.message_from_bytes(data, policy=policy.default)
    return Sent(str(msg["Message-ID"]), str(msg["To"]), str(msg["Subject"]))


def mailbox(ws: Workspace) -> Counter[Sent]:
    """The messages the embedded mail stored under var/mail/ (one .eml file per message)."""
    folder = ws.var / "mail"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return Counter(sent_of(f.read_bytes()) for f in files)


def pdfs(ws: Workspace) -> dict[str, str]:
    """The round's certificate files: visible name → sha256 (hidden temporary files aside)."""
    folder = ws.var / "certificates" / ROUND
    if not folder.exists():
        return {}
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.iterdir()) if not f.name.startswith(".")}


@dataclass
class Snapshot:
    """What a user finds after a run: database, exports, messages, certificate PDFs."""

    db: Path
    tables: dict[str, Counter[str]]
    files: dict[str, bytes]
    messages: Counter[Sent]
    certificates: dict[str, str]


def snapshot(ws: Workspace, ignore: dict[str, set[str]] | None = None) -> Snapshot:
    return Snapshot(ws.db, dump(ws.db, ignore), exports(ws), mailbox(ws), pdfs(ws))


def _sample(rows: Iterable[str], n: int = 3) -> str:
    listed = list(rows)
    more = f" … and {len(listed) - n} more" if len(listed) > n else ""
    return "; ".join(r[:400] for r in listed[:n]) + more


def differences(expected: Snapshot, actual: Snapshot, *, what: str,
                messages: bool = True) -> list[str]:
    """What differs between an undisturbed run (`expected`) and the rerun after `what`."""
    problems = []
    for name in sorted(set(expected.tables) | set(actual.tables)):
        want, got = expected.tables.get(name, Counter()), actual.tables.get(name, Counter())
        if want != got:
            problems.append(
                f"table {name} after {what}: missing {sum((want - got).values())} row(s) "
                f"[{_sample(want - got)}], extra {sum((got - want).values())} row(s) "
                f"[{_sample(got - want)}]")
    for name in sorted(set(expected.files) | set(actual.files)):
        if expected.files.get(name) != actual.files.get(name):
            problems.append(f"export {name} differs after {what}")
    if messages and expected.messages != actual.messages:
        missing, extra = expected.messages - actual.messages, actual.messages - expected.messages
        problems.append(f"messages after {what}: {sum(missing.values())} missing "
                        f"{sorted(missing)[:3]}, {sum(extra.values())} extra "
                        f"{sorted(extra)[:3]}")
    if expected.certificates != actual.certificates:
        names = set(expected.certificates) ^ set(actual.certificates)
        changed = [n for n in expected.certificates
                   if n in actual.certificates and expected.certificates[n] !=
                   actual.certificates[n]]
        problems.append(f"certificate PDFs after {what}: different files {sorted(names)}, "
                        f"different content {changed}")
    return problems
