"""The office app's upload page (`/upload`): the office drops the portal's export for a round
(one XLSX, the CSV files or a ZIP of them) or the after-selection files; they are checked at
once, stored under `<var>/inbox/`, and the import run is started.

Protection (docs/operations.md, "Remote access"): the Prefect UI's shared basic-auth string
(PREFECT_SERVER_API_AUTH_STRING, else PREFECT_API_AUTH_STRING, `user:password`) from the
environment of `serve`. With none set, the page answers only on a loopback address and to a
loopback Host name (as the UI, which then has no password either). Every POST carries a
CSRF token (an HMAC of a secret drawn at start, with its expiry) and an Origin or Referer of
the page's own origin. The form is parsed as it streams in, its size and number of parts
limited before the body is read. Responses are `no-store`, with a strict
Content-Security-Policy.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hmac
import ipaddress
import json
import os
import secrets
import shutil
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from http import HTTPStatus
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from sangsaeng.domain.clock import KST
from sangsaeng.domain.names import ROUND_STATES, named
from sangsaeng.errors import SangsaengError
from sangsaeng.io.after_selection import SUPPORT_COLUMNS
from sangsaeng.io.package import RowError
from sangsaeng.io.rows import COLUMNS
from sangsaeng.io.sources import rows_refused
from sangsaeng.settings import Settings
from sangsaeng.web.pages import Pages

UPLOAD_PATH = "/upload"
TOKEN_TTL_S = 8 * 3600  # a page left open over a working day still uploads
DRAIN_FACTOR = 4  # a body up to 4× the limit is read and dropped, so the browser sees the 413
SHOWN_ERRORS = 200  # rows listed on the page (the run's artifact lists them all)
MAX_PARTS = 24  # form fields and files together, checked as the body streams in
MAX_FIELD_BYTES = 64 * 1024  # a text field (round, kind, token) is a few bytes
LOOPBACK_NAMES = ("localhost",)
NO_STORE = "no-store"


def auth_string(environ: Mapping[str, str]) -> str | None:
    """The Prefect UI's shared `user:password`, as the server or its clients are given it."""
    return (environ.get("PREFECT_SERVER_API_AUTH_STRING")
            or environ.get("PREFECT_API_AUTH_STRING") or None)


def is_authorized(header: str | None, expected: str) -> bool:
    """HTTP Basic credentials equal to `expected` (compared in constant time)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected.encode())


def ui_url(environ: Mapping[str, str]) -> str | None:
    """The Prefect UI's base URL: PREFECT_UI_URL, else PREFECT_API_URL without `/api`."""
    if environ.get("PREFECT_UI_URL"):
        return environ["PREFECT_UI_URL"].rstrip("/")
    api = environ.get("PREFECT_API_URL", "").rstrip("/")
    return api.removesuffix("/api") or None


def run_url(ui: str, run_id: str) -> str:
    """A flow run's page in the Prefect UI."""
    return f"{ui.rstrip('/')}/runs/flow-run/{urllib.parse.quote(run_id)}"


def form_url(ui: str, deployment_id: str, parameters: Mapping[str, object]) -> str:
    """A deployment's run form in the Prefect UI, filled in with `parameters` (the UI reads
    them from the `parameters` query, as its own "run again" link does)."""
    query = urllib.parse.urlencode({"parameters": json.dumps(dict(parameters),
                                                             ensure_ascii=False)})
    return (f"{ui.rstrip('/')}/deployments/deployment/{urllib.parse.quote(deployment_id)}"
            f"/run?{query}")


def is_same_origin(headers: Mapping[str, str]) -> bool:
    """A POST comes from one of our pages: its Origin (or Referer) is our own origin."""
    own = f"http://{headers.get('Host', '')}"
    origin = headers.get("Origin")
    referer = headers.get("Referer", "")
    if origin is not None:
        return bool(headers.get("Host")) and origin == own
    return bool(headers.get("Host")) and (referer == own or referer.startswith(own + "/"))


def basic_user(header: str | None) -> str | None:
    """The user part of HTTP Basic credentials (checked by `is_authorized` first)."""
    scheme, _, encoded = (header or "").partition(" ")
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    return given.partition(":")[0] or None if scheme.lower() == "basic" else None


def account_of(request: Request, expected: str | None) -> str:
    """Whose account a request comes with (the access log's): the shared password's user,
    else the server process's OS user (`local:<login>`: no password, loopback only)."""
    if expected:
        return basic_user(request.headers.get("Authorization")) or "-"
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:office"


