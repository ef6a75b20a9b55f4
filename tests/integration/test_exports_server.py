"""`sangsaeng serve` serves `<var>/exports/` read-only on loopback: the files the status
artifact links to, and nothing outside that folder."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from sangsaeng.cli import app
from sangsaeng.settings import get_settings
from sangsaeng.web.office import office_server

DECISIONS = "\ufeffreceipt_no,track,status\r\n2022-2-001,innovation,selected\r\n".encode()


def get(url: str, path: str, method: str = "GET"
        ) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A raw request: the path is sent as written (no client-side clean-up of `..`)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A var dir with one round's export, a secret next to the exports and traps inside."""
    var = tmp_path / "var"
    (var / "exports" / "2022-2").mkdir(parents=True)
    (var / "exports" / "2022-2" / "decisions.csv").write_bytes(DECISIONS)
    (var / "exports" / "2022-2" / ".decisions.csv.1.ab.tmp").write_bytes(DECISIONS[:9])
    (var / "secret.txt").write_text("the program database password")
    os.symlink(var / "secret.txt", var / "exports" / "2022-2" / "notes.txt")
    monkeypatch.setenv("SANGSAENG_VAR_DIR", str(var))
    monkeypatch.setenv("SANGSAENG_EXPORTS_PORT", "0")
    monkeypatch.setenv("SANGSAENG_PUBLIC_PORT", "0")
    monkeypatch.delenv("SANGSAENG_EXPORTS_URL", raising=False)  # serve sets it: restored after
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # a server of its own
    get_settings.cache_clear()
    yield var
    get_settings.cache_clear()


def test_serve_serves_the_exports_to_its_flow_runs_links_and_nothing_outside(
    var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.deployments

    seen: dict[str, object] = {}

    def serving(limit: int | None, poll_seconds: float) -> None:
        """Stands in for Prefect's serve loop: what a flow run (a child process) would see."""
        url = os.environ["SANGSAENG_EXPORTS_URL"]
        seen["url"] = url
        seen["status"], headers, seen["body"] = get(url, "/2022-2/decisions.csv")
        seen["type"] = headers.get("Content-Type")
        seen["listing"] = get(url, "/2022-2/")[2].decode()
        seen["refused"] = {path: get(url, path)[0] for path in (
            "/../secret.txt", "/2022-2/../../secret.txt", "/%2e%2e/secret.txt",
            "/2022-2/%2e%2e%2f%2e%2e%2fsecret.txt", "/2022-2/notes.txt",
            "/2022-2/.decisions.csv.1.ab.tmp")}
        seen["leaked"] = any(b"password" in get(url, path)[2] for path in seen["refused"])
        seen["put"] = get(url, "/2022-2/decisions.csv", "PUT")[0]

    monkeypatch.setattr(flows.deployments, "serve_deployments", serving)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    url = str(seen["url"])
    assert urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).port  # loopback, a real port
    assert (seen["status"], seen["body"]) == (200, DECISIONS)  # the bytes, BOM included
    assert seen["type"] == "text/csv; charset=utf-8"
    assert 'href="decisions.csv"' in str(seen["listing"])
    assert ".tmp" not in str(seen["listing"]) and "notes.txt" not in str(seen["listing"])
    assert seen["refused"] == dict.fromkeys(seen["refused"], 404)  # type: ignore[arg-type]
    assert seen["leaked"] is False
    assert seen["put"] == 501  # read-only
    with pytest.raises(OSError):  # stopped with serve
        get(url, "/2022-2/decisions.csv")


def test_serve_says_which_setting_to_change_when_the_exports_port_is_taken(
    var: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "SANGSAENG_EXPORTS_PORT": str(port)}
        done = subprocess.run([str(Path(sys.executable).parent / "sangsaeng"), "serve"],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: exports server: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "set SANGSAENG_EXPORTS_PORT (0 = any free port)"]


