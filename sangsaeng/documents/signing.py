"""The key that signs certificate PDFs (INTERFACES §6): the office's, or a demo pair.

The office's key and certificate are PEM files named by SANGSAENG_SIGNING_KEY and
SANGSAENG_SIGNING_CERT (an encrypted key's passphrase from the environment only). On embedded
defaults a self-signed demo pair is made under `<var>/signing/demo/` on first use: EC P-256
(FIELD_NOTES "Signed PDFs": 22.3 ms CPU per signature against 95.5 ms with RSA-2048), the key
readable by its owner only. Two processes making it at once are safe: each writes a pair into
a folder of its own and renames the folder into place; the first rename wins and the other
process uses the winner's pair, so a key never meets another pair's certificate.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sangsaeng.errors import DocumentError
from sangsaeng.settings import Settings

DEMO_SUBJECT = "중소벤처기업부 공공조달 상생협력 (demo)"
DEMO_YEARS = 10  # valid until ten years after it is made
DEMO_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
KEY_FILE, CERT_FILE = "key.pem", "cert.pem"


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """Where the signing key and its certificate are (what a render worker is given)."""

    key: Path
    cert: Path
    passphrase: bytes | None = None
    demo: bool = False


def signing_keys(settings: Settings) -> SigningKeys:
    """The office's key and certificate from the settings, else the demo pair (made once)."""
    if settings.signing_key is not None and settings.signing_cert is not None:
        secret = settings.signing_key_passphrase
        return SigningKeys(settings.signing_key, settings.signing_cert,
                           secret.get_secret_value().encode() if secret else None)
    return demo_pair(settings.signing_dir / "demo")


def office_certificate(settings: Settings) -> x509.Certificate | None:
    """The certificate PDFs are signed with, without making a demo pair (None: none yet)."""
    if settings.signing_cert is not None:
        path, what = settings.signing_cert, "SANGSAENG_SIGNING_CERT"
    else:
        path, what = settings.signing_dir / "demo" / CERT_FILE, "시연용 서명 인증서"
        if not path.exists():
            return None
    return load_certificate(path, what)


def load_certificate(path: Path, what: str) -> x509.Certificate:
    """A PEM (or DER) certificate; an unreadable one is a DocumentError naming `what`."""
    try:
        data = path.read_bytes()
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (OSError, ValueError) as error:
        raise DocumentError(f"{what}을(를) 읽을 수 없습니다: "
                            f"{getattr(error, 'strerror', None) or error}") from error


def demo_pair(folder: Path) -> SigningKeys:
    """The demo key and self-signed certificate in `folder`, made on first use."""
    keys = SigningKeys(folder / KEY_FILE, folder / CERT_FILE, demo=True)
    if keys.key.exists() and keys.cert.exists():
        return keys
    temp = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.mkdir(parents=True, mode=0o700)
        _write_demo_pair(temp)
        try:
            temp.rename(folder)  # atomic; fails when another process's pair is already there
        except OSError as raced:
            if raced.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    except OSError as error:
        raise DocumentError(f"시연용 서명 키를 만들 수 없습니다: {error.strerror or error}"
                            ) from error
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    if not (keys.key.exists() and keys.cert.exists()):
        raise DocumentError("시연용 서명 키를 만들 수 없습니다: 서명 폴더에 다른 파일이 있습니다")
    return keys


def _write_demo_pair(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEMO_SUBJECT),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "KR")])
    start = DEMO_SINCE  # the demo replays past rounds: their PDFs are signed on their dates
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(datetime.now(UTC) + timedelta(days=365 * DEMO_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(folder / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    (folder / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
