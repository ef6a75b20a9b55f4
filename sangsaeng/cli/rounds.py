"""`sangsaeng round run` and `sangsaeng demo`: the `round` flow in-process, with progress bars.

They import Prefect only when they run (it costs seconds; FIELD_NOTES).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from flows.registry import STEP_NAMES
from sangsaeng import progress
from sangsaeng.cli.common import (
    ReasonOption,
    UsageError,
    actor,
    err,
    fail,
    open_round,
    out,
    parse_now,
    personal_data,
)
from sangsaeng.cli.exports import write_outputs
from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.outbox import OWED_STATES, OutboxState
from sangsaeng.settings import REPO_ROOT, get_settings

if TYPE_CHECKING:
    from flows.models import RoundReport

round_app = typer.Typer(help="Run rounds.", no_args_is_help=True)

DEMO_ROUND = "2022-2"
DEMO_NOW = "2022-07-20T10:00:00+09:00"


# Steps accepted by --until: the round's steps (flows/registry.py, read without Prefect).
StepName = StrEnum("StepName", [(name, name) for name in STEP_NAMES])  # type: ignore[misc]


def _chair_actions(values: list[str], option: str) -> list[dict[str, str]]:
    actions = []
    for value in values:
        receipt, sep, reason = value.partition("=")
        if not sep or not receipt.strip() or not reason.strip():
            raise UsageError(f"{option} takes RECEIPT=REASON, got {value!r}")
        actions.append({"receipt_no": receipt.strip(), "reason": reason.strip()})
    return actions


def prepare_prefect() -> None:
    """In-process Prefect for CLI runs: generous start-up timeout, quiet logs (FIELD_NOTES)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here
    # The CLI reports each step and each user error itself, as one line: Prefect's run loggers
    # would print the same failure again with a traceback.
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "CRITICAL")
    # docs/operations.md has the office export PREFECT_SERVER_API_AUTH_STRING for `serve`; in that
    # shell the CLI's own in-process server asks for it too, and the CLI is its only client.
    server_auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
    if server_auth and not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_API_AUTH_STRING", server_auth)
    # At exit Prefect flushes the run's events still queued, and its queue services log
    # "Still processing items: 3 items remaining..." as a WARNING while they do: bookkeeping,
    # which printed after the command's own last line (its error, its summary).
    for service in ("EventsWorker", "APILogWorker"):
        logging.getLogger(service).setLevel(logging.ERROR)


class _Bar:
    """Shows `sangsaeng.progress` reports as rich progress bars, one per step."""

    def __init__(self, progress_: Progress) -> None:
        self.progress, self.tasks = progress_, dict[str, TaskID]()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=max(total, 1))
        self.progress.update(self.tasks[step], completed=done, total=max(total, 1))


