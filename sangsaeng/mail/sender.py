"""SMTP delivery with aiosmtplib: a few persistent connections, one recipient per message.

Outcomes (ARCHITECTURE: the outbox):
- 2xx → `sent`. 4xx to the recipient or the data → retried later with backoff; given up after
  the configured time. 5xx to the recipient → `failed` with the reply, address suppressed.
  5xx to the data → `failed` with the reply.
- 421, timeouts and lost connections → reconnect and try again in this run, with the same
  Message-ID (the server may have stored a message whose final reply was lost: RFC 1047).
- 5xx to MAIL FROM or AUTH, or repeated connect failures → the circuit breaker stops the batch:
  rows not yet attempted are released untouched, and the report says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Literal

import aiosmtplib
from sqlalchemy import Engine

from sangsaeng.db import session_scope
from sangsaeng.mail import outbox
from sangsaeng.mail.compose import Composer
from sangsaeng.mail.headers import InvalidAddress, valid_address
from sangsaeng.mail.outbox import Outcome, Outgoing
from sangsaeng.models import utcnow

Tls = Literal["none", "starttls", "ssl"]
CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                     aiosmtplib.SMTPTimeoutError, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to connect; the password never comes from a file."""

    host: str
    port: int
    tls: Tls = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the password
        return f"SmtpServer({self.host}:{self.port}, tls={self.tls}, user={self.user!r})"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard to try: connections, rate, lease, backoff, giving up, circuit breaker."""

    connections: int = 4
    rate: float = 0.0  # messages per second over all connections; 0 = no limit
    lease: timedelta = timedelta(minutes=5)
    backoff: tuple[int, ...] = (60, 300, 1800, 7200)
    give_up_after: timedelta = timedelta(hours=48)
    batch: int = 200
    connect_failures: int = 3  # consecutive, across connections: then stop the batch
    tries_per_run: int = 3  # connection-level failures of one message before backing off
    unrecorded: int = 32  # outcomes sent but not yet written, at most
    flush_after: float = 0.03  # seconds an outcome may wait to share a commit with others

    @property
    def window(self) -> int:
        """Outcomes that may wait to be written; after a crash duplicates ≤ window + connections."""
        return max(self.unrecorded, 1)


@dataclass(slots=True)
class DeliveryReport:
    """What one run of the sender did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    reconnects: int = 0
    stopped: str | None = None
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (kind, reply) samples
    sent_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        """Messages whose outcome was recorded (released ones were not attempted)."""
        return self.sent + self.retry_later + self.failed


class _Stop(Exception):
    """The circuit breaker opened: stop taking messages."""


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


async def _greet(smtp: aiosmtplib.SMTP) -> None:
    """EHLO (HELO if refused) unless STARTTLS or login did it: what `mail()` does first."""
    if smtp.is_ehlo_or_helo_needed:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not smtp.is_connected:
                raise
            await smtp.helo()


