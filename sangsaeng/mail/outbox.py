"""The outbox (ARCHITECTURE): notices rendered when owed, claimed with a lease, outcomes recorded.

One row per (round, kind, subject, recipient, resend): `pending → sending → sent | failed`.
Rows are rendered in the transaction that owes them, so what a company will read is fixed and
reviewable; the `Message-ID` is derived from the row's key, so a retry carries the same one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from functools import lru_cache
from itertools import islice
from typing import Any, Literal

from sqlalchemy import BindParameter, Connection, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sangsaeng.domain.outbox import OutboxState as OutboxState  # re-exported
from sangsaeng.errors import ConfigError
from sangsaeng.mail.attachments import Attachment as Attachment  # re-exported
from sangsaeng.mail.attachments import as_json, checked, digest_parts, from_json
from sangsaeng.mail.headers import InvalidAddress, is_valid_address, mailbox, message_id
from sangsaeng.mail.render import Rendered, Renderer, renderer_for
from sangsaeng.models import MAIL_BODIES, OUTBOX, SUPPRESSIONS, utcnow
from sangsaeng.settings import Settings, get_settings

# Kinds whose body is the same for every recipient (the name only goes into `To:`).
SHARED_KINDS = frozenset({"call.announcement"})
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice owed: kind, the entity it is about, one recipient, the template's data, and
    the files sent with it (part of its body: equal text with other files is another body)."""

    kind: str
    subject_type: str
    subject_id: str
    recipient: str
    recipient_name: str
    payload: dict[str, Any] = field(default_factory=dict)
    unsubscribe: str | None = None
    resend: int = 0
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class MailContext:
    """What rendering and addressing need: the templates and the sender's identity."""

    renderer: Renderer
    sender: Address

    @property
    def domain(self) -> str:
        """The sender's domain: the right-hand side of every Message-ID."""
        return self.sender.domain


def sender_mailbox(settings: Settings, renderer: Renderer) -> Address:
    """SANGSAENG_MAIL_FROM ('Name <address>' or an address), else the office in program.toml."""
    office = renderer.sender
    if not settings.mail_from:
        return mailbox(office["office_name"], office["email"])
    name, address = parseaddr(settings.mail_from, strict=True)
    try:
        return mailbox(name or office["office_name"], address)
    except InvalidAddress:
        raise ConfigError("SANGSAENG_MAIL_FROM is not 'Name <address>' or a plain address"
                          ) from None


@lru_cache(maxsize=4)
def _context(templates: str, config: str, mail_from: str | None) -> MailContext:
    from pathlib import Path

    renderer = renderer_for(Path(templates), Path(config))
    settings = get_settings()
    return MailContext(renderer, sender_mailbox(settings, renderer))


def mail_context() -> MailContext:
    """The process's mail context (cached per templates, config and sender)."""
    s = get_settings()
    return _context(str(s.templates_dir), str(s.config_dir), s.mail_from)


def notice_key(round_id: str, n: Notice) -> str:
    """The row's unique key as text: the seed of its Message-ID."""
    return "|".join((round_id, n.kind, n.subject_type, n.subject_id, n.recipient, str(n.resend)))


