"""Running an ASGI app with uvicorn: in a background thread (`serve`, tests) or in the
foreground (`verify-site`). The socket is bound before uvicorn starts, so a taken port is one
clear error naming the setting, not a log line in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from sangsaeng.errors import SangsaengError

BACKLOG = 128  # connections the kernel holds while the server is busy
MAX_CONNECTIONS = 256  # connections answered at once; more get a 503 at once
KEEP_ALIVE_S = 5
START_TIMEOUT_S = 30


class ServerError(SangsaengError):
    """A web server could not start."""


def bind(host: str, port: int, setting: str, name: str) -> socket.socket:
    """A listening socket on host:port (0: any free port), or a ServerError naming `setting`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServerError(f"{name}: cannot listen on {host}:{port} ({exc.strerror or exc}); set "
                          f"{setting} (0 = any free port)") from None
    sock.set_inheritable(True)
    return sock


def config(app: ASGIApp, sock: socket.socket) -> uvicorn.Config:
    """uvicorn's settings for our apps: no logging set-up of its own (the apps log what a
    person needs), no lifespan, bounded connections."""
    host, port = sock.getsockname()[:2]
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                          lifespan="off", backlog=BACKLOG, timeout_keep_alive=KEEP_ALIVE_S,
                          limit_concurrency=MAX_CONNECTIONS, server_header=False,
                          proxy_headers=True)


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def in_background(app: ASGIApp, host: str, port: int, setting: str, name: str
                  ) -> Iterator[str]:
    """Serve `app` on host:port from a daemon thread until the block ends; yields its URL."""
    sock = bind(host, port, setting, name)
    server = uvicorn.Server(config(app, sock))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"sangsaeng {name}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"{name}: the web server did not start")
            time.sleep(0.01)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def in_foreground(app: ASGIApp, host: str, port: int, setting: str, name: str) -> None:
    """Serve `app` until Ctrl-C or SIGTERM (uvicorn handles both in the main thread)."""
    sock = bind(host, port, setting, name)
    try:
        uvicorn.Server(config(app, sock)).run(sockets=[sock])
    finally:
        sock.close()
