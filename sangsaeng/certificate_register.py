"""The certificate register (확인서 대장): read-only facts of the certificates — what `verify`,
`GET /certificates/<number>`, `export certificates` (INTERFACES §4) and the status artifact show.

The status is read at a date (K5a cancelled from the cancellation date, K6a expired from the
day after `valid_to`); the register stores no e-mail address, so none can leak from here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlmodel import Session

from sangsaeng import blobs
from sangsaeng.domain.brn import normalize_brn
from sangsaeng.domain.certificates import (
    CertificateStatus,
    parse_number,
    partners_text,
    period_text,
    status_on,
)
from sangsaeng.errors import StepError
from sangsaeng.models import APPLICATIONS, CERTIFICATE_VERSIONS, CERTIFICATES
from sangsaeng.settings import Settings

C = CERTIFICATES.c
CV = CERTIFICATE_VERSIONS.c
# INTERFACES §4: certificates.csv, one row per certificate, number order.
CERTIFICATE_COLUMNS = ("number", "brn", "lead_name", "representative", "address",
                       "product_code", "product_name", "partners", "valid_from", "valid_to",
                       "period", "status")


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """The public K4 facts of a certificate's current version, with its status at a date."""

    number: str
    status: CertificateStatus
    version: int
    issued_on: date
    valid_from: date
    valid_to: date
    period: str
    brn: str
    lead_name: str
    representative: str
    address: str
    product_code: str
    product_name: str
    partners: tuple[tuple[str, str], ...]
    round_id: str
    cancelled_on: date | None = None  # K5a: from this date on, the status is `cancelled`

    def as_json(self) -> dict[str, Any]:
        """`GET /certificates/<number>`: the public facts (no e-mail address is stored here)."""
        return {"number": self.number, "status": str(self.status), "version": self.version,
                "issued_on": self.issued_on.isoformat(),
                "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat(), "period": self.period,
                "product_code": self.product_code, "product_name": self.product_name,
                "lead_name": self.lead_name, "brn": self.brn,
                "representative": self.representative, "address": self.address,
                "partners": [f"{n}({b})" for n, b in self.partners], "round_id": self.round_id,
                "cancelled_on": self.cancelled_on.isoformat() if self.cancelled_on else None}


def facts_of(cert: Any, today: date) -> CertificateFacts:
    return CertificateFacts(
        cert.number, status_on(today, cert.valid_to, cert.cancelled_on), cert.version,
        cert.issued_on, cert.valid_from, cert.valid_to, period_text(cert.valid_from,
                                                                     cert.valid_to),
        cert.brn, cert.lead_name, cert.representative, cert.address, cert.product_code,
        cert.product_name, tuple((n, b) for n, b in cert.partners), cert.round_id,
        cert.cancelled_on)


# The verification page's two queries, built once (the public page answers many per second).
_BY_NUMBER = select(CERTIFICATES).where(C.number == bindparam("number"))
_VERSION_AT = (select(CV.version, CV.issued_on, CV.fields)
               .where(CV.number == bindparam("number"), CV.issued_on <= bindparam("day"))
               .order_by(CV.version.desc()).limit(1))


def facts_at(db: Session | Connection, number: str, day: date) -> CertificateFacts | None:
    """The certificate as it stood on `day`: the version current then (a later reissue not
    yet made) and its status that day; None when unknown or not yet issued on that day."""
    row = db.execute(_BY_NUMBER, {"number": number}).first()
    if row is None:
        return None
    facts = facts_of(row, day)
    if row.issued_on <= day:
        return facts
    then = db.execute(_VERSION_AT, {"number": number, "day": day}).first()
    if then is None:
        return None
    fields = then.fields
    return replace(
        facts, version=then.version, issued_on=then.issued_on,
        lead_name=fields["lead_name"], representative=fields["representative"],
        address=fields["address"], product_code=fields["product_code"],
        product_name=fields["product_name"],
        partners=tuple((n, b) for n, b in fields["partners"]))


def lookup(session: Session, query: str, today: date) -> list[CertificateFacts]:
    """`certificates verify NUMBER|BRN`: the matching certificates, in number order."""
    text = query.strip()
    if parse_number(text) is not None:
        where = C.number == text
    else:
        try:
            where = C.brn == normalize_brn(text)
        except ValueError:
            raise StepError(f"{text!r} is neither a certificate number (e.g. 22-IG0001) nor a "
                            "business registration number (XXX-XX-XXXXX)") from None
    return [facts_of(row, today) for row in session.execute(
        select(CERTIFICATES).where(where).order_by(C.number)).all()]


