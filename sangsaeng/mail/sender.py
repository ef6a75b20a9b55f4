"""Delivery: a few persistent connections, one recipient per message.

Each worker sends through a channel of the run's transport (connection.py): an SMTP
connection (aiosmtplib), or the mail folder on embedded defaults (embedded.py), which answers
as a server would; claiming, composing, outcomes and leases are the same for both.

Outcomes (ARCHITECTURE: the outbox):
- 2xx → `sent`. 4xx to the recipient or the data → retried later with backoff; given up after
  the configured time. 5xx to the recipient → `failed` with the reply, address suppressed.
  5xx to the data → `failed` with the reply. An attachment that is missing, unreadable or
  changed since the notice was owed → `failed` with the file and the cause, nothing sent.
- 421, timeouts and lost connections → reconnect and try again in this run, with the same
  Message-ID (the server may have stored a message whose final reply was lost: RFC 1047).
- 5xx to MAIL FROM, a login the server cannot or will not accept, or repeated connect failures
  → the circuit breaker stops the batch: rows not yet attempted are released untouched, and
  the report says why.
- Rows are held under a claim token (leases.py): a row that another sender took while this one
  stalled past its lease is neither sent nor recorded by this one.
- A connection takes its next message only once the outcome of its last one is committed
  (outcomes of all connections share a commit). A sender that stalls (SIGSTOP) or dies holds at
  most one message per connection whose outcome the outbox does not know: that bounds the
  duplicates when another sender takes its rows (issue 22 item 1: with outcomes written later,
  a stall cost up to twice as many).
- `stop()` (SIGTERM) ends the batch gently: messages on the wire finish, the rest is released.
  Cancellation ends it at once: every row held is released, the ones on the wire included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path

import aiosmtplib
from sqlalchemy import Connection, Engine

from sangsaeng import blobs, crashpoints
from sangsaeng.db import session_scope
from sangsaeng.mail import outbox
from sangsaeng.mail.attachments import AttachmentError
from sangsaeng.mail.compose import Composer
from sangsaeng.mail.connection import (
    CONNECTION_ERRORS,
    Channel,
    Envelope,
    Limiter,
    LoginFailed,
    SmtpServer,
    Tls,
    Transport,
    reply_of,
)
from sangsaeng.mail.leases import Holding
from sangsaeng.mail.outbox import Outcome, Outgoing
from sangsaeng.mail.policy import DeliveryPolicy, DeliveryReport
from sangsaeng.models import utcnow

__all__ = ["DeliveryPolicy", "DeliveryReport", "Sender", "SmtpServer", "Tls", "Transport"]


class _Stop(Exception):
    """The circuit breaker opened: stop taking messages."""


class _Line:
    """One worker's channel (replaced after a connection-level failure)."""

    channel: Channel | None = None
    owed = 0  # the run's outcome count when this worker's last outcome was queued

    def drop(self) -> None:
        if self.channel is not None:
            self.channel.drop()
        self.channel = None


