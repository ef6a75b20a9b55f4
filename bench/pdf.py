"""Certificate PDFs: N certificates rendered with the real template, in this process and in a pool.

    .venv/bin/python bench/pdf.py [--count 500] [--runs 5] [--workers CPUS] [--crossover]

1. **single process**: one `PdfRenderer` (its start-up — template, fonts, first render — on a
   line of its own), then N renders; CPU = `time.process_time()` of this process.
2. **pool**: `render_all(..., workers=W)` over the same N documents, pool start-up included;
   CPU = this process plus every process the pool started (its workers and the forkserver),
   read with psutil once the last PDF has arrived and before the pool shuts down — the CPU
   time each worker's `time.process_time()` would report.
3. `--crossover`: wall time of `render_all` with `workers=1` and with the pool for 8…256
   documents (one run each, forkserver already up): where the pool starts to pay (`POOL_MIN_DOCS`).

Each figure is the median of `--runs` runs (first run included), printed with the min–max
spread; KB per PDF is the mean size. "others' CPUs" is the CPU other processes used during a
run (/proc/stat's busy time minus ours), in CPUs: on 2 cores, 1.0 leaves the pool one core.
See bench/README.md "Certificate PDFs".
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

import psutil

from sangsaeng.documents.certificate import CertificateDocument, PdfRenderer, render_all

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
WORDS = ("한빛", "다온", "새솔", "누리", "가온", "미르", "솔빛", "온새", "하람", "별찬")
PRODUCTS = ("스마트 LED 가로등", "태양광 보안등", "미세먼지 측정기", "무선 수위계", "전기차 충전기")


def make_docs(count: int, seed: int = 0) -> list[CertificateDocument]:
    """N plausible certificates: 1–5 partners, 2022–2024 issue dates, Korean names."""
    rng = random.Random(seed)
    docs = []
    for n in range(1, count + 1):
        issued = date(2022, 1, 3) + timedelta(days=rng.randrange(900))
        issued += timedelta(days=issued.month == 2 and issued.day == 29)  # K3's 29 Feb aside
        number = f"{issued.year % 100:02d}-IG{n:04d}"
        partners = tuple((f"(주){rng.choice(WORDS)}{rng.choice(WORDS)}",
                          f"{rng.randrange(100, 999)}-{rng.randrange(10, 99)}-"
                          f"{rng.randrange(10000, 99999)}") for _ in range(rng.randint(1, 5)))
        docs.append(CertificateDocument(
            number=number, version=rng.choice((1, 1, 1, 2)), issued_on=issued,
            valid_from=issued, valid_to=issued.replace(year=issued.year + 3) - timedelta(days=1),
            lead_name=f"(주){rng.choice(WORDS)}{rng.choice(WORDS)}전자",
            representative=rng.choice(SURNAMES) + rng.choice(WORDS),
            address=f"대전광역시 유성구 대학로 {rng.randrange(1, 300)}, {rng.randrange(1, 9)}층",
            product_code=f"{rng.randrange(10**9, 10**10)}", product_name=rng.choice(PRODUCTS),
            partners=partners, track_name="혁신성장", program_name="공공조달 상생협력 지원제도",
            issuer="중소벤처기업부장관",
            verify_url=f"http://127.0.0.1:4201/certificates/{number}"))
    return docs


@dataclass
class Run:
    cpu_ms: float  # per PDF
    wall_ms: float  # per PDF
    kb: float  # mean size
    others: float = 0.0  # CPUs' worth that other processes used meanwhile (background load)


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    busy = sum(int(value) for value in fields[:8]) - int(fields[3]) - int(fields[4])
    return busy / os.sysconf("SC_CLK_TCK")


def others(busy_before: float, wall_s: float, ours_s: float) -> float:
    """Other processes' CPU during a measurement, in CPUs (0.0 = quiet, 1.0 = one core taken)."""
    return max(0.0, machine_cpu() - busy_before - ours_s) / wall_s


def children_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every live descendant, by pid."""
    cpu = {}
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        cpu[child.pid] = times.user + times.system
    return cpu


def single(docs: list[CertificateDocument]) -> tuple[float, Run]:
    """Start-up (ms) of one renderer, then N renders in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    renderer = PdfRenderer(TEMPLATES)
    renderer.render(docs[0])
    startup = (time.perf_counter() - wall) * 1000
    busy, wall, cpu = machine_cpu(), time.perf_counter(), time.process_time()
    sizes = [len(renderer.render(doc)) for doc in docs]
    wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return startup, Run(cpu_s * 1000 / len(docs), wall_s * 1000 / len(docs),
                        statistics.fmean(sizes) / 1024, others(busy, wall_s, cpu_s))


def pooled(docs: list[CertificateDocument], workers: int) -> Run:
    """`render_all` with a pool of `workers`, start-up included; CPU of all its processes."""
    before = children_cpu()
    busy, wall, cpu = machine_cpu(), time.perf_counter(), time.process_time()
    results = render_all(TEMPLATES, docs, workers=workers)
    sizes = [len(pdf) for pdf in islice(results, len(docs))]
    after = children_cpu()  # the pool is still up: its workers' CPU is all there
    wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    for _ in results:  # shuts the pool down
        raise AssertionError("more PDFs than documents")
    cpu_s += sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return Run(cpu_s * 1000 / len(docs), wall_s * 1000 / len(docs),
               statistics.fmean(sizes) / 1024, others(busy, wall_s, cpu_s))


def crossover(workers: int) -> None:
    """Wall ms for small batches, one process against the pool."""
    print(f"crossover (wall ms for the batch; workers=1 vs a pool of {workers}):")
    for count in (8, 16, 32, 64, 128, 256):
        docs = make_docs(count, seed=count)
        timings = []
        for size in (1, workers):
            wall = time.perf_counter()
            for _ in render_all(TEMPLATES, docs, workers=size):
                pass
            timings.append((time.perf_counter() - wall) * 1000)
        print(f"  {count:4d} docs: {timings[0]:7.0f} ms  vs  {timings[1]:7.0f} ms")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}  ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="certificates per run")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--crossover", action="store_true", help="small batches: pool or not")
    args = parser.parse_args()
    docs = make_docs(args.count)
    load = os.getloadavg()
    print(f"{args.count} certificates × {args.runs} runs; {os.cpu_count()} CPUs; "
          f"load average before {load[0]:.2f}")
    singles = [single(docs) for _ in range(args.runs)]
    pools = [pooled(docs, args.workers) for _ in range(args.runs)]
    print("                          median  (min–max)")
    print(f"renderer start-up ms  {spread([startup for startup, _ in singles])}")
    for name, runs in (("single process", [run for _, run in singles]),
                       (f"pool of {args.workers}", pools)):
        print(f"{name}:")
        print(f"  ms CPU / PDF        {spread([run.cpu_ms for run in runs])}")
        print(f"  ms wall / PDF       {spread([run.wall_ms for run in runs])}")
        print(f"  KB / PDF            {spread([run.kb for run in runs])}")
        print(f"  others' CPUs        {spread([run.others for run in runs])}")
    if args.crossover:
        crossover(args.workers)
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
