"""Committee review scores — PROGRAM_RULES V1–V7."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from math import floor
from types import MappingProxyType

from sangsaeng.domain.clock import add_years, kst_date
from sangsaeng.domain.ordering import natural_key

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_ONE_DECIMAL = Decimal("0.1")

CONFLICT = "CONFLICT"  # V3
INCOMPLETE = "INCOMPLETE"  # V4
BELOW_CUTOFF = "BELOW_CUTOFF"  # V7
BELOW_ITEM_FLOOR = "BELOW_ITEM_FLOOR"  # V7, reported as "BELOW_ITEM_FLOOR:<criterion>"


@dataclass(frozen=True, slots=True)
class Criterion:
    """V1: one review criterion with its maximum score."""

    key: str
    name: str
    max: Decimal


@dataclass(frozen=True, slots=True)
class ReviewSheet:
    """One reviewer's scores for one application, by criterion key."""

    reviewer_id: str
    scores: Mapping[str, Decimal]

    @property
    def total(self) -> Decimal:
        """Sum of the sheet's criterion scores."""
        return sum(self.scores.values(), Decimal(0))


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """The round's review settings (V4, V5, V7, V8; [A] values come from config)."""

    cutoff: Decimal
    item_floor_ratio: Decimal
    min_reviews: int
    trim_at: int
    tie_break_criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Affiliation:
    """V3: a reviewer's past or present affiliation with a company (`until` None = current)."""

    brn: str
    until: date | None


@dataclass(frozen=True, slots=True)
class Aggregate:
    """V5/V6: an application's rounded score and criterion means over the kept sheets."""

    score: Decimal
    criterion_means: Mapping[str, Decimal]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """V6: round half away from zero to `places` decimals (69.975 → 69.98)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _mean_half_up(values: Sequence[Decimal], places: int = 2) -> Decimal:
    """V6: the exact mean rounded half-up, with no intermediate rounding of the quotient."""
    scaled = sum((Fraction(v) for v in values), Fraction(0)) / len(values) * 10**places
    magnitude = floor(abs(scaled) + Fraction(1, 2))
    return Decimal(magnitude if scaled >= 0 else -magnitude).scaleb(-places)


def parse_score(text: str, maximum: Decimal) -> Decimal:
    """V2: parse one score in [0, maximum] with at most one decimal, or raise ValueError (its
    message, in Korean, is the refused row's reason)."""
    raw = text.strip()
    if not raw:
        raise ValueError("점수가 비어 있습니다")
    if not _NUMBER.match(raw):
        raise ValueError(f"점수가 숫자가 아닙니다 ({raw!r})")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"점수가 숫자가 아닙니다 ({raw!r})") from exc
    if value < 0:
        raise ValueError(f"점수가 음수입니다 ({raw!r}): 점수는 0점부터 {maximum}점까지입니다")
    if value > maximum:
        raise ValueError(f"점수가 최고점 {maximum}점을 넘습니다 ({raw!r})")
    if value != value.quantize(_ONE_DECIMAL):
        raise ValueError(f"점수는 소수 첫째 자리까지만 쓸 수 있습니다 ({raw!r})")
    return value.copy_abs().quantize(_ONE_DECIMAL)  # copy_abs: "-0" is 0.0


def is_conflicted(
    affiliations: Iterable[Affiliation],
    participant_brns: Collection[str],
    closes_at: datetime,
    horizon_years: int,
) -> bool:
    """V3: an affiliation with a participant that ended on/after close − horizon (or is open)."""
    horizon = add_years(kst_date(closes_at), -horizon_years)
    return any(
        aff.brn in participant_brns and (aff.until is None or aff.until >= horizon)
        for aff in affiliations
    )


def conflicted_reviewers(
    affiliations: Mapping[str, Iterable[Affiliation]],
    participant_brns: Collection[str],
    closes_at: datetime,
    horizon_years: int,
) -> frozenset[str]:
    """V3: ids of the reviewers (reviewer id → affiliations) conflicted on one application."""
    return frozenset(
        reviewer_id
        for reviewer_id, affs in affiliations.items()
        if is_conflicted(affs, participant_brns, closes_at, horizon_years)
    )


