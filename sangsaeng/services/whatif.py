"""What-if on a decided round (issue 26 item 1; INTERFACES §6 `whatif`): the committee's review
and selection (PROGRAM_RULES §5–§6, V3–V9) recomputed with changed settings — the cut-off, the
item floor, the trimming, the minimum of valid reviews, a track's quota — over the round's
screening as it was. Nothing is written: the recomputation reads the round in a session that is
rolled back, and no row, notice, audit entry or artifact of the round changes.

The chair's changes to the proposal (V10 exclusions and inclusions) are not replayed: "after"
is the committee's proposal under the changed settings.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlmodel import Session

from sangsaeng.domain.names import APPLICATION_STATES, named
from sangsaeng.domain.states import ApplicationState, RoundState, round_reached
from sangsaeng.errors import SangsaengError
from sangsaeng.markdown import escape
from sangsaeng.models import Round
from sangsaeng.reports import decision_rows, to_csv, to_markdown, write_xlsx_sheets
from sangsaeng.services.review import recompute

COLUMNS = ("receipt_no", "track", "status_before", "status_after", "score_before",
           "score_after", "rank_before", "rank_after", "changed")
SUMMARY_COLUMNS = ("track", "selected_before", "selected_after", "in", "out")
# The XLSX and Markdown, as people read them (issue 23 item 4); the CSV keeps the codes.
COLUMNS_KO = ("접수번호", "분야", "상태(현행)", "상태(변경안)", "점수(현행)", "점수(변경안)",
              "순위(현행)", "순위(변경안)", "변동")
SUMMARY_COLUMNS_KO = ("분야", "선정(현행)", "선정(변경안)", "새로 선정", "선정에서 빠짐")
_SELECTED = ApplicationState.SELECTED


class SettingRefused(SangsaengError):
    """A what-if setting that is not valid (one line, in Korean)."""

    exit_code = 2


@dataclass(frozen=True)
class Scenario:
    """Changed settings; None (or no quota entry) keeps the round's own."""

    name: str = "변경안"
    cutoff: Decimal | None = None
    item_floor_ratio: Decimal | None = None
    trim_at: int | None = None
    min_reviews: int | None = None
    quota: Mapping[str, int] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return (self.cutoff, self.item_floor_ratio, self.trim_at, self.min_reviews) == (
            None, None, None, None) and not self.quota


_KEYS = {"cutoff": "cutoff", "item-floor-ratio": "item_floor_ratio",
         "item_floor_ratio": "item_floor_ratio", "trim-at": "trim_at", "trim_at": "trim_at",
         "min-reviews": "min_reviews", "min_reviews": "min_reviews"}


def scenario_of(name: str, settings: Mapping[str, str], quotas: Sequence[str]) -> Scenario:
    """A scenario from text: `settings` by key (cutoff, item-floor-ratio, trim-at, min-reviews)
    and `quotas` as `TRACK=N`; a value that is not a number is refused in one line."""
    values: dict[str, object] = {}
    for key, text in settings.items():
        attr = _KEYS.get(key)
        if attr is None:
            raise SettingRefused(f"알 수 없는 설정입니다: {key} (cutoff, item-floor-ratio, "
                                 "trim-at, min-reviews, quota)")
        values[attr] = _number(key, text, whole=attr in ("trim_at", "min_reviews"))
    quota: dict[str, int] = {}
    for item in quotas:
        track, sep, text = item.partition("=")
        if not sep or not track.strip():
            raise SettingRefused(f"선정 규모는 분야=건수로 씁니다 (예: innovation=5): {item}")
        quota[track.strip()] = int(_number(f"quota {track.strip()}", text, whole=True))
    return Scenario(name, quota=quota, **values)  # type: ignore[arg-type]


def scenario_from_text(text: str) -> Scenario:
    """`--scenario NAME:KEY=VALUE,…` (a quota as `quota=TRACK=N`)."""
    name, sep, body = text.partition(":")
    if not sep or not name.strip():
        raise SettingRefused(f"시나리오는 이름:설정=값,… 으로 씁니다 (예: 기준65:cutoff=65): "
                             f"{text}")
    settings: dict[str, str] = {}
    quotas: list[str] = []
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise SettingRefused(f"설정=값 이 아닙니다: {part}")
        if key.strip() == "quota":
            quotas.append(value)
        else:
            settings[key.strip()] = value
    return scenario_of(name.strip(), settings, quotas)


