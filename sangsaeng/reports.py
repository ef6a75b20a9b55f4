"""Outputs (INTERFACES §4): decisions, the selection list (A1) and the announcement (A2)."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng.domain.clock import format_kst
from sangsaeng.domain.companies import Role, Size
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.selection import (
    SELECTION_COLUMNS,
    AnnouncementFigures,
    Company,
    SelectedProject,
    announcement_figures,
    selection_rows,
)
from sangsaeng.domain.states import PLACED_STATES, ApplicationState, RoundState, round_reached
from sangsaeng.errors import StepError
from sangsaeng.markdown import escape
from sangsaeng.models import (
    APPLICATIONS,
    DECISIONS,
    PARTICIPANTS,
    Application,
    Decision,
    Participant,
    Round,
)
from sangsaeng.spreadsheet import neutralise

A = APPLICATIONS.c
DC = DECISIONS.c
PT = PARTICIPANTS.c

DECISION_COLUMNS = ("receipt_no", "track", "status", "score", "rank", "reasons")


FINAL = PLACED_STATES | {ApplicationState.INELIGIBLE}


def require_decisions(rnd: Round, wanted: RoundState = RoundState.REVIEW) -> None:
    """Outputs exist only once the committee has decided (proposed, at least)."""
    if rnd.state is RoundState.CANCELLED:
        raise StepError(f"round {rnd.id} was cancelled: it has no decisions to export")
    if not round_reached(rnd.state, wanted):
        raise StepError(f"round {rnd.id} is {rnd.state}: no decisions to export yet "
                        f"(the round must reach {wanted.value})")


def release_note(rnd: Round) -> str | None:
    """A warning when the outputs show decisions not yet released (V10)."""
    if rnd.state is RoundState.REVIEW:
        return f"round {rnd.id} is in review: these are the committee's proposals, not approved"
    if rnd.state is RoundState.DECIDED:
        return f"round {rnd.id} is decided: approved but not yet released to the applicants"
    return None


def _status(app: Application, decision: Decision | None) -> ApplicationState:
    if app.state in FINAL or decision is None:
        return app.state
    return decision.pending_state


def decision_rows(session: Session, rnd: Round) -> list[tuple[str, ...]]:
    """One row per application in receipt order (INTERFACES §4 decisions.csv)."""
    require_decisions(rnd)
    rows = session.execute(
        select(Application, Decision).outerjoin(Decision, DC.application_id ==
                                                A.id)
        .where(A.round_id == rnd.id)).all()
    out = []
    for app, decision in rows:
        if app.state is ApplicationState.INELIGIBLE or decision is None:
            out.append((app.receipt_no, app.track, app.state, "", "", app.reasons))
            continue
        score = "" if decision.score is None else f"{decision.score:.2f}"
        rank = "" if decision.rank is None else str(decision.rank)
        out.append((app.receipt_no, app.track, _status(app, decision), score, rank,
                    decision.reasons))
    return sorted(out, key=lambda r: natural_key(r[0]))


def selected_projects(session: Session, rnd: Round) -> list[SelectedProject]:
    """A1: the selected applications (approved or proposed), companies in seq order."""
    require_decisions(rnd)
    apps = {a.id: a for a, d in session.execute(
        select(Application, Decision).outerjoin(Decision, DC.application_id == A.id)
        .where(A.round_id == rnd.id)).all() if _status(a, d) is ApplicationState.SELECTED}
    companies: dict[int, dict[Role, list[Company]]] = {i: {Role.LEAD: [], Role.PARTNER: []}
                                                      for i in apps if i is not None}
    for p in session.execute(select(Participant).where(
            PT.application_id.in_(list(companies))).order_by(PT.seq)).scalars():
        companies[p.application_id][p.role].append(Company(p.seq, p.name, Size(p.size)))
    return [SelectedProject(a.receipt_no, a.track, a.product_name,
                            tuple(companies[i][Role.LEAD]), tuple(companies[i][Role.PARTNER]))
            for i, a in apps.items() if i is not None]


def selection_table(session: Session, rnd: Round) -> list[tuple[str, ...]]:
    """A1 rows (without the header)."""
    return [tuple(r) for r in selection_rows(selected_projects(session, rnd), rnd.support_years)]


def figures(session: Session, rnd: Round) -> AnnouncementFigures:
    """A2: the announcement's figures."""
    total = len(session.execute(select(A.id).where(
        A.round_id == rnd.id)).all())
    return announcement_figures(total, selected_projects(session, rnd), rnd.tracks)


