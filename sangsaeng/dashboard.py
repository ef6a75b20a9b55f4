"""A round at a glance, as the Prefect UI shows it: status dashboard, selection table,
announcement and links to the round's exports (`tasks.artifacts` publishes them).

Keyed per round (`round-<id>-status`, …) so the UI keeps every version as the round's history.
The export files they link to are written by `sangsaeng.exports.export_round` (under
`<var>/exports/<round>/`, which `sangsaeng serve` serves) before they are composed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlmodel import Session

from sangsaeng.certificate_register import certified_rounds, of_round
from sangsaeng.certificate_register import counts as certificate_counts
from sangsaeng.config import load_program
from sangsaeng.domain.clock import format_day, format_kst, kst_date, parse_instant
from sangsaeng.domain.companies import Role
from sangsaeng.domain.evaluations import KIND_NAMES, EvaluationKind
from sangsaeng.domain.names import (
    APPLICATION_STATES,
    CERTIFICATE_STATUSES,
    KINDS,
    OUTBOX_STATES,
    ROUND_STATES,
    named,
    reason_ko,
)
from sangsaeng.domain.outbox import OutboxState
from sangsaeng.domain.states import RoundState, round_reached
from sangsaeng.exports import FILES, Written
from sangsaeng.markdown import escape
from sangsaeng.models import APPLICATIONS, OUTBOX, PARTICIPANTS, Round
from sangsaeng.reports import DECISION_COLUMNS, announcement, decision_rows
from sangsaeng.services.evaluations import pending_cancellations
from sangsaeng.services.listing import escalated_products
from sangsaeng.services.notices import status as notice_status
from sangsaeng.services.rounds import cancellation
from sangsaeng.settings import get_settings

SELECTION_HEADERS = {"receipt_no": "접수번호 receipt", "track": "분야 track",
                     "status": "상태 status", "score": "점수 score", "rank": "순위 rank",
                     "reasons": "사유 reasons"}


def decision_words(rnd: Round, rows: Iterable[Sequence[str]]) -> list[list[str]]:
    """`reports.decision_rows` rows as a person reads them: track, status and reasons in Korean
    (decisions.csv keeps the codes)."""
    tracks, criteria = rnd.track_names(), rnd.criterion_names()
    return [[receipt, named(tracks, track), named(APPLICATION_STATES, status), score, rank,
             "; ".join(reason_ko(r, criteria) for r in reasons.split(";") if r)]
            for receipt, track, status, score, rank, reasons in rows]


def artifact_key(round_id: str, what: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"round-{round_id}-{what}".lower())


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def export_link(base_url: str, round_id: str, name: str) -> str:
    """`[name](<base>/<round>/<name>)`: one export file, as served by `sangsaeng serve`."""
    return f"[{name}]({base_url}/{quote(round_id)}/{quote(name)})"


def _release(rnd: Round) -> list[str]:
    if rnd.state is RoundState.REVIEW:
        return ["위원회 제안이며 승인 전입니다. / The committee's proposal, not approved yet.", ""]
    if rnd.state is RoundState.DECIDED:
        return ["승인되었으나 아직 통보 전입니다. / Approved, not yet released to the applicants.",
                ""]
    return []


def exports_lines(rnd: Round, files: Sequence[str], base_url: str,
                  problem: str | None = None) -> list[str]:
    """The status artifact's exports section: links to the files, then the CLI commands."""
    if problem is not None:
        links = [f"**내보내기 파일을 쓰지 못했습니다 / the export files could not be written:** "
                 f"{problem}"]
    elif files:
        links = [*_release(rnd), *_table(["파일 file", "내용 what"], [
            [export_link(base_url, rnd.id, name), FILES[name]] for name in files])]
    else:
        links = ["(위원회 평가 후 생깁니다 / after the committee's review)"
                 if rnd.state is not RoundState.CANCELLED
                 else "(취소된 회차: 없음 / none: the round was cancelled)"]
    return [
        "## 내보내기 exports", "", *links, "",
        "터미널에서 / from a terminal: "
        f"`sangsaeng export decisions --round {rnd.id}` · "
        f"`sangsaeng export selection --round {rnd.id} --format xlsx --out selection.xlsx` · "
        f"`sangsaeng report announcement --round {rnd.id}` · "
        f"`sangsaeng notices status --round {rnd.id}`",
    ]


