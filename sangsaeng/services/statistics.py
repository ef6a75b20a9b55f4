"""Program statistics (PROGRAM_RULES M5; INTERFACES §5 `report statistics`), from the program
database only — as the press release's "271 products selected since 2020, 184 certificates
issued".

Layout: one row per (year, round, track) — rounds in id order, each round's tracks in its
configured order (a track without applications shows zeros) — then, after a year's rows, that
year's total (round `합계 total`, track empty), and at the end the total of all years (year
`전체 all`). The year is the round id's (`YYYY-N`, config R1). Columns:

- applications: every application received (ineligible ones too);
- selected projects and lead participations (A2: a company leading two projects counts twice,
  once within one project), once the chair has approved the round (`decided` or later; a
  proposal under review counts nothing, a cancelled round selects nothing);
- certificates issued / valid / expired / cancelled, the status at `today` (K5a, K6a;
  `sangsaeng.certificate_register`) — certificates imported as prior ones belong to no round here;
- products listed: certificates with the M1 step `listed` recorded;
- claims approved: the sum of `approved_krw` of the project's M2 cost claims (KRW).

The services layer because it reads the register, the reports (A2's selected projects) and
writes the chart under `<var>/exports/statistics/` (the exports' atomic writes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.certificate_register import counts_by_track
from sangsaeng.documents.chart import grouped_bars_png, korean_font
from sangsaeng.domain.clock import format_day
from sangsaeng.domain.listing import MallStep
from sangsaeng.domain.names import named
from sangsaeng.domain.ordering import natural_key
from sangsaeng.domain.states import RoundState, round_reached
from sangsaeng.exports import write_bytes_atomically
from sangsaeng.models import APPLICATIONS, CERTIFICATES, COST_CLAIMS, LISTING_STEPS, Round
from sangsaeng.reports import selected_projects, to_csv, to_markdown

A, C, CC, LS = APPLICATIONS.c, CERTIFICATES.c, COST_CLAIMS.c, LISTING_STEPS.c

METRICS = ("applications", "selected", "lead_participations", "issued", "valid", "expired",
           "cancelled", "listed", "approved_krw")
STATISTICS_COLUMNS = (
    "연도 year", "회차 round", "분야 track", "신청 과제 applications",
    "선정 과제 selected projects", "주관기업 참여 lead participations",
    "확인서 발급 certificates issued", "유효 valid", "만료 expired", "취소 cancelled",
    "종합쇼핑몰 등록 products listed", "인증비용 지원 claims approved (KRW)")
NUMBER_COLUMNS = (1, *range(4, len(STATISTICS_COLUMNS) + 1))  # 1-based, for the XLSX
TOTAL, ALL = "합계 total", "전체 all"
STATISTICS_DIR = "statistics"  # under <var>/exports/, served by `sangsaeng serve`
CHART_FILE, CSV_FILE = "per-round.png", "statistics.csv"

Key = tuple[str, str]  # (round id, track)


@dataclass(frozen=True, slots=True)
class StatisticsRow:
    """One line of the statistics: a (year, round, track), a year's total or the overall."""

    year: str
    round_id: str
    track: str
    figures: tuple[int, ...]  # in METRICS order

    def cells(self, track_names: Mapping[str, str] | None = None) -> list[str]:
        """The row as text cells (STATISTICS_COLUMNS): the track's code, or its Korean name
        where a person reads it (`track_names`)."""
        track = named(track_names, self.track) if track_names is not None else self.track
        return [self.year, self.round_id, track, *map(str, self.figures)]

    def get(self, metric: str) -> int:
        """One figure by its METRICS name."""
        return self.figures[METRICS.index(metric)]


def round_year(round_id: str) -> str:
    """The year of a round: its id's `YYYY` (config R1)."""
    return round_id.partition("-")[0]


def _applications(session: Session) -> dict[Key, Counter[str]]:
    rows = session.execute(select(A.round_id, A.track, func.count())
                           .group_by(A.round_id, A.track)).all()
    return {(r, t): Counter(applications=n) for r, t, n in rows}


def _selections(session: Session, rounds: Iterable[Round], into: dict[Key, Counter[str]]
                ) -> None:
    """A2 per track: selected projects and lead participations of the approved rounds."""
    for rnd in rounds:
        if rnd.state is RoundState.CANCELLED or not round_reached(rnd.state, RoundState.DECIDED):
            continue
        for project in selected_projects(session, rnd):
            figures = into.setdefault((rnd.id, project.track), Counter())
            figures["selected"] += 1
            # A2: a company in two projects counts twice, but only once within one project.
            figures["lead_participations"] += len({c.seq for c in project.leads})


def _certificates(session: Session, today: date, into: dict[Key, Counter[str]]) -> None:
    """K5a/K6a statuses at `today`, products listed (M1) and cost support approved (M2)."""
    for key, n in counts_by_track(session, today).items():
        into.setdefault(key, Counter()).update(
            issued=n.issued, valid=n.valid, expired=n.expired, cancelled=n.cancelled)
    listed = session.execute(
        select(C.round_id, A.track, func.count(func.distinct(C.number)))
        .join(APPLICATIONS, A.id == C.application_id)
        .join(LISTING_STEPS, LS.number == C.number).where(LS.step == MallStep.LISTED)
        .group_by(C.round_id, A.track)).all()
    for round_id, track, n in listed:
        into.setdefault((round_id, track), Counter())["listed"] += n
    claims = session.execute(
        select(CC.round_id, A.track, func.sum(CC.approved_krw))
        .join(APPLICATIONS, A.id == CC.application_id).group_by(CC.round_id, A.track)).all()
    for round_id, track, krw in claims:
        into.setdefault((round_id, track), Counter())["approved_krw"] += int(krw or 0)


