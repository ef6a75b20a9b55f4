"""A2/A1: the announcement reproduces the press release's figures and table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sangsaeng.config import load_program
from sangsaeng.db import get_engine, session_scope
from sangsaeng.reports import announcement, figures
from sangsaeng.services.rounds import get_round
from tests.conftest import REPO
from tests.integration.helpers import run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

PRESS = REPO.parent / "shared" / "reference" / "press-release-2022-06-30.txt"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def press_table() -> list[list[str]]:
    """The press release's selection table rows (NO..상생협력제품), as printed."""
    if not PRESS.exists():
        pytest.skip("shared/reference is not beside the checkout")
    rows = [line.split("\t") for line in PRESS.read_text(encoding="utf-8").splitlines()]
    return [[c.strip() for c in r] for r in rows if len(r) == 6 and r[0].strip().isdigit()]


def test_A2_figures_match_the_press_release(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    with session_scope(get_engine()) as session:
        fig = figures(session, get_round(session, "2022-2"))
    assert (fig.applications, fig.selected, fig.lead_participations) == (36, 12, 29)
    assert dict(fig.by_track) == {"innovation": 7, "materials": 1, "convergence": 1, "value": 3}


def test_A1_announcement_table_is_the_press_release_table(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
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