class _Limiter:
    """A shared pace: at most `rate` sends per second (0 = unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        at = max(self.next_at, now)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class Sender:
    """One delivery run over the outbox; build it, then `await run()`."""

    def __init__(self, engine: Engine, server: SmtpServer, sender: Address, *,
                 policy: DeliveryPolicy | None = None, round_id: str | None = None,
                 limit: int | None = None, unsubscribe_url: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.server, self.envelope_from = engine, server, sender.addr_spec
        self._mail_from = b"FROM:<" + valid_address(sender.addr_spec).encode("ascii") + b">"
        self.policy = policy or DeliveryPolicy()
        self.round_id, self.limit, self.progress, self.clock = round_id, limit, progress, clock
        self.composer = Composer(sender, unsubscribe_url=unsubscribe_url)
        self.report = DeliveryReport()
        self._todo: asyncio.Queue[tuple[Outgoing, int] | None] = asyncio.Queue()
        self._done: asyncio.Queue[Outcome] = asyncio.Queue()
        self._limiter = _Limiter(self.policy.rate)
        self._connect_failures = 0
        self._claimed = 0
        self._open = 0  # claimed, no outcome yet
        self._fed_all = False
        self._ending = False
        self._unrecorded = 0
        self._written = asyncio.Event()
        self._held: set[int] = set()  # claimed by this run, no outcome yet
        self._low = asyncio.Event()  # the queue is short: claim more
        self._enough = asyncio.Event()  # enough outcomes for one commit
        self._ticked = 0.0
        self._total = 0
        self._stop: str | None = None

    async def run(self) -> DeliveryReport:
        """Claim, send and record until nothing is due (or the breaker opens)."""
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
        finally:
            for t in (feeder, keeper, *workers):
                t.cancel()
            for _ in workers:  # a worker whose cancellation got lost still ends
                self._todo.put_nowait(None)
            await asyncio.gather(feeder, keeper, *workers, return_exceptions=True)
            await self._release_unsent()
            await self._done.put(_END)
            await writer
        self.report.stopped = self._stop
        self.report.seconds = time.perf_counter() - started
        return self.report

    # --- feeding ------------------------------------------------------------------------

    async def _feed(self) -> None:
        """Claim batches just in time (a row's lease starts when it is claimed)."""
        low = self.policy.connections * 2
        while self._stop is None:
            want = self.policy.batch
            if self.limit is not None:
                want = min(want, self.limit - self._claimed)
            claimed = self._claim(want) if want > 0 else []
            if not claimed:
                break
            rows = [r for r in claimed if r.id not in self._held]  # not ours already
            if not rows:
                await asyncio.sleep(0.05)
                continue
            self._claimed += len(rows)
            self._open += len(rows)
            for row in rows:
                self._held.add(row.id)
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
            if self._held:
                with session_scope(self.engine) as session:
                    outbox.renew(session, sorted(self._held),
                                 until=self.clock() + self.policy.lease)

    def _claim(self, want: int) -> list[Outgoing]:
        with session_scope(self.engine) as session:
            rows = outbox.claim(session, now=self.clock(), lease=self.policy.lease, limit=want,
                                round_id=self.round_id)
            missing = {r.body_id for r in rows if not self.composer.has_body(r.body_id)}
            for body_id, rendered in outbox.load_bodies(session, missing).items():
                self.composer.add_body(body_id, rendered)
            return rows

    # --- sending --------------------------------------------------------------------------

    async def _worker(self) -> None:
        smtp: aiosmtplib.SMTP | None = None
        try:
            while True:
                item = await self._todo.get()
                if self._todo.qsize() <= 2 * self.policy.connections:
                    self._low.set()  # the feeder claims the next batch
                if item is None:
                    return
                if self._stop is not None:
                    self._todo.put_nowait(item)  # released at the end, untouched
                    continue
                row, tries = item
                smtp = await self._send(smtp, row, tries)
        finally:
            if smtp is not None and smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()

    async def _send(self, smtp: aiosmtplib.SMTP | None, row: Outgoing, tries: int
                    ) -> aiosmtplib.SMTP | None:
        """One attempt; returns the connection to reuse (None after a connection failure)."""
        try:
            if smtp is None or not smtp.is_connected:
                smtp = await self._connect()
            while self._unrecorded >= self.policy.window:  # bounds duplicates after a crash
                self._written.clear()
                await self._written.wait()
            if self._limiter.interval:
                await self._limiter.wait()
            data = self.composer.message(row, self.clock())
            reply = await self._transaction(smtp, row.recipient, data)
            self._finish(Outcome(row, "sent", reply))
            return smtp
        except _Stop:
            self._todo.put_nowait((row, tries))  # released at the end, untouched
            return None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            if refusal.code == 421:  # the server is closing: not about this recipient
                self._again(smtp, row, tries, _reply(refusal))
                return None
            permanent = refusal.code >= 500
            self._finish(Outcome(row, "failed" if permanent else "retry", _reply(refusal),
                                 suppress=permanent))
            return smtp
        except aiosmtplib.SMTPResponseException as exc:
            return self._response(smtp, row, tries, exc)
        except CONNECTION_ERRORS as exc:
            self._again(smtp, row, tries, f"connection lost: {exc}".strip())
            return None
        except ValueError as exc:  # aiosmtplib refuses a mailbox it cannot send to
            self._finish(Outcome(row, "failed", f"invalid address: {exc}"))
            return smtp

    async def _transaction(self, smtp: aiosmtplib.SMTP, recipient: str, data: bytes) -> str:
        """MAIL, RCPT, DATA for one recipient; the envelope is reset after a refusal.

        What `sendmail` does, minus its parsing: `sendmail` runs `email.utils.parseaddr` four
        times per message (twice itself, then `mail()` and `rcpt()` once each) — measured, the
        largest share of aiosmtplib's CPU per message. The envelope sender is the office's own
        address, encoded once; the recipient passes the strict check it passed when the notice
        was owed (`headers.valid_address`: ASCII, no space, `<`, `>` or quote), so no command
        can be smuggled onto the line. Replies are classified as `mail()` and `rcpt()` do.
        """
        try:
            rcpt = b"TO:<" + valid_address(recipient).encode("ascii") + b">"
        except InvalidAddress as exc:
            raise ValueError(str(exc)) from None
        try:
            reply = await smtp.execute_command(b"MAIL", self._mail_from)
            if reply.code != 250:
                raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, self.envelope_from)
            reply = await smtp.execute_command(b"RCPT", rcpt)
            if reply.code not in (250, 251):
                raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
                    reply.code, reply.message, recipient)])
            return str(await smtp.data(data))
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            with contextlib.suppress(aiosmtplib.SMTPException, ConnectionError):
                await smtp.rset()
            raise

    def _response(self, smtp: aiosmtplib.SMTP | None, row: Outgoing, tries: int,
                  exc: aiosmtplib.SMTPResponseException) -> aiosmtplib.SMTP | None:
        """Classify a reply to MAIL FROM or DATA (RCPT refusals are handled by `_send`)."""
        if exc.code == 421:  # the server closes the connection: try again on a new one
            self._again(smtp, row, tries, _reply(exc))
            return None
        if isinstance(exc, aiosmtplib.SMTPSenderRefused):
            if exc.code >= 500:
                self._trip(f"the server refused the sender: {_reply(exc)}")
                self._todo.put_nowait((row, tries))  # released at the end, untouched
            else:
                self._finish(Outcome(row, "retry", _reply(exc)))
            return smtp
        # DATA and anything else: 5xx is about this message, 4xx is temporary
        self._finish(Outcome(row, "failed" if exc.code >= 500 else "retry", _reply(exc)))
        return smtp

    def _again(self, smtp: aiosmtplib.SMTP | None, row: Outgoing, tries: int, why: str) -> None:
        """Connection-level failure: same message, same Message-ID, on a new connection."""
        if smtp is not None:
            smtp.close()
        self.report.reconnects += 1
        if tries + 1 >= self.policy.tries_per_run:
            self._finish(Outcome(row, "retry", why))
        else:
            self._todo.put_nowait((row, tries + 1))

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.server
        delay = 0.2
        while True:
            if self._stop is not None:
                raise _Stop
            smtp = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout,
                                   use_tls=s.tls == "ssl", start_tls=s.tls == "starttls")
            try:
                await smtp.connect()
                if s.user:
                    await smtp.login(s.user, s.password or "")
                await _greet(smtp)
                self._connect_failures = 0
                return smtp
            except aiosmtplib.SMTPAuthenticationError as exc:
                smtp.close()
                self._open_breaker(f"SMTP login refused: {_reply(exc)}")
            except (aiosmtplib.SMTPResponseException, *CONNECTION_ERRORS) as exc:
                smtp.close()
                self._connect_failures += 1
                self.report.reconnects += 1
                if self._connect_failures >= self.policy.connect_failures:
                    self._open_breaker(f"cannot connect to {s.host}:{s.port} "
                                       f"({self._connect_failures} attempts): {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _trip(self, why: str) -> None:
        """The circuit breaker opens: no new attempts in this run."""
        if self._stop is None:
            self._stop = why
            self._low.set()  # the feeder stops waiting
            self._maybe_end()

    def _open_breaker(self, why: str) -> None:
        self._trip(why)
        raise _Stop

    # --- recording --------------------------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        row = outcome.row
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
        if self._done.qsize() >= self.policy.window // 2:
            self._enough.set()
        self._held.discard(row.id)
        self._unrecorded += 1
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
        """Record outcomes as they come, in groups: duplicates after a crash stay few."""
        while True:
            first = await self._done.get()
            if first is not _END and self._done.qsize() + 1 < self.policy.window // 2:
                # one commit for many outcomes (a commit costs ~0.5 ms)
                self._enough.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._enough.wait(), self.policy.flush_after)
            group = [first]
            while not self._done.empty():
                group.append(self._done.get_nowait())
            end = any(o is _END for o in group)
            group = [o for o in group if o is not _END]
            if group:
                self._record(group)  # in the loop: a thread hand-off costs more (GIL convoy)
                self._unrecorded -= len(group)
                self._written.set()
            if end:
                return

    def _record(self, group: list[Outcome]) -> None:
        with self.engine.begin() as conn:  # Core: a session's bookkeeping costs more than this
            outbox.record(conn, group, now=self.clock(), backoff=self.policy.backoff)

    async def _release_unsent(self) -> None:
        left = []
        while not self._todo.empty():
            item = self._todo.get_nowait()
            if item is not None:
                left.append(Outcome(item[0], "release", self._stop or ""))
        self.report.released += len(left)
        self._unrecorded += len(left)
        self._held.clear()
        for outcome in left:
            self._done.put_nowait(outcome)


_END: Outcome = Outcome(Outgoing(0, "", "", "", "", "", None, 0, 0, utcnow()), "release")
