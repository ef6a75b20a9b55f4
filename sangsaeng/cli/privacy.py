"""`sangsaeng privacy …` (issue 27; docs/privacy.md): the access log's monthly inspection sheet."""

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
    err,
    fail,
    personal_data,
    write,
)
from sangsaeng.settings import get_settings

privacy_app = typer.Typer(help="개인정보: the access log of personal data.",
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
