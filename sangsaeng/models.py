"""The program database (SQLModel). Business state lives here, never in Prefect's run history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from sangsaeng.domain.access import AccessAction
from sangsaeng.domain.certificates import CertificateStatus, Ground
from sangsaeng.domain.companies import Role
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult, ProposalState
from sangsaeng.domain.events import EventKind
from sangsaeng.domain.listing import FollowUpKind, MallStep
from sangsaeng.domain.outbox import OutboxState
from sangsaeng.domain.states import ApplicationState, RoundState
from sangsaeng.types import ExactDecimal, StrEnumType, UTCDateTime


def utcnow() -> datetime:
    """Wall-clock time for bookkeeping columns (business logic takes `now` as a parameter)."""
    return datetime.now(UTC)


class Round(SQLModel, table=True):
    """R1/R2: one call (공고 차수) with its frozen settings (R3)."""

    id: str = Field(primary_key=True, max_length=20)
    title: str
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    tracks: list[str] = Field(sa_type=JSON)
    support_years: int
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: RoundState = Field(default=RoundState.DRAFT, sa_type=StrEnumType(RoundState, 20),
                              index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def track_names(self) -> dict[str, str]:
        """The round's tracks by code, in Korean (`혁신성장`), from its frozen settings."""
        return {t: str(v.get("name", t)) for t, v in self.settings.get("tracks", {}).items()}

    def criterion_names(self) -> dict[str, str]:
        """The round's scoring items by key, in Korean (a BELOW_ITEM_FLOOR reason names one)."""
        return {c["key"]: c["name"] for items in self.settings.get("criteria", {}).values()
                for c in items}


class Company(SQLModel, table=True):
    """C1/C2: a company, identified by its BRN; the latest name seen, verbatim."""

    brn: str = Field(primary_key=True, max_length=12)
    name: str