def is_loopback(host: str) -> bool:
    """`host` (an address or name, no port) is this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Form:
    """A parsed multipart form: its text fields and its files (client name, bytes)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)


class Refusal(SangsaengError):
    """A request answered with an error status and a message on the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def refused(message: str) -> dict[str, Any]:
    """The page's result box for a refused request (every key the template reads)."""
    return {"status": "refused", "message": message, "files": [], "rows": 0, "folder": None,
            "errors": [], "error_count": 0, "refused_rows": 0, "run_url": None,
            "run_name": None, "run_note": None, "form_url": None}


class UploadDesk:
    """The upload page of one server: its CSRF secret, its templates, its requests."""

    def __init__(self, settings: Settings, pages: Pages) -> None:
        self._secret = secrets.token_bytes(32)  # drawn at start: a restart voids old pages
        self.settings, self.pages = settings, pages

    def token(self, now: float) -> str:
        """A CSRF token valid for TOKEN_TTL_S: `<expiry>.<HMAC(secret, expiry)>`."""
        expiry = str(int(now) + TOKEN_TTL_S)
        return f"{expiry}.{self._mac(expiry)}"

    def is_valid_token(self, token: str, now: float) -> bool:
        """The token is one this server made and has not expired."""
        expiry, _, mac = token.partition(".")
        return (expiry.isdigit() and int(expiry) > now
                and hmac.compare_digest(mac.encode(), self._mac(expiry).encode()))

    def _mac(self, expiry: str) -> str:
        return hmac.new(self._secret, f"upload:{expiry}".encode(), sha256).hexdigest()

    async def answer(self, request: Request) -> Response:
        """GET: the form; POST: take an upload. Both behind the password (or loopback)."""
        page = Page(self, request)
        try:
            page.admit()
        except Refusal as refusal:  # no form, no round list, no token for a stranger
            return await run_in_threadpool(page.send, refusal.status, refused(str(refusal)),
                                           False)
        try:
            if request.method == "GET":
                return await run_in_threadpool(page.send, HTTPStatus.OK)
            if request.method != "POST":
                raise Refusal(HTTPStatus.METHOD_NOT_ALLOWED, "GET 또는 POST만 받습니다")
            page.check_origin()
            form = await page.read_form()
            return await run_in_threadpool(page.take_upload, form)
        except Refusal as refusal:
            return await run_in_threadpool(page.send, refusal.status, refused(str(refusal)))


def admit(request: Request, expected: str | None) -> None:
    """The shared password (`expected`), or (with none set) loopback only: else Refusal."""
    headers = request.headers
    if expected is not None:
        if not is_authorized(headers.get("Authorization"), expected):
            raise Refusal(HTTPStatus.UNAUTHORIZED,
                          "비밀번호가 필요합니다 (Prefect UI와 같은 공유 비밀번호)")
        return
    bound = str((request.scope.get("server") or ("",))[0])
    host = urllib.parse.urlsplit(f"//{headers.get('Host', '')}").hostname or ""
    if not (is_loopback(bound) and is_loopback(host)):
        raise Refusal(HTTPStatus.FORBIDDEN, "공유 비밀번호가 설정되지 않아 127.0.0.1에서만 "
                                            "열립니다 (docs/operations.md §7)")


