"""Deliver what the outbox owes, with the SMTP server and policy from the settings.

No SMTP host configured → each message is stored under var/mail/ (embedded.py): written there
directly, or through the embedded SMTP server with SANGSAENG_MAIL_EMBEDDED=smtp.
SIGTERM (a systemd stop) ends a run started on the main thread gently: the messages on the
wire finish and are recorded, every other row held is released at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from sangsaeng.db import get_engine
from sangsaeng.mail.connection import Transport
from sangsaeng.mail.embedded import FileDrop, embedded_server
from sangsaeng.mail.outbox import mail_context
from sangsaeng.mail.sender import DeliveryPolicy, DeliveryReport, Sender, SmtpServer, Tls
from sangsaeng.settings import Settings, get_settings

_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def policy_from(settings: Settings) -> DeliveryPolicy:
    """Connections, rate, lease, backoff and giving up, as configured."""
    return DeliveryPolicy(
        connections=settings.smtp_connections, rate=settings.smtp_rate,
        lease=timedelta(seconds=settings.mail_lease_seconds),
        backoff=settings.backoff_seconds,
        give_up_after=timedelta(hours=settings.mail_give_up_hours))


@contextmanager
def transport_for(settings: Settings, password: str | None = None) -> Iterator[Transport]:
    """The configured SMTP server; else var/mail/, directly or through the embedded server
    (running for the duration of the block)."""
    folder = settings.mail_dir
    if not settings.smtp_host and settings.mail_embedded == "files":
        yield FileDrop(folder)
        return
    if not settings.smtp_host:
        with embedded_server(folder) as (host, port):
            yield SmtpServer(host, port, "none", timeout=settings.smtp_timeout)
        return
    host = settings.smtp_host
    tls: Tls = settings.smtp_tls or ("none" if _is_loopback(host) else "starttls")
    secret = password
    if secret is None and settings.smtp_password is not None:
        secret = settings.smtp_password.get_secret_value()
    yield SmtpServer(host, settings.smtp_port or _DEFAULT_PORTS[tls], tls, settings.smtp_user,
                     secret, settings.smtp_timeout)


async def deliver(*, round_id: str | None = None, limit: int | None = None,
                  password: str | None = None, engine: Engine | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  then_terminate: bool = False) -> DeliveryReport:
    """Send every due notice (of one round, or all); `password` may come from a Secret block.

    On the main thread SIGTERM stops the run gently (the messages on the wire finish and are
    recorded, every other row is released at once); with `then_terminate` (a Prefect task: its
    engine turns SIGTERM into the run's cancellation or crash) the signal is then raised again
    for the handler that was there before, once the rows are safe.
    """
    settings = get_settings()
    context = mail_context()
    with transport_for(settings, password) as transport:
        policy = policy_from(settings)
        if isinstance(transport, FileDrop):  # no server to spare: as many as batches want
            policy = replace(policy, connections=FileDrop.workers)
        sender = Sender(engine or get_engine(), transport, context.sender,
                        policy=policy, round_id=round_id, limit=limit,
                        unsubscribe_url=settings.unsubscribe_url, progress=progress,
                        var_dir=settings.var_dir)
        with _stop_on_sigterm(sender):
            report = await sender.run()
    if then_terminate and report.stopped == TERMINATED:
        signal.raise_signal(signal.SIGTERM)  # the previous handler (Prefect's) takes it from here
    return report


TERMINATED = "terminated (SIGTERM)"


@contextmanager
def _stop_on_sigterm(sender: Sender) -> Iterator[None]:
    """While the block runs, SIGTERM stops `sender` gently (main thread only: signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, sender.stop, TERMINATED)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def deliver_now(**kwargs: object) -> DeliveryReport:
    """`deliver` from synchronous code (the CLI)."""
    return asyncio.run(deliver(**kwargs))  # type: ignore[arg-type]
