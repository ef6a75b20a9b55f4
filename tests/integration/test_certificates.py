"""Certificates (PROGRAM_RULES K1–K6a, INTERFACES §4/§5) through the flows: the 2022-2 replay
issues its 29 certificates with PDFs and notices; verify, cancellation with the ban screened in
a later round, K2a continuation, reissue, expiry reminders, and no gap after a failure."""

from __future__ import annotations

import asyncio
import email
import http.client
import re
import shutil
import subprocess
from datetime import date
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from sangsaeng.certificate_register import lookup
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import kst_date, parse_instant
from sangsaeng.errors import InputRefused, SangsaengError
from sangsaeng.exports import certificates_csv
from sangsaeng.models import (
    Application,
    AuditEvent,
    Certificate,
    CertificateVersion,
    MailBody,
    OutboxMessage,
    Sanction,
)
from sangsaeng.settings import get_settings
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.helpers import counts, read_csv, run

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
REPLAY_NOW = "2022-07-20T10:00:00+09:00"
NUMBERS = [*(f"22-IG{n:04d}" for n in range(1, 8)), *(f"22-MP{n:04d}" for n in range(1, 19)),
           "22-TC0001", *(f"22-VC{n:04d}" for n in range(1, 4))]
HEADER = ["number", "brn", "lead_name", "representative", "address", "product_code",
          "product_name", "partners", "valid_from", "valid_to", "period", "status"]

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _certificates() -> list[Certificate]:
    with session_scope(get_engine()) as session:
        return list(session.scalars(select(Certificate).order_by(Certificate.number)))


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _flow(name: str):  # type: ignore[no-untyped-def]
    import flows.certificates
    import flows.dues
    import flows.support_import

    module = {"support_import": flows.support_import, "support_dues": flows.dues}
    return getattr(module.get(name, flows.certificates), name)


def _support(tmp_path: Path, name: str, text: str, now: str) -> object:
    folder = tmp_path / f"support-{name}"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return asyncio.run(_flow("support_import")(str(folder), "test", True, parse_instant(now)))


def test_replay_issues_29_certificates_with_pdfs_and_notices_once(env: Path) -> None:
    report = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert report.state == "support"  # R2: the last step, mall_listing_support, began
    issuance, listing = report.steps[-2:]
    assert (issuance.step.value, issuance.issued) == ("certificate_issuance", 29)
    # M1: every certified product starts its checklist at the first step
    assert (listing.step.value, listing.steps) == (
        "mall_listing_support", {"bidder_registration": 29})
    certs = _certificates()
    # K2: in (receipt number, lead seq) order within the run, per (year, track)
    with session_scope(get_engine()) as session:
        receipts = dict(session.execute(select(Application.id, Application.receipt_no)).all())
    issued_order = sorted(certs, key=lambda c: (receipts[c.application_id], c.track_code))
    assert [c.number for c in certs] == NUMBERS
    by_track: dict[str, list[Certificate]] = {}
    for c in certs:
        by_track.setdefault(c.track_code, []).append(c)
    for track_certs in by_track.values():  # within a track, receipt order = number order
        receipts_in_order = [receipts[c.application_id] for c in track_certs]
        assert receipts_in_order == sorted(receipts_in_order)
    assert {(c.valid_from, c.valid_to) for c in certs} == {(date(2022, 7, 20), date(2025, 7, 19))}
    assert len(issued_order) == 29
    # INTERFACES §4: certificates.csv in number order, status at the replay's clock
    with session_scope(get_engine()) as session:
        rows = read_csv(certificates_csv(session, "2022-2", date(2022, 7, 20)))
    assert rows[0] == HEADER and [r[0] for r in rows[1:]] == NUMBERS
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["period"] == "20220720 ~ 20250719" and first["status"] == "valid"
    assert first["partners"] and re.fullmatch(r"(.+\(\d{3}-\d{2}-\d{5}\);?)+", first["partners"])
    # each PDF shows its number, lead and product in Korean (pdftotext)
    for c in certs:
        pdf = env / "certificates" / "2022-2" / f"{c.number}-v1.pdf"
        text = " ".join(_pdftotext(pdf).split())
        assert c.number in text and c.lead_name in text and c.product_name in text, c.number
    # 29 notices, each carrying its own PDF, delivered as .eml with the attachment
    with session_scope(get_engine()) as session:
        notices = session.execute(select(OutboxMessage.subject_id, OutboxMessage.state,
                                         MailBody.attachments)
                                  .join(MailBody, MailBody.id == OutboxMessage.body_id)
                                  .where(OutboxMessage.kind == "certificate.issued")).all()
    assert sorted(n.subject_id for n in notices) == NUMBERS
    assert {n.state for n in notices} == {"sent"}
    assert all(n.attachments[0]["filename"] == f"{n.subject_id}-v1.pdf" for n in notices)
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in (env / "mail").rglob("*.eml")]
    attached = {part.get_filename(): part.get_content() for m in messages
                for part in m.iter_attachments()}
    assert set(attached) == {f"{n}-v1.pdf" for n in NUMBERS}
    assert attached["22-IG0001-v1.pdf"] == (
        env / "certificates" / "2022-2" / "22-IG0001-v1.pdf").read_bytes()
    # issue 23 item 4: each mail names the round by its title and carries its verification link
    checked = []
    for m in messages:
        for number in (f.removesuffix("-v1.pdf") for f in (
                part.get_filename() for part in m.iter_attachments()) if f):
            text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert get_settings().verification_address(number) in text, number
            assert "2022-2 모집에서" not in text and "상생협력 지원제도" in text, number
            checked.append(number)
    assert sorted(checked) == NUMBERS
    # a re-run issues nothing and owes nothing
    before = counts()
    again = run(CONFIG, PACKAGE, REPLAY_NOW, approve=True)
    assert again.steps[-2].issued == 0
    assert counts() == before and [c.number for c in _certificates()] == NUMBERS


