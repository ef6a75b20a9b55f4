"""`sangsaeng privacy …` (issue 27; docs/privacy.md): the access log's monthly inspection sheet,
and the destruction of personal data past its period (`purge`)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sangsaeng.cli.common import (
    ReasonOption,
    UsageError,
    access_reason,
    actor,
    client,
    err,
    fail,
    out,
    parse_now,
    personal_data,
    write,
)
from sangsaeng.settings import get_settings

privacy_app = typer.Typer(help="개인정보: the access log of personal data; its destruction.",
                          no_args_is_help=True)


class SheetFormat(StrEnum):
    """Formats of the inspection sheet."""

    csv = "csv"
    xlsx = "xlsx"


@privacy_app.command("access-log")
def access_log(
    month: Annotated[str, typer.Option("--month", help="KST month, YYYY-MM")],
    fmt: Annotated[SheetFormat, typer.Option("--format")] = SheetFormat.csv,
    out_path: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")
                        ] = None,
    reason: ReasonOption = None,
) -> None:
    """The month's access log as the inspection sheet (월간 점검): every view, download and
    output of personal data, its chain checked, and a summary of what to look at (large
    downloads, downloads outside office hours, one operator downloading many rounds). It names
    the operators: a reason is asked, and this reading is logged too (next month's sheet if the
    month is past)."""
    from sangsaeng.config import load_program
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services import access

    chosen = access.checked_month(month)
    what, holds = f"접속기록 {chosen}", "운영자 이름과 접속지"
    reason = access_reason(what, holds, reason)
    if fmt is SheetFormat.xlsx and out_path is None:
        fail(UsageError("--format xlsx needs --out FILE"))
    program = load_program(get_settings().config_dir)
    with session_scope(get_engine()) as session:
        rows = access.month_rows(session, chosen)
        sheet = access.inspection(
            rows, chosen, large=program.privacy.large_download,
            many_rounds=program.privacy.many_rounds,
            extra_holidays=program.calendar.extra_holidays)
        personal_data(session, what=what, holds=holds, round_id=None, receipts=[],
                      reason=reason)
    if fmt is SheetFormat.xlsx:
        from sangsaeng.exports import write_out

        assert out_path is not None
        write_out(out_path, lambda temporary: access.write_sheet_xlsx(temporary, sheet))
        err.print(f"wrote {out_path}")
    else:
        write(access.sheet_csv(sheet), out_path)
    sys.stderr.writelines(f"{line}\n" for line in sheet.summary())  # one line each, unwrapped


@privacy_app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="list what would be destroyed; change nothing")] = False,
    now: Annotated[str | None, typer.Option(
        "--now", help="the day to count the periods to (ISO 8601; naive = KST); default now")
    ] = None,
) -> None:
    """파기: destroy the personal data whose period in `[privacy]` has passed (applications not
    selected, selected projects, reviewers, uploaded packages, notices and their .eml files,
    refused addresses, access-log months). Personal fields are overwritten in the database,
    the files removed, the exports that named the people rewritten; each destruction is
    recorded in the audit trail and the access log. The daily dues run does the same."""
    from sangsaeng.config import load_program
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.domain.clock import kst_date
    from sangsaeng.services import privacy

    settings = get_settings()
    periods = privacy.periods_of(load_program(settings.config_dir).privacy)
    clock = parse_now(now)
    engine = get_engine()
    if dry_run:
        with session_scope(engine) as session:
            found = privacy.plan(session, periods, kst_date(clock), **privacy.places(settings))
        lines = [due.line() for due in found.lines()]
        out.print(f"{kst_date(clock).isoformat()} 기준 파기할 것: " + (
            f"{len(lines)}가지 (--dry-run: 바꾼 것 없음)" if lines else "없음"), soft_wrap=True)
        for line in lines:
            out.print(f"  {line}", soft_wrap=True, markup=False)
        return
    result = privacy.purge(engine, periods, settings, now=clock, actor=actor(), client=client())
    for line in result.summary():
        out.print(line, soft_wrap=True, markup=False)
