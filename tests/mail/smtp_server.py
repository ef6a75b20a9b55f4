"""A real SMTP server on loopback (aiosmtpd) that misbehaves on purpose, as scripted by a test."""

from __future__ import annotations

import asyncio
import email
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sangsaeng.mail.embedded import free_port


@dataclass(frozen=True)
class Received:
    """One message the server accepted (or stored before the connection dropped)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Script:
    """Replies to hand out, in order; when a queue is empty the server behaves."""

    rcpt: dict[str, deque[str]] = field(default_factory=dict)  # per address
    data: deque[str] = field(default_factory=deque)  # per DATA, any recipient
    mail: deque[str] = field(default_factory=deque)  # per MAIL FROM
    drop_after_body: int = 0  # store the message, then cut the connection before replying
    drop_before_body: int = 0  # cut the connection at DATA, message not stored
    delay: float = 0.0  # seconds before each DATA reply
    hold: int = 0  # the next `hold` DATA commands wait at the gate (a sender stuck mid-send)
    gate: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    held: int = 0  # DATA commands waiting at the gate now (`gate.release(n)` lets n go)
    on_data: Callable[[int], None] | None = None  # told the count of messages received so far
    data_seen: int = 0


class ScriptedHandler:
    """aiosmtpd handler following a Script; records everything it stored."""

    def __init__(self) -> None:
        self.script = Script()
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.script.mail:
            reply = self.script.mail.popleft()
            if not reply.startswith("2"):
                return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        queue = self.script.rcpt.get(address)
        if queue:
            reply = queue.popleft()
            if not reply.startswith("2"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        script = self.script
        script.data_seen += 1
        if script.on_data is not None:  # the whole message is here, no reply sent yet
            script.on_data(script.data_seen)
        if script.drop_before_body:
            script.drop_before_body -= 1
            server.transport.close()
            return "451 dropped"
        if script.hold:
            script.hold -= 1
            script.held += 1
            await asyncio.get_running_loop().run_in_executor(None, script.gate.acquire)
            script.held -= 1
        if script.delay:
            await asyncio.sleep(script.delay)
        reply = script.data.popleft() if script.data else "250 2.0.0 queued"
        stored = Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                          envelope.original_content or envelope.content)
        if reply.startswith("2") or script.drop_after_body:
            with self.lock:
                self.received.append(stored)
        if script.drop_after_body:  # RFC 1047: stored, but the client never hears so
            script.drop_after_body -= 1
            server.transport.close()
        return reply

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(r.message_id for r in self.received)


class Login:
    """aiosmtpd authenticator: one user and password (AUTH PLAIN/LOGIN without TLS)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


class ScriptedServer:
    """Start/stop-able server on a fixed loopback port (a restart keeps the port).

    With `login`, the server offers AUTH (on plain text: loopback only) and refuses any other
    user or password; without it, it offers no AUTH at all.
    """

    def __init__(self, login: Login | None = None) -> None:
        self.handler = ScriptedHandler()
        self.port = free_port()
        self.login = login
        self.controller: Controller | None = None

    def start(self) -> None:
        auth: dict[str, Any] = {}
        if self.login is not None:
            auth = {"authenticator": self.login, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **auth)
        self.controller.start()

    def stop(self) -> None:
        self.script.gate.release(1000)  # nothing waits for a gate that will never open
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def script(self) -> Script:
        return self.handler.script

    @property
    def received(self) -> list[Received]:
        return self.handler.received