@pytest.mark.usefixtures("replayed")
def test_verify_answers_valid_expired_and_nothing(env: Path) -> None:
    with session_scope(get_engine()) as session:
        valid = lookup(session, "22-IG0001", date(2025, 7, 19))
        expired = lookup(session, "22-IG0001", date(2025, 7, 20))  # the day after valid_to
        lead = valid[0].brn
        by_brn = lookup(session, lead.replace("-", ""), date(2023, 1, 1))
        assert lookup(session, "22-IG0099", date(2023, 1, 1)) == []
    assert [f.status for f in valid] == ["valid"] and [f.status for f in expired] == ["expired"]
    assert "22-IG0001" in [f.number for f in by_brn]
    assert "email" not in str(valid[0].as_json())


def _later_round(tmp_path: Path) -> tuple[Path, Path]:
    """2023-1: the 2022-2 package a year later (same companies), with its own configuration."""
    package = tmp_path / "2023-1"
    shutil.copytree(PACKAGE, package)
    for path in package.glob("*.csv"):
        text = path.read_text(encoding="utf-8").replace("2022-2-", "2023-1-")
        if path.name in ("applications.csv", "documents.csv", "scores.csv"):
            text = text.replace("2022-05-", "2023-05-")
        if path.name in ("production.csv", "certificates.csv"):
            text = text.splitlines()[0] + "\n"
        path.write_text(text, encoding="utf-8")
    config = tmp_path / "2023-1.toml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace('"2022-2"', '"2023-1"')
                      .replace("2022-05-02", "2023-05-02").replace("2022-05-27", "2023-05-26")
                      .replace("2022년 2차", "2023년 1차"), encoding="utf-8")
    return config, package


