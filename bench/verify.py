"""The public verification page under load: `sangsaeng verify-site` (uvicorn, one worker
process) answering 100 concurrent clients.

    .venv/bin/python bench/verify.py [--clients 100] [--seconds 10] [--runs 3] [--keep]

Untimed setup: `sangsaeng demo` on a fresh var dir (the 2022-2 round: 29 certificates), then
`sangsaeng verify-site` on a free port with the rate limit off (every client here is one
address). Timed, in a separate client process: for `--seconds` each, 100 keep-alive
connections ask one after another, cycling over the 29 numbers:

- **page**: `GET /certificates/<number>` with a browser's Accept (the Korean HTML page);
- **json**: the same with `Accept: application/json`;
- **static**: `GET /robots.txt` — a static file served by the same app through the same
  middleware (the rate limit, the router): the server's own ceiling for a tiny answer.

Sides alternate within each run (static, page, json) so that the machine's load falls on each
alike. Prints requests/s, p50 and p99 latency per side, the ratios page/static and json/static,
and the verdict against the target (≥ 1,000 requests/s for the page). Asserts nothing.
See bench/README.md "Verification page (issue 25)".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORK = REPO / "var" / "bench-verify"
TARGET_RPS = 1000
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    return {**os.environ, "SANGSAENG_VAR_DIR": str(WORK / "var"),
            "PREFECT_HOME": str(WORK / "prefect"), "SANGSAENG_PUBLIC_RATE_PER_MINUTE": "0",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def setup() -> list[str]:
    """The demo round's certificates (a fresh var dir); their numbers."""
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "prefect").mkdir(parents=True)
    subprocess.run([str(BIN / "sangsaeng"), "demo"], env=environment(), check=True,
                   stdout=subprocess.DEVNULL)
    folder = WORK / "var" / "certificates" / "2022-2"
    return sorted(p.name.split("-v")[0] for p in folder.glob("*-v1.pdf"))


def start_site(port: int) -> subprocess.Popen[bytes]:
    site = subprocess.Popen([str(BIN / "sangsaeng"), "verify-site", "--port", str(port)],
                            env=environment(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return site
        except OSError:
            time.sleep(0.2)
    site.kill()
    raise SystemExit("verify-site did not start")


async def one_client(port: int, paths: list[str], accept: str, until: float,
                     latencies: list[float], offset: int) -> int:
    """One keep-alive connection asking paths in turn until `until`; errors counted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors, n = 0, offset
    try:
        while time.monotonic() < until:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n"
                         "\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += not head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    return errors


async def load(port: int, paths: list[str], accept: str, clients: int, seconds: float
               ) -> dict[str, float]:
    latencies: list[float] = []
    started = time.monotonic()
    until = started + seconds
    errors = await asyncio.gather(*(one_client(port, paths, accept, until, latencies, i)
                                    for i in range(clients)))
    took = time.monotonic() - started
    ordered = sorted(latencies)
    return {"requests": len(ordered), "rps": len(ordered) / took, "errors": sum(errors),
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))]}


def client_main(args: argparse.Namespace) -> None:
    """The load generator (its own process): one side, figures as JSON on stdout."""
    paths = json.loads(args.paths)
    accept = "application/json" if args.side == "json" else HTML_ACCEPT
    result = asyncio.run(load(args.port, paths, accept, args.clients, args.seconds))
    sys.stdout.write(json.dumps(result) + "\n")


def side(port: int, name: str, paths: list[str], clients: int, seconds: float
         ) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--client", name, "--port", str(port),
                           "--paths", json.dumps(paths), "--clients", str(clients),
                           "--seconds", str(seconds)], capture_output=True, text=True,
                          check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def report(runs: list[dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(run[name][key] for run in runs)

    print(f"verify-site (uvicorn, 1 process), {args.clients} clients, {args.seconds:g} s a "
          f"side, {len(runs)} runs (medians); {os.cpu_count()} cores")
    for name in ("static", "page", "json"):
        print(f"  {name:6} {median(name, 'rps'):8,.0f} requests/s   p50 "
              f"{median(name, 'p50_ms'):6.1f} ms   p99 {median(name, 'p99_ms'):6.1f} ms   "
              f"errors {sum(run[name]['errors'] for run in runs):.0f}")
    for name in ("page", "json"):
        ratios = [run[name]["rps"] / run["static"]["rps"] for run in runs]
        print(f"  ratio {name}/static: {statistics.median(ratios):.2f} "
              f"(runs: {', '.join(f'{r:.2f}' for r in ratios)})")
    page = median("page", "rps")
    print(f"  page ≥ {TARGET_RPS:,} requests/s: {'met' if page >= TARGET_RPS else 'MISSED'} "
          f"({page:,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep var/bench-verify")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        args.side = args.client
        client_main(args)
        return
    print("setup: sangsaeng demo (the 2022-2 round's 29 certificates) …", flush=True)
    numbers = setup()
    pages = [f"/certificates/{n}" for n in numbers]
    port = free_port()
    site = start_site(port)
    try:
        side(port, "page", pages, args.clients, 2)  # warm-up: imports, the first queries
        runs = [{name: side(port, name, paths, args.clients, args.seconds) for name, paths in
                 (("static", ["/robots.txt"]), ("page", pages), ("json", pages))}
                for _ in range(args.runs)]
    finally:
        site.send_signal(signal.SIGTERM)
        site.wait(timeout=30)
    report(runs, args)
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
