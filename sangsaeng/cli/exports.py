"""`sangsaeng export …` and `sangsaeng report …` (INTERFACES §3/§4): reads of the program
database. They never import Prefect (it costs seconds)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sangsaeng.cli.common import (
    ReasonOption,
    UsageError,
    err,
    fail,
    open_round,
    parse_now,
    personal_data,
    write,
)
from sangsaeng.settings import get_settings

if TYPE_CHECKING:
    from sangsaeng.models import Round

export_app = typer.Typer(help="Export a round's outputs.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: a round's announcement, the program's statistics.",
                         no_args_is_help=True)

RoundOption = Annotated[str, typer.Option("--round", help="round id, e.g. 2022-2")]
OutOption = Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")]


class SelectionFormat(StrEnum):
    """Formats of the selection list."""

    csv = "csv"
    xlsx = "xlsx"
    md = "md"


def _note(rnd: Round) -> None:
    from sangsaeng.reports import release_note

    note = release_note(rnd)
    if note:
        sys.stderr.write(f"note: {note}\n")


@export_app.command("decisions")
def export_decisions(round_id: RoundOption, out_path: OutOption = None) -> None:
    """Per-application outcomes (INTERFACES §4 decisions.csv)."""
    from sangsaeng.exports import decisions_csv
    from sangsaeng.reports import decision_rows

    with open_round(round_id) as (session, rnd):
        _note(rnd)
        write(decisions_csv(decision_rows(session, rnd)), out_path)


@export_app.command("selection")
def export_selection(
    round_id: RoundOption,
    fmt: Annotated[SelectionFormat, typer.Option("--format")] = SelectionFormat.csv,
    out_path: OutOption = None,
) -> None:
    """The selection list (PROGRAM_RULES A1) as CSV, XLSX or Markdown."""
    from sangsaeng.exports import selection_text, write_out, write_selection_xlsx
    from sangsaeng.reports import selection_table

    if fmt is SelectionFormat.xlsx and out_path is None:
        fail(UsageError("--format xlsx needs --out FILE"))
    with open_round(round_id) as (session, rnd):
        _note(rnd)
        rows = selection_table(session, rnd)
        if fmt is SelectionFormat.xlsx:
            assert out_path is not None
            write_out(out_path, lambda temporary: write_selection_xlsx(temporary, rnd, rows))
            err.print(f"wrote {out_path}")
        else:
            write(selection_text(rows, "md" if fmt is SelectionFormat.md else "csv"),
                  out_path)


@export_app.command("certificates")
def export_certificates(
    round_id: RoundOption, out_path: OutOption = None,
    now: Annotated[str | None, typer.Option(
        help="status at this clock (ISO 8601; naive = KST); default now")] = None,
    reason: ReasonOption = None,
) -> None:
    """Certificates issued for the round (INTERFACES §4 certificates.csv), number order; it
    names representatives and addresses: a reason is asked and the access logged."""
    from sangsaeng.domain.clock import kst_date
    from sangsaeng.exports import certificates_csv
    from sangsaeng.services.access import PERSONAL_FILES, certificate_receipts

    today = kst_date(parse_now(now))
    with open_round(round_id) as (session, rnd):
        personal_data(session, what=f"{rnd.id}/certificates.csv",
                      holds=PERSONAL_FILES["certificates.csv"], round_id=rnd.id,
                      receipts=certificate_receipts(session, rnd.id), reason=reason)
        write(certificates_csv(session, rnd.id, today), out_path)


@export_app.command("claims")
def export_claims(round_id: RoundOption, out_path: OutOption = None) -> None:
    """Cost-support claims and their decisions (M2, INTERFACES §5), in the order decided."""
    from sangsaeng.exports import claims_csv

    with open_round(round_id) as (session, rnd):
        write(claims_csv(session, rnd.id), out_path)


@export_app.command("listing")
def export_listing(
    round_id: RoundOption, out_path: OutOption = None,
    now: Annotated[str | None, typer.Option(
        help="days in step at this clock (ISO 8601; naive = KST); default now")] = None,
) -> None:
    """Per certified product: its 종합쇼핑몰 listing step, since when, reminders and escalation
    (INTERFACES §5, M1–M1c), number order."""
    from sangsaeng.domain.clock import kst_date
    from sangsaeng.services.listing import listing_csv

    today = kst_date(parse_now(now))
    with open_round(round_id) as (session, rnd):
        write(listing_csv(session, rnd.id, today), out_path)


@report_app.command("announcement")
def report_announcement(round_id: RoundOption, out_path: OutOption = None) -> None:
    """The announcement (figures A2 + selection table A1) in Markdown."""
    from sangsaeng.config import load_program
    from sangsaeng.reports import announcement

    program = load_program(get_settings().config_dir)
    with open_round(round_id) as (session, rnd):
        _note(rnd)
        write(announcement(session, rnd, program.program.name, program.program.ministry),
              out_path)


@report_app.command("statistics")
def report_statistics(
    fmt: Annotated[SelectionFormat, typer.Option("--format")] = SelectionFormat.csv,
    out_path: OutOption = None,
    now: Annotated[str | None, typer.Option(
        help="certificate status at this clock (ISO 8601; naive = KST); default now")] = None,
) -> None:
    """Program statistics (PROGRAM_RULES M5) by year, round and track, with totals."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.domain.clock import kst_date
    from sangsaeng.reports import to_csv, to_markdown, write_xlsx
    from sangsaeng.services.statistics import (
        NUMBER_COLUMNS,
        STATISTICS_COLUMNS,
        program_track_names,
        statistics_rows,
        statistics_table,
    )

    if fmt is SelectionFormat.xlsx and out_path is None:
        fail(UsageError("--format xlsx needs --out FILE"))
    today = kst_date(parse_now(now))
    with session_scope(get_engine()) as session:  # tracks named for people, coded in the CSV
        names = None if fmt is SelectionFormat.csv else program_track_names(session)
        table = statistics_table(statistics_rows(session, today), names)
    if fmt is SelectionFormat.xlsx:
        assert out_path is not None
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx(out_path, "통계 statistics", STATISTICS_COLUMNS, table, NUMBER_COLUMNS)
        err.print(f"wrote {out_path}")
    else:
        render = to_markdown if fmt is SelectionFormat.md else to_csv
        write(render(STATISTICS_COLUMNS, table), out_path)


