"""A2/A1: the announcement reproduces the press release's figures and table."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from sangsaeng.config import load_program
from sangsaeng.db import get_engine, session_scope
from sangsaeng.reports import announcement, figures
from sangsaeng.services.rounds import get_round
from tests.conftest import REPO

# The repository's copy: the test runs wherever the repository is cloned (tests/data/README).
PRESS = REPO / "tests" / "data" / "press-release-2022-06-30.txt"
SHARED_PRESS = REPO.parent / "shared" / "reference" / "press-release-2022-06-30.txt"
PRESS_SHA256 = "162dc0bc539d66b6943557fc4ef91c18c3c81d4ca963049717ef73a1ec8f021f"


def press_table() -> list[list[str]]:
    """The press release's selection table rows (NO..상생협력제품), as printed."""
    rows = [line.split("\t") for line in PRESS.read_text(encoding="utf-8").splitlines()]
    return [[c.strip() for c in r] for r in rows if len(r) == 6 and r[0].strip().isdigit()]


def test_the_press_release_copy_is_the_shared_reference() -> None:
    assert hashlib.sha256(PRESS.read_bytes()).hexdigest() == PRESS_SHA256, (
        f"{PRESS} changed: it must stay a byte-for-byte copy of {SHARED_PRESS}")
    if SHARED_PRESS.exists():  # beside the checkout on developer machines and most CI runs
        assert SHARED_PRESS.read_bytes() == PRESS.read_bytes(), (
            f"{SHARED_PRESS} changed: copy it to {PRESS} and update PRESS_SHA256")
    # The table A1 compares against: the 12 selected projects, NO 1..12 in order.
    assert [row[0] for row in press_table()] == [str(n) for n in range(1, 13)]


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.usefixtures("replayed")
def test_A2_figures_match_the_press_release(env: Path) -> None:
    with session_scope(get_engine()) as session:
        fig = figures(session, get_round(session, "2022-2"))
    assert (fig.applications, fig.selected, fig.lead_participations) == (36, 12, 29)
    assert dict(fig.by_track) == {"innovation": 7, "materials": 1, "convergence": 1, "value": 3}


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.usefixtures("replayed")
def test_A1_announcement_table_is_the_press_release_table(env: Path) -> None:
    program = load_program(REPO / "config")
    with session_scope(get_engine()) as session:
        text = announcement(session, get_round(session, "2022-2"), program.program.name,
                            program.program.ministry)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if re.match(r"^\| \d+ \|", line)]
    assert rows == press_table()
    for phrase in ("36개", "12개 과제", "29개 주관 중소기업", "혁신성장과제 : 7개",
                   "소재부품과제 : 1개", "기술융합과제 : 1개", "가치창출과제 : 3개"):
        assert phrase in text
