"""Round at scale: import → decision for a synthetic round, through the flows and directly.

    .venv/bin/python bench/round_scale.py [--applications 10000] [--reviews 5] [--seed 0] [--keep]
    .venv/bin/python bench/round_scale.py --pool [--workers 2] [--pg URL]

Generates a round package under var/bench/, then runs it twice, each in a fresh process on a
fresh SQLite database: (a) `flows.round.round_flow` (in-process Prefect, --now after every
deadline, approve=True) and (b) the same service calls without Prefect, in the same order and
one session per step, as `tasks/steps.py` makes them: both run every step, open_call through
certificate_issuance (the leads whose production the package confirms: PDFs and notices) and
mall_listing_support, and end in `support` (issue 22 item 10: (b) used to stop at `notified`,
so the ratio compared unequal work). Both end by delivering the round's
notices on the embedded defaults, reported on a line of its own: outside the walls, the
ratio and "Prefect orchestration". Prints figures; asserts nothing.
See bench/README.md for the targets and the recorded baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "var" / "bench"
ROUND_ID = "2022-9"  # the synthetic call closes on 2022-05-27 (synthetic default)
ACTOR = "bench"
TARGETS = {"wall_s": 60.0, "task_runs": 100, "ratio": 1.5, "rss_mb": 500.0,
           "messages_per_s": 1000.0, "pool_ratio": 1.3}


def rate(figures: dict[str, float]) -> float:
    """Messages per second of a delivery (0 when nothing was timed)."""
    return figures["messages"] / figures["seconds"] if figures["seconds"] else 0.0


# --- measuring -----------------------------------------------------------------------------


class RssSampler:
    """Peak RSS: this process exactly (ru_maxrss); its children and the whole tree sampled."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.children_peak, self.tree_peak = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil  # type: ignore[import-untyped]

        me = psutil.Process()
        while not self._stop.wait(self.interval):
            children = 0
            for process in me.children(recursive=True):
                with suppress(psutil.Error):
                    children += process.memory_info().rss
            self.children_peak = max(self.children_peak, children)
            self.tree_peak = max(self.tree_peak, children + me.memory_info().rss)

    @staticmethod
    def self_peak_mb() -> float:
        """Peak RSS of this process so far, MB (Linux reports ru_maxrss in KiB)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    """Wall time of the block, in seconds, stored under `name`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[name] = time.perf_counter() - start


def migrate_fresh() -> float:
    """Create and migrate a fresh program database (outside the timed run); seconds taken."""
    from sangsaeng.db import get_engine

    start = time.perf_counter()
    get_engine()
    return time.perf_counter() - start


# --- (b) direct: the steps of tasks/steps.py without Prefect -------------------------------