@pytest.mark.usefixtures("replayed")
def test_cancellation_cancels_bans_and_a_later_round_screens_the_leads_out(
        env: Path, tmp_path: Path) -> None:
    text = ("receipt_no,ground,decided_on,reason\n"
            "2022-2-018,failed_evaluation,2023-03-02,중간평가 부적합 (협력 실적 없음)\n")
    done = _support(tmp_path, "cancellations", text, "2023-03-02T10:00:00+09:00")
    assert done.recorded == {"cancellations": 1}  # type: ignore[attr-defined]
    with session_scope(get_engine()) as session:
        state = session.scalar(select(Application.state).where(
            Application.receipt_no == "2022-2-018"))
        found = [f for f in lookup(session, "358-86-25904", date(2023, 3, 2))
                 if f.round_id == "2022-2"]
        bans = session.execute(select(Sanction.brn, Sanction.banned_until)).all()
        audit = session.execute(select(AuditEvent.action, AuditEvent.rule, AuditEvent.reason)
                                .where(AuditEvent.rule.in_(["K5", "K5a"]))).all()
        told = session.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.kind == "certificate.cancelled")).all()
    assert state == "cancelled"
    assert [f.status for f in found] == ["cancelled"]
    assert ("358-86-25904", date(2028, 3, 1)) in bans  # K5a: decided_on + 5 years − 1 day
    assert {a.action for a in audit} == {"transition", "cancel", "ban"}
    assert all("failed_evaluation" in a.reason for a in audit if a.action != "transition")
    assert len(told) == 1
    # cancelling twice changes nothing
    before = counts()
    again = _support(tmp_path, "cancellations", text, "2023-03-03T10:00:00+09:00")
    assert again.unchanged == {"cancellations": 1}  # type: ignore[attr-defined]
    assert counts() == before
    # a later round screens the banned lead out as SANCTIONED (§4.5)
    config, package = _later_round(tmp_path)
    run(config, package, "2023-06-20T10:00:00+09:00", until="screening")
    with session_scope(get_engine()) as session:
        later = session.execute(select(Application.state, Application.reasons).where(
            Application.receipt_no == "2023-1-018")).one()
    assert later.state == "ineligible" and "SANCTIONED" in later.reasons.split(";")


@pytest.mark.usefixtures("replayed")
def test_bad_support_rows_are_refused_one_by_one_and_good_rows_kept(
        env: Path, tmp_path: Path) -> None:
    with pytest.raises(InputRefused) as refused:
        _support(tmp_path, "cancellations",
                 "receipt_no,ground,decided_on,reason\n"
                 "2022-2-999,fraud,2023-01-02,없는 과제\n"
                 "2022-2-001,fraud,2023-01-02,미선정 과제\n"
                 "2022-2-005,theft,2023-01-02,사유 코드 오류\n"
                 "2022-2-034,abandonment,2023-01-02,포기\n", "2023-01-02T10:00:00+09:00")
    lines = refused.value.refused
    assert any("알 수 없는 접수번호입니다: '2022-2-999'" in line for line in lines)
    assert any("2022-2-001" in line and "미선정 상태입니다" in line for line in lines)
    assert any("4행, ground 열, 값 'theft'" in line for line in lines)
    assert refused.value.recorded == 1  # 2022-2-034 is cancelled all the same
    with pytest.raises(InputRefused,
                       match=r"216-88-14989 기업은 2022-2-002 신청의 주관기업이 아닙니다"):
        _support(tmp_path, "production", "receipt_no,brn,confirmed_at\n"
                 "2022-2-002,216-88-14989,2022-08-01T10:00:00\n", "2022-08-01T10:00:00+09:00")
    with pytest.raises(InputRefused, match="알 수 없는 확인서 번호입니다"):
        _support(tmp_path, "changes", "number,field,new_value,changed_on,reason\n"
                 "22-IG0999,name,새이름,2022-09-01,상호 변경\n", "2022-09-01T10:00:00+09:00")


def test_K2a_numbers_continue_after_imported_prior_certificates(env: Path, tmp_path: Path
                                                                 ) -> None:
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    (package / "certificates.csv").write_text(
        "number,brn,product_code,valid_from,valid_to\n"
        "22-IG0003,111-11-11119,1234567890,2022-03-02,2025-03-01\n"
        "22-VC0010,111-11-11119,1234567891,2022-03-02,2025-03-01\n"
        "21-MP0040,111-11-11119,1234567892,2021-03-02,2024-03-01\n", encoding="utf-8")
    run(CONFIG, package, REPLAY_NOW, approve=True)
    numbers = [c.number for c in _certificates()]
    assert numbers[:7] == [f"22-IG{n:04d}" for n in range(4, 11)]
    assert "22-MP0001" in numbers  # 21-MP0040 is another year
    assert [n for n in numbers if "VC" in n] == ["22-VC0011", "22-VC0012", "22-VC0013"]


