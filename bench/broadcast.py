"""Broadcast at scale: one call announcement to N registered companies, through a local SMTP sink.

    .venv/bin/python bench/broadcast.py [--count 100000] [--connections 4] [--batch 200]
                                        [--database-url URL] [--loop asyncio|uvloop]
                                        [--profile FILE [--profile-clock cpu|wall]] [--parts]
                                        [--keep]

On a fresh SQLite database under var/bench/broadcast-<N>x<C>/ (or --database-url), steps 1–4 in
this process, step 5 in a child interpreter:

1. writes `companies.csv` (N opted-in companies with valid BRNs and Korean names, plus N/100
   opted-out ones that must receive nothing) — not timed;
2. **registry import**: `sangsaeng.services.companies.import_registry`;
3. **enqueue**: `register_round` (config/rounds/2022-2.toml) and `open_round`, which broadcasts
   one `call.announcement` per opted-in company into the outbox;
4. **delivery** (the main figure): `sangsaeng.mail.sender.Sender` with `--connections`
   persistent aiosmtplib connections to Postfix's `smtp-sink` on loopback, outbox claims and
   outcome bookkeeping included;
5. **ceiling**: the same rows' messages built beforehand (`sangsaeng.services.notices.build`, the
   sender's own composer), then sent as bytes over the same number of aiosmtplib connections
   to a fresh `smtp-sink` — no database, no composing while the clock runs. (Its own process:
   the pre-built bytes, 8 KiB × N, must not become this process's peak RSS.)

Prints wall time, messages/s, CPU ms per message (this process, and the sink separately),
peak RSS, the CPU other processes used meanwhile (background load), the ratio delivery/ceiling
and each target with ok/MISSED; checks that the outbox holds exactly N `sent` rows and that
each sink counted N messages (a FAILED line and exit status 1 otherwise).
See bench/README.md for the targets and recorded figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "var" / "bench"
SINK = Path("/usr/sbin/smtp-sink")
ROUND_CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
ACTOR = "bench"
TARGETS = {"rate": 2000.0, "ratio": 0.85, "rss_mb": 300.0}  # issue 24 item 3 (were 1,000 and 0.7)
T = TypeVar("T")
LOAD_BEFORE = "?"

# Korean company names (only characters CP949 can encode), as sangsaeng.synthetic makes them.
_SYLLABLES = "가나다라마바사아자차카타파하한영진우성미래동서남북신대명주승테코엔이솔"
_SUFFIXES = ("테크", "정밀", "산업", "이앤씨", "시스템", "소재", "바이오", "에너지", "전자",
             "메디칼", "공작소", "인더스트리", "솔루션", "기계", "콘크리트", "엔지니어링")
_FORMS = ("㈜{}", "(주){}", "주식회사 {}", "{}", "{}(주)", "{} 주식회사")


# --- measuring -----------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak RSS of this process so far, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_busy() -> float:
    """CPU seconds all processes have used since boot (psutil; 0 without it)."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return 0.0
    t = psutil.cpu_times()
    unused = ("idle", "iowait", "steal", "guest", "guest_nice")  # guest: counted in user too
    return float(sum(t) - sum(getattr(t, name, 0.0) for name in unused))


@dataclass(slots=True)
class Phase:
    """Wall and process CPU seconds of one phase; peak RSS of the process at its end."""

    name: str
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
    sink_cpu: float | None = None
    messages: int = 0
    busy: float = 0.0  # CPU seconds of the whole machine (all processes) during the phase


@contextmanager
def phase(into: dict[str, Phase], name: str) -> Iterator[Phase]:
    """Time the block (perf_counter wall, process_time CPU of every thread of this process)."""
    p = Phase(name)
    busy = machine_busy()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield p
    finally:
        p.wall = time.perf_counter() - wall
        p.cpu = time.process_time() - cpu
        p.busy = machine_busy() - busy
        p.rss_mb = peak_rss_mb()
        into[name] = p