def split_valid(
    sheets: Iterable[ReviewSheet],
    criteria: Sequence[Criterion],
    conflicted: Collection[str],
) -> tuple[tuple[ReviewSheet, ...], tuple[tuple[str, str], ...]]:
    """V3/V4: valid sheets and excluded (reviewer_id, "CONFLICT" | "INCOMPLETE") pairs."""
    keys = [c.key for c in criteria]
    valid: list[ReviewSheet] = []
    excluded: list[tuple[str, str]] = []
    for sheet in sheets:
        if sheet.reviewer_id in conflicted:
            excluded.append((sheet.reviewer_id, CONFLICT))
        elif any(key not in sheet.scores for key in keys):
            excluded.append((sheet.reviewer_id, INCOMPLETE))
        elif set(sheet.scores) == set(keys):
            valid.append(sheet)
        else:
            # Keep only the criteria so that `total` is exactly the V1 sum.
            scores = MappingProxyType({key: sheet.scores[key] for key in keys})
            valid.append(ReviewSheet(sheet.reviewer_id, scores))
    return tuple(valid), tuple(excluded)


def insufficient_reviews(valid_counts: Mapping[str, int], min_reviews: int) -> tuple[str, ...]:
    """V4: receipt numbers with fewer than `min_reviews` valid reviews, in receipt order."""
    short = (receipt for receipt, n in valid_counts.items() if n < min_reviews)
    return tuple(sorted(short, key=natural_key))


def trim(
    sheets: Sequence[ReviewSheet], trim_at: int
) -> tuple[tuple[ReviewSheet, ...], tuple[str, ...]]:
    """V5: with n ≥ trim_at, drop one highest- and one lowest-total sheet (kept, dropped ids)."""
    ordered = sorted(sheets, key=lambda s: natural_key(s.reviewer_id))
    # Never trim away every sheet, whatever trim_at is configured to.
    if len(ordered) < max(trim_at, 3):
        return tuple(ordered), ()
    # V5: among equal totals the larger reviewer id goes; `ordered` runs by ascending id, so
    # that is the largest index.  The low one is chosen among the rest (all-equal case).
    high_total = max(s.total for s in ordered)
    high = max(i for i, s in enumerate(ordered) if s.total == high_total)
    rest = [i for i in range(len(ordered)) if i != high]
    low_total = min(ordered[i].total for i in rest)
    low = max(i for i in rest if ordered[i].total == low_total)
    kept = tuple(s for i, s in enumerate(ordered) if i not in (high, low))
    return kept, (ordered[high].reviewer_id, ordered[low].reviewer_id)


def aggregate(
    sheets: Sequence[ReviewSheet], criteria: Sequence[Criterion], trim_at: int
) -> Aggregate:
    """V5/V6: trim, then score and criterion means over the kept sheets, rounded half-up."""
    if not sheets:
        raise ValueError("no valid review sheets to aggregate")
    kept, dropped = trim(sheets, trim_at)
    means = {c.key: _mean_half_up([s.scores[c.key] for s in kept]) for c in criteria}
    return Aggregate(
        score=_mean_half_up([s.total for s in kept]),
        criterion_means=MappingProxyType(means),
        kept=tuple(s.reviewer_id for s in kept),
        dropped=dropped,
    )


def fail_reasons(
    agg: Aggregate, criteria: Sequence[Criterion], rules: ReviewRules
) -> tuple[str, ...]:
    """V7: BELOW_CUTOFF, then BELOW_ITEM_FLOOR:<key> per criterion in V1 order; () = pass."""
    reasons: list[str] = []
    if agg.score < rules.cutoff:
        reasons.append(BELOW_CUTOFF)
    for criterion in criteria:
        # V6: comparisons use the rounded means.
        if agg.criterion_means[criterion.key] < rules.item_floor_ratio * criterion.max:
            reasons.append(f"{BELOW_ITEM_FLOOR}:{criterion.key}")
    return tuple(reasons)