def dashboard_markdown(session: Session, rnd: Round, exports: Sequence[str] = (),
                       base_url: str | None = None, exports_problem: str | None = None) -> str:
    """The round at a glance: state, deadlines in KST, applications and notices by state,
    links to the round's `exports` (file names, under `base_url`) or why there are none."""
    a = APPLICATIONS.c
    counts: dict[tuple[str, str], int] = {
        (t, s): int(n) for t, s, n in session.execute(
            select(a.track, a.state, func.count()).where(a.round_id == rnd.id)
            .group_by(a.track, a.state)).all()}
    states = sorted({s for _, s in counts})
    tracks = rnd.track_names()
    app_rows = [[named(tracks, t), *(str(counts.get((t, s), 0)) for s in states),
                 str(sum(counts.get((t, s), 0) for s in states))] for t in rnd.tracks]
    notices = notice_status(session, rnd.id).counts
    supplement = rnd.settings.get("supplement_deadline")
    cancelled = cancellation(session, rnd)
    lines = [
        f"# {rnd.id} · {escape(rnd.title)}", "",
        f"**상태:** {named(ROUND_STATES, rnd.state)}", "",
        *([f"**공고 취소 cancelled:** {format_kst(cancelled.at)} KST, "
           f"{escape(cancelled.actor)} — {escape(cancelled.reason)}", "",
           "이 회차의 단계는 더 이상 실행되지 않습니다. / No step of this round runs any more.",
           ""] if cancelled is not None else []),
        "## 일정 deadlines (KST)", "",
        *_table(["구분 what", "시각 when (KST)"], [
            ["접수 시작 opens", format_kst(rnd.opens_at)],
            ["접수 마감 closes", format_kst(rnd.closes_at)],
            ["보완 마감 supplement deadline",
             format_kst(parse_instant(supplement)) if supplement else "-"]]),
        "", "## 신청 과제 applications (track × state)", "",
        *(_table(["분야 track", *(named(APPLICATION_STATES, s) for s in states), "계 total"],
                 app_rows) if states else ["(아직 없음 / none yet)"]),
        "", "## 안내 메일 notices (kind × state)", "",
        *(_table(["종류 kind", "상태 state", "건수 count"],
                 [[named(KINDS, k), named(OUTBOX_STATES, s), str(n)]
                  for (k, s), n in sorted(notices.items())])
          if notices else ["(아직 없음 / none yet)"]),
        *certificate_lines(session, rnd, base_url or get_settings().exports_base_url),
        "", *exports_lines(rnd, exports, base_url or get_settings().exports_base_url,
                           exports_problem),
    ]
    return "\n".join(lines) + "\n"


CERTIFICATE_ROWS = 200  # rows of the status artifact's certificate list; certificates.csv has all


def certificate_lines(session: Session, rnd: Round, base_url: str,
                      today: date | None = None) -> list[str]:
    """The status artifact's certificates: counts at `today` (KST) and each certificate with a
    link to its PDF (served by `sangsaeng serve`); nothing before any is issued."""
    day = today or kst_date(datetime.now(UTC))
    n = certificate_counts(session, rnd.id, day)
    if not n.issued:
        return []
    facts = of_round(session, rnd.id, day)
    rows = [[f"[{f.number}]({base_url}/certificates/{quote(f.number)}.pdf)",
             escape(f.lead_name), escape(f.product_name), f.period,
             named(CERTIFICATE_STATUSES, f.status)]
            for f in facts[:CERTIFICATE_ROWS]]
    more = ([f"… {len(facts) - CERTIFICATE_ROWS:,} more: certificates.csv"]
            if len(facts) > CERTIFICATE_ROWS else [])
    return [
        "", "## 확인서 certificates", "",
        f"발급 issued **{n.issued}** · 유효 valid {n.valid} · 만료 expired {n.expired} · "
        f"취소 cancelled {n.cancelled} · 90일 내 만료 expiring within 90 days {n.expiring} "
        f"({format_day(day)} 기준 / as of)", "",
        *_table(["번호 number (PDF)", "주관기업 lead", "제품 product", "유효기간 period",
                 "상태 status"], rows), *more]