class Sender:
    """One delivery run over the outbox; build it, then `await run()`."""

    def __init__(self, engine: Engine, transport: Transport, sender: Address, *,
                 policy: DeliveryPolicy | None = None, round_id: str | None = None,
                 limit: int | None = None, unsubscribe_url: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 clock: Callable[[], datetime] = utcnow, var_dir: Path | None = None) -> None:
        self.engine, self.transport = engine, transport
        self.envelope = Envelope.of(sender.addr_spec)
        self.policy = policy or DeliveryPolicy()
        self.round_id, self.limit, self.progress, self.clock = round_id, limit, progress, clock
        self.composer = Composer(sender, unsubscribe_url=unsubscribe_url, var_dir=var_dir,
                                 fetch=self._stored)
        self.report = DeliveryReport()
        self.holding = Holding(engine, self.policy.lease, clock)  # claimed, no outcome yet
        self._todo: asyncio.Queue[tuple[Outgoing, int] | None] = asyncio.Queue()
        self._done: asyncio.Queue[Outcome] = asyncio.Queue()
        self._limiter = Limiter(self.policy.rate)
        self._connect_failures = 0
        self._claimed = 0
        self._open = 0  # claimed, no outcome yet
        self._fed_all = False
        self._ending = False
        self._queued = 0  # outcomes handed to the writer …
        self._recorded = 0  # … and those it has committed
        self._written = asyncio.Event()
        self._sending = 0  # connections with a message on the wire
        self._quiet = asyncio.Event()  # … none: the outcomes queued may be committed
        self._low = asyncio.Event()  # the queue is short: claim more
        self._ticked = 0.0
        self._total = 0
        self._stop: str | None = None
        self._outcomes: Connection | None = None  # the writer's own, for the whole run

    def _stored(self, sha256: str, path: Path) -> bytes | None:
        """An attachment this worker's var directory lacks: the program database's copy."""
        with self.engine.connect() as connection:
            return blobs.cached(connection, sha256, path)

    async def run(self) -> DeliveryReport:
        """Claim, send and record until nothing is due (or the breaker opens, or `stop()`)."""
        started = time.perf_counter()
        with session_scope(self.engine) as session:
            outbox.render_legacy(session)
            self._total = outbox.count_due(session, now=self.clock(), round_id=self.round_id)
        if self.limit is not None:
            self._total = min(self._total, self.limit)
        self._tick()
        writer = asyncio.create_task(self._writer())
        keeper = asyncio.create_task(self._keep_leases())
        workers = [asyncio.create_task(self._worker()) for _ in range(self.policy.connections)]
        feeder = asyncio.create_task(self._feed())
        try:
            await asyncio.gather(feeder, *workers)  # a worker's crash ends the run at once
        finally:  # also when cancelled: every row still held is given back
            for t in (feeder, keeper, *workers):
                t.cancel()
            await asyncio.gather(feeder, keeper, *workers, return_exceptions=True)
            self._release_held()
            await self._done.put(_END)
            try:
                await writer
            finally:
                if self._outcomes is not None:
                    self._outcomes.close()
                    self._outcomes = None
        with session_scope(self.engine) as session:
            self.report.leased, self.report.leased_until = outbox.leased(
                session, now=self.clock(), round_id=self.round_id, token=self.holding.token)
        self.report.stopped = self._stop
        self.report.seconds = time.perf_counter() - started
        return self.report

    def stop(self, why: str) -> None:
        """End the run gently (SIGTERM): messages on the wire finish, the rest is released."""
        self._trip(why)

    # --- feeding ------------------------------------------------------------------------

    async def _feed(self) -> None:
        """Claim batches just in time (a row's lease starts when it is claimed)."""
        low = self.policy.connections * 2
        while self._stop is None:
            want = self.policy.batch
            if self.limit is not None:
                want = min(want, self.limit - self._claimed)
            claimed, rows = self._claim(want) if want > 0 else (0, [])
            if not claimed:
                break
            if not rows:  # only rows of ours whose lease had run out
                await asyncio.sleep(0.05)
                continue
            self._claimed += len(rows)
            self._open += len(rows)
            for row in rows:
                self._todo.put_nowait((row, 0))
            while self._todo.qsize() > low and self._stop is None:
                self._low.clear()
                await self._low.wait()
        self._fed_all = True
        self._maybe_end()

    def _maybe_end(self) -> None:
        """Everything claimed has an outcome (or the breaker opened): let the workers go."""
        done = (self._fed_all and self._open == 0) or self._stop is not None
        if done and not self._ending:
            self._ending = True
            for _ in range(self.policy.connections):
                self._todo.put_nowait(None)

    async def _keep_leases(self) -> None:
        """Every third of a lease, extend the leases of the rows still held."""
        while True:
            await asyncio.sleep(self.policy.lease.total_seconds() / 3)
            self._renew()

    def _renew(self) -> None:
        """Renew the leases held; rows another sender took are no longer this run's."""
        lost = self.holding.renew()
        if lost:
            self.report.taken_over += lost
            self._open -= lost
            self._maybe_end()

    def _mine(self, row: Outgoing) -> bool:
        """Just before sending: the row is still this run's (the lease is checked if due)."""
        if self.holding.has(row) and not self.holding.sure():
            self._renew()  # this sender may have stalled past its lease
        return self.holding.has(row)

    def _claim(self, want: int) -> tuple[int, list[Outgoing]]:
        """Claim up to `want` rows: (how many were claimed, those not held already)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            rows = outbox.claim(session, now=now, lease=self.policy.lease, limit=want,
                                token=self.holding.token, round_id=self.round_id)
            missing = {r.body_id for r in rows if not self.composer.has_body(r.body_id)}
            for body_id, rendered in outbox.load_bodies(session, missing).items():
                self.composer.add_body(body_id, rendered)
        taken = self.holding.take(rows, until=now + self.policy.lease)
        self.composer.prepare(taken)  # their headers but the date, in one go (cheaper)
        return len(rows), taken

    # --- sending --------------------------------------------------------------------------

    async def _worker(self) -> None:
        line = _Line()
        try:
            while True:
                item = await self._todo.get()
                if self._todo.qsize() <= 2 * self.policy.connections:
                    self._low.set()  # the feeder claims the next batch
                if item is None:
                    return
                if self._stop is None:  # else released at the end, untouched
                    await self._send(line, *item)
                    line.owed = self._queued
        finally:
            task = asyncio.current_task()
            if line.channel is not None:
                await line.channel.close(abrupt=task is not None and task.cancelling() > 0)

    async def _send(self, line: _Line, row: Outgoing, tries: int) -> None:
        """One attempt of one message; a connection-level failure leaves `line` empty."""
        try:
            if line.channel is None or not line.channel.usable:
                line.channel = await self._connect()
            while self._recorded < line.owed and self._stop is None:  # its last outcome is in
                self._written.clear()
                await self._written.wait()
            if self._limiter.interval:
                await self._limiter.wait()
            data = self.composer.message(row, self.clock())
            if self._stop is not None or not self._mine(row):
                return  # stopped: released at the end; taken over: not this run's any more
            self._sending += 1
            try:
                reply = await line.channel.send(row.recipient, data)
            finally:
                self._sending -= 1
                if not self._sending:
                    self._quiet.set()
            crashpoints.reach("sender-after-message-accepted",
                              f"{row.message_id} accepted, its `sent` not written")
            self._finish(Outcome(row, "sent", reply))
        except _Stop:
            return  # released at the end, untouched
        except AttachmentError as exc:  # a file missing or changed: never a partial message
            self._finish(Outcome(row, "failed", str(exc)))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self._refused(line, row, tries, exc.recipients[0])
        except aiosmtplib.SMTPResponseException as exc:
            self._response(line, row, tries, exc)
        except CONNECTION_ERRORS as exc:
            self._again(line, row, tries, f"connection lost: {exc}".strip())
        except ValueError as exc:  # aiosmtplib refuses a mailbox it cannot send to
            self._finish(Outcome(row, "failed", f"invalid address: {exc}"))

    def _refused(self, line: _Line, row: Outgoing, tries: int,
                 refusal: aiosmtplib.SMTPRecipientRefused) -> None:
        """Classify a reply to RCPT TO."""
        if refusal.code == 421:  # the server is closing: not about this recipient
            self._again(line, row, tries, reply_of(refusal))
            return
        permanent = refusal.code >= 500
        self._finish(Outcome(row, "failed" if permanent else "retry", reply_of(refusal),
                             suppress=permanent))

    def _response(self, line: _Line, row: Outgoing, tries: int,
                  exc: aiosmtplib.SMTPResponseException) -> None:
        """Classify a reply to MAIL FROM or DATA."""
        if exc.code == 421:  # the server closes the connection: try again on a new one
            self._again(line, row, tries, reply_of(exc))
        elif isinstance(exc, aiosmtplib.SMTPSenderRefused):
            if exc.code >= 500:  # the row is released at the end, untouched
                self._trip(f"the server refused the sender: {reply_of(exc)}")
            else:
                self._finish(Outcome(row, "retry", reply_of(exc)))
        else:  # DATA and anything else: 5xx is about this message, 4xx is temporary
            self._finish(Outcome(row, "failed" if exc.code >= 500 else "retry", reply_of(exc)))

    def _again(self, line: _Line, row: Outgoing, tries: int, why: str) -> None:
        """Connection-level failure: same message, same Message-ID, on a new connection."""
        line.drop()
        self.report.reconnects += 1
        if tries + 1 >= self.policy.tries_per_run:
            self._finish(Outcome(row, "retry", why))
        else:
            self._todo.put_nowait((row, tries + 1))

    async def _connect(self) -> Channel:
        where = self.transport.where
        delay = 0.2
        while True:
            if self._stop is not None:
                raise _Stop
            try:
                channel = await self.transport.open(self.envelope)
                self._connect_failures = 0
                return channel
            except LoginFailed as exc:  # trying again cannot help
                self._open_breaker(str(exc))
            except (aiosmtplib.SMTPResponseException, *CONNECTION_ERRORS) as exc:
                self._connect_failures += 1
                self.report.reconnects += 1
                if self._connect_failures >= self.policy.connect_failures:
                    self._open_breaker(f"cannot connect to {where} "
                                       f"({self._connect_failures} attempts): {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except aiosmtplib.SMTPException as exc:  # e.g. no STARTTLS offered
                self._open_breaker(f"cannot use {where}: {' '.join(str(exc).split())}")

    def _trip(self, why: str) -> None:
        """The circuit breaker opens: no new attempts in this run; the rows waiting in the
        queue are given back at once (the ones on the wire finish, and go back at the end)."""
        if self._stop is None:
            self._stop = why
            while not self._todo.empty():
                item = self._todo.get_nowait()
                if item is not None and self.holding.settle(item[0]):
                    self._give_back(item[0])
            self._low.set()  # the feeder stops waiting
            self._maybe_end()

    def _open_breaker(self, why: str) -> None:
        self._trip(why)
        raise _Stop

    # --- recording --------------------------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        row = outcome.row
        if not self.holding.settle(row):
            return  # taken over meanwhile (counted when found out): not this run's outcome
        if (outcome.verdict == "retry"
                and self.clock() - row.created_at >= self.policy.give_up_after):
            outcome = Outcome(row, "failed", f"gave up after {row.attempts} attempts: "
                                             f"{outcome.reply}")
        r = self.report
        if outcome.verdict == "sent":
            r.sent += 1
            r.sent_by_kind[row.kind] = r.sent_by_kind.get(row.kind, 0) + 1
        elif outcome.verdict == "failed":
            r.failed += 1
        elif outcome.verdict == "retry":
            r.retry_later += 1
        if outcome.verdict in ("failed", "retry") and len(r.failures) < 20:
            r.failures.append((outcome.row.kind, outcome.reply))
        self._done.put_nowait(outcome)
        self._queued += 1
        self._open -= 1
        self._tick()
        self._maybe_end()

    def _tick(self) -> None:
        """Progress, at most ten times a second (and always at the end)."""
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self._ticked >= 0.1 or self.report.attempted >= self._total:
            self._ticked = now
            self.progress(self.report.attempted, self._total)

    async def _writer(self) -> None:
        """Record outcomes as they come: whatever the connections have queued shares a commit
        (each waits for it before its next message, so a group is at most one per connection,
        plus rows given back)."""
        while True:
            first = await self._done.get()
            if first is not _END:
                await self._gathered()
            group = [first]
            while not self._done.empty():
                group.append(self._done.get_nowait())
            end = any(o is _END for o in group)
            group = [o for o in group if o is not _END]
            if group:
                try:
                    disowned = self._record(group)  # in the loop: a thread costs more (GIL)
                except BaseException:
                    self._trip("the outbox could not be written")  # nobody waits for it
                    self._written.set()
                    raise
                for outcome in disowned:
                    self.report.disown(outcome)
                self._recorded += len(group)
                self._written.set()
            if end:
                return

    async def _gathered(self) -> None:
        """Until no connection has a message on the wire, for at most `flush_after`: one commit
        takes the outcome of every connection (a commit costs far more than a row in it)."""
        if not self._sending:
            return
        self._quiet.clear()
        timer = asyncio.get_running_loop().call_later(self.policy.flush_after, self._quiet.set)
        try:
            await self._quiet.wait()
        finally:
            timer.cancel()

    def _record(self, group: list[Outcome]) -> list[Outcome]:
        """Write outcomes; returns those whose row another sender took meanwhile.

        One Core connection for the run's outcome commits (a session's bookkeeping, or a pool
        checkout per commit, cost more than the few rows of a commit: issue 24)."""
        if self._outcomes is None:
            self._outcomes = self.engine.connect()
        conn = self._outcomes
        with conn.begin():
            mine = outbox.record(conn, group, token=self.holding.token, now=self.clock(),
                                 backoff=self.policy.backoff, held=self.holding.sure())
            crashpoints.reach("sender-before-outcomes-committed",
                              f"{len(group)} outcome(s) written, not committed")
        return [o for o in group if o.row.id not in mine]

    def _release_held(self) -> None:
        """Give back every row still held, untouched: the next run sends it, same Message-ID."""
        while not self._todo.empty():
            self._todo.get_nowait()
        for row in self.holding.release_all():
            self._give_back(row)

    def _give_back(self, row: Outgoing) -> None:
        """A held row goes back to `pending`, its attempt not counted."""
        self.composer.forget(row)
        self.report.released += 1
        self._queued += 1
        self._open -= 1
        self._done.put_nowait(Outcome(row, "release", self._stop or ""))


_END: Outcome = Outcome(Outgoing(0, "", "", "", "", "", None, 0, 0, utcnow()), "release")