def body_digest(kind: str, lang: str, r: Rendered) -> str:
    """Content address of a rendered body (equal notices share one row)."""
    parts: list[object] = [kind, lang, r.subject, r.text, r.html]
    if r.attachments:  # a body without any keeps the digest it always had
        parts.append(digest_parts(r.attachments))
    blob = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _insert(session: Session | Connection, table: Any, rows: list[dict[str, Any]],
            keys: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING in chunks; returns the rows inserted."""
    if not rows:
        return 0
    dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING counts what was inserted: an executemany's rowcount is not reliable on psycopg
    stmt = (builder(table).on_conflict_do_nothing(index_elements=keys)
            .returning(*table.primary_key.columns))
    total = 0
    for start in range(0, len(rows), _CHUNK):
        total += len(session.execute(stmt, rows[start:start + _CHUNK]).all())
    return total


def suppressed(session: Session) -> dict[str, str]:
    """Addresses refused permanently, with the server's reply."""
    s = SUPPRESSIONS.c
    return {a: r for a, r in session.execute(select(s.address, s.reply)).all()}


class _Bodies:
    """Renders each distinct notice once and stores each distinct body once."""

    def __init__(self, context: MailContext) -> None:
        self.context = context
        self.by_key: dict[tuple[str, str, str, tuple[Attachment, ...]], str] = {}
        self.rendered: dict[str, tuple[str, Rendered]] = {}

    def digest(self, n: Notice) -> str:
        name = "" if n.kind in SHARED_KINDS else n.recipient_name
        key = (n.kind, json.dumps(n.payload, sort_keys=True, ensure_ascii=False), name,
               n.attachments)
        digest = self.by_key.get(key)
        if digest is None:
            rendered = self.context.renderer.render(n.kind, n.payload, recipient_name=name)
            if n.attachments:
                rendered = replace(rendered, attachments=checked(n.attachments))
            digest = body_digest(n.kind, self.context.renderer.lang, rendered)
            self.by_key[key] = digest
            self.rendered[digest] = (n.kind, rendered)
        return digest

    def store(self, session: Session) -> dict[str, int]:
        now, lang = utcnow(), self.context.renderer.lang
        _insert(session, MAIL_BODIES, [
            {"digest": d, "kind": kind, "lang": lang, "subject": r.subject, "text": r.text,
             "html": r.html, "attachments": [as_json(a) for a in r.attachments],
             "created_at": now}
            for d, (kind, r) in self.rendered.items()], ["digest"])
        ids: dict[str, int] = {}
        digests = list(self.rendered)
        b = MAIL_BODIES.c
        for start in range(0, len(digests), _CHUNK):
            rows = session.execute(select(b.digest, b.id).where(
                b.digest.in_(digests[start:start + _CHUNK]))).all()
            ids.update((digest, body_id) for digest, body_id in rows)
        return ids


def outbox_row(round_id: str, n: Notice, domain: str, now: datetime, *,
               state: OutboxState = OutboxState.PENDING, reply: str = "") -> dict[str, Any]:
    """The outbox row of a notice, its body aside (enqueue and resend)."""
    return {"round_id": round_id, "kind": n.kind, "subject_type": n.subject_type,
            "subject_id": n.subject_id, "recipient": n.recipient,
            "recipient_name": n.recipient_name, "resend": n.resend, "payload": n.payload,
            "message_id": message_id(notice_key(round_id, n), domain),
            "unsubscribe": n.unsubscribe, "state": state, "attempts": 0,
            "next_attempt_at": now, "last_reply": reply, "created_at": now}


def enqueue(session: Session, round_id: str, notices: Iterable[Notice],
            context: MailContext | None = None) -> int:
    """Render and record notices owed, in the caller's transaction; a known key is kept once.

    An invalid or suppressed address is recorded as `failed` with the reason, never sent.
    A malformed attachment (unsafe file name, path outside the var dir, no sha256) is the
    caller's bug: ValueError. Whether the file is there is checked when it is sent.
    """
    ctx, refused, now, total = context or mail_context(), suppressed(session), utcnow(), 0
    source = iter(notices)
    while chunk := list(islice(source, _CHUNK)):  # memory stays flat in the round's size
        bodies, rows = _Bodies(ctx), []
        for n in chunk:
            state, reply = OutboxState.PENDING, ""
            if not is_valid_address(n.recipient):
                state, reply = OutboxState.FAILED, "invalid address: nothing was sent"
            elif n.recipient in refused:
                state = OutboxState.FAILED
                reply = f"address suppressed after: {refused[n.recipient]}"
            rows.append({**outbox_row(round_id, n, ctx.domain, now, state=state, reply=reply),
                         "body": bodies.digest(n)})
        ids = bodies.store(session)
        for row in rows:
            row["body_id"] = ids[row.pop("body")]
        total += _insert(session, OUTBOX, rows,
                         ["round_id", "kind", "subject_type", "subject_id", "recipient", "resend"])
    return total


# --- delivery bookkeeping -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed row: what the sender needs to build and address one message."""

    id: int
    round_id: str
    kind: str
    recipient: str
    recipient_name: str
    message_id: str
    unsubscribe: str | None
    body_id: int
    attempts: int
    created_at: datetime


OUTGOING_COLUMNS = tuple(f.name for f in fields(Outgoing))


def _due_parts(now: datetime | BindParameter[Any], round_id: str | None
               ) -> list[tuple[Any, Any]]:
    """(condition, order) of due rows: pending ones whose time has come, then rows whose
    sender's lease ran out (a crashed sender's); `now` a time or a parameter."""
    o = OUTBOX.c
    parts = [((o.state == OutboxState.PENDING) & (o.next_attempt_at <= now), o.next_attempt_at),
             ((o.state == OutboxState.SENDING) & (o.lease_until < now), o.lease_until)]
    if round_id:
        parts = [(due & (o.round_id == round_id), order) for due, order in parts]
    return parts


def _due(now: datetime, round_id: str | None) -> Any:
    return or_(*(due for due, _ in _due_parts(now, round_id)))


def count_due(session: Session, *, now: datetime, round_id: str | None = None) -> int:
    """Rows a sender would take now."""
    return int(session.execute(select(func.count()).select_from(OUTBOX)
                               .where(_due(now, round_id))).scalar_one())


def claim(session: Session, *, now: datetime, lease: timedelta, limit: int, token: str,
          round_id: str | None = None) -> list[Outgoing]:
    """Atomically take up to `limit` due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

    Several senders never take the same row; a crashed sender's rows come back after the lease.
    Each row taken carries the taker's `token`: a sender whose lease ran out (it stalled) and
    whose rows another took can no longer renew them nor write their outcome.
    """
    rows: list[Outgoing] = []
    values: dict[str, Any] = {"now": now, "until": now + lease, "token": token}
    if round_id:
        values["due_round"] = round_id
    # Two index range scans (ix_outbox_due), no sort of the whole round.
    for stmt in _claims(bool(round_id)):
        if len(rows) >= limit:
            break
        rows += [Outgoing(*row) for row in session.execute(  # columns in order
            stmt, {**values, "limit": limit - len(rows)}).all()]
    return sorted(rows, key=lambda r: r.id)


@lru_cache(maxsize=2)
def _claims(by_round: bool) -> tuple[Any, ...]:
    """`claim`'s two statements (due rows, then expired leases), built once with parameters:
    building them cost about as much as running them (issue 24)."""
    o = OUTBOX.c
    statements = []
    for due, order in _due_parts(bindparam("now"), None):
        if by_round:
            due = due & (o.round_id == bindparam("due_round"))
        ids = (select(o.id).where(due).order_by(order, o.id).limit(bindparam("limit"))
               .with_for_update(skip_locked=True))  # ignored by SQLite, whose writers are serial
        statements.append(
            update(OUTBOX).where(o.id.in_(ids.scalar_subquery()))
            .values(state=OutboxState.SENDING, lease_until=bindparam("until"),
                    attempts=o.attempts + 1, claim_token=bindparam("token"))
            .returning(*(o[name] for name in OUTGOING_COLUMNS)))
    return tuple(statements)


def _holding(session: Session | Connection, ids: Sequence[int], token: str,
             values: dict[str, Any]) -> set[int]:
    """Of `ids`, the rows still held under `token` (updated with `values`, which locks them)."""
    o = OUTBOX.c
    mine: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        mine.update(session.execute(
            update(OUTBOX).where(o.id.in_(ids[start:start + _CHUNK]),
                                 o.state == OutboxState.SENDING, o.claim_token == token)
            .values(**values).returning(o.id)).scalars())
    return mine


def renew(session: Session, ids: Sequence[int], *, until: datetime, token: str) -> set[int]:
    """Extend the lease of rows this sender still holds and return them; the others were
    taken by another sender after this one's lease ran out (it stalled)."""
    return _holding(session, ids, token, {"lease_until": until})


def leased(session: Session, *, now: datetime, round_id: str | None = None,
           token: str | None = None) -> tuple[int, datetime | None]:
    """Rows another sender holds now (not `token`'s): how many, and until when at the latest."""
    o = OUTBOX.c
    query = select(func.count(), func.max(o.lease_until)).where(
        o.state == OutboxState.SENDING, o.lease_until >= now)
    if round_id:
        query = query.where(o.round_id == round_id)
    if token:
        query = query.where(or_(o.claim_token.is_(None), o.claim_token != token))
    count, until = session.execute(query).one()
    return int(count), until


Verdict = Literal["sent", "retry", "failed", "release"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed row."""

    row: Outgoing
    verdict: Verdict
    reply: str = ""
    suppress: bool = False


def record(session: Session | Connection, outcomes: Sequence[Outcome], *, token: str,
           now: datetime, backoff: Sequence[int], held: bool = False) -> set[int]:
    """Write delivery outcomes (bulk): sent, retry later (4xx backoff), failed, or released.

    Only rows still held under `token` are written: an outcome never overwrites that of a
    sender that took the row meanwhile. Unless the caller knows that its lease holds (`held`),
    a first statement finds and locks the rows still held. Returns the ids written.
    """
    ids = sorted({out.row.id for out in outcomes})
    mine: set[int] = set(ids) if held else set()
    if not held:  # find and lock the rows still held
        for start in range(0, len(ids), _CHUNK):
            mine.update(session.execute(
                _HELD, {"ids": ids[start:start + _CHUNK], "token": token}).scalars())
    values: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for out in (out for out in outcomes if out.row.id in mine):
        row, verdict = out.row, out.verdict
        v: dict[str, Any] = {"row_id": row.id, "token": token, "reply": out.reply[:1000],
                             "lease": None, "sent": None, "attempts": row.attempts, "next": now}
        if verdict == "sent":
            v.update(state=OutboxState.SENT, sent=now)
        elif verdict == "release":  # never attempted: the attempt is not counted
            v.update(state=OutboxState.PENDING, attempts=max(row.attempts - 1, 0))
        elif verdict == "retry":  # the n-th retry waits backoff[n-1] (the last one repeats)
            delay = backoff[min(max(row.attempts, 1), len(backoff)) - 1]
            v.update(state=OutboxState.PENDING, next=now + timedelta(seconds=delay))
        else:
            v.update(state=OutboxState.FAILED)
        values.append(v)
        if out.suppress:
            refused.append({"address": row.recipient, "reply": out.reply[:1000], "at": now,
                            "outbox_id": row.id})
    if values:
        session.execute(_OUTCOME, values)
    _insert(session, SUPPRESSIONS, refused, ["address"])
    return mine


# Built once: the sender writes outcomes several hundred times a second, and building these
# statements cost more than running them (issue 22 item 1: a commit per few outcomes).
_HELD = (update(OUTBOX)
         .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
                OUTBOX.c.state == OutboxState.SENDING, OUTBOX.c.claim_token == bindparam("token"))
         .values(claim_token=bindparam("token")).returning(OUTBOX.c.id))
_OUTCOME = (update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.claim_token == bindparam("token"))
            .values(state=bindparam("state"), last_reply=bindparam("reply"),
                    lease_until=bindparam("lease"), sent_at=bindparam("sent"),
                    attempts=bindparam("attempts"), next_attempt_at=bindparam("next"),
                    claim_token=None))


def withhold(session: Session, round_id: str, *, why: str, now: datetime) -> int:
    """Notices of a round that must not go any more (the call was cancelled): every `pending`
    row becomes `failed` with `why` as its reply. Rows a sender holds now may still go."""
    o = OUTBOX.c
    done = session.execute(
        update(OUTBOX).where(o.round_id == round_id, o.state == OutboxState.PENDING)
        .values(state=OutboxState.FAILED, last_reply=why[:1000], next_attempt_at=now)
        .returning(o.id)).all()
    return len(done)


def load_bodies(session: Session, ids: Iterable[int]) -> dict[int, Rendered]:
    """Rendered bodies by id, with their attachments."""
    b = MAIL_BODIES.c
    wanted = sorted(set(ids))
    found: dict[int, Rendered] = {}
    for start in range(0, len(wanted), _CHUNK):
        for row in session.execute(select(b.id, b.subject, b.text, b.html, b.attachments).where(
                b.id.in_(wanted[start:start + _CHUNK]))).all():
            files = tuple(from_json(a) for a in row.attachments) if row.attachments else ()
            found[row.id] = Rendered(row.subject, row.text, row.html, files)
    return found


def render_legacy(session: Session, context: MailContext | None = None) -> int:
    """Rows owed before rendering moved to creation time (no body yet): render them now."""
    o = OUTBOX.c
    rows = session.execute(select(o.id, o.kind, o.payload, o.recipient_name, o.round_id,
                                  o.subject_type, o.subject_id, o.recipient, o.resend)
                           .where(o.body_id.is_(None))).all()
    if not rows:
        return 0
    ctx = context or mail_context()
    bodies = _Bodies(ctx)
    updates = []
    for r in rows:
        n = Notice(r.kind, r.subject_type, r.subject_id, r.recipient, r.recipient_name,
                   r.payload, resend=r.resend)
        updates.append({"row_id": r.id, "body": bodies.digest(n),
                        "mid": message_id(notice_key(r.round_id, n), ctx.domain)})
    ids = bodies.store(session)
    session.execute(update(OUTBOX).where(o.id == bindparam("row_id")).values(
        body_id=bindparam("body_id"), message_id=bindparam("mid")),
        [{"row_id": u["row_id"], "body_id": ids[u["body"]], "mid": u["mid"]} for u in updates])
    return len(updates)
