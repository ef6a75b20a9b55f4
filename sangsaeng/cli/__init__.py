"""`sangsaeng` command line (INTERFACES §3): a thin shell over the flows and the reports.

One module per group of commands; `common` holds what they share. Exports and reports do not
import Prefect (it costs seconds); `round run`, `demo` and `serve` do, when they run.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from sangsaeng.cli.certificates import certificates_app, support_app
from sangsaeng.cli.common import USER_ERRORS, fail, report
from sangsaeng.cli.exports import audit_app, export_app, report_app, whatif
from sangsaeng.cli.mail import companies_app, notices_app
from sangsaeng.cli.privacy import privacy_app
from sangsaeng.cli.rounds import demo, round_app
from sangsaeng.cli.serve import serve as serve_command
from sangsaeng.cli.serve import verify_site
from sangsaeng.errors import ConfigError


class Commands(TyperGroup):
    """The `sangsaeng` command group. A user's mistake in any command (USER_ERRORS) ends it
    here, once for every command, with the error's one line and exit status (`common.fail`)
    — never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click.Context
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            fail(exc)


app = typer.Typer(cls=Commands, help="공공조달 상생협력 지원제도 — round engine.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(round_app, name="round")
app.add_typer(certificates_app, name="certificates")
app.add_typer(support_app, name="support")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")
app.add_typer(notices_app, name="notices")
app.add_typer(companies_app, name="companies")
app.add_typer(audit_app, name="audit")
app.add_typer(privacy_app, name="privacy")
app.command()(demo)
app.command("serve")(serve_command)  # INTERFACES §3 `sangsaeng serve`
app.command("verify-site")(verify_site)  # INTERFACES §6: the public verification app alone
app.command("whatif")(whatif)  # INTERFACES §6: a decided round with changed settings


def main() -> None:
    """Entry point of the `sangsaeng` command."""
    try:
        app()
    except USER_ERRORS as exc:  # the last net (outside a command): never a traceback
        sys.exit(report(exc))
    except Exception as exc:
        refused = credential_refused(exc)
        if refused is None:
            raise
        sys.exit(report(refused))


def credential_refused(exc: BaseException) -> ConfigError | None:
    """A Prefect server that asks for a credential the shell does not give (401): one line
    saying what to set, not Prefect's traceback."""
    response = getattr(exc, "response", None)
    if type(exc).__name__ != "PrefectHTTPStatusError" or \
            getattr(response, "status_code", None) != 401:
        return None
    server = os.environ.get("PREFECT_API_URL", "the Prefect server")
    return ConfigError(f"{server} refused the request (401 Unauthorized): set "
                       "PREFECT_API_AUTH_STRING to its user:password, the one the Prefect UI "
                       "asks for")
