"""The office's view of the outbox: status, preview and dry run of a batch, deliberate resend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, insert, select
from sqlmodel import Session

from sangsaeng import blobs
from sangsaeng.domain.clock import as_kst
from sangsaeng.domain.outbox import OWED_STATES, OutboxState
from sangsaeng.errors import StepError
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.mail.attachments import AttachmentError
from sangsaeng.mail.compose import Composer
from sangsaeng.mail.outbox import (
    OUTGOING_COLUMNS,
    MailContext,
    Notice,
    Outgoing,
    leased,
    load_bodies,
    mail_context,
    outbox_row,
)
from sangsaeng.mail.render import Rendered
from sangsaeng.models import OUTBOX, utcnow


@dataclass(frozen=True, slots=True)
class Failure:
    """A notice that could not be delivered, with the server's reply."""

    id: int
    kind: str
    recipient: str
    reply: str


@dataclass(frozen=True, slots=True)
class Status:
    """A round's notices: counts by kind and state, and the failures with their replies."""

    counts: dict[tuple[str, str], int]
    failures: list[Failure]
    retrying: int
    leased: int = 0  # rows a sender holds now …
    leased_until: datetime | None = None  # … until then at the latest


def leased_note(count: int, until: datetime | None, *, by: str = "a sender") -> str | None:
    """One line on rows a sender holds now (KST, as the CLI's other times), or None."""
    if not count or until is None:
        return None
    return (f"{count} notice(s) are leased by {by} until {as_kst(until):%Y-%m-%d %H:%M:%S} KST "
            "(sent by it, or due again then)")


def status(session: Session, round_id: str) -> Status:
    """Counts by (kind, state); failed rows with replies; pending rows that failed before."""
    o = OUTBOX.c
    counts = {(k, s): int(n) for k, s, n in session.execute(
        select(o.kind, o.state, func.count()).where(o.round_id == round_id)
        .group_by(o.kind, o.state).order_by(o.kind, o.state)).all()}
    failures = [Failure(r.id, r.kind, r.recipient, r.last_reply) for r in session.execute(
        select(o.id, o.kind, o.recipient, o.last_reply)
        .where(o.round_id == round_id, o.state == OutboxState.FAILED).order_by(o.id)).all()]
    retrying = int(session.execute(select(func.count()).select_from(OUTBOX).where(
        o.round_id == round_id, o.state == OutboxState.PENDING, o.attempts > 0)).scalar_one())
    return Status(counts, failures, retrying,
                  *leased(session, now=utcnow(), round_id=round_id))


def pending(session: Session, round_id: str, *, kind: str | None = None,
            limit: int | None = None) -> list[Outgoing]:
    """Rows not yet sent (pending or sending), oldest first — what the next batch holds."""
    query = _pending(select(*(OUTBOX.c[c] for c in OUTGOING_COLUMNS)), round_id, kind
                     ).order_by(OUTBOX.c.id)
    if limit:
        query = query.limit(limit)
    return [Outgoing(**row._mapping) for row in session.execute(query).all()]


def pending_subjects(session: Session, round_id: str, *, kind: str | None = None) -> list[str]:
    """Whom the rows not yet sent are about (their subjects: receipt or certificate numbers),
    sorted: the access log's data subjects of a preview."""
    return sorted(session.scalars(_pending(select(OUTBOX.c.subject_id).distinct(),
                                           round_id, kind)))


Q = TypeVar("Q", bound=Select[Any])


def _pending(query: Q, round_id: str, kind: str | None) -> Q:
    o = OUTBOX.c
    query = query.where(o.round_id == round_id, o.state.in_(OWED_STATES),
                        o.body_id.is_not(None))
    return query.where(o.kind == kind) if kind else query


def build(session: Session, rows: list[Outgoing], context: MailContext | None = None,
          *, unsubscribe_url: str | None = None, now: datetime | None = None,
          unsendable: list[tuple[Outgoing, str]] | None = None
          ) -> Iterator[tuple[Outgoing, bytes]]:
    """Each row's message exactly as the sender would send it (nothing is sent or changed).

    A row whose attachment cannot be sent as owed (the sender would fail it) raises
    `AttachmentError`, or is listed in `unsendable` with the reason when a list is given.
    """
    ctx = context or mail_context()
    composer = Composer(ctx.sender, unsubscribe_url=unsubscribe_url,
                        fetch=lambda sha, path: blobs.cached(session, sha, path))
    bodies = load_bodies(session, {r.body_id for r in rows})
    at = now or utcnow()
    for row in rows:  # bodies built as needed: the composer keeps the last 512 only
        if not composer.has_body(row.body_id):
            composer.add_body(row.body_id, bodies[row.body_id])
        try:
            data = composer.message(row, at)
        except AttachmentError as exc:
            if unsendable is None:
                raise
            unsendable.append((row, str(exc)))
            continue
        yield row, data


def bodies_of(session: Session, rows: list[Outgoing]) -> dict[int, Rendered]:
    """The rendered bodies of these rows, with their attachments (for previews)."""
    return load_bodies(session, {r.body_id for r in rows})


def attachment_line(rendered: Rendered) -> str | None:
    """'Attachments: a.pdf, b.pdf' for a preview, or None."""
    if not rendered.attachments:
        return None
    return "Attachments: " + ", ".join(a.filename for a in rendered.attachments)


def resend(session: Session, outbox_id: int, *, reason: str, actor: str, now: datetime,
           context: MailContext | None = None) -> int:
    """Owe one notice again on purpose: a new row (new Message-ID, same body), audited."""
    if not reason.strip():
        raise StepError("a resend needs a reason (it is audited)")
    o = OUTBOX.c
    row = session.execute(select(OUTBOX).where(o.id == outbox_id)).first()
    if row is None:
        raise StepError(f"no notice with id {outbox_id}")
    if row.body_id is None:
        raise StepError(f"notice {outbox_id} is not rendered yet: send the round's notices first")
    ctx = context or mail_context()
    latest = session.execute(select(func.max(o.resend)).where(
        o.round_id == row.round_id, o.kind == row.kind, o.subject_type == row.subject_type,
        o.subject_id == row.subject_id, o.recipient == row.recipient)).scalar_one()
    number = int(latest or 0) + 1
    notice = Notice(row.kind, row.subject_type, row.subject_id, row.recipient,
                    row.recipient_name, row.payload, row.unsubscribe, number)
    values = {**outbox_row(row.round_id, notice, ctx.domain, utcnow()), "body_id": row.body_id}
    new_id = int(session.execute(insert(OUTBOX).values(**values).returning(o.id)).scalar_one())
    record(session, Audit(now, actor, row.round_id), [Entry(
        "notice", str(new_id), "resend", None, reason.strip(), to_state=OutboxState.PENDING,
        data={"original": outbox_id, "kind": row.kind, "resend": number})])
    return new_id