def _number(key: str, text: str, *, whole: bool) -> Decimal | int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise SettingRefused(f"{key}: 숫자가 아닙니다 ({text!r})") from None
    if whole:
        if value != value.to_integral_value():
            raise SettingRefused(f"{key}: 정수여야 합니다 ({text})")
        return int(value)
    return value


def check(rnd: Round, scenario: Scenario) -> None:
    """Refuse, in one line, a setting no round could have (V6–V9 ranges) or a quota for a
    track the round does not offer."""
    if scenario.cutoff is not None and not Decimal(0) <= scenario.cutoff <= Decimal(100):
        raise SettingRefused(f"기준 점수(cutoff)는 0에서 100 사이입니다: {scenario.cutoff}")
    ratio = scenario.item_floor_ratio
    if ratio is not None and not Decimal(0) <= ratio <= Decimal(1):
        raise SettingRefused(f"항목 최저 비율(item-floor-ratio)은 0에서 1 사이입니다: {ratio}")
    if scenario.trim_at is not None and scenario.trim_at < 3:  # as config/program.toml's
        raise SettingRefused(f"절사 기준(trim-at)은 3 이상입니다: {scenario.trim_at}")
    if scenario.min_reviews is not None and scenario.min_reviews < 1:
        raise SettingRefused(f"최소 평가 수(min-reviews)는 1 이상입니다: {scenario.min_reviews}")
    for track, n in scenario.quota.items():
        if track not in rnd.tracks:
            raise SettingRefused(f"{rnd.id} 회차에 없는 분야입니다: {track} "
                                 f"({', '.join(rnd.tracks)})")
        if n < 0:
            raise SettingRefused(f"선정 규모는 0 이상입니다: {track}={n}")


def with_settings(rnd: Round, scenario: Scenario) -> Round:
    """A detached copy of the round whose frozen settings carry the scenario's changes."""
    settings = copy.deepcopy(rnd.settings)
    review = settings["review"]
    for key in ("cutoff", "item_floor_ratio", "trim_at", "min_reviews"):
        value = getattr(scenario, key)
        if value is not None:
            review[key] = str(value) if isinstance(value, Decimal) else value
    settings["quota"] = {**settings.get("quota", {}), **scenario.quota}
    return Round(id=rnd.id, title=rnd.title, opens_at=rnd.opens_at, closes_at=rnd.closes_at,
                 tracks=list(rnd.tracks), support_years=rnd.support_years, settings=settings,
                 state=rnd.state)


@dataclass(frozen=True)
class Moved:
    """One application before (as decided) and after (recomputed)."""

    receipt_no: str
    track: str
    status_before: str
    status_after: str
    score_before: str
    score_after: str
    rank_before: str
    rank_after: str

    @property
    def changed(self) -> bool:
        return (self.status_before, self.rank_before) != (self.status_after, self.rank_after)

    def cells(self) -> list[str]:
        return [self.receipt_no, self.track, self.status_before, self.status_after,
                self.score_before, self.score_after, self.rank_before, self.rank_after,
                "true" if self.changed else "false"]


def what_if(session: Session, rnd: Round, scenario: Scenario) -> list[Moved]:
    """Every application of a decided round, in receipt order, as decided and as the changed
    settings would have placed it. Reads only; the session is rolled back."""
    if not round_reached(rnd.state, RoundState.DECIDED) or rnd.state is RoundState.CANCELLED:
        raise SettingRefused(f"{rnd.id} 회차는 아직 선정이 확정되지 않았습니다 (상태: "
                             f"{rnd.state}): 선정 시뮬레이션은 확정된 회차에만 합니다")
    check(rnd, scenario)
    try:
        before = decision_rows(session, rnd)
        after = recompute(session, with_settings(rnd, scenario))
    finally:
        session.rollback()
    out = []
    for receipt, track, status, score, rank, _ in before:
        found = after.get(receipt)
        if found is None:  # not reviewed (ineligible): as it was
            out.append(Moved(receipt, track, status, status, score, score, rank, rank))
            continue
        placement, new_score = found
        out.append(Moved(receipt, track, status, placement.status, score, f"{new_score:.2f}",
                         rank, "" if placement.rank is None else str(placement.rank)))
    return out


@dataclass(frozen=True)
class TrackSummary:
    """Per track: projects selected before and after, and those that move in or out."""

    track: str
    selected_before: int
    selected_after: int
    moved_in: int
    moved_out: int

    def cells(self) -> list[str]:
        return [self.track, *(str(n) for n in (self.selected_before, self.selected_after,
                                               self.moved_in, self.moved_out))]


