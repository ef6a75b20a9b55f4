"""Secrets and personal data in what Prefect keeps (issue 13 §6.4): with the SMTP password in
SANGSAENG_SMTP_PASSWORD, a round's step flows and a delivery run through Prefect's test
harness against a real SMTP server that requires the login; the password (in clear, and as
the base64 an SMTP AUTH carries) must be nowhere in the captured logs, the flow-run logs read
back from the Prefect API, the artifacts, the flow and task runs (parameters, state messages)
or the bytes of Prefect's database and home. The companies' e-mail addresses must be absent
from Prefect's logs and artifacts (the program's rule: BRNs and e-mails stay out of logs).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import parse_instant
from sangsaeng.models import OUTBOX
from tests.mail.smtp_server import Login, ScriptedServer
from tests.security.hostile import (
    CONFIG,
    NOW,
    ROUND,
    hostile_package,
    participant_emails,
    participant_people,
)

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.prefect]

USER = "office"


@dataclass
class Secret:
    """A password and the forms it takes on the wire (AUTH PLAIN, AUTH LOGIN)."""

    password: str

    @property
    def forms(self) -> list[bytes]:
        clear = self.password.encode()
        plain = base64.b64encode(b"\0" + USER.encode() + b"\0" + clear)
        return [clear, plain, base64.b64encode(clear), clear.hex().encode()]

    def found_in(self, data: bytes) -> list[bytes]:
        return [form for form in self.forms if form in data]


@pytest.fixture
def login_server(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ScriptedServer,
                                                                                Secret, Secret]]:
    """A real SMTP server on loopback that requires `office` and the right password; the
    settings send to it. Yields the server, the right secret and a wrong one."""
    from sangsaeng.settings import get_settings

    right = Secret(f"Smtp-{secrets.token_urlsafe(12)}")
    wrong = Secret(f"Old-{secrets.token_urlsafe(12)}")
    server = ScriptedServer(Login(USER, right.password))
    server.start()
    monkeypatch.setenv("SANGSAENG_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SANGSAENG_SMTP_PORT", str(server.port))
    monkeypatch.setenv("SANGSAENG_SMTP_TIMEOUT", "5")
    monkeypatch.setenv("SANGSAENG_SMTP_USER", USER)
    monkeypatch.delenv("SANGSAENG_SMTP_PASSWORD_BLOCK", raising=False)
    get_settings.cache_clear()
    yield server, right, wrong
    server.stop()
    get_settings.cache_clear()


def _use_password(monkeypatch: pytest.MonkeyPatch, secret: Secret) -> None:
    from sangsaeng.settings import get_settings

    monkeypatch.setenv("SANGSAENG_SMTP_PASSWORD", secret.password)
    get_settings.cache_clear()


def _run_steps(package: Path, prefix: str, monkeypatch: pytest.MonkeyPatch,
               right: Secret, wrong: Secret) -> list[str]:
    """The round's step flows one by one, each a flow run of its own that delivers what it
    owes; the first two with a stale password (the server refuses the login), the rest and a
    `deliver_notices` run with the right one. Returns the flow-run names."""
    from flows.certificates import certificate_issuance
    from flows.models import ChairApproval
    from flows.notices import deliver_notices
    from flows.round import (
        close_intake,
        committee_review,
        intake,
        open_call,
        screening,
        selection_notice,
    )

    now = parse_instant(NOW)
    chair = ChairApproval(approve=True, approved_by="chair")
    steps: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
        (open_call, (str(CONFIG), now), {}),
        (intake, (ROUND, str(package), now), {}),
        (close_intake, (ROUND, now), {}),
        (screening, (ROUND, now), {}),
        (committee_review, (ROUND, now), {"approval": chair, "wait_for_chair": False}),
        (selection_notice, (ROUND, now), {}),
        (certificate_issuance, (ROUND, now), {}),
        (deliver_notices, (ROUND,), {}),
    ]
    names = []
    for i, (step, args, kwargs) in enumerate(steps):
        _use_password(monkeypatch, wrong if i < 2 else right)
        name = f"{prefix}-{i}-{step.name}"
        names.append(name)
        asyncio.run(step.with_options(flow_run_name=name)(*args, **kwargs))
    return names


@dataclass
class Kept:
    """What Prefect holds about the runs, as text."""

    flow_runs: str
    task_runs: str
    logs: str
    artifacts: str


def _read_back(names: list[str]) -> Kept:
    """Flow runs, task runs, logs and artifacts of the named runs, from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read() -> Kept:
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=names)))
            assert sorted(r.name for r in runs) == sorted(names)
            ids: list[UUID] = [r.id for r in runs]
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(
                id={"any_": ids}))
            logs: list[Any] = []
            while batch := await client.read_logs(log_filter=LogFilter(
                    flow_run_id=LogFilterFlowRunId(any_=ids)), limit=200, offset=len(logs)):
                logs.extend(batch)
            artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=ids)))
        return Kept("\n".join(r.model_dump_json() for r in runs),
                    "\n".join(t.model_dump_json() for t in tasks),
                    "\n".join(f"{log.level} {log.name} {log.message}" for log in logs),
                    "\n".join(a.model_dump_json() for a in artifacts))

    return asyncio.run(read())


