"""Certificates (상생협력 확인서): issue (K1–K4, K2a), reissue on a change (K4), look up and
verify (K5a, K6a status at a clock), and the PDFs' files (INTERFACES §5).

A certificate's PDF is written before its row: a failure (disk full) rolls the transaction
back, so nothing is numbered without its file and the next run reuses the same numbers — no
gap, no duplicate. Re-running finds every confirmed lead certified and owes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from sangsaeng import blobs, crashpoints
from sangsaeng.config import ProgramConfig
from sangsaeng.documents.certificate import (
    CertificateDocument,
    pdf_path,
    render_all,
    write_pdf,
)
from sangsaeng.documents.signing import SigningKeys, signing_keys
from sangsaeng.domain.certificates import (
    CertificateStatus,
    ReissueField,
    next_sequences,
    number_of,
    period_text,
    validity,
)
from sangsaeng.domain.clock import format_day, kst_date
from sangsaeng.domain.companies import Role
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.errors import StepError
from sangsaeng.io.after_selection import ChangeInput
from sangsaeng.journal import Audit, Entry, Notice, move_round, owe_notices, record
from sangsaeng.mail.outbox import Attachment
from sangsaeng.models import (
    APPLICATIONS,
    CERTIFICATE_VERSIONS,
    CERTIFICATES,
    PARTICIPANTS,
    PRIOR_CERTIFICATES,
    PRODUCTION,
    Certificate,
    Round,
    utcnow,
)
from sangsaeng.progress import report
from sangsaeng.services.outcome import Outcome
from sangsaeng.settings import Settings

A, P, PR, C = APPLICATIONS.c, PARTICIPANTS.c, PRODUCTION.c, CERTIFICATES.c
CV = CERTIFICATE_VERSIONS.c
ISSUING_STATES = frozenset({RoundState.NOTIFIED, RoundState.CERTIFYING, RoundState.SUPPORT})
_FIELD_COLUMN = {ReissueField.NAME: "lead_name", ReissueField.REPRESENTATIVE: "representative",
                 ReissueField.ADDRESS: "address"}


@dataclass(frozen=True, slots=True)
class Due:
    """K1: a confirmed lead of a selected application, not yet certified."""

    application_id: int
    receipt_no: str
    track: str
    product_code: str
    product_name: str
    brn: str
    lead_name: str
    representative: str
    address: str
    email: str


@dataclass(slots=True)
class Issuance:
    """What an issuance run did: the numbers issued, confirmations giving no certificate."""

    numbers: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (why, the line shown)
    notices: int = 0
    address_warning: str | None = None  # the QR opens only here or on this network


def fields_of(cert: Certificate | Any) -> dict[str, Any]:
    """K4: the fields a certificate carries (JSON-ready)."""
    return {"number": cert.number, "lead_name": cert.lead_name,
            "representative": cert.representative, "address": cert.address,
            "product_code": cert.product_code, "product_name": cert.product_name,
            "partners": [list(p) for p in cert.partners],
            "valid_from": cert.valid_from.isoformat(), "valid_to": cert.valid_to.isoformat(),
            "period": period_text(cert.valid_from, cert.valid_to)}


class Printer:
    """Renders, signs and stores certificate PDFs (INTERFACES §5, §6) for a round's program
    settings. `served`: a served installation (a work pool's workers), where a QR that only
    this machine or its network can open is refused unless the office allows it."""

    def __init__(self, settings: Settings, program: ProgramConfig, *, served: bool = False
                 ) -> None:
        self.settings, self.program, self.served = settings, program, served
        self._signing: SigningKeys | None = None

    @property
    def signing(self) -> SigningKeys:
        """The key every PDF is signed with (the demo pair is made on first use)."""
        if self._signing is None:
            self._signing = signing_keys(self.settings)
        return self._signing

    def address_warning(self) -> str | None:
        """Item 4: one Korean line when the QR's address opens only here or on this network;
        in a served installation that is refused unless SANGSAENG_ALLOW_LOCAL_VERIFY_URL."""
        reach = self.settings.verify_url_reach()
        if reach is None:
            return None
        where = f"확인서 QR 코드의 확인 주소({self.settings.verify_base})는 {reach}에서만 열립니다"
        if self.served and not self.settings.allow_local_verify_url:
            raise StepError(f"{where}: 구매기관이 확인할 수 없어 발급하지 않았습니다. "
                            "SANGSAENG_VERIFY_URL에 공개 주소를 설정하세요 (내부망 전용으로 "
                            "쓰려면 SANGSAENG_ALLOW_LOCAL_VERIFY_URL=true)")
        return (f"{where}: 구매기관에 보내는 확인서라면 SANGSAENG_VERIFY_URL에 공개 주소를 "
                "설정하세요")

    def document(self, cert: Certificate, track_name: str) -> CertificateDocument:
        """The PDF's content for a certificate's current version."""
        return CertificateDocument(
            number=cert.number, version=cert.version, issued_on=cert.issued_on,
            valid_from=cert.valid_from, valid_to=cert.valid_to, lead_name=cert.lead_name,
            representative=cert.representative, address=cert.address,
            product_code=cert.product_code, product_name=cert.product_name,
            partners=tuple((name, brn) for name, brn in cert.partners), track_name=track_name,
            program_name=self.program.program.name, issuer=self.program.certificates.issuer,
            verify_url=self.settings.verification_address(cert.number))

    def path(self, cert: Certificate) -> Path:
        """Where the PDF of a certificate's current version is written."""
        return pdf_path(self.settings.var_dir, cert.round_id, cert.number, cert.version)

    def relative(self, cert: Certificate) -> str:
        """The PDF's path under the var dir (what an attachment names)."""
        return self.path(cert).relative_to(self.settings.var_dir).as_posix()

    def print_all(self, certs: Sequence[Certificate], track_names: dict[str, str],
                  step: str, session: Session) -> Iterator[tuple[Certificate, str]]:
        """Render and write each certificate's PDF, stored in the database too (every worker
        reads it there: sangsaeng/blobs.py); yields it with the file's sha256."""
        docs = [self.document(c, track_names.get(c.track_code, c.track_code)) for c in certs]
        for done, (cert, pdf) in enumerate(zip(certs, render_all(
                self.settings.templates_dir, docs, signing=self.signing), strict=True), start=1):
            sha = blobs.put(session, pdf)
            write_pdf(self.path(cert), pdf)
            report(step, done, len(certs))
            crashpoints.reach(f"{step}-after-pdf-written",
                              f"{cert.number}: {done} of {len(certs)} PDFs written")
            yield cert, sha

    def attachment(self, cert: Certificate, sha256: str) -> Attachment:
        """The PDF as a notice's attachment."""
        return Attachment(filename=f"{cert.number}-v{cert.version}.pdf",
                          path=self.relative(cert), sha256=sha256)


def _due(session: Session, rnd: Round, now: datetime
         ) -> tuple[list[Due], list[tuple[str, str]]]:
    """K1: confirmed leads of selected applications without a certificate, in (receipt number,
    lead seq) order (K2); and the confirmations that give none, with why."""
    lead = and_(P.application_id == PR.application_id, P.brn == PR.brn, P.role == Role.LEAD)
    rows = session.execute(
        select(A.id, A.receipt_no, A.track, A.product_code, A.product_name, A.state,
               PR.brn, PR.confirmed_at, P.seq, P.name, P.representative, P.address, P.email,
               C.number)
        .select_from(PRODUCTION.join(APPLICATIONS, A.id == PR.application_id)
                     .outerjoin(PARTICIPANTS, lead)
                     .outerjoin(CERTIFICATES, and_(C.application_id == PR.application_id,
                                                   C.brn == PR.brn)))
        .where(A.round_id == rnd.id)
        .order_by(A.receipt_no, P.seq)).all()
    due, skipped = [], []
    for r in rows:
        if r.number is not None:
            continue
        if r.state is not ApplicationState.SELECTED:
            skipped.append((f"application {r.state}", f"{r.receipt_no}: production confirmed "
                            f"but the application is {r.state}, not selected (K1)"))
        elif r.seq is None:
            skipped.append(("not a lead", f"{r.receipt_no}: production confirmed for a "
                            "company that is not one of its leads (K1)"))
        elif r.confirmed_at > now:
            skipped.append(("confirmed later", f"{r.receipt_no}: production confirmed only "
                            f"from {kst_date(r.confirmed_at)}: not yet"))
        else:
            due.append(Due(r.id, r.receipt_no, r.track, r.product_code, r.product_name, r.brn,
                           r.name, r.representative, r.address, r.email))
    return due, skipped


def _partners(session: Session, app_ids: Iterable[int]) -> dict[int, list[list[str]]]:
    """K4: each application's partners as [name, BRN], in seq order."""
    out: dict[int, list[list[str]]] = {}
    wanted = sorted(set(app_ids))
    for start in range(0, len(wanted), 2000):
        for app_id, name, brn in session.execute(
                select(P.application_id, P.name, P.brn)
                .where(P.application_id.in_(wanted[start:start + 2000]), P.role == Role.PARTNER)
                .order_by(P.application_id, P.seq)):
            out.setdefault(app_id, []).append([name, brn])
    return out


def _known_numbers(session: Session, year: int) -> list[str]:
    """K2a: the numbers already used in `year`, prior certificates (§4.7) included."""
    yy = f"{year % 100:02d}-%"
    return [*session.scalars(select(C.number).where(C.issue_year == year)),
            *session.scalars(select(PRIOR_CERTIFICATES.c.number)
                             .where(PRIOR_CERTIFICATES.c.number.like(yy)))]


def _number(due: Sequence[Due], rnd: Round, session: Session, today: date, support_years: int,
            partners: dict[int, list[list[str]]]) -> list[Certificate]:
    """K2/K2a/K3: number the due certificates in order, continuing each (year, track)."""
    highest = next_sequences(_known_numbers(session, today.year), today.year)
    period = validity(today, support_years)
    certs = []
    for d in due:
        code = rnd.settings["tracks"][d.track]["code"]
        highest[code] = seq = highest.get(code, 0) + 1
        certs.append(Certificate(
            number=number_of(today.year, code, seq), round_id=rnd.id,
            application_id=d.application_id, brn=d.brn, issue_year=today.year,
            track_code=code, seq=seq, version=1, issued_on=today,
            valid_from=period.valid_from, valid_to=period.valid_to, lead_name=d.lead_name,
            representative=d.representative, address=d.address, product_code=d.product_code,
            product_name=d.product_name, partners=partners.get(d.application_id, []),
            status=CertificateStatus.VALID, pdf_sha256=""))
    return certs


def issued_notice(rnd: Round, cert: Certificate, email: str, attachment: Attachment,
                  verify_url: str) -> Notice:
    """`certificate.issued` to the lead, with the PDF and the address where buyers verify it."""
    return Notice("certificate.issued", "certificate", cert.number, email, cert.lead_name, {
        "round_id": rnd.id, "round_title": rnd.title, "certificate_number": cert.number,
        "verify_url": verify_url,
        "company_name": cert.lead_name, "product_name": cert.product_name,
        "valid_from": format_day(cert.valid_from), "valid_to": format_day(cert.valid_to)},
        attachments=(attachment,))


def issue(session: Session, rnd: Round, printer: Printer, *, now: datetime, actor: str
          ) -> Issuance:
    """K1–K4: a certificate for every confirmed lead of a selected application not yet
    certified, with its PDF and `certificate.issued` notice; the round moves to `certifying`."""
    if rnd.state not in ISSUING_STATES:
        raise StepError(f"round {rnd.id} is {rnd.state}: certificates are issued after the "
                        "selection notice (K1)")
    due, skipped = _due(session, rnd, now)
    result = Issuance(skipped=skipped)
    if not due:
        return result
    result.address_warning = printer.address_warning()  # refuses before any number is taken
    today = kst_date(now)  # K3: the issue date is the clock's KST date
    certs = _number(due, rnd, session, today, rnd.support_years,
                    _partners(session, (d.application_id for d in due)))
    emails = {(d.application_id, d.brn): d.email for d in due}
    notices, versions, printed = [], [], []
    try:
        for cert, sha in printer.print_all(certs, rnd.track_names(), "certificate_issuance",
                                           session):
            printed.append(printer.path(cert))
            cert.pdf_sha256 = sha
            versions.append({"number": cert.number, "version": 1, "issued_on": today,
                             "fields": fields_of(cert), "change": "", "reason": "",
                             "pdf_sha256": sha, "created_at": utcnow()})
            notices.append(issued_notice(
                rnd, cert, emails[(cert.application_id, cert.brn)],
                printer.attachment(cert, sha), printer.settings.verification_address(cert.number)))
    except BaseException:  # e.g. the disk filled up: no PDF of a number that was not issued
        for path in printed:
            path.unlink(missing_ok=True)
        raise
    try:
        session.execute(insert(CERTIFICATES), [_row(c) for c in certs])
        session.execute(insert(CERTIFICATE_VERSIONS), versions)
    except IntegrityError:
        raise StepError(f"certificates of round {rnd.id} were issued by another run meanwhile; "
                        "nothing was written — run the step again") from None
    record(session, Audit(now, actor, rnd.id), (Entry(
        "certificate", c.number, "issue", "K1", "production confirmed",
        to_state=CertificateStatus.VALID,
        data={"receipt_no": d.receipt_no, "version": 1, "valid_from": str(c.valid_from),
              "valid_to": str(c.valid_to)}) for c, d in zip(certs, due, strict=True)))
    result.notices = owe_notices(session, rnd.id, notices)
    if rnd.state is RoundState.NOTIFIED:
        move_round(session, rnd, RoundState.CERTIFYING, at=now, actor=actor, rule="K1",
                   reason=f"{len(certs)} certificate(s) issued")
    crashpoints.reach("certificate_issuance-after-certificates-flushed",
                      f"{len(certs)} certificate(s) and their notices flushed, not committed")
    result.numbers = [c.number for c in certs]
    return result


def _row(cert: Certificate) -> dict[str, Any]:
    return cert.model_dump()


# --- reissue (K4) -------------------------------------------------------------------------

def _applied(session: Session, change: ChangeInput) -> bool:
    """Whether this very change (field, value, date) made a version already (re-import)."""
    done = session.scalars(select(CV.fields).where(
        CV.number == change.number, CV.change == change.field_name.value))
    return any(f.get("change", {}).get("new_value") == change.new_value
               and f.get("change", {}).get("changed_on") == change.changed_on.isoformat()
               for f in done)


def reissue(session: Session, changes: Sequence[ChangeInput], printer: Printer, *,
            now: datetime, actor: str) -> Outcome:
    """K4: a change of name, representative or address reissues the certificate: same number,
    version + 1, a new PDF and `certificate.reissued`; earlier versions are kept."""
    out = Outcome()  # recorded: the versions reissued
    if changes:
        printer.address_warning()  # a served installation refuses a QR nobody else can open
    for change in changes:
        cert = session.get(Certificate, change.number)
        if cert is None:
            out.refuse(change, f"알 수 없는 확인서 번호입니다: {change.number!r}")
            continue
        column = _FIELD_COLUMN[change.field_name]
        if cert.status == CertificateStatus.CANCELLED:
            out.refuse(change, f"{cert.number} 확인서는 취소되었습니다: 재발급하지 않습니다")
            continue
        if _applied(session, change) or getattr(cert, column) == change.new_value:
            out.unchanged.append(f"{cert.number} {change.field_name}")
            continue
        out.recorded.append(_reissue_one(session, cert, change, column, printer, now, actor))
    return out


def _reissue_one(session: Session, cert: Certificate, change: ChangeInput, column: str,
                 printer: Printer, now: datetime, actor: str) -> str:
    rnd = session.get(Round, cert.round_id)
    assert rnd is not None
    before = getattr(cert, column)
    setattr(cert, column, change.new_value)
    cert.version += 1
    cert.issued_on = kst_date(now)
    [(cert, sha)] = list(printer.print_all([cert], rnd.track_names(), "reissue", session))
    cert.pdf_sha256, cert.updated_at = sha, utcnow()
    session.execute(update(CERTIFICATES).where(C.number == cert.number).values(
        {column: change.new_value, "version": cert.version, "issued_on": cert.issued_on,
         "pdf_sha256": sha, "updated_at": cert.updated_at}))
    session.execute(insert(CERTIFICATE_VERSIONS), [{
        "number": cert.number, "version": cert.version, "issued_on": cert.issued_on,
        "fields": {**fields_of(cert), "change": {
            "field": change.field_name.value, "old_value": before,
            "new_value": change.new_value, "changed_on": change.changed_on.isoformat()}},
        "change": change.field_name.value, "reason": change.reason, "pdf_sha256": sha,
        "created_at": utcnow()}])
    record(session, Audit(now, actor, cert.round_id), [Entry(
        "certificate", cert.number, "reissue", "K4", change.reason,
        data={"version": cert.version, "field": change.field_name.value,
              "changed_on": change.changed_on.isoformat()})])
    email = session.scalar(select(P.email).where(
        P.application_id == cert.application_id, P.brn == cert.brn, P.role == Role.LEAD))
    owe_notices(session, cert.round_id, [Notice(
        "certificate.reissued", "certificate", f"{cert.number}-v{cert.version}", email or "",
        cert.lead_name, {"round_id": cert.round_id, "round_title": rnd.title,
                         "certificate_number": cert.number,
                         "verify_url": printer.settings.verification_address(cert.number),
                         "version": cert.version, "company_name": cert.lead_name,
                         "product_name": cert.product_name,
                         "changed_field": change.field_name.value, "reason": change.reason,
                         "valid_from": format_day(cert.valid_from),
                         "valid_to": format_day(cert.valid_to)},
        attachments=(printer.attachment(cert, sha),))])
    session.expunge(cert)
    return f"{cert.number} v{cert.version} ({change.field_name})"
