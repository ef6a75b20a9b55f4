"""Cost-support claims (PROGRAM_RULES M2, INTERFACES §5) through the flows: the 2022-2 replay
with its cost_claims.csv gives expected/claims.csv exactly, each decision audited and sent to
the lead; a re-import changes nothing; bad rows refused one by one; a late claim is decided
against the cap left then; the typed form decides one claim."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import InputRefused
from sangsaeng.exports import claims_csv
from sangsaeng.models import AuditEvent, CostClaim, OutboxMessage
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import counts, read_csv

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
CLAIMS = ROUND_2022_2 / "support" / "cost_claims.csv"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"
IMPORT_NOW = "2022-09-08T10:00:00+09:00"
HEADER = "claim_id,receipt_no,submitted_on,amount_krw,item,evidence\n"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _flow(name: str) -> Any:
    import flows.claims
    import flows.support_import

    return getattr(flows.support_import if name == "support_import" else flows.claims, name)


def _import(path: Path, now: str = IMPORT_NOW) -> Any:
    return asyncio.run(_flow("support_import")(str(path), "test", True, parse_instant(now)))


def _export() -> str:
    with session_scope(get_engine()) as session:
        return claims_csv(session, "2022-2")


def _claims_file(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "cost_claims.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


@pytest.fixture
def decided(replayed: Any) -> Any:
    """The 2022-2 replay (the session's, copied), then its cost_claims.csv imported."""
    assert replayed.state == "support"
    return _import(CLAIMS)


def test_M2_2022_2_export_claims_equals_the_expected_file(decided: Any) -> None:
    assert decided.recorded == {"cost_claims": 6}
    expected = (ROUND_2022_2 / "expected" / "claims.csv").read_text(encoding="utf-8")
    text = _export()
    assert text.startswith("\ufeff")  # reports.to_csv: Excel opens the Korean text
    assert text.lstrip("\ufeff").replace("\r\n", "\n") == expected
    with session_scope(get_engine()) as session:
        audited = session.execute(select(AuditEvent.entity_id, AuditEvent.reason).where(
            AuditEvent.rule == "M2", AuditEvent.action == "decide")
            .order_by(AuditEvent.id)).all()
        notices = session.execute(select(OutboxMessage.subject_id, OutboxMessage.state).where(
            OutboxMessage.kind == "support.claim_decided")).all()
    assert [tuple(a) for a in audited] == [
        ("C-001", ""), ("C-002", ""), ("C-003", ""), ("C-004", "CAP_EXCEEDED"),
        ("C-005", "NOT_ELIGIBLE_TRACK"), ("C-006", "CAP_EXCEEDED")]
    # one lead per project in 2022-2: one notice per decision, delivered
    assert sorted(n.subject_id for n in notices) == [f"C-00{n}" for n in range(1, 7)]
    assert {n.state for n in notices} == {"sent"}


def test_M2_a_reimport_of_the_same_claims_changes_nothing(decided: Any) -> None:
    before, export = counts(), _export()
    again = _import(CLAIMS, "2022-09-09T10:00:00+09:00")
    assert again.recorded == {"cost_claims": 0}
    assert again.unchanged == {"cost_claims": 6}
    assert counts() == before and _export() == export


def test_M2_bad_claim_rows_are_refused_one_by_one_and_good_rows_decided(
        decided: Any, tmp_path: Path) -> None:
    path = _claims_file(tmp_path, (
        "C-001,2022-2-025,2022-08-01,6000000,KC 인증 시험비,영수증 2022-0801-01\n"  # unchanged
        "C-002,2022-2-025,2022-08-20,7500000,KTL 시험성적서 발급비,영수증 2022-0820-02\n"
        "C-101,2022-2-999,2022-09-08,1000000,시험비,\n"
        "C-102,2022-2-031,2022-09-08,\"6,0000\",시험비,\n"
        "C-103,2022-2-031,2022-09-31,1000000,시험비,\n"
        "C-104,2022-2-031,2022-09-08,\"4,000,000\",KC 인증 시험비,영수증 0908\n"))
    with pytest.raises(InputRefused) as refused:
        _import(path, "2022-09-10T10:00:00+09:00")
    lines = refused.value.refused
    assert len(lines) == 4 and refused.value.recorded == 1  # C-104 (2022-2-031) is decided
    assert any("C-002 청구는 이미 다른 내용으로 접수되었습니다: amount_krw 7000000 "
               "(이 행: 7500000)" in line for line in lines)
    assert any("알 수 없는 접수번호입니다: '2022-2-999'" in line for line in lines)
    assert any("5행, amount_krw 열, 값 '6,0000'" in line for line in lines)
    assert any("6행, submitted_on 열, 값 '2022-09-31'" in line for line in lines)
    rows = read_csv(_export())
    assert rows[-1] == ["C-104", "2022-2-031", "4000000", "4000000", "11000000", ""]
    assert rows[2] == ["C-002", "2022-2-025", "7000000", "7000000", "2000000", ""]


def test_M2_a_late_claim_is_decided_against_the_cap_left_then_by_the_form(
        decided: Any) -> None:
    submit = _flow("submit_cost_claim")
    clock = parse_instant("2022-09-20T10:00:00+09:00")
    # submitted before every decided claim of 2022-2-025, but decisions made are final
    done = asyncio.run(submit("C-000", "2022-2-025", date(2022, 7, 25), 1_000_000,
                              "KC 인증 시험비", "영수증 0725", "담당자", clock))
    assert done.recorded == {"cost_claims": 1}
    asyncio.run(submit("C-200", "2022-2-031", date(2022, 9, 19), 16_000_000, "KS 인증 심사비",
                       "", "담당자", clock))
    rows = read_csv(_export())
    assert [r[0] for r in rows[1:]] == [f"C-00{n}" for n in range(1, 7)] + ["C-000", "C-200"]
    assert rows[-2] == ["C-000", "2022-2-025", "1000000", "0", "0", "CAP_EXCEEDED"]
    assert rows[-1] == ["C-200", "2022-2-031", "16000000", "15000000", "0", "CAP_EXCEEDED"]
    with pytest.raises(InputRefused,
                       match="C-200 청구는 이미 다른 내용으로 접수되었습니다: amount_krw"):
        asyncio.run(submit("C-200", "2022-2-031", date(2022, 9, 19), 1_000, "KS 인증 심사비",
                           "", "담당자", clock))
    with session_scope(get_engine()) as session:
        total = session.scalar(select(func.sum(CostClaim.approved_krw)).where(
            CostClaim.round_id == "2022-2", CostClaim.reasons != "NOT_ELIGIBLE_TRACK"))
    assert total == 3 * 15_000_000  # 025, 028 and 031 each at the cap, never above