def of_round(session: Session, round_id: str, today: date) -> list[CertificateFacts]:
    """A round's certificates in number order (INTERFACES §4 certificates.csv)."""
    return [facts_of(row, today) for row in session.execute(
        select(CERTIFICATES).where(C.round_id == round_id).order_by(C.number)).all()]


def csv_row(f: CertificateFacts) -> list[str]:
    """INTERFACES §4: number, brn, lead_name, representative, address, product_code,
    product_name, partners, valid_from, valid_to, period, status."""
    return [f.number, f.brn, f.lead_name, f.representative, f.address, f.product_code,
            f.product_name, partners_text(f.partners), f.valid_from.isoformat(),
            f.valid_to.isoformat(), f.period, str(f.status)]




@dataclass(frozen=True, slots=True)
class Counts:
    """The office's figures of a round's certificates at a date."""

    issued: int
    valid: int
    expired: int
    cancelled: int
    expiring: int  # valid, ending within `horizon_days`


def counts(session: Session, round_id: str, today: date, horizon_days: int = 90) -> Counts:
    """Issued / valid / expired / cancelled, and valid ones ending within `horizon_days`."""
    rows = session.execute(select(C.valid_to, C.cancelled_on, func.count()).where(
        C.round_id == round_id).group_by(C.valid_to, C.cancelled_on)).all()
    return _tally(rows, today, horizon_days)


def counts_by_track(session: Session, today: date, horizon_days: int = 90
                    ) -> dict[tuple[str, str], Counts]:
    """M5: the counts at `today` per (round, track of the certificate's project)."""
    a = APPLICATIONS.c
    rows = session.execute(
        select(C.round_id, a.track, C.valid_to, C.cancelled_on, func.count())
        .join(APPLICATIONS, a.id == C.application_id)
        .group_by(C.round_id, a.track, C.valid_to, C.cancelled_on)).all()
    grouped: dict[tuple[str, str], list[Any]] = {}
    for round_id, track, *rest in rows:
        grouped.setdefault((round_id, track), []).append(rest)
    return {key: _tally(group, today, horizon_days) for key, group in grouped.items()}


def _tally(rows: Any, today: date, horizon_days: int) -> Counts:
    """K5a/K6a: each (valid_to, cancelled_on, n) row's status at `today`, summed."""
    by: dict[CertificateStatus, int] = dict.fromkeys(CertificateStatus, 0)
    expiring = 0
    horizon = today + timedelta(days=horizon_days)
    for valid_to, cancelled_on, n in rows:
        status = status_on(today, valid_to, cancelled_on)
        by[status] += n
        if status is CertificateStatus.VALID and valid_to <= horizon:
            expiring += n
    return Counts(sum(by.values()), by[CertificateStatus.VALID], by[CertificateStatus.EXPIRED],
                  by[CertificateStatus.CANCELLED], expiring)


def certified_rounds(session: Session) -> list[str]:
    """The rounds holding certificates, in id order."""
    return list(session.scalars(select(C.round_id).distinct().order_by(C.round_id)))


def pdf_file(db: Session | Connection, settings: Settings, number: str) -> Path:
    """`certificates pdf NUMBER`: the current version's file
    (`<var>/certificates/<round>/<number>-v<version>.pdf`), checked against its digest — made
    from the program database's copy where this var directory lacks it (blobs.py)."""
    row = db.execute(select(C.round_id, C.number, C.version, C.pdf_sha256, C.representative,
                            C.address).where(C.number == number.strip())).first()
    if row is None:
        raise StepError(f"no certificate {number.strip()!r}")
    path = Path(settings.certificates_dir / row.round_id / f"{row.number}-v{row.version}.pdf")
    if blobs.cached(db, row.pdf_sha256, path) is not None:
        return path
    if path.is_file():
        raise StepError(f"{path} is not the PDF issued for {row.number} v{row.version} "
                        "(its content changed since)")
    if row.representative == row.address == "":  # services/privacy.py destroyed it
        raise StepError(f"{row.number} 확인서 PDF는 보관 기간이 지나 파기되었습니다 "
                        "(destroyed after its retention period)")
    raise StepError(f"the PDF of {row.number} v{row.version} cannot be read ({path}: not "
                    "found, nor in the database)")
