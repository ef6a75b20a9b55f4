"""나라장터 종합쇼핑몰 listing support (PROGRAM_RULES M1, M1a–c; INTERFACES §5) through the
flows, on the 2022-2 replay and its `support/listing.csv`: the dues run's reminders and
escalations, `export listing`, the office digest, refused rows, and the typed form.

Expected values are worked out here from the rule text, not from the code under test."""

from __future__ import annotations

import asyncio
import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.errors import InputRefused
from sangsaeng.models import Application, AuditEvent, Certificate, ListingStep, OutboxMessage
from sangsaeng.services.listing import listing_csv
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import counts, read_csv

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
LISTING = ROUND_2022_2 / "support" / "listing.csv"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"  # K3: every certificate is valid from 2022-07-20
VALID_FROM = date(2022, 7, 20)
# M1, as the rule text lists it
CHECKLIST = ["bidder_registration", "catalog_number", "mas_qualification", "price_negotiation",
             "contract", "listed"]

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _flow(name: str):  # type: ignore[no-untyped-def]
    import flows.dues
    import flows.listing
    import flows.support_import

    module = {"support_import": flows.support_import, "support_dues": flows.dues}
    return getattr(module.get(name, flows.listing), name)


def _import(path: Path, now: str) -> object:
    return asyncio.run(_flow("support_import")(str(path), "test", False, parse_instant(now)))


def _dues(now: str) -> dict[str, int]:
    return asyncio.run(_flow("support_dues")(parse_instant(now)))  # type: ignore[no-any-return]


def _listing(rows: str, tmp_path: Path) -> Path:
    path = tmp_path / "listing.csv"
    path.write_text("receipt_no,brn,step,done_on,evidence\n" + rows, encoding="utf-8")
    return path


def _leads() -> dict[str, tuple[str, str]]:
    """Certificate number → its lead's (receipt number, BRN) (2022-2-021 has 18 leads)."""
    with session_scope(get_engine()) as session:
        return {number: (receipt, brn) for number, receipt, brn in session.execute(
            select(Certificate.number, Application.receipt_no, Certificate.brn).join(
                Application, Certificate.application_id == Application.id))}


def _number(receipt_no: str) -> str:
    """The certificate of a project with one lead."""
    [number] = [n for n, (receipt, _) in _leads().items() if receipt == receipt_no]
    return number


def _export(today: date) -> list[list[str]]:
    with session_scope(get_engine()) as session:
        return read_csv(listing_csv(session, "2022-2", today))


def _expected(today: date, reminders: dict[str, int], escalated: dict[str, str]
              ) -> dict[str, list[str]]:
    """M1/M1a from the rule text: the current step is the first of the checklist not done;
    its clock starts on the latest done_on, else valid_from; `listed` ends the checklist."""
    with LISTING.open(encoding="utf-8") as f:
        done: dict[tuple[str, str], dict[str, date]] = {}
        for row in csv.DictReader(f):
            done.setdefault((row["receipt_no"], row["brn"]), {})[row["step"]] = \
                date.fromisoformat(row["done_on"])
    out = {}
    for number, lead in _leads().items():
        steps, receipt = done.get(lead, {}), lead[0]
        if "listed" in steps:
            out[number] = [receipt, "listed", str(steps["listed"]), "", "0", ""]
            continue
        step = next(s for s in CHECKLIST if s not in steps)
        since = max(steps.values(), default=VALID_FROM)
        out[number] = [receipt, step, str(since), str((today - since).days),
                       str(reminders.get(receipt, reminders["*"])),
                       escalated.get(receipt, escalated["*"])]
    return out


