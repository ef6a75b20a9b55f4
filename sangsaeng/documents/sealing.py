"""Signing certificate PDFs (PAdES B-B, pyHanko) and reading a PDF's signature back.

A signature is an incremental update of the typst PDF: a reader shows the signer (the office's
certificate) and any later edit breaks it. The same PDF signed at the same time gives the same
bytes, as the unsigned PDF does (crash tests compare a killed-and-rerun issuance with an
undisturbed one byte for byte): the signing time is the certificate's issue date at 00:00 KST
(the PDF's creation time too), EC keys sign deterministically (RFC 6979) and the signed
revision's modification time is the signing time and its second document id is derived from
the first (pyHanko takes the wall clock and a random id).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning

from sangsaeng.documents.signing import SigningKeys, load_certificate
from sangsaeng.errors import DocumentError

with warnings.catch_warnings():
    # pyHanko 0.38 imports cryptography's DSA key type, which cryptography deprecates; no DSA
    # key is used here.
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    from asn1crypto import cms
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.signers.pdf_signer import PdfSigningSession
    from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD = "Signature1"
_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class _Signer(signers.SimpleSigner):
    """pyHanko's SimpleSigner, with the key loaded once, EC signatures deterministic, and the
    CMS container built by pyHanko once, then reused (below)."""

    def __init__(self, key: Any, cert: asn1_x509.Certificate) -> None:
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        super().__init__(signing_cert=cert, signing_key=asn1_keys.PrivateKeyInfo.load(der),
                         cert_registry=SimpleCertificateStore())  # type: ignore[no-untyped-call]
        self._key = key
        self._template: dict[tuple[str, bool], bytes] = {}

    async def async_sign(self, data_digest: bytes, digest_algorithm: str, dry_run: bool = False,
                         use_pades: bool = False, timestamper: Any = None,
                         signed_attr_settings: Any = None, is_pdf_sig: bool = True,
                         encap_content_info: Any = None) -> cms.ContentInfo:
        """The CMS of one PDF. Between two certificates only the document's digest and the
        signature differ, and building the container with asn1crypto costs about twice the
        rest of signing (bench/README.md): pyHanko builds the first one, the next ones are
        that one with the digest and the signature replaced (same bytes as pyHanko's)."""
        key = (digest_algorithm, use_pades)
        template = self._template.get(key)
        if template is None or dry_run or timestamper is not None or not is_pdf_sig:
            info = await super().async_sign(
                data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades,
                timestamper=timestamper, signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig, encap_content_info=encap_content_info)
            if not dry_run and timestamper is None and is_pdf_sig:
                self._template[key] = info.dump()
            return info
        info = cms.ContentInfo.load(template)
        signer_info = info["content"]["signer_infos"][0]
        attributes = signer_info["signed_attrs"]
        for attribute in attributes:
            if attribute["type"].native == "message_digest":
                attribute["values"] = [data_digest]
        # RFC 5652 §5.4: the signature is over the attributes' DER with the SET OF tag
        signed = b"\x31" + attributes.dump()[1:]
        signer_info["signature"] = self.sign_raw(signed, digest_algorithm)
        return info

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """RFC 6979 for EC keys (pyHanko draws a random nonce); others as pyHanko signs."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            algorithm = ec.ECDSA(_HASHES[digest_algorithm], deterministic_signing=True)
            return self._key.sign(data, algorithm)
        return super().sign_raw(data, digest_algorithm)


class _AtTime(signers.PdfSigner):
    """A PdfSigner whose signing time is given, not read from the clock (pyHanko 0.38 has no
    parameter for it)."""

    def __init__(self, meta: signers.PdfSignatureMetadata, signer: _Signer, at: datetime
                 ) -> None:
        super().__init__(meta, signer)
        self._at = at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False
                             ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at
        return session


class _PinnedModified(DocumentMetadata):
    """Document metadata whose modification time stays as given: pyHanko's writer sets it to
    'now' (the wall clock) on every write."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_modified" and value == "now":
            return
        super().__setattr__(name, value)


class _StableWriter(IncrementalPdfFileWriter):
    """The signed revision as a function of the PDF and the signing time: its modification
    time is `at`, its second document id derived from the first (pyHanko: random)."""

    def __init__(self, pdf: bytes, at: datetime) -> None:
        super().__init__(io.BytesIO(pdf))
        self._meta = _PinnedModified(last_modified=at)

    @classmethod
    def _handle_id(cls, prev: PdfFileReader) -> generic.ArrayObject:
        first = super()._handle_id(prev)[0]  # type: ignore[no-untyped-call]
        second = hashlib.sha256(b"sangsaeng signed " + first.original_bytes).digest()[:16]
        return generic.ArrayObject([first, generic.ByteStringObject(second)])


class PdfSealer:
    """Signs PDFs with one key and certificate; give each process its own."""

    def __init__(self, keys: SigningKeys) -> None:
        what = "시연용 서명 키" if keys.demo else "SANGSAENG_SIGNING_KEY"
        try:
            key = serialization.load_pem_private_key(keys.key.read_bytes(), keys.passphrase)
        except (OSError, ValueError, TypeError) as error:
            raise DocumentError(f"{what}를 읽을 수 없습니다 (파일, 형식 또는 암호: "
                                f"SANGSAENG_SIGNING_KEY_PASSPHRASE)") from error
        cert = load_certificate(keys.cert, "서명 인증서 (SANGSAENG_SIGNING_CERT)")
        public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*public) != cert.public_key().public_bytes(*public):
            raise DocumentError("SANGSAENG_SIGNING_KEY와 SANGSAENG_SIGNING_CERT가 짝이 아닙니다 "
                                "(인증서의 공개키가 그 키의 것이 아닙니다)")
        der = cert.public_bytes(serialization.Encoding.DER)
        self._signer = _Signer(key, asn1_x509.Certificate.load(der))
        self._reserved = 4096 + 2 * len(der)  # room for the CMS: no trial signature to size it

    def seal(self, pdf: bytes, *, at: datetime, reason: str) -> bytes:
        """`pdf` signed (PAdES) at `at`, with `reason` (what a reader shows) in the signature."""
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
            reason=reason)
        writer = _StableWriter(pdf, at)
        signing = _AtTime(meta, self._signer, at).async_sign_pdf(
            writer, bytes_reserved=self._reserved)
        out = _run(signing)
        assert isinstance(out, io.BytesIO)
        return out.getvalue()