def run_direct(config: Path, data: Path, now: datetime, *, deliver: bool = True,
               through_issuance: bool = True) -> dict[str, Any]:
    """The round's service calls in the order the flows make them, one session per step: the
    same steps as (a), certificate issuance and the start of listing support included.

    `deliver=False` leaves the notices in the outbox and `through_issuance=False` stops at
    `notified` (bench/certificates.py's setup, which confirms production and issues apart)."""
    from sangsaeng.config import load_program, load_round
    from sangsaeng.db import session_scope
    from sangsaeng.domain.ranking import ChairDecision
    from sangsaeng.errors import ImportRejected
    from sangsaeng.services import intake, review, rounds, screening, selection, uploads
    from sangsaeng.settings import get_settings

    steps: dict[str, float] = {}
    with timed(steps, "open_call"):
        program = load_program(get_settings().config_dir)
        round_config = load_round(config, program)
        with session_scope() as s:
            round_id = rounds.register_round(s, program, round_config, now=now, actor=ACTOR).id
        with session_scope() as s:
            rounds.open_round(s, rounds.get_round(s, round_id), now=now, actor=ACTOR)
    with timed(steps, "intake"), session_scope() as s:
        rnd = rounds.get_round(s, round_id)
        package = intake.read_round_package(s, rnd, data)
        summary = intake.import_package(s, rnd, package, now=now, actor=ACTOR)
        # as tasks/steps.import_package: the package read is kept in the database (item 4)
        uploads.keep_read(s, round_id, data, get_settings().inbox_dir)
    if summary.errors:
        raise ImportRejected(len(summary.errors), summary.total_added,
                             [str(e) for e in summary.errors])
    with timed(steps, "close_intake"):
        with session_scope() as s:
            rounds.close_intake(s, rounds.get_round(s, round_id), now=now, actor=ACTOR)
        with session_scope() as s:
            rounds.get_round(s, round_id)
    with timed(steps, "screening"), session_scope() as s:
        screened = screening.screen(s, rounds.get_round(s, round_id), now=now, actor=ACTOR)
    with timed(steps, "committee_review"):
        with session_scope() as s:
            proposal = review.propose_decisions(s, rounds.get_round(s, round_id), now=now,
                                                actor=ACTOR)
        with session_scope() as s:
            rounds.get_round(s, round_id)
        with session_scope() as s:
            review.approve(s, rounds.get_round(s, round_id), ChairDecision(approve=True),
                           now=now, actor=ACTOR)
    with timed(steps, "selection_notice"), session_scope() as s:
        released = selection.release(s, rounds.get_round(s, round_id), now=now, actor=ACTOR)
    if through_issuance:
        issue_and_begin_support(round_id, now, steps)
    with session_scope() as s:
        state = rounds.get_round(s, round_id).state
    # what the flows do last, measured on its own line
    delivery = deliver_all(round_id) if deliver else {"messages": 0, "seconds": 0.0}
    return {"round_id": round_id, "state": str(state), "steps": steps,
            "screening": screened.moved,
            "proposed": proposal.proposed, "excluded": len(proposal.excluded),
            "released": released, "delivery": delivery}


def issue_and_begin_support(round_id: str, now: datetime, steps: dict[str, float]) -> None:
    """certificate_issuance and mall_listing_support, as the round flow runs them last: the
    certificates of the leads whose production the package confirms, with PDFs and notices,
    then the listing checklists (the round moves to `support`)."""
    from sangsaeng.config import load_program
    from sangsaeng.db import session_scope
    from sangsaeng.services import certificates, listing, rounds
    from sangsaeng.settings import get_settings

    settings = get_settings()
    printer = certificates.Printer(settings, load_program(settings.config_dir))
    with timed(steps, "certificate_issuance"), session_scope() as s:
        certificates.issue(s, rounds.get_round(s, round_id), printer, now=now, actor=ACTOR)
    with timed(steps, "mall_listing_support"), session_scope() as s:
        listing.begin_support(s, rounds.get_round(s, round_id), now=now, actor=ACTOR)


def deliver_all(round_id: str) -> dict[str, float]:
    """Deliver the round's notices as the flows' final phase does; messages and seconds."""
    from sangsaeng.mail.delivery import deliver

    start = time.perf_counter()
    report = asyncio.run(deliver(round_id=round_id))
    return {"messages": report.sent, "seconds": time.perf_counter() - start}


# --- (a) through the flows --------------------------------------------------------------------


