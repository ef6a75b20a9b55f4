"""Selection list and announcement figures — PROGRAM_RULES A1, A2."""

from __future__ import annotations

import pytest

from sangsaeng.domain.companies import Size
from sangsaeng.domain.selection import (
    SELECTION_COLUMNS,
    Company,
    SelectedProject,
    agreement_form,
    announcement_figures,
    company_label,
    selection_rows,
)

TRACKS = ("innovation", "materials", "convergence", "value")


def companies(n: int, size: Size = Size.SMALL, prefix: str = "회사") -> tuple[Company, ...]:
    return tuple(Company(seq, f"{prefix}{seq}", size) for seq in range(1, n + 1))


def project(
    receipt_no: str,
    *,
    track: str = "innovation",
    leads: tuple[Company, ...] = companies(1),
    partners: tuple[Company, ...] = companies(1, Size.MEDIUM, "협력"),
) -> SelectedProject:
    return SelectedProject(receipt_no, track, f"제품{receipt_no}", leads, partners)


@pytest.mark.parametrize(
    ("leads", "partners", "form"),
    [
        pytest.param(1, Size.MEDIUM, "1:1", id="1:1"),
        pytest.param(18, Size.LARGE, "18:1 (대기업 참여)", id="18:1-large"),
        pytest.param(2, Size.MIDSIZE, "2:1 (대기업 참여)", id="midsize-counts-as-large"),
    ],
)
def test_A1_agreement_form(leads: int, partners: Size, form: str) -> None:
    p = project("2022-2-1", leads=companies(leads), partners=companies(1, partners))
    assert agreement_form(p) == form


def test_A1_large_lead_does_not_make_large_participation() -> None:
    p = project("2022-2-1", leads=companies(1, Size.LARGE))
    assert agreement_form(p) == "1:1"


@pytest.mark.parametrize(
    ("group", "label"),
    [
        pytest.param(
            (Company(1, "주)티제이콘크리트", Size.SMALL),), "주)티제이콘크리트", id="verbatim"
        ),
        pytest.param(
            tuple(
                Company(s, "(주)와치캠" if s == 1 else f"x{s}", Size.SMALL)
                for s in range(18, 0, -1)
            ),
            "(주)와치캠 등 (18개 기업)",
            id="18-companies-seq-1-named",
        ),
    ],
)
def test_A1_company_label(group: tuple[Company, ...], label: str) -> None:
    assert company_label(group) == label


def test_A1_company_label_needs_a_company() -> None:
    with pytest.raises(ValueError):
        company_label(())


def test_A1_selection_rows_in_receipt_order_from_1() -> None:
    projects = [
        project("2022-2-1000", partners=companies(1, Size.LARGE, "대기업")),
        project("2022-2-999", leads=companies(3)),
    ]
    assert SELECTION_COLUMNS == (
        "NO",
        "협약형태",
        "주관기업",
        "협력기업",
        "지원기간",
        "상생협력제품",
    )
    assert selection_rows(projects, support_years=3) == [
        ("1", "3:1", "회사1 등 (3개 기업)", "협력1", "3년", "제품2022-2-999"),
        ("2", "1:1 (대기업 참여)", "회사1", "대기업1", "3년", "제품2022-2-1000"),
    ]


def test_A2_announcement_figures_count_participations_and_tracks() -> None:
    shared = Company(1, "가구클럽", Size.SMALL)
    projects = [
        project("2022-2-9", leads=(shared,)),
        project("2022-2-12", leads=(shared,)),  # the same company again counts twice
        project("2022-2-21", track="materials", leads=companies(18)),
        project("2022-2-31", track="value"),
    ]
    figures = announcement_figures(36, projects, TRACKS)
    assert (figures.applications, figures.selected, figures.lead_participations) == (36, 4, 21)
    assert list(figures.by_track.items()) == [
        ("innovation", 2),
        ("materials", 1),
        ("convergence", 0),
        ("value", 1),
    ]


def test_A2_project_in_unknown_track_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"2022-2-1.*capability"):
        announcement_figures(1, [project("2022-2-1", track="capability")], TRACKS)