class Page:
    """One request to the upload page."""

    def __init__(self, desk: UploadDesk, request: Request) -> None:
        self.desk, self.request, self.settings = desk, request, desk.settings
        self.expected = auth_string(os.environ)
        self.chosen: dict[str, str] = {}

    def admit(self) -> None:
        """The shared password, or (with none set) loopback only."""
        admit(self.request, self.expected)

    def check_origin(self) -> None:
        """A POST comes from this page: its Origin (or Referer) is our own origin."""
        if not is_same_origin(self.request.headers):
            raise Refusal(HTTPStatus.FORBIDDEN, "다른 사이트에서 보낸 요청은 받지 않습니다 "
                                                "(cross-site request refused)")

    def length(self) -> int:
        """The announced body length, within the limit (checked before reading the body)."""
        headers = self.request.headers
        if headers.get("Transfer-Encoding"):
            raise Refusal(HTTPStatus.LENGTH_REQUIRED, "Content-Length가 필요합니다")
        try:
            length = int(headers.get("Content-Length", ""))
        except ValueError:
            raise Refusal(HTTPStatus.LENGTH_REQUIRED, "Content-Length가 필요합니다") from None
        if length < 0:
            raise Refusal(HTTPStatus.BAD_REQUEST, "Content-Length가 올바르지 않습니다")
        return length

    async def read_form(self) -> Form:
        """The multipart form, parsed as it streams in: at most MAX_PARTS parts, the body no
        larger than the limit."""
        length, limit = self.length(), int(self.settings.upload_max_mb * 2**20)
        if length > limit:
            await self._drain(length, limit)
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"파일이 너무 큽니다: 최대 {self.settings.upload_max_mb:g} MB "
                          f"(upload over {self.settings.upload_max_mb:g} MB refused)")
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise Refusal(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "multipart/form-data가 아닙니다")
        try:
            async with self.request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS,
                                         max_part_size=MAX_FIELD_BYTES) as parsed:
                return await collect(parsed.multi_items())
        except HTTPException as exc:  # python-multipart's refusal, as it streamed in
            raise Refusal(HTTPStatus.BAD_REQUEST, "양식을 읽을 수 없습니다: 항목이 너무 많거나 "
                                                  f"형식이 맞지 않습니다 ({exc.detail})") from None
        except ClientDisconnect:
            raise Refusal(HTTPStatus.BAD_REQUEST, "요청이 중간에 끊겼습니다") from None

    async def _drain(self, length: int, limit: int) -> None:
        """Read and drop a body somewhat over the limit (else the browser sees a reset
        connection, not the page); a larger one is left unread (the connection closes)."""
        if length > DRAIN_FACTOR * limit:
            return
        try:
            async for _ in self.request.stream():
                pass
        except ClientDisconnect:
            pass

    def take_upload(self, form: Form) -> Response:
        """Check the token, store and check the files, start the import run."""
        from sangsaeng.db import get_engine, session_scope
        from sangsaeng.domain.access import AccessAction
        from sangsaeng.services import access, uploads
        from sangsaeng.services.round_files import known_rounds

        if not self.desk.is_valid_token(form.fields.get("csrf", ""), time.time()):
            raise Refusal(HTTPStatus.FORBIDDEN, "이 양식은 만료되었거나 이 서버가 만든 것이 "
                                                "아닙니다: 페이지를 새로 열어 다시 올리십시오 "
                                                "(CSRF token refused)")
        round_id, kind_value = form.fields.get("round", ""), form.fields.get("kind", "")
        self.chosen = {"round": round_id, "kind": kind_value}
        with session_scope(get_engine()) as session:
            rounds = {r.id: r for r in known_rounds(session, self.settings.config_dir)}
            if round_id not in rounds or kind_value not in tuple(uploads.Kind):
                raise Refusal(HTTPStatus.BAD_REQUEST, "회차와 자료 종류를 고르십시오")
            kind = uploads.Kind(kind_value)
            limits = uploads.Limits(int(self.settings.upload_max_mb * 2**20),
                                    int(self.settings.upload_unpacked_max_mb * 2**20))
            now = datetime.now(KST)
            try:
                folder = uploads.store(self.settings.inbox_dir, round_id, kind, form.files,
                                       limits, now)
            except uploads.UploadRefused as exc:
                raise Refusal(exc.status, str(exc)) from None
            try:
                checked = uploads.check(session, kind, round_id, folder,
                                        rounds[round_id].path, self.settings.config_dir, now)
            except SangsaengError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise Refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"파일을 읽을 수 없어 보관하지 않았습니다: {exc}") from None
            in_database = rounds[round_id].state is not None
            uploads.keep(session, round_id, kind, checked.folder)  # every worker reads it
            # 입력: the files are kept, with whose data they hold (the access log's row)
            access.record(session, access.Request(
                account_of(self.request, self.expected),
                (self.request.client or ("-",))[0], AccessAction.INPUT,
                f"{round_id}/{checked.folder.name}", round_id, checked.receipts,
                f"{kind.label} 올리기"), now)
        return self.send(HTTPStatus.OK, self._accepted(checked, kind, round_id, in_database))

    def _accepted(self, checked: Any, kind: Any, round_id: str, in_database: bool
                  ) -> dict[str, Any]:
        errors: list[RowError] = checked.errors
        refused_rows = rows_refused(errors)  # rows, as the run counts them
        result = {**refused(f"{round_id} {kind.label}를 보관했습니다"
                            + (f" — 거부된 행 {refused_rows}건은 가져오지 않고, 나머지 행은 "
                               "기록합니다" if errors else " — 모든 행이 올바릅니다")),
                  "refused_rows": refused_rows,
                  "status": "accepted", "files": checked.files, "rows": checked.rows,
                  # the upload's name in the round's inbox, not the server's path to it
                  "folder": f"{round_id}/{checked.folder.name}", "errors": errors[:SHOWN_ERRORS],
                  "error_count": len(errors)}
        ui = ui_url(os.environ)
        if not os.environ.get("PREFECT_API_URL") or ui is None:
            result["run_note"] = ("Prefect API가 설정되지 않아 검사와 보관만 했습니다 "
                                  "(stored and checked only: no Prefect API)")
        elif kind.value == "package" and not in_database:
            result.update(_round_form(ui, round_id))
        else:
            result.update(_import_run(ui, kind.value, round_id, checked))
        sys.stderr.write(f"upload: {round_id} {kind.value} → {checked.folder} "
                         f"({checked.rows} rows, {len(errors)} refused; run "
                         f"{result['run_url'] or 'not started'})\n")
        return result

    def send(self, status: int, result: dict[str, Any] | None = None, form: bool = True
             ) -> Response:
        """The page (form, and the result of an upload) with its security headers."""
        from sangsaeng.db import get_engine, session_scope
        from sangsaeng.services import uploads
        from sangsaeng.services.round_files import known_rounds

        rounds: list[tuple[str, str]] = []
        if form:
            with session_scope(get_engine()) as session:
                rounds = [(r.id, f"{r.title} ({_state_of(r.state)})")
                          for r in known_rounds(session, self.settings.config_dir)]
        headers = ({"WWW-Authenticate": 'Basic realm="sangsaeng", charset="UTF-8"'}
                   if status == HTTPStatus.UNAUTHORIZED else {})
        return self.desk.pages.page(
            "web/upload.html.j2", status, cache=NO_STORE, headers=headers,
            result=result, form=form, rounds=rounds, kinds=list(uploads.Kind),
            token=self.desk.token(time.time()), max_mb=f"{self.settings.upload_max_mb:g}",
            chosen_round=self.chosen.get("round", ""),
            chosen_kind=self.chosen.get("kind", "package"),
            package_files=[f"{s}.csv" for s in COLUMNS],
            support_files=[f"{s}.csv" for s in SUPPORT_COLUMNS],
            protected=self.expected is not None, ui_url=ui_url(os.environ))


