"""`certificates verify --pdf FILE` (INTERFACES §6): is this PDF a certificate the office
issued, unchanged, and does the register still stand behind it?

The signature must be intact, cover the whole file and be made with the office's certificate
(or the demo one). The signed reason names the certificate and its version; the file must then
be byte for byte the PDF the register recorded for that version (its sha256), so the number,
lead company, product, partners and period printed in it are the register's. Last, that version
must be the current one and the certificate valid on the day asked about.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.serialization import Encoding
from sqlmodel import Session

from sangsaeng.certificate_register import facts_of
from sangsaeng.documents.sealing import read_signature
from sangsaeng.documents.signing import office_certificate
from sangsaeng.domain.certificates import CertificateStatus
from sangsaeng.domain.clock import format_day
from sangsaeng.models import Certificate, CertificateVersion
from sangsaeng.settings import Settings

_REASON = re.compile(r"확인서 (?P<number>\S+) \(제(?P<version>\d+)판\)")


@dataclass(frozen=True, slots=True)
class PdfVerdict:
    """The answer: valid or not, and one Korean line saying what was found."""

    valid: bool
    line: str


def check_pdf(session: Session, settings: Settings, data: bytes, today: date) -> PdfVerdict:
    """Checks a certificate PDF's signature and its facts against the register at `today`."""
    office = office_certificate(settings)
    reading = read_signature(data, office.public_bytes(Encoding.DER) if office else None)
    if reading.problem is not None:
        return PdfVerdict(False, reading.problem)
    named = _REASON.search(reading.reason)
    if named is None:
        return PdfVerdict(False, "서명에 확인서 번호가 없습니다: 이 제도의 확인서가 아닙니다")
    number, version = named["number"], int(named["version"])
    cert = session.get(Certificate, number)
    issued = session.get(CertificateVersion, (number, version))
    if cert is None or issued is None:
        return PdfVerdict(False, f"등록부와 다릅니다: {number} 제{version}판은 등록부에 없습니다")
    if hashlib.sha256(data).hexdigest() != issued.pdf_sha256:
        return PdfVerdict(False, f"등록부와 다릅니다: {number} 제{version}판으로 등록된 PDF와 "
                                 "내용이 다릅니다")
    return _standing(cert, version, today, reading.signer)


def _standing(cert: Certificate, version: int, today: date, signer: str) -> PdfVerdict:
    """Whether the register stands behind this version today (K4 reissue, K5a, K6a)."""
    if version != cert.version:
        return PdfVerdict(False, f"등록부와 다릅니다: {cert.number} 제{version}판은 "
                                 f"제{cert.version}판으로 재발급되었습니다")
    facts = facts_of(cert, today)
    if facts.status is CertificateStatus.CANCELLED:
        assert cert.cancelled_on is not None
        return PdfVerdict(False, f"취소된 확인서입니다 ({format_day(cert.cancelled_on)})")
    if facts.status is CertificateStatus.EXPIRED:
        return PdfVerdict(False, f"유효기간이 끝난 확인서입니다 ({format_day(cert.valid_to)}까지)")
    return PdfVerdict(True, f"유효한 확인서입니다: {cert.number} 제{version}판 · "
                            f"{cert.lead_name} · {cert.product_name} · {facts.period} · "
                            f"서명 {signer}")
