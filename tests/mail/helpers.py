"""Owing notices without running a round: a round row, `application.received` notices and
`certificate.issued` ones with their PDF."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from sangsaeng.db import get_engine, session_scope
from sangsaeng.mail.delivery import deliver
from sangsaeng.mail.outbox import Attachment, Notice, enqueue
from sangsaeng.mail.sender import DeliveryReport
from sangsaeng.models import OUTBOX, Round

ROUND = "2030-1"


def open_round(round_id: str = ROUND) -> None:
    """A round in state `open` (notices need their round)."""
    with session_scope(get_engine()) as session:
        if session.get(Round, round_id) is None:
            session.add(Round(id=round_id, title="2030년 1차 공공조달 상생협력 지원제도",
                              opens_at=datetime(2030, 3, 2, tzinfo=UTC),
                              closes_at=datetime(2030, 3, 27, 9, tzinfo=UTC),
                              tracks=["innovation"], support_years=3, settings={},
                              state="open"))


def received_notice(i: int, *, name: str | None = None, email: str | None = None) -> Notice:
    """The i-th applicant's receipt notice."""
    company = name or f"주식회사 상생{i:03d}"
    payload: dict[str, Any] = {
        "round_id": ROUND, "round_title": "2030년 1차 공공조달 상생협력 지원제도",
        "receipt_no": f"{ROUND}-{i:03d}", "product_name": f"제품{i}", "track": "innovation",
        "company_name": company, "role": "lead", "submitted_at": "2030년 3월 20일(수) 10:00",
        "closes_at": "2030년 3월 27일(수) 18:00"}
    return Notice("application.received", "application", f"{ROUND}-{i:03d}",
                  email or f"company{i:03d}@example.com", company, payload)


CERTIFICATE_PAYLOAD = {
    "certificate_number": "22-IG0001", "company_name": "주식회사 한빛정밀",
    "product_name": "고정밀 유량계측기", "round_id": ROUND,
    "round_title": "2030년 1차 공공조달 상생협력 지원제도",
    "verify_url": "http://127.0.0.1:4202/certificates/22-IG0001",
    "valid_from": "2030년 8월 16일(금)", "valid_to": "2033년 8월 15일(월)"}


def pdf(i: int) -> bytes:
    """A certificate's bytes (binary, longer than one base64 line)."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20 + f"{i}\n%%EOF\n".encode()


def certificate(i: int, var: Path, data: bytes | None = None, *,
                same_text: bool = False) -> Notice:
    """The i-th certificate notice, its PDF written under the var dir."""
    data = pdf(i) if data is None else data
    name = f"22-IG{i:04d}-v1.pdf"
    path = f"certificates/{ROUND}/{name}"
    (var / path).parent.mkdir(parents=True, exist_ok=True)
    (var / path).write_bytes(data)
    number = "22-IG0001" if same_text else f"22-IG{i:04d}"
    return Notice("certificate.issued", "certificate", f"22-IG{i:04d}",
                  f"company{i:03d}@example.com", "주식회사 한빛정밀",
                  {**CERTIFICATE_PAYLOAD, "certificate_number": number},
                  attachments=(Attachment(name, path, hashlib.sha256(data).hexdigest()),))


def owe(count: int, start: int = 1) -> list[str]:
    """Owe `count` receipt notices; returns their recipients."""
    open_round()
    notices = [received_notice(i) for i in range(start, start + count)]
    with session_scope(get_engine()) as session:
        enqueue(session, ROUND, notices)
    return [n.recipient for n in notices]


def sender_env(database_url: str, var: Path, smtp_port: int, **settings: str) -> dict[str, str]:
    """The environment of a `sangsaeng notices send` process: this one's, without its SANGSAENG_
    settings, pointed at the test's database, var dir and SMTP server on loopback."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SANGSAENG_")}
    environ.update(SANGSAENG_DATABASE_URL=database_url, SANGSAENG_VAR_DIR=str(var),
                   SANGSAENG_SMTP_HOST="127.0.0.1", SANGSAENG_SMTP_PORT=str(smtp_port),
                   **settings)
    return environ


def send() -> DeliveryReport:
    """One delivery run of the round's due notices."""
    return asyncio.run(deliver(round_id=ROUND))


def rows() -> dict[str, Any]:
    """Outbox rows by recipient (one notice each in these tests)."""
    o = OUTBOX.c
    with session_scope(get_engine()) as session:
        return {r.recipient: r for r in session.execute(select(OUTBOX).order_by(o.id)).all()}


def make_due(recipient: str) -> None:
    """Time passes: a row waiting for its backoff becomes due."""
    o = OUTBOX.c
    with session_scope(get_engine()) as session:
        session.execute(update(OUTBOX).where(o.recipient == recipient)
                        .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))
