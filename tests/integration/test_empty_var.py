"""A worker needs only the databases (issue 24 item 4, docs/deploy.md): after a replay, a
process whose var directory is new and empty — another machine, or a worker that lost its
disk — fetches any certificate PDF and the round's package from the program database, sends a
notice whose certificate PDF it never wrote, reads an upload another machine received, and its
office app serves the round's exports that another worker wrote.
"""

from __future__ import annotations

import email
import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from sangsaeng import blobs
from sangsaeng.cli import app
from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import AccessEntry, Certificate, OutboxMessage
from sangsaeng.services import uploads
from sangsaeng.settings import get_settings
from sangsaeng.web.office import office_server
from tests.conftest import ROUND_2022_2

pytestmark = [pytest.mark.usefixtures("replayed"), pytest.mark.db]  # also on PostgreSQL

PACKAGE = ROUND_2022_2 / "package"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def empty_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's var directory, new and empty (the replay's stays where it was)."""
    fresh = tmp_path / "other-machine" / "var"
    monkeypatch.setenv("SANGSAENG_VAR_DIR", str(fresh))
    get_settings.cache_clear()
    assert not fresh.exists()
    return fresh


def test_a_certificate_pdf_comes_from_the_database_and_is_kept_here(
        empty_var: Path, tmp_path: Path) -> None:
    out = tmp_path / "22-MP0007.pdf"
    code, _, err = cli("certificates", "pdf", "22-MP0007", "--out", str(out), "--reason",
                       "구매기관 확인 요청")
    assert code == 0, err
    with session_scope(get_engine()) as session:
        cert = session.get(Certificate, "22-MP0007")
        assert cert is not None
        issued = cert.pdf_sha256
    assert hashlib.sha256(out.read_bytes()).hexdigest() == issued
    kept = empty_var / "certificates" / "2022-2" / "22-MP0007-v1.pdf"
    assert kept.read_bytes() == out.read_bytes()  # a copy for the next reader


def test_the_rounds_package_comes_from_the_database_byte_for_byte(
        empty_var: Path, tmp_path: Path) -> None:
    target = tmp_path / "package"
    code, _, err = cli("round", "package", "--round", "2022-2", "--out", str(target))
    assert code == 2 and not target.exists() and "--reason" in err  # personal data: a reason
    code, _, err = cli("round", "package", "--round", "2022-2", "--out", str(target),
                       "--reason", "감사원 자료 요구")
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in PACKAGE.iterdir())
    assert all((target / p.name).read_bytes() == p.read_bytes() for p in PACKAGE.iterdir())
    with session_scope(get_engine()) as session:
        row = session.scalars(select(AccessEntry)).one()
        assert (row.action, row.round_id, row.subject_count) == ("output", "2022-2", 36)
    code, _, err = cli("round", "package", "--round", "2031-9", "--out", str(target),
                       "--reason", "없는 회차")
    assert code == 2 and "no package is kept" in err


def test_a_notice_goes_with_a_pdf_this_worker_never_wrote(empty_var: Path) -> None:
    with session_scope(get_engine()) as session:
        notice = session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "certificate.issued").order_by(OutboxMessage.id)).first()
        assert notice is not None
        number = notice.subject_id
        cert = session.get(Certificate, number)
        assert cert is not None
        sha = cert.pdf_sha256
    code, _, err = cli("notices", "resend", "--id", str(notice.id), "--reason", "메일 분실")
    assert code == 0, err
    code, out, err = cli("notices", "send", "--round", "2022-2")
    assert code == 0 and "sent 1," in out and "failed 0" in out, out + err
    [eml] = list((empty_var / "mail").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes())
    [pdf] = [part.get_payload(decode=True) for part in message.walk()
             if part.get_content_type() == "application/pdf"]
    assert isinstance(pdf, bytes) and hashlib.sha256(pdf).hexdigest() == sha


def test_an_upload_received_by_another_machine_is_read_here(
        empty_var: Path, tmp_path: Path) -> None:
    there = tmp_path / "office-machine" / "var" / "inbox"
    files = [(p.name, p.read_bytes()) for p in sorted(PACKAGE.iterdir())]
    folder = uploads.store(there, "2022-2", uploads.Kind.PACKAGE, files,
                           uploads.Limits(50 << 20, 200 << 20), datetime.now(UTC))
    with session_scope(get_engine()) as session:
        uploads.keep(session, "2022-2", uploads.Kind.PACKAGE, folder)
    # what the upload page gives the import run: a path on the office's machine, gone here
    shutil.rmtree(there.parent)
    with session_scope(get_engine()) as session:
        here = uploads.local_copy(session, folder / "applications.csv",
                                  get_settings().inbox_dir)
    assert here == empty_var / "inbox" / "2022-2" / folder.name / "applications.csv"
    assert here.read_bytes() == (PACKAGE / "applications.csv").read_bytes()
    # the same bytes are stored once, whatever the uploads that name them
    with session_scope(get_engine()) as session:
        count = session.scalar(text("SELECT count(*) FROM storedfile WHERE sha256 = :sha"),
                               {"sha": blobs.digest(here.read_bytes())})
    assert count == 1



def test_the_office_app_here_renders_the_exports_a_worker_elsewhere_wrote(
        empty_var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING"):
        monkeypatch.delenv(name, raising=False)
    exports = get_settings().exports_dir
    with office_server(exports, 0) as url, httpx.Client(base_url=url, timeout=10) as client:
        decisions = client.get("/2022-2/decisions.csv")
        assert decisions.status_code == 200
        assert decisions.content == (ROUND_2022_2 / "expected" / "decisions.csv").read_bytes()
        listing = client.get("/2022-2/")
        assert listing.status_code == 200 and "selection.xlsx" in listing.text
        assert client.get("/2031-9/decisions.csv").status_code == 404  # no such round
    assert (exports / "2022-2" / "announcement.md").is_file()
