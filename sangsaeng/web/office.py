"""The office app: the rounds' export files (read-only), the upload page (`/upload`) and the
certificates' pages (`/certificates/…`, as the public app answers them), on
SANGSAENG_EXPORTS_PORT (127.0.0.1:4201) — the links in each round's status artifact open
here. Each request is one log line (the office's own machine; no body, no query)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sangsaeng.settings import Settings, get_settings
from sangsaeng.web import server
from sangsaeng.web.exports import MAX_REASON_FORM, ExportFiles
from sangsaeng.web.pages import Pages
from sangsaeng.web.public import CERTIFICATES, METHODS, issuer_of, server_error
from sangsaeng.web.upload import UPLOAD_PATH, UploadDesk
from sangsaeng.web.verification import Verification

NAME = "exports server"


class AccessLog:
    """One stderr line per request: client, method, path (no query), status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.monotonic(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = (scope.get("client") or ("-",))[0]
            path = quote(scope["path"], safe="/-._~")
            sys.stderr.write(f"{NAME}: {client} \"{scope['method']} {path}\" {status[0]} "
                             f"{(time.monotonic() - start) * 1000:.0f} ms\n")


def office_app(settings: Settings, exports_dir: Path) -> Starlette:
    """The office app over `exports_dir`, with the upload page and the certificate pages."""
    pages = Pages(settings.templates_dir)
    files = ExportFiles(exports_dir, pages)
    desk = UploadDesk(settings, pages)
    verification = Verification(pages, issuer_of(settings))

    async def dispatch(request: Request) -> Response:
        path = request.scope["path"]
        if path.rstrip("/") == UPLOAD_PATH:
            return await desk.answer(request)
        if path.startswith(CERTIFICATES) and request.method in ("GET", "HEAD"):
            request.path_params["name"] = path.removeprefix(CERTIFICATES)
            return await run_in_threadpool(verification.answer, request)
        if request.method == "POST" and files.personal(path):  # the reason form, filled in
            fields = await reason_form(request)
            if fields is None:
                return pages.error(HTTPStatus.BAD_REQUEST, "사유 양식이 올바르지 않습니다")
            return await run_in_threadpool(files.give, request, fields)
        return await run_in_threadpool(files.answer, request)

    app = Starlette(routes=[Route("/{path:path}", dispatch, methods=METHODS)],
                    exception_handlers={Exception: server_error(pages)})
    app.add_middleware(AccessLog)
    return app


async def reason_form(request: Request) -> dict[str, str] | None:
    """The reason form's two text fields (URL-encoded, a few hundred bytes), or None."""
    try:
        length = int(request.headers.get("Content-Length", ""))
    except ValueError:
        return None
    if not 0 <= length <= MAX_REASON_FORM or "urlencoded" not in request.headers.get(
            "Content-Type", ""):
        return None
    form = await request.form(max_files=0, max_fields=4)
    return {key: value for key, value in form.items() if isinstance(value, str)}


@contextmanager
def office_server(directory: Path, port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """The office app over `directory` on host:port (0: any free port), served from a
    background thread until the block ends; yields its base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    app = office_app(get_settings(), directory.resolve())
    with server.in_background(app, host, port, "SANGSAENG_EXPORTS_PORT", NAME) as url:
        yield url
