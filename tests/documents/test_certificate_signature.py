"""Signed certificate PDFs (INTERFACES §6), read back as a buyer's tools read them: poppler's
`pdfsig` (`make browser` installs poppler-utils) validates the signature independently of
pyHanko, which made it."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sangsaeng.documents.certificate import PdfRenderer, render_all
from sangsaeng.documents.signing import DEMO_SUBJECT, SigningKeys, demo_pair, signing_keys
from sangsaeng.errors import DocumentError
from sangsaeng.settings import Settings
from tests.documents.test_certificate_pdf import DOC, TEMPLATES, run

OFFICE = "중소벤처기업부 공공조달 상생협력 시험기관"
DOC_DAY = datetime(2020, 1, 1, tzinfo=UTC)  # the office certificate's start


def pdfsig(pdf: Path) -> str:
    """pdfsig's report (it exits non-zero for a broken signature: the report says why)."""
    run("pdfsig", "-v")  # fails the test, saying how to install it, when it is missing
    return subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> SigningKeys:
    return demo_pair(tmp_path_factory.mktemp("signing") / "demo")


@pytest.fixture(scope="module")
def signed(demo: SigningKeys) -> PdfRenderer:
    return PdfRenderer(TEMPLATES, signing=demo)


def written(tmp_path: Path, data: bytes, name: str = "cert.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdfsig_says_the_whole_certificate_is_signed_validly_by_the_office(
        signed: PdfRenderer, tmp_path: Path) -> None:
    report = pdfsig(written(tmp_path, signed.render(DOC)))
    assert "Signature is Valid" in report, report
    assert f"Signer Certificate Common Name: {DEMO_SUBJECT}" in report, report
    assert "Total document signed" in report, report
    assert "Signing Time: Jun 29 2022 15:00:00" in report, report  # 2022-06-30 00:00 KST


def test_one_changed_byte_in_the_signed_range_breaks_the_signature(
        signed: PdfRenderer, tmp_path: Path) -> None:
    data = bytearray(signed.render(DOC))
    at = data.index(b"22-IG0001")  # inside the typst revision, which the signature covers
    data[at + 8] = ord("2")  # 22-IG0001 → 22-IG0002
    report = pdfsig(written(tmp_path, bytes(data)))
    assert "Signature is Valid" not in report, report
    assert "Digest Mismatch" in report, report


def test_signed_the_same_document_gives_the_same_bytes(signed: PdfRenderer,
                                                       demo: SigningKeys) -> None:
    first = signed.render(DOC)
    assert PdfRenderer(TEMPLATES, signing=demo).render(DOC) == first  # a rerun after a crash
    assert signed.render(replace(DOC, version=2)) != first
    assert list(render_all(TEMPLATES, [DOC, DOC], workers=2, signing=demo)) == [first, first]


def test_the_demo_pair_is_made_once_with_a_private_key(tmp_path: Path) -> None:
    keys = demo_pair(tmp_path / "demo")
    assert stat.S_IMODE(keys.key.stat().st_mode) == 0o600
    before = keys.key.read_bytes(), keys.cert.read_bytes()
    assert demo_pair(tmp_path / "demo") == keys
    assert (keys.key.read_bytes(), keys.cert.read_bytes()) == before
    subject = x509.load_pem_x509_certificate(before[1]).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEMO_SUBJECT


def test_processes_making_the_demo_pair_at_once_all_get_one_matching_pair(
        tmp_path: Path) -> None:
    folder, start, made = tmp_path / "signing" / "demo", threading.Barrier(6), []

    def make() -> None:
        start.wait()
        made.append(demo_pair(folder))

    threads = [threading.Thread(target=make) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 6 and len(set(made)) == 1
    assert os.listdir(folder.parent) == ["demo"]  # no temporary folder left
    PdfRenderer(TEMPLATES, signing=made[0])  # the key and the certificate are a pair


def _office_pair(folder: Path, passphrase: bytes) -> tuple[Path, Path]:
    """An office's own pair as a CA would hand it over: RSA, the key encrypted."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, OFFICE)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(DOC_DAY).not_valid_after(DOC_DAY.replace(year=2040))
            .sign(key, hashes.SHA256()))
    key_file, cert_file = folder / "office.key", folder / "office.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(passphrase)))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def test_the_office_key_from_the_settings_signs_and_the_reader_shows_the_office(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file, cert_file = _office_pair(tmp_path, b"s3cret-office")
    monkeypatch.setenv("SANGSAENG_SIGNING_KEY", str(key_file))
    monkeypatch.setenv("SANGSAENG_SIGNING_CERT", str(cert_file))
    monkeypatch.setenv("SANGSAENG_SIGNING_KEY_PASSPHRASE", "s3cret-office")
    keys = signing_keys(Settings(var_dir=tmp_path / "var"))
    pdf = PdfRenderer(TEMPLATES, signing=keys).render(DOC)
    report = pdfsig(written(tmp_path, pdf))
    assert "Signature is Valid" in report and f"Common Name: {OFFICE}" in report, report
    assert not (tmp_path / "var" / "signing").exists()  # no demo pair made
    assert PdfRenderer(TEMPLATES, signing=keys).render(DOC) == pdf  # RSA signs the same too


def test_a_wrong_passphrase_or_a_foreign_certificate_is_refused_in_korean(
        tmp_path: Path, demo: SigningKeys) -> None:
    key_file, cert_file = _office_pair(tmp_path, b"s3cret-office")
    with pytest.raises(DocumentError, match="SANGSAENG_SIGNING_KEY를 읽을 수 없습니다"):
        PdfRenderer(TEMPLATES, signing=SigningKeys(key_file, cert_file, b"wrong"))
    with pytest.raises(DocumentError, match="짝이 아닙니다"):
        PdfRenderer(TEMPLATES, signing=SigningKeys(demo.key, cert_file))


def test_a_key_without_its_certificate_is_a_settings_error(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from sangsaeng.errors import ConfigError
    from sangsaeng.settings import get_settings

    monkeypatch.setenv("SANGSAENG_SIGNING_KEY", str(tmp_path / "office.key"))
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="SANGSAENG_SIGNING_CERT는 함께 설정합니다"):
            get_settings()
    finally:
        get_settings.cache_clear()