def test_the_links_base_url_comes_from_the_port_or_the_url_setting(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from sangsaeng.errors import ConfigError

    for name in ("SANGSAENG_EXPORTS_PORT", "SANGSAENG_EXPORTS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    assert get_settings().exports_base_url == "http://127.0.0.1:4201"
    monkeypatch.setenv("SANGSAENG_EXPORTS_PORT", "8080")
    get_settings.cache_clear()
    assert get_settings().exports_base_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("SANGSAENG_EXPORTS_URL", "https://office.example/exports/")
    get_settings.cache_clear()
    assert get_settings().exports_base_url == "https://office.example/exports"
    monkeypatch.setenv("SANGSAENG_EXPORTS_URL", "office.example/exports")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=r"SANGSAENG_EXPORTS_URL: .*http://"):
        get_settings()
    get_settings.cache_clear()


def test_a_nul_byte_in_the_path_is_a_bad_request_not_a_dropped_connection(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    (folder / "2022-2").mkdir(parents=True)
    (folder / "2022-2" / "selection.csv").write_bytes(DECISIONS)
    with office_server(folder, 0) as url:
        for path in ("/2022-2/selection.csv%00.txt", "/%00", "/2022-2/%00/x"):
            status, _, body = get(url, path)
            assert status == 400, path
            assert b"password" not in body
        assert get(url, "/2022-2/selection.csv")[:3:2] == (200, DECISIONS)  # still serving
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss")
def test_the_exports_server_lets_a_burst_of_connections_wait_in_its_backlog(
    tmp_path: Path
) -> None:
    with office_server(tmp_path / "exports", 0) as url:
        port = urlsplit(url).port
        # For a listening socket, ss shows the backlog the kernel uses as its Send-Q.
        listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                                   text=True, check=True).stdout.split()
    assert listening[0] == "LISTEN" and int(listening[2]) >= 128


SLOW_CLIENTS = 40
THREAD_BOUND = 40 + 8  # the worker threads the apps' blocking work may use (anyio's default
# limiter of 40), plus the server's own; not one per connection


def slow_download(port: int, path: str) -> socket.socket:
    """A client that asks for a file and does not read the answer yet (its window is small:
    the server's worker waits on it)."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(60)
    client.connect(("127.0.0.1", port))
    client.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    return client


def read_all(client: socket.socket) -> bytes:
    with client:
        chunks = []
        while chunk := client.recv(1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_burst_of_slow_downloads_neither_blocks_other_clients_nor_grows_the_threads(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    (folder / "2022-2").mkdir(parents=True)
    size = 4 << 20  # far more than the socket buffers hold: each answer stays in progress
    (folder / "2022-2" / "selection.xlsx").write_bytes(b"x" * size)
    (folder / "2022-2" / "decisions.csv").write_bytes(DECISIONS)
    before = threading.active_count()
    with office_server(folder, 0) as url:
        port = urlsplit(url).port or 0
        clients = [slow_download(port, "/2022-2/selection.xlsx") for _ in range(SLOW_CLIENTS)]
        # Every download has started (its first bytes wait in the client's socket) ...
        for client in clients:
            assert client.recv(12).startswith(b"HTTP/1.1 200")
        busy = threading.active_count()
        # ... and another client is still answered at once.
        started = time.monotonic()
        status, _, body = get(url, "/2022-2/decisions.csv")
        answered_in = time.monotonic() - started
        answers = [read_all(client) for client in clients]
    assert (status, body) == (200, DECISIONS) and answered_in < 5
    assert busy - before <= THREAD_BOUND
    # Each request logs one line as its answer ends.
    logged = capfd.readouterr().err.splitlines()
    assert sum('"GET /2022-2/selection.xlsx"' in line for line in logged) == SLOW_CLIENTS
    for answer in answers:
        assert answer.endswith(b"x" * 1000)
        assert len(answer.partition(b"\r\n\r\n")[2]) == size
