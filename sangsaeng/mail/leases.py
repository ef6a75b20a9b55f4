"""The rows one sender holds, fenced by its claim token (issue 10: a stalled sender).

A lease is a promise only until `lease_until`: a sender that stalls past it (SIGSTOP, a frozen
VM, a long GC pause) may find that another sender took its rows. Every row a sender claims
carries the sender's token; renewals and outcome writes are conditional on it, and before each
message the sender checks that the row is still its own — for free while the lease it last
wrote has time left, else by a conditional renewal in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from sangsaeng.db import session_scope
from sangsaeng.mail import outbox
from sangsaeng.mail.outbox import Outgoing


class Holding:
    """Rows claimed by one sender and not yet settled; until when it is sure to hold them."""

    def __init__(self, engine: Engine, lease: timedelta, clock: Callable[[], datetime]) -> None:
        self.token = uuid.uuid4().hex
        self.engine, self.lease, self.clock = engine, lease, clock
        self.rows: dict[int, Outgoing] = {}
        self._sure_until: datetime | None = None
        self._margin = lease / 6  # time for one message to go after the check

    def take(self, rows: list[Outgoing], *, until: datetime) -> list[Outgoing]:
        """Rows just claimed with a lease to `until`; returns those not held already."""
        new = [r for r in rows if r.id not in self.rows]
        self.rows.update((r.id, r) for r in new)
        if rows:
            self._sure_until = min(self._sure_until or until, until)
        return new

    def has(self, row: Outgoing) -> bool:
        """Still held as this very claim (a row lost and claimed again is a new claim)."""
        return self.rows.get(row.id) is row

    def sure(self) -> bool:
        """No row's lease can have ended yet, by this sender's clock."""
        return (self._sure_until is not None
                and self.clock() < self._sure_until - self._margin)

    def renew(self) -> int:
        """Extend every lease still held; forget rows another sender took. Returns how many."""
        ids = sorted(self.rows)
        until = self.clock() + self.lease
        if not ids:
            self._sure_until = until
            return 0
        with session_scope(self.engine) as session:
            kept = outbox.renew(session, ids, until=until, token=self.token)
        lost = [i for i in ids if i not in kept]
        for row_id in lost:
            del self.rows[row_id]
        self._sure_until = until
        return len(lost)

    def settle(self, row: Outgoing) -> bool:
        """The row has an outcome: stop holding it. False if it was not (or no longer) held."""
        if not self.has(row):
            return False
        del self.rows[row.id]
        return True

    def release_all(self) -> list[Outgoing]:
        """Every row still held (to give back untouched)."""
        rows = list(self.rows.values())
        self.rows.clear()
        return rows
