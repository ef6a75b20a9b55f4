"""`sangsaeng notices …` and `sangsaeng companies …`: the office's tools for the outbox.

Delivery runs without Prefect (no start-up cost); the flows call the same code.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sangsaeng.cli.common import (
    ReasonOption,
    UsageError,
    actor,
    err,
    fail,
    open_round,
    out,
    personal_data,
)
from sangsaeng.domain.names import OUTBOX_STATES as STATES
from sangsaeng.errors import ImportRejected, SangsaengError

if TYPE_CHECKING:
    from datetime import datetime

    from sangsaeng.mail.outbox import Outgoing
    from sangsaeng.mail.sender import DeliveryReport

notices_app = typer.Typer(help="Notices: status, preview, delivery, resend.",
                          no_args_is_help=True)
companies_app = typer.Typer(help="The company registry that calls are broadcast to.",
                            no_args_is_help=True)


class DeliveryStopped(SangsaengError):
    """The sender's circuit breaker opened; the notices wait in the outbox."""


@notices_app.command("send")
def notices_send(
    round_id: Annotated[str | None, typer.Option("--round", help="only this round")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many")] = None,
    dry_run: Annotated[bool, typer.Option(
        help="build every due message, send nothing, change nothing")] = False,
) -> None:
    """Send the notices that are due (retries whose backoff has passed included)."""
    if dry_run:
        _dry_run(round_id, limit)
        return
    report = _deliver(round_id, limit)
    out.print(f"sent {report.sent}, retry later {report.retry_later}, failed {report.failed}"
              + (f", reconnects {report.reconnects}" if report.reconnects else "")
              + (f", taken over by another sender {report.taken_over}"
                 if report.taken_over else "")
              + f" ({report.seconds:.1f} s)")
    for kind, reply in report.failures[:5]:
        out.print(f"  [yellow]{kind}[/yellow]: {reply}")
    _print_leased(report.leased, report.leased_until, "another sender")
    if report.stopped:  # what waits: the outbox's count, not this batch's (issue 22 item 6)
        fail(DeliveryStopped(f"delivery stopped: {report.stopped}; {_waiting(round_id)} "
                              "notice(s) wait in the outbox, nothing is lost"))


def _waiting(round_id: str | None) -> int:
    """The notices still owed (pending, or being sent by another sender), of the round or all."""
    from sqlalchemy import func, select

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.domain.outbox import OWED_STATES
    from sangsaeng.models import OUTBOX

    query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.state.in_(OWED_STATES))
    if round_id is not None:
        query = query.where(OUTBOX.c.round_id == round_id)
    with session_scope(get_engine()) as session:
        return int(session.scalar(query) or 0)


def _print_leased(count: int, until: datetime | None, by: str) -> None:
    from sangsaeng.services.notices import leased_note

    note = leased_note(count, until, by=by)
    if note:
        out.print(note, markup=False, soft_wrap=True)