# --- the sink ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """Postfix's smtp-sink on a free loopback port: accepts and discards, counts messages (-c).

    Default options: ESMTP with PIPELINING announced (a client that does not pipeline, like
    aiosmtplib, is served the same), no delays, no rejections, no dump files.
    """

    def __init__(self, work: Path, label: str) -> None:
        self.port = free_port()
        self.log = work / f"sink-{label}.out"
        argv = [str(SINK), "-c"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]  # required when started as root
        argv += [f"127.0.0.1:{self.port}", "256"]
        self._out = self.log.open("wb")
        self.process = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"smtp-sink exited at start: {self.log.read_text()!r}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"smtp-sink does not answer on 127.0.0.1:{self.port}")
            time.sleep(0.05)

    def cpu(self) -> float | None:
        """CPU seconds the sink has used so far (psutil), None if unknown."""
        try:
            import psutil  # type: ignore[import-untyped,unused-ignore]

            t = psutil.Process(self.process.pid).cpu_times()
            return float(t.user + t.system)
        except Exception:
            return None

    def stop(self) -> int:
        """Terminate the sink; returns the messages it counted (-1 if unreadable)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        text = self.log.read_bytes().decode("ascii", "replace")
        counters = [chunk for chunk in text.replace("\r", "\n").split() if
                    chunk.startswith("mesg=")]
        return int(counters[-1].split("=", 1)[1]) if counters else -1


# --- data -----------------------------------------------------------------------------------


def brn(serial: int) -> str:
    """The serial-th valid BRN (XXX-XX-XXXXX with the C1 check digit), all distinct."""
    from sangsaeng.domain.brn import check_digit

    nine = f"{101 + serial // 10000:03d}81{serial % 10000:04d}"
    return f"{nine[:3]}-{nine[3:5]}-{nine[5:]}{check_digit(nine)}"


def write_companies(path: Path, count: int, seed: int = 0) -> int:
    """`count` opted-in companies plus count/100 opted-out ones; returns all rows written."""
    rng = random.Random(seed)
    total = count + count // 100
    opted_out = set(rng.sample(range(total), total - count))
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(("brn", "name", "email", "opted_in"))
        for i in range(total):
            stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
            name = rng.choice(_FORMS).format(stem + rng.choice(_SUFFIXES))
            out.writerow((brn(i), name, f"contact{i}@company{i % 997}.example",
                          "N" if i in opted_out else "Y"))
    return total


# --- delivery and ceiling ---------------------------------------------------------------------


def new_loop_runner(loop: str) -> Callable[[Coroutine[Any, Any, T]], T]:
    """asyncio.run, on uvloop's event loop if asked."""
    if loop == "uvloop":
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        return lambda main: uvloop.run(main)  # type: ignore[no-any-return,arg-type,unused-ignore]
    return asyncio.run


@contextmanager
def profiled(path: Path | None, label: str, clock: str = "cpu") -> Iterator[None]:
    """cProfile the block: the event loop's thread and every `asyncio.to_thread` call.

    clock "cpu" charges each function the CPU time of its thread (time.thread_time): waits for
    the GIL, the sink or the disk cost nothing; "wall" is cProfile's default clock.
    """
    if path is None:
        yield
        return
    import cProfile
    import pstats

    timer = time.thread_time if clock == "cpu" else time.perf_counter

    per_thread: dict[int, cProfile.Profile] = {}
    original = asyncio.to_thread

    async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            profile = per_thread.setdefault(threading.get_ident(), cProfile.Profile(timer))
            profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
                profile.disable()
        return await original(run)

    main = cProfile.Profile(timer)
    asyncio.to_thread = to_thread
    main.enable()
    try:
        yield
    finally:
        main.disable()
        asyncio.to_thread = original
        stats = pstats.Stats(main)
        for profile in per_thread.values():
            stats.add(profile)
        stats.dump_stats(str(path))
        print(f"\nprofile of the {label} phase ({clock} clock) → {path} (main thread + "
              f"{len(per_thread)} worker thread(s)); top 15 by cumulative time:")
        stats.sort_stats("cumulative").print_stats(15)
        print("top 15 by own time:")
        stats.sort_stats("tottime").print_stats(15)


# The sender's own parts (`--parts`): methods that run to completion in the event loop's thread,
# so the thread's CPU clock around each call is that part's cost and nothing else's.
PARTS = (
    ("sangsaeng.mail.sender", "Sender", "_record", "outcome writes (begin, UPDATE, commit)"),
    ("sangsaeng.mail.outbox", None, "record", "  of which outbox.record (the UPDATE)"),
    ("sangsaeng.mail.sender", "Sender", "_claim", "claims (UPDATE … RETURNING, body loads)"),
    ("sangsaeng.mail.compose", "Composer", "message", "composing (headers + shared part)"),
    ("sangsaeng.mail.sender", "Sender", "_mine", "lease fence: per-message check"),
    ("sangsaeng.mail.sender", "Sender", "_renew", "  lease renewals (in the check when due)"),
    ("sangsaeng.mail.sender", "Sender", "_finish", "outcome bookkeeping (_finish)"),
)


