"""Synthetic round packages (INTERFACES §1, §2) for benchmarks and tests: valid, realistic, seeded.

`generate_round` writes `<folder>/package/*.csv` (all nine files) and `<folder>/round.toml`.
The data imitates a real call: Korean company names, 1–3 leads and 1–2 partners per
application, mostly complete documents (some supplied late or never), a few late submissions,
participation bans, prior certificates and reviewer conflicts, and scores spread around the
cut-off. Every conflicted reviewer's sheet is an extra one, so each application keeps
`reviews_per_application` valid reviews (V3, V4). Same arguments and seed ⇒ identical bytes.
Only characters that CP949 can encode are used.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sangsaeng.domain.brn import check_digit
from sangsaeng.domain.clock import KST, add_years, as_kst
from sangsaeng.domain.companies import TRACK_CODES, Role, Track

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_CLOSES_AT",
    "DEFAULT_CRITERIA",
    "DEFAULT_TRACKS",
    "HEADERS",
    "PACKAGE_DIR",
    "generate_round",
    "opens_at_for",
    "write_round_config",
]

PACKAGE_DIR = "package"
CONFIG_FILE = "round.toml"
DEFAULT_TRACKS = ("innovation", "materials", "convergence", "value")
DEFAULT_CLOSES_AT = datetime(2022, 5, 27, 18, 0, tzinfo=KST)
DEFAULT_CRITERIA: tuple[tuple[str, int], ...] = (("growth", 30), ("plan", 30), ("cooperation", 40))
APPLICATION_DOCUMENTS = ("application_form", "business_plan", "agreement")  # §4.6
LEAD_DOCUMENTS = ("sme_certificate",)  # §4.6

HEADERS: Mapping[str, tuple[str, ...]] = {
    "applications": ("receipt_no", "track", "product_name", "product_code", "submitted_at"),
    "participants": ("receipt_no", "role", "seq", "brn", "name", "size", "founded_on",
                     "representative", "email", "address", "direct_production"),
    "documents": ("receipt_no", "brn", "doc_type", "submitted_at"),
    "reviewers": ("reviewer_id", "name", "email"),
    "affiliations": ("reviewer_id", "brn", "until"),
    "scores": ("receipt_no", "reviewer_id"),  # + one column per criterion
    "sanctions": ("brn", "banned_until", "reason"),
    "certificates": ("number", "brn", "product_code", "valid_from", "valid_to"),
    "production": ("receipt_no", "brn", "confirmed_at"),
}

PRODUCTS = (
    ("LED조명", "3910180701"), ("계장제어장치", "3912170201"), ("공기살균기", "4010150401"),
    ("교육용로봇", "6010170301"), ("교탁", "5612170801"), ("교통신호제어기", "4617150201"),
    ("드론관제장치", "4611150101"), ("무인민원발급기", "4321210101"),
    ("미세먼지측정기", "4111220301"), ("방범용CCTV함체", "4617160301"), ("배전반", "3912170101"),
    ("사물함", "5612160601"), ("산업용탈취제", "1216190301"), ("수도계량기", "4111150101"),
    ("수처리장치", "4715160101"), ("스마트가로등", "3912110901"), ("스마트벤치", "5612180101"),
    ("스마트횡단보도", "4617150901"), ("영상감시장치", "4617160101"),
    ("오존산화처리기", "4710151901"), ("원격검침시스템", "4111150301"),
    ("융합보안용카메라", "4617169901"), ("음식물처리기", "4716150201"),
    ("전기자동차충전기", "2611170801"), ("전력량계", "3912100101"), ("전선관", "3914170101"),
    ("절연장갑", "4618150201"), ("철근콘크리트용배수로관", "3017190801"), ("카운터", "5612150401"),
    ("탄소저감블록", "3012170901"), ("탈취기", "4716160501"), ("태양광조명등", "3910160401"),
    ("퍼걸러", "3012190101"), ("폐수처리기", "4715150101"), ("태양광발전장치", "2612150101"),
)
_SYLLABLES = "가나다라마바사아자차카타파하한영진우성미래동서남북신대명주승테코엔이솔"
_SUFFIXES = ("테크", "정밀", "산업", "이앤씨", "시스템", "소재", "바이오", "에너지", "전자",
             "메디칼", "공작소", "인더스트리", "솔루션", "기계", "콘크리트", "엔지니어링")
_FORMS = ("㈜{}", "(주){}", "주식회사 {}", "{}", "{}(주)", "{} 주식회사")
_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = ("지훈", "서연", "민준", "수빈", "현우", "도윤", "하은", "지민", "서준", "예은",
          "준호", "유진", "승민", "다은", "태윤", "소연")
_REGIONS = ("서울특별시 금천구", "경기도 화성시", "경기도 안산시", "인천광역시 남동구",
            "대전광역시 유성구", "충청북도 청주시", "경상남도 창원시", "광주광역시 광산구",
            "부산광역시 강서구", "대구광역시 달서구")
_BAN_REASONS = ("허위 신청으로 선정 취소 (판로지원법 제20조의2 제3항)",
                "협약 불이행으로 선정 취소", "부정한 방법으로 확인서 발급")
_ROUND_ID = re.compile(r"^(\d{4})-(\d+)$")


@dataclass(frozen=True, slots=True)
class _Company:
    brn: str
    name: str
    size: str
    founded_on: date
    representative: str
    email: str
    address: str
    direct_production: bool


@dataclass(slots=True)
class _Application:
    receipt_no: str
    track: str
    product: tuple[str, str]
    submitted_at: datetime
    leads: list[_Company]
    partners: list[_Company]
    quality: float

    @property
    def companies(self) -> list[_Company]:
        return [*self.leads, *self.partners]


@dataclass(slots=True)
class _Round:
    """Everything generated, before it is written."""

    apps: list[_Application] = field(default_factory=list)
    documents: list[list[str]] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    affiliations: list[tuple[str, str, date | None]] = field(default_factory=list)
    scores: list[list[str]] = field(default_factory=list)
    sanctions: list[list[str]] = field(default_factory=list)
    certificates: list[list[str]] = field(default_factory=list)


def opens_at_for(closes_at: datetime) -> datetime:
    """The synthetic call opens 25 days before it closes, at 09:00 KST."""
    day = as_kst(closes_at).date() - timedelta(days=25)
    return datetime.combine(day, time(9, 0), tzinfo=KST)


def write_round_config(
    path: Path, round_id: str, closes_at: datetime, tracks: Sequence[str],
    quota: Mapping[str, int] | None = None,
) -> Path:
    """Write a round configuration file (INTERFACES §1) matching a synthetic package."""
    year, number = _round_parts(round_id)
    lines = [
        f"id = {_toml(round_id)}",
        f"title = {_toml(f'{year}년 {number}차 공공조달 상생협력 지원제도 참여기업 모집 (합성)')}",
        f"opens_at = {_toml(opens_at_for(closes_at).isoformat())}",
        f"closes_at = {_toml(as_kst(closes_at).isoformat())}",
        f"tracks = [{', '.join(_toml(t) for t in tracks)}]",
        "support_years = 3",
    ]
    if quota:
        lines += ["", "[quota]"] + [f"{t} = {int(q)}" for t, q in quota.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def generate_round(
    folder: Path, *, round_id: str, applications: int, reviews_per_application: int = 5,
    seed: int = 0, encoding: str = "utf-8", closes_at: datetime = DEFAULT_CLOSES_AT,
    tracks: Sequence[str] = DEFAULT_TRACKS, quota: Mapping[str, int] | None = None,
    criteria: Sequence[tuple[str, int]] = DEFAULT_CRITERIA,
) -> Path:
    """Write `folder/package/` (INTERFACES §2) and `folder/round.toml`; return the package."""
    _round_parts(round_id)
    if applications < 1 or reviews_per_application < 1:
        raise ValueError("applications and reviews_per_application must be at least 1")
    unknown = [t for t in tracks if t not in {track.value for track in Track}]
    if unknown or not tracks:
        raise ValueError(f"tracks must be program tracks, got {list(tracks)}")
    if quota and not set(quota) <= set(tracks):
        raise ValueError(f"quota for tracks the round does not offer: {sorted(quota)}")
    gen = _Generator(random.Random(seed), round_id, as_kst(closes_at), tuple(tracks),
                     tuple(criteria))
    data = gen.generate(applications, reviews_per_application)
    package = folder / PACKAGE_DIR
    package.mkdir(parents=True, exist_ok=True)
    for stem, rows in _tables(data, gen).items():
        header = HEADERS[stem] + (tuple(k for k, _ in criteria) if stem == "scores" else ())
        with (package / f"{stem}.csv").open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
    write_round_config(folder / CONFIG_FILE, round_id, closes_at, tracks, quota)
    return package


def _round_parts(round_id: str) -> tuple[str, str]:
    match = _ROUND_ID.match(round_id)
    if match is None:
        raise ValueError(f"round id must look like YYYY-N, got {round_id!r}")
    return match.group(1), match.group(2)


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _instant(value: datetime) -> str:
    return as_kst(value).replace(tzinfo=None).isoformat()  # naive = KST (T1)


class _Generator:
    """Draws the round from one seeded random source, in a fixed order (determinism)."""

    def __init__(self, rng: random.Random, round_id: str, closes_at: datetime,
                 tracks: tuple[str, ...], criteria: tuple[tuple[str, int], ...]) -> None:
        self.rng, self.round_id, self.closes_at = rng, round_id, closes_at
        self.opens_at = opens_at_for(closes_at)
        self.close_day = closes_at.date()
        self.tracks, self.criteria = tracks, criteria
        self.brns: set[str] = set()
        self.serial = 0

    def generate(self, applications: int, reviews: int) -> _Round:
        data = _Round()
        leads = [self._company(lead=True) for _ in range(max(8, applications * 6 // 5))]
        partners = [self._company(lead=False) for _ in range(max(6, applications * 3 // 5))]
        data.apps = [self._application(n, leads, partners) for n in range(1, applications + 1)]
        data.documents = [row for app in data.apps for row in self._documents(app)]
        count = max(reviews + 4, -(-applications * reviews // 250))
        width = max(2, len(str(count)))
        data.reviewers = [f"R{n:0{width}d}" for n in range(1, count + 1)]
        conflicts = self._affiliations(data, leads + partners)
        self._scores(data, reviews, conflicts)
        data.sanctions = self._sanctions(leads + partners)
        data.certificates = self._certificates(data.apps)
        return data

    def _person(self) -> str:
        return self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN)

    def _brn(self) -> str:
        while True:
            office, kind = self.rng.randint(101, 899), self.rng.choice((81, 86, 87, 88))
            nine = f"{office}{kind}{self.rng.randint(0, 9999):04d}"
            brn = f"{nine[:3]}-{nine[3:5]}-{nine[5:]}{check_digit(nine)}"
            if brn not in self.brns:
                self.brns.add(brn)
                return brn

    def _company(self, *, lead: bool) -> _Company:
        rng = self.rng
        self.serial += 1
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        name = rng.choice(_FORMS).format(stem + rng.choice(_SUFFIXES))
        if lead:  # C3: a few midsize leads (§4.2 LEAD_NOT_SME)
            size = rng.choices(("micro", "small", "medium", "midsize"), (25, 45, 28, 2))[0]
        else:
            size = rng.choices(("small", "medium", "midsize", "large"), (10, 50, 20, 20))[0]
        startup = rng.random() < (0.3 if lead else 0.05)  # C4
        age = rng.randint(100, 7 * 365 - 30) if startup else rng.randint(7 * 365 + 30, 35 * 365)
        return _Company(
            self._brn(), name, size, self.close_day - timedelta(days=age), self._person(),
            f"contact{self.serial}@company.example",
            f"{rng.choice(_REGIONS)} 산업로 {rng.randint(1, 300)}",
            direct_production=(not lead or rng.random() < 0.2) and rng.random() < 0.85,
        )

    def _pick(self, pool: list[_Company], taken: list[_Company], want: bool | None,
              test: str) -> _Company:
        """A company of `pool` not yet in `taken`; with `want`, one passing `test` if it can."""
        for _ in range(50):
            company = self.rng.choice(pool)
            if company in taken:
                continue
            if want is None or self._passes(company, test) == want:
                return company
        return next(c for c in pool if c not in taken)

    def _passes(self, company: _Company, test: str) -> bool:
        if test == "direct":  # §4.4
            return company.direct_production
        startup = company.founded_on > add_years(self.close_day, -7)  # C4
        return company.size in ("micro", "small") or startup  # §4.3

    def _application(self, n: int, leads: list[_Company], partners: list[_Company]
                     ) -> _Application:
        rng = self.rng
        track = rng.choices(self.tracks, [3 if t == "innovation" else 1 for t in self.tracks])[0]
        innovation = track == "innovation"
        chosen: list[_Company] = []
        for _ in range(rng.choices((1, 2, 3), (70, 20, 10))[0]):
            want = (rng.random() < 0.97) if innovation else None
            chosen.append(self._pick(leads, chosen, want, "startup_or_small"))
        mates: list[_Company] = []
        for i in range(rng.choices((1, 2), (85, 15))[0]):
            want = (rng.random() < 0.97) if innovation and i == 0 else None
            mates.append(self._pick(partners, mates, want, "direct"))
        return _Application(f"{self.round_id}-{n:05d}", track, rng.choice(PRODUCTS),
                            self._submitted_at(), chosen, mates,
                            min(max(rng.gauss(0.69, 0.09), 0.2), 0.98))

    def _submitted_at(self) -> datetime:
        """T2: about 1% late — half of them exactly at the deadline (18:00:00 is late)."""
        roll = self.rng.random()
        if roll < 0.005:
            return self.closes_at
        if roll < 0.01:
            return self.closes_at + timedelta(minutes=self.rng.randint(1, 48 * 60))
        minutes = int((self.closes_at - self.opens_at).total_seconds() // 60)
        return self.opens_at + timedelta(minutes=self.rng.randrange(minutes))

    def _documents(self, app: _Application) -> list[list[str]]:
        """§4.6: all required documents; ~4% lack one (half supplied within S1, half never)."""
        wanted = [(doc, "") for doc in APPLICATION_DOCUMENTS]
        wanted += [(doc, lead.brn) for lead in app.leads for doc in LEAD_DOCUMENTS]
        times = {key: app.submitted_at for key in wanted}
        if self.rng.random() < 0.04:
            key = self.rng.choice(wanted)
            roll = self.rng.random()
            if roll < 0.5:
                times[key] = self.closes_at + timedelta(days=2)  # supplement in time (S1)
            elif roll < 0.75:
                times[key] = self.closes_at + timedelta(days=30)  # after the supplement deadline
            else:
                del times[key]  # never supplied
        return [[app.receipt_no, brn, doc, _instant(at)] for (doc, brn), at in times.items()]

    def _affiliations(self, data: _Round, companies: list[_Company]
                      ) -> dict[str, str]:
        """V3: a few harmless old ties, and ~1.5% of applications with one conflicted reviewer."""
        rng = self.rng
        taken: set[tuple[str, str]] = set()
        for _ in range(max(1, len(data.reviewers) // 4)):  # ended long before the horizon
            reviewer, brn = rng.choice(data.reviewers), rng.choice(companies).brn
            if (reviewer, brn) not in taken:
                taken.add((reviewer, brn))
                until = self.close_day - timedelta(days=rng.randint(5 * 365, 15 * 365))
                data.affiliations.append((reviewer, brn, until))
        conflicts: dict[str, str] = {}  # receipt → the conflicted reviewer
        for app in rng.sample(data.apps, max(1, len(data.apps) * 3 // 200)):
            brn = rng.choice(app.companies).brn
            reviewer = rng.choice(data.reviewers)
            if (reviewer, brn) in taken:
                continue
            taken.add((reviewer, brn))
            current = rng.random() < 0.5
            ended = self.close_day - timedelta(days=rng.randint(30, 700))
            data.affiliations.append((reviewer, brn, None if current else ended))
            conflicts[app.receipt_no] = reviewer
        return conflicts

    def _scores(self, data: _Round, reviews: int, conflicts: dict[str, str]) -> None:
        """V2: `reviews` non-conflicted sheets per application, plus each conflicted extra one."""
        tied: dict[str, set[str]] = {}
        for reviewer, brn, _ in data.affiliations:
            tied.setdefault(brn, set()).add(reviewer)
        bias = {r: self.rng.gauss(0, 0.03) for r in data.reviewers}
        for app in data.apps:
            barred = {r for c in app.companies for r in tied.get(c.brn, ())}
            free = [r for r in data.reviewers if r not in barred]
            sheet = sorted(self.rng.sample(free, min(reviews, len(free))))
            extra = conflicts.get(app.receipt_no)
            for reviewer in sorted([*sheet, extra] if extra else sheet):
                data.scores.append([app.receipt_no, reviewer, *self._sheet(app, bias[reviewer])])

    def _sheet(self, app: _Application, bias: float) -> list[str]:
        cells = []
        for _, maximum in self.criteria:
            share = min(max(app.quality + bias + self.rng.gauss(0, 0.07), 0.0), 1.0)
            tenths = round(share * maximum * 10)
            cells.append(f"{tenths // 10}.{tenths % 10}")  # V2: one decimal, within [0, max]
        return cells

    def _sanctions(self, companies: list[_Company]) -> list[list[str]]:
        """§4.5: ~0.4% of companies banned past the close, as many bans already over."""
        rows = []
        for i, company in enumerate(self.rng.sample(companies, max(2, len(companies) // 125))):
            days = self.rng.randint(30, 5 * 365)
            until = self.close_day + timedelta(days=days) if i % 2 == 0 else \
                self.close_day - timedelta(days=days)
            rows.append([company.brn, until.isoformat(), self.rng.choice(_BAN_REASONS)])
        return rows

    def _certificates(self, apps: list[_Application]) -> list[list[str]]:
        """§4.7: prior certificates; half still valid for an applicant's product (duplicate)."""
        rows = []
        for i, app in enumerate(self.rng.sample(apps, max(2, len(apps) // 100))):
            start = self.close_day - timedelta(days=self.rng.randint(200, 900) + (
                0 if i % 2 == 0 else 3 * 365))
            end = add_years(start, 3) - timedelta(days=1)  # K3
            code = TRACK_CODES[Track(app.track)]
            rows.append([f"{start.year % 100:02d}-{code}{i + 1:04d}", app.leads[0].brn,
                         app.product[1], start.isoformat(), end.isoformat()])
        return rows


def _tables(data: _Round, gen: _Generator) -> dict[str, list[list[str]]]:
    """The nine files' rows, in INTERFACES §2 order."""
    participants = [
        [app.receipt_no, role, str(seq), c.brn, c.name, c.size, c.founded_on.isoformat(),
         c.representative, c.email, c.address, "true" if c.direct_production else "false"]
        for app in data.apps
        for role, group in ((Role.LEAD.value, app.leads), (Role.PARTNER.value, app.partners))
        for seq, c in enumerate(group, start=1)
    ]
    reviewer_rows = [[r, gen.rng.choice(_SURNAMES) + gen.rng.choice(_GIVEN),
                      f"{r.lower()}@review.example"] for r in data.reviewers]
    confirmed = _instant(gen.closes_at + timedelta(days=45))
    return {
        "applications": [[a.receipt_no, a.track, a.product[0], a.product[1],
                          _instant(a.submitted_at)] for a in data.apps],
        "participants": participants,
        "documents": data.documents,
        "reviewers": reviewer_rows,
        "affiliations": [[r, b, u.isoformat() if u else ""] for r, b, u in data.affiliations],
        "scores": data.scores,
        "sanctions": data.sanctions,
        "certificates": data.certificates,
        "production": [[a.receipt_no, a.leads[0].brn, confirmed]
                       for a in data.apps[::3]],  # K1: production confirmed for a third
    }