@dataclass(frozen=True)
class WaitingInput:
    """A run paused or suspended until a person gives their input (the chair, the office)."""

    what: str  # in Korean: 위원장 승인, 확인서 취소 검토, …
    run_name: str
    since: datetime | None
    url: str | None  # its page in the Prefect UI, when there is a UI


def _waiting_lines(waiting: Sequence[WaitingInput]) -> list[str]:
    """Issue 23 item 8: the runs waiting for an input, each with a link to its page."""
    rows = [[escape(w.what), f"[{escape(w.run_name)}]({w.url})" if w.url else escape(w.run_name),
             format_kst(w.since) if w.since else "-"] for w in waiting]
    body = (_table(["기다리는 입력", "실행 (Resume으로 입력)", "기다린 때부터 (KST)"], rows) if rows
            else ["(입력을 기다리는 실행 없음)"])
    return ["## 입력을 기다리는 실행", "", *body, ""]


def _notice_lines(session: Session) -> list[str]:
    """Issue 23 item 8: per round, the notices that wait to be sent and those that failed."""
    o = OUTBOX.c
    found = session.execute(
        select(o.round_id, o.state, func.count())
        .where(o.state.in_([OutboxState.PENDING, OutboxState.FAILED]))
        .group_by(o.round_id, o.state).order_by(o.round_id)).all()
    counts: dict[str, dict[str, int]] = {}
    for round_id, state, n in found:
        counts.setdefault(round_id or "-", {})[state] = int(n)
    rows = [[escape(r), f"{c.get(OutboxState.PENDING, 0):,}", f"{c.get(OutboxState.FAILED, 0):,}"]
            for r, c in counts.items()]
    body = (_table(["회차", "발송 대기", "발송 실패"], rows) if rows
            else ["(기다리거나 실패한 메일 없음)"])
    return ["## 안내 메일", "", *body, "",
            "실패한 메일은 `sangsaeng notices status --round 회차`로 이유를 봅니다.", ""]


def office_digest_markdown(session: Session, today: date,
                           waiting: Sequence[WaitingInput] = ()) -> str:
    """The office's morning digest (`office-digest` artifact): the runs waiting for an input
    (`waiting`) and the notices waiting or failed; per round holding certificates,
    issued / valid / expired / cancelled and those expiring within 90 days (K6); the products
    whose listing step is escalated (M1c); the cancellations failed evaluations propose (M3)."""
    rows = []
    for round_id in certified_rounds(session):
        n = certificate_counts(session, round_id, today)
        rows.append([round_id, str(n.issued), str(n.valid), str(n.expired), str(n.cancelled),
                     str(n.expiring)])
    body = (_table(["회차 round", "발급 issued", "유효 valid", "만료 expired",
                    "취소 cancelled", "90일 내 만료 expiring"], rows) if rows
            else ["(발급된 확인서 없음 / no certificate issued yet)"])
    return "\n".join([f"# 사무국 현황 / office digest — {format_day(today)}", "",
                      *_waiting_lines(waiting), *_notice_lines(session),
                      "## 확인서 certificates", "", *_address_lines(), *body, "",
                      *_escalated_lines(session, today), *_pending_lines(session)])


def _address_lines() -> list[str]:
    """Item 4 of issue 25: a flag while the certificates' QR opens only here or in-house."""
    settings = get_settings()
    reach = settings.verify_url_reach()
    if reach is None:
        return []
    return [f"> **⚠ 확인서 QR 코드의 확인 주소({escape(settings.verify_base)})는 {reach}에서만 "
            "열립니다**: 구매기관은 확인할 수 없습니다. SANGSAENG_VERIFY_URL에 공개 주소를 "
            "설정하세요. / *the certificates' QR code opens only on this machine or network: "
            "set SANGSAENG_VERIFY_URL to the public address.*", ""]