@contextmanager
def parts_timed(on: bool, into: dict[str, tuple[int, float]]) -> Iterator[None]:
    """Charge each part in PARTS its CPU time (time.thread_time around each call), and the whole
    delivery its user and system CPU (getrusage) — `--parts`."""
    if not on:
        yield
        return
    import functools
    import importlib

    undo: list[tuple[Any, str, Any]] = []

    def timed(func: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.thread_time()
            try:
                return func(*a, **k)
            finally:
                calls, seconds = into.get(label, (0, 0.0))
                into[label] = (calls + 1, seconds + time.thread_time() - started)
        return wrapper

    for module, cls, name, label in PARTS:
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, timed(getattr(owner, name), label))
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        yield
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        into["(delivery: user CPU)"] = (1, after.ru_utime - before.ru_utime)
        into["(delivery: system CPU)"] = (1, after.ru_stime - before.ru_stime)
        for owner, name, original in undo:
            setattr(owner, name, original)


def deliver(engine: Any, round_id: str, port: int, args: argparse.Namespace) -> Any:
    """The application's sender, as `sangsaeng.mail.delivery.deliver` builds it."""
    from sangsaeng.mail.outbox import mail_context
    from sangsaeng.mail.sender import DeliveryPolicy, Sender, SmtpServer

    sender = Sender(engine, SmtpServer("127.0.0.1", port), mail_context().sender,
                    policy=DeliveryPolicy(connections=args.connections, batch=args.batch),
                    round_id=round_id)
    return new_loop_runner(args.loop)(sender.run())