def _row(year: str, round_id: str, track: str, figures: Counter[str]) -> StatisticsRow:
    return StatisticsRow(year, round_id, track, tuple(figures[m] for m in METRICS))


def _tracks(rnd: Round, figures: dict[Key, Counter[str]]) -> list[str]:
    """The round's tracks in configured order, then any other its rows name (none expected)."""
    return [*rnd.tracks, *sorted(t for r, t in figures if r == rnd.id and t not in rnd.tracks)]


def statistics_rows(session: Session, today: date) -> list[StatisticsRow]:
    """M5: the rows per (year, round, track), each year's total and the overall total."""
    rounds = sorted(session.scalars(select(Round)).all(), key=lambda r: natural_key(r.id))
    figures = _applications(session)
    _selections(session, rounds, figures)
    _certificates(session, today, figures)
    rows: list[StatisticsRow] = []
    overall: Counter[str] = Counter()
    for year, in_year in groupby(rounds, key=lambda r: round_year(r.id)):
        total: Counter[str] = Counter()
        for rnd in in_year:
            for track in _tracks(rnd, figures):
                cell = figures.get((rnd.id, track), Counter())
                total.update(cell)
                rows.append(_row(year, rnd.id, track, cell))
        rows.append(_row(year, TOTAL, "", total))
        overall.update(total)
    return [*rows, _row(ALL, "", "", overall)]


def statistics_table(rows: Sequence[StatisticsRow],
                     track_names: Mapping[str, str] | None = None) -> list[list[str]]:
    """The rows as text cells: with track codes for the CSV (`reports.to_csv`), with the
    tracks' Korean names (`program_track_names`) for the Markdown and the XLSX."""
    return [row.cells(track_names) for row in rows]


def program_track_names(session: Session) -> dict[str, str]:
    """Every round's tracks by code, in Korean (a later round's name wins)."""
    rounds = sorted(session.scalars(select(Round)).all(), key=lambda r: natural_key(r.id))
    return {code: name for rnd in rounds for code, name in rnd.track_names().items()}


def per_round(rows: Sequence[StatisticsRow]) -> dict[str, tuple[int, int]]:
    """(selected projects, certificates issued) per round, in round order (the chart's)."""
    out: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.round_id in (TOTAL, "") or row.year == ALL:
            continue
        selected, issued = out.get(row.round_id, (0, 0))
        out[row.round_id] = (selected + row.get("selected"), issued + row.get("issued"))
    return out


def chart_png(rows: Sequence[StatisticsRow]) -> bytes:
    """Selected projects and certificates issued per round, grouped bars (Korean labels with
    the Nanum font, English without it)."""
    data = per_round(rows)
    font = korean_font()
    if font is not None:
        title = "회차별 선정 과제와 확인서 발급 / selected projects and certificates per round"
        names = ("선정 과제 selected projects", "확인서 발급 certificates issued")
    else:
        title = "Selected projects and certificates issued per round"
        names = ("selected projects", "certificates issued")
    series = {names[0]: [s for s, _ in data.values()], names[1]: [i for _, i in data.values()]}
    return grouped_bars_png(list(data), series, title, font)


@dataclass(frozen=True, slots=True)
class StatisticsArtifact:
    """The `program-statistics` artifact's markdown and the files it links to."""

    markdown: str
    chart: Path
    table: Path


def statistics_artifact(session: Session, exports_dir: Path, base_url: str, today: date
                        ) -> StatisticsArtifact:
    """M5 for the UI: write the chart (PNG) and the CSV under `<exports>/statistics/` (only
    when their bytes change) and compose the markdown that shows the chart over the table."""
    rows = statistics_rows(session, today)
    folder = exports_dir / STATISTICS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(folder / CHART_FILE, chart_png(rows))
    write_bytes_atomically(folder / CSV_FILE,
                           to_csv(STATISTICS_COLUMNS, statistics_table(rows)).encode())
    table = statistics_table(rows, program_track_names(session))
    link = f"{base_url}/{STATISTICS_DIR}"
    markdown = "\n".join([
        f"# 사업 통계 / program statistics — {format_day(today)} 기준 / as of", "",
        f"![회차별 선정 과제와 확인서 발급 / selected projects and certificates issued per round]"
        f"({link}/{quote(CHART_FILE)})", "",
        f"[{CSV_FILE}]({link}/{quote(CSV_FILE)}) · 터미널에서 / from a terminal: "
        "`sangsaeng report statistics --format xlsx --out statistics.xlsx`", "",
        to_markdown(STATISTICS_COLUMNS, table)])
    return StatisticsArtifact(markdown, folder / CHART_FILE, folder / CSV_FILE)
