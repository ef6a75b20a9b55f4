"""The outbox (ARCHITECTURE): rendered when owed, one row per key, one body per content, the
call broadcast to the registry, and rows owed by an older release rendered when first sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from sangsaeng.db import engine_for, get_engine, session_scope
from sangsaeng.domain.brn import normalize_brn
from sangsaeng.mail.outbox import Notice, enqueue
from sangsaeng.models import MAIL_BODIES, OUTBOX, Round
from sangsaeng.services.companies import broadcast_call, import_registry
from tests.mail.helpers import ROUND, open_round, owe, received_notice, rows, send
from tests.mail.smtp_server import ScriptedServer

BRNS = ["124-81-00998", "220-81-62517", "101-86-41235"]


def _count(table: object) -> int:
    with session_scope(get_engine()) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_notice_is_rendered_when_owed_and_kept_once(env: Path) -> None:
    owe(2)
    with session_scope(get_engine()) as session:  # the same notices again: nothing new
        assert enqueue(session, ROUND, [received_notice(1), received_notice(2)]) == 0
    assert _count(OUTBOX) == 2 and _count(MAIL_BODIES) == 2
    with session_scope(get_engine()) as session:
        body = session.execute(select(MAIL_BODIES.c.text).join(
            OUTBOX, OUTBOX.c.body_id == MAIL_BODIES.c.id).where(
            OUTBOX.c.subject_id == f"{ROUND}-001")).scalar_one()
    assert "주식회사 상생001 귀하" in body and f"{ROUND}-001" in body


def test_the_call_goes_to_every_opted_in_company_with_one_shared_body(env: Path,
                                                                       tmp_path: Path) -> None:
    assert all(normalize_brn(b) == b for b in BRNS)
    registry = tmp_path / "companies.csv"
    registry.write_text("brn,name,email,opted_in\n"
                        f"{BRNS[0]},주식회사 한빛,ceo@hanbit.example.com,Y\n"
                        f"{BRNS[1]},나래산업,info@narae.example.com,true\n"
                        f"{BRNS[2]},수신거부(주),no@thanks.example.com,N\n", encoding="utf-8")
    open_round()
    with session_scope(get_engine()) as session:
        summary = import_registry(session, registry, now=_now(), actor="test")
        assert (summary.added, summary.errors) == (3, [])
        rnd = session.get(Round, ROUND)
        assert rnd is not None
        assert broadcast_call(session, rnd) == 2
        assert broadcast_call(session, rnd) == 0  # opening twice calls nobody twice
    calls = rows()
    assert set(calls) == {"ceo@hanbit.example.com", "info@narae.example.com"}
    assert {r.recipient_name for r in calls.values()} == {"주식회사 한빛", "나래산업"}
    assert len({r.body_id for r in calls.values()}) == 1 and _count(MAIL_BODIES) == 1
    assert all(r.unsubscribe for r in calls.values())


def test_the_registry_snapshot_is_taken_at_enqueue(env: Path, tmp_path: Path) -> None:
    registry = tmp_path / "companies.csv"
    registry.write_text(f"brn,name,email,opted_in\n{BRNS[0]},옛이름,old@x.example.com,Y\n",
                        encoding="utf-8")
    open_round()
    with session_scope(get_engine()) as session:
        import_registry(session, registry, now=_now(), actor="test")
        rnd = session.get(Round, ROUND)
        assert rnd is not None
        broadcast_call(session, rnd)
    registry.write_text(f"brn,name,email,opted_in\n{BRNS[0]},새이름,new@x.example.com,Y\n",
                        encoding="utf-8")
    with session_scope(get_engine()) as session:
        assert import_registry(session, registry, now=_now(), actor="test").updated == 1
    (row,) = rows().values()
    assert (row.recipient_name, row.recipient) == ("옛이름", "old@x.example.com")


def test_rows_owed_by_the_previous_release_are_rendered_and_sent(
        database_url: str, smtp: ScriptedServer, tmp_path: Path) -> None:
    """A database at migration 0002 with a pending row (no body): upgrade, then deliver."""
    from alembic import command

    from sangsaeng.db import alembic_config, dispose_engines, make_engine

    dispose_engines()
    fresh = make_engine(database_url)
    command.downgrade(alembic_config(fresh), "0002")  # the fixture's database is at head
    notice = received_notice(7)
    with fresh.begin() as conn:
        conn.execute(text("INSERT INTO round (id, title, opens_at, closes_at, tracks, "
                          "support_years, settings, state, created_at, updated_at) VALUES "
                          "(:id, 't', :t, :t, '[]', 3, '{}', 'open', :t, :t)"),
                     {"id": ROUND, "t": "2026-01-02 00:00:00"})
        conn.execute(text(
            "INSERT INTO outboxmessage (round_id, kind, subject_type, subject_id, recipient, "
            "recipient_name, payload, state, created_at) VALUES (:r, :k, 'application', :s, "
            ":to, :name, :payload, 'pending', '2026-01-02 00:00:00')"),
            {"r": ROUND, "k": notice.kind, "s": notice.subject_id, "to": notice.recipient,
             "name": notice.recipient_name, "payload": _json(notice.payload)})
    fresh.dispose()
    engine_for(database_url)  # migrates to head on first use
    assert send().sent == 1
    (got,) = smtp.received
    assert got.rcpt_tos == (notice.recipient,)
    assert rows()[notice.recipient].message_id == got.message_id


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _now() -> datetime:
    return datetime.now(UTC)


def test_notices_are_queued_in_chunks_with_one_shared_body_across_them(env: Path) -> None:
    """A round owes tens of thousands of notices: they are rendered and stored a chunk at a
    time (memory flat in the round's size), from a generator, and a body shared by every
    recipient is stored once across the chunks."""
    open_round()
    shared = {"round_id": ROUND, "round_title": "2030년 1차", "opens_at": "3월 2일",
              "closes_at": "3월 27일", "tracks": ["innovation"], "support_years": 3,
              "supplement_business_days": 5}
    calls = (Notice("call.announcement", "company", f"{i:010d}", f"c{i}@example.com",
                    f"회사{i}", shared) for i in range(4_500))
    with session_scope(get_engine()) as session:
        assert enqueue(session, ROUND, calls) == 4_500
        assert enqueue(session, ROUND, (received_notice(i) for i in range(1, 2_201))) == 2_200
    assert _count(OUTBOX) == 6_700
    assert _count(MAIL_BODIES) == 1 + 2_200
