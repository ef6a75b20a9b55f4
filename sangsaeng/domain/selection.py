"""Selection list and announcement figures — PROGRAM_RULES A1, A2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sangsaeng.domain.companies import Size, is_large
from sangsaeng.domain.ordering import natural_key

# A1: the seed table's header, verbatim.
SELECTION_COLUMNS = ("NO", "협약형태", "주관기업", "협력기업", "지원기간", "상생협력제품")

SelectionRow = tuple[str, str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Company:
    """A participant as the selection list shows it (name verbatim, C2)."""

    seq: int
    name: str
    size: Size


@dataclass(frozen=True, slots=True)
class SelectedProject:
    """A selected application with its companies, for A1 and A2."""

    receipt_no: str
    track: str
    product_name: str
    leads: tuple[Company, ...]
    partners: tuple[Company, ...]


@dataclass(frozen=True, slots=True)
class AnnouncementFigures:
    """A2: the figures of the selection announcement."""

    applications: int
    selected: int
    lead_participations: int
    by_track: Mapping[str, int]


def agreement_form(p: SelectedProject) -> str:
    """A1: 협약형태 `{leads}:{partners}`, plus " (대기업 참여)" if a partner is midsize/large."""
    form = f"{len(p.leads)}:{len(p.partners)}"
    # C3: "large" = any non-SME.
    return f"{form} (대기업 참여)" if any(is_large(c.size) for c in p.partners) else form


def company_label(companies: Sequence[Company]) -> str:
    """A1: the lowest-seq company's name verbatim; with k > 1 `{name} 등 ({k}개 기업)`."""
    if not companies:
        raise ValueError("a project needs at least one company on each side (C5)")
    first = min(companies, key=lambda c: c.seq)
    k = len(companies)
    return first.name if k == 1 else f"{first.name} 등 ({k}개 기업)"


def selection_rows(projects: Iterable[SelectedProject], support_years: int) -> list[SelectionRow]:
    """A1: the selection list rows, in receipt-number order, NO from 1."""
    ordered = sorted(projects, key=lambda p: natural_key(p.receipt_no))
    return [
        (
            str(no),
            agreement_form(p),
            company_label(p.leads),
            company_label(p.partners),
            f"{support_years}년",
            p.product_name,
        )
        for no, p in enumerate(ordered, start=1)
    ]


def announcement_figures(
    applications: int, projects: Iterable[SelectedProject], tracks: Sequence[str]
) -> AnnouncementFigures:
    """A2: applications, selected projects, lead participations and projects per track."""
    counts = dict.fromkeys(tracks, 0)
    selected = participations = 0
    for p in projects:
        if p.track not in counts:
            raise ValueError(f"selected project {p.receipt_no} is in unknown track {p.track!r}")
        counts[p.track] += 1
        selected += 1
        # A2: a company in two projects counts twice, but only once within one project.
        participations += len({c.seq for c in p.leads})
    return AnnouncementFigures(applications, selected, participations, MappingProxyType(counts))
