"""M4: invitations to events go to the lead and partner companies of selected projects with a
valid certificate, once per (event, company), through the office's form."""

from __future__ import annotations

import asyncio
import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.events import EventKind
from sangsaeng.errors import StepError
from sangsaeng.models import AuditEvent, OutboxMessage
from tests.integration.test_certificates import PACKAGE, _support

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _invite(now: str, title: str = "2023 나라장터 엑스포") -> object:
    from flows.invitations import invite_to_event

    return asyncio.run(invite_to_event(EventKind.NARAMARKET_EXPO, title, date(2023, 3, 22),
                                       "킨텍스 제1전시장", "https://expo.example/2023",
                                       "담당자", parse_instant(now)))


def _companies(receipts: set[str]) -> dict[str, str]:
    """BRN → e-mail of every participant of these applications, read from the package."""
    with (PACKAGE / "participants.csv").open(encoding="utf-8") as handle:
        return {r["brn"]: r["email"] for r in csv.DictReader(handle)
                if r["receipt_no"] in receipts}


def _invited() -> list[tuple[str, str]]:
    with session_scope(get_engine()) as session:
        return list(session.execute(select(OutboxMessage.subject_id, OutboxMessage.recipient)
                                    .where(OutboxMessage.kind == "support.invitation")).all())


@pytest.mark.usefixtures("replayed")
def test_M4_each_certified_company_is_invited_once_per_event(env: Path, tmp_path: Path
                                                              ) -> None:
    # the session's replay: 12 projects, each with certificates
    _support(tmp_path, "cancellations", "receipt_no,ground,decided_on,reason\n"
             "2022-2-034,abandonment,2022-12-01,포기\n", "2022-12-01T10:00:00+09:00")
    with (PACKAGE / "production.csv").open(encoding="utf-8") as handle:
        certified = {r["receipt_no"] for r in csv.DictReader(handle)} - {"2022-2-034"}
    expected = _companies(certified)  # leads and partners of the 11 valid projects
    done = _invite("2023-01-10T10:00:00+09:00")
    invited = _invited()
    assert done.invited == len(expected) == len(invited)  # type: ignore[attr-defined]
    assert {s.partition(":")[2] for s, _ in invited} == set(expected)  # once per company
    only_cancelled = set(_companies({"2022-2-034"})) - set(expected)
    assert only_cancelled and not only_cancelled & {s.partition(":")[2] for s, _ in invited}
    with session_scope(get_engine()) as session:
        audit = session.scalars(select(AuditEvent.rule).where(
            AuditEvent.action == "invite")).all()
    assert audit == ["M4"]
    again = _invite("2023-01-11T10:00:00+09:00")  # the same event entered twice
    assert (again.invited, again.already) == (0, len(expected))  # type: ignore[attr-defined]
    assert len(_invited()) == len(expected)
    other = _invite("2023-01-11T10:00:00+09:00", "2023 조달 교육")  # another event
    assert other.invited == len(expected)  # type: ignore[attr-defined]
    # after the certificates expire (2025-07-20), nobody is invited to a new event
    later = _invite("2025-07-20T10:00:00+09:00", "2025 나라장터 엑스포")
    assert later.invited == 0  # type: ignore[attr-defined]


@pytest.mark.usefixtures("replayed")
def test_M4_an_event_link_must_be_a_web_address(env: Path) -> None:
    from flows.invitations import invite_to_event

    with pytest.raises(StepError, match="http"):
        asyncio.run(invite_to_event(EventKind.EDUCATION, "조달 교육", date(2023, 3, 22),
                                    "온라인", "javascript:alert(1)", "담당자"))
    assert _invited() == []
