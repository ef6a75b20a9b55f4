"""What every `sangsaeng` command shares: the consoles, the actor, one-line user errors."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import ImportRejected, SangsaengError
from sangsaeng.settings import MISPARSED_URL, get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlmodel import Session

    from sangsaeng.models import Round

out = Console()
err = Console(stderr=True)


class UsageError(SangsaengError):
    """A command-line option used the wrong way."""

    exit_code = 2


# What a user can cause: bad input, a file that cannot be written, an unreachable database.
USER_ERRORS = (SangsaengError, OSError, SQLAlchemyError)


def actor() -> str:
    """Who runs the command, for the audit trail (`cli:<login>`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse_now(value: str | None) -> datetime:
    """`--now` as an aware instant (naive = KST); now if not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_instant(value)
    except ValueError:
        raise UsageError(f"--now: not an ISO 8601 date-time (years 1–9999, time zone at most "
                         f"±14:00): {value!r}") from None


# Each step (and each command) writes in one transaction (tasks/steps.py): a database failure
# rolls it back whole, and the steps are safe to run again.
ROLLED_BACK = " — the interrupted step saved nothing; run the command again"
UNAVAILABLE = " once the database is reachable and writable"


def _describe(exc: Exception) -> str:
    if isinstance(exc, SQLAlchemyError):
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        settings = get_settings()
        where = settings.redacted_database_url
        again = ROLLED_BACK + ("" if isinstance(exc, IntegrityError) else UNAVAILABLE)
        if where == MISPARSED_URL:  # the driver's message would echo part of the password
            return f"database error {where}{again}"
        return f"database error ({where}): {settings.scrub(first)}{again}"
    if isinstance(exc, OSError) and not isinstance(exc, SangsaengError):
        return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    return str(exc)


def report(exc: Exception) -> int:
    """Write a user error to stderr and return its exit status."""
    # Plain writes, never wrapped: each message is one line that scripts can grep.
    if isinstance(exc, ImportRejected):
        sys.stderr.writelines(f"{line}\n" for line in exc.errors)
    sys.stderr.write(f"error: {_describe(exc)}\n")
    return int(getattr(exc, "exit_code", 1))


def fail(exc: Exception) -> NoReturn:
    """End the command with the error's one line and exit status."""
    raise typer.Exit(report(exc))


def write(text: str, path: Path | None) -> None:
    """Text to a file (UTF-8, as is) or to stdout."""
    if path is None:
        sys.stdout.write(text)
        return
    from sangsaeng.exports import write_out

    data = text.encode("utf-8")
    write_out(path, lambda temporary: temporary.write_bytes(data))
    err.print(f"wrote {path}")


@contextmanager
def open_round(round_id: str) -> Iterator[tuple[Session, Round]]:
    """A read session on the program database and the round (a user error if unknown)."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.rounds import get_round

    with session_scope(get_engine()) as session:
        yield session, get_round(session, round_id)


# Issue 27 item 2: every download of personal data gives its reason (docs/privacy.md).
ReasonOption = Annotated[str | None, typer.Option(
    "--reason", help="why the personal data is taken, for the access log (개인정보 내려받기 "
                     "사유); default SANGSAENG_ACCESS_REASON")]


def personal_data(session: Session, *, what: str, holds: str, round_id: str | None,
                  receipts: Sequence[str], reason: str | None, viewed: str | None = None
                  ) -> None:
    """Before personal data goes out: its reason (refused without one, in one line) and a row
    of the access log, committed — an output whose row cannot be written is not given. Shown
    on the terminal only (`viewed`: what it is shown for), it is a view: no reason asked."""
    from sangsaeng.domain.access import AccessAction
    from sangsaeng.services import access

    action = AccessAction.OUTPUT if viewed is None else AccessAction.VIEW
    given = access_reason(what, holds, reason) if viewed is None else (reason or viewed)
    access.record(session, access.Request(
        actor(), client(), action, what, round_id, receipts, given), datetime.now(UTC))
    session.commit()


def access_reason(what: str, holds: str, reason: str | None) -> str:
    """The reason given for personal data (`--reason`, else SANGSAENG_ACCESS_REASON), or a
    one-line refusal (exit 2)."""
    from sangsaeng.services.access import checked_reason

    return checked_reason(reason or os.environ.get("SANGSAENG_ACCESS_REASON"), what, holds)


def client() -> str:
    """Where the CLI is used from: the SSH client's address, else `local`."""
    return (os.environ.get("SSH_CLIENT") or "").split(" ")[0] or "local"
