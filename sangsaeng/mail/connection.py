"""One SMTP connection (aiosmtplib): connect, STARTTLS, login, greeting, one transaction.

The batch loop (sender.py) decides what a failure means; here a login problem is told apart
from a lost connection: retrying a login that the server cannot or will not accept is useless.
A `Transport` is where the batch loop's workers send: an SMTP server here, or the mail folder
(embedded.py); each worker opens one `Channel` and keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import aiosmtplib

from sangsaeng.mail.headers import InvalidAddress, valid_address

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


    @property
    def where(self) -> str:
        """How messages name this transport."""
        return f"{self.host}:{self.port}"

    async def open(self, envelope: Envelope) -> SmtpChannel:
        """A connection ready for MAIL (see `open_connection`)."""
        return SmtpChannel(await open_connection(self), envelope)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The envelope sender: the office's own address, checked and encoded once."""

    sender: str
    mail_from: bytes  # b"FROM:<address>", MAIL's argument

    @classmethod
    def of(cls, sender: str) -> Envelope:
        return cls(sender, b"FROM:<" + valid_address(sender).encode("ascii") + b">")


class Channel(Protocol):
    """One worker's way out: an SMTP connection, or the mail folder (embedded.py).

    `send` returns the reply to the message; it raises what an SMTP connection raises (a reply
    as `SMTPResponseException`, a refused recipient, a connection error), so that the batch
    loop classifies every outcome in one place.
    """

    @property
    def usable(self) -> bool: ...

    async def send(self, recipient: str, data: bytes) -> str: ...

    def drop(self) -> None: ...

    async def close(self, *, abrupt: bool = False) -> None: ...


class Transport(Protocol):
    """Where a delivery run sends: one channel per worker."""

    @property
    def where(self) -> str: ...

    async def open(self, envelope: Envelope) -> Channel: ...


class SmtpChannel:
    """A persistent SMTP connection carrying one transaction at a time."""

    def __init__(self, smtp: aiosmtplib.SMTP, envelope: Envelope) -> None:
        self.smtp, self.envelope = smtp, envelope

    @property
    def usable(self) -> bool:
        return self.smtp.is_connected

    async def send(self, recipient: str, data: bytes) -> str:
        e = self.envelope
        return await transaction(self.smtp, e.mail_from, e.sender, recipient, data)

    def drop(self) -> None:
        """After a connection-level failure: close at once."""
        self.smtp.close()

    async def close(self, *, abrupt: bool = False) -> None:
        await hang_up(self.smtp, abrupt=abrupt)


class LoginFailed(Exception):
    """The server offers no login we can use, or refuses ours (the text names no secret)."""


def reply_of(exc: aiosmtplib.SMTPResponseException) -> str:
    """The server's reply: code and text."""
    return f"{exc.code} {exc.message}".strip()


async def open_connection(server: SmtpServer) -> aiosmtplib.SMTP:
    """A connection ready for MAIL: connected, TLS as configured, logged in if a user is set.

    Raises LoginFailed, a reply (SMTPResponseException) or a connection error; a connection
    that fails half-way is closed.
    """
    smtp = aiosmtplib.SMTP(hostname=server.host, port=server.port, timeout=server.timeout,
                           use_tls=server.tls == "ssl", start_tls=server.tls == "starttls")
    try:
        await smtp.connect()
        if server.user:
            await _login(smtp, server)
        await _greet(smtp)
    except BaseException:
        smtp.close()
        raise
    return smtp


async def _login(smtp: aiosmtplib.SMTP, server: SmtpServer) -> None:
    """AUTH with the configured user; any refusal becomes one line without the password."""
    secret = server.password or ""
    try:
        await smtp.login(server.user or "", secret)
        return
    except CONNECTION_ERRORS:
        raise
    except aiosmtplib.SMTPResponseException as exc:
        why = "SMTP login refused: " + " ".join(reply_of(exc).split())
    except aiosmtplib.SMTPException as exc:  # e.g. no AUTH offered, no usable mechanism
        why = "SMTP login impossible: " + " ".join(str(exc).split())
    # raised outside the handler: no chained traceback whose frames hold the password
    raise LoginFailed(why.replace(secret, "***") if secret else why)


async def _greet(smtp: aiosmtplib.SMTP) -> None:
    """EHLO (HELO if refused) unless STARTTLS or login did it: what `mail()` does first."""
    if smtp.is_ehlo_or_helo_needed:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not smtp.is_connected:
                raise
            await smtp.helo()


async def hang_up(smtp: aiosmtplib.SMTP | None, *, abrupt: bool = False) -> None:
    """QUIT politely, or just close (cancelled mid-transaction: the server may not answer)."""
    if smtp is None or not smtp.is_connected:
        return
    if abrupt:
        smtp.close()
        return
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


async def transaction(smtp: aiosmtplib.SMTP, mail_from: bytes, envelope_from: str,
                      recipient: str, data: bytes) -> str:
    """MAIL, RCPT, DATA for one recipient; the envelope is reset after a refusal.

    What `sendmail` does, minus its parsing: `sendmail` runs `email.utils.parseaddr` four
    times per message (twice itself, then `mail()` and `rcpt()` once each) — measured, the
    largest share of aiosmtplib's CPU per message. The envelope sender is the office's own
    address, encoded once (`mail_from`); the recipient passes the strict check it passed when
    the notice was owed (`headers.valid_address`: ASCII, no space, `<`, `>` or quote), so no
    command can be smuggled onto the line. Replies are classified as `mail()` and `rcpt()` do.
    """
    try:
        rcpt = b"TO:<" + valid_address(recipient).encode("ascii") + b">"
    except InvalidAddress as exc:
        raise ValueError(str(exc)) from None
    try:
        reply = await smtp.execute_command(b"MAIL", mail_from)
        if reply.code != 250:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, envelope_from)
        reply = await smtp.execute_command(b"RCPT", rcpt)
        if reply.code not in (250, 251):
            raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
                reply.code, reply.message, recipient)])
        return str(await smtp.data(data))
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(aiosmtplib.SMTPException, ConnectionError):
            await smtp.rset()
        raise


class Limiter:
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
