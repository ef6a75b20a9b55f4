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
    previous: dict[object, str] = {}
    count = 0
    for row in audit_rows(session, round_id):
        chain = row["round_id"]
        expected = audit.link(previous.get(chain, audit.GENESIS), row)
        if row["hash"] != expected:
            at = row["at"].astimezone(UTC)
            raise ChainBroken(
                f"감사 기록 #{row['id']} ({format_kst(at)} KST, {row['action']} "
                f"{row['entity']}:{row['entity_id']})에서 사슬이 끊깁니다: 이 행이 바뀌었거나, "
                f"바로 앞의 행이 지워졌거나, 순서가 바뀌었습니다 (회차 {chain or '-'})")
        previous[chain] = expected
        count += 1
    return Checked(count, len(previous))
