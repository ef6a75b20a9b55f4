"""Company size classes, tracks and the startup test — PROGRAM_RULES C3, C4, C6, V8."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from sangsaeng.domain.clock import add_years, kst_date


class Size(StrEnum):
    """C3: company size classes; micro, small and medium are SMEs."""

    MICRO = "micro"  # 소상공인
    SMALL = "small"  # 소기업
    MEDIUM = "medium"  # 중기업
    MIDSIZE = "midsize"  # 중견기업
    LARGE = "large"  # 대기업


class Role(StrEnum):
    """C5: a participant's role in an application."""

    LEAD = "lead"  # 주관기업
    PARTNER = "partner"  # 협력기업


class Track(StrEnum):
    """C6: the program's tracks (분야)."""

    INNOVATION = "innovation"  # 혁신성장
    MATERIALS = "materials"  # 소재·부품
    CAPABILITY = "capability"  # 역량강화
    CONVERGENCE = "convergence"  # 기술융합
    VALUE = "value"  # 가치창출


# C6: codes used in certificate numbers (K2).
TRACK_CODES: Mapping[Track, str] = MappingProxyType(
    {
        Track.INNOVATION: "IG",
        Track.MATERIALS: "MP",
        Track.CAPABILITY: "CB",
        Track.CONVERGENCE: "TC",
        Track.VALUE: "VC",
    }
)

SME_SIZES: frozenset[Size] = frozenset({Size.MICRO, Size.SMALL, Size.MEDIUM})
# V8 / §4.3: the sizes that count as policy priority on their own.
MICRO_OR_SMALL: frozenset[Size] = frozenset({Size.MICRO, Size.SMALL})


def is_sme(size: Size) -> bool:
    """C3: micro, small and medium companies are SMEs (중소기업)."""
    return size in SME_SIZES


def is_large(size: Size) -> bool:
    """C3: for this program "large" means any non-SME (midsize or large)."""
    return not is_sme(size)


def is_startup(founded_on: date, closes_at: datetime, years: int) -> bool:
    """C4: founded strictly after the round's closing date (KST) minus `years` years."""
    return founded_on > add_years(kst_date(closes_at), -years)


def is_policy_priority(
    size: Size, founded_on: date, closes_at: datetime, startup_years: int
) -> bool:
    """V8: policy priority = a startup (C4) or a micro/small company."""
    return size in MICRO_OR_SMALL or is_startup(founded_on, closes_at, startup_years)