@pytest.mark.usefixtures("replayed")
def test_M1_dues_remind_every_14_days_escalate_once_and_export_shows_it(env: Path) -> None:
    # M1b: nothing recorded, the clock runs from valid_from: 14 days on 2022-08-03
    assert _dues("2022-08-02T09:00:00+09:00")["listing.reminder"] == 0  # 13 days
    assert _dues("2022-08-03T09:00:00+09:00")["listing.reminder"] == 29
    before = counts()
    assert _dues("2022-08-03T15:00:00+09:00") == {
        "certificate.expiring": 0, "listing.reminder": 0, "evaluation.due": 0,
        "escalated": 0, "purged": 0}  # same day: nothing
    assert counts() == before
    assert _dues("2022-08-16T09:00:00+09:00")["listing.reminder"] == 0  # 13 days after
    assert _dues("2022-08-17T09:00:00+09:00")["listing.reminder"] == 29  # 14 days after
    done = _import(LISTING, "2022-09-21T08:00:00+09:00")
    assert done.recorded == {"listing": 9}  # type: ignore[attr-defined]
    # 2022-09-21: 26 untouched at bidder_registration, 63 days (reminded 35 days ago, M1c);
    # 2022-2-002 at mas_qualification since 08-10, 42 days, never reminded for that step;
    # 2022-2-034 at catalog_number since 07-22, 61 days (M1c); 2022-2-031 listed.
    assert _dues("2022-09-21T09:00:00+09:00") == {
        "certificate.expiring": 0, "listing.reminder": 28, "evaluation.due": 0,
        "escalated": 27, "purged": 0}
    assert _dues("2022-09-21T18:00:00+09:00") == {
        "certificate.expiring": 0, "listing.reminder": 0, "evaluation.due": 0,
        "escalated": 0, "purged": 0}
    # 14 days later: reminded again, escalated no more (once per step)
    assert _dues("2022-10-05T09:00:00+09:00") == {
        "certificate.expiring": 0, "listing.reminder": 28, "evaluation.due": 0,
        "escalated": 0, "purged": 0}
    # 2022-2-002 reaches 60 days at mas_qualification on 2022-10-09 (08-10 + 60)
    assert _dues("2022-10-09T09:00:00+09:00") == {
        "certificate.expiring": 0, "listing.reminder": 0, "evaluation.due": 0,
        "escalated": 1, "purged": 0}
    today = date(2022, 10, 9)
    expected = _expected(today, {"*": 4, "2022-2-002": 2, "2022-2-034": 2},
                         {"*": "2022-09-21", "2022-2-002": "2022-10-09"})
    rows = _export(today)
    assert rows[0] == ["receipt_no", "number", "lead_name", "product_name", "step", "since",
                       "days_in_step", "reminders", "escalated"]
    assert [r[1] for r in rows[1:]] == sorted(r[1] for r in rows[1:])  # number order
    assert {r[1]: [r[0], *r[4:]] for r in rows[1:]} == expected
    assert len(rows) == 30
    with session_scope(get_engine()) as session:
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "listing_escalate"))
        reminders = session.scalars(select(OutboxMessage.payload).where(
            OutboxMessage.kind == "listing.reminder",
            OutboxMessage.subject_id.like(f"{_number('2022-2-002')}:%"))
            .order_by(OutboxMessage.id)).all()
    assert audited == 28
    assert [(p["step"], p["stalled_days"]) for p in reminders] == [
        ("입찰참가자격등록", 14), ("입찰참가자격등록", 28), ("다수공급자계약 적격성평가", 42),
        ("다수공급자계약 적격성평가", 56)]


@pytest.mark.usefixtures("replayed")
def test_M1c_escalated_products_are_listed_in_the_office_digest(env: Path) -> None:
    from sangsaeng.dashboard import office_digest_markdown

    _import(LISTING, "2022-09-21T08:00:00+09:00")
    with session_scope(get_engine()) as session:
        assert "no product escalated" in office_digest_markdown(session, date(2022, 9, 21))
    _dues("2022-09-21T09:00:00+09:00")
    number = _number("2022-2-034")
    with session_scope(get_engine()) as session:
        digest = office_digest_markdown(session, date(2022, 9, 21))
    assert "listing escalated" in digest
    line = next(x for x in digest.splitlines() if x.startswith(f"| {number} |"))
    assert "목록화(물품식별번호)" in line and line.endswith("| 2022년 7월 22일(금) | 61 |")
    assert _number("2022-2-031") not in digest  # listed
    assert len([x for x in digest.splitlines() if x.startswith("| 22-")]) == 27


