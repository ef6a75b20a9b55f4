"""`sangsaeng serve` (INTERFACES §3): register the deployments and schedules, serve their runs.

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
    HOST:PORT (127.0.0.1 by default) for as long as this command runs.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    def run() -> None:
        from flows.deployments import serve_deployments

        serve_deployments(limit=limit, poll_seconds=poll_seconds)

    if os.environ.get("PREFECT_API_URL"):
        run()
        return
    signal.signal(signal.SIGTERM, _interrupt)  # so that the server below is stopped too
    with local_server(host, port) as api_url:
        os.environ["PREFECT_API_URL"] = api_url
        run()
