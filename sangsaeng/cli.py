"""`sangsaeng` command line (INTERFACES §3): a thin shell over the flows and the reports.

Exports and reports do not import Prefect (it costs seconds); `round run` and `demo` do.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from sangsaeng import progress
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import ImportRejected, SangsaengError, StepError
from sangsaeng.settings import MISPARSED_URL, REPO_ROOT, get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from flows.models import RoundReport
    from sangsaeng.models import Round

app = typer.Typer(help="공공조달 상생협력 지원제도 — round engine.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
round_app = typer.Typer(help="Run rounds.", no_args_is_help=True)
export_app = typer.Typer(help="Export a round's outputs.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for a round.", no_args_is_help=True)
app.add_typer(round_app, name="round")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")

out = Console()
err = Console(stderr=True)

DEMO_ROUND = "2022-2"
DEMO_NOW = "2022-07-20T10:00:00+09:00"


class StepName(StrEnum):
    """Steps accepted by --until."""

    open_call = "open_call"
    intake = "intake"
    close_intake = "close_intake"
    screening = "screening"
    committee_review = "committee_review"
    selection_notice = "selection_notice"


class SelectionFormat(StrEnum):
    """Formats of the selection list."""

    csv = "csv"
    xlsx = "xlsx"
    md = "md"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_instant(value)
    except ValueError:
        raise UsageError(f"--now: not an ISO 8601 date-time: {value!r}") from None


def _chair_actions(values: list[str], option: str) -> list[dict[str, str]]:
    actions = []
    for value in values:
        receipt, sep, reason = value.partition("=")
        if not sep or not receipt.strip() or not reason.strip():
            raise UsageError(f"{option} takes RECEIPT=REASON, got {value!r}")
        actions.append({"receipt_no": receipt.strip(), "reason": reason.strip()})
    return actions


def _prepare_prefect() -> None:
    """In-process Prefect for CLI runs: generous start-up timeout, quiet logs (FIELD_NOTES)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here
    # The CLI reports each step and each user error itself, as one line: Prefect's run loggers
    # would print the same failure again with a traceback.
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "CRITICAL")


class _Bar:
    """Shows `sangsaeng.progress` reports as rich progress bars, one per step."""

    def __init__(self, progress_: Progress) -> None:
        self.progress, self.tasks = progress_, dict[str, TaskID]()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=max(total, 1))
        self.progress.update(self.tasks[step], completed=done, total=max(total, 1))


def _preflight(config: Path, data: Path) -> None:
    """Fail fast, before Prefect starts, on a bad configuration or an unreadable package.

    Row-level problems are left to intake, which keeps the good rows and lists the bad ones.
    """
    from decimal import Decimal

    from sangsaeng.config import load_program, load_round
    from sangsaeng.io.package import CriterionSpec, read_package

    program = load_program(get_settings().config_dir)
    round_config = load_round(config, program)
    criteria = {t: [CriterionSpec(c.key, Decimal(c.max)) for c in program.criteria_for(t)]
                for t in round_config.tracks}
    read_package(data, tracks=round_config.tracks, criteria_by_track=criteria)