def _state_of(state: str | None) -> str:
    """A round's state as the page's list shows it, in Korean."""
    return named(ROUND_STATES, state) if state else "미등록: 설정 파일만"


async def collect(items: list[tuple[str, str | UploadFile]]) -> Form:
    """The form's text fields and its files' names and bytes."""
    form = Form()
    for name, value in items:
        if isinstance(value, str):
            form.fields[name] = value
        else:
            form.files.append((value.filename or "", await value.read()))
    return form


def _round_form(ui: str, round_id: str) -> dict[str, Any]:
    """The round has not started: its `round` run reads the latest upload (its form's package
    left empty), so the page opens that form with the round chosen."""
    from flows.uploads import round_deployment_id

    result: dict[str, Any] = {"run_note": (
        f"회차 {round_id}는 아직 시작되지 않았습니다: 회차 실행 (round) 양식에서 "
        f"시작하면 (접수 자료 칸은 비워 둡니다) 방금 올린 자료를 가져옵니다 / the round "
        f"has not started: its run imports this upload")}
    try:
        found = round_deployment_id()
    except Exception as exc:  # the files are kept: the form is in the UI's list
        sys.stderr.write(f"upload: the round form's link is missing ({type(exc).__name__}: "
                         f"{exc})\n")
    else:
        result["form_url"] = form_url(ui, found, {"config": round_id, "wait_for_chair": True})
    return result


def _import_run(ui: str, kind: str, round_id: str, checked: Any) -> dict[str, Any]:
    """Start the import run of a stored upload; its link, or why it did not start."""
    from flows.uploads import start_import

    key = f"upload-{round_id}-{checked.folder.name}"
    try:
        run_id, name = start_import(kind, round_id, str(checked.data_path), key)
    except Exception as exc:  # the files are kept: the run can be started by hand
        return {"run_note": (f"가져오기 실행을 시작하지 못했습니다 ({type(exc).__name__}:"
                             f" {exc}). 파일은 {round_id}/{checked.folder.name}(으)로 "
                             "보관했습니다: 관리자에게 알려 주십시오")}
    return {"run_url": run_url(ui, run_id), "run_name": name}