def write_outputs(round_id: str, target: Path, reason: str) -> None:
    """Every output of a round into `target` (what `demo` leaves under var/demo/<round>);
    `reason` is the access log's for certificates.csv (it names representatives)."""
    export_decisions(round_id, target / "decisions.csv")
    for fmt in SelectionFormat:
        export_selection(round_id, fmt, target / f"selection.{fmt.value}")
    report_announcement(round_id, target / "announcement.md")
    export_certificates(round_id, target / "certificates.csv", reason=reason)


def whatif(
    round_id: RoundOption,
    cutoff: Annotated[str | None, typer.Option(help="cut-off score (V7), 0–100")] = None,
    item_floor_ratio: Annotated[str | None, typer.Option(
        help="item floor as a share of each item's maximum (V7), 0–1")] = None,
    trim_at: Annotated[str | None, typer.Option(
        help="trim the highest and lowest sheet from this many valid sheets on (V6)")] = None,
    min_reviews: Annotated[str | None, typer.Option(
        help="valid reviews an application needs (V4)")] = None,
    quota: Annotated[list[str] | None, typer.Option(
        help="a track's quota, TRACK=N (V9); repeat for several tracks")] = None,
    scenario: Annotated[list[str] | None, typer.Option(
        help="NAME:KEY=VALUE,… (quota=TRACK=N); repeat for several scenarios (XLSX: a "
             "sheet each)")] = None,
    fmt: Annotated[SelectionFormat, typer.Option("--format")] = SelectionFormat.csv,
    out_path: OutOption = None,
) -> None:
    """What-if (INTERFACES §6): a decided round's review and selection recomputed with changed
    settings; nothing of the round changes."""
    from sangsaeng.exports import write_out
    from sangsaeng.services import whatif as w

    if fmt is SelectionFormat.xlsx and out_path is None:
        fail(UsageError("--format xlsx needs --out FILE"))
    given = {key: value for key, value in (
        ("cutoff", cutoff), ("item-floor-ratio", item_floor_ratio), ("trim-at", trim_at),
        ("min-reviews", min_reviews)) if value is not None}
    scenarios = [w.scenario_from_text(text) for text in scenario or []]
    if given or quota:
        scenarios.insert(0, w.scenario_of("변경안", given, quota or []))
    if not scenarios or any(s.is_empty() for s in scenarios):
        fail(UsageError("give a setting to change: --cutoff, --item-floor-ratio, --trim-at, "
                        "--min-reviews, --quota TRACK=N or --scenario NAME:KEY=VALUE,…"))
    with open_round(round_id) as (session, rnd):
        results = w.run(session, rnd, scenarios)
        if fmt is SelectionFormat.xlsx:
            assert out_path is not None
            write_out(out_path, lambda temporary: w.write_xlsx_results(temporary, rnd, results))
            err.print(f"wrote {out_path}")
        else:
            write(w.as_markdown(rnd, results) if fmt is SelectionFormat.md
                  else w.as_csv(results), out_path)
    for result in results:
        moved = sum(r.changed for r in result.rows)
        err.print(f"{result.scenario.name}: {moved} application(s) move — " + ", ".join(
            f"{t.track} {t.selected_before}→{t.selected_after}" for t in result.totals))


