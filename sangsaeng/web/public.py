"""The public app: certificate verification only (`/certificates/<number>` and its PDF), for
the buyers who scan a certificate's QR code — what `sangsaeng verify-site` runs on a public
server, and `sangsaeng serve` on SANGSAENG_PUBLIC_PORT. It reads the public K4 facts of the
certificate register; there is no route to the exports, the inbox, the upload page or any
e-mail address (a contract in pyproject.toml keeps it from importing them).

Certificate numbers are public by design (the register is public), so a client may ask for
any number; a client asking too often gets a 429 in Korean. No request is logged: the
client's address is personal data, and nothing here needs it afterwards."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sangsaeng.settings import Settings
from sangsaeng.web import server
from sangsaeng.web.pages import Pages
from sangsaeng.web.verification import Verification

NAME = "verification server"
CERTIFICATES = "/certificates/"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ROBOTS = "robots.txt"
# READ_ON_THE_LOOP: a certificate is one primary-key read (~0.1 ms on SQLite, whose readers
# never wait for a writer in WAL mode; a round trip on PostgreSQL) and a small page: answered
# on the event loop, 1,296 pages/s here, against 513 through Starlette's thread pool and 813
# through two threads, where the threads' hand-offs and the GIL cost more than the read
# (bench/README.md "Verification page").
MAX_CLIENTS = 10_000  # buckets kept; the full ones go first when there are more


def issuer_of(settings: Settings) -> str:
    """K4: the issuing authority printed on the certificates (config/program.toml)."""
    from sangsaeng.config import load_program

    issuer: str = load_program(settings.config_dir).certificates.issuer
    return issuer


def server_error(pages: Pages) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An unexpected error: a Korean 500 page for the client, the traceback on stderr."""
    async def handle(request: Request, exc: Exception) -> Response:
        sys.stderr.write("".join(traceback.format_exception(exc)))
        return pages.error(HTTPStatus.INTERNAL_SERVER_ERROR,
                           "요청을 처리하지 못했습니다. 잠시 뒤에 다시 시도하십시오.")
    return handle


class RateLimit:
    """At most `per_minute` requests per client address, with bursts up to that many (a
    token bucket per address); over it, a 429 page in Korean with Retry-After."""

    def __init__(self, app: ASGIApp, pages: Pages, per_minute: int) -> None:
        self.app, self.pages, self.per_minute = app, pages, per_minute
        self.buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, when)

    def allow(self, client: str, now: float) -> bool:
        # popped and put back: the dict's order is the order clients were last seen
        tokens, then = self.buckets.pop(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
        if len(self.buckets) >= MAX_CLIENTS:
            self.forget()
        self.buckets[client] = (tokens - 1, now) if tokens >= 1 else (tokens, now)
        return tokens >= 1

    def forget(self) -> None:
        """Make room: the half of the clients seen longest ago go; one that comes back starts
        again with a full bucket."""
        keep = list(self.buckets.items())[len(self.buckets) // 2:]
        self.buckets = dict(keep)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.per_minute <= 0:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?",))[0]
        if self.allow(client, time.monotonic()):
            await self.app(scope, receive, send)
            return
        response = self.pages.error(
            HTTPStatus.TOO_MANY_REQUESTS, "요청이 너무 많습니다. 1분 뒤에 다시 시도하십시오.",
            headers={"Retry-After": "60"})
        await response(scope, receive, send)


def public_app(settings: Settings) -> ASGIApp:
    """The verification app: `/certificates/<number>[.pdf]`, `/robots.txt`, nothing else."""
    pages = Pages(settings.templates_dir)
    verification = Verification(pages, issuer_of(settings))
    robots = (Path(settings.templates_dir) / "web" / ROBOTS).read_bytes()  # a static file

    async def dispatch(request: Request) -> Response:
        path = request.scope["path"]
        if request.method not in ("GET", "HEAD"):
            return pages.error(HTTPStatus.METHOD_NOT_ALLOWED,
                               "확인서 조회만 할 수 있습니다 (GET)", headers={"Allow": "GET, HEAD"})
        if path.startswith(CERTIFICATES):
            request.path_params["name"] = path.removeprefix(CERTIFICATES)
            return verification.answer(request)  # on the loop: see READ_ON_THE_LOOP
        if path == "/" + ROBOTS:
            return Response(robots, media_type="text/plain; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=86400"})
        return pages.error(HTTPStatus.NOT_FOUND, "이 주소에는 확인서 진위 확인 페이지만 있습니다: "
                                                 "/certificates/<확인서 번호>")

    app = Starlette(routes=[Route("/{path:path}", dispatch, methods=METHODS)],
                    exception_handlers={Exception: server_error(pages)})
    return RateLimit(app, pages, settings.public_rate_per_minute)


def run_in_foreground(settings: Settings, host: str, port: int) -> None:
    """`sangsaeng verify-site`: the public app until Ctrl-C or SIGTERM."""
    server.in_foreground(public_app(settings), host, port, "SANGSAENG_PUBLIC_PORT", NAME)
