"""Delivery on embedded defaults: N notices of a round into var/mail/*.eml (issue 14 item 2).

    .venv/bin/python bench/embedded.py [--count 51000] [--transport files|smtp]
                                       [--bodies distinct|shared] [--database-url URL]
                                       [--profile FILE] [--keep]

On a fresh SQLite database and var dir under var/bench/embedded-<N>-<transport>/ (or
--database-url), with no SANGSAENG_SMTP_HOST:

1. **enqueue**: N `application.received` notices, enqueued 5,000 per transaction as a round's
   steps do; `--bodies distinct` (default) names each notice's company in its body, as a
   round's notices do (one body per notice), `shared` gives all of them one body;
2. **delivery** (the main figure): `sangsaeng.mail.delivery.deliver(round_id=…)` exactly as
   `notices send` runs it: settings → transport → `Sender`. `--transport files` (the default,
   `SANGSAENG_MAIL_EMBEDDED=files`) writes the files itself; `smtp` goes through the embedded
   aiosmtpd server (`SANGSAENG_MAIL_EMBEDDED=smtp`), the path before issue 14.

Prints wall, messages/s, process CPU ms per message (every thread: with `smtp` the aiosmtpd
server's thread is in this process too), peak RSS and the CPU every other process used meanwhile
(figures mean something only when that is near 0); checks that the outbox holds N `sent` rows
and var/mail/ exactly N `.eml` files, one per Message-ID (FAILED and exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
from collections import Counter
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
ROUND = "2030-1"
CHUNK = 5000
TARGET = 1000.0
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))

from broadcast import Phase, peak_rss_mb, phase, profiled  # noqa: E402

_MID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE)


def enqueue_notices(count: int, bodies: str) -> None:
    """`count` receipt notices of round ROUND, CHUNK per transaction."""
    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.mail.outbox import enqueue
    from tests.mail.helpers import open_round, received_notice

    open_round(ROUND)
    first = received_notice(1)
    for start in range(1, count + 1, CHUNK):
        notices = [received_notice(i) for i in range(start, min(start + CHUNK, count + 1))]
        if bodies == "shared":  # one payload and one name for all: one body
            notices = [replace(n, recipient_name=first.recipient_name, payload=first.payload)
                       for n in notices]
        with session_scope(get_engine()) as session:
            enqueue(session, ROUND, notices)


def check(count: int, folder: Path) -> list[str]:
    """What must hold after the delivery: N sent rows, N files, one per Message-ID."""
    from sqlalchemy import func, select

    from sangsaeng.db import get_engine, session_scope
    from sangsaeng.models import OUTBOX

    o = OUTBOX.c
    with session_scope(get_engine()) as s:
        states = dict(s.execute(select(o.state, func.count()).group_by(o.state)).all())
        owed = set(s.execute(select(o.message_id)).scalars())
    files = sorted(folder.glob("*.eml"))
    ids = Counter(m.group(1).decode() for m in (_MID.search(p.read_bytes()) for p in files) if m)
    failures = []
    if states != {"sent": count}:
        failures.append(f"outbox states {states}, expected {{'sent': {count}}}")
    if len(files) != count or set(ids) != owed or max(ids.values(), default=1) != 1:
        failures.append(f"{len(files)} files, {len(ids)} Message-IDs, expected {count} once each")
    leftovers = [p.name for p in folder.iterdir() if not p.name.endswith(".eml")]
    if leftovers:
        failures.append(f"{len(leftovers)} temporary file(s) left, e.g. {leftovers[0]}")
    return failures


def line(name: str, p: Phase) -> str:
    n = p.messages
    others = p.busy - p.cpu if p.busy else 0.0
    return (f"{name:<10}{n:>8,}{p.wall:>9.2f}{n / p.wall:>10,.0f}{p.cpu / n * 1000:>12.3f}"
            f"{p.rss_mb:>13.0f}{others:>14.2f}")


def run(args: argparse.Namespace, work: Path) -> list[str]:
    from sangsaeng.mail.delivery import deliver

    phases: dict[str, Phase] = {}
    with phase(phases, "enqueue") as p:
        enqueue_notices(args.count, args.bodies)
        p.messages = args.count
    with profiled(args.profile, "delivery"), phase(phases, "delivery") as p:
        report: Any = asyncio.run(deliver(round_id=ROUND))
        p.messages = report.sent
    print(f"sender report: sent {report.sent:,}, retry {report.retry_later}, failed "
          f"{report.failed}, released {report.released}, reconnects {report.reconnects}, "
          f"stopped {report.stopped!r}")
    print(f"\n{'phase':<10}{'messages':>8}{'wall s':>9}{'msg/s':>10}{'CPU ms/msg':>12}"
          f"{'peak RSS MB':>13}{'others CPU s':>14}")
    for name, ph in phases.items():
        print(line(name, ph))
    d = phases["delivery"]
    rate = d.messages / d.wall if d.messages else 0.0
    print(f"\ndelivery, messages/s {rate:,.0f}  (target ≥ {TARGET:,.0f}: "
          f"{'ok' if rate >= TARGET else 'MISSED'}); CPU-bound rate "
          f"{d.messages / d.cpu:,.0f}/s; peak RSS {peak_rss_mb():.0f} MB")
    return check(args.count, work / "mail")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=51_000, help="notices (default 51000)")
    parser.add_argument("--transport", choices=("files", "smtp"), default="files",
                        help="SANGSAENG_MAIL_EMBEDDED: files (default) or the aiosmtpd path")
    parser.add_argument("--bodies", choices=("distinct", "shared"), default="distinct",
                        help="one body per notice (default, as a round) or one for all")
    parser.add_argument("--database-url", help="default: a fresh SQLite file under var/bench/")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="cProfile the delivery (CPU clock) into FILE; prints the top 15")
    parser.add_argument("--keep", action="store_true", help="keep the database and var/mail/")
    args = parser.parse_args()
    work = REPO / "var" / "bench" / f"embedded-{args.count}-{args.transport}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ.pop("SANGSAENG_SMTP_HOST", None)
    os.environ["SANGSAENG_MAIL_EMBEDDED"] = args.transport
    os.environ["SANGSAENG_VAR_DIR"] = str(work)
    os.environ["SANGSAENG_DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'bench.db'}"
    from sangsaeng.db import engine_for
    from sangsaeng.settings import get_settings

    engine_for(get_settings().resolved_database_url)  # migrated before any clock starts
    print(f"embedded.py — {args.count:,} notices, transport {args.transport}, bodies "
          f"{args.bodies}, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f", {os.cpu_count()} CPU(s), database {get_settings().redacted_database_url}")
    try:
        failures = run(args, work)
    finally:
        if not args.keep:
            with suppress(OSError):
                shutil.rmtree(work)
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        sys.exit(1)
    print(f"check: {args.count:,} rows sent, {args.count:,} .eml files, one per Message-ID — OK")


if __name__ == "__main__":
    main()
