"""`sangsaeng support import evaluations.csv` and `support dues` as a user runs them
(PROGRAM_RULES M3, INTERFACES §5): a fail is reported as a pending cancellation for the office
to decide in the UI; nothing is cancelled from the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROUND_2022_2
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")
EVALUATIONS = ROUND_2022_2 / "support" / "evaluations.csv"


def test_M3_import_reports_the_pending_cancellation_and_dues_count_it(
        env: Path, replayed_cli: tuple[int, str, str]) -> None:
    code, stdout, _ = replayed_cli  # the session's one `round run`, copied
    assert code == 0 and "29 certificate(s) issued" in stdout
    code, stdout, _ = cli("support", "import", str(EVALUATIONS), "--now", "2023-07-12T10:00:00")
    assert code == 0 and "evaluations 2 recorded" in stdout
    assert "pending cancellation for 2022-2-018: confirm in the UI (review_cancellation)" in \
        " ".join(stdout.split())
    # M3: second interim (due 2024-07-20) reminded 30 days before, 2024-06-20
    code, stdout, _ = cli("support", "dues", "--now", "2024-06-20T09:00:00")
    assert code == 0 and "evaluation.due 0" not in stdout and "evaluation.due" in stdout
    code, stdout, _ = cli("support", "dues", "--now", "2024-06-20T18:00:00")
    assert code == 0 and "evaluation.due 0" in stdout
