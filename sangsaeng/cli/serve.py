"""`sangsaeng serve` (docs/interfaces.md §3): register the deployments and schedules, serve
their runs, and run the web apps on loopback (sangsaeng/web/): the office app (the rounds'
export files, so that the links in each round's status artifact open them, and the upload
page) and the public verification app (`/certificates/<number>`); `sangsaeng verify-site`
runs the public app alone, as a public server would.

Prefect is imported inside the command only (it costs seconds; ARCHITECTURE: layers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sangsaeng.errors import SangsaengError
from sangsaeng.settings import get_settings

err = Console(stderr=True)
SERVER_START_TIMEOUT_S = 120  # FIELD_NOTES: 9–22 s, more on a busy machine


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


@contextmanager
def serving_web() -> Iterator[str]:
    """The office app of `sangsaeng serve` (exports, upload page, certificate pages on
    SANGSAENG_EXPORTS_PORT) and the public verification app (SANGSAENG_PUBLIC_PORT), both on
    127.0.0.1. The flow runs (child processes) put the office app's URL into their links,
    unless SANGSAENG_EXPORTS_URL says another."""
    from sangsaeng.web import server
    from sangsaeng.web.office import office_server
    from sangsaeng.web.public import NAME, public_app

    settings = get_settings()
    with office_server(settings.exports_dir, settings.exports_port) as url, \
            server.in_background(public_app(settings), "127.0.0.1", settings.public_port,
                                 "SANGSAENG_PUBLIC_PORT", NAME) as public_url:
        if not settings.exports_url:
            os.environ["SANGSAENG_EXPORTS_URL"] = url
            get_settings.cache_clear()
        err.print(f"exports at {url}/; upload page at {url}/upload; certificate verification "
                  f"(public) at {public_url}/certificates/<번호>", soft_wrap=True)
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
    files (<var>/exports/) and the upload page are served on 127.0.0.1:SANGSAENG_EXPORTS_PORT
    (4201), the public certificate verification on 127.0.0.1:SANGSAENG_PUBLIC_PORT (4202).
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    def run() -> None:
        from flows.deployments import serve_deployments

        serve_deployments(limit=limit, poll_seconds=poll_seconds)

    with serving_web():  # first: a busy port fails before Prefect's slow start
        if os.environ.get("PREFECT_API_URL"):
            run()
            return
        signal.signal(signal.SIGTERM, _interrupt)  # so that the servers below stop too
        with local_server(host, port) as api_url:
            os.environ["PREFECT_API_URL"] = api_url
            run()


def verify_site(
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: all; behind a "
                                           "reverse proxy, 127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        help="port (default SANGSAENG_PUBLIC_PORT, 4202)")] = None,
) -> None:
    """The public certificate verification pages alone (Ctrl-C stops): what a public server
    runs. Reads the certificate register of the program database; nothing else is served."""
    from sangsaeng.web.public import run_in_foreground

    settings = get_settings()
    chosen = settings.public_port if port is None else port
    err.print(f"certificate verification at http://{host}:{chosen}/certificates/<번호>",
              soft_wrap=True)
    run_in_foreground(settings, host, chosen)
