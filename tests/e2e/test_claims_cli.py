"""`sangsaeng support import cost_claims.csv` and `sangsaeng export claims` as a user runs them
(PROGRAM_RULES M2, INTERFACES §5): the expected file, refused rows one line each, exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROUND_2022_2
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def replayed(env: Path, replayed_cli: tuple[int, str, str]) -> Path:
    code, stdout, _ = replayed_cli  # the session's one `round run`, copied
    assert code == 0 and "support" in stdout
    return env


def test_M2_export_claims_after_the_import_is_the_expected_file(
        replayed: Path, tmp_path: Path) -> None:
    code, stdout, _ = cli("support", "import", str(ROUND_2022_2 / "support" / "cost_claims.csv"),
                          "--now", "2022-09-08")
    assert code == 0 and "cost_claims 6 recorded" in stdout
    out = tmp_path / "claims.csv"
    code, _, stderr = cli("export", "claims", "--round", "2022-2", "--out", str(out))
    assert code == 0 and "wrote" in stderr
    expected = (ROUND_2022_2 / "expected" / "claims.csv").read_bytes()
    assert out.read_bytes() == b"\xef\xbb\xbf" + expected.replace(b"\n", b"\r\n")
    code, stdout, _ = cli("export", "claims", "--round", "2022-2")
    assert code == 0 and stdout.lstrip("\ufeff").splitlines()[4] == (
        "C-004,2022-2-025,5000000,2000000,0,CAP_EXCEEDED")
    code, _, stderr = cli("export", "claims", "--round", "2099-1")
    assert code != 0 and stderr.count("\n") == 1


def test_M2_refused_claim_rows_exit_2_with_one_line_each(replayed: Path, tmp_path: Path) -> None:
    path = tmp_path / "cost_claims.csv"
    path.write_text("claim_id,receipt_no,submitted_on,amount_krw,item,evidence\n"
                    "C-1,2022-2-025,2022-08-01,6000000.5,시험비,\n"
                    "C-2,2022-2-999,2022-08-01,1000000,시험비,\n"
                    "C-3,2022-2-025,2022-08-01,1000000,시험비,\n", encoding="utf-8")
    code, _, stderr = cli("support", "import", str(path), "--now", "2022-08-02")
    assert code == 2
    refused = [line for line in stderr.splitlines()
               if re.search(r"cost_claims\.csv \d+행", line) or "알 수 없는 접수번호" in line]
    assert len(refused) == 2
    assert "2행, amount_krw 열, 값 '6000000.5'" in refused[0]
    assert "알 수 없는 접수번호입니다: '2022-2-999'" in refused[1]
    code, stdout, _ = cli("export", "claims", "--round", "2022-2")
    assert code == 0 and stdout.lstrip("\ufeff").splitlines()[1:] == [
        "C-3,2022-2-025,1000000,1000000,14000000,"]  # the good row was kept


def test_M2_a_huge_amount_is_one_refused_row_and_the_good_rows_are_kept(
        replayed: Path, tmp_path: Path) -> None:
    """Issue 22 item 4: it was 130 lines of traceback (OverflowError), exit 1, nothing kept."""
    path = tmp_path / "cost_claims.csv"
    path.write_text("claim_id,receipt_no,submitted_on,amount_krw,item,evidence\n"
                    "C-1,2022-2-025,2022-08-01,1000000000000000000000000000000,시험비,\n"
                    "C-2,2022-2-025,2022-08-01,1000000,시험비,\n", encoding="utf-8")
    code, _, stderr = cli("support", "import", str(path), "--now", "2022-08-02")
    assert code == 2 and "Traceback" not in stderr
    [refused] = [line for line in stderr.splitlines()
                 if re.search(r"cost_claims\.csv \d+행", line)]
    assert ("2행, amount_krw 열, 값 '1000000000000000000000000000000': 청구할 수 있는 "
            "최대 금액(1,000,000,000,000원)을 넘습니다") in refused
    code, stdout, _ = cli("export", "claims", "--round", "2022-2")
    assert code == 0 and stdout.lstrip("\ufeff").splitlines()[1:] == [
        "C-2,2022-2-025,1000000,1000000,14000000,"]


def test_events_dated_after_the_clock_are_refused_rows_in_every_kind(
        replayed: Path, tmp_path: Path) -> None:
    """Issue 22 item 5: a claim submitted in 2099 was decided, an evaluation held in 2099 was
    stored as a pass; every event that has happened is refused when after the clock."""
    folder = tmp_path / "support"
    folder.mkdir()
    (folder / "cost_claims.csv").write_text(
        "claim_id,receipt_no,submitted_on,amount_krw,item,evidence\n"
        "C-1,2022-2-025,2099-01-06,1000000,시험비,\n"
        "C-2,2022-2-025,2023-03-02,1000000,시험비,\n", encoding="utf-8")
    (folder / "evaluations.csv").write_text(
        "receipt_no,kind,held_on,result,note\n2022-2-002,interim,2099-07-01,pass,\n",
        encoding="utf-8")
    (folder / "cancellations.csv").write_text(
        "receipt_no,ground,decided_on,reason\n2022-2-034,abandonment,2023-03-06,포기서\n",
        encoding="utf-8")
    (folder / "changes.csv").write_text(
        "number,field,new_value,changed_on,reason\n22-IG0001,name,새이름,2023-12-01,상호 변경\n",
        encoding="utf-8")
    code, _, stderr = cli("support", "import", str(folder), "--now", "2023-03-05")
    assert code == 2 and "Traceback" not in stderr
    refused = " ".join(stderr.split())
    for where in ("cost_claims.csv 2행, submitted_on 열, 값 '2099-01-06'",
                  "evaluations.csv 2행, held_on 열, 값 '2099-07-01'",
                  "cancellations.csv 2행, decided_on 열, 값 '2023-03-06'",
                  "changes.csv 2행, changed_on 열, 값 '2023-12-01'"):
        assert f"{where}: 오늘(2023-03-05) 이후입니다" in refused, where
    assert "행 4건 거부, 1건 기록" in refused  # C-2 is kept
    code, stdout, _ = cli("export", "claims", "--round", "2022-2")
    assert code == 0 and [row.split(",")[0] for row in
                          stdout.lstrip("\ufeff").splitlines()[1:]] == ["C-2"]
