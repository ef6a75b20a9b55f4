"""Rounds other than the example: hundreds of applications, CP949, quotas, an XLSX package.
The rules are checked independently of the domain code (an oracle written from
PROGRAM_RULES), not against recorded outputs."""

from __future__ import annotations

import csv
import pickle
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect import Task

from sangsaeng.domain.clock import KST, as_kst, parse_instant
from sangsaeng.synthetic import generate_round
from tasks import artifacts, certificates, dues, notices, rounds, steps, support_import
from tasks import evaluations as evaluation_tasks
from tasks import listing as listing_tasks
from tests.conftest import REPO, ROUND_2022_2, package_workbook
from tests.integration.helpers import (
    counts,
    decisions_csv,
    read_csv,
    run,
    selection_csv,
    task_runs_of,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

QUOTA = {"innovation": 9, "materials": 4, "value": 3}
SCREENING_ORDER = ["LATE", "LEAD_NOT_SME", "INNOVATION_LEAD_NOT_STARTUP_OR_SMALL",
                   "INNOVATION_PARTNER_NO_DIRECT_PRODUCTION", "SANCTIONED",
                   "MISSING_DOCUMENTS", "DUPLICATE_PRODUCT"]
MAX = {"growth": Decimal(30), "plan": Decimal(30), "cooperation": Decimal(40)}


def rows_of(package: Path, name: str) -> list[dict[str, str]]:
    with (package / f"{name}.csv").open(encoding="cp949", newline="") as handle:
        return list(csv.DictReader(handle))


def oracle_scores(package: Path, closes: date) -> dict[str, Decimal]:
    """V3, V5, V6 from the rules' text: conflicts out, trim one high and one low, half-up."""
    horizon = date(closes.year - 3, closes.month, closes.day)
    affiliated = defaultdict(set)
    for a in rows_of(package, "affiliations"):
        if not a["until"] or date.fromisoformat(a["until"]) >= horizon:
            affiliated[a["reviewer_id"]].add(a["brn"])
    brns = defaultdict(set)
    for p in rows_of(package, "participants"):
        brns[p["receipt_no"]].add(p["brn"])
    sheets = defaultdict(list)
    for s in rows_of(package, "scores"):
        if affiliated[s["reviewer_id"]] & brns[s["receipt_no"]]:
            continue
        total = sum(Decimal(s[k]) for k in MAX)
        sheets[s["receipt_no"]].append((total, int(s["reviewer_id"].lstrip("R"))))
    out = {}
    for receipt, kept in sheets.items():
        if len(kept) >= 5:
            kept = sorted(kept)  # (total, id): drop the larger id among equal totals
            high = max(kept, key=lambda t: (t[0], t[1]))
            kept.remove(high)
            low = min(kept, key=lambda t: (t[0], -t[1]))
            kept.remove(low)
        mean = sum(t for t, _ in kept) / len(kept)
        out[receipt] = mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return out


def test_a_cp949_round_with_quotas_follows_the_rules(env: Path, tmp_path: Path) -> None:
    closes = parse_instant("2024-09-30T18:00:00+09:00")
    package = generate_round(tmp_path / "round", round_id="2024-3", applications=320,
                             seed=7, encoding="cp949", closes_at=closes,
                             tracks=("innovation", "materials", "convergence", "value"),
                             quota=QUOTA)
    config = tmp_path / "round" / "round.toml"
    with pytest.raises(UnicodeDecodeError):
        (package / "participants.csv").read_text(encoding="utf-8")  # really CP949
    report = run(config, package, "2024-12-01T10:00:00+09:00", approve=True)
    assert report.state == "support"  # production confirmed for some (K1)
    decisions = read_csv(decisions_csv("2024-3"))
    assert decisions[0] == ["receipt_no", "track", "status", "score", "rank", "reasons"]
    body = decisions[1:]
    assert [r[0] for r in body] == sorted(r["receipt_no"] for r in rows_of(package,
                                                                           "applications"))
    submitted = {a["receipt_no"]: as_kst(parse_instant(a["submitted_at"]))
                 for a in rows_of(package, "applications")}
    scores = oracle_scores(package, closes.astimezone(KST).date())
    by_track: dict[str, list[list[str]]] = defaultdict(list)
    for receipt, track, status, score, rank, reasons in body:
        codes = reasons.split(";") if reasons else []
        assert ("LATE" in codes) == (submitted[receipt] >= closes)  # T2
        if status == "ineligible":
            assert codes and score == rank == ""
            assert codes == sorted(codes, key=SCREENING_ORDER.index)  # §4 order
            continue
        assert Decimal(score) == scores[receipt], receipt  # V5/V6
        if status == "not_selected":
            assert rank == ""
            assert ("BELOW_CUTOFF" in codes) == (Decimal(score) < 70)  # V7
            assert codes and all(c == "BELOW_CUTOFF" or c.startswith("BELOW_ITEM_FLOOR:")
                                 for c in codes)
        else:
            assert Decimal(score) >= 70 and reasons == ""
            by_track[track].append([receipt, status, score, rank])
    assert any(r[2] == "ineligible" for r in body) and any(r[2] == "reserve" for r in body)
    for track, passing in by_track.items():
        ranked = sorted(passing, key=lambda r: int(r[3]))
        assert [int(r[3]) for r in ranked] == list(range(1, len(ranked) + 1))  # V8
        assert [Decimal(r[2]) for r in ranked] == sorted((Decimal(r[2]) for r in ranked),
                                                        reverse=True)
        quota = QUOTA.get(track)
        for _receipt, status, _, rank in ranked:  # V9
            assert status == ("selected" if quota is None or int(rank) <= quota else "reserve")
    selected = sorted(r[0] for r in body if r[2] == "selected")
    listing = read_csv(selection_csv("2024-3"))
    assert [int(r[0]) for r in listing[1:]] == list(range(1, len(selected) + 1))  # A1
    assert len(listing) - 1 == len(selected) == sum(
        min(QUOTA.get(t, len(p)), len(p)) for t, p in by_track.items())
    before = counts()
    run(config, package, "2024-12-01T10:00:00+09:00", approve=True)
    assert counts() == before


def test_a_package_given_as_one_xlsx_workbook_decides_the_same(env: Path, tmp_path: Path
                                                                ) -> None:
    xlsx = package_workbook(ROUND_2022_2 / "package", tmp_path / "2022-2.xlsx")
    report = run(REPO / "config" / "rounds" / "2022-2.toml", xlsx,
                 "2022-07-20T10:00:00+09:00", approve=True)
    assert report.state == "support"  # production confirmed for some (K1)
    expected = read_csv((ROUND_2022_2 / "expected" / "decisions.csv").read_text(
        encoding="utf-8-sig"))
    assert read_csv(decisions_csv("2022-2")) == expected


def _measured_tasks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every task of the round records the largest pickled size of its parameters and of its
    result (what Prefect would carry in its events), by task name."""
    largest: dict[str, int] = defaultdict(int)

    def note(name: str, args: Any, kwargs: Any, result: Any) -> Any:
        size = max(len(pickle.dumps((args, kwargs))), len(pickle.dumps(result)))
        largest[name] = max(largest[name], size)
        return result

    for module in (steps, notices, rounds, artifacts, certificates, support_import, dues,
                   evaluation_tasks, listing_tasks):
        for task in vars(module).values():
            if not isinstance(task, Task):
                continue
            def measured(*args: Any, _fn: Any = task.fn, _name: str = task.name,
                         **kwargs: Any) -> Any:
                return note(_name, args, kwargs, _fn(*args, **kwargs))

            async def measured_async(*args: Any, _fn: Any = task.fn, _name: str = task.name,
                                     **kwargs: Any) -> Any:
                return note(_name, args, kwargs, await _fn(*args, **kwargs))
            monkeypatch.setattr(task, "fn", measured_async if task.isasync else measured)
    return largest


def test_task_runs_and_their_payloads_do_not_grow_with_the_number_of_applications(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work is batched: one task per step over all rows, never one per application; a task
    carries ids and counts, never rows (a Prefect event refuses megabytes)."""
    counted, largest = {}, {}
    for size in (40, 400):
        payloads = _measured_tasks(monkeypatch)
        package = generate_round(tmp_path / str(size), round_id=f"2030-{size}",
                                 applications=size, seed=size)
        report = run(tmp_path / str(size) / "round.toml", package, "2030-12-01T10:00:00+09:00",
                     approve=True, run_name=f"tasks-{size}")
        assert report.state == "support"  # production confirmed for some (K1)
        counted[size] = task_runs_of(f"tasks-{size}")
        largest[size] = max(payloads.values())
        monkeypatch.undo()
    assert counted[40] == counted[400] <= 20
    assert largest[400] <= largest[40] * 1.05 + 64, largest  # the same size, 10x the rows
    assert largest[400] < 4096, largest