class Application(SQLModel, table=True):
    """C5: one application (과제) of a round."""

    __table_args__ = (
        UniqueConstraint("round_id", "receipt_no", name="uq_application_receipt"),
        Index("ix_application_round_state", "round_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(foreign_key="round.id", max_length=20)
    receipt_no: str
    track: str = Field(max_length=20)
    product_name: str
    product_code: str = Field(max_length=10)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    state: ApplicationState = Field(default=ApplicationState.RECEIVED,
                                    sa_type=StrEnumType(ApplicationState, 24))
    reasons: str = Field(default="", description="§4 reason codes joined by ';'")
    missing_documents: list[list[str | None]] = Field(default_factory=list, sa_type=JSON)


class Participant(SQLModel, table=True):
    """C5: a lead (주관기업) or partner (협력기업) of an application, as given in it."""

    __table_args__ = (
        UniqueConstraint("application_id", "role", "seq", name="uq_participant_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    role: Role = Field(sa_type=StrEnumType(Role, 10))
    seq: int
    brn: str = Field(foreign_key="company.brn", max_length=12, index=True)
    name: str
    size: str = Field(max_length=10)
    founded_on: date
    representative: str
    email: str
    address: str
    direct_production: bool


class Document(SQLModel, table=True):
    """§4.6: a submitted document (brn empty = the application's own)."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    brn: str | None = Field(default=None, max_length=12)
    doc_type: str
    submitted_at: datetime = Field(sa_type=UTCDateTime)


class Reviewer(SQLModel, table=True):
    """A committee member (평가위원) of a round."""

    round_id: str = Field(foreign_key="round.id", primary_key=True, max_length=20)
    reviewer_id: str = Field(primary_key=True)
    name: str
    email: str


class Affiliation(SQLModel, table=True):
    """V3: a reviewer's past or current affiliation with a company."""

    __table_args__ = (
        UniqueConstraint("round_id", "reviewer_id", "brn", "until", name="uq_affiliation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(foreign_key="round.id", max_length=20, index=True)
    reviewer_id: str
    brn: str = Field(max_length=12)
    until: date | None = None


class Score(SQLModel, table=True):
    """V2: one reviewer's sheet for one application (criterion → score as exact text)."""

    __table_args__ = (UniqueConstraint("application_id", "reviewer_id", name="uq_score_sheet"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    reviewer_id: str
    scores: dict[str, str] = Field(sa_type=JSON)
    excluded: str | None = Field(default=None, max_length=20, description="V3/V4: why not used")


class Sanction(SQLModel, table=True):
    """§4.5: a participation ban (참여제한)."""

    __table_args__ = (UniqueConstraint("brn", "banned_until", name="uq_sanction"),)

    id: int | None = Field(default=None, primary_key=True)
    brn: str = Field(max_length=12, index=True)
    banned_until: date
    reason: str


class PriorCertificate(SQLModel, table=True):
    """§4.7: a certificate issued in an earlier round."""

    number: str = Field(primary_key=True, max_length=20)
    brn: str = Field(max_length=12, index=True)
    product_code: str = Field(max_length=10)
    valid_from: date
    valid_to: date


class ProductionConfirmation(SQLModel, table=True):
    """K1: a lead's production confirmed (생산 확인) — a certificate becomes due."""

    __table_args__ = (UniqueConstraint("application_id", "brn", name="uq_production"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    brn: str = Field(max_length=12)
    confirmed_at: datetime = Field(sa_type=UTCDateTime)


class Certificate(SQLModel, table=True):
    """K1–K4: a 상생협력 확인서 for one (selected application, lead), its current version.

    The K4 fields are frozen on it when issued and change only by a reissue (a new version,
    same number); `status` is `valid` or `cancelled` as stored — `expired` is read off the clock
    (K6a), never written.
    """

    __table_args__ = (
        UniqueConstraint("application_id", "brn", name="uq_certificate_lead"),
        UniqueConstraint("issue_year", "track_code", "seq", name="uq_certificate_seq"),
    )

    number: str = Field(primary_key=True, max_length=20)
    round_id: str = Field(foreign_key="round.id", max_length=20, index=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    brn: str = Field(max_length=12, index=True)
    issue_year: int
    track_code: str = Field(max_length=4)
    seq: int
    version: int = 1
    issued_on: date
    valid_from: date
    valid_to: date = Field(index=True)
    lead_name: str
    representative: str
    address: str
    product_code: str = Field(max_length=10)
    product_name: str
    partners: list[list[str]] = Field(default_factory=list, sa_type=JSON,
                                      description="K4: [name, BRN] per partner, in seq order")
    status: CertificateStatus = Field(default=CertificateStatus.VALID,
                                      sa_type=StrEnumType(CertificateStatus, 10))
    cancelled_on: date | None = None
    pdf_sha256: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CertificateVersion(SQLModel, table=True):
    """K4 reissue: every version of a certificate as issued (the current one included)."""

    number: str = Field(foreign_key="certificate.number", primary_key=True, max_length=20)
    version: int = Field(primary_key=True)
    issued_on: date
    fields: dict[str, Any] = Field(sa_type=JSON, description="the K4 fields of this version")
    change: str = Field(default="", description="field changed (reissue), empty for version 1")
    reason: str = ""
    pdf_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Cancellation(SQLModel, table=True):
    """K5/K5a: a selected project cancelled, with its legal ground (one per application)."""

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    round_id: str = Field(foreign_key="round.id", max_length=20, index=True)
    ground: Ground = Field(sa_type=StrEnumType(Ground, 24))
    decided_on: date
    reason: str
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ListingStep(SQLModel, table=True):
    """M1: a step of a certified product's 나라장터 종합쇼핑몰 listing, done on a date."""

    __table_args__ = (UniqueConstraint("number", "step", name="uq_listing_step"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(foreign_key="certificate.number", max_length=20, index=True)
    step: MallStep = Field(sa_type=StrEnumType(MallStep, 24), description="M1's step id")
    done_on: date
    evidence: str = Field(default="", description="catalog_number: the 8-digit 물품식별번호")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ListingFollowUp(SQLModel, table=True):
    """M1b/M1c: a reminder sent, or the escalation recorded, for a product's current step."""

    __table_args__ = (
        UniqueConstraint("number", "step", "kind", "on_day", name="uq_listing_follow_up"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(foreign_key="certificate.number", max_length=20, index=True)
    step: MallStep = Field(sa_type=StrEnumType(MallStep, 24))
    kind: FollowUpKind = Field(sa_type=StrEnumType(FollowUpKind, 12))
    on_day: date = Field(description="the dues run's KST day")
    days_in_step: int


class CostClaim(SQLModel, table=True):
    """M2: a claim for certification-cost support (가치창출) and its decision."""

    __table_args__ = (UniqueConstraint("round_id", "seq", name="uq_costclaim_seq"),)

    claim_id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(description="M2: the order the round's claims were decided in (from 1)")
    application_id: int = Field(foreign_key="application.id", index=True)
    round_id: str = Field(foreign_key="round.id", max_length=20, index=True)
    submitted_on: date
    amount_krw: int = Field(sa_type=BigInteger)
    item: str
    evidence: str = ""
    approved_krw: int = Field(sa_type=BigInteger)
    remaining_krw: int | None = Field(default=None, sa_type=BigInteger, description=(
        "cap left after this claim; none for a project outside M2 (NOT_ELIGIBLE_TRACK)"))
    reasons: str = Field(default="", description="M2 reason codes joined by ';'")
    decided_at: datetime = Field(sa_type=UTCDateTime)


class SupportEvent(SQLModel, table=True):
    """M4: an event the program invites certified companies to (exhibition, expo, training)."""

    __table_args__ = (UniqueConstraint("kind", "title", "held_on", name="uq_support_event"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: EventKind = Field(sa_type=StrEnumType(EventKind, 24))
    title: str
    held_on: date
    place: str
    link: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Evaluation(SQLModel, table=True):
    """M3: a performance evaluation (중간·연장·완료평가) of a selected project, and its result."""

    __table_args__ = (
        UniqueConstraint("application_id", "kind", "held_on", name="uq_evaluation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: EvaluationKind = Field(sa_type=StrEnumType(EvaluationKind, 12))
    held_on: date
    result: EvaluationResult = Field(sa_type=StrEnumType(EvaluationResult, 4))
    note: str = ""
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PendingCancellation(SQLModel, table=True):
    """M3/K5: the cancellation a failed evaluation proposes, until the office decides it."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", unique=True)
    ground: Ground = Field(default=Ground.FAILED_EVALUATION, sa_type=StrEnumType(Ground, 24))
    proposed_on: date
    state: ProposalState = Field(default=ProposalState.PENDING,
                                 sa_type=StrEnumType(ProposalState, 10))
    decided_on: date | None = None
    decided_by: str = ""
    reason: str = ""


class Decision(SQLModel, table=True):
    """V6–V10: the committee's outcome for an eligible application: proposed, approved."""

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    round_id: str = Field(foreign_key="round.id", max_length=20, index=True)
    score: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    criterion_means: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    kept_reviewers: list[str] = Field(default_factory=list, sa_type=JSON)
    dropped_reviewers: list[str] = Field(default_factory=list, sa_type=JSON)
    proposed_status: ApplicationState = Field(sa_type=StrEnumType(ApplicationState, 20))
    status: ApplicationState | None = Field(default=None, sa_type=StrEnumType(ApplicationState, 20),
                                            description="after the chair (V10)")
    rank: int | None = None
    reasons: str = ""
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def pending_state(self) -> ApplicationState:
        """V10: the state this decision puts the application in: the chair's, else proposed."""
        return self.status or self.proposed_status


class AuditEvent(SQLModel, table=True):
    """Every change of a decision or a state: who, what, when, why, under which rule."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str
    round_id: str | None = Field(default=None, max_length=20, index=True)
    entity: str = Field(max_length=20)
    entity_id: str
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str | None = Field(default=None, max_length=24)
    reason: str = ""
    rule: str | None = Field(default=None, max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # sha256 over the previous row's hash in the round's chain and this row's content
    # (domain/audit.py): a row edited, removed or inserted afterwards breaks the chain
    hash: str | None = Field(default=None, max_length=64)


class AccessEntry(SQLModel, table=True):
    """접속기록 (issue 27): one view, download, output or destruction of personal data — who,
    when, from where, what, whose, why — chained by hash per KST month (domain/access.py)."""

    __tablename__ = "accesslog"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    month: str = Field(max_length=7, index=True, description="KST YYYY-MM: the row's chain")
    operator: str
    client: str = Field(max_length=64, description="the client's address, `local` for the CLI")
    action: AccessAction = Field(sa_type=StrEnumType(AccessAction, 10))
    what: str = Field(description="the file or the export, e.g. `2022-2/certificates.csv`")
    round_id: str | None = Field(default=None, max_length=20)
    subjects: str = Field(default="", description="receipt numbers (up to domain.access.LISTED)")
    subject_count: int = 0
    reason: str = ""
    hash: str = Field(max_length=64)


class MailBody(SQLModel, table=True):
    """A rendered notice (subject, text, HTML), stored once per distinct content.

    A broadcast's body is the same for every company: one row serves 100,000 messages.
    """

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True, description="sha256 of kind+lang+content")
    kind: str = Field(max_length=60)
    lang: str = Field(default="ko", max_length=8)
    subject: str
    text: str
    html: str
    attachments: list[dict[str, str]] = Field(
        default_factory=list, sa_type=JSON,
        description="files sent with the body: filename, path (under the var dir), sha256, "
                    "content_type")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A notice owed to someone, recorded with the state change that owes it (ARCHITECTURE).

    pending → sending → sent | failed. Rendered when created (`body_id`); `message_id` is
    derived from the row's key, so a retry after a crash carries the same Message-ID.
    """

    __table_args__ = (
        UniqueConstraint(
            "round_id", "kind", "subject_type", "subject_id", "recipient", "resend",
            name="uq_outbox_notice",
        ),
        Index("ix_outbox_due", "state", "round_id", "next_attempt_at"),  # claim, per round
        Index("ix_outbox_claim", "state", "next_attempt_at"),  # claim, all rounds
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(foreign_key="round.id", max_length=20)
    kind: str = Field(max_length=60)
    subject_type: str = Field(max_length=20)
    subject_id: str
    recipient: str
    recipient_name: str = ""
    resend: int = Field(default=0, description="0 = the notice; n = the office's n-th resend")
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    body_id: int | None = Field(default=None, foreign_key="mailbody.id", index=True)
    message_id: str | None = Field(default=None, unique=True)
    unsubscribe: str | None = Field(default=None, description="List-Unsubscribe token (broadcast)")
    state: OutboxState = Field(default=OutboxState.PENDING, sa_type=StrEnumType(OutboxState, 10))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=32,
                                    description="the holder of the lease (fences its writes)")
    last_reply: str = ""
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RegisteredCompany(SQLModel, table=True):
    """The company registry that open calls are broadcast to (companies.csv)."""

    brn: str = Field(primary_key=True, max_length=12)
    name: str
    email: str
    opted_in: bool = True
    unsubscribe_token: str = Field(max_length=40, unique=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MailSuppression(SQLModel, table=True):
    """An address that a server refused permanently (5xx): nothing more is sent to it."""

    address: str = Field(primary_key=True)
    reply: str
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    outbox_id: int | None = None


class StoredFile(SQLModel, table=True):
    """A file every worker can reach (issue 24 item 4; sangsaeng/blobs.py): its bytes in the
    program database, named by their sha256. `<var>/` holds copies that a worker may lose."""

    __tablename__ = "storedfile"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_type=BigInteger)
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KeptUpload(SQLModel, table=True):
    """A round's files as received — an upload of the office app, or a package a run read
    from a path — by name and digest (the bytes are StoredFile's)."""

    __tablename__ = "keptupload"
    __table_args__ = (UniqueConstraint("round_id", "name", name="uq_keptupload_name"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(max_length=20, index=True)
    kind: str = Field(max_length=10, description="package | support (services/uploads.Kind)")
    name: str = Field(description="the inbox folder's name: `<time>-<kind>`")
    files: dict[str, str] = Field(default_factory=dict, sa_type=JSON,
                                  description="file name → sha256")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model: typed column expressions for queries (`t.c.state == …`)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


ROUNDS = table_of(Round)
APPLICATIONS = table_of(Application)
PARTICIPANTS = table_of(Participant)
DOCUMENTS = table_of(Document)
REVIEWERS = table_of(Reviewer)
AFFILIATIONS = table_of(Affiliation)
SCORES = table_of(Score)
SANCTIONS = table_of(Sanction)
PRIOR_CERTIFICATES = table_of(PriorCertificate)
PRODUCTION = table_of(ProductionConfirmation)
CERTIFICATES = table_of(Certificate)
CERTIFICATE_VERSIONS = table_of(CertificateVersion)
CANCELLATIONS = table_of(Cancellation)
LISTING_STEPS = table_of(ListingStep)
LISTING_FOLLOW_UPS = table_of(ListingFollowUp)
COST_CLAIMS = table_of(CostClaim)
SUPPORT_EVENTS = table_of(SupportEvent)
EVALUATIONS = table_of(Evaluation)
PENDING_CANCELLATIONS = table_of(PendingCancellation)
DECISIONS = table_of(Decision)
AUDIT = table_of(AuditEvent)
ACCESS_LOG = table_of(AccessEntry)
OUTBOX = table_of(OutboxMessage)
MAIL_BODIES = table_of(MailBody)
REGISTRY = table_of(RegisteredCompany)
SUPPRESSIONS = table_of(MailSuppression)
STORED_FILES = table_of(StoredFile)
KEPT_UPLOADS = table_of(KeptUpload)