@pytest.mark.usefixtures("replayed")
def test_M1_bad_listing_rows_are_refused_with_why_and_good_rows_kept(
        env: Path, tmp_path: Path) -> None:
    cancel = tmp_path / "cancel"
    cancel.mkdir()
    (cancel / "cancellations.csv").write_text("receipt_no,ground,decided_on,reason\n"
                                              "2022-2-034,abandonment,2022-08-01,포기\n",
                                              encoding="utf-8")
    _import(cancel, "2022-08-01T10:00:00+09:00")
    first = _listing("2022-2-002,559-81-39063,catalog_number,2022-08-10,24123456\n", tmp_path)
    _import(first, "2022-08-11T10:00:00+09:00")
    rows = ("2022-2-999,559-81-39063,contract,2022-09-01,없는 과제\n"
            "2022-2-034,677-81-97153,catalog_number,2022-09-01,24120000\n"  # cancelled
            "2022-2-002,559-81-39063,shipping,2022-09-01,단계 오류\n"
            "2022-2-002,559-81-39063,catalog_number,2022-09-01,2412345\n"
            "2022-2-002,559-81-39063,catalog_number,2022-08-11,24123456\n"  # another date
            "2022-2-002,559-81-39063,catalog_number,2022-08-10,24123456\n"  # the same again
            "2022-2-002,559-81-39063,mas_qualification,2022-09-30,적격 통보\n")  # good
    with pytest.raises(InputRefused) as refused:
        _import(_listing(rows, tmp_path), "2022-09-30T10:00:00+09:00")
    lines = refused.value.refused
    assert len(lines) == 5 and refused.value.recorded == 1
    assert any("listing.csv 2행" in x and "접수번호 2022-2-999의 이 주관기업(receipt_no, brn)에 "
               "발급된 확인서가 없습니다" in x for x in lines)
    assert any("3행" in x and "확인서는 취소 상태입니다" in x for x in lines)
    assert any("4행, step 열, 값 'shipping'" in x for x in lines)
    assert any("5행, evidence 열, 값 '2412345'" in x and "8자리" in x
               for x in lines)
    assert any("6행" in x and "이미 2022-08-10에 완료된 것으로 기록되어 있습니다 (이 행: "
               "2022-08-11)" in x for x in lines)
    assert not any("559-81-39063" in x or "677-81-97153" in x for x in lines)  # logged: no BRN
    with session_scope(get_engine()) as session:
        catalog = session.scalars(select(ListingStep.done_on).where(
            ListingStep.step == "catalog_number",
            ListingStep.number == _number("2022-2-002"))).one()
    assert catalog == date(2022, 8, 10)  # the first record stands
    before = counts()
    with pytest.raises(InputRefused) as again:  # re-import: the same refusals, nothing new
        _import(_listing(rows, tmp_path), "2022-09-30T11:00:00+09:00")
    assert again.value.refused == lines and again.value.recorded == 0
    assert counts() == before


@pytest.mark.usefixtures("replayed")
def test_M1_the_typed_form_records_a_step_or_refuses_it(env: Path) -> None:
    from sangsaeng.domain.listing import MallStep

    form = _flow("record_listing_step")
    now = parse_instant("2022-08-11T10:00:00+09:00")
    with pytest.raises(InputRefused, match="8자리 물품식별번호"):
        asyncio.run(form("2022-2-002", "559-81-39063", MallStep.CATALOG_NUMBER,
                         date(2022, 8, 10), "2412-3456", "담당자", now))
    done = asyncio.run(form("2022-2-002", "559-81-39063", MallStep.CATALOG_NUMBER,
                            date(2022, 8, 10), "24123456", "담당자", now))
    assert done.recorded == {"listing": 1}
    rows = {r[0]: r[4:7] for r in _export(date(2022, 8, 11))[1:] if r[0] != "2022-2-021"}
    # M1: bidder_registration is not recorded, so it is still the current step; M1a: the
    # clock starts on the latest done_on all the same
    assert rows["2022-2-002"] == ["bidder_registration", "2022-08-10", "1"]
    assert rows["2022-2-034"] == ["bidder_registration", "2022-07-20", "22"]
    # K6a: valid to 2025-07-19, expired the day after — no listing support any more
    with pytest.raises(InputRefused,
                       match=r"확인서는 만료 상태입니다: 종합쇼핑몰 등록 지원은 유효한"):
        asyncio.run(form("2022-2-002", "559-81-39063", MallStep.BIDDER_REGISTRATION,
                         date(2025, 7, 1), "", "담당자",
                         parse_instant("2025-07-20T10:00:00+09:00")))