@pytest.mark.usefixtures("replayed")
def test_reissue_keeps_the_number_and_every_version(env: Path, tmp_path: Path) -> None:
    text = ("number,field,new_value,changed_on,reason\n"
            "22-IG0001,representative,김새롬,2022-09-01,대표이사 변경\n"
            "22-IG0001,name,주식회사 새이름,2022-10-04,상호 변경\n")
    done = _support(tmp_path, "changes", text, "2022-10-05T10:00:00+09:00")
    assert done.recorded == {"changes": 2}  # type: ignore[attr-defined]
    cert = next(c for c in _certificates() if c.number == "22-IG0001")
    assert (cert.version, cert.representative, cert.lead_name) == (3, "김새롬", "주식회사 새이름")
    folder = env / "certificates" / "2022-2"
    assert {p.name for p in folder.glob("22-IG0001-v*.pdf")} == {
        "22-IG0001-v1.pdf", "22-IG0001-v2.pdf", "22-IG0001-v3.pdf"}
    assert "주식회사 새이름" in " ".join(_pdftotext(folder / "22-IG0001-v3.pdf").split())
    with session_scope(get_engine()) as session:
        versions = session.scalars(select(CertificateVersion.version).where(
            CertificateVersion.number == "22-IG0001").order_by(CertificateVersion.version)).all()
        found = lookup(session, "22-IG0001", date(2022, 10, 5))
        reissued = session.scalars(select(OutboxMessage.subject_id).where(
            OutboxMessage.kind == "certificate.reissued")).all()
    assert versions == [1, 2, 3]
    assert (found[0].version, found[0].lead_name) == (3, "주식회사 새이름")
    assert sorted(reissued) == ["22-IG0001-v2", "22-IG0001-v3"]
    before = counts()
    again = _support(tmp_path, "changes", text, "2022-10-06T10:00:00+09:00")
    assert again.unchanged == {"changes": 2}  # type: ignore[attr-defined]
    assert counts() == before


def _dues(now: str) -> dict[str, int]:
    """The dues run's K6a part (M1's listing reminders: tests/integration/test_listing.py)."""
    owed = asyncio.run(_flow("support_dues")(parse_instant(now)))
    return {"certificate.expiring": owed["certificate.expiring"]}


@pytest.mark.usefixtures("replayed")
def test_K6a_expiry_reminders_on_the_90th_and_30th_day_once_each(env: Path) -> None:
    # the session's replay: valid to 2025-07-19
    assert _dues("2025-04-19T09:00:00+09:00") == {"certificate.expiring": 0}  # 91 days left
    assert _dues("2025-04-20T09:00:00+09:00") == {"certificate.expiring": 29}  # 90
    assert _dues("2025-04-20T15:00:00+09:00") == {"certificate.expiring": 0}  # same day again
    assert _dues("2025-05-01T09:00:00+09:00") == {"certificate.expiring": 0}
    # no run on the 30th day (2025-06-19): the next run catches up, once
    assert _dues("2025-06-18T09:00:00+09:00") == {"certificate.expiring": 0}  # 31 days left
    assert _dues("2025-06-21T09:00:00+09:00") == {"certificate.expiring": 29}
    assert _dues("2025-06-22T09:00:00+09:00") == {"certificate.expiring": 0}
    assert _dues("2025-07-20T09:00:00+09:00") == {"certificate.expiring": 0}  # expired
    with session_scope(get_engine()) as session:
        subjects = session.scalars(select(OutboxMessage.subject_id).where(
            OutboxMessage.kind == "certificate.expiring",
            OutboxMessage.subject_id.like("22-IG0001:%"))).all()
        days = session.scalars(select(OutboxMessage.payload).where(
            OutboxMessage.subject_id == "22-IG0001:30")).one()["days_left"]
    assert sorted(subjects) == ["22-IG0001:30", "22-IG0001:90"] and days == 28


def test_a_failure_halfway_leaves_no_certificate_no_gap_and_no_duplicate(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sangsaeng.services.certificates as service

    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True, until="selection_notice")
    real, written = service.write_pdf, []

    def disk_full_after_ten(path: Path, data: bytes) -> None:
        if len(written) == 10:
            raise OSError(28, "No space left on device", str(path))
        written.append(path.name)
        real(path, data)

    monkeypatch.setattr(service, "write_pdf", disk_full_after_ten)
    with pytest.raises((OSError, SangsaengError)):
        asyncio.run(_flow("certificate_issuance")("2022-2", parse_instant(REPLAY_NOW), "test"))
    assert _certificates() == []
    with session_scope(get_engine()) as session:
        owed = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "certificate.issued"))
    assert owed == 0
    monkeypatch.setattr(service, "write_pdf", real)
    asyncio.run(_flow("certificate_issuance")("2022-2", parse_instant(REPLAY_NOW), "test"))
    assert [c.number for c in _certificates()] == NUMBERS
    assert kst_date(parse_instant(REPLAY_NOW)) == _certificates()[0].issued_on


