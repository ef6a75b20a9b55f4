"""`sangsaeng certificates …`, `sangsaeng support …` and `export certificates` as a user runs
them (INTERFACES §4/§5): exit 0 / 4, the PDF's bytes, one-line errors, nothing lost."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from sangsaeng.db import get_engine, session_scope
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def replayed(env: Path, replayed_cli: tuple[int, str, str]) -> Path:
    code, stdout, _ = replayed_cli  # the session's one `round run`, copied
    assert code == 0 and "29 certificate(s) issued" in stdout and "round 2022-2: support" in stdout
    return env


def test_verify_finds_by_number_and_brn_and_exits_4_on_none(replayed: Path) -> None:
    code, stdout, _ = cli("certificates", "verify", "22-TC0001", "--now", "2023-01-01")
    assert code == 0
    number, status, period, product, lead = stdout.strip().split("\t")
    assert (number, status, period) == ("22-TC0001", "valid", "20220720 ~ 20250719")
    assert product and lead
    code, stdout, _ = cli("certificates", "verify", "22-TC0001", "--now", "2025-07-20")
    assert code == 0 and "\texpired\t" in stdout
    code, by_brn, _ = cli("certificates", "verify", "6778197153", "--now", "2023-01-01")
    assert code == 0 and by_brn.startswith("22-TC0001\t")  # 2022-2-034's lead
    code, stdout, stderr = cli("certificates", "verify", "22-TC0099")
    assert (code, stdout) == (4, "") and "no certificate matches '22-TC0099'" in stderr
    code, _, stderr = cli("certificates", "verify", "not-a-number")
    assert code != 0 and stderr.count("\n") == 1 and "neither a certificate number" in stderr


def test_pdf_gives_the_bytes_attached_to_the_notice(replayed: Path, tmp_path: Path) -> None:
    out = tmp_path / "cert.pdf"
    code, _, stderr = cli("certificates", "pdf", "22-IG0001", "--out", str(out), "--reason",
                          "확인서 재발송")
    assert code == 0 and "wrote" in stderr
    issued = replayed / "certificates" / "2022-2" / "22-IG0001-v1.pdf"
    assert out.read_bytes() == issued.read_bytes() and out.read_bytes().startswith(b"%PDF")
    code, _, stderr = cli("certificates", "pdf", "22-IG0999")
    assert code != 0 and "no certificate '22-IG0999'" in stderr
    original = issued.read_bytes()
    issued.write_bytes(b"%PDF-1.7 tampered")  # the copy changed since it was sent
    code, _, stderr = cli("certificates", "pdf", "22-IG0001", "--out", str(out), "--reason",
                          "확인서 재발송")
    # the program database's bytes (issue 24 item 4), never the copy's; the copy made good
    assert code == 0 and out.read_bytes() == original and issued.read_bytes() == original
    issued.write_bytes(b"%PDF-1.7 tampered")
    with session_scope(get_engine()) as session:  # the database's copy gone too: refused
        session.execute(text("DELETE FROM storedfile WHERE sha256 = :sha"),
                        {"sha": hashlib.sha256(original).hexdigest()})
    code, _, stderr = cli("certificates", "pdf", "22-IG0001")
    assert code != 0 and "is not the PDF issued for 22-IG0001 v1" in stderr
    assert hashlib.sha256(b"").hexdigest() not in stderr


def test_export_certificates_is_interfaces_section_4(replayed: Path) -> None:
    code, stdout, _ = cli("export", "certificates", "--round", "2022-2", "--now", "2022-08-01",
                          "--reason", "확인서 대장 점검")
    assert code == 0
    lines = stdout.lstrip("\ufeff").splitlines()
    assert lines[0] == ("number,brn,lead_name,representative,address,product_code,"
                        "product_name,partners,valid_from,valid_to,period,status")
    assert len(lines) == 30 and lines[1].startswith("22-IG0001,")
    assert all(line.endswith(",2022-07-20,2025-07-19,20220720 ~ 20250719,valid")
               for line in lines[1:])


def test_support_import_keeps_good_rows_and_names_each_bad_one(
        replayed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "support"
    folder.mkdir()
    (folder / "changes.csv").write_text(
        "number,field,new_value,changed_on,reason\n"
        "22-TC0001,address,서울특별시 중구 세종대로 110,2022-09-01,본사 이전\n"
        "22-XX0001,address,어딘가,2022-09-01,없는 번호\n"
        "22-TC0001,colour,파랑,2022-09-01,없는 항목\n", encoding="utf-8")
    (folder / "listing.csv").write_text("receipt_no,brn,step,done_on,evidence\n",
                                        encoding="utf-8")
    code, stdout, stderr = cli("support", "import", str(folder), "--now", "2022-09-02")
    assert code == 2
    assert "알 수 없는 확인서 번호입니다: '22-XX0001'" in stderr
    assert "changes.csv 4행, field 열, 값 'colour'" in stderr
    code, stdout, _ = cli("certificates", "verify", "22-TC0001", "--now", "2022-09-02")
    assert code == 0
    code, stdout, _ = cli("export", "certificates", "--round", "2022-2", "--reason",
                          "주소 변경 확인")
    assert "서울특별시 중구 세종대로 110" in stdout  # the good row was kept (version 2)
    code, _, stderr = cli("support", "import", str(tmp_path / "nowhere"))
    assert code != 0 and stderr.count("\n") == 1 and "does not exist" in stderr


def test_dues_from_the_shell_remind_once_a_day(replayed: Path) -> None:
    code, stdout, _ = cli("support", "dues", "--now", "2025-04-20T09:00:00+09:00")
    assert code == 0 and "certificate.expiring 29" in stdout
    code, stdout, _ = cli("support", "dues", "--now", "2025-04-20T18:00:00+09:00")
    assert code == 0 and "certificate.expiring 0" in stdout