def prebuilt(engine: Any, round_id: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(envelope sender, [(recipient, message bytes)]) for every outbox row of the round."""
    from sqlalchemy import select

    from sangsaeng.db import session_scope
    from sangsaeng.mail.outbox import Outgoing, mail_context
    from sangsaeng.models import OUTBOX
    from sangsaeng.services import notices

    o = OUTBOX.c
    columns = [o[f.name] for f in fields(Outgoing)]
    with session_scope(engine) as session:
        rows = [Outgoing(**r._mapping) for r in session.execute(
            select(*columns).where(o.round_id == round_id).order_by(o.id)).all()]
        messages = [(row.recipient, data) for row, data in notices.build(session, rows)]
    return mail_context().sender.addr_spec, messages


async def blast(port: int, connections: int, sender: str,
                messages: list[tuple[str, bytes]], api: str = "sendmail") -> tuple[int, list[str]]:
    """Send pre-built messages over `connections` persistent aiosmtplib connections, with
    `sendmail` or (api="commands") with MAIL/RCPT/DATA as the sender does."""
    import aiosmtplib

    todo = iter(messages)
    problems: list[str] = []

    async def worker() -> int:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        sent = 0
        for recipient, data in todo:  # a shared iterator: each message taken once
            if api == "commands":
                await smtp.mail(sender)
                await smtp.rcpt(recipient)
                await smtp.data(data)
                sent += 1
                continue
            refused, _reply = await smtp.sendmail(sender, [recipient], data)
            if refused:
                problems.append(f"{recipient}: {refused}")
            else:
                sent += 1
        await smtp.quit()
        return sent

    counts = await asyncio.gather(*(worker() for _ in range(connections)))
    return sum(counts), problems


def ceiling_in_child(args: argparse.Namespace, work: Path, port: int, round_id: str
                     ) -> dict[str, Any]:
    """The ceiling in a fresh interpreter: its pre-built bytes (8 KiB × N) stay out of this
    process's RSS, and its CPU is its own."""
    spec = {"database_url": os.environ["SANGSAENG_DATABASE_URL"], "work": str(work),
            "port": port, "round_id": round_id, "connections": args.connections,
            "loop": args.loop, "profile_clock": args.profile_clock, "api": args.ceiling_api,
            "profile": f"{args.profile}.ceiling" if args.profile else None}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--ceiling-child",
                           json.dumps(spec)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the ceiling's process failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    if len(lines) > 1:  # the ceiling's profile
        print("\n".join(lines[:-1]))
    out: dict[str, Any] = json.loads(lines[-1])
    out["build"], out["send"] = Phase(**out["build"]), Phase(**out["send"])
    return out


def ceiling_child(spec: dict[str, Any]) -> None:
    """Child process: build the round's messages, then time sending them; JSON on stdout."""
    from sangsaeng.db import engine_for

    engine = engine_for(spec["database_url"])
    ph: dict[str, Phase] = {}
    with phase(ph, "ceiling-build") as p:
        envelope, messages = prebuilt(engine, spec["round_id"])
        p.messages = len(messages)
    engine.dispose()
    size = sum(len(m) for _, m in messages)
    profile = Path(spec["profile"]) if spec["profile"] else None
    with profiled(profile, "ceiling", spec["profile_clock"]), phase(ph, "ceiling") as p:
        p.messages, problems = new_loop_runner(spec["loop"])(
            blast(spec["port"], spec["connections"], envelope, messages, spec["api"]))
    print(json.dumps({"build": asdict(ph["ceiling-build"]), "send": asdict(ph["ceiling"]),
                      "bytes": size, "rss_mb": peak_rss_mb(), "problems": problems[:20]}))


# --- the run ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Results:
    phases: dict[str, Phase] = field(default_factory=dict)
    parts: dict[str, tuple[int, float]] = field(default_factory=dict)  # --parts: calls, CPU s
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def run(args: argparse.Namespace, work: Path) -> Results:
    from sqlalchemy import func, select

    from sangsaeng.config import load_program, load_round
    from sangsaeng.db import engine_for, session_scope
    from sangsaeng.domain.clock import KST
    from sangsaeng.models import OUTBOX, Round
    from sangsaeng.services import rounds
    from sangsaeng.services.companies import import_registry
    from sangsaeng.settings import get_settings

    res = Results()
    ph = res.phases
    settings = get_settings()
    program = load_program(settings.config_dir)
    config = load_round(ROUND_CONFIG, program)
    now = datetime(2022, 5, 2, 10, 0, tzinfo=KST)  # inside the call's opening period

    with phase(ph, "generate") as p:
        csv_path = work / "companies.csv"
        p.messages = write_companies(csv_path, args.count)
    res.notes.append(f"companies.csv: {p.messages:,} rows ({args.count:,} opted in), "
                     f"{csv_path.stat().st_size / 1e6:.1f} MB")
    with phase(ph, "migrate"):
        engine = engine_for(settings.resolved_database_url)
    with session_scope(engine) as s:
        if s.get(Round, config.id) is not None:
            raise SystemExit(f"round {config.id} exists in {settings.redacted_database_url}: "
                             "give an empty database")

    with phase(ph, "import") as p, session_scope(engine) as s:
        summary = import_registry(s, csv_path, now=now, actor=ACTOR)
        p.messages = summary.added + summary.updated + summary.unchanged
    if summary.errors:
        res.failures.append(f"registry import: {len(summary.errors)} row errors, first: "
                            f"{summary.errors[0]}")

    with phase(ph, "enqueue") as p, session_scope(engine) as s:
        rnd = rounds.register_round(s, program, config, now=now, actor=ACTOR)
        rounds.open_round(s, rnd, now=now, actor=ACTOR)
    o = OUTBOX.c
    with session_scope(engine) as s:
        owed = s.execute(select(func.count()).where(o.round_id == config.id)).scalar_one()
        bodies = s.execute(select(func.count(func.distinct(o.body_id)))
                           .where(o.round_id == config.id)).scalar_one()
    p.messages = int(owed)
    res.notes.append(f"outbox after open_round: {owed:,} rows, {bodies} distinct body(ies)")
    if owed != args.count:
        res.failures.append(f"enqueue: {owed:,} outbox rows, expected {args.count:,}")

    sink = Sink(work, "delivery")
    try:
        with profiled(args.profile, "delivery", args.profile_clock), \
                parts_timed(args.parts, res.parts), phase(ph, "delivery") as p:
            report = deliver(engine, config.id, sink.port, args)
        p.sink_cpu = sink.cpu()
    finally:
        sunk = sink.stop()
    p.messages = report.sent
    res.notes.append(f"sender report: sent {report.sent:,}, retry {report.retry_later}, "
                     f"failed {report.failed}, released {report.released}, reconnects "
                     f"{report.reconnects}, stopped {report.stopped!r}, "
                     f"its own clock {report.seconds:.2f} s")
    with session_scope(engine) as s:
        states = dict(s.execute(select(o.state, func.count()).where(o.round_id == config.id)
                                .group_by(o.state)).all())
    res.notes.append(f"outbox states: {states}; sink counted {sunk:,} messages")
    if states.get("sent", 0) != args.count or len(states) != 1:
        res.failures.append(f"delivery: outbox states {states}, expected "
                            f"{{'sent': {args.count}}}")
    if sunk != args.count:
        res.failures.append(f"delivery: the sink counted {sunk:,} messages, expected "
                            f"{args.count:,}")

    sink = Sink(work, "ceiling")
    try:
        child = ceiling_in_child(args, work, sink.port, config.id)
        ph["ceiling-build"] = child["build"]
        ph["ceiling"] = p = child["send"]
        p.sink_cpu = sink.cpu()
    finally:
        sunk = sink.stop()
    res.notes.append(f"messages: {child['bytes'] / p.messages / 1024:.1f} KiB each on average, "
                     f"{child['bytes'] / 1e6:.0f} MB in all, held in memory by the ceiling's "
                     f"process (peak RSS {child['rss_mb']:.0f} MB)")
    problems = child["problems"]
    if p.messages != args.count or sunk != args.count or problems:
        res.failures.append(f"ceiling: sent {p.messages:,}, sink counted {sunk:,}, refused "
                            f"{len(problems)} (first: {problems[:1]})")
    engine.dispose()
    return res


def code_version() -> str:
    """HEAD's commit and a digest of sangsaeng/mail/*.py as on disk (may be uncommitted)."""
    import hashlib

    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = "?"
    digest = hashlib.sha256()
    for path in sorted((REPO / "sangsaeng" / "mail").glob("*.py")):
        digest.update(path.read_bytes())
    return f"commit {head}, sangsaeng/mail/*.py sha256 {digest.hexdigest()[:12]}"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_report(args: argparse.Namespace, res: Results, database: str) -> None:
    ph = res.phases
    print(f"\nbroadcast.py — {args.count:,} call.announcement messages, {args.connections} "
          f"connection(s), batch {args.batch}, loop {args.loop}, ceiling via {args.ceiling_api}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    print(f"code: {code_version()}; database: {database}")
    print(f"load average before the run: {LOAD_BEFORE}")
    for note in res.notes:
        print(f"  {note}")
    print(f"\n{'phase':<15}{'wall s':>9}{'msg/s':>10}{'CPU s':>9}{'CPU ms/msg':>12}"
          f"{'sink ms/msg':>13}{'peak RSS MB':>13}{'others CPU s':>14}")
    for name in ("generate", "migrate", "import", "enqueue", "delivery", "ceiling-build",
                 "ceiling"):
        p = ph.get(name)
        if p is None:
            continue
        n = p.messages
        speed = f"{n / p.wall:,.0f}" if n and p.wall else ""
        per = f"{p.cpu / n * 1000:.3f}" if n else ""
        sink = f"{p.sink_cpu / n * 1000:.3f}" if n and p.sink_cpu is not None else ""
        others = p.busy - p.cpu - (p.sink_cpu or 0.0) if p.busy else None
        print(f"{name:<15}{p.wall:>9.2f}{speed:>10}{p.cpu:>9.2f}{per:>12}{sink:>13}"
              f"{p.rss_mb:>13.0f}{'' if others is None else f'{others:.2f}':>14}")
    d, c = ph["delivery"], ph["ceiling"]
    rate, ceiling = d.messages / d.wall, c.messages / c.wall
    ratio = rate / ceiling
    rss = peak_rss_mb()  # the ceiling's pre-built bytes live in its own process
    print("\nfigure                                        measured      target")
    print(f"delivery, messages/s                          {rate:>8,.0f}    ≥ {TARGETS['rate']:,.0f}"
          f"   {verdict(rate >= TARGETS['rate'])}")
    print(f"delivery, CPU ms/message (sender process)     {d.cpu / d.messages * 1000:>8.3f}")
    if d.sink_cpu is not None:
        print(f"delivery, CPU ms/message (smtp-sink)          "
              f"{d.sink_cpu / d.messages * 1000:>8.3f}")
    print(f"ceiling, messages/s (pre-built, aiosmtplib)   {ceiling:>8,.0f}")
    print(f"ceiling, CPU ms/message (its own process)     {c.cpu / c.messages * 1000:>8.3f}")
    print(f"ratio delivery/ceiling                        {ratio:>8.2f}    ≥ {TARGETS['ratio']}"
          f"      {verdict(ratio >= TARGETS['ratio'])}")
    d_cpu, c_cpu = d.messages / d.cpu, c.messages / c.cpu
    print(f"CPU-bound rate (messages per CPU second of the sender / of the ceiling): "
          f"{d_cpu:,.0f} / {c_cpu:,.0f} = {d_cpu / c_cpu:.2f}")
    print("  (what each would reach with a core to itself: one event loop, so one core)")
    print(f"peak RSS of the bench process, MB             {rss:>8.0f}    ≤ {TARGETS['rss_mb']:.0f}"
          f"     {verdict(rss <= TARGETS['rss_mb'])}")
    print(f"others CPU s: what every other process used during the phase (of {os.cpu_count()}"
          " × wall): the figures are comparable only when it is near 0. The ceiling rows are "
          "the ceiling's own process, RSS included.")
    if args.profile:
        print("(profiled run: the delivery figures include cProfile's overhead)")
    if res.parts:
        print(f"\nthe sender's parts (--parts: CPU per delivered message; ~1 µs per call is the "
              f"timer's own), of {d.cpu / d.messages * 1e6:.1f} µs/message in all:")
        order = [label for *_, label in PARTS] + ["(delivery: user CPU)", "(delivery: system CPU)"]
        for label, (calls, seconds) in sorted(res.parts.items(), key=lambda i: order.index(i[0])):
            print(f"  {seconds / d.messages * 1e6:8.1f} µs/msg  {label}  ({calls:,} calls)")
        timed = sum(s for label, (_, s) in res.parts.items()
                    if not label.startswith(("(", "  ")))
        print(f"  {(d.cpu - timed) / d.messages * 1e6:8.1f} µs/msg  the rest: aiosmtplib, the "
              "event loop, queues and the sender's plumbing")
    if res.failures:
        for failure in res.failures:
            print(f"FAILED: {failure}")
    else:
        print(f"check: outbox holds exactly {args.count:,} rows in state sent and both sinks "
              "counted that many messages — OK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000,
                        help="opted-in companies = messages (default 100000)")
    parser.add_argument("--connections", type=int, default=4,
                        help="SMTP connections (default 4, as SANGSAENG_SMTP_CONNECTIONS)")
    parser.add_argument("--ceiling-api", choices=("sendmail", "commands"), default="sendmail",
                        help="how the ceiling sends: aiosmtplib's sendmail (FIELD_NOTES), or "
                             "MAIL/RCPT/DATA as the sender does (one address parse less)")
    parser.add_argument("--batch", type=int, default=200,
                        help="rows per outbox claim (default 200, DeliveryPolicy's default)")
    parser.add_argument("--database-url",
                        help="program database (default: a fresh SQLite file under var/bench/)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="event loop of the sender and the ceiling (uvloop: if installed)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="cProfile the delivery phase into FILE (the ceiling's sending "
                             "into FILE.ceiling) and print the top entries")
    parser.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                        help="cProfile's clock: per-thread CPU time (default) or wall time")
    parser.add_argument("--parts", action="store_true",
                        help="time the sender's parts (outcome writes, claims, composing, lease "
                             "fence) with the thread's CPU clock and print µs per message")
    parser.add_argument("--keep", action="store_true",
                        help="keep companies.csv, the database and the sink logs")
    parser.add_argument("--ceiling-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_child:
        spec = json.loads(args.ceiling_child)
        os.environ["SANGSAENG_DATABASE_URL"] = spec["database_url"]
        os.environ["SANGSAENG_VAR_DIR"] = spec["work"]
        sys.path.insert(0, str(REPO))
        ceiling_child(spec)
        return
    if args.count < 1 or args.connections < 1:
        parser.error("--count and --connections must be positive")
    if not SINK.exists():
        raise SystemExit(f"{SINK} is missing: `apt-get install postfix` provides smtp-sink")
    if args.loop == "uvloop":
        try:
            import uvloop  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
        except ImportError:
            raise SystemExit("--loop uvloop: uvloop is not installed in this venv") from None

    global LOAD_BEFORE
    LOAD_BEFORE = " ".join(f"{x:.2f}" for x in os.getloadavg())
    work = BENCH / f"broadcast-{args.count}x{args.connections}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ["SANGSAENG_VAR_DIR"] = str(work)
    database = args.database_url or f"sqlite:///{work / 'sangsaeng.db'}"
    os.environ["SANGSAENG_DATABASE_URL"] = database
    sys.path.insert(0, str(REPO))
    from sangsaeng.settings import get_settings

    get_settings.cache_clear()
    try:
        results = run(args, work)
        print_report(args, results, get_settings().redacted_database_url)
    finally:
        if not args.keep:
            with suppress(OSError):
                shutil.rmtree(work)
    if results.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