def run_round(config: Path, data: Path, now: datetime, approve: bool, until: str | None,
              chair: dict[str, Any] | None = None) -> RoundReport:
    """Run the `round` flow in-process with progress bars; returns its report."""
    _preflight(config, data)
    _prepare_prefect()
    err.print("[dim]starting Prefect in-process (first start takes 15–25 s)…[/dim]")
    from flows.models import Step
    from flows.round import round_flow

    # The in-process server's event recorder may still be flushing when the process ends; its
    # shutdown error (with a traceback) is Prefect's bookkeeping, not the round's.
    logging.getLogger("prefect.server.services.task_run_recorder").setLevel(logging.CRITICAL)

    columns = (SpinnerColumn(), TextColumn("{task.description:<18}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        progress.set_reporter(_Bar(bar))
        try:
            result: RoundReport = asyncio.run(round_flow(
                str(config.resolve()), str(data.resolve()), now, approve and chair is None,
                Step(until) if until else None, False, _actor()))
        finally:
            progress.set_reporter(None)
    if chair is not None and result.state != "review":
        raise StepError(f"round {result.round_id} is {result.state}: the chair's changes apply "
                        "only while the round awaits approval (state review)")
    if chair is not None:
        from flows.models import ChairApproval
        from flows.round import committee_review

        asyncio.run(committee_review(result.round_id, now, ChairApproval.model_validate(chair),
                                     False, _actor()))
        # then on from where the round now stands (safe: every step is idempotent)
        result = asyncio.run(round_flow(str(config.resolve()), str(data.resolve()), now, False,
                                        Step(until) if until else None, False, _actor()))
    return result


def _print_report(report: RoundReport) -> None:
    for outcome in report.steps:
        sent = outcome.notices.get("sent", 0)
        mail = f" [dim]· {sent} notice(s) sent[/dim]" if sent else ""
        out.print(f"  [green]✓[/green] {outcome.step.value:<17} {outcome.detail}{mail}")
        if outcome.notices_waiting:
            out.print(f"      [yellow]notices wait in the outbox[/yellow]: "
                      f"{outcome.notices_waiting}")
        for receipt, reviewer, why in outcome.data.get("excluded", []):
            out.print(f"      [yellow]excluded[/yellow] {receipt} reviewer {reviewer}: {why}")
    out.print(f"round {report.round_id}: [bold]{report.state}[/bold]")
    if report.waiting_for:
        out.print(f"waiting for {report.waiting_for}")


class UsageError(SangsaengError):
    """A command-line option used the wrong way."""

    exit_code = 2


# What a user can cause: bad input, a file that cannot be written, an unreachable database.
USER_ERRORS = (SangsaengError, OSError, SQLAlchemyError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, SQLAlchemyError):
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        settings = get_settings()
        where = settings.redacted_database_url
        if where == MISPARSED_URL:  # the driver's message would echo part of the password
            return f"database error {where}"
        return f"database error ({where}): {settings.scrub(first)}"
    if isinstance(exc, OSError) and not isinstance(exc, SangsaengError):
        return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    return str(exc)


def _report(exc: Exception) -> int:
    """Write a user error to stderr and return its exit status."""
    # Plain writes, never wrapped: each message is one line that scripts can grep.
    if isinstance(exc, ImportRejected):
        sys.stderr.writelines(f"{line}\n" for line in exc.errors)
    sys.stderr.write(f"error: {_describe(exc)}\n")
    return int(getattr(exc, "exit_code", 1))


def _fail(exc: Exception) -> NoReturn:
    raise typer.Exit(_report(exc))


@round_app.command("run")
def round_run(
    config: Annotated[Path, typer.Option(help="round configuration (TOML)")],
    data: Annotated[Path, typer.Option(help="round package: CSV folder or one .xlsx")],
    now: Annotated[str | None, typer.Option(help="fix the clock (ISO 8601; naive = KST)")] = None,
    approve: Annotated[bool, typer.Option(help="give the chair's approval (V10)")] = False,
    until: Annotated[StepName | None, typer.Option(help="stop after this step")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        help="with --approve: exclude a selection, RECEIPT=REASON (repeatable)")] = None,
    include: Annotated[list[str] | None, typer.Option(
        help="with --approve: include a reserve, RECEIPT=REASON (repeatable)")] = None,
) -> None:
    """Run one round end to end, non-interactively."""
    try:
        clock = _parse_now(now)
        chair = None
        if exclude or include:
            if not approve:
                raise UsageError("--exclude/--include go with --approve")
            chair = {"approve": True, "approved_by": _actor(),
                     "exclude": _chair_actions(exclude or [], "--exclude"),
                     "include": _chair_actions(include or [], "--include")}
        result = run_round(config, data, clock, approve, until.value if until else None, chair)
    except USER_ERRORS as exc:
        _fail(exc)
    _print_report(result)


def _write(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    err.print(f"wrote {path}")


@contextmanager
def _open_round(round_id: str) -> Iterator[tuple[Session, Round]]:
    """A read session on the program database and the round (a user error if unknown)."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.rounds import get_round

    with session_scope(get_engine()) as session:
        yield session, get_round(session, round_id)


def _note(rnd: Round) -> None:
    from sangsaeng.reports import release_note

    note = release_note(rnd)
    if note:
        sys.stderr.write(f"note: {note}\n")


@export_app.command("decisions")
def export_decisions(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    out_path: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
) -> None:
    """Per-application outcomes (INTERFACES §4 decisions.csv)."""
    from sangsaeng.exports import decisions_csv
    from sangsaeng.reports import decision_rows

    try:
        with _open_round(round_id) as (session, rnd):
            _note(rnd)
            _write(decisions_csv(decision_rows(session, rnd)), out_path)
    except USER_ERRORS as exc:
        _fail(exc)


@export_app.command("selection")
def export_selection(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    fmt: Annotated[SelectionFormat, typer.Option("--format")] = SelectionFormat.csv,
    out_path: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
) -> None:
    """The selection list (PROGRAM_RULES A1) as CSV, XLSX or Markdown."""
    from sangsaeng.exports import selection_text, write_selection_xlsx
    from sangsaeng.reports import selection_table

    if fmt is SelectionFormat.xlsx and out_path is None:
        _fail(UsageError("--format xlsx needs --out FILE"))
    try:
        with _open_round(round_id) as (session, rnd):
            _note(rnd)
            rows = selection_table(session, rnd)
            if fmt is SelectionFormat.xlsx:
                assert out_path is not None
                out_path.parent.mkdir(parents=True, exist_ok=True)
                write_selection_xlsx(out_path, rnd, rows)
                err.print(f"wrote {out_path}")
            else:
                _write(selection_text(rows, "md" if fmt is SelectionFormat.md else "csv"),
                       out_path)
    except USER_ERRORS as exc:
        _fail(exc)


@report_app.command("announcement")
def report_announcement(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    out_path: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
) -> None:
    """The announcement (figures A2 + selection table A1) in Markdown."""
    from sangsaeng.config import load_program
    from sangsaeng.reports import announcement

    try:
        program = load_program(get_settings().config_dir)
        with _open_round(round_id) as (session, rnd):
            _note(rnd)
            _write(announcement(session, rnd, program.program.name, program.program.ministry),
                   out_path)
    except USER_ERRORS as exc:
        _fail(exc)


@app.command()
def demo() -> None:
    """Replay the 2022-2 round on the embedded defaults and write its outputs under var/."""
    settings = get_settings()
    config = settings.config_dir / "rounds" / f"{DEMO_ROUND}.toml"
    data = REPO_ROOT / "data" / "rounds" / DEMO_ROUND / "package"
    try:
        result = run_round(config, data, parse_instant(DEMO_NOW), True, None)
    except USER_ERRORS as exc:
        _fail(exc)
    _print_report(result)
    target = settings.var_dir / "demo" / DEMO_ROUND
    export_decisions(DEMO_ROUND, target / "decisions.csv")
    for fmt in SelectionFormat:
        export_selection(DEMO_ROUND, fmt, target / f"selection.{fmt.value}")
    report_announcement(DEMO_ROUND, target / "announcement.md")
    _print_figures(DEMO_ROUND)
    _print_notices(DEMO_ROUND)
    out.print(f"\noutputs in [bold]{target.resolve()}[/bold]; database "
              f"{settings.redacted_database_url}")


def _print_figures(round_id: str) -> None:
    """A2: the figures the press release states, as computed from the data."""
    from sangsaeng.reports import figures

    with _open_round(round_id) as (session, rnd):
        fig = figures(session, rnd)
        labels = {t: rnd.settings["tracks"][t]["label"] for t in rnd.tracks}
    tracks = " · ".join(f"{labels[t]} {n}" for t, n in fig.by_track.items())
    out.print(f"\n{round_id}: {fig.applications} applications, {fig.selected} projects selected, "
              f"{fig.lead_participations} lead-company participations ({tracks})")


from sangsaeng.cli_mail import companies_app, notices_app  # noqa: E402 (they use the helpers above)
from sangsaeng.cli_serve import serve  # noqa: E402

app.add_typer(notices_app, name="notices")
app.add_typer(companies_app, name="companies")
app.command()(serve)  # INTERFACES §3 `sangsaeng serve`


def _print_notices(round_id: str) -> None:
    """Where the round's notices went (the embedded server's .eml files, or the SMTP server)."""
    from sangsaeng.mail.office import status

    with _open_round(round_id) as (session, rnd):
        st = status(session, rnd.id)
    by_state: dict[str, int] = {}
    for (_, state), n in st.counts.items():
        by_state[state] = by_state.get(state, 0) + n
    settings = get_settings()
    where = (f"{settings.smtp_host}" if settings.smtp_host
             else f"{(settings.var_dir / 'mail').resolve()} (.eml files)")
    out.print(f"{round_id}: notices sent {by_state.get('sent', 0)}, waiting "
              f"{by_state.get('pending', 0) + by_state.get('sending', 0)}, failed "
              f"{by_state.get('failed', 0)} → {where}; `sangsaeng notices status --round "
              f"{round_id}` lists them")


def main() -> None:
    """Entry point of the `sangsaeng` command."""
    try:
        app()
    except USER_ERRORS as exc:  # the last net: a user's mistake never shows a traceback
        sys.exit(_report(exc))