def _settled(names: list[str]) -> Kept:
    """Read back once the logs stopped arriving (they are sent in batches, in the background)."""
    from prefect.logging.handlers import APILogHandler

    asyncio.run(APILogHandler.aflush())
    last, deadline = None, time.monotonic() + 30
    while True:
        kept = _read_back(names)
        if (last is not None and kept.logs == last.logs and kept.task_runs == last.task_runs
                ) or time.monotonic() > deadline:
            return kept
        last = kept
        time.sleep(1)


def _files_under(folder: Path, limit: int = 256 * 1024 * 1024) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= limit:
            yield path, path.read_bytes()


def test_smtp_password_and_company_emails_stay_out_of_prefect(
        login_server: tuple[ScriptedServer, Secret, Secret], env: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Probes secret leakage: the SMTP password (right and refused, clear and base64) through
    a round's step flows and a `deliver_notices` run, one address refused by the server, into
    logs, flow-run logs, artifacts, run parameters and Prefect's database file and home; and
    the companies' e-mail addresses into Prefect's logs and artifacts."""
    import prefect.settings
    from sqlalchemy.engine import make_url

    from sangsaeng.settings import get_settings

    server, right, wrong = login_server
    package = hostile_package(tmp_path)
    emails = participant_emails(package)
    refused = sorted(emails)[0]  # its server reply names it: a failure, recorded
    server.script.rcpt[refused] = deque([f"550 5.1.1 <{refused}>: Recipient address rejected"])
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect")
    prefix = f"sec-{secrets.token_hex(4)}"

    names = _run_steps(package, prefix, monkeypatch, right, wrong)
    kept = _settled(names)

    # the runs did what a round does, with the password: the probes had something to leak
    assert len(server.received) > 150 and all(len(g.rcpt_tos) == 1 for g in server.received)
    assert "login" in kept.logs.lower()  # the refused login was logged (the wrong password)
    assert "2022-2" in kept.artifacts
    with session_scope(get_engine()) as session:
        states = set(session.execute(select(OUTBOX.c.state).where(
            OUTBOX.c.recipient == refused)).scalars())
    assert "failed" in states  # the refusal naming the address was handled and recorded
    assert "open_call" in kept.flow_runs and "deliver_notices" in kept.flow_runs
    # Python logging and the console, except the test's own SMTP server (it logs the wire)
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith("mail.log")).encode()
    out, err = capfd.readouterr()
    printed = (out + err).encode()
    leaks = {}
    for secret in (right, wrong):
        for where, text in (("captured logs", logged), ("console", printed),
                            ("flow-run logs", kept.logs.encode()),
                            ("artifacts", kept.artifacts.encode()),
                            ("flow runs and parameters", kept.flow_runs.encode()),
                            ("task runs", kept.task_runs.encode())):
            if found := secret.found_in(text):
                leaks[(secret.password, where)] = found
    # the bytes of Prefect's database (and its journal) and of PREFECT_HOME
    url = make_url(prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    database = Path(str(url.database))
    assert database.is_file() and database.stat().st_size > 0
    places = [*_files_under(database.parent), *_files_under(prefect.settings.PREFECT_HOME.value())]
    program = make_url(get_settings().resolved_database_url)
    if program.drivername.startswith("sqlite"):  # the program's own database, too
        places.append((Path(str(program.database)), Path(str(program.database)).read_bytes()))
    for path, data in places:
        for secret in (right, wrong):
            if found := secret.found_in(data):
                leaks[(secret.password, str(path))] = found
    assert leaks == {}
    # e-mail addresses of the companies, representatives' names and addresses (issue 27 item
    # 3): not in Prefect's logs nor its artifacts, nor in the program's own log lines
    people = participant_people(package)
    for where, text in (("flow-run logs", kept.logs), ("artifacts", kept.artifacts),
                        ("flow runs and parameters", kept.flow_runs),
                        ("captured logs", logged.decode())):
        shown = sorted(e for e in emails if e in text and where != "captured logs")
        assert shown == [], where
        named = sorted(p for p in people if p in text)
        assert named == [], where
