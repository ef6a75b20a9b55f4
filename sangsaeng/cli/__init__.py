"""`sangsaeng` command line (INTERFACES §3): a thin shell over the flows and the reports.

One module per group of commands; `common` holds what they share. Exports and reports do not
import Prefect (it costs seconds); `round run`, `demo` and `serve` do, when they run.
"""

from __future__ import annotations

import sys

import typer

from sangsaeng.cli.certificates import certificates_app, support_app
from sangsaeng.cli.common import USER_ERRORS, report
from sangsaeng.cli.exports import export_app, report_app
from sangsaeng.cli.mail import companies_app, notices_app
from sangsaeng.cli.rounds import demo, round_app
from sangsaeng.cli.serve import serve as serve_command

app = typer.Typer(help="공공조달 상생협력 지원제도 — round engine.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(round_app, name="round")
app.add_typer(certificates_app, name="certificates")
app.add_typer(support_app, name="support")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")
app.add_typer(notices_app, name="notices")
app.add_typer(companies_app, name="companies")
app.command()(demo)
app.command("serve")(serve_command)  # INTERFACES §3 `sangsaeng serve`


def main() -> None:
    """Entry point of the `sangsaeng` command."""
    try:
        app()
    except USER_ERRORS as exc:  # the last net: a user's mistake never shows a traceback
        sys.exit(report(exc))