async def count_task_runs(root: Any, settle_s: float = 120.0) -> dict[str, int]:
    """Task runs of the round's flow runs (the round flow and its subflows), from the API.

    Task run states reach the API as events, so the count is read until it stops changing
    and every task run it holds is in a final state.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    async with get_client() as client:
        flow_runs, frontier, parents = [root], [root], set[Any]()
        while frontier:
            children = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)))
            parents.update(run.parent_task_run_id for run in children)
            frontier = [run.id for run in children if run.id not in flow_runs]
            flow_runs += frontier
        deadline, last, stable = time.monotonic() + settle_s, -1, 0
        while True:
            runs: list[Any] = []
            while True:
                page = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_runs)),
                    limit=200, offset=len(runs))
                runs += page
                if len(page) < 200:
                    break
            final = all(r.state is not None and r.state.is_final() for r in runs)
            stable = stable + 1 if len(runs) == last and final else 0
            if stable >= 3 or time.monotonic() > deadline:
                break
            last = len(runs)
            await asyncio.sleep(0.5)
    # A subflow call is recorded as a task run of its parent too (the subflow's parent task).
    placeholders = sum(1 for r in runs if r.id in parents)
    return {"flow_runs": len(flow_runs), "task_runs": len(runs), "settled": int(stable >= 3),
            "subflow_task_runs": placeholders}


def time_task_bodies(into: dict[str, float]) -> None:
    """Add each round task's body time (what the direct run does per step) to `into`."""
    from tasks import steps

    def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def body(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - start
        return body

    def timing_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def body(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - start
        return body

    from tasks import notices

    for name in ("open_round", "import_package", "close_intake", "screen", "propose", "decide",
                 "release"):
        task = getattr(steps, name)
        task.fn = timing(name, task.fn)
    notices.deliver_notices.fn = timing_async("delivery", notices.deliver_notices.fn)


def count_api_responses(into: dict[str, int]) -> None:
    """Count the Prefect client's HTTP responses by status (503 = retried after a back-off)."""
    import httpx

    send = httpx.AsyncClient.send

    async def counting(self: httpx.AsyncClient, request: httpx.Request, *args: Any,
                       **kwargs: Any) -> httpx.Response:
        response = await send(self, request, *args, **kwargs)
        key = str(response.status_code)
        into[key] = into.get(key, 0) + 1
        return response

    httpx.AsyncClient.send = counting  # type: ignore[method-assign]


def run_flows(config: Path, data: Path, now: datetime) -> dict[str, Any]:
    """Start Prefect with a trivial flow (measured apart), then the round flow."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    steps: dict[str, float] = {}
    with timed(steps, "import_prefect"):
        from prefect import flow

        from flows.round import round_flow
    bodies: dict[str, float] = {}
    time_task_bodies(bodies)
    responses: dict[str, int] = {}

    @flow(name="bench-warmup", persist_result=False)
    async def warmup() -> int:
        return 1

    async def the_round() -> Any:
        return await round_flow(str(config), str(data), now, approve=True, actor=ACTOR,
                                return_state=True)

    with timed(steps, "startup"):
        asyncio.run(warmup())
    count_api_responses(responses)
    with timed(steps, "round"):
        state = asyncio.run(the_round())
    during = dict(responses)  # the round's own API calls, not the counting below
    report = state.result()
    root = state.state_details.flow_run_id
    with timed(steps, "count"):
        counted = asyncio.run(count_task_runs(root))
    sent = sum(s.notices.get("sent", 0) for s in report.steps)
    delivery = {"messages": sent, "seconds": bodies.pop("delivery", 0.0)}
    return {"state": report.state, "steps": steps, "task_bodies": bodies, "delivery": delivery,
            "api_calls": sum(during.values()), "api_503": during.get("503", 0),
            "outcomes": {s.step.value: s.detail for s in report.steps}, **counted}


# --- one measured run per process -------------------------------------------------------------


def child(mode: str, config: Path, data: Path, now: datetime, database: Path,
          result: Path, database_url: str | None = None) -> None:
    """Run one mode on a fresh database in this process and write its figures as JSON
    (`database_url`: a fresh PostgreSQL database instead of the SQLite file `database`)."""
    for path in database.parent.glob(database.name + "*"):
        path.unlink()
    os.environ["SANGSAENG_DATABASE_URL"] = database_url or f"sqlite:///{database}"
    os.environ["SANGSAENG_VAR_DIR"] = str(database.parent)
    figures: dict[str, Any] = {"mode": mode, "migrate_s": migrate_fresh()}
    runner: Callable[[Path, Path, datetime], dict[str, Any]] = (
        run_flows if mode == "flows" else run_direct)
    with RssSampler() as sampler:
        start = time.perf_counter()
        figures.update(runner(config, data, now))
        # import → decision: the delivery (the final phase) is reported on its own line
        figures["wall_s"] = (time.perf_counter() - start - figures["steps"].get("count", 0.0)
                             - figures["delivery"]["seconds"])
    figures["rss_mb"] = RssSampler.self_peak_mb()
    figures["children_rss_mb"] = sampler.children_peak / 2**20
    figures["tree_rss_mb"] = sampler.tree_peak / 2**20
    figures["prefect_imported"] = "prefect" in sys.modules
    figures["db_mb"] = sum(p.stat().st_size for p in database.parent.glob(database.name + "*")
                           ) / 2**20
    result.write_text(json.dumps(figures, default=str), encoding="utf-8")


def spawn(mode: str, config: Path, data: Path, now: datetime, database_url: str | None = None
          ) -> dict[str, Any]:
    """Run `child` in a fresh interpreter (separate peak RSS, no shared caches)."""
    result = BENCH / f"{mode}.json"
    result.unlink(missing_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(BENCH / "prefect")}
    command = [sys.executable, __file__, "--child", mode, "--config", str(config),
               "--data", str(data), "--now", now.isoformat(),
               "--database", str(BENCH / f"{mode}.db"), "--result", str(result),
               *(["--database-url", database_url] if database_url else [])]
    subprocess.run(command, check=True, env=env, cwd=REPO)
    figures: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    return figures


# --- report ----------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    """`ok` or `MISSED` against a ceiling."""
    return "ok" if value <= target else "MISSED"


def prefect_database() -> str:
    """Which database the in-process Prefect server uses (its default is SQLite)."""
    if os.environ.get("PREFECT_API_URL"):
        return f"none in-process: PREFECT_API_URL={os.environ['PREFECT_API_URL']}"
    for name in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        url = os.environ.get(name)
        if url:
            return f"{url.split(':', 1)[0]} (from {name})"
    return "SQLite under PREFECT_HOME (Prefect's default)"


def task_runs(flows: dict[str, Any]) -> str:
    """`17 in 7 flow runs (6 of them stand for subflow calls)`, or `11 in 1 flow run`."""
    text = f"{flows['task_runs']} in {flows['flow_runs']} flow run"
    text += "s" if flows["flow_runs"] != 1 else ""
    if flows["subflow_task_runs"]:
        text += f" ({flows['subflow_task_runs']} of them stand for subflow calls)"
    return text + ("" if flows["settled"] else " — NOT settled")


def delivery(figures: dict[str, float]) -> str:
    """`51,382 messages in 40.1 s (1,281 messages/s)`."""
    messages, seconds = int(figures["messages"]), figures["seconds"]
    rate = f"{messages / seconds:,.0f} messages/s" if seconds else "-"
    return f"{messages:,} messages in {seconds:.1f} s ({rate})"


def direct_report(args: argparse.Namespace, gen_s: float, package_mb: float,
                  direct: dict[str, Any]) -> None:
    """`--direct-only`: the direct run's steps, wall and peak RSS, with the RSS target."""
    print(f"\nround_scale --direct-only — {args.applications:,} applications × {args.reviews} "
          f"reviews (seed {args.seed}); Python {platform.python_version()}, "
          f"{os.cpu_count()} cores")
    print(f"package generated in {gen_s:.1f} s ({package_mb:.1f} MB of CSV)\n")
    rows = [("(b) direct: wall, open call → support (issuance included), excl. delivery",
             f"{direct['wall_s']:.1f} s"),
            *((f"    {step}", f"{secs:.2f} s") for step, secs in direct["steps"].items()),
            ("    delivery of the notices (the final phase)", delivery(direct["delivery"])),
            ("peak RSS (b) run process", f"{direct['rss_mb']:.0f} MB"),
            ("program database after the run", f"{direct['db_mb']:.0f} MB"),
            ("final round state", str(direct["state"]))]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(f"\ntarget: peak RSS ≤ 500 MB (run process)  {direct['rss_mb']:.0f}  "
          f"{verdict(direct['rss_mb'], TARGETS['rss_mb'])}")


def print_report(args: argparse.Namespace, gen_s: float, package_mb: float, fresh_home: bool,
                 flows: dict[str, Any], direct: dict[str, Any]) -> None:
    """The figures, then each target with ok/MISSED."""
    fs, ds = flows["steps"], direct["steps"]
    fd, dd = flows["delivery"], direct["delivery"]
    ratio = (fs["round"] - fd["seconds"]) / direct["wall_s"]
    bodies = sum(flows["task_bodies"].values())
    print(f"\nround_scale — {args.applications:,} applications × {args.reviews} reviews "
          f"(seed {args.seed}); Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"package generated in {gen_s:.1f} s ({package_mb:.1f} MB of CSV)")
    print(f"Prefect home: var/bench/prefect ({'fresh' if fresh_home else 'reused'}); "
          f"Prefect server database: {prefect_database()}")
    print(f"program databases: fresh SQLite files, migrated before timing "
          f"({direct['migrate_s']:.1f} s each)\n")
    rows = [
        ("(a) flows: wall, open call → support (issuance included), incl. start-up, excl. delivery",
         f"{flows['wall_s']:.1f} s"),
        ("    `import prefect` + flows", f"{fs['import_prefect']:.1f} s"),
        ("    Prefect start-up, measured as a trivial flow run first",
         f"{fs['startup']:.1f} s"),
        ("    round flow, excluding start-up", f"{fs['round']:.1f} s"),
        ("      in the task bodies (the same calls as (b))", f"{bodies:.1f} s"),
        ("      delivery of the notices (the final phase)", delivery(fd)),
        ("      Prefect orchestration (the rest)",
         f"{fs['round'] - bodies - fd['seconds']:.1f} s"),
        ("      Prefect API calls / of them 503 (retried after ~2 s)",
         f"{flows['api_calls']} / {flows['api_503']}"),
        ("(b) direct: wall, open call → support (issuance included), no Prefect, excl. delivery",
         f"{direct['wall_s']:.1f} s"),
        *((f"    {step}", f"{secs:.2f} s") for step, secs in ds.items()),
        ("    delivery of the notices (as the flows' final phase)", delivery(dd)),
        ("Prefect task runs of the round (counted via the API)", task_runs(flows)),
        ("overhead ratio flows/direct (round flow / direct, both excl. delivery)",
         f"{ratio:.2f}"),
        ("peak RSS (a) run process", f"{flows['rss_mb']:.0f} MB"),
        ("peak RSS (a) Prefect server subprocess (sampled)", f"{flows['children_rss_mb']:.0f} MB"),
        ("peak RSS (a) both together (sampled)", f"{flows['tree_rss_mb']:.0f} MB"),
        ("peak RSS (b) run process", f"{direct['rss_mb']:.0f} MB"),
        ("final round state (a) / (b)", f"{flows['state']} / {direct['state']}"),
        ("steps of both runs", " → ".join(direct["steps"])),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(f"\nscreening {direct['screening']}; proposed {direct['proposed']}; "
          f"excluded sheets {direct['excluded']}")
    print("\ntargets (2 cores):")
    for name, value, target in (
        ("wall ≤ 60 s (flows, incl. start-up)", flows["wall_s"], TARGETS["wall_s"]),
        ("task runs ≤ 100", flows["task_runs"], TARGETS["task_runs"]),
        ("ratio flows/direct ≤ 1.5", ratio, TARGETS["ratio"]),
        ("delivery ≥ 1,000 messages/s (worse of a/b)",
         -min(rate(fd), rate(dd)), -TARGETS["messages_per_s"]),
        ("peak RSS ≤ 500 MB (run process, worse of a/b)",
         max(flows["rss_mb"], direct["rss_mb"]), TARGETS["rss_mb"]),
    ):
        print(f"  {name:<48} {abs(value):>8.2f}  {verdict(value, target)}")


# --- (c) through a work pool on PostgreSQL, beside (a) on the same PostgreSQL ----------------


def side_by_side(args: argparse.Namespace, config: Path, data: Path, now: datetime
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(a) in-process on a fresh PostgreSQL program database, then (c) the same round through
    the `round` deployment of a Prefect server on PostgreSQL with `args.workers` workers, on
    another fresh program database of the same PostgreSQL."""
    from sangsaeng.cli.scale import PG_DEFAULT, database_url, drop_database, ensure_database

    pg = args.pg or PG_DEFAULT
    ensure_database(pg, "sangsaeng_bench_inproc", fresh=True)
    try:
        inproc = spawn("flows", config, data, now, database_url(pg, "sangsaeng_bench_inproc"))
    finally:
        drop_database(pg, "sangsaeng_bench_inproc")
    return inproc, run_pool(pg, args.workers, config, data, now)


def run_pool(pg: str, workers: int, config: Path, data: Path, now: datetime) -> dict[str, Any]:
    """The round through the work pool: wall from the run's creation until it is Completed
    (worker pick-up and process start included; the delivery is a run of its own)."""
    from sangsaeng.cli.scale import cluster, drop_database

    figures: dict[str, Any] = {}
    with RssSampler() as sampler:
        start = time.perf_counter()
        with cluster(BENCH / "pool", pg=pg, program_db="sangsaeng_bench_pool",
                     prefect_db="prefect_bench_pool", workers=workers, fresh=True,
                     say=print) as found:
            figures["cluster_s"] = time.perf_counter() - start
            start = time.perf_counter()
            run = found.api.start("round", {"config": str(config), "data": str(data),
                                            "now": now.isoformat(), "approve": True,
                                            "actor": ACTOR}, name=f"{ROUND_ID}-bench")
            run, _ = found.api.follow(run.id, None, 3600)
            figures["wall_s"] = time.perf_counter() - start
            figures["state"] = run.state.name
            figures["run_s"] = (run.end_time - run.start_time).total_seconds()
            deliveries = found.api.finished_runs(f"notices:{ROUND_ID}", 3600)
            figures["delivery_s"] = sum((d.end_time - d.start_time).total_seconds()
                                        for d in deliveries if d.start_time and d.end_time)
            figures["by_worker"] = found.api.runs_by_worker(
                datetime.now().astimezone() - timedelta(hours=1), at_least=1 + len(deliveries))
            figures["messages"] = sent_messages(found.program_database)
    drop_database(pg, "sangsaeng_bench_pool")
    drop_database(pg, "prefect_bench_pool")
    figures["tree_rss_mb"] = sampler.tree_peak / 2**20
    return figures


def sent_messages(url: str) -> int:
    """Messages the pool's delivery runs sent (from the program database)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        sent = conn.execute(text("SELECT count(*) FROM outboxmessage WHERE state = 'sent'"))
        count = int(sent.scalar_one())
    engine.dispose()
    return count


def pool_report(args: argparse.Namespace, gen_s: float, package_mb: float,
                inproc: dict[str, Any], pool: dict[str, Any]) -> None:
    """(a) on PostgreSQL beside (c), the ratio and its target."""
    fs = inproc["steps"]
    inproc_wall = fs["startup"] + fs["round"] - inproc["delivery"]["seconds"]
    ratio = pool["wall_s"] / inproc_wall
    print(f"\nround_scale --pool — {args.applications:,} applications × {args.reviews} reviews "
          f"(seed {args.seed}); Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"program database on PostgreSQL for both")
    print(f"package generated in {gen_s:.1f} s ({package_mb:.1f} MB of CSV)")
    rows = [
        ("(a) in-process: Prefect start-up + round flow, excl. delivery",
         f"{inproc_wall:.1f} s ({fs['startup']:.1f} + "
         f"{fs['round'] - inproc['delivery']['seconds']:.1f})"),
        ("    its delivery (in-process, final phase)", delivery(inproc["delivery"])),
        ("(c) work pool: cluster start (server on PostgreSQL, deploy, "
         f"{args.workers} workers)", f"{pool['cluster_s']:.1f} s (once, not in the ratio)"),
        ("(c) work pool: round run, created → Completed", f"{pool['wall_s']:.1f} s"),
        ("    of it in the worker's flow-run process (start → end)", f"{pool['run_s']:.1f} s"),
        ("    delivery run(s) after it", f"{pool['messages']:,} messages in "
         f"{pool['delivery_s']:.1f} s"),
        ("    flow runs executed per worker", ", ".join(
            f"{k} {v}" for k, v in sorted(pool["by_worker"].items())) or "-"),
        ("peak RSS (c) server + workers + runs (sampled)", f"{pool['tree_rss_mb']:.0f} MB"),
        ("final: round state (a) / round run state (c)", f"{inproc['state']} / {pool['state']}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(f"\ntarget: ratio work pool / in-process ≤ 1.3: {ratio:.2f}  "
          f"{verdict(ratio, TARGETS['pool_ratio'])}")


def main() -> None:
    """Generate the round, run both modes in child processes, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true",
                        help="keep the package and databases under var/bench/")
    parser.add_argument("--pool", action="store_true", help=(
        "the program database on PostgreSQL: the round in-process, then through the work "
        "pool of a Prefect server on PostgreSQL with --workers workers (docs/deploy.md)"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=None, help="PostgreSQL server for --pool")
    parser.add_argument("--direct-only", action="store_true", help=(
        "only (b), the direct run: its steps, wall and peak RSS (issue 24 item 2: memory at "
        "50,000 and 100,000 applications)"))
    parser.add_argument("--child", choices=("flows", "direct"), help=argparse.SUPPRESS)
    for hidden in ("--config", "--data", "--now", "--database", "--result", "--database-url"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from sangsaeng.domain.clock import parse_instant

        child(args.child, Path(args.config), Path(args.data), parse_instant(args.now),
              Path(args.database), Path(args.result), args.database_url)
        return
    from sangsaeng.synthetic import DEFAULT_CLOSES_AT, DEFAULT_TRACKS, generate_round

    folder = BENCH / f"round-{args.applications}x{args.reviews}-s{args.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    quota = {t: max(1, args.applications // 20) for t in DEFAULT_TRACKS}
    start = time.perf_counter()
    data = generate_round(folder, round_id=ROUND_ID, applications=args.applications,
                          reviews_per_application=args.reviews, seed=args.seed, quota=quota)
    gen_s = time.perf_counter() - start
    package_mb = sum(p.stat().st_size for p in data.iterdir()) / 2**20
    now = DEFAULT_CLOSES_AT + timedelta(days=60)  # after the deadline and the S1 deadline
    fresh_home = not (BENCH / "prefect").exists()
    config = folder / "round.toml"
    if args.pool:
        pool_report(args, gen_s, package_mb, *side_by_side(args, config, data, now))
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if args.direct_only:
        direct_report(args, gen_s, package_mb, spawn("direct", config, data, now))
    else:
        flows = spawn("flows", config, data, now)
        direct = spawn("direct", config, data, now)
        print_report(args, gen_s, package_mb, fresh_home, flows, direct)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
        for mode in ("flows", "direct"):
            for path in BENCH.glob(f"{mode}.*"):
                path.unlink()


if __name__ == "__main__":
    main()