def _escalated_lines(session: Session, today: date) -> list[str]:
    """M1c: one line per product whose current listing step is escalated."""
    rows = [[escape(cell) for cell in row] for row in escalated_products(session, today)]
    body = (_table(["번호 number", "주관기업 lead", "제품 product", "단계 step", "시작 since",
                    "경과일 days"], rows) if rows
            else ["(지연 보고된 제품 없음 / no product escalated)"])
    return ["## 종합쇼핑몰 등록 지연 listing escalated", "", *body, ""]


def _pending_lines(session: Session) -> list[str]:
    """M3: one line per cancellation waiting for the office's decision (review_cancellation)."""
    rows = [[escape(p.receipt_no), escape(p.product_name), KIND_NAMES[EvaluationKind(p.kind)],
             format_day(p.held_on), format_day(p.proposed_on)]
            for p in pending_cancellations(session)]
    body = (_table(["접수번호 receipt", "제품 product", "평가 evaluation", "평가일 held",
                    "제안일 proposed"], rows) if rows
            else ["(검토 대기 중인 취소 없음 / no cancellation pending)"])
    return ["## 취소 검토 대기 pending cancellations", "",
            "성과평가 부적합: review_cancellation에서 확정 또는 기각 / failed evaluations: "
            "confirm or dismiss in review_cancellation", "", *body, ""]


def exports_markdown(rnd: Round, written: Written, base_url: str) -> str:
    """The `round-<id>-exports` artifact: each file's link, size and last change (KST)."""
    rows = []
    for name in written.files:
        stat = (written.folder / name).stat()
        changed = format_kst(datetime.fromtimestamp(stat.st_mtime, UTC))
        rows.append([export_link(base_url, rnd.id, name), FILES[name],
                     f"{stat.st_size:,} B", changed])
    body = (_table(["파일 file", "내용 what", "크기 size", "변경 changed (KST)"], rows) if rows
            else ["회차가 취소되어 내보내기 파일을 지웠습니다. / The round was cancelled: its "
                  "export files were removed."])
    return "\n".join([
        f"# {rnd.id} 내보내기 / exports", "", *_release(rnd), *body, "",
        "링크는 `sangsaeng serve`가 실행 중일 때 열립니다. / The links open while "
        "`sangsaeng serve` runs.", ""])  # no server path here (the CLI says it)


# A table artifact travels in one Prefect event, which refuses ~1.5 MB (10,000 rows: 2.5 MB).
TABLE_ROWS = 500


