"""Round-package rows — INTERFACES §2: the files of a package, their columns, and the typed row
each good line becomes. Plain data only; parsing lives in `values`, reading in `reader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

from sangsaeng.domain.companies import Role, Size
from sangsaeng.io.sources import RowError

SIZES: tuple[str, ...] = tuple(size.value for size in Size)  # C3
ROLES: tuple[str, ...] = tuple(role.value for role in Role)  # C5


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """applications.csv: one application (과제), C5."""

    receipt_no: str
    track: str
    product_name: str
    product_code: str
    submitted_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    """participants.csv: one lead or partner company of an application, C1–C5."""

    receipt_no: str
    role: str
    seq: int
    brn: str
    name: str
    size: str
    founded_on: date
    representative: str
    email: str
    address: str
    direct_production: bool
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """documents.csv: a submitted document; `brn` None = the application's own document."""

    receipt_no: str
    brn: str | None
    doc_type: str
    submitted_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    """reviewers.csv: a committee member."""

    reviewer_id: str
    name: str
    email: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class AffiliationRow:
    """affiliations.csv: a reviewer's tie to a company; `until` None = current (V3)."""

    reviewer_id: str
    brn: str
    until: date | None
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """scores.csv: one reviewer's scores of one application, criterion key → score (V2)."""

    receipt_no: str
    reviewer_id: str
    scores: dict[str, Decimal]
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class SanctionRow:
    """sanctions.csv: a participation ban (참여제한)."""

    brn: str
    banned_until: date
    reason: str
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class CertificateRow:
    """certificates.csv: a certificate issued before this round."""

    number: str
    brn: str
    product_code: str
    valid_from: date
    valid_to: date
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ProductionRow:
    """production.csv: a company's production confirmed for an application (K1)."""

    receipt_no: str
    brn: str
    confirmed_at: datetime
    file: str = field(default="", compare=False, kw_only=True)
    row: int = field(default=0, compare=False, kw_only=True)


@dataclass
class RoundPackage:
    """What a package holds: the good rows of each file, and every rejected row."""

    source: str
    applications: list[ApplicationRow] = field(default_factory=list)
    participants: list[ParticipantRow] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    reviewers: list[ReviewerRow] = field(default_factory=list)
    affiliations: list[AffiliationRow] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)
    sanctions: list[SanctionRow] = field(default_factory=list)
    certificates: list[CertificateRow] = field(default_factory=list)
    production: list[ProductionRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Number of rejected rows (a row with several bad values counts once)."""
        return len({(error.file, error.row) for error in self.errors})


@dataclass(frozen=True)
class CriterionSpec:
    """A review criterion (V1): its scores.csv column and its maximum."""

    key: str
    max: Decimal


# INTERFACES §2, in the order errors are reported. scores also needs one column per criterion.
COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "applications": ("receipt_no", "track", "product_name", "product_code", "submitted_at"),
        "participants": (
            "receipt_no",
            "role",
            "seq",
            "brn",
            "name",
            "size",
            "founded_on",
            "representative",
            "email",
            "address",
            "direct_production",
        ),
        "documents": ("receipt_no", "brn", "doc_type", "submitted_at"),
        "reviewers": ("reviewer_id", "name", "email"),
        "affiliations": ("reviewer_id", "brn", "until"),
        "scores": ("receipt_no", "reviewer_id"),
        "sanctions": ("brn", "banned_until", "reason"),
        "certificates": ("number", "brn", "product_code", "valid_from", "valid_to"),
        "production": ("receipt_no", "brn", "confirmed_at"),
    }
)
OPTIONAL = frozenset({"certificates", "production"})
# Columns whose XLSX date cells (midnight datetimes) read back as YYYY-MM-DD.
DATE_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "participants": ("founded_on",),
        "affiliations": ("until",),
        "sanctions": ("banned_until",),
        "certificates": ("valid_from", "valid_to"),
    }
)
