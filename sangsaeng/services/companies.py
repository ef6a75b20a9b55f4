"""The company registry (`companies.csv`: brn, name, email, opted_in) and the call broadcast.

The open call goes to every registered company that has not opted out; each message carries a
`List-Unsubscribe` token, and the name and address are the registry's at the moment of enqueue.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from sangsaeng.domain.clock import format_kst
from sangsaeng.io import values
from sangsaeng.io.sources import PackageError, RowError, read_csv
from sangsaeng.journal import Audit, Entry, record
from sangsaeng.mail.outbox import Notice, enqueue
from sangsaeng.models import REGISTRY, Round

COLUMNS = ("brn", "name", "email", "opted_in")
_PARSERS: dict[str, Callable[[str], Any]] = {
    "brn": values.brn, "name": values.required, "email": values.email,
    "opted_in": values.boolean,
}


@dataclass(slots=True)
class RegistrySummary:
    """What an import of companies.csv did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_registry(path: Path) -> tuple[dict[str, dict[str, Any]], list[RowError]]:
    """Parse companies.csv; every bad cell is reported with row, column and value."""
    table = read_csv(path)
    missing = [c for c in COLUMNS if c not in table.header]
    if missing:
        raise PackageError(f"{path.name}: missing column(s) {', '.join(missing)}")
    index = {name: table.header.index(name) for name in COLUMNS}
    errors = list(table.errors)
    rows: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    for number, cells in table.rows:
        row: dict[str, Any] = {}
        for column, parse in _PARSERS.items():
            try:
                row[column] = parse(cells[index[column]])
            except ValueError as exc:
                errors.append(RowError(path.name, number, column, cells[index[column]],
                                       str(exc)))
        if len(row) != len(COLUMNS):
            continue
        if row["brn"] in first:
            errors.append(RowError(path.name, number, "brn", row["brn"],
                                   f"{first[row['brn']]}행과 중복됩니다"))
            continue
        first[row["brn"]] = number
        rows[row["brn"]] = row
    return rows, errors


def import_registry(session: Session, path: Path, *, now: datetime, actor: str
                    ) -> RegistrySummary:
    """Add new companies and update changed ones (good rows are kept when others fail).

    A change of `opted_in` is audited: whether a company receives calls is the office's record.
    """
    rows, errors = read_registry(path)
    summary = RegistrySummary(errors=errors)
    r = REGISTRY.c
    known = {row.brn: row for row in session.execute(
        select(r.brn, r.name, r.email, r.opted_in)).all()}
    new, changed, events = [], [], []
    for brn, row in rows.items():
        old = known.get(brn)
        if old is None:
            new.append({**row, "unsubscribe_token": secrets.token_urlsafe(18), "updated_at": now})
        elif (old.name, old.email, old.opted_in) != (row["name"], row["email"], row["opted_in"]):
            changed.append({"key": brn, "name": row["name"], "email": row["email"],
                            "opted_in": row["opted_in"], "updated_at": now})
            if old.opted_in != row["opted_in"]:
                events.append(_opt_entry(brn, row["opted_in"], path.name))
        else:
            summary.unchanged += 1
    if new:
        session.execute(insert(REGISTRY), new)
    if changed:
        session.execute(update(REGISTRY).where(r.brn == bindparam("key")), changed)
    record(session, Audit(now, actor), events)
    summary.added, summary.updated = len(new), len(changed)
    return summary


def _opt_entry(brn: str, opted_in: bool, why: str) -> Entry:
    return Entry("company", brn, "opt_in" if opted_in else "opt_out", None, why)


def unsubscribe(session: Session, token: str, *, now: datetime, actor: str) -> str | None:
    """Opt a company out by its List-Unsubscribe token; returns its BRN (None if unknown)."""
    r = REGISTRY.c
    brn = session.execute(select(r.brn).where(r.unsubscribe_token == token)).scalar()
    if brn is None:
        return None
    session.execute(update(REGISTRY).where(r.brn == brn).values(opted_in=False, updated_at=now))
    record(session, Audit(now, actor), [_opt_entry(brn, False, "List-Unsubscribe")])
    return str(brn)


def call_payload(rnd: Round) -> dict[str, Any]:
    """The call announcement's data: the same for every company (one body for all)."""
    screening = rnd.settings.get("screening", {})
    return {"round_id": rnd.id, "round_title": rnd.title, "opens_at": format_kst(rnd.opens_at),
            "closes_at": format_kst(rnd.closes_at), "tracks": list(rnd.tracks),
            "support_years": rnd.support_years,
            "supplement_business_days": int(screening.get("supplement_business_days", 5))}


def broadcast_call(session: Session, rnd: Round) -> int:
    """Owe `call.announcement` to every opted-in registered company; returns new rows."""
    r = REGISTRY.c
    payload = call_payload(rnd)
    companies = session.execute(select(r.brn, r.name, r.email, r.unsubscribe_token)
                                .where(r.opted_in.is_(True)).order_by(r.brn)).all()
    return enqueue(session, rnd.id, (
        Notice("call.announcement", "company", c.brn, c.email, c.name, payload,
               unsubscribe=c.unsubscribe_token) for c in companies))
