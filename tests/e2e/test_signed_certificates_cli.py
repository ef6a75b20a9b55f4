"""Issue 25, items 4 and 5, on the 2022-2 replay (the session's one `round run`, copied): every
certificate PDF is signed (poppler's `pdfsig` says so), `certificates verify --pdf` agrees with
it and with the register, a reissued PDF is signed too, and the QR code carries
SANGSAENG_VERIFY_URL + number; on embedded defaults the issuance says the QR opens only here."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.config import load_program
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.certificates import ReissueField
from sangsaeng.errors import StepError
from sangsaeng.io.after_selection import ChangeInput
from sangsaeng.models import Certificate, Round
from sangsaeng.services.certificates import Printer, reissue
from sangsaeng.settings import get_settings
from tests.documents.test_certificate_pdf import run
from tests.documents.test_certificate_signature import pdfsig
from tests.e2e.test_cli import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")

KST_NOON = datetime.fromisoformat("2022-10-05T12:00:00+09:00")
PUBLIC = "https://verify.example.go.kr/certificates/"


@pytest.fixture
def replayed(env: Path, replayed_cli: tuple[int, str, str]) -> Path:
    code, stdout, _ = replayed_cli
    assert code == 0 and "29 certificate(s) issued" in stdout
    return env


def pdf_of(var: Path, number: str, version: int = 1) -> Path:
    return var / "certificates" / "2022-2" / f"{number}-v{version}.pdf"


def verify_pdf(pdf: Path, now: str | None = "2023-01-01") -> tuple[int, str, str]:
    return cli("certificates", "verify", "--pdf", str(pdf), *(["--now", now] if now else []))


def test_pdfsig_finds_every_certificate_signed_by_the_office(replayed: Path) -> None:
    pdfs = sorted((replayed / "certificates" / "2022-2").glob("*.pdf"))
    assert len(pdfs) == 29
    for pdf in pdfs:
        report = pdfsig(pdf)
        assert "Signature is Valid" in report and "Total document signed" in report, pdf.name
        assert "중소벤처기업부 공공조달 상생협력 (demo)" in report, pdf.name


def test_verify_pdf_agrees_with_pdfsig_on_a_valid_and_a_changed_pdf(replayed: Path,
                                                                     tmp_path: Path) -> None:
    issued = pdf_of(replayed, "22-MP0007")
    code, stdout, stderr = verify_pdf(issued)
    assert (code, stderr) == (0, ""), stderr
    assert stdout.count("\n") == 1 and "유효한 확인서입니다: 22-MP0007 제1판" in stdout
    assert "아아가시스템" in stdout and "20220720 ~ 20250719" in stdout
    data = bytearray(issued.read_bytes())
    at = data.index(b"/Author")  # inside the typst revision, which the signature covers
    data[at + 1] = ord("B")
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    assert "Digest Mismatch" in pdfsig(changed)
    code, stdout, stderr = verify_pdf(changed)
    assert (code, stdout) == (4, "") and "서명이 손상되었습니다" in stderr, stderr


def test_verify_pdf_says_expired_unsigned_or_signed_by_another_key(replayed: Path,
                                                                   tmp_path: Path) -> None:
    code, _, stderr = verify_pdf(pdf_of(replayed, "22-MP0007"), now="2025-07-20")
    assert code == 4 and "유효기간이 끝난 확인서입니다 (2025년 7월 19일(토)까지)" in stderr, stderr
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(pdf_of(replayed, "22-MP0007").read_bytes().split(b"%%EOF")[0] +
                         b"%%EOF\n")  # the typst revision alone, before the signature
    code, _, stderr = verify_pdf(unsigned)
    assert code == 4 and "서명이 없습니다" in stderr, stderr
    for demo in (replayed / "signing" / "demo").iterdir():
        demo.unlink()  # the office's pair replaced: another key signs from now on
    (replayed / "signing" / "demo").rmdir()
    get_settings.cache_clear()
    _reprint("22-MP0008")
    code, _, stderr = verify_pdf(pdf_of(replayed, "22-MP0008"))  # signed, not as registered
    assert code == 4 and "등록부와 다릅니다: 22-MP0008 제1판으로 등록된 PDF와 내용이 다릅니다" \
        in stderr, stderr
    code, _, stderr = verify_pdf(pdf_of(replayed, "22-MP0007"))
    assert code == 4 and "이 기관의 인증서로 서명되지 않았습니다" in stderr, stderr


def _reprint(number: str) -> Path:
    """Print a certificate's current version again as issuance prints it (the settings of
    now), through the service's printer; returns the file."""
    settings = get_settings()
    with session_scope(get_engine()) as session:
        cert = session.get(Certificate, number)
        rnd = session.get(Round, "2022-2")
        assert cert is not None and rnd is not None
        printer = Printer(settings, load_program(settings.config_dir))
        [(_, _)] = list(printer.print_all([cert], rnd.track_names(), "reissue", session))
        return printer.path(cert)