def summary(rnd: Round, rows: Sequence[Moved]) -> list[TrackSummary]:
    """The round's tracks in order, each with its selected before/after and in/out."""
    out = []
    for track in rnd.tracks:
        mine = [r for r in rows if r.track == track]
        before = {r.receipt_no for r in mine if r.status_before == _SELECTED}
        after = {r.receipt_no for r in mine if r.status_after == _SELECTED}
        out.append(TrackSummary(track, len(before), len(after), len(after - before),
                                len(before - after)))
    return out


def korean_rows(rnd: Round, rows: Sequence[Moved]) -> list[list[str]]:
    """The rows as people read them: tracks and statuses by name, `변동` marked."""
    tracks = rnd.track_names()
    return [[r.receipt_no, named(tracks, r.track), named(APPLICATION_STATES, r.status_before),
             named(APPLICATION_STATES, r.status_after), r.score_before, r.score_after,
             r.rank_before, r.rank_after, "변동" if r.changed else ""] for r in rows]


def korean_summary(rnd: Round, totals: Sequence[TrackSummary]) -> list[list[str]]:
    tracks = rnd.track_names()
    return [[named(tracks, t.track), *t.cells()[1:]] for t in totals]


@dataclass(frozen=True)
class Result:
    """One scenario's rows and per-track summary."""

    scenario: Scenario
    rows: list[Moved]
    totals: list[TrackSummary]


def run(session: Session, rnd: Round, scenarios: Sequence[Scenario]) -> list[Result]:
    """Each scenario over the round, in the order given."""
    results = []
    for scenario in scenarios:
        rows = what_if(session, rnd, scenario)
        results.append(Result(scenario, rows, summary(rnd, rows)))
    return results


def describe(scenario: Scenario, tracks: Mapping[str, str] | None = None) -> str:
    """The scenario's changes in one line (the Markdown's and the artifact's); `tracks`: the
    round's track names."""
    parts = [f"{label} {value}" for label, value in (
        ("기준 점수", scenario.cutoff), ("항목 최저 비율", scenario.item_floor_ratio),
        ("절사 기준", scenario.trim_at), ("최소 평가 수", scenario.min_reviews))
        if value is not None]
    parts += [f"{named(tracks or {}, track)} 선정 {n}건" for track, n in scenario.quota.items()]
    return ", ".join(parts) or "변경 없음"


def as_csv(results: Sequence[Result]) -> str:
    """One scenario's rows (INTERFACES §6 columns, codes), a blank line, its summary."""
    if len(results) != 1:
        raise SettingRefused("CSV는 시나리오 하나만 씁니다: 여러 시나리오는 --format xlsx 또는 md")
    [result] = results
    return (to_csv(COLUMNS, [r.cells() for r in result.rows]) + "\r\n"  # one BOM
            + to_csv(SUMMARY_COLUMNS, [t.cells() for t in result.totals]).lstrip("\ufeff"))


def summary_markdown(rnd: Round, result: Result) -> str:
    """One scenario's heading (its changes) and its summary per track, in Korean."""
    return "\n".join([
        f"## {escape(result.scenario.name)}: "
        f"{escape(describe(result.scenario, rnd.track_names()))}", "",
        to_markdown(SUMMARY_COLUMNS_KO, korean_summary(rnd, result.totals))])


def as_markdown(rnd: Round, results: Sequence[Result]) -> str:
    """A section per scenario: its changes, the summary, then the rows that moved."""
    out = [f"# {rnd.id} 선정 시뮬레이션", ""]
    for result in results:
        moved = [r for r in result.rows if r.changed]
        out += [summary_markdown(rnd, result), f"바뀐 과제 {len(moved)}건", "",
                to_markdown(COLUMNS_KO, korean_rows(rnd, moved)) if moved else "(없음)", ""]
    return "\n".join(out)


def write_xlsx_results(path: Path, rnd: Round, results: Sequence[Result]) -> None:
    """A sheet per scenario: every application's row, a blank line, the summary per track."""
    write_xlsx_sheets(path, [(result.scenario.name, [
        COLUMNS_KO, *korean_rows(rnd, result.rows), [],
        SUMMARY_COLUMNS_KO, *korean_summary(rnd, result.totals)], (2, 3, 4, 5))
        for result in results])