def to_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text with a BOM so that Excel opens the Korean text correctly; no cell is taken for
    a formula (`spreadsheet.neutralise`)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def to_markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-style Markdown table; each cell shows its text, never markup (names come from
    applicants: `markdown.escape`)."""
    lines = ["| " + " | ".join(map(escape, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_xlsx(path: Path, title: str, header: Sequence[str], rows: Sequence[Sequence[str]],
               number_columns: Collection[int] = (1,)) -> None:
    """An XLSX workbook with one sheet (openpyxl): whole numbers in `number_columns` (1-based;
    by default the first, NO) as numbers, every other cell as a string, never a formula
    (`spreadsheet.neutralise`)."""
    write_xlsx_sheets(path, [(title, [header, *rows], number_columns)])


Sheet = tuple[str, Sequence[Sequence[str]], Collection[int]]  # title, lines, number columns


def write_xlsx_sheets(path: Path, sheets: Sequence[Sheet]) -> None:
    """An XLSX workbook with a sheet per (title, lines, number columns): a line's cells in
    the number columns (1-based) are numbers when whole (never on a sheet's first line, its
    header); every other cell a string, never a formula (`spreadsheet.neutralise`)."""
    from openpyxl import Workbook

    workbook = Workbook()
    for index, (title, lines, number_columns) in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        assert sheet is not None
        sheet.title = title[:31]
        for number, row in enumerate(lines, start=1):
            for column, text in enumerate(row, start=1):
                if column in number_columns and number > 1 and text.isdigit():
                    sheet.cell(number, column, int(text))
                    continue
                cell = sheet.cell(number, column, neutralise(text))
                cell.data_type = "s"  # openpyxl makes a formula of any str starting with "="
    workbook.save(path)


def _round_label(round_id: str) -> str:
    year, _, number = round_id.partition("-")
    return f"{year}년 {number}차"


def announcement(session: Session, rnd: Round, program_name: str, ministry: str) -> str:
    """A2 + A1: the press-release-style announcement in Markdown (every name escaped)."""
    require_decisions(rnd, RoundState.DECIDED)
    fig = figures(session, rnd)
    program_name, ministry = escape(program_name), escape(ministry)
    labels = {t: escape(rnd.settings["tracks"][t]["label"]) for t in rnd.tracks}
    by_track = ", ".join(f"{labels[t]}과제 : {n}개" for t, n in fig.by_track.items() if n)
    table = to_markdown(SELECTION_COLUMNS, selection_table(session, rnd))
    return "\n".join([
        f"# {program_name} {_round_label(rnd.id)} 과제 최종 선정",
        "",
        f"*{escape(rnd.title)}*",
        "",
        f"{ministry}는 ‘{program_name}’ 모집 공고(접수 마감 {format_kst(rnd.closes_at)})에 "
        f"참여한 과제({fig.applications}개)에 대한 평가를 통해 {fig.selected}개 과제를 최종 "
        "선정했다.",
        "",
        f"* {fig.selected}개 선정 과제({fig.lead_participations}개 주관 중소기업)에 대해 "
        "조달입찰 가점 부여",
        *([f"* {by_track}"] if by_track else []),
        "",
        "| 구분 | 수 |",
        "|---|---|",
        f"| 신청 과제 | {fig.applications} |",
        f"| 선정 과제 | {fig.selected} |",
        f"| 주관기업 참여 | {fig.lead_participations} |",
        *[f"| {labels[t]} | {n} |" for t, n in fig.by_track.items()],
        "",
        "## 선정 제품",
        "",
        table,
    ])