def test_a_reissued_pdf_is_signed_and_the_earlier_one_no_longer_verifies(
        replayed: Path) -> None:
    settings = get_settings()
    change = ChangeInput("22-IG0001", ReissueField.NAME, "주식회사 새이름", date(2022, 10, 4),
                         "상호 변경")
    with session_scope(get_engine()) as session:
        done = reissue(session, [change], Printer(settings, load_program(settings.config_dir)),
                       now=KST_NOON, actor="test")
    assert done.recorded == ["22-IG0001 v2 (name)"]
    report = pdfsig(pdf_of(replayed, "22-IG0001", 2))
    assert "Signature is Valid" in report and "Signing Time: Oct 04 2022 15:00:00" in report
    code, stdout, _ = verify_pdf(pdf_of(replayed, "22-IG0001", 2))
    assert code == 0 and "22-IG0001 제2판 · 주식회사 새이름" in stdout
    code, _, stderr = verify_pdf(pdf_of(replayed, "22-IG0001", 1))
    assert code == 4 and "등록부와 다릅니다: 22-IG0001 제1판은 제2판으로 재발급되었습니다" in stderr


def test_the_qr_carries_the_public_verification_address(
        replayed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGSAENG_VERIFY_URL", PUBLIC)
    get_settings.cache_clear()
    pdf = _reprint("22-MP0007")
    image = tmp_path / "page"
    run("pdftoppm", "-r", "150", "-png", "-singlefile", pdf, image)
    assert run("zbarimg", "--raw", "-q", f"{image}.png").strip() == f"{PUBLIC}22-MP0007"
    assert "Signature is Valid" in pdfsig(pdf)


def test_issuance_on_defaults_says_the_qr_opens_only_on_this_machine(
        replayed_cli: tuple[int, str, str]) -> None:
    _, stdout, _ = replayed_cli
    said = " ".join(stdout.split())
    assert ("확인서 QR 코드의 확인 주소(http://127.0.0.1:4202/certificates/)는 이 컴퓨터에서만 "
            "열립니다") in said, stdout
    assert "SANGSAENG_VERIFY_URL에 공개 주소를 설정하세요" in said


@pytest.mark.parametrize(("url", "allowed", "refused"), [
    (None, False, "이 컴퓨터에서만 열립니다"),
    ("http://localhost:4202/certificates/", False, "이 컴퓨터에서만 열립니다"),
    ("https://10.1.2.3/certificates/", False, "내부망에서만 열립니다"),
    ("https://10.1.2.3/certificates/", True, None),
    (PUBLIC, False, None),
], ids=["default", "localhost", "private", "private-allowed", "public"])
def test_a_served_installation_refuses_a_qr_nobody_else_can_open(
        replayed: Path, monkeypatch: pytest.MonkeyPatch, url: str | None, allowed: bool,
        refused: str | None) -> None:
    if url:
        monkeypatch.setenv("SANGSAENG_VERIFY_URL", url)
    if allowed:
        monkeypatch.setenv("SANGSAENG_ALLOW_LOCAL_VERIFY_URL", "true")
    get_settings.cache_clear()
    settings = get_settings()
    printer = Printer(settings, load_program(settings.config_dir), served=True)
    change = ChangeInput("22-VC0001", ReissueField.REPRESENTATIVE, "김새롬", date(2022, 10, 4),
                         "대표이사 변경")
    with session_scope(get_engine()) as session:
        if refused is None:
            assert reissue(session, [change], printer, now=KST_NOON, actor="test").recorded
            return
        with pytest.raises(StepError) as raised:
            reissue(session, [change], printer, now=KST_NOON, actor="test")
        version = session.scalar(select(Certificate.version).where(
            Certificate.number == "22-VC0001"))
    assert refused in str(raised.value) and "SANGSAENG_VERIFY_URL" in str(raised.value)
    assert "SANGSAENG_ALLOW_LOCAL_VERIFY_URL=true" in str(raised.value)
    assert version == 1 and not pdf_of(replayed, "22-VC0001", 2).exists()


def test_the_office_digest_flags_a_qr_that_opens_only_here(
        replayed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sangsaeng.dashboard import office_digest_markdown

    with session_scope(get_engine()) as session:
        digest = office_digest_markdown(session, date(2022, 8, 1))
    assert "확인서 QR 코드의 확인 주소" in digest and "이 컴퓨터에서만 열립니다" in digest
    assert "SANGSAENG_VERIFY_URL에 공개 주소를 설정하세요" in digest
    monkeypatch.setenv("SANGSAENG_VERIFY_URL", PUBLIC)
    get_settings.cache_clear()
    with session_scope(get_engine()) as session:
        digest = office_digest_markdown(session, date(2022, 8, 1))
    assert "QR" not in digest and "| 2022-2 | 29 | 29 | 0 | 0 | 0 |" in digest