def _deliver(round_id: str | None, limit: int | None) -> DeliveryReport:
    import asyncio

    from sangsaeng.mail.delivery import deliver

    password = _secret_block_password()
    columns = (TextColumn("notices"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("notices", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, 1))

        return asyncio.run(deliver(round_id=round_id, limit=limit, password=password,
                                   progress=show))


def _secret_block_password() -> str | None:
    """A Prefect Secret block named by SANGSAENG_SMTP_PASSWORD_BLOCK (imports Prefect only then)."""
    from sangsaeng.settings import get_settings

    if not get_settings().smtp_password_block:
        return None
    import asyncio

    from tasks.notices import smtp_password

    return asyncio.run(smtp_password())


def _dry_run(round_id: str | None, limit: int | None) -> None:
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.models import Round
    from sangsaeng.services import notices

    by_kind: Counter[str] = Counter()
    size = 0
    unsendable: list[tuple[Outgoing, str]] = []
    with session_scope(get_engine()) as session:
        ids = [round_id] if round_id else [r.id for r in session.query(Round).all()]
        for rid in ids:
            rows = notices.pending(session, rid, limit=limit)
            for row, data in notices.build(session, rows, unsendable=unsendable):
                by_kind[row.kind] += 1
                size += len(data)
        session.rollback()
    for kind, n in sorted(by_kind.items()):
        out.print(f"  {kind:<32} {n:>7}")
    out.print(f"dry run: {sum(by_kind.values())} message(s) built, {size / 1e6:.1f} MB; "
              "nothing sent, nothing changed")
    _print_unsendable(unsendable)


def _print_unsendable(unsendable: list[tuple[Outgoing, str]]) -> None:
    """Rows the sender would fail for their attachment (a few of them, and how many)."""
    if not unsendable:
        return
    out.print(f"{len(unsendable)} notice(s) would fail: an attachment cannot be sent as owed")
    for row, why in unsendable[:5]:
        out.print(f"  #{row.id} {row.kind} → {row.recipient}: {why}", markup=False)


@notices_app.command("status")
def notices_status(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
) -> None:
    """Counts by kind and state; failures with the server's reply."""
    from sangsaeng.services import notices

    with open_round(round_id) as (session, rnd):
        st = notices.status(session, rnd.id)
    states = list(STATES)
    table = Table(title=f"{round_id} notices (발송 현황)")
    table.add_column("kind", no_wrap=True)
    for state in states:
        table.add_column(state, justify="right")
    for kind in sorted({k for k, _ in st.counts}):
        table.add_row(kind, *(str(st.counts.get((kind, s), 0)) for s in states))
    out.print(table)
    if st.retrying:
        out.print(f"{st.retrying} pending notice(s) are waiting to be retried")
    _print_leased(st.leased, st.leased_until, "a sender")
    for f in st.failures:
        out.print(f"  failed #{f.id} {f.kind} → {f.recipient}: {f.reply}")


@notices_app.command("preview")
def notices_preview(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    kind: Annotated[str | None, typer.Option(help="only this notice kind")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write each message as .eml")
                       ] = None,
    reason: ReasonOption = None,
) -> None:
    """What the next batch will send: counts, one sample per kind, optionally every message.
    The recipients' addresses are personal data: the samples shown are logged as a view, and
    `--out` (every message) asks for a reason."""
    from sangsaeng.services import notices

    with open_round(round_id) as (session, rnd):
        rows = notices.pending(session, rnd.id, kind=kind)
        if rows:
            subjects = notices.pending_subjects(session, rnd.id, kind=kind)
            personal_data(session, what=f"{rnd.id}/안내 메일 미리보기" + (
                " (.eml)" if out_dir is not None else ""), holds="받는 사람의 이메일 주소",
                round_id=rnd.id, receipts=subjects, reason=reason,
                viewed=None if out_dir is not None else "발송 전 확인")
        bodies = notices.bodies_of(session, rows)
        first: dict[str, Outgoing] = {}
        per_kind: Counter[str] = Counter()
        for row in rows:
            first.setdefault(row.kind, row)
            per_kind[row.kind] += 1
        for k, row in sorted(first.items()):
            n = per_kind[k]
            body = bodies[row.body_id]
            out.rule(f"{k} × {n}")
            out.print(f"To: {row.recipient_name} <{row.recipient}>", markup=False)
            out.print(f"Subject: {body.subject}", markup=False)
            files = notices.attachment_line(body)
            if files:
                out.print(files, markup=False)
            out.print(f"\n{body.text}", markup=False)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            unsendable: list[tuple[Outgoing, str]] = []
            written = 0
            for row, data in notices.build(session, rows, unsendable=unsendable):
                (out_dir / f"{row.id:07d}-{row.kind}.eml").write_bytes(data)
                written += 1
            err.print(f"wrote {written} message(s) to {out_dir}")
            _print_unsendable(unsendable)
    if not rows:
        out.print(f"round {round_id}: no notices wait to be sent")


@notices_app.command("resend")
def notices_resend(
    notice_id: Annotated[int, typer.Option("--id", help="the notice (see `notices status`)")],
    reason: Annotated[str, typer.Option(help="why it is sent again (audited)")],
) -> None:
    """Owe one notice again on purpose: a new row, same content, audited."""
    from datetime import UTC, datetime

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services import notices

    with session_scope(get_engine()) as session:
        new_id = notices.resend(session, notice_id, reason=reason, actor=actor(),
                               now=datetime.now(UTC))
    out.print(f"notice #{notice_id} owed again as #{new_id}; `sangsaeng notices send` sends it")


@companies_app.command("import")
def companies_import(
    path: Annotated[Path, typer.Argument(help="companies.csv: brn, name, email, opted_in")],
) -> None:
    """Add or update registered companies (bad rows are listed; good rows are kept)."""
    from datetime import UTC, datetime

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.companies import import_registry

    with session_scope(get_engine()) as session:
        summary = import_registry(session, path, now=datetime.now(UTC), actor=actor())
    out.print(f"companies: {summary.added} added, {summary.updated} updated, "
              f"{summary.unchanged} unchanged")
    if summary.errors:
        raise ImportRejected(len(summary.errors), summary.added + summary.updated,
                             [str(e) for e in summary.errors])


@companies_app.command("unsubscribe")
def companies_unsubscribe(
    token: Annotated[str, typer.Argument(help="the token of a List-Unsubscribe request")],
) -> None:
    """Opt a company out of call broadcasts (audited)."""
    from datetime import UTC, datetime

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.companies import unsubscribe

    with session_scope(get_engine()) as session:
        brn = unsubscribe(session, token, now=datetime.now(UTC), actor=actor())
    if brn is None:
        raise UsageError("unknown unsubscribe token")
    sys.stdout.write("unsubscribed\n")
