"""Synthetic round packages (sangsaeng.synthetic): valid INTERFACES §2 packages in UTF-8 and
CP949, the counts asked for, conflicted sheets only as extras (V4 holds), and seeded bytes."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sangsaeng import synthetic
from sangsaeng.config import load_program, load_round
from sangsaeng.domain.clock import KST
from sangsaeng.domain.scoring import Affiliation, Criterion, ReviewSheet, aggregate, is_conflicted
from sangsaeng.domain.screening import (
    ApplicationFacts,
    Document,
    Participant,
    PriorCertificate,
    Reason,
    ScreeningRules,
    screen_round,
    supplement_deadline,
)
from sangsaeng.io.package import CriterionSpec, RoundPackage, read_package
from sangsaeng.synthetic import CONFIG_FILE, HEADERS, generate_round

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = load_program(ROOT / "config")
TRACKS = ("innovation", "materials", "convergence", "value")
CRITERIA = tuple(Criterion(c.key, c.name, c.max) for c in PROGRAM.criteria)
SPECS = {t: [CriterionSpec(c.key, c.max) for c in CRITERIA] for t in TRACKS}
CLOSES_AT = datetime(2024, 5, 31, 18, 0, tzinfo=KST)


def generate(folder: Path, applications: int = 60, **kwargs: object) -> Path:
    options: dict[str, object] = {"round_id": "2024-1", "applications": applications,
                                  "closes_at": CLOSES_AT, **kwargs}
    return generate_round(folder, **options)  # type: ignore[arg-type]


def read(package: Path) -> RoundPackage:
    return read_package(package, tracks=TRACKS, criteria_by_track=SPECS)


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"], ids=["utf8", "cp949"])
def test_package_reads_back_without_errors_with_requested_counts(
    tmp_path: Path, encoding: str
) -> None:
    folder = generate(tmp_path, 60, reviews_per_application=4, encoding=encoding)
    package = read(folder)
    assert package.errors == []
    assert {name.removesuffix(".csv") for name in package.encodings} == set(HEADERS)
    korean = {p.name for p in folder.iterdir() if not p.read_bytes().isascii()}
    assert {"applications.csv", "participants.csv", "reviewers.csv"} <= korean
    assert {package.encodings[name] for name in korean} == {encoding}
    assert [a.receipt_no for a in package.applications] == [
        f"2024-1-{n:05d}" for n in range(1, 61)]
    sheets = Counter(s.receipt_no for s in package.scores)
    assert set(sheets) == {a.receipt_no for a in package.applications}
    assert min(sheets.values()) == 4 and max(sheets.values()) <= 5
    for name in ("participants", "documents", "reviewers", "affiliations", "sanctions",
                 "certificates", "production"):
        assert getattr(package, name), f"{name}.csv is empty"


def test_cp949_package_is_not_utf8_and_holds_korean(tmp_path: Path) -> None:
    raw = (generate(tmp_path, 20, encoding="cp949") / "participants.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "주" in raw.decode("cp949")


def test_every_text_the_generator_can_draw_is_cp949() -> None:
    def texts(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, tuple):
            return [text for item in value for text in texts(item)]
        return []

    vocabulary = [text for name, value in vars(synthetic).items() if not name.startswith("__")
                  for text in texts(value)]
    assert "주식회사 {}" in vocabulary and "전력량계" in vocabulary
    for text in vocabulary:
        text.encode("cp949")  # raises UnicodeEncodeError otherwise


def test_participants_are_one_to_three_leads_and_one_or_two_partners(tmp_path: Path) -> None:
    package = read(generate(tmp_path, 300))
    roles = Counter((p.receipt_no, p.role) for p in package.participants)
    leads = Counter(n for (_, role), n in roles.items() if role == "lead")
    partners = Counter(n for (_, role), n in roles.items() if role == "partner")
    assert set(leads) == {1, 2, 3}
    assert set(partners) == {1, 2}
    assert sum(leads.values()) == sum(partners.values()) == 300


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    def files(folder: Path, seed: int) -> dict[str, bytes]:
        package = generate(folder, 80, seed=seed, quota={"innovation": 5})
        found = {p.name: p.read_bytes() for p in package.iterdir()}
        return {**found, CONFIG_FILE: (folder / CONFIG_FILE).read_bytes()}

    first = files(tmp_path / "a", 7)
    assert len(first) == len(HEADERS) + 1
    assert files(tmp_path / "b", 7) == first
    assert files(tmp_path / "c", 8)["scores.csv"] != first["scores.csv"]


def test_bytes_do_not_depend_on_string_hashing(tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from sangsaeng.synthetic import "
              "generate_round; generate_round(Path(sys.argv[1]), round_id='2024-1', "
              "applications=150, seed=2)")
    for hash_seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed}, timeout=60)
    one, two = (sorted((p.name, p.read_bytes()) for p in (tmp_path / h).rglob("*.*"))
                for h in ("1", "2"))
    assert len(one) == len(HEADERS) + 1
    assert one == two


def test_round_config_matches_the_package_and_loads(tmp_path: Path) -> None:
    generate(tmp_path, 10, quota={"innovation": 3, "value": 1})
    config = load_round(tmp_path / CONFIG_FILE, PROGRAM)
    assert config.id == "2024-1"
    assert config.closes_at == CLOSES_AT
    assert config.opens_at < CLOSES_AT
    assert config.tracks == TRACKS
    assert config.quota == {"innovation": 3, "value": 1}
    generate(tmp_path / "no-quota", 10)
    assert "quota" not in tomllib.loads((tmp_path / "no-quota" / CONFIG_FILE).read_text())


def test_conflicted_sheets_are_extras_so_every_application_keeps_its_reviews(
    tmp_path: Path,
) -> None:
    package = read(generate(tmp_path, 400, reviews_per_application=5))
    ties: dict[str, list[Affiliation]] = {}
    for a in package.affiliations:
        ties.setdefault(a.reviewer_id, []).append(Affiliation(a.brn, a.until))
    brns: dict[str, set[str]] = {}
    for p in package.participants:
        brns.setdefault(p.receipt_no, set()).add(p.brn)
    valid: Counter[str] = Counter()
    conflicted = 0
    for s in package.scores:  # V3 with the program's horizon
        if is_conflicted(ties.get(s.reviewer_id, ()), brns[s.receipt_no], CLOSES_AT,
                         PROGRAM.review.conflict_years):
            conflicted += 1
        else:
            valid[s.receipt_no] += 1
    assert conflicted > 0
    assert set(valid.values()) == {5}  # V4: ≥ 3 valid reviews everywhere


def test_scores_spread_across_the_cutoff(tmp_path: Path) -> None:
    package = read(generate(tmp_path, 200))
    sheets: dict[str, list[ReviewSheet]] = {}
    for s in package.scores:
        sheets.setdefault(s.receipt_no, []).append(ReviewSheet(s.reviewer_id, s.scores))
    scores = [aggregate(v, CRITERIA, 5).score for v in sheets.values()]
    passed = sum(score >= PROGRAM.review.cutoff for score in scores)
    assert 0.2 < passed / len(scores) < 0.8
    assert all(v == v.quantize(Decimal("0.1")) for s in package.scores for v in s.scores.values())


def test_screening_finds_each_kind_of_problem_but_keeps_most_eligible(tmp_path: Path) -> None:
    package = read(generate(tmp_path, 600, seed=3))
    people: dict[str, list[Participant]] = {}
    for p in package.participants:
        people.setdefault(p.receipt_no, []).append(Participant(
            p.role, p.seq, p.brn, p.size, p.founded_on, p.direct_production))  # type: ignore[arg-type]
    docs: dict[str, list[Document]] = {}
    for d in package.documents:
        docs.setdefault(d.receipt_no, []).append(Document(d.brn, d.doc_type, d.submitted_at))
    apps = [ApplicationFacts(a.receipt_no, a.track, a.product_code, a.submitted_at,
                             tuple(people[a.receipt_no]), tuple(docs.get(a.receipt_no, ())))
            for a in package.applications]
    cfg = PROGRAM.screening
    deadline = supplement_deadline(CLOSES_AT, cfg.supplement_business_days, ())
    rules = ScreeningRules(CLOSES_AT, deadline, cfg.startup_years,
                           cfg.required_application_documents, cfg.required_lead_documents)
    outcomes = screen_round(
        apps, rules, sanctions={s.brn: s.banned_until for s in package.sanctions},
        prior_certificates=[PriorCertificate(c.brn, c.product_code, c.valid_from, c.valid_to)
                            for c in package.certificates],
        now=deadline + timedelta(days=1))
    reasons = Counter(r for o in outcomes.values() for r in o.reasons)
    assert {Reason.LATE, Reason.SANCTIONED, Reason.MISSING_DOCUMENTS} <= set(reasons)
    eligible = sum(o.state.value == "eligible" for o in outcomes.values())
    assert 0.75 < eligible / len(outcomes) < 0.98


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"round_id": "spring"}, "round id"),
    ({"applications": 0}, "at least 1"),
    ({"tracks": ("innovation", "space")}, "tracks"),
    ({"tracks": ("value",), "quota": {"innovation": 2}}, "quota"),
], ids=["round-id", "no-applications", "unknown-track", "quota-of-other-track"])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object],
                                   message: str) -> None:
    options: dict[str, object] = {"round_id": "2024-1", "applications": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_round(tmp_path, **options)  # type: ignore[arg-type]
    assert not (tmp_path / CONFIG_FILE).exists()
