"""The audit trail an inspector takes away and checks (issue 26 items 2 and 3; INTERFACES §6):
every recorded change of a round in order, and the recomputation of its hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from sqlmodel import Session

from sangsaeng.domain import audit
from sangsaeng.domain.clock import format_kst
from sangsaeng.errors import SangsaengError
from sangsaeng.exports import audit_rows


class ChainBroken(SangsaengError):
    """The audit chain does not hold from a row on: it, or one before it, was changed."""

    exit_code = 5


@dataclass(frozen=True)
class Checked:
    """How many rows were checked, in how many chains."""

    rows: int
    chains: int


def verify(session: Session, round_id: str | None = None) -> Checked:
    """Recompute the chain (the round's, or every round's): ChainBroken names the first row
    whose hash does not follow from the one before it and its own content."""
    row, count, chains = audit.first_break(audit_rows(session, round_id), "round_id")
    if row is not None:
        raise ChainBroken(
            f"감사 기록 #{row['id']} ({format_kst(row['at'].astimezone(UTC))} KST, "
            f"{row['action']} {row['entity']}:{row['entity_id']})에서 사슬이 끊깁니다: 이 행이 "
            f"바뀌었거나, 바로 앞의 행이 지워졌거나, 순서가 바뀌었습니다 "
            f"(회차 {row['round_id'] or '-'})")
    return Checked(count, chains)
