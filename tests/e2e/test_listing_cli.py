"""`sangsaeng support import listing.csv`, `support dues` and `export listing` as a user runs
them (PROGRAM_RULES M1–M1c, INTERFACES §5): the CSV, a refused row (exit 2), once a day."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import ROUND_2022_2
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")
LISTING = ROUND_2022_2 / "support" / "listing.csv"


@pytest.fixture
def replayed(env: Path, replayed_cli: tuple[int, str, str]) -> Path:
    code, stdout, _ = replayed_cli  # the session's one `round run`, copied
    assert code == 0 and "29 certificate(s) issued" in stdout
    return env


def test_export_listing_after_the_dues_run(replayed: Path, tmp_path: Path) -> None:
    code, stdout, _ = cli("support", "import", str(LISTING), "--now", "2022-09-21T08:00:00")
    assert code == 0 and "listing 9 recorded" in stdout
    code, stdout, _ = cli("support", "dues", "--now", "2022-09-21T09:00:00")
    # M1b: 28 products not listed, all ≥ 14 days in their step; M1c: 27 of them ≥ 60 days
    assert code == 0 and "listing.reminder 28" in stdout and "escalated 27" in stdout
    code, stdout, _ = cli("support", "dues", "--now", "2022-09-21T18:00:00")
    assert code == 0 and "listing.reminder 0" in stdout and "escalated 0" in stdout
    out = tmp_path / "listing.csv"
    code, _, stderr = cli("export", "listing", "--round", "2022-2", "--now", "2022-09-21",
                          "--out", str(out))
    assert code == 0 and "wrote" in stderr
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())  # UTF-8 BOM for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["receipt_no", "number", "lead_name", "product_name", "step", "since",
                       "days_in_step", "reminders", "escalated"]
    assert len(rows) == 30
    by_receipt = {row[0]: row[4:] for row in rows[1:]}
    # M1/M1a: 2022-2-034 registered on 07-22 (catalog_number next, 61 days: escalated, M1c);
    # 2022-2-002 at mas_qualification since its catalog number on 08-10 (42 days);
    # 2022-2-031 listed on 09-20
    assert by_receipt["2022-2-034"] == ["catalog_number", "2022-07-22", "61", "1",
                                        "2022-09-21"]
    assert by_receipt["2022-2-002"] == ["mas_qualification", "2022-08-10", "42", "1", ""]
    assert by_receipt["2022-2-031"] == ["listed", "2022-09-20", "", "0", ""]
    code, _, stderr = cli("export", "listing", "--round", "2099-9")
    assert code != 0 and stderr.count("\n") == 1


def test_a_refused_listing_row_exits_2_and_says_why(replayed: Path, tmp_path: Path) -> None:
    path = tmp_path / "listing.csv"
    path.write_text("receipt_no,brn,step,done_on,evidence\n"
                    "2022-2-034,677-81-97153,bidder_registration,2022-07-22,등록\n"
                    "2022-2-034,677-81-97153,catalog_number,2022-08-01,물품식별번호 미기재\n",
                    encoding="utf-8")
    code, stdout, stderr = cli("support", "import", str(path), "--now", "2022-08-02")
    assert code == 2
    assert "listing.csv 3행, evidence 열, 값 '물품식별번호 미기재'" in stderr
    assert "8자리 물품식별번호" in stderr
    code, stdout, _ = cli("export", "listing", "--round", "2022-2", "--now", "2022-08-02")
    row = next(r for r in csv.reader(io.StringIO(stdout)) if r[0] == "2022-2-034")
    assert row[4:7] == ["catalog_number", "2022-07-22", "11"]  # the good row kept