def selection_table(rnd: Round, decisions: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """The applications' (proposed) outcomes: receipt, track, status, score, rank, reasons
    (`reports.decision_rows`), in Korean words. Past `TABLE_ROWS`, the selected and reserve ones
    first, and a last row says how many more `decisions.csv` holds."""
    status = DECISION_COLUMNS.index("status")
    rows = list(decisions)
    more = len(rows) - TABLE_ROWS + 1
    if more > 1:
        rows.sort(key=lambda r: r[status] not in ("selected", "reserve"))  # stable
        rows = rows[:TABLE_ROWS - 1]
    shown = decision_words(rnd, rows)
    if more > 1:
        shown.append([f"… 외 {more:,}건", "", "", "", "", "decisions.csv (내보내기 exports)"])
    return [{SELECTION_HEADERS[c]: v for c, v in zip(DECISION_COLUMNS, row, strict=True)}
            for row in shown]


@dataclass(frozen=True)
class RoundArtifacts:
    """What the UI shows of a round: markdown and table artifacts with their descriptions."""

    round_id: str
    state: RoundState
    dashboard: str
    selection: list[dict[str, Any]] | None = None
    announcement: str | None = None
    exports: str | None = None  # only when the export files changed
    exports_changed: str = ""
    problem: str | None = None  # why the export files could not be written

    @property
    def label(self) -> str:
        """The state as the artifacts' descriptions show it."""
        return named(ROUND_STATES, self.state)


def round_artifacts(session: Session, rnd: Round, written: Written | None,
                    problem: str | None) -> RoundArtifacts:
    """Compose everything the round's artifacts show, linking the export files `written`
    (`exports.export_round`), or saying why they could not be (`problem`)."""
    settings = get_settings()
    program = load_program(settings.config_dir).program
    base_url = settings.exports_base_url
    dashboard = dashboard_markdown(session, rnd, written.files if written else (), base_url,
                                   problem)
    table = (selection_table(rnd, written.decisions if written is not None
                             else decision_rows(session, rnd))
             if round_reached(rnd.state, RoundState.REVIEW) else None)
    if written is not None:
        text: str | None = written.announcement  # once decided (require_decisions), as exported
    else:
        text = (announcement(session, rnd, program.name, program.ministry)
                if round_reached(rnd.state, RoundState.DECIDED) else None)
    # A version per change of the files (an artifact costs a server call, like a task run)
    changed = written is not None and bool(written.changed or written.removed)
    return RoundArtifacts(
        rnd.id, rnd.state, dashboard, table, text,
        exports_markdown(rnd, written, base_url) if written is not None and changed else None,
        ", ".join((*written.changed, *(f"−{n}" for n in written.removed))) if written else "",
        problem)


@dataclass(frozen=True)
class ChairProposal:
    """V10: what the chair's form shows — its description (`brief`: the counts, what to do)
    and the proposal's rows (`listing`, under the approval switch) — and the receipts it
    offers to exclude or include."""

    brief: str
    listing: str
    proposed: list[str]
    reserves: list[str]


def lead_names(session: Session, rnd: Round) -> dict[str, str]:
    """Receipt number → the lead company's name, for the round's applications."""
    a, p = APPLICATIONS.c, PARTICIPANTS.c
    found = session.execute(
        select(a.receipt_no, p.name).join(PARTICIPANTS, p.application_id == a.id)
        .where(a.round_id == rnd.id, p.role == Role.LEAD).order_by(p.seq.desc())).all()
    return {receipt: name for receipt, name in found}  # the first lead wins (seq order)


def chair_brief(session: Session, rnd: Round, limit: int = 300) -> ChairProposal:
    """V10: the proposed selection as the chair's form shows it: counts, then every selected
    and reserve proposal (receipt, company, track, status, score, rank) in Korean words; past
    `limit` rows (a round of thousands), the whole table is the selection artifact."""
    rows = decision_rows(session, rnd)
    status_at = DECISION_COLUMNS.index("status")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[status_at]] = counts.get(row[status_at], 0) + 1
    shown = [r for r in rows if r[status_at] in ("selected", "reserve")]
    companies = lead_names(session, rnd)
    # A list under the approval switch, not in the form's description: the Resume dialog shows
    # the description in a box two rows high (a field's description is shown whole).
    items = [f"- **{escape(receipt)}** {escape(companies.get(receipt, ''))} · {escape(track)} · "
             f"{status} · {score}점" + (f" · {rank}위" if rank else "")
             for receipt, track, status, score, rank, _ in
             decision_words(rnd, shown[:limit])]
    # each item a paragraph: the form's markdown joins the lines of a tight list into one item
    listing = ["접수번호 주관기업 · 분야 · 상태 · 점수 · 순위", *items]
    if len(shown) > limit:
        key = artifact_key(rnd.id, "selection")
        listing += [f"… 외 {len(shown) - limit}건: 선정안 표 `{key}`"]
    brief = [
        f"## {rnd.id} 선정안 (위원회 제안)", "",
        " · ".join(f"{named(APPLICATION_STATES, status)} {n}건"
                   for status, n in sorted(counts.items())), "",
        "제안된 과제는 '선정안 승인' 아래에 있습니다. 승인하려면 그것을 켜고 위원장 이름을 적어 "
        "제출하세요. 제외·포함은 목록에서 고르고 사유를 적습니다(감사 기록)."]
    return ChairProposal("\n".join(brief), "\n\n".join(listing),
                         [r[0] for r in shown if r[status_at] == "selected"],
                         [r[0] for r in shown if r[status_at] == "reserve"])