@pytest.mark.usefixtures("replayed")
def test_the_exports_server_answers_certificate_lookups_read_only(env: Path) -> None:
    import json

    from sangsaeng.settings import get_settings
    from sangsaeng.web.office import office_server
    from tests.integration.test_exports_server import get

    def get_json(url: str, path: str) -> tuple[int, Any, bytes]:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    with office_server(get_settings().exports_dir, 0) as url:
        status, headers, body = get_json(url, "/certificates/22-IG0001?now=2023-01-01")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        facts = json.loads(body)
        assert (facts["number"], facts["status"], facts["period"]) == (
            "22-IG0001", "valid", "20220720 ~ 20250719")
        assert facts["lead_name"] and facts["product_name"] and facts["partners"]
        assert "@" not in body.decode()  # the public K4 facts only: no e-mail address
        assert json.loads(get_json(url, "/certificates/22-IG0001?now=2025-07-20")[2])[
            "status"] == "expired"
        status, headers, pdf = get(url, "/certificates/22-IG0001.pdf")
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert pdf == (env / "certificates" / "2022-2" / "22-IG0001-v1.pdf").read_bytes()
        assert get(url, "/certificates/22-IG0099")[0] == 404
        assert get(url, "/certificates/..%2F..%2Fsangsaeng.db")[0] == 404
        assert get_json(url, "/certificates/22-IG0001?now=yesterday")[0] == 400
        assert get(url, "/certificates/22-IG0001", method="POST")[0] == 501  # read-only


@pytest.mark.usefixtures("replayed")
def test_the_office_digest_counts_what_expires_within_90_days(env: Path) -> None:
    from sangsaeng.dashboard import office_digest_markdown

    with session_scope(get_engine()) as session:
        assert "| 2022-2 | 29 | 29 | 0 | 0 | 0 |" in office_digest_markdown(
            session, date(2025, 4, 19))
        assert "| 2022-2 | 29 | 29 | 0 | 0 | 29 |" in office_digest_markdown(
            session, date(2025, 4, 20))


def test_the_office_forms_confirm_production_then_issue_and_cancel(
        env: Path, tmp_path: Path) -> None:
    from flows.models import ProductionItem
    from sangsaeng.domain.certificates import Ground

    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    (package / "production.csv").write_text("receipt_no,brn,confirmed_at\n", encoding="utf-8")
    assert run(CONFIG, package, REPLAY_NOW, approve=True).state == "notified"  # none yet
    confirm = _flow("confirm_production")
    done = asyncio.run(confirm([
        ProductionItem(receipt_no="2022-2-034", brn="677-81-97153"),
        ProductionItem(receipt_no="2022-2-002", brn="559-81-39063",
                       confirmed_at="2022-08-01T09:00:00")], "담당자", True,
        parse_instant("2022-08-02T10:00:00+09:00")))
    assert done.issued == {"2022-2": 2}
    # K2: numbered in receipt order within the run; issued on the clock's KST date
    assert [(c.number, c.issued_on) for c in _certificates()] == [
        ("22-IG0001", date(2022, 8, 2)), ("22-TC0001", date(2022, 8, 2))]
    with pytest.raises(InputRefused, match="접수번호 2022-2-001의 신청은 미선정 상태입니다"):
        asyncio.run(confirm([ProductionItem(receipt_no="2022-2-001", brn="559-81-39063")],
                            "담당자", True, parse_instant("2022-08-02T11:00:00+09:00")))
    cancel = _flow("cancel_certificates")
    asyncio.run(cancel("2022-2-034", Ground.ABANDONMENT, date(2022, 9, 1), "상생협력 포기서 제출",
                       "담당자", parse_instant("2022-09-01T10:00:00+09:00")))
    with session_scope(get_engine()) as session:
        found = lookup(session, "22-TC0001", date(2022, 9, 1))
    assert found[0].status == "cancelled"
