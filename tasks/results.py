"""What the round's tasks return: small, typed, and the same size for 40 or 40,000 applications.

Prefect publishes every task result as an event (FIELD_NOTES: ids and counts only); a list that
grows with the round is cut to `SAMPLE` items, with its full length beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sangsaeng.domain.states import RoundState
from sangsaeng.io.sources import RowError

SAMPLE = 20  # items of a list kept in a result; the rest is counted (and kept on disk)


@dataclass(frozen=True, slots=True)
class Opened:
    """open_call: the round registered (R1/R3) and its call published (R2)."""

    round_id: str
    opened: bool
    state: RoundState
    closes_at: datetime
    supplement_deadline: datetime


@dataclass(frozen=True, slots=True)
class Imported:
    """intake: rows added, corrected and unchanged by kind; rejected rows (a sample)."""

    added: dict[str, int]
    corrected: dict[str, int]
    unchanged: dict[str, int]
    rejected: int
    errors: tuple[str, ...] = ()
    errors_file: str | None = None  # every rejected row, when more than the sample
    state: RoundState = RoundState.OPEN
    source: str = ""  # the package read: under <var> relative to it (an upload), else as given


@dataclass(frozen=True, slots=True)
class Closed:
    """close_intake: whether intake closed now (T2), and the round's state."""

    closed: bool
    state: RoundState
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class Screened:
    """screening: applications moved by target state; how many wait for supplements (S1)."""

    moved: dict[str, int]
    waiting: int
    supplement_deadline: datetime | None
    state: RoundState


@dataclass(frozen=True, slots=True)
class Proposed:
    """committee_review: proposed placements by status; sheets excluded (V3/V4, a sample)."""

    proposed: dict[str, int]
    excluded_count: int
    excluded: tuple[tuple[str, str, str], ...]  # receipt, reviewer, why
    state: RoundState
    selected: tuple[str, ...] = field(default=())  # receipts proposed for selection (a sample)


@dataclass(frozen=True, slots=True)
class ChairRecorded:
    """The chair's decision (V10): approved with `changes` changes, or refused."""

    approved: bool
    changes: int
    state: RoundState


@dataclass(frozen=True, slots=True)
class Released:
    """selection_notice: applications released by status (V10)."""

    released: dict[str, int]
    state: RoundState


@dataclass(frozen=True, slots=True)
class Cancelled:
    """cancel_round: the round's cancellation (now or earlier)."""

    cancelled: bool
    at: datetime
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class Delivered:
    """A delivery run: outcomes by kind, and why it stopped, if it did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    stopped: str | None = None
    sent_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Issued:
    """certificate_issuance: the numbers issued per track (first…last, K2), and the
    confirmations giving no certificate by why (every one listed in `skipped_file`)."""

    issued: int
    ranges: dict[str, str]
    skipped: dict[str, int]
    skipped_file: str | None
    notices: int
    state: RoundState
    address_warning: str | None = None  # the QR opens only on this machine or its network


@dataclass(frozen=True, slots=True)
class SupportApplied:
    """After-selection inputs (a file or a form): per kind, what changed and what was refused."""

    recorded: dict[str, int]
    unchanged: dict[str, int]
    refused: tuple[RowError, ...]  # the first SAMPLE
    refused_count: int  # problems (a row may have several)
    refused_rows: int
    rejected_file: str | None = None
    rounds_to_issue: tuple[str, ...] = ()
    not_read: tuple[str, ...] = ()
    pending_cancellations: tuple[str, ...] = ()  # M3: receipts whose failed evaluation waits


@dataclass(frozen=True, slots=True)
class DuesDone:
    """The daily dues run: notices owed by kind (K6a, M1b, M3 `evaluation.due`) and listing
    steps escalated (M1c)."""

    day: str
    owed: dict[str, int]
    escalated: int = 0
