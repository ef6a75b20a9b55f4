"""A project after the selection, found by its receipt number (INTERFACES §5): the one lookup
every after-selection input uses (production K1, cancellations K5, cost claims M2, listing
M1, evaluations M3), with one rule.

Receipt numbers carry the round (2022-2-002) and have never been seen twice; one found in
several rounds is refused, naming the rounds, rather than guessing which project is meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from sangsaeng.domain.states import ApplicationState
from sangsaeng.models import APPLICATIONS

A = APPLICATIONS.c


@dataclass(frozen=True, slots=True)
class Project:
    """An application as the after-selection inputs need it."""

    id: int
    round_id: str
    receipt_no: str
    state: ApplicationState
    track: str
    product_name: str


@dataclass(frozen=True, slots=True)
class NoProject:
    """Why a receipt number names no project to act on: no round holds it (`rounds` empty),
    or several do (receipt numbers carry the round, 2022-2-002: never seen twice)."""

    receipt_no: str
    rounds: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.rounds:
            return f"알 수 없는 접수번호입니다: {self.receipt_no!r}"
        return (f"접수번호 {self.receipt_no!r}의 신청이 여러 회차에 있습니다 "
                f"({', '.join(self.rounds)})")


def project_by_receipt(session: Session, receipt_no: str) -> Project | NoProject:
    """The application with this receipt number, or why there is none to act on: unknown, or
    in several rounds (refused, naming them)."""
    apps = session.execute(select(A.id, A.round_id, A.state, A.track, A.product_name).where(
        A.receipt_no == receipt_no).order_by(A.round_id)).all()
    if len(apps) != 1:
        return NoProject(receipt_no, tuple(app.round_id for app in apps))
    app = apps[0]
    return Project(app.id, app.round_id, receipt_no, app.state, app.track, app.product_name)
