"""Certificate issuance at scale: the round-scale round through `certificate_issuance`.

    .venv/bin/python bench/certificates.py [--applications 10000] [--runs 3] [--small 1000]
                                           [--reviews 5] [--seed 0] [--profile FILE] [--keep]

Untimed setup, in a fresh process on a fresh SQLite database: the round-scale round
(`round_scale.py`'s generator and quota, N/20 per track) brought to `notified` by
`round_scale.run_direct` (no Prefect, no delivery), then production confirmed for every lead of
every selected application (rows inserted directly). The database is kept as a template.

Timed, each run in a fresh process on a fresh copy of that database: Prefect started with a
trivial flow (reported apart), then `flows.certificates.certificate_issuance` in-process, with
--now a month after the selection: PDFs written under the run's var dir, `certificate.issued`
notices queued in the outbox. The flow's delivery task still runs (its task run counts) but
its body is replaced by one that sends nothing: delivery is measured by embedded.py. Then the
flow run's task runs are counted through the API (round_scale's counting).

`--small N` runs a second, smaller round once the same way, to show the task runs do not grow
with the number of certificates. Prints figures with verdicts; asserts nothing.
See bench/README.md "Certificate issuance (issue 11)".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from round_scale import (  # noqa: E402
    ACTOR,
    BENCH,
    REPO,
    ROUND_ID,
    RssSampler,
    count_task_runs,
    migrate_fresh,
    run_direct,
    timed,
    verdict,
)

TARGETS = {"wall_s": 60.0, "rss_mb": 500.0}
CONFIRMED_AFTER = timedelta(days=1)  # production confirmed a day after the selection notice
ISSUED_AFTER = timedelta(days=30)  # --now of the issuance: a month after the selection


# --- measuring -----------------------------------------------------------------------------


class PoolSampler(RssSampler):
    """RssSampler that also keeps the peak of this process's children other than `apart`
    (the PDF pool: forkserver and workers, apart from Prefect's server subprocess)."""

    def __init__(self, apart: set[int], interval: float = 0.1) -> None:
        super().__init__(interval)
        self.apart, self.pool_peak, self.with_pool_peak = apart, 0, 0

    def _run(self) -> None:
        import psutil  # type: ignore[import-untyped]

        me = psutil.Process()
        while not self._stop.wait(self.interval):
            children = pool = 0
            for process in me.children(recursive=True):
                with suppress(psutil.Error):
                    rss = process.memory_info().rss
                    children += rss
                    pool += rss if process.pid not in self.apart else 0
            own = me.memory_info().rss
            self.children_peak = max(self.children_peak, children)
            self.tree_peak = max(self.tree_peak, children + own)
            self.pool_peak = max(self.pool_peak, pool)
            self.with_pool_peak = max(self.with_pool_peak, pool + own)


def descendants_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every live descendant, by pid."""
    import psutil

    cpu = {}
    for process in psutil.Process().children(recursive=True):
        with suppress(psutil.Error):
            times = process.cpu_times()
            cpu[process.pid] = times.user + times.system
    return cpu


def instrument(into: dict[str, float]) -> None:
    """Time the issuance's parts (seconds into `into`), read the PDF pool's CPU before it
    shuts down, and keep the flow's delivery from sending anything."""
    from sangsaeng.services import certificates as service
    from tasks import artifacts, notices
    from tasks import certificates as task_module
    from tasks.results import Delivered

    def adding(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    render_all = service.render_all

    def measured_render_all(templates_dir: Path, docs: Sequence[Any], **kwargs: Any
                            ) -> Iterator[bytes]:
        """render_all, timing the waits for it; the pool's CPU read after the last PDF."""
        before = descendants_cpu()
        inner, done = render_all(templates_dir, docs, **kwargs), 0
        while True:
            start = time.perf_counter()
            try:
                pdf = next(inner)
            except StopIteration:
                break
            finally:
                into["render_wait"] = into.get("render_wait", 0.0) + time.perf_counter() - start
            done += 1
            if done == len(docs):  # the pool is still up: its processes' CPU is all there
                after = descendants_cpu()
                into["pool_cpu"] = sum(cpu for pid, cpu in after.items() if pid not in before)
                into["pool_processes"] = sum(1 for pid in after if pid not in before)
            into["pdf_bytes"] = into.get("pdf_bytes", 0.0) + len(pdf)
            yield pdf

    service.render_all = measured_render_all  # type: ignore[assignment]
    service.write_pdf = adding("write_pdf", service.write_pdf)  # type: ignore[assignment]
    service.owe_notices = adding("owe_notices", service.owe_notices)  # type: ignore[assignment]
    service._number = adding("number", service._number)  # type: ignore[assignment]
    service._due = adding("due", service._due)  # type: ignore[assignment]
    service.issue = adding("issue", service.issue)  # type: ignore[assignment]
    for name, task in (("task_issue", task_module.issue_certificates),
                       ("task_publish", artifacts.publish_round)):
        task.fn = adding(name, task.fn)  # type: ignore[method-assign]
    async def not_sent(round_id: str | None) -> Delivered:
        return Delivered()

    notices.deliver_notices.fn = functools.wraps(notices.deliver_notices.fn)(  # type: ignore[method-assign]
        not_sent)


def queued(round_id: str) -> dict[str, int]:
    """The round's `certificate.issued` notices in the outbox, by state."""
    from sqlalchemy import func, select

    from sangsaeng.db import session_scope
    from sangsaeng.models import OUTBOX

    with session_scope() as s:
        rows = s.execute(select(OUTBOX.c.state, func.count()).where(
            OUTBOX.c.round_id == round_id, OUTBOX.c.kind == "certificate.issued")
            .group_by(OUTBOX.c.state)).all()
    return {state: n for state, n in rows}


# --- the two children: setup, then one timed issuance -----------------------------------------


def use(database: Path, var: Path) -> None:
    """This process's program database and var dir."""
    os.environ["SANGSAENG_DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["SANGSAENG_VAR_DIR"] = str(var)


def confirm_every_lead(round_id: str, at: datetime) -> dict[str, int]:
    """K1: production confirmed for every lead of every selected application (direct rows).

    The package already confirms the first lead of every third application (synthetic.py),
    selected or not: those rows stay; the others are added, confirmed at `at`."""
    from sqlalchemy import and_, func, select
    from sqlalchemy.dialects.sqlite import insert

    from sangsaeng.db import session_scope
    from sangsaeng.domain.states import ApplicationState
    from sangsaeng.models import APPLICATIONS, PARTICIPANTS, PRODUCTION

    a, p = APPLICATIONS.c, PARTICIPANTS.c
    selected = and_(a.round_id == round_id, a.state == ApplicationState.SELECTED)
    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(PRODUCTION))
        leads = s.execute(select(p.application_id, p.brn)
                          .select_from(PARTICIPANTS.join(APPLICATIONS, a.id == p.application_id))
                          .where(selected, p.role == "lead")).all()
        s.execute(insert(PRODUCTION).on_conflict_do_nothing(),
                  [{"application_id": app, "brn": brn, "confirmed_at": at} for app, brn in leads])
        after = s.scalar(select(func.count()).select_from(PRODUCTION))
        apps = s.scalar(select(func.count()).select_from(APPLICATIONS).where(selected))
    return {"selected": int(apps or 0), "leads": len(leads), "from_package": int(before or 0),
            "added": int(after or 0) - int(before or 0), "confirmations": int(after or 0)}


def setup(config: Path, data: Path, now: datetime, database: Path, result: Path) -> None:
    """Untimed: fresh database, the round to `notified` without Prefect, every lead confirmed."""
    shutil.rmtree(database.parent, ignore_errors=True)
    database.parent.mkdir(parents=True)
    use(database, database.parent)
    figures: dict[str, Any] = {"migrate_s": migrate_fresh()}
    start = time.perf_counter()
    direct = run_direct(config, data, now, deliver=False, through_issuance=False)
    figures.update(state=direct["state"], round_id=direct["round_id"],
                   direct_s=time.perf_counter() - start,
                   **confirm_every_lead(direct["round_id"], now + CONFIRMED_AFTER))
    result.write_text(json.dumps(figures, default=str), encoding="utf-8")


def issue(round_id: str, now: datetime, database: Path, result: Path,
          profile: Path | None) -> None:
    """Timed: Prefect's start-up (a trivial flow run), then `certificate_issuance`."""
    from pdf import machine_cpu  # here, not above: the forkserver imports this module

    use(database, database.parent)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    walls: dict[str, float] = {}
    with timed(walls, "import_prefect"):
        from prefect import flow

        from flows.certificates import certificate_issuance
    parts: dict[str, float] = {}
    instrument(parts)

    @flow(name="bench-warmup", persist_result=False)
    async def warmup() -> int:
        return 1

    with timed(walls, "startup"):
        asyncio.run(warmup())
    server = set(descendants_cpu())  # Prefect's server subprocess (and anything it started)
    server_cpu = descendants_cpu()
    busy, cpu = machine_cpu(), time.process_time()
    profiler = cProfile.Profile() if profile else None
    with PoolSampler(server) as sampler, timed(walls, "flow"):
        if profiler:
            profiler.enable()
        state = asyncio.run(certificate_issuance(round_id, now, ACTOR,  # type: ignore[call-overload]
                                                 return_state=True))
        if profiler:
            profiler.disable()
    parent_cpu = time.process_time() - cpu
    server_cpu = {pid: s - server_cpu.get(pid, 0.0) for pid, s in descendants_cpu().items()
                  if pid in server}
    others = (machine_cpu() - busy - parent_cpu - parts.get("pool_cpu", 0.0)
              - sum(server_cpu.values())) / walls["flow"]
    outcome = state.result()
    with timed(walls, "count"):
        counted = asyncio.run(count_task_runs(state.state_details.flow_run_id))
    if profiler and profile:
        profiler.dump_stats(profile)
    pdfs = list((database.parent / "certificates" / round_id).glob("*.pdf"))
    result.write_text(json.dumps({
        "issued": outcome.issued, "detail": outcome.detail,
        "round_state": str(outcome.round_state), "walls": walls, "parts": parts,
        "parent_cpu": parent_cpu, "server_cpu": sum(server_cpu.values()),
        "others_cpus": max(0.0, others), "queued": queued(round_id),
        "pdf_files": len(pdfs), "pdf_mb": sum(p.stat().st_size for p in pdfs) / 2**20,
        "rss_mb": RssSampler.self_peak_mb(), "pool_rss_mb": sampler.pool_peak / 2**20,
        "with_pool_rss_mb": sampler.with_pool_peak / 2**20,
        "tree_rss_mb": sampler.tree_peak / 2**20, **counted}, default=str), encoding="utf-8")


def spawn(*arguments: str) -> dict[str, Any]:
    """One child in a fresh interpreter (separate peak RSS, no shared caches); its figures."""
    result = BENCH / "certificates-child.json"
    result.unlink(missing_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(BENCH / "prefect")}
    subprocess.run([sys.executable, __file__, *arguments, "--result", str(result)],
                   check=True, env=env, cwd=REPO)
    figures: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    result.unlink()
    return figures


# --- a round: generate, set up once, issue `runs` times -----------------------------------------


def round_runs(applications: int, reviews: int, seed: int, runs: int,
               profile: Path | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate and set up one round, then time its issuance `runs` times on fresh copies."""
    from sangsaeng.synthetic import DEFAULT_CLOSES_AT, DEFAULT_TRACKS, generate_round

    name = f"certificates-{applications}x{reviews}-s{seed}"
    folder, template = BENCH / name / "package", BENCH / name / "setup" / "sangsaeng.db"
    shutil.rmtree(folder, ignore_errors=True)
    quota = {t: max(1, applications // 20) for t in DEFAULT_TRACKS}  # as round_scale.py
    data = generate_round(folder, round_id=ROUND_ID, applications=applications,
                          reviews_per_application=reviews, seed=seed, quota=quota)
    now = DEFAULT_CLOSES_AT + timedelta(days=60)  # round_scale's clock for the selection
    print(f"[{applications:,} applications] setting up (untimed) …", flush=True)
    prepared = spawn("--child", "setup", "--config", str(folder / "round.toml"),
                     "--data", str(data), "--now", now.isoformat(), "--database", str(template))
    prepared.update(quota=quota, applications=applications)
    measured = []
    for n in range(1, runs + 1 + bool(profile)):
        run_dir = BENCH / name / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        shutil.copyfile(template, run_dir / template.name)
        profiled = n > runs  # an extra run under cProfile, kept out of the figures
        print(f"[{applications:,} applications] issuance run {n}/{runs}"
              f"{' (profiled, not counted)' if profiled else ''} …", flush=True)
        figures = spawn(
            "--child", "issue", "--round", prepared["round_id"],
            "--now", (now + ISSUED_AFTER).isoformat(), "--database", str(run_dir / template.name),
            *(("--profile", str(profile)) if profiled else ()))
        if not profiled:
            measured.append(figures)
    return prepared, measured


# --- report ----------------------------------------------------------------------------------


def derived(run: dict[str, Any]) -> dict[str, float]:
    """The figures of one run, named and in the report's units."""
    w, p, n = run["walls"], run["parts"], max(1, run["issued"])
    body = p.get("task_issue", 0.0)
    rest_of_issue = (p.get("issue", 0.0) - p.get("render_wait", 0.0) - p.get("write_pdf", 0.0)
                     - p.get("owe_notices", 0.0) - p.get("due", 0.0) - p.get("number", 0.0))
    return {
        "issued": run["issued"], "flow_s": w["flow"], "startup_s": w["startup"],
        "with_startup_s": w["import_prefect"] + w["startup"] + w["flow"],
        "task_issue_s": body, "render_wait_s": p.get("render_wait", 0.0),
        "write_pdf_s": p.get("write_pdf", 0.0), "owe_notices_s": p.get("owe_notices", 0.0),
        "due_number_s": p.get("due", 0.0) + p.get("number", 0.0),
        "rest_of_issue_s": rest_of_issue, "commit_s": body - p.get("issue", 0.0),
        "publish_s": p.get("task_publish", 0.0),
        "prefect_s": w["flow"] - body - p.get("task_publish", 0.0),
        "parent_cpu_s": run["parent_cpu"], "pool_cpu_s": p.get("pool_cpu", 0.0),
        "pool_processes": p.get("pool_processes", 0.0), "server_cpu_s": run["server_cpu"],
        "pool_ms_per_pdf": p.get("pool_cpu", 0.0) * 1000 / n,
        "all_ms_per_pdf": (p.get("pool_cpu", 0.0) + run["parent_cpu"]) * 1000 / n,
        "wall_ms_per_pdf": w["flow"] * 1000 / n,
        "pdf_mb": run["pdf_mb"], "kb_per_pdf": run["pdf_mb"] * 1024 / n,
        "rss_mb": run["rss_mb"], "pool_rss_mb": run["pool_rss_mb"],
        "with_pool_rss_mb": run["with_pool_rss_mb"], "tree_rss_mb": run["tree_rss_mb"],
        "others_cpus": run["others_cpus"], "task_runs": run["task_runs"],
    }


ROWS: list[tuple[str, str, str]] = [  # (label, key, format)
    ("certificates issued", "issued", "{:,.0f}"),
    ("issuance flow run, wall (excl. Prefect start-up)", "flow_s", "{:.1f} s"),
    ("  issue task body", "task_issue_s", "{:.1f} s"),
    ("    waiting for the PDF pool (render)", "render_wait_s", "{:.1f} s"),
    ("    writing PDFs (write_pdf: fsync file + folder)", "write_pdf_s", "{:.1f} s"),
    ("    notices rendered + queued (owe_notices)", "owe_notices_s", "{:.1f} s"),
    ("    due query + numbering", "due_number_s", "{:.1f} s"),
    ("    rest of issue() (inserts, audit, sha256, docs)", "rest_of_issue_s", "{:.1f} s"),
    ("    commit + after issue()", "commit_s", "{:.1f} s"),
    ("  publish_round (exports, artifacts)", "publish_s", "{:.1f} s"),
    ("  Prefect orchestration (the rest)", "prefect_s", "{:.1f} s"),
    ("Prefect start-up (trivial flow run first)", "startup_s", "{:.1f} s"),
    ("wall incl. `import prefect` + start-up", "with_startup_s", "{:.1f} s"),
    ("CPU, run process (parent)", "parent_cpu_s", "{:.1f} s"),
    ("CPU, PDF pool (forkserver + workers)", "pool_cpu_s", "{:.1f} s"),
    ("  pool processes", "pool_processes", "{:.0f}"),
    ("CPU, Prefect server subprocess", "server_cpu_s", "{:.1f} s"),
    ("ms CPU per PDF, pool only", "pool_ms_per_pdf", "{:.1f}"),
    ("ms CPU per PDF, pool + parent", "all_ms_per_pdf", "{:.1f}"),
    ("ms wall per certificate (flow run)", "wall_ms_per_pdf", "{:.1f}"),
    ("MB of PDFs written", "pdf_mb", "{:.1f}"),
    ("  KB per PDF", "kb_per_pdf", "{:.1f}"),
    ("peak RSS run process", "rss_mb", "{:.0f} MB"),
    ("peak RSS PDF pool (sampled)", "pool_rss_mb", "{:.0f} MB"),
    ("peak RSS run process + pool (sampled)", "with_pool_rss_mb", "{:.0f} MB"),
    ("peak RSS all incl. Prefect server (sampled)", "tree_rss_mb", "{:.0f} MB"),
    ("others' CPUs during the flow (0 quiet, 1 = a core)", "others_cpus", "{:.2f}"),
    ("task runs of the flow run", "task_runs", "{:.0f}"),
]


def print_report(args: argparse.Namespace, big: tuple[dict[str, Any], list[dict[str, Any]]],
                 small: tuple[dict[str, Any], list[dict[str, Any]]] | None) -> None:
    """Each run, the median, the small round beside; then the targets."""
    prepared, runs = big
    figures = [derived(r) for r in runs]
    median = {k: statistics.median(f[k] for f in figures) for k in figures[0]}
    columns = [*(f"run {n}" for n in range(1, len(runs) + 1)), "median"]
    table = [*figures, median]
    if small:
        columns.append(f"{args.small:,} apps")
        table.append(derived(small[1][0]))
    print(f"\ncertificates — {args.applications:,} applications × {args.reviews} reviews "
          f"(seed {args.seed}); Python {platform.python_version()}, {os.cpu_count()} cores")
    for prep in (prepared, *((small[0],) if small else ())):
        quota = prep["quota"]
        print(f"  {prep['applications']:,} applications: quota {next(iter(quota.values()))} "
              f"per track × {len(quota)} tracks; {prep['selected']:,} selected with "
              f"{prep['leads']:,} leads, all confirmed; confirmations {prep['confirmations']:,} "
              f"({prep['from_package']:,} from the package, {prep['added']:,} added); round "
              f"{prep['state']} after setup (untimed, {prep['direct_s']:.0f} s)")
    print(textwrap.fill(f"flow outcome (last run): {runs[-1]['detail']}", 100,
                        initial_indent="  ", subsequent_indent="    "))
    print(f"  outbox, certificate.issued by state: {runs[-1]['queued']}; PDF files: "
          f"{runs[-1]['pdf_files']:,}; round {runs[-1]['round_state']}\n")
    width = max(len(label) for label, _, _ in ROWS)
    print(f"{'':<{width}}  " + "".join(f"{c:>11}" for c in columns))
    for label, key, fmt in ROWS:
        print(f"{label:<{width}}  " + "".join(f"{fmt.format(col[key]):>11}" for col in table))
    print("\ntargets (2 cores; median of the runs):")
    for name, value, target in (
        ("issuance flow run ≤ 60 s", median["flow_s"], TARGETS["wall_s"]),
        ("  the same incl. import prefect + start-up", median["with_startup_s"],
         TARGETS["wall_s"]),
        ("peak RSS ≤ 500 MB (run process + PDF pool)", median["with_pool_rss_mb"],
         TARGETS["rss_mb"]),
    ):
        print(f"  {name:<46} {value:>8.1f}  {verdict(value, target)}")
    if small:
        print(f"  task runs: {median['task_runs']:.0f} for {median['issued']:,.0f} certificates"
              f", {derived(small[1][0])['task_runs']:.0f} for "
              f"{derived(small[1][0])['issued']:,.0f}")


def signing_cost(count: int = 200) -> dict[str, float]:
    """Issue 25: ms CPU per PDF to render, unsigned and signed (the demo key, EC P-256), in
    this process after a warm-up; the difference is what signing adds per certificate."""
    import tempfile
    from datetime import date

    from sangsaeng.documents.certificate import CertificateDocument, PdfRenderer
    from sangsaeng.documents.signing import demo_pair

    doc = CertificateDocument(
        number="22-IG0001", version=1, issued_on=date(2022, 7, 20),
        valid_from=date(2022, 7, 20), valid_to=date(2025, 7, 19), lead_name="(주)한빛전자",
        representative="김서연", address="대전광역시 유성구 대학로 99", product_code="4321567801",
        product_name="스마트 LED 가로등", partners=(("(주)다온테크", "123-45-67890"),),
        track_name="혁신성장", program_name="공공조달 상생협력 지원제도",
        issuer="중소벤처기업부장관", verify_url="https://verify.example.go.kr/c/22-IG0001")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        keys = demo_pair(Path(folder) / "demo")
        for name, renderer in (("unsigned", PdfRenderer(REPO / "templates")),
                               ("signed", PdfRenderer(REPO / "templates", signing=keys))):
            for _ in range(10):
                renderer.render(doc)
            start = time.process_time()
            for _ in range(count):
                renderer.render(doc)
            out[name] = (time.process_time() - start) * 1000 / count
    out["signing"] = out["signed"] - out["unsigned"]
    return out


def main() -> None:
    """Set up and time the round (and the small one), print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="timed issuance runs (median)")
    parser.add_argument("--small", type=int, default=1_000,
                        help="applications of the second round, run once (0: none)")
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=Path,
                        help="one more run under cProfile (run process only, not in the "
                        "figures) into FILE; prints its top 25 (cumulative)")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/certificates-*")
    parser.add_argument("--child", choices=("setup", "issue"), help=argparse.SUPPRESS)
    for hidden in ("--config", "--data", "--now", "--database", "--result", "--round"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from sangsaeng.domain.clock import parse_instant

        now, database, result = parse_instant(args.now), Path(args.database), Path(args.result)
        if args.child == "setup":
            setup(Path(args.config), Path(args.data), now, database, result)
        else:
            issue(args.round, now, database, result, args.profile)
        return
    big = round_runs(args.applications, args.reviews, args.seed, args.runs, args.profile)
    small = round_runs(args.small, args.reviews, args.seed, 1, None) if args.small else None
    print_report(args, big, small)
    cost = signing_cost()
    print(f"\nsigning (issue 25; in-process, 200 PDFs after a warm-up, demo key EC P-256): "
          f"{cost['unsigned']:.1f} ms CPU per PDF unsigned, {cost['signed']:.1f} signed: "
          f"signing adds {cost['signing']:.1f} ms CPU per PDF")
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)
    if not args.keep:
        for applications in {args.applications, args.small} - {0}:
            shutil.rmtree(BENCH / f"certificates-{applications}x{args.reviews}-s{args.seed}",
                          ignore_errors=True)


if __name__ == "__main__":
    main()