@contextmanager
def progress_bars() -> Iterator[None]:
    """`sangsaeng.progress` reports shown as rich bars on stderr while the block runs."""
    columns = (SpinnerColumn(), TextColumn("{task.description:<18}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        progress.set_reporter(_Bar(bar))
        try:
            yield
        finally:
            progress.set_reporter(None)


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
    """Run the `round` flow in-process with progress bars; returns its report.

    `chair` is the chair's whole input (approval with exclusions/inclusions, V10).
    """
    _preflight(config, data)
    prepare_prefect()
    err.print("[dim]starting Prefect in-process (first start takes 15–25 s)…[/dim]")
    from flows.models import ChairApproval, Step
    from flows.round import round_flow

    # The in-process server's event recorder may still be flushing when the process ends; its
    # shutdown error (with a traceback) is Prefect's bookkeeping, not the round's.
    logging.getLogger("prefect.server.services.task_run_recorder").setLevel(logging.CRITICAL)

    with progress_bars():
        return asyncio.run(round_flow(
            str(config.resolve()), str(data.resolve()), now, approve,
            Step(until) if until else None, False, actor(),
            ChairApproval.model_validate(chair) if chair is not None else None))


def _print_report(report: RoundReport) -> None:
    waiting = None
    for outcome in report.steps:
        sent = outcome.notices.get(OutboxState.SENT, 0)
        mail = f" [dim]· {sent} notice(s) sent[/dim]" if sent else ""
        out.print(f"  [green]✓[/green] {outcome.step.value:<17} {outcome.detail}{mail}")
        waiting = waiting or outcome.notices_waiting
        excluded, count = outcome.excluded_sheets()
        for receipt, reviewer, why in excluded:
            out.print(f"      [yellow]excluded[/yellow] {receipt} reviewer {reviewer}: {why}")
        more = count - len(excluded)
        if more > 0:
            out.print(f"      … {more} more excluded sheet(s): `sangsaeng export decisions`")
    out.print(f"round {report.round_id}: [bold]{report.state}[/bold]")
    if report.waiting_for:
        out.print(f"waiting for {report.waiting_for}")
    if waiting:  # one line for the round's final delivery, not one per step
        _print_waiting(report.round_id, waiting)


def _print_waiting(round_id: str, why: str) -> None:
    """The notices that could not go out: how many, why, and the command that sends them."""
    from sangsaeng.services.notices import status

    with open_round(round_id) as (session, rnd):
        counts = status(session, rnd.id).counts
    owed = sum(n for (_, state), n in counts.items() if state in OWED_STATES)
    out.print(f"[yellow]{owed} notice(s) wait in the outbox[/yellow], nothing is lost ({why}): "
              f"`sangsaeng notices send --round {round_id}` sends them once the server answers")


@round_app.command("package")
def round_package(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the files into")],
    reason: ReasonOption = None,
) -> None:
    """The round's package as the program database keeps it (the upload the round read, or the
    package its run read), written into a folder: from any machine that reaches the database,
    whatever its var directory holds (issue 24 item 4). It names representatives, e-mail
    addresses and addresses: a reason is asked and the output logged."""
    from sangsaeng import blobs
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.access import round_receipts

    with session_scope(get_engine()) as session:
        found = blobs.latest(session, round_id, "package")
        if found is None:
            fail(UsageError(f"round {round_id}: no package is kept in the database"))
        assert found is not None
        personal_data(session, what=f"{round_id}/{found.name}", holds="대표자 이름, 이메일, 주소",
                      round_id=round_id, receipts=round_receipts(session, round_id),
                      reason=reason)
        blobs.write_into(session, found, out_dir)
    err.print(f"wrote {len(found.files)} file(s) of {round_id}/{found.name} to {out_dir}")


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
    clock = parse_now(now)
    chair = None
    if exclude or include:
        if not approve:
            raise UsageError("--exclude/--include go with --approve")
        chair = {"approve": True, "approved_by": actor(),
                 "exclude": _chair_actions(exclude or [], "--exclude"),
                 "include": _chair_actions(include or [], "--include")}
    result = run_round(config, data, clock, approve, until.value if until else None, chair)
    _print_report(result)


def demo() -> None:
    """Replay the 2022-2 round on the embedded defaults and write its outputs under var/."""
    settings = get_settings()
    config = settings.config_dir / "rounds" / f"{DEMO_ROUND}.toml"
    data = REPO_ROOT / "data" / "rounds" / DEMO_ROUND / "package"
    result = run_round(config, data, parse_instant(DEMO_NOW), True, None)
    _print_report(result)
    target = settings.var_dir / "demo" / DEMO_ROUND
    write_outputs(DEMO_ROUND, target, "데모: 예시 회차의 결과 파일 (sangsaeng demo)")
    print_figures(DEMO_ROUND)
    print_certificates(DEMO_ROUND)
    print_notices(DEMO_ROUND)
    out.print(f"\noutputs in [bold]{target.resolve()}[/bold]; database "
              f"{settings.redacted_database_url}")


def print_figures(round_id: str) -> None:
    """A2: the figures the press release states, as computed from the data."""
    from sangsaeng.reports import figures

    with open_round(round_id) as (session, rnd):
        fig = figures(session, rnd)
        labels = {t: rnd.settings["tracks"][t]["label"] for t in rnd.tracks}
    tracks = " · ".join(f"{labels[t]} {n}" for t, n in fig.by_track.items())
    out.print(f"\n{round_id}: {fig.applications} applications, {fig.selected} projects selected, "
              f"{fig.lead_participations} lead-company participations ({tracks})")


def print_certificates(round_id: str) -> None:
    """K2: the certificates issued, by track, and where their PDFs are."""
    from sangsaeng.certificate_register import of_round
    from sangsaeng.domain.certificates import number_ranges

    with open_round(round_id) as (session, rnd):
        numbers = [f.number for f in of_round(session, rnd.id, date.today())]
    shown = ", ".join(number_ranges(numbers).values())
    folder = (get_settings().certificates_dir / round_id).resolve()
    out.print(f"{round_id}: {len(numbers)} certificates ({shown}) → {folder}")


def print_notices(round_id: str) -> None:
    """Where the round's notices went (the embedded server's .eml files, or the SMTP server)."""
    from sangsaeng.services.notices import status

    with open_round(round_id) as (session, rnd):
        st = status(session, rnd.id)
    by_state: dict[str, int] = {}
    for (_, state), n in st.counts.items():
        by_state[state] = by_state.get(state, 0) + n
    settings = get_settings()
    where = (f"{settings.smtp_host}" if settings.smtp_host
             else f"{settings.mail_dir.resolve()} (.eml files)")
    out.print(f"{round_id}: notices sent {by_state.get(OutboxState.SENT, 0)}, waiting "
              f"{sum(by_state.get(s, 0) for s in OWED_STATES)}, failed "
              f"{by_state.get(OutboxState.FAILED, 0)} → {where}; `sangsaeng notices status --round "
              f"{round_id}` lists them")