def _run(coroutine: Any) -> Any:
    """Runs pyHanko's coroutine to its end, in a thread of its own when this one has a loop
    (a Prefect task in an async flow)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True, slots=True)
class SignatureReading:
    """What a PDF's signature says, before the register is asked."""

    problem: str | None  # why the signature does not hold, in Korean; None: it holds
    reason: str = ""  # the signed reason (names the certificate and its version)
    signer: str = ""  # the signer's name (its certificate's subject)


def read_signature(pdf: bytes, office_der: bytes | None) -> SignatureReading:
    """Checks the one signature of `pdf`: intact, covering the whole file, by the office's
    certificate (`office_der`)."""
    # imported here: the render workers, which only sign, need not hold them
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        found = reader.embedded_signatures
    except Exception:  # whatever a damaged file raises, the answer is the same
        return SignatureReading("PDF 파일을 읽을 수 없습니다")
    if len(found) != 1:
        return SignatureReading("서명이 없습니다" if not found else "서명이 여러 개입니다")
    sig = found[0]
    signer = sig.signer_cert.subject.human_friendly
    reason = str(sig.sig_object.get("/Reason", ""))
    trust = [asn1_x509.Certificate.load(office_der)] if office_der else []
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=trust))
    if not status.intact or not status.valid:
        return SignatureReading("서명이 손상되었습니다: 서명한 뒤에 내용이 바뀌었습니다",
                                reason, signer)
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureReading("서명 뒤에 내용이 덧붙어 있습니다", reason, signer)
    if office_der is None or sig.signer_cert.dump() != office_der:
        return SignatureReading(f"이 기관의 인증서로 서명되지 않았습니다 (서명자: {signer})",
                                reason, signer)
    return SignatureReading(None, reason, signer)