class AuditFormat(StrEnum):
    """Formats of the audit export."""

    csv = "csv"
    xlsx = "xlsx"


@export_app.command("audit")
def export_audit(
    round_id: RoundOption,
    fmt: Annotated[AuditFormat, typer.Option("--format")] = AuditFormat.csv,
    out_path: OutOption = None,
    reason: ReasonOption = None,
) -> None:
    """Every recorded change of the round in order, with its rule and its hash (INTERFACES §6):
    codes in the CSV, Korean headers in the XLSX. It names the office's staff and their
    reasons: a reason is asked and the access logged."""
    from sangsaeng.exports import AUDIT_COLUMNS_KO, audit_csv, audit_table, write_out
    from sangsaeng.reports import write_xlsx
    from sangsaeng.services.access import PERSONAL_FILES, round_receipts

    if fmt is AuditFormat.xlsx and out_path is None:
        fail(UsageError("--format xlsx needs --out FILE"))
    with open_round(round_id) as (session, rnd):
        personal_data(session, what=f"{rnd.id}/audit.{fmt.value}",
                      holds=PERSONAL_FILES["audit.csv"], round_id=rnd.id,
                      receipts=round_receipts(session, rnd.id), reason=reason)
        if fmt is AuditFormat.xlsx:
            assert out_path is not None
            rows = audit_table(session, rnd.id, reasons=True)
            write_out(out_path, lambda temporary: write_xlsx(
                temporary, f"{round_id} 감사 기록", AUDIT_COLUMNS_KO, rows, ()))
            err.print(f"wrote {out_path}")
        else:
            write(audit_csv(session, rnd.id), out_path)


audit_app = typer.Typer(help="The audit trail's tamper evidence.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    round_id: Annotated[str | None, typer.Option("--round", help="one round's chain")] = None,
) -> None:
    """Recompute the audit rows' hash chain: exit 0 when intact, 5 naming the first row edited,
    removed or inserted out of order (INTERFACES §6)."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.services.audit import verify

    with session_scope(get_engine()) as session:
        if round_id is not None:
            from sangsaeng.services.rounds import get_round

            get_round(session, round_id)  # an unknown round is a user error
        checked = verify(session, round_id)
    err.print(f"감사 기록 {checked.rows:,}건 ({checked.chains}개 회차): 사슬에 이상이 없습니다")
