"""`sangsaeng serve` (INTERFACES §3): register the deployments and schedules, serve their runs,
and serve the rounds' export files (`<var>/exports/`) read-only over HTTP on loopback, so that
the links in each round's status artifact open them — and each certificate's verification
address (`/certificates/<number>`, JSON) and PDF (INTERFACES §5).

Prefect is imported inside the command only (it costs seconds; ARCHITECTURE: layers).
"""

from __future__ import annotations

import html
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sangsaeng.cli.upload import UploadDesk, upload_path
from sangsaeng.domain.certificates import NUMBER_PATTERN
from sangsaeng.domain.clock import kst_date, parse_instant
from sangsaeng.errors import SangsaengError, StepError
from sangsaeng.settings import get_settings

err = Console(stderr=True)
SERVER_START_TIMEOUT_S = 120  # FIELD_NOTES: 9–22 s, more on a busy machine
EXPORTS_WORKERS = 16  # requests the exports server answers at once; the next wait for one
EXPORTS_BACKLOG = 128  # connections the kernel holds meanwhile (socketserver's default: 5)
EXPORTS_CLIENT_TIMEOUT_S = 30  # a client that stalls longer gives its worker back


class ServerError(SangsaengError):
    """The local Prefect server did not come up."""


def wait_for_health(api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
                    ) -> float:
    """Poll `<api>/health` until it answers; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise ServerError(f"prefect server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ServerError(f"no answer from {api_url}/health after {timeout:.0f} s")


@contextmanager
def local_server(host: str, port: int) -> Iterator[str]:
    """A `prefect server start` bound to `host` (127.0.0.1: the UI has no user accounts)."""
    prefect = Path(sys.executable).parent / "prefect"
    api_url = f"http://{host}:{port}/api"
    # The UI asks the API at PREFECT_UI_API_URL (default port 4200, whatever --port says).
    env = {**os.environ, "PREFECT_UI_API_URL": os.environ.get("PREFECT_UI_API_URL", api_url)}
    process = subprocess.Popen([str(prefect), "server", "start", "--host", host, "--port",
                                str(port)], env=env)
    try:
        took = wait_for_health(api_url, SERVER_START_TIMEOUT_S, process)
        err.print(f"Prefect server up in {took:.0f} s: UI at http://{host}:{port}")
        yield api_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


CERTIFICATES_PREFIX = "/certificates/"  # INTERFACES §5: the verification address


def query_now(query: str) -> datetime:
    """`?now=ISO` (replays; naive = KST), else the wall clock."""
    values = urllib.parse.parse_qs(query).get("now")
    return parse_instant(values[0]) if values else datetime.now(UTC)


class ExportsHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of the files under the exports folder — no path outside it (`..`, symbolic
    links), no hidden name (the temporary files of an export being written) — and of the
    certificates' public facts and PDFs under `/certificates/`; the upload page (`/upload`,
    GET and POST, behind the shared password: sangsaeng.cli.upload); nothing else."""

    timeout = EXPORTS_CLIENT_TIMEOUT_S
    cache_control = "no-cache"  # every step may rewrite a file
    extensions_map = {  # noqa: RUF012 (the base class's own mutable class attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".csv": "text/csv; charset=utf-8",
        ".md": "text/plain; charset=utf-8",  # shown in the browser, Korean intact
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }

    def __init__(self, *args: Any, uploads: UploadDesk | None = None, **kwargs: Any) -> None:
        self.uploads = uploads
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        """The upload page, or an export."""
        if self.uploads is not None and upload_path(self.path):
            self.cache_control = "no-store"
            self.uploads.answer(self, "GET")
        else:
            super().do_GET()

    def do_POST(self) -> None:
        """An upload; nothing else takes a POST."""
        if self.uploads is not None and upload_path(self.path):
            self.cache_control = "no-store"
            self.uploads.answer(self, "POST")
        else:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")

    def send_head(self) -> Any:
        """The file (or folder listing) at the request's path, if it is an export; or a
        certificate's facts (JSON) or PDF (INTERFACES §5)."""
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if "\x00" in path:  # no file has one (and os.path would raise on it)
            self.send_error(HTTPStatus.BAD_REQUEST, "a NUL byte in the path")
            return None
        if path == CERTIFICATES_PREFIX.rstrip("/") or path.startswith(CERTIFICATES_PREFIX):
            return self._certificate(path.removeprefix(CERTIFICATES_PREFIX), url.query)
        if any(part.startswith(".") or "\\" in part for part in path.split("/")):
            self.send_error(HTTPStatus.NOT_FOUND, "not an export")
            return None
        if not self._inside(self.translate_path(self.path)):
            self.send_error(HTTPStatus.NOT_FOUND, "not an export")
            return None
        return super().send_head()

    def _certificate(self, name: str, query: str) -> io.BytesIO | None:
        """`GET /certificates/<number>`: the public facts as `verify` gives them (JSON; status
        at `?now=ISO`, default now); `/certificates/<number>.pdf`: its current PDF."""
        from sangsaeng.certificate_register import lookup
        from sangsaeng.db import get_engine, session_scope
        from sangsaeng.services.certificates import pdf_file

        number, pdf = name.removesuffix(".pdf"), name.endswith(".pdf")
        if NUMBER_PATTERN.fullmatch(number) is None:
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not a certificate number"})
        try:
            now = query_now(query)
            with session_scope(get_engine()) as session:
                found = lookup(session, number, kst_date(now))
                if found and pdf:
                    data = pdf_file(session, get_settings(), number).read_bytes()
        except (StepError, ValueError) as exc:
            return self._json(HTTPStatus.BAD_REQUEST if isinstance(exc, ValueError)
                              else HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)})
        if not found:
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no certificate {number}"})
        if not pdf:
            return self._json(HTTPStatus.OK, found[0].as_json())
        return self._body(HTTPStatus.OK, data, "application/pdf",
                          f'inline; filename="{number}.pdf"')

    def _json(self, status: HTTPStatus, value: object) -> io.BytesIO:
        data = json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        return self._body(status, data, "application/json; charset=utf-8")

    def _body(self, status: HTTPStatus, data: bytes, content_type: str,
              disposition: str | None = None) -> io.BytesIO:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if disposition:
            self.send_header("Content-Disposition", disposition)
        self.end_headers()
        return io.BytesIO(data)

    def _inside(self, path: str) -> bool:
        """`path` is the exports folder or in it, once symbolic links are followed."""
        root, real = os.path.realpath(self.directory), os.path.realpath(path)
        return real == root or real.startswith(root + os.sep)

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        """A plain list of the folder's exports (what `send_head` would refuse left out)."""
        try:
            names = sorted(n for n in os.listdir(path) if not n.startswith(".")
                           and self._inside(os.path.join(path, n)))
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "not an export")
            return None
        shown = [n + "/" if os.path.isdir(os.path.join(path, n)) else n for n in names]
        title = html.escape(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        items = "".join(f'<li><a href="{urllib.parse.quote(n)}">{html.escape(n)}</a></li>'
                        for n in shown)
        body = (f'<!doctype html><html lang="ko"><meta charset="utf-8"><title>{title}</title>'
                f"<h1>{title}</h1><ul>{items}</ul></html>\n").encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", self.cache_control)
        super().end_headers()


class ExportsServer(HTTPServer):
    """An HTTP server answering from a bounded pool of threads (not one thread per request):
    while all workers are busy, new connections wait in the listen backlog."""

    request_queue_size = EXPORTS_BACKLOG

    def __init__(self, address: tuple[str, int], handler: Any,
                 workers: int = EXPORTS_WORKERS) -> None:
        self._free = threading.BoundedSemaphore(workers)
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sangsaeng-exports")
        super().__init__(address, handler)  # binds and listens (closes the socket on error)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a free worker, waiting for one (the backlog fills meanwhile)."""
        while not self._free.acquire(timeout=0.5):
            if self._stopping.is_set():
                self.shutdown_request(request)
                return
        self._pool.submit(self._answer, request, client_address)

    def _answer(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._free.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is one line, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            err.print(f"exports server: {client_address[0]}: {error}", soft_wrap=True)
        else:
            super().handle_error(request, client_address)

    def shutdown(self) -> None:
        """Stop serving; a request waiting for a worker is dropped."""
        self._stopping.set()
        super().shutdown()

    def server_close(self) -> None:
        """Close the socket; the requests being answered finish on their own."""
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def exports_server(directory: Path, port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `directory` read-only over HTTP on `host:port` (0: any free port) from a daemon
    thread until the block ends; yields its base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = partial(ExportsHandler, directory=str(directory.resolve()),
                      uploads=UploadDesk(get_settings()))
    try:
        server = ExportsServer((host, port), handler)
    except OSError as exc:
        raise ServerError(f"exports server: cannot listen on {host}:{port} "
                          f"({exc.strerror or exc}); set SANGSAENG_EXPORTS_PORT "
                          "(0 = any free port)") from None
    thread = threading.Thread(target=server.serve_forever, name="sangsaeng-exports",
                              daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def serving_exports() -> Iterator[str]:
    """The exports server of `sangsaeng serve` (settings: exports_port, var_dir), with the
    upload page at `/upload`. The flow runs
    (child processes) put its URL into their links, unless SANGSAENG_EXPORTS_URL says another."""
    settings = get_settings()
    with exports_server(settings.exports_dir, settings.exports_port) as url:
        if not settings.exports_url:
            os.environ["SANGSAENG_EXPORTS_URL"] = url
            get_settings.cache_clear()
        err.print(f"exports of {settings.exports_dir.resolve()} at {url}/; upload page at "
                  f"{url}/upload", soft_wrap=True)
        yield url


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (systemd, `kill`) ends `serve` like Ctrl-C: cleanly, server included."""
    raise KeyboardInterrupt


def serve(
    host: Annotated[str, typer.Option(
        help="with no PREFECT_API_URL: address the local Prefect server (UI) binds to")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="with no PREFECT_API_URL: its port")] = 4200,
    limit: Annotated[int | None, typer.Option(help="most flow runs at once")] = None,
    poll_seconds: Annotated[float, typer.Option(
        help="how often to look for runs that are due")] = 5,
) -> None:
    """Register the deployments and schedules and serve them to the Prefect UI (Ctrl-C stops).

    With PREFECT_API_URL set, serves to that Prefect server; otherwise starts one on
    HOST:PORT (127.0.0.1 by default) for as long as this command runs. The rounds' export
    files (<var>/exports/) are served read-only on 127.0.0.1:SANGSAENG_EXPORTS_PORT (4201).
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    def run() -> None:
        from flows.deployments import serve_deployments

        serve_deployments(limit=limit, poll_seconds=poll_seconds)

    with serving_exports():  # first: a busy port fails before Prefect's slow start
        if os.environ.get("PREFECT_API_URL"):
            run()
            return
        signal.signal(signal.SIGTERM, _interrupt)  # so that the servers below stop too
        with local_server(host, port) as api_url:
            os.environ["PREFECT_API_URL"] = api_url
            run()
