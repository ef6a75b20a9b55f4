"""The audit trail an inspector takes away and checks (issue 26 items 2 and 3): `export audit`
lists every recorded change of the round with its rule; `audit verify` recomputes the hash
chain, exits 0 when it holds and 5 naming the first row edited or following a removed one;
concurrent writers extend the chain one after the other (PostgreSQL's advisory lock).
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.models import Round

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]  # also on PostgreSQL


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _exported() -> list[dict[str, str]]:
    code, out, err = cli("export", "audit", "--round", "2022-2", "--reason", "감사 자료 제출")
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))


def test_the_audit_export_lists_every_state_change_with_its_rule_and_the_chain_holds() -> None:
    rows = _exported()
    assert list(rows[0]) == ["at", "actor", "action", "subject", "rule", "before", "after",
                             "hash"]
    with session_scope(get_engine()) as session:
        written = session.execute(text(
            "SELECT count(*) FROM auditevent WHERE round_id = '2022-2'")).scalar_one()
    assert len(rows) == written > 100
    assert all(r["at"].endswith("+09:00") and len(r["hash"]) == 64 for r in rows)  # KST
    moves = [(r["before"], r["after"], r["rule"]) for r in rows if r["subject"] == "round:2022-2"
             and r["after"]]
    assert ("screening", "review", "R2") in moves  # the round's state changes, each with a rule
    project = [(r["action"], r["after"], r["rule"]) for r in rows
               if r["subject"] == "application:2022-2-002" and r["after"]]
    assert ("decision.proposed", "selected", "V6-V9") in project  # the committee's proposal
    assert ("transition", "selected", "V10") in project  # released once the chair approved
    code, _, err = cli("audit", "verify", "--round", "2022-2")
    assert code == 0 and "사슬에 이상이 없습니다" in err, err
    assert cli("audit", "verify")[0] == 0


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_a_row_changed_afterwards_breaks_the_chain_at_that_row(tamper: str) -> None:
    with session_scope(get_engine()) as session:
        ids = list(session.execute(text(
            "SELECT id FROM auditevent WHERE round_id = '2022-2' ORDER BY id")).scalars())
        target = ids[len(ids) // 2]
        if tamper == "edit":  # what someone with the database's password could do
            session.execute(text("UPDATE auditevent SET reason = 'changed' WHERE id = :id"),
                            {"id": target})
        else:
            session.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": target})
    named = target if tamper == "edit" else ids[ids.index(target) + 1]  # the row after it
    code, _, err = cli("audit", "verify", "--round", "2022-2")
    assert code == 5, err
    assert f"감사 기록 #{named} " in err and "사슬이 끊깁니다" in err, err
    assert cli("audit", "verify")[0] == 5


def test_concurrent_writers_extend_the_chain_one_after_the_other() -> None:
    """Two writers at once, each in its own transactions (as two workers' steps are); on
    PostgreSQL the chain's advisory lock orders them, SQLite has one writer at a time."""
    errors: list[BaseException] = []

    def write(name: str, receipt: str) -> None:
        try:
            for n in range(15):
                with session_scope(get_engine()) as session:
                    # a step writes before it audits, each writer another row: nothing but
                    # the chain's lock orders them on PostgreSQL (SQLite locks the database)
                    session.execute(text("UPDATE application SET reasons = reasons "
                                         "WHERE receipt_no = :receipt"), {"receipt": receipt})
                    record(session, Audit(datetime.now(UTC), name, "2022-2"), [
                        Entry("round", "2022-2", "test.write", "R2", f"{name} {n} {i}")
                        for i in range(3)])
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(f"writer-{k}", f"2022-2-00{k + 1}"))
               for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    code, _, err = cli("audit", "verify", "--round", "2022-2")
    assert code == 0, err
    with session_scope(get_engine()) as session:
        assert session.get(Round, "2022-2") is not None
        written = session.execute(text(
            "SELECT count(*) FROM auditevent WHERE action = 'test.write'")).scalar_one()
    assert written == 2 * 15 * 3
