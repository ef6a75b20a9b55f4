"""`sangsaeng certificates …` and `sangsaeng support …` (INTERFACES §5).

`verify` and `pdf` read the program database only (no Prefect); `issue`, `support import` and
`support dues` run their flows in-process, like `round run`.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sangsaeng.cli.common import ReasonOption, actor, err, out, parse_now, personal_data
from sangsaeng.cli.rounds import prepare_prefect, progress_bars
from sangsaeng.domain.clock import kst_date
from sangsaeng.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Coroutine

certificates_app = typer.Typer(help="Certificates (확인서): issue, verify, PDF.",
                               no_args_is_help=True)
support_app = typer.Typer(help="After the selection: imports and the daily dues run.",
                          no_args_is_help=True)

NowOption = Annotated[str | None, typer.Option(
    "--now", help="fix the clock (ISO 8601; naive = KST)")]
NOT_FOUND = 4  # INTERFACES §5: `verify` exits 4 when nothing matches


def _run(flow_call: Coroutine[Any, Any, Any]) -> Any:
    """Run one flow in-process with progress bars (Prefect starts only here)."""
    err.print("[dim]starting Prefect in-process (first start takes 15–25 s)…[/dim]")
    with progress_bars():
        return asyncio.run(flow_call)


@certificates_app.command("issue")
def certificates_issue(
    round_id: Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")],
    now: NowOption = None,
) -> None:
    """K1–K4: issue the certificates of every confirmed lead not yet certified."""
    clock = parse_now(now)
    prepare_prefect()
    from flows.certificates import certificate_issuance

    result = _run(certificate_issuance(round_id, clock, actor()))
    out.print(f"  [green]✓[/green] certificate_issuance {result.detail}")
    out.print(f"round {round_id}: [bold]{result.round_state}[/bold]")


@certificates_app.command("verify")
def certificates_verify(
    query: Annotated[str | None, typer.Argument(
        help="certificate number (22-IG0001) or BRN")] = None,
    pdf: Annotated[Path | None, typer.Option(
        "--pdf", help="a certificate's PDF: its signature and facts against the register")
    ] = None,
    now: NowOption = None,
) -> None:
    """One line per matching certificate: number, status, period, product, lead (exit 4: none).

    With --pdf FILE: whether that PDF is a valid certificate (exit 0) or not (4), and why."""
    from sangsaeng.certificate_register import lookup
    from sangsaeng.db import get_engine, session_scope

    today = kst_date(parse_now(now))
    if (query is None) == (pdf is None):
        err.print("확인서 번호(또는 사업자등록번호)나 --pdf 파일 중 하나를 주세요")
        raise typer.Exit(2)
    if pdf is not None:
        _verify_pdf(pdf, today)
        return
    assert query is not None
    with session_scope(get_engine()) as session:
        found = lookup(session, query, today)
    if not found:
        err.print(f"no certificate matches {query.strip()!r}")
        raise typer.Exit(NOT_FOUND)
    for f in found:
        sys.stdout.write(f"{f.number}\t{f.status}\t{f.period}\t{f.product_name}\t"
                         f"{f.lead_name}\n")


def _verify_pdf(path: Path, today: date) -> None:
    """`verify --pdf`: one Korean line; exit 0 valid, 4 not."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.pdf_check import check_pdf

    try:
        data = path.read_bytes()
    except OSError as error:
        err.print(f"파일을 읽을 수 없습니다: {error.strerror or error}")
        raise typer.Exit(NOT_FOUND) from None
    with session_scope(get_engine()) as session:
        verdict = check_pdf(session, get_settings(), data, today)
    if not verdict.valid:
        err.print(verdict.line, soft_wrap=True)
        raise typer.Exit(NOT_FOUND)
    sys.stdout.write(verdict.line + "\n")


@certificates_app.command("pdf")
def certificates_pdf(
    number: Annotated[str, typer.Argument(help="certificate number, e.g. 22-IG0001")],
    out_path: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")
                        ] = None,
    reason: ReasonOption = None,
) -> None:
    """The current version's PDF: the same bytes that were attached to its notice. It names the
    lead's representative and address: a reason is asked and the access logged."""
    from sangsaeng.certificate_register import pdf_file
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.models import Certificate
    from sangsaeng.services.access import PERSONAL_FILES, certificate_receipts

    with session_scope(get_engine()) as session:
        data = pdf_file(session, get_settings(), number).read_bytes()
        found = session.get(Certificate, number)
        round_id = found.round_id if found is not None else None
        personal_data(session, what=f"{number}.pdf", holds=PERSONAL_FILES["certificates.csv"],
                      round_id=round_id, reason=reason, receipts=certificate_receipts(
                          session, round_id, number) if round_id else [])
    if out_path is None:
        sys.stdout.buffer.write(data)
        return
    from sangsaeng.exports import write_out

    write_out(out_path, lambda temporary: temporary.write_bytes(data))
    err.print(f"wrote {out_path}")


@support_app.command("import")
def support_import(
    path: Annotated[Path, typer.Argument(help="folder, one CSV named as in INTERFACES §5, "
                                              "or one .xlsx")],
    now: NowOption = None,
    issue: Annotated[bool, typer.Option(help="issue certificates for confirmed production")
                     ] = True,
) -> None:
    """Import production, changes, cancellations, cost claims, listing steps and evaluations
    (good rows kept, refused rows listed)."""
    clock = parse_now(now)
    from sangsaeng.io.after_selection import read_support

    read_support(path)  # fail fast, before Prefect starts, on an unreadable file
    prepare_prefect()
    from flows.support_import import support_import as flow

    result = _run(flow(str(path.resolve()), actor(), issue, clock))
    out.print(f"  [green]✓[/green] support import: {result.detail}")
    for round_id, n in result.issued.items():
        out.print(f"      {round_id}: {n} certificate(s) issued")
    for name in result.not_read:
        out.print(f"      [yellow]not read[/yellow] {name}")
    for receipt_no in result.pending_cancellations:  # M3: the office decides
        out.print(f"      [yellow]pending cancellation for {receipt_no}[/yellow]: confirm in "
                  "the UI (review_cancellation)")


@support_app.command("dues")
def support_dues(now: NowOption = None) -> None:
    """The daily run: K6 expiry reminders, M1 listing reminders and escalations, M3
    evaluation reminders (idempotent for a day)."""
    clock = parse_now(now)
    prepare_prefect()
    from flows.dues import support_dues as flow

    owed = _run(flow(clock))
    counts = ", ".join(f"{kind} {n}" for kind, n in owed.items())
    out.print(f"  [green]✓[/green] dues of {kst_date(clock)} (KST): {counts}")
